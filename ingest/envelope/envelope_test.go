package envelope

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/axes"
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
	p.max = 64
	var r event.Record
	part := "2026-12-04T09:00:05Z stdout P " + strings.Repeat("x", 40)
	if err := p.Parse([]byte(part), &r); !errors.Is(err, ingest.ErrIgnore) {
		t.Fatal(err)
	}
	if err := p.Parse([]byte(part), &r); err == nil || !strings.Contains(err.Error(), "longer than 64 bytes") {
		t.Errorf("second partial: %v", err)
	}
	if len(p.partial[0]) != 0 {
		t.Errorf("partial buffer kept %d bytes", len(p.partial[0]))
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		line, key string
	}{
		{`{"file":"/var/log/app.log","message":"x","source_type":"file","timestamp":"2026-12-04T09:00:01Z"}`, "message"},
		{`{"log":"x\n","stream":"stdout","time":"2026-12-04T09:00:01Z"}`, "log"},
		{`{"@timestamp":"2026-12-04T09:00:02.000Z","log":{"file":{"path":"/var/log/app.log"}},"message":"x","ecs":{"version":"8.0.0"}}`, "message"},
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
}

func TestNoAllocs(t *testing.T) {
	for name, l := range benchLines {
		key := "message"
		if name == "cri" {
			key = CRI
		}
		p := Wrap(rawAxes(t), key)
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
	f.Fuzz(func(t *testing.T, line string) {
		var r event.Record
		msg.Parse([]byte(line), &r)
		r.Reset()
		cri.Parse([]byte(line), &r)
		Detect([]byte(line))
	})
}

func BenchmarkWrap(b *testing.B) {
	for _, name := range []string{"plain", "escaped", "cri"} {
		b.Run(name, func(b *testing.B) {
			key := "message"
			if name == "cri" {
				key = CRI
			}
			skimtest.BenchAny(b, Wrap(rawAxes(b), key), benchLines[name])
		})
	}
}
