package envelope

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/axes"
	"github.com/spraywatch/spraywatch/ingest/envoy"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
	"github.com/spraywatch/spraywatch/ingest/pylog"
)

var update = flag.Bool("update", false, "rewrite golden files")

const pyFormat = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

func rawAxes(t testing.TB) ingest.Parser {
	f, err := axes.New("")
	if err != nil {
		t.Fatal(err)
	}
	return f.NewParser()
}

func py(t testing.TB) ingest.Parser {
	f, err := pylog.Compile(pyFormat, `user=(?P<username>\S+) event=(?P<event>\w+)`, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f.NewParser()
}

func TestWrap(t *testing.T) {
	tests := []struct {
		name, key string
		inner     func(testing.TB) ingest.Parser
		lines     []string // all but the last must be ignored (CRI partials)
		time      string
		want      map[event.Field]string
	}{
		{
			name: "vector, escaped quotes, time from the envelope", key: "message", inner: rawAxes,
			lines: []string{`{"file":"/var/log/app.log","host":"web1","message":"AXES: New login failure by {username: \"alice\", ip_address: \"203.0.113.7\", user_agent: \"curl/8\", path_info: \"/login/\"}. Created new record in the database.","source_type":"file","timestamp":"2026-12-04T09:00:01.5Z"}`},
			time:  "2026-12-04T09:00:01.5Z",
			want:  map[event.Field]string{event.UserName: "alice", event.SourceIP: "203.0.113.7", event.UserAgent: "curl/8", event.URLPath: "/login/", event.Action: "login_failed", event.Outcome: "failure"},
		},
		{
			name: "fluent bit, trailing newline, inner time wins", key: "log", inner: py,
			lines: []string{`{"date":1764838900.25,"log":"2026-12-04 09:00:01,123 WARNING accounts.auth [r1] user=Jos\u00e9 event=login_failed\n","stream":"stderr"}`},
			time:  "2026-12-04T09:00:01.123Z",
			want:  map[event.Field]string{event.RequestID: "r1", event.UserName: "José", event.Action: "login_failed", event.Outcome: "failure"},
		},
		{
			name: "filebeat, @timestamp before message", key: "message", inner: rawAxes,
			lines: []string{`{"@timestamp":"2026-12-04T09:00:02.000Z","@metadata":{"beat":"filebeat","type":"_doc","version":"8.15.0"},"log":{"offset":1234,"file":{"path":"/var/log/app.log"}},"message":"AXES: Successful login by {username: \"bob\", ip_address: \"2001:db8::1\", user_agent: \"\", path_info: \"/login/\"}.","input":{"type":"filestream"},"ecs":{"version":"8.0.0"}}`},
			time:  "2026-12-04T09:00:02Z",
			want:  map[event.Field]string{event.UserName: "bob", event.SourceIP: "2001:db8::1", event.URLPath: "/login/", event.Action: "login_succeeded", event.Outcome: "success"},
		},
		{
			name: "loki logcli jsonl", key: "line", inner: rawAxes,
			lines: []string{`{"labels":{"app":"web","job":"django"},"line":"AXES: Locking out {username: \"carol\", ip_address: \"10.0.0.1\", user_agent: \"x\", path_info: \"/login/\"} after repeated login failures.","timestamp":"2026-12-04T09:00:03.000000001+01:00"}`},
			time:  "2026-12-04T08:00:03.000000001Z",
			want:  map[event.Field]string{event.UserName: "carol", event.SourceIP: "10.0.0.1", event.UserAgent: "x", event.URLPath: "/login/", event.Action: "user_locked_out", event.Outcome: "unknown"},
		},
		{
			name: "nested key", key: "event.original", inner: rawAxes,
			lines: []string{`{"event":{"original":"AXES: Successful login by {username: \"dan\", ip_address: \"10.0.0.2\", user_agent: \"x\", path_info: \"/\"}."},"@timestamp":"2026-12-04T09:00:04Z"}`},
			time:  "2026-12-04T09:00:04Z",
			want:  map[event.Field]string{event.UserName: "dan", event.SourceIP: "10.0.0.2", event.UserAgent: "x", event.URLPath: "/", event.Action: "login_succeeded", event.Outcome: "success"},
		},
		{
			name: "cri final line", key: CRI, inner: rawAxes,
			lines: []string{`2026-12-04T09:00:05.123456789Z stdout F AXES: Successful login by {username: "eve", ip_address: "10.0.0.3", user_agent: "x", path_info: "/"}.`},
			time:  "2026-12-04T09:00:05.123456789Z",
			want:  map[event.Field]string{event.UserName: "eve", event.SourceIP: "10.0.0.3", event.UserAgent: "x", event.URLPath: "/", event.Action: "login_succeeded", event.Outcome: "success"},
		},
		{
			name: "cri partial lines joined, other stream interleaved", key: CRI, inner: py,
			lines: []string{
				`2026-12-04T09:00:06.000000000Z stderr P 2026-12-04 09:00:06,000 WARNING accounts.auth [r2] `,
				`2026-12-04T09:00:06.000000001Z stdout P unrelated `,
				`2026-12-04T09:00:06.000000002Z stderr P user=ﬁona `,
				`2026-12-04T09:00:06.000000003Z stderr F event=login_failed`,
			},
			time: "2026-12-04T09:00:06Z",
			want: map[event.Field]string{event.RequestID: "r2", event.UserName: "ﬁona", event.Action: "login_failed", event.Outcome: "failure"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Wrap(tt.inner(t), tt.key)
			var r event.Record
			for i, l := range tt.lines {
				r.Reset()
				err := p.Parse([]byte(l), &r)
				if i < len(tt.lines)-1 {
					if !errors.Is(err, ingest.ErrIgnore) {
						t.Fatalf("line %d: err = %v, want ErrIgnore", i+1, err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			skimtest.CheckRecord(t, &r, tt.time, tt.want)
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ key, line, want string }{
		{"message", `{"log":"x"}`, `expected an envelope member "message"`},
		{"message", `{"message":42}`, `envelope member "message" is a number`},
		{"message", `not json`, `expected '{'`},
		{"message", `{"message":"AXES: New login failure by alice. x"}`, `in the "message" member, column 28: expected a client string`},
		{"message", `{"message":"AXES: Successful login by {username: \"a\"}.","timestamp":"yesterday"}`, `reading the envelope's time "yesterday"`},
		{CRI, `2026-12-04T09:00:05Z`, "expected a CRI log line"},
		{CRI, `2026-12-04T09:00:05Z stdin F x`, "expected stdout or stderr"},
		{CRI, `2026-12-04T09:00:05Z stdout X x`, "expected a CRI tag F or P"},
	}
	for _, tt := range tests {
		var r event.Record
		err := Wrap(rawAxes(t), tt.key).Parse([]byte(tt.line), &r)
		var se *ingest.SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want a SyntaxError containing %q", tt.line, err, tt.want)
		}
	}
	// Partial lines are bounded.
	p := Wrap(rawAxes(t), CRI).(*Parser)
	p.SetMaxLineBytes(64)
	var r event.Record
	part := "2026-12-04T09:00:05Z stdout P " + strings.Repeat("x", 40)
	if err := p.Parse([]byte(part), &r); !errors.Is(err, ingest.ErrIgnore) {
		t.Fatal(err)
	}
	if err := p.Parse([]byte(part), &r); err == nil || !strings.Contains(err.Error(), "longer than 64 bytes") {
		t.Errorf("second partial: %v", err)
	}
	if len(p.joins.part[0]) != 0 {
		t.Errorf("partial buffer kept %d bytes", len(p.joins.part[0]))
	}
}

// dockerEntries writes line as Docker's json-file driver does: entries of
// DockerSplit bytes, the newline only in the last.
func dockerEntries(t testing.TB, stream, line string) []string {
	var out []string
	line += "\n"
	for len(line) > 0 {
		n := min(DockerSplit, len(line))
		b, err := json.Marshal(map[string]string{"log": line[:n], "stream": stream, "time": "2026-12-04T09:00:01.2Z"})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
		line = line[n:]
	}
	return out
}

func envoyDefault(t testing.TB) ingest.Parser {
	f, err := envoy.CompileText(envoy.Default)
	if err != nil {
		t.Fatal(err)
	}
	return f.NewParser()
}

// TestJoinDocker: the entries of a line Docker's json-file driver split
// are joined, per stream; other log values without a newline are whole
// lines.
func TestJoinDocker(t *testing.T) {
	pad := strings.Repeat("A", 20000) // a User-Agent that gets the line split
	envoyLine := func(rid string) string {
		return `[2026-12-04T09:00:01.123Z] "POST /accounts/login/ HTTP/1.1" 200 - 154 0 226 100 "203.0.113.7" "` + pad + `" "` + rid + `" "app" "10.0.2.1:80"`
	}
	pyLine := func(rid, user string) string {
		return "2026-12-04 09:00:01,123 WARNING accounts.auth [" + rid + "] " + pad + " user=" + user + " event=login_failed"
	}
	entry := func(log, stream string) string {
		m := map[string]string{"log": log, "time": "2026-12-04T09:00:01Z"}
		if stream != "" {
			m["stream"] = stream
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	type want struct{ rid, user, err string } // per entry: a record's request id and user, or an error
	tests := []struct {
		name     string
		inner    func(testing.TB) ingest.Parser
		max      int
		reject   bool
		entries  []string
		want     []want
		unjoined int64
		headless int64
	}{
		{
			name: "envoy line with a 20 KB user agent", inner: envoyDefault,
			entries: dockerEntries(t, "stdout", envoyLine("6f1c2e0b-9a7d-4c3e-8b2a-1f0e9d8c7b6a")),
			want:    []want{{err: "Docker partial entry"}, {rid: "6f1c2e0b-9a7d-4c3e-8b2a-1f0e9d8c7b6a"}},
		},
		{
			name: "three parts, the other stream in between", inner: py,
			entries: func() []string {
				out := dockerEntries(t, "stderr", strings.Replace(pyLine("r1", "alice"), pad, pad+pad, 1))
				other := dockerEntries(t, "stdout", "2026-12-04 09:00:02,000 WARNING accounts.auth [r2] user=bob event=login_failed")
				return []string{out[0], other[0], out[1], out[2]}
			}(),
			want: []want{{err: "Docker partial entry"}, {rid: "r2", user: "bob"}, {err: "Docker partial entry"}, {rid: "r1", user: "alice"}},
		},
		{
			name: "log values without a newline and no stream (fluent bit tail) are whole lines", inner: py,
			entries: []string{entry(pyLine("r3", "carol"), ""), entry("2026-12-04 09:00:01,123 WARNING accounts.auth [r4] user=dan event=login_failed", "")},
			want:    []want{{rid: "r3", user: "carol"}, {rid: "r4", user: "dan"}},
		},
		{
			name: "a short last output without a newline is a whole line", inner: py,
			entries: []string{entry("2026-12-04 09:00:01,123 WARNING accounts.auth [r5] user=eve event=login_failed", "stdout")},
			want:    []want{{rid: "r5", user: "eve"}},
		},
		{
			name: "over the cap: rejected once, the rest dropped", inner: py, max: 30000,
			entries: append(dockerEntries(t, "stdout", strings.Replace(pyLine("r6", "fay"), pad, pad+pad, 1)),
				dockerEntries(t, "stdout", "2026-12-04 09:00:01,123 WARNING accounts.auth [r7] user=gus event=login_failed")...),
			want: []want{{err: "Docker partial entry"}, {err: "line joined from Docker partial entries longer than 30000 bytes skipped"}, {err: "rest of a split line"}, {rid: "r7", user: "gus"}},
		},
		{
			name: "fluent bit's cri parser output: long lines without a newline are whole", inner: py,
			entries: []string{fluentBitCRI(t, pyLine("r9", "hal")), fluentBitCRI(t, pyLine("r10", "ivy"))},
			want:    []want{{rid: "r9", user: "hal"}, {rid: "r10", user: "ivy"}},
		},
		{
			name: "a json-file shaped entry over 16 KiB without a newline is whole", inner: py,
			entries: []string{entry(pyLine("r11", "jon"), "stdout"), entry("2026-12-04 09:00:01,123 WARNING accounts.auth [r12] user=kim event=login_failed\n", "stdout")},
			want:    []want{{rid: "r11", user: "jon"}, {rid: "r12", user: "kim"}},
		},
		{
			name: "a part followed by another writer's record: the part dropped, the record whole, the line's end dropped", inner: py, unjoined: 1, headless: 1,
			entries: []string{dockerEntries(t, "stdout", pyLine("r13", "lou"))[0], fluentBitCRI(t, "2026-12-04 09:00:01,123 WARNING accounts.auth [r14] user=max event=login_failed"),
				dockerEntries(t, "stdout", "2026-12-04 09:00:01,123 WARNING accounts.auth [r15] user=ned event=login_failed")[0],
				dockerEntries(t, "stdout", "2026-12-04 09:00:01,123 WARNING accounts.auth [r16] user=oz event=login_failed")[0]},
			want: []want{{err: "Docker partial entry"}, {rid: "r14", user: "max"}, {err: "whose head was dropped"}, {rid: "r16", user: "oz"}},
		},
		{
			name: "parts rejected in a stream that mixes writers, and the line's end", inner: envoyDefault, reject: true, headless: 1,
			entries: dockerEntries(t, "stdout", envoyLine("r8")),
			want:    []want{{err: "Docker partial entries are not joined"}, {err: "end of a line split into Docker partial entries whose head was dropped, skipped"}},
		},
		{
			name: "three parts rejected in a stream that mixes writers: the middle one ignored, the end rejected", inner: py, reject: true, headless: 1,
			entries: func() []string {
				out := dockerEntries(t, "stderr", strings.Replace(pyLine("r17", "pam"), pad, pad+pad, 1))
				other := dockerEntries(t, "stdout", "2026-12-04 09:00:02,000 WARNING accounts.auth [r18] user=quin event=login_failed")
				return append(append(out[:1:1], other[0]), out[1:]...)
			}(),
			want: []want{{err: "Docker partial entries are not joined"}, {rid: "r18", user: "quin"}, {err: "Docker partial entries are not joined"}, {err: "whose head was dropped"}},
		},
		{
			name: "the forged end of a line whose head was rejected", inner: py, reject: true, headless: 1,
			entries: []string{
				entry(("2026-12-04 09:00:06,000 WARNING accounts.auth [r19] msg=" + pad + pad)[:DockerSplit], "stdout"),
				entry("2026-12-04 09:00:06,000 WARNING accounts.auth [forged] user=victim event=login_failed\n", "stdout"),
				entry("2026-12-04 09:00:07,000 WARNING accounts.auth [r20] user=rex event=login_failed\n", "stdout"),
			},
			want: []want{{err: "Docker partial entries are not joined"}, {err: "whose head was dropped"}, {rid: "r20", user: "rex"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := wrap(tt.inner(t), DockerKey)
			var flags ingest.Flagged
			p.CountFlags(&flags)
			if tt.max > 0 {
				p.SetMaxLineBytes(tt.max)
			}
			if tt.reject {
				p.RejectParts()
			}
			if len(tt.entries) != len(tt.want) {
				t.Fatalf("%d entries, %d wanted", len(tt.entries), len(tt.want))
			}
			for i, e := range tt.entries {
				var r event.Record
				err := p.Parse([]byte(e), &r)
				w := tt.want[i]
				switch {
				case w.err != "" && (err == nil || !strings.Contains(err.Error(), w.err)):
					t.Errorf("entry %d: err = %v, want %q", i+1, err, w.err)
				case w.err == "" && err != nil:
					t.Errorf("entry %d: %v", i+1, err)
				case w.err == "" && (string(r.Get(event.RequestID)) != w.rid || string(r.Get(event.UserName)) != w.user):
					t.Errorf("entry %d: request id %q, user %q, want %q, %q", i+1, r.Get(event.RequestID), r.Get(event.UserName), w.rid, w.user)
				}
				if strings.Contains(w.err, "longer than") && !ingest.IsTooLong(err) {
					t.Errorf("entry %d: %v is not marked too long", i+1, err)
				}
			}
			if p.joins.open() {
				t.Error("parts left over")
			}
			if n := flags.Load(ingest.FlagSplitUnjoined); n != tt.unjoined {
				t.Errorf("%d split lines dropped unjoined, want %d", n, tt.unjoined)
			}
			if n := flags.Load(ingest.FlagSplitHeadless); n != tt.headless {
				t.Errorf("%d ends of split lines dropped, want %d", n, tt.headless)
			}
		})
	}
}

// fluentBitCRI writes line as Fluent Bit's tail input with
// "multiline.parser cri" does: the container runtime's parts merged, no
// trailing newline, the stream and the CRI tag (_p) kept.
func fluentBitCRI(t testing.TB, line string) string {
	b, err := json.Marshal(map[string]string{"time": "2026-12-04T09:00:06.000000000Z", "stream": "stdout", "_p": "F", "log": line})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestJoinState: the state AppendJoinState and a JoinTracker give puts a
// parser where the lines before left it.
func TestJoinState(t *testing.T) {
	entries := dockerEntries(t, "stderr", "2026-12-04 09:00:01,123 WARNING accounts.auth [r1] "+strings.Repeat("A", 40000)+" user=alice event=login_failed")
	cri := []string{
		`2026-12-04T09:00:06.000000000Z stderr P 2026-12-04 09:00:06,000 WARNING accounts.auth [r2] `,
		`2026-12-04T09:00:06.000000001Z stdout P unrelated `,
		`2026-12-04T09:00:06.000000003Z stderr F user=bob event=login_failed`,
	}
	for _, c := range []struct {
		key   string
		lines []string
		user  string
	}{{DockerKey, entries, "alice"}, {CRI, cri, "bob"}} {
		for cut := 0; cut < len(c.lines); cut++ {
			a := wrap(py(t), c.key)
			tr := a.NewJoinTracker()
			for _, l := range c.lines[:cut] {
				var r event.Record
				a.Parse([]byte(l), &r)
				tr.Track([]byte(l))
			}
			for i, st := range [][]byte{a.AppendJoinState(nil), tr.AppendState(nil)} {
				b := wrap(py(t), c.key)
				b.SetJoinState([]byte("junk to be replaced")[:0])
				b.SetJoinState(st)
				var r event.Record
				var err error
				for _, l := range c.lines[cut:] {
					r.Reset()
					err = b.Parse([]byte(l), &r)
				}
				if err != nil || string(r.Get(event.UserName)) != c.user {
					t.Errorf("%s, cut before line %d, state %d: %v, user %q", c.key, cut+1, i, err, r.Get(event.UserName))
				}
			}
		}
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		line, key string
	}{
		{`{"file":"/var/log/app.log","message":"x","source_type":"file","timestamp":"2026-12-04T09:00:01Z"}`, "message"},
		{`{"log":"x\n","stream":"stdout","time":"2026-12-04T09:00:01Z"}`, "log"},
		{`{"@timestamp":"2026-12-04T09:00:02.000Z","log":{"file":{"path":"/var/log/app.log"}},"message":"x","ecs":{"version":"8.0.0"}}`, "message"},
		// Filebeat 8 event, each of its marks alone.
		{`{"@timestamp":"2026-12-04T09:00:02.000Z","@metadata":{"beat":"filebeat","type":"_doc","version":"8.15.0"},"log":{"offset":1234,"file":{"path":"/var/log/app.log"}},"message":"x","input":{"type":"filestream"},"ecs":{"version":"8.0.0"},"host":{"name":"web1"},"agent":{"type":"filebeat","version":"8.15.0"}}`, "message"},
		{`{"@timestamp":"2026-12-04T09:00:02.000Z","agent":{"type":"filebeat"},"message":"x"}`, "message"},
		{`{"@timestamp":"2026-12-04T09:00:02.000Z","input":{"type":"log"},"message":"x"}`, "message"},
		{`{"@timestamp":"2026-12-04T09:00:02.000Z","log":{"offset":0},"message":"x"}`, "message"},
		{`{"@timestamp":"2026-12-04T09:00:02.000Z","@metadata":{"beat":"filebeat"},"message":"x"}`, "message"},
		// ECS application logs (ecs-logging-python, nested and dotted keys): not envelopes.
		{`{"@timestamp":"2026-12-04T09:00:01.123Z","log.level":"warning","message":"login failed","ecs.version":"1.6.0","log":{"logger":"accounts.auth","origin":{"file":{"line":42,"name":"signals.py"},"function":"on_login_failed"}},"process":{"pid":812,"name":"MainProcess"},"event":{"action":"login_failed"},"user":{"name":"alice"},"http":{"request":{"id":"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a"}}}`, ""},
		{`{"@timestamp":"2026-12-04T09:00:01.123Z","ecs":{"version":"8.11.0"},"log":{"level":"warning","logger":"accounts.auth"},"message":"login failed","service":{"name":"web"},"trace":{"id":"t"}}`, ""},
		{`{"labels":{"app":"web"},"line":"x","timestamp":"2026-12-04T09:00:03Z"}`, "line"},
		{`2026-12-04T09:00:05.123456789Z stdout F x`, "cri"},
		{`2026-12-04T09:00:05.123456789Z stderr P x`, "cri"},
		{`{"asctime":"2026-12-04 09:00:01,123","levelname":"WARNING","message":"login failed","request_id":"r"}`, ""},
		{`{"timestamp":"2026-12-04T09:00:01Z","event":"login_failed","username":"alice"}`, ""},
		{`2026-12-04 09:00:01,123 WARNING accounts [r] x`, ""},
		{`10.0.0.1 - - [04/Dec/2026:09:00:01 +0000] "GET / HTTP/1.1" 200 1`, ""},
		{`{"message":"x"`, ""},
	}
	for _, tt := range tests {
		key, ok := Detect([]byte(tt.line))
		if key != tt.key || ok != (tt.key != "") {
			t.Errorf("Detect(%s) = %q, %v, want %q", tt.line, key, ok, tt.key)
		}
	}
}

func TestGolden(t *testing.T) {
	in, err := os.Open(filepath.Join("testdata", "shipped.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	parsers := map[string]ingest.Parser{}
	var out bytes.Buffer
	sc := bufio.NewScanner(in)
	for n := 1; sc.Scan(); n++ {
		key, ok := Detect(sc.Bytes())
		if !ok {
			fmt.Fprintf(&out, "%d: no envelope\n", n)
			continue
		}
		p := parsers[key]
		if p == nil {
			p = Wrap(rawAxes(t), key)
			parsers[key] = p
		}
		fmt.Fprintf(&out, "%d: %s: %s\n", n, key, skimtest.Parsed(p, sc.Bytes()))
	}
	skimtest.CheckGolden(t, filepath.Join("testdata", "shipped.golden"), out.Bytes(), *update)
}

var benchLines = map[string]string{
	"plain":   `{"file":"/var/log/app.log","host":"web1","message":"AXES: User login failed, running database handler for failure.","source_type":"file","timestamp":"2026-12-04T09:00:01.5Z"}`,
	"escaped": `{"file":"/var/log/app.log","host":"web1","message":"AXES: New login failure by {username: \"alice\", ip_address: \"203.0.113.7\", user_agent: \"curl/8\", path_info: \"/login/\"}. Created new record in the database.","source_type":"file","timestamp":"2026-12-04T09:00:01.5Z"}`,
	"cri":     `2026-12-04T09:00:05.123456789Z stdout F AXES: New login failure by {username: "alice", ip_address: "203.0.113.7", user_agent: "curl/8", path_info: "/login/"}. Created new record in the database.`,
	"docker":  `{"log":"AXES: New login failure by {username: \"alice\", ip_address: \"203.0.113.7\", user_agent: \"curl/8\", path_info: \"/login/\"}. Created new record in the database.\n","stream":"stderr","time":"2026-12-04T09:00:01.5Z"}`,
}

// benchKey is the envelope key of benchLines[name].
func benchKey(name string) string {
	switch name {
	case "cri":
		return CRI
	case "docker":
		return DockerKey
	}
	return "message"
}

func TestNoAllocs(t *testing.T) {
	for name, l := range benchLines {
		p := Wrap(rawAxes(t), benchKey(name))
		line := []byte(l)
		var r event.Record
		p.Parse(line, &r)
		if n := testing.AllocsPerRun(100, func() { r.Reset(); p.Parse(line, &r) }); n != 0 {
			t.Errorf("%s: %v allocs per line", name, n)
		}
	}
}

func FuzzWrap(f *testing.F) {
	for _, l := range benchLines {
		f.Add(l)
	}
	f.Add(`{"message":"\u00e9\ud83d\ude00","timestamp":1}`)
	f.Add(`2026-12-04T09:00:05Z stdout P x`)
	f.Add(`{"log":{"x":1},"message":""}`)
	msg := Wrap(rawAxes(f), "message")
	cri := Wrap(rawAxes(f), CRI)
	docker := Wrap(rawAxes(f), DockerKey)
	f.Fuzz(func(t *testing.T, line string) {
		var r event.Record
		msg.Parse([]byte(line), &r)
		r.Reset()
		cri.Parse([]byte(line), &r)
		r.Reset()
		docker.Parse([]byte(line), &r)
		Detect([]byte(line))
	})
}

// FuzzJoinTrack: over any lines, a JoinTracker's state is the parser's,
// and a parser given that state goes on as the parser does.
func FuzzJoinTrack(f *testing.F) {
	f.Add("2026-12-04T09:00:05Z stdout P a\n2026-12-04T09:00:05Z stderr P b\n2026-12-04T09:00:05Z stdout F c\n2026-12-04T09:00:05Z stderr F d", 30)
	f.Add(strings.Join(dockerEntries(f, "stdout", strings.Repeat("x", 40000)), "\n"), 20000)
	f.Add(strings.Join(append(dockerEntries(f, "stderr", strings.Repeat("y", 20000)), dockerEntries(f, "stdout", "z")...), "\n"), 0)
	f.Fuzz(func(t *testing.T, lines string, max int) {
		for _, key := range []string{CRI, DockerKey} {
			p, q := wrap(py(t), key), wrap(py(t), key)
			p.SetMaxLineBytes(max % 100000)
			q.SetMaxLineBytes(max % 100000)
			tr := p.NewJoinTracker()
			var r event.Record
			for l := range strings.Lines(lines) {
				l = strings.TrimSuffix(l, "\n")
				r.Reset()
				perr := p.Parse([]byte(l), &r)
				q.SetJoinState(tr.AppendState(nil))
				r.Reset()
				qerr := q.Parse([]byte(l), &r)
				tr.Track([]byte(l))
				if fmt.Sprint(perr) != fmt.Sprint(qerr) {
					t.Fatalf("%s: %q: parser %v, parser from the tracked state %v", key, l, perr, qerr)
				}
				if ps, ts := p.AppendJoinState(nil), tr.AppendState(nil); !bytes.Equal(ps, ts) {
					t.Fatalf("%s: after %q: parser state %q, tracker state %q", key, l, ps, ts)
				}
			}
		}
	})
}

func BenchmarkWrap(b *testing.B) {
	for _, name := range []string{"plain", "escaped", "cri", "docker"} {
		b.Run(name, func(b *testing.B) {
			skimtest.BenchAny(b, Wrap(rawAxes(b), benchKey(name)), benchLines[name])
		})
	}
}

// BenchmarkTrack: what following the parts of split lines costs the
// goroutine that reads a file for PrefetchParallel, per line.
func BenchmarkTrack(b *testing.B) {
	for _, name := range []string{"cri", "docker"} {
		b.Run(name, func(b *testing.B) {
			tr := wrap(rawAxes(b), benchKey(name)).NewJoinTracker()
			line := []byte(benchLines[name])
			b.ReportAllocs()
			for b.Loop() {
				tr.Track(line)
			}
		})
	}
}

// TestSkipped: a line its reader skipped over the cap drops the parts
// kept for it and the end of their line; a Docker entry over the cap is
// a part, so the next end of a line on each stream is dropped too.
func TestSkipped(t *testing.T) {
	const skip = "" // a line skipped unread
	cri := func(stream, tag, rid string) string {
		return "2026-12-04T09:00:05Z " + stream + " " + tag + " 2026-12-04 09:00:06,000 WARNING accounts.auth [" + rid + "] user=u event=login_failed"
	}
	docker := func(stream, rid string) string {
		return dockerEntries(t, stream, "2026-12-04 09:00:06,000 WARNING accounts.auth ["+rid+"] user=u event=login_failed")[0]
	}
	dockerPart := func(stream, rid string) string { // the head of a split line
		return dockerEntries(t, stream, "2026-12-04 09:00:06,000 WARNING accounts.auth ["+rid+"] user=u event=login_failed"+strings.Repeat(" ", DockerSplit))[0]
	}
	tests := []struct {
		name     string
		key      string
		max      int // the line length cap; 0: the default
		lines    []string
		want     string // per line: its request id, "-" ignored, "x" rejected
		unjoined int64
		headless int64
	}{
		{"cri: parts kept, then a gap", CRI, 0, []string{cri("stdout", "P", "r1"), skip, cri("stdout", "P", "r2"), cri("stdout", "F", "r3"), cri("stdout", "F", "r4")}, "- - x r4", 1, 1},
		{"cri: no parts kept, the gap leaves the streams as they are", CRI, 0, []string{skip, cri("stdout", "F", "r1"), cri("stderr", "F", "r2")}, "r1 r2", 0, 0},
		{"cri: the other stream's parts", CRI, 0, []string{cri("stderr", "P", "r1"), skip, cri("stdout", "F", "r2"), cri("stderr", "F", "r3"), cri("stderr", "F", "r4")}, "- r2 x r4", 1, 1},
		{"docker, cap under a part's entry: the next end of a line of each stream", DockerKey, 64 << 10, []string{skip, docker("stdout", "r1"), docker("stderr", "r2"), docker("stdout", "r3"), docker("stderr", "r4")}, "x x r3 r4", 0, 2},
		{"docker, cap just under a part's entry", DockerKey, MaxDockerPartEntry - 1, []string{skip, docker("stderr", "r1"), docker("stdout", "r2"), docker("stderr", "r3")}, "x x r3", 0, 2},
		{"docker, default cap: the line skipped is no part, nothing owed", DockerKey, 0, []string{skip, docker("stdout", "r1"), docker("stderr", "r2"), docker("stdout", "r3")}, "r1 r2 r3", 0, 0},
		{"docker, cap at a part's entry: nothing owed", DockerKey, MaxDockerPartEntry, []string{skip, docker("stderr", "r1"), docker("stdout", "r2")}, "r1 r2", 0, 0},
		{"docker, default cap: parts kept are dropped, their end rejected", DockerKey, 0, []string{dockerPart("stdout", "r1"), skip, docker("stderr", "r2"), docker("stdout", "r3"), docker("stdout", "r4")}, "- r2 x r4", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := wrap(py(t), tt.key)
			var flags ingest.Flagged
			p.CountFlags(&flags)
			p.SetMaxLineBytes(tt.max)
			tr := p.NewJoinTracker()
			var got []string
			for _, l := range tt.lines {
				if l == skip {
					p.Skipped()
					tr.Skipped()
					continue
				}
				tr.Track([]byte(l))
				var r event.Record
				err := p.Parse([]byte(l), &r)
				switch {
				case err == nil:
					got = append(got, string(r.Get(event.RequestID)))
				case errors.Is(err, ingest.ErrIgnore):
					got = append(got, "-")
				default:
					got = append(got, "x")
				}
				if a, b := p.AppendJoinState(nil), tr.AppendState(nil); string(a) != string(b) {
					t.Errorf("after %q: tracker state %q, parser's %q", l, b, a)
				}
			}
			if s := strings.Join(got, " "); s != tt.want {
				t.Errorf("read %q, want %q", s, tt.want)
			}
			if n := flags.Load(ingest.FlagSplitUnjoined); n != tt.unjoined {
				t.Errorf("%d split lines dropped unjoined, want %d", n, tt.unjoined)
			}
			if n := flags.Load(ingest.FlagSplitHeadless); n != tt.headless {
				t.Errorf("%d ends of split lines dropped, want %d", n, tt.headless)
			}
		})
	}
}

// TestOverlongRecordInDockerStream reads a file of Docker json-file
// entries where another writer's record (a shipper's merged line, no
// Docker part) is over the cap, followed by whole entries on each stream:
// at a cap over MaxDockerPartEntry (the default) the record cannot be a
// part, and the entries after it are read; at a cap under it, the record
// may be a part whose head came unseen, and the next end of a line of
// each stream is rejected. Read by Next and by PrefetchParallel alike.
func TestOverlongRecordInDockerStream(t *testing.T) {
	f, err := pylog.Compile(pyFormat, `user=(?P<username>\S+) event=(?P<event>\w+)`, nil)
	if err != nil {
		t.Fatal(err)
	}
	line := func(rid string) string {
		return "2026-12-04 09:00:06,000 WARNING accounts.auth [" + rid + "] user=u event=login_failed"
	}
	for _, c := range []struct {
		name     string
		max      int // the cap; 0: the default
		big      int // the length of the over-long record's log
		want     string
		headless int64
	}{
		{"default cap", 0, 300 << 10, "r1 r2 r3", 0},
		{"cap at a part's entry", MaxDockerPartEntry, MaxDockerPartEntry, "r1 r2 r3", 0},
		{"cap under a part's entry", 64 << 10, 70 << 10, "r3", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			big, err := json.Marshal(map[string]any{"log": line("big") + strings.Repeat(" ", c.big) + "\n", "stream": "stdout", "time": "2026-12-04T09:00:01.2Z", "kubernetes": map[string]string{"pod": "other"}})
			if err != nil {
				t.Fatal(err)
			}
			lines := []string{string(big)}
			lines = append(lines, dockerEntries(t, "stderr", line("r1"))...)
			lines = append(lines, dockerEntries(t, "stdout", line("r2"))...)
			lines = append(lines, dockerEntries(t, "stdout", line("r3"))...)
			path := filepath.Join(t.TempDir(), "log")
			if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			wf := WrapFormat(f, DockerKey)
			for workers := 0; workers <= 2; workers++ { // 0: Next
				fs := ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.App, Paths: []string{path}, Parser: wf.NewParser(), NewParser: wf.NewParser, MaxLineBytes: c.max})
				if s := readIDs(t, fs, workers); s != c.want {
					t.Errorf("%d workers: read %q, want %q; rejected: %v", workers, s, c.want, fs.Stats().Errors())
				}
				if n := fs.Stats().Flagged.Load(ingest.FlagSplitHeadless); n != c.headless {
					t.Errorf("%d workers: %d ends of split lines rejected, want %d", workers, n, c.headless)
				}
				if n := fs.Stats().TooLong.Load(); n != 1 {
					t.Errorf("%d workers: %d lines too long, want 1", workers, n)
				}
			}
		})
	}
}

// TestFlags checks the flags a wrapped format says its parsers raise: the
// split-line flags only where lines can be split, then the inner format's.
func TestFlags(t *testing.T) {
	ax, err := axes.New("")
	if err != nil {
		t.Fatal(err)
	}
	py, err := pylog.Compile(pyFormat, `user=(?P<username>\S+) event=(?P<event>\w+)`, nil)
	if err != nil {
		t.Fatal(err)
	}
	split := []ingest.Flag{ingest.FlagSplitUnjoined, ingest.FlagSplitHeadless}
	axesFlags := []ingest.Flag{ingest.FlagMasked, ingest.FlagAmbiguous}
	for _, tt := range []struct {
		inner ingest.Format
		key   string
		want  []ingest.Flag
	}{
		{ax, DockerKey, append(append([]ingest.Flag{}, split...), axesFlags...)},
		{ax, CRI, append(append([]ingest.Flag{}, split...), axesFlags...)},
		{ax, "message", axesFlags},
		{py, DockerKey, split},
		{py, "message", nil},
	} {
		f := WrapFormat(tt.inner, tt.key)
		if got := ingest.Flags(f); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: flags %v, want %v", f.Name(), got, tt.want)
		}
	}
}

// TestSplitAcrossFiles reads a line Docker split into three entries whose
// files end between its parts: a log's rotated file and the file that
// replaced it are one stream of parts, so the line is joined across them;
// parts left at the end of a log (its last file, or before another log's
// file) are dropped and counted, never glued to another log's line. Read
// by Next and by PrefetchParallel alike.
func TestSplitAcrossFiles(t *testing.T) {
	f, err := pylog.Compile(pyFormat, `user=(?P<username>\S+) event=(?P<event>\w+)`, nil)
	if err != nil {
		t.Fatal(err)
	}
	line := func(rid string) string {
		return "2026-12-04 09:00:06,000 WARNING accounts.auth [" + rid + "] user=u event=login_failed"
	}
	long := dockerEntries(t, "stdout", line("long")+strings.Repeat(" ", 2*DockerSplit))
	if len(long) != 3 {
		t.Fatalf("the long line is %d entries, want 3", len(long))
	}
	r1, r2 := dockerEntries(t, "stdout", line("r1")), dockerEntries(t, "stdout", line("r2"))
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	for _, c := range []struct {
		name     string
		files    map[string][]string // in reading order by name (ingest.SortRotated)
		want     string
		unjoined int64
	}{
		{"rotated between parts", map[string][]string{"app.log.1": cat(r1, long[:2]), "app.log": cat(long[2:], r2)}, "r1 long r2", 0},
		{"rotated twice within a line", map[string][]string{"app.log.2": cat(r1, long[:1]), "app.log.1": long[1:2], "app.log": cat(long[2:], r2)}, "r1 long r2", 0},
		{"another log after the head", map[string][]string{"a.log": cat(r1, long[:2]), "b.log": r2}, "r1 r2", 1},
		{"the last file ends in parts", map[string][]string{"app.log": cat(r1, long[:2])}, "r1", 1},
		{"an empty log after the head", map[string][]string{"a.log": cat(r1, long[:2]), "b.log": nil, "c.log": r2}, "r1 r2", 1},
		{"an empty live file after the head", map[string][]string{"app.log.1": cat(r1, long[:2]), "app.log": nil}, "r1", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			var paths []string
			for name, entries := range c.files {
				path := filepath.Join(dir, name)
				var data []byte
				if len(entries) > 0 {
					data = []byte(strings.Join(entries, "\n") + "\n")
				}
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, path)
			}
			ingest.SortRotated(paths)
			wf := WrapFormat(f, DockerKey)
			for workers := 0; workers <= 2; workers++ { // 0: Next
				fs := ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.App, Paths: paths, Parser: wf.NewParser(), NewParser: wf.NewParser})
				if s := readIDs(t, fs, workers); s != c.want {
					t.Errorf("%d workers: read %q, want %q; rejected: %v", workers, s, c.want, fs.Stats().Errors())
				}
				if n := fs.Stats().Flagged.Load(ingest.FlagSplitUnjoined); n != c.unjoined {
					t.Errorf("%d workers: %d split lines dropped unjoined, want %d", workers, n, c.unjoined)
				}
				if n := fs.Stats().Rejected.Load(); n != 0 {
					t.Errorf("%d workers: %d lines rejected: %v", workers, n, fs.Stats().Errors())
				}
			}
		})
	}
}

// TestSplitAcrossFilesOutOfOrder reads a log's files given out of
// rotation order: the live file, ending inside a line, then its rotated
// file, starting with the end of an older line whose head is in a file not
// given. The head is dropped where the live file ends, not glued to the
// other line's end. Read by Next and by PrefetchParallel alike.
func TestSplitAcrossFilesOutOfOrder(t *testing.T) {
	f, err := pylog.Compile(pyFormat, `user=(?P<username>\S+) event=(?P<event>\w+)`, nil)
	if err != nil {
		t.Fatal(err)
	}
	line := func(rid string) string {
		return "2026-12-04 09:00:06,000 WARNING accounts.auth [" + rid + "] user=u event=login_failed"
	}
	// The older line's end is a line of its own that parses, as client
	// text at a split could make it.
	older := dockerEntries(t, "stdout", strings.Repeat(" ", DockerSplit)+line("tail"))
	newer := dockerEntries(t, "stdout", line("head")+strings.Repeat(" ", 2*DockerSplit))
	if len(older) != 2 || len(newer) != 3 {
		t.Fatalf("the long lines are %d and %d entries, want 2 and 3", len(older), len(newer))
	}
	r1, r2 := dockerEntries(t, "stdout", line("r1")), dockerEntries(t, "stdout", line("r2"))
	dir := t.TempDir()
	write := func(name string, entries ...[]string) string {
		var all []string
		for _, e := range entries {
			all = append(all, e...)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(strings.Join(all, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	paths := []string{write("app.log", r2, newer[:2]), write("app.log.1", older[1:], r1)}
	wf := WrapFormat(f, DockerKey)
	for workers := 0; workers <= 2; workers++ { // 0: Next
		fs := ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.App, Paths: paths, Parser: wf.NewParser(), NewParser: wf.NewParser})
		// The end read alone is the documented limit of a log whose
		// first file given starts inside a line; the head is not glued to it.
		if s, want := readIDs(t, fs, workers), "r2 tail r1"; s != want {
			t.Errorf("%d workers: read %q, want %q", workers, s, want)
		}
		if n := fs.Stats().Flagged.Load(ingest.FlagSplitUnjoined); n != 1 {
			t.Errorf("%d workers: %d split lines dropped unjoined, want 1", workers, n)
		}
	}
}

// readIDs reads fs to its end, with workers parse workers (0: by Next),
// and returns the request ids of its records, space-separated.
func readIDs(t *testing.T, fs *ingest.FileSource, workers int) string {
	t.Helper()
	var src ingest.Source = fs
	if workers > 0 {
		p := ingest.PrefetchParallel(context.Background(), fs, workers)
		defer p.Close()
		src = p
	}
	var got []string
	var r event.Record
	for {
		err := src.Next(context.Background(), &r)
		if err == io.EOF {
			return strings.Join(got, " ")
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(r.Get(event.RequestID)))
	}
}
