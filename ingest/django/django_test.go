package django

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func mustFormat(t testing.TB, m Mapping) *Format {
	t.Helper()
	f, err := NewFormat(m)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func ts(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixNano()
}

// render writes a record's time and non-empty fields in field order.
func render(r *event.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Kind, time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano))
	for i, v := range r.Values {
		if len(v) > 0 {
			fmt.Fprintf(&b, " %s=%q", event.Field(i), v)
		}
	}
	return b.String()
}

func TestParse(t *testing.T) {
	nested := DefaultMapping()
	nested.Time = "@timestamp"
	nested.Action = "event.action"
	nested.UserName = "user.name"
	nested.RequestID = "http.request.id"
	nested.SourceIP = "source.ip"
	nested.Outcomes = map[string]string{"authentication_failed": "failure", "authentication_succeeded": "success", "mfa_pending": "unknown"}

	pyjson := DefaultMapping()
	pyjson.Time = "asctime"
	pyjson.Action = "message"

	tests := []struct {
		name string
		m    Mapping
		line string
		want string // rendered record, "ignored", or "error: <message>"
	}{
		{
			name: "reference line",
			line: `{"timestamp":"2026-12-04T09:00:01.123456Z","level":"warning","logger":"accounts.auth","event":"login_failed","request_id":"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a","username":"alice","ip":"10.0.0.1"}`,
			want: `app 2026-12-04T09:00:01.123456Z http.request.id="6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a" source.ip="10.0.0.1" user.name="alice" event.outcome="failure" event.action="login_failed"`,
		},
		{
			name: "success with user agent and path",
			line: `{"timestamp":"2026-12-04T09:00:02Z","event":"login_succeeded","request_id":"r2","username":"bob","ip":"2001:db8::7","user_agent":"Mozilla/5.0 (X11; Linux x86_64)","path":"/accounts/login/"}`,
			want: `app 2026-12-04T09:00:02Z http.request.id="r2" source.ip="2001:db8::7" user.name="bob" event.outcome="success" event.action="login_succeeded" url.path="/accounts/login/" user_agent.original="Mozilla/5.0 (X11; Linux x86_64)"`,
		},
		{
			name: "lockout",
			line: `{"event":"user_locked_out","timestamp":"2026-12-04T09:00:03+01:00","username":"carol"}`,
			want: `app 2026-12-04T08:00:03Z user.name="carol" event.outcome="failure" event.action="user_locked_out"`,
		},
		{
			name: "structlog with django-structlog context",
			line: `{"request_id": "c53dff1d-3fc5-4257-a78a-9a567c937561", "ip": "203.0.113.7", "user_id": null, "event": "login_failed", "username": "alice", "backend_sender": "django.contrib.auth", "logger": "accounts.signals", "level": "warning", "timestamp": "2025-03-01T12:00:01.234Z"}`,
			want: `app 2025-03-01T12:00:01.234Z http.request.id="c53dff1d-3fc5-4257-a78a-9a567c937561" source.ip="203.0.113.7" user.name="alice" event.outcome="failure" event.action="login_failed"`,
		},
		{
			name: "structlog request_started is ignored",
			line: `{"request_id": "c53dff1d-3fc5-4257-a78a-9a567c937561", "user_id": 1, "ip": "0.0.0.0", "request": "GET /", "user_agent": "Mozilla/5.0", "event": "request_started", "timestamp": "2019-04-13T19:39:29.321453Z", "logger": "django_structlog.middlewares.request", "level": "info"}`,
			want: "ignored",
		},
		{
			name: "logout is ignored even without a time",
			line: `{"event":"logout","username":"alice"}`,
			want: "ignored",
		},
		{
			name: "python-json-logger asctime with comma",
			m:    pyjson,
			line: `{"asctime": "2026-12-04 09:00:01,123", "levelname": "WARNING", "name": "accounts.auth", "message": "login_failed", "request_id": "ab12", "username": "dave", "ip": "10.0.0.9"}`,
			want: `app 2026-12-04T09:00:01.123Z http.request.id="ab12" source.ip="10.0.0.9" user.name="dave" event.outcome="failure" event.action="login_failed"`,
		},
		{
			name: "epoch number time",
			line: `{"timestamp":1764838801.25,"event":"login_failed","username":"eve"}`,
			want: `app 2025-12-04T09:00:01.25Z user.name="eve" event.outcome="failure" event.action="login_failed"`,
		},
		{
			name: "epoch string time",
			line: `{"timestamp":"1764838801","event":"login_failed","username":"eve"}`,
			want: `app 2025-12-04T09:00:01Z user.name="eve" event.outcome="failure" event.action="login_failed"`,
		},
		{
			name: "nested ECS-style keys",
			m:    nested,
			line: `{"@timestamp":"2026-12-04T09:00:04.5Z","log":{"level":"warning","logger":"auth"},"event":{"action":"authentication_failed","dataset":"django"},"user":{"name":"frank"},"source":{"ip":"192.0.2.1"},"http":{"request":{"id":"rid-9"}}}`,
			want: `app 2026-12-04T09:00:04.5Z http.request.id="rid-9" source.ip="192.0.2.1" user.name="frank" event.outcome="failure" event.action="authentication_failed"`,
		},
		{
			name: "nested unknown outcome",
			m:    nested,
			line: `{"@timestamp":"2026-12-04T09:00:04Z","event":{"action":"mfa_pending"},"user":{"name":"frank"}}`,
			want: `app 2026-12-04T09:00:04Z user.name="frank" event.outcome="unknown" event.action="mfa_pending"`,
		},
		{
			name: "unicode and escaped usernames",
			line: `{"timestamp":"2026-12-04T09:00:05Z","event":"login_failed","username":"Jos\u00e9 Garc\u00eda \ud83d\ude00"}`,
			want: `app 2026-12-04T09:00:05Z user.name="José García 😀" event.outcome="failure" event.action="login_failed"`,
		},
		{
			name: "raw UTF-8 username",
			line: `{"timestamp":"2026-12-04T09:00:05Z","event":"login_failed","username":"ａｄｍｉｎ"}`,
			want: `app 2026-12-04T09:00:05Z user.name="ａｄｍｉｎ" event.outcome="failure" event.action="login_failed"`,
		},
		{
			name: "quote, backslash and newline in the username",
			line: `{"timestamp":"2026-12-04T09:00:06Z","event":"login_failed","username":"a\"b\\c\nd","ip":"10.0.0.1"}`,
			want: `app 2026-12-04T09:00:06Z source.ip="10.0.0.1" user.name="a\"b\\c\nd" event.outcome="failure" event.action="login_failed"`,
		},
		{
			name: "empty and null values are absent",
			line: `{"timestamp":"2026-12-04T09:00:07Z","event":"login_failed","username":"","request_id":null,"ip":null,"user_agent":""}`,
			want: `app 2026-12-04T09:00:07Z event.outcome="failure" event.action="login_failed"`,
		},
		{
			name: "numeric username keeps its text",
			line: `{"timestamp":"2026-12-04T09:00:08Z","event":"login_failed","username":12345}`,
			want: `app 2026-12-04T09:00:08Z user.name="12345" event.outcome="failure" event.action="login_failed"`,
		},
		{
			name: "a nested object under a mapped key is not a value",
			line: `{"timestamp":"2026-12-04T09:00:09Z","event":"login_failed","username":{"first":"x"},"tags":["auth",{"username":"y"}]}`,
			want: `app 2026-12-04T09:00:09Z event.outcome="failure" event.action="login_failed"`,
		},
		{
			name: "the last of repeated keys wins",
			line: `{"timestamp":"2026-12-04T09:00:10Z","event":"login_failed","username":"first","username":"second"}`,
			want: `app 2026-12-04T09:00:10Z user.name="second" event.outcome="failure" event.action="login_failed"`,
		},
		{
			name: "missing time",
			line: `{"event":"login_failed","username":"alice"}`,
			want: `error: expected key "timestamp" with the event time`,
		},
		{
			name: "null time",
			line: `{"timestamp":null,"event":"login_failed","username":"alice"}`,
			want: `error: expected key "timestamp" with the event time`,
		},
		{
			name: "missing action",
			line: `{"timestamp":"2026-12-04T09:00:01Z","username":"alice"}`,
			want: `error: expected key "event" with the action`,
		},
		{
			name: "empty action",
			m:    nested,
			line: `{"@timestamp":"2026-12-04T09:00:01Z","event":{"action":""}}`,
			want: `error: expected key "event.action" with the action`,
		},
		{
			name: "bad time",
			line: `{"timestamp":"2026-02-30T09:00:01Z","event":"login_failed"}`,
			want: `error: key "timestamp": expected a day that exists in the month at byte 8 of "2026-02-30T09:00:01Z"`,
		},
		{
			name: "boolean time",
			line: `{"timestamp":true,"event":"login_failed"}`,
			want: `error: key "timestamp": expected a string or a number of "true"`,
		},
		{
			name: "not JSON",
			line: `2026-12-04 09:00:01,123 WARNING accounts.auth login_failed`,
			want: `error: column 1: expected '{' to start a JSON object`,
		},
		{
			name: "truncated line",
			line: `{"timestamp":"2026-12-04T09:00:01Z","event":"login_fa`,
			want: `error: column 54: expected '"' to end the string`,
		},
	}
	for _, tt := range tests {
		m := tt.m
		if m.Time == "" {
			m = DefaultMapping()
		}
		p := mustFormat(t, m).NewParser()
		var r event.Record
		r.Kind = event.Proxy // Parse must set it
		r.Values[event.TLSSubject] = []byte("left alone")
		err := p.Parse([]byte(tt.line), &r)
		var got string
		switch {
		case errors.Is(err, ingest.ErrIgnore):
			got = "ignored"
		case err != nil:
			var se *ingest.SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("%s: error %v is not an *ingest.SyntaxError", tt.name, err)
			}
			got = "error: " + err.Error()
		default:
			if string(r.Values[event.TLSSubject]) != "left alone" {
				t.Errorf("%s: Parse changed an unmapped field", tt.name)
			}
			r.Values[event.TLSSubject] = nil
			got = render(&r)
		}
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestNewFormatErrors(t *testing.T) {
	tests := []struct {
		edit func(*Mapping)
		want string
	}{
		{func(m *Mapping) { m.Time = "" }, "the time key is required"},
		{func(m *Mapping) { m.Action = "" }, "the action key is required"},
		{func(m *Mapping) { m.UserName = "event" }, `key "event" is mapped to both action and username`},
		{func(m *Mapping) { m.Path = "http..path" }, `path key "http..path": expected dot-separated names`},
		{func(m *Mapping) { m.SourceIP = ".ip" }, `source_ip key ".ip"`},
		{func(m *Mapping) { m.Outcomes = nil }, "at least one action"},
		{func(m *Mapping) { m.Outcomes["login_failed"] = "failed" }, `outcome of action "login_failed" is "failed", expected success, failure or unknown`},
		{func(m *Mapping) { m.Outcomes[""] = "failure" }, "non-empty action"},
	}
	for _, tt := range tests {
		m := DefaultMapping()
		tt.edit(&m)
		_, err := NewFormat(m)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewFormat: error %v, want it to contain %q", err, tt.want)
		}
	}
}

func TestFormat(t *testing.T) {
	m := DefaultMapping()
	f := mustFormat(t, m)
	var _ ingest.Format = f
	if f.Name() != "django-json" {
		t.Errorf("Name() = %q", f.Name())
	}
	// The format keeps its own copy of the outcome mapping.
	m.Outcomes["logout"] = "success"
	var r event.Record
	if err := f.NewParser().Parse([]byte(`{"timestamp":"2026-12-04T09:00:01Z","event":"logout"}`), &r); !errors.Is(err, ingest.ErrIgnore) {
		t.Errorf("changing the mapping after NewFormat changed the format: %v", err)
	}
	got := f.Mapping()
	got.Outcomes["logout"] = "success"
	if _, ok := f.Mapping().Outcomes["logout"]; ok {
		t.Error("Mapping() shares the format's outcome map")
	}
}

// TestValuesSurviveScratchReuse checks that unescaped values, which the
// scanner keeps in scratch space overwritten by the next string, are copied.
func TestValuesSurviveScratchReuse(t *testing.T) {
	p := mustFormat(t, DefaultMapping()).NewParser()
	var r event.Record
	line := `{"username":"\u00e9l\u00e8ve","ip":"10.0.0.\u0031","timestamp":"2026-12-04T09:00:01Z","event":"login_\u0066ailed","user_agent":"x\ty"}`
	if err := p.Parse([]byte(line), &r); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[event.Field]string{event.UserName: "élève", event.SourceIP: "10.0.0.1", event.Action: "login_failed", event.UserAgent: "x\ty"} {
		if got := string(r.Get(f)); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
}

// TestGolden parses testdata/auth.jsonl and compares with auth.golden.
func TestGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "auth.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	p := mustFormat(t, DefaultMapping()).NewParser()
	var out bytes.Buffer
	var r event.Record
	for i, line := range bytes.Split(bytes.TrimSuffix(in, []byte("\n")), []byte("\n")) {
		r.Reset()
		err := p.Parse(line, &r)
		switch {
		case errors.Is(err, ingest.ErrIgnore):
			fmt.Fprintf(&out, "%d: ignored\n", i+1)
		case err != nil:
			fmt.Fprintf(&out, "%d: error: %v\n", i+1, err)
		default:
			fmt.Fprintf(&out, "%d: %s\n", i+1, render(&r))
		}
	}
	golden := filepath.Join("testdata", "auth.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("output differs from %s (run with -update to rewrite):\n%s", golden, out.Bytes())
	}
}

var benchLines = [][]byte{
	[]byte(`{"timestamp":"2026-12-04T09:00:01.123456Z","level":"warning","logger":"accounts.auth","event":"login_failed","request_id":"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a","username":"alice","ip":"10.0.0.1"}`),
	[]byte(`{"request_id": "c53dff1d-3fc5-4257-a78a-9a567c937561", "ip": "203.0.113.7", "user_id": null, "event": "login_failed", "username": "jos\u00e9.garc\u00eda", "backend_sender": "django.contrib.auth", "logger": "accounts.signals", "level": "warning", "timestamp": "2025-03-01T12:00:01.234Z", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) \"quoted\""}`),
	[]byte(`{"request_id": "c53dff1d-3fc5-4257-a78a-9a567c937561", "user_id": 1, "ip": "0.0.0.0", "request": "GET /", "user_agent": "Mozilla/5.0", "event": "request_started", "timestamp": "2019-04-13T19:39:29.321453Z", "logger": "django_structlog.middlewares.request", "level": "info"}`),
}

func TestNoAllocs(t *testing.T) {
	p := mustFormat(t, DefaultMapping()).NewParser()
	var r event.Record
	for _, line := range benchLines {
		p.Parse(line, &r) // grow scratch space
		if n := testing.AllocsPerRun(100, func() { p.Parse(line, &r) }); n != 0 {
			t.Errorf("Parse(%.60s...) allocates %v times per line", line, n)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	for i, name := range []string{"reference", "structlog-escaped", "ignored"} {
		line := benchLines[i]
		b.Run(name, func(b *testing.B) {
			p := mustFormat(b, DefaultMapping()).NewParser()
			var r event.Record
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				if err := p.Parse(line, &r); err != nil && err != ingest.ErrIgnore {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, l := range benchLines {
		f.Add(l)
	}
	for _, s := range []string{
		`{"timestamp":1764838801.25,"event":"login_failed","username":"eve"}`,
		`{"timestamp":"2026-12-04 09:00:01,123","event":"user_locked_out","username":"a\"b\nc"}`,
		`{"timestamp":"04/Dec/2026:09:00:01 +0000","event":"login_succeeded","username":"\ud83d"}`,
		`{"event":"login_failed"}`, `{"timestamp":null}`, `{`, `{"timestamp":"2026-12-04T09:00:01Z","event":"login_failed","x":[[{}]]}`,
		"{\"timestamp\":\"2026-12-04T09:00:01Z\",\"event\":\"login_failed\",\"username\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	format := mustFormat(f, DefaultMapping())
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	zoned := format.InZone(berlin)
	f.Fuzz(func(t *testing.T, line []byte) {
		p := format.NewParser()
		var r event.Record
		err := p.Parse(line, &r)
		// In Europe/Berlin, a line reads the same but for its time, which
		// is the same or one or two hours earlier (or out of range).
		var zr event.Record
		zerr := zoned.NewParser().Parse(line, &zr)
		switch d := r.Time - zr.Time; {
		case err == nil && zerr == nil && d != 0 && d != int64(time.Hour) && d != int64(2*time.Hour):
			t.Fatalf("Parse(%q) in Europe/Berlin: time %d, UTC %d", line, zr.Time, r.Time)
		case err != nil && zerr == nil:
			t.Fatalf("Parse(%q) rejects the line as UTC (%v), accepts it in Europe/Berlin", line, err)
		case zerr != nil && err == nil && !strings.Contains(zerr.Error(), "expected a time between"):
			t.Fatalf("Parse(%q) accepts the line as UTC, rejects it in Europe/Berlin: %v", line, zerr)
		}
		if err != nil {
			var se *ingest.SyntaxError
			if !errors.Is(err, ingest.ErrIgnore) && !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %v is neither ErrIgnore nor a SyntaxError", line, err)
			}
			return
		}
		if r.Kind != event.App || r.Time < 0 {
			t.Fatalf("Parse(%q) = kind %v time %d", line, r.Kind, r.Time)
		}
		if o := string(r.Get(event.Outcome)); o != "success" && o != "failure" {
			t.Fatalf("Parse(%q) outcome %q", line, o)
		}
		if !utf8.Valid(line) {
			return
		}
		// On valid UTF-8, the values agree with encoding/json's (last
		// repeated key wins in both).
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			t.Fatalf("Parse(%q) accepted a line encoding/json rejects: %v", line, err)
		}
		for key, field := range map[string]event.Field{"event": event.Action, "username": event.UserName, "request_id": event.RequestID, "ip": event.SourceIP} {
			var want string
			switch v := m[key].(type) {
			case string:
				want = v
			case json.Number:
				want = string(v)
			case bool:
				want = fmt.Sprint(v)
			}
			if got := string(r.Get(field)); got != want {
				t.Fatalf("Parse(%q) %s = %q, encoding/json %q", line, field, got, want)
			}
		}
	})
}

var corpusPath = flag.String("corpus", "", "a Django JSON log for BenchmarkParseCorpus")

// BenchmarkParseCorpus parses the first few thousand lines of a real log
// (go test -bench ParseCorpus -args -corpus FILE) in turn, so that branch
// and cache behaviour follow real data.
func BenchmarkParseCorpus(b *testing.B) {
	if *corpusPath == "" {
		b.Skip("no -corpus log given")
	}
	fh, err := os.Open(*corpusPath)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	var lines [][]byte
	sc := bufio.NewScanner(fh)
	for len(lines) < 4096 && sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	if len(lines) == 0 {
		b.Skip("empty corpus")
	}
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	p := mustFormat(b, DefaultMapping()).NewParser()
	var r event.Record
	b.ReportAllocs()
	b.SetBytes(int64(size / len(lines)))
	i := 0
	for b.Loop() {
		if err := p.Parse(lines[i], &r); err != nil && err != ingest.ErrIgnore {
			b.Fatalf("line %d: %v", i+1, err)
		}
		if i++; i == len(lines) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// TestManyOutcomes reads actions through both ways of finding an outcome:
// a short list and, past maxFew actions, a map.
func TestManyOutcomes(t *testing.T) {
	for _, n := range []int{1, maxFew, maxFew + 1, 3 * maxFew} {
		m := DefaultMapping()
		m.Outcomes = map[string]string{}
		for i := range n {
			m.Outcomes[fmt.Sprintf("act%d", i)] = []string{event.OutcomeSuccess, event.OutcomeFailure}[i%2]
		}
		p := mustFormat(t, m).NewParser()
		for i := range n + 1 {
			line := fmt.Sprintf(`{"timestamp":"2026-12-04T09:00:01Z","event":"act%d"}`, i)
			var r event.Record
			err := p.Parse([]byte(line), &r)
			want, listed := m.Outcomes[fmt.Sprintf("act%d", i)]
			switch {
			case !listed && err != ingest.ErrIgnore:
				t.Errorf("%d outcomes: Parse(%s) = %v, want ErrIgnore", n, line, err)
			case listed && err != nil:
				t.Errorf("%d outcomes: Parse(%s) = %v", n, line, err)
			case listed && string(r.Get(event.Outcome)) != want:
				t.Errorf("%d outcomes: Parse(%s) outcome %q, want %q", n, line, r.Get(event.Outcome), want)
			}
		}
	}
}
