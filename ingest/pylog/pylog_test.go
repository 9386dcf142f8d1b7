package pylog

import (
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	defaultFormat = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
	readmeFormat  = "%(levelname)-8s [%(asctime)s] [%(request_id)s] %(name)s: %(message)s"
	netboxPattern = `^(?P<event>Failed|Successful) login attempt for username: (?P<username>.*?)(?: from (?P<ip>\S+))?$`
)

var netboxOutcomes = map[string]string{"Failed": "failure", "Successful": "success"}

func TestParse(t *testing.T) {
	tests := []struct {
		name, format, pattern string
		outcomes              map[string]string
		line                  string
		want                  map[event.Field]string
		time                  string
		err                   error // ErrIgnore, or nil
		syntax                bool
	}{
		{
			name: "default format, failure", format: defaultFormat, pattern: netboxPattern, outcomes: netboxOutcomes,
			line: "2026-12-04 09:00:01,123 WARNING netbox.auth.login [6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a] Failed login attempt for username: alice from 203.0.113.7",
			time: "2026-12-04T09:00:01.123Z",
			want: map[event.Field]string{event.RequestID: "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a", event.UserName: "alice", event.SourceIP: "203.0.113.7", event.Outcome: "failure", event.Action: "Failed"},
		},
		{
			name: "unicode username and IPv6", format: defaultFormat, pattern: netboxPattern, outcomes: netboxOutcomes,
			line: "2026-12-04 09:00:02,000 WARNING netbox.auth.login [abc] Failed login attempt for username: José García from 2001:db8::7",
			time: "2026-12-04T09:00:02Z",
			want: map[event.Field]string{event.RequestID: "abc", event.UserName: "José García", event.SourceIP: "2001:db8::7", event.Outcome: "failure", event.Action: "Failed"},
		},
		{
			name: "message containing brackets and quotes", format: defaultFormat, pattern: netboxPattern, outcomes: netboxOutcomes,
			line: `2026-12-04 09:00:03,500 INFO netbox.auth.login [r1] Successful login attempt for username: "bob] [x"`,
			time: "2026-12-04T09:00:03.5Z",
			want: map[event.Field]string{event.RequestID: "r1", event.UserName: `"bob] [x"`, event.Outcome: "success", event.Action: "Successful"},
		},
		{
			name: "no request id (django-log-request-id's none)", format: defaultFormat, pattern: netboxPattern, outcomes: netboxOutcomes,
			line: "2026-12-04 09:00:01,123 WARNING netbox.auth.login [none] Failed login attempt for username: alice",
			time: "2026-12-04T09:00:01.123Z",
			want: map[event.Field]string{event.UserName: "alice", event.Outcome: "failure", event.Action: "Failed"},
		},
		{
			name: "padded level name, README formatter", format: readmeFormat,
			pattern: `^Login failure from IP (?P<ip>\S+) for user '(?P<username>[^']*)'$`, outcomes: map[string]string{"": "failure"},
			line: "INFO     [2025-03-01 12:00:01,234] [6f1c2e0b] amy.auth: Login failure from IP 198.51.100.9 for user 'ñandú'",
			time: "2025-03-01T12:00:01.234Z",
			want: map[event.Field]string{event.RequestID: "6f1c2e0b", event.UserName: "ñandú", event.SourceIP: "198.51.100.9", event.Outcome: "failure", event.Action: "login_failed"},
		},
		{
			name: "padded level name with a space literal", format: "%(levelname)-8s %(created)f %(name)s %(message)s",
			pattern: `user=(?P<username>\S+) event=(?P<event>\w+)`,
			line:    "INFO     1764838801.250000 accounts.auth user=carol event=login_succeeded",
			time:    "2025-12-04T09:00:01.25Z",
			want:    map[event.Field]string{event.UserName: "carol", event.Outcome: "success", event.Action: "login_succeeded"},
		},
		{
			name: "right-aligned width", format: "%(process)5d %(asctime)s %(message)s",
			pattern: `user=(?P<username>\S+) (?P<outcome>\w+)`,
			line:    "  421 2026-12-04T09:00:01.5+01:00 user=dave failure",
			time:    "2026-12-04T08:00:01.5Z",
			want:    map[event.Field]string{event.UserName: "dave", event.Outcome: "failure", event.Action: "login_failed"},
		},
		{
			name: "attributes after the message", format: "%(asctime)s %(message)s (%(name)s:%(lineno)d) rid=%(request_id)s",
			pattern: `user=(?P<username>\S+) (?P<outcome>\w+)`,
			line:    "2026-12-04 09:00:01,000 user=eve failure (x) (accounts.views:42) rid=r-9",
			time:    "2026-12-04T09:00:01Z",
			want:    map[event.Field]string{event.UserName: "eve", event.Outcome: "failure", event.RequestID: "r-9", event.Action: "login_failed"},
		},
		{
			name: "unmapped event ignored", format: defaultFormat, pattern: `user=(?P<username>\S+) event=(?P<event>\w+)`,
			line: "2026-12-04 09:00:01,123 INFO accounts.auth [r] user=alice event=logout",
			err:  ingest.ErrIgnore,
		},
		{
			name: "message not matching ignored", format: defaultFormat, pattern: netboxPattern, outcomes: netboxOutcomes,
			line: "2026-12-04 09:00:01,123 INFO django.request [r] Not Found: /favicon.ico",
			err:  ingest.ErrIgnore,
		},
		{
			name: "traceback line ignored", format: defaultFormat, pattern: netboxPattern,
			line: "Traceback (most recent call last):", err: ingest.ErrIgnore,
		},
		{
			name: "continuation line ignored", format: defaultFormat, pattern: netboxPattern,
			line: `  File "/app/views.py", line 3, in login`, err: ingest.ErrIgnore,
		},
		{
			name: "bad time", format: defaultFormat, pattern: netboxPattern, outcomes: netboxOutcomes,
			line: "2026-13-04 09:00:01,123 WARNING netbox.auth.login [r] Failed login attempt for username: a", syntax: true,
		},
		{
			name: "missing bracket", format: defaultFormat, pattern: netboxPattern, outcomes: netboxOutcomes,
			line: "2026-12-04 09:00:01,123 WARNING netbox.auth.login r] Failed login attempt for username: a", syntax: true,
		},
		{
			name: "truncated line", format: defaultFormat, pattern: netboxPattern, outcomes: netboxOutcomes,
			line: "2026-12-04 09:00:01,123 WARNING", syntax: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Compile(tt.format, tt.pattern, tt.outcomes)
			if err != nil {
				t.Fatal(err)
			}
			p := f.NewParser()
			var r event.Record
			err = p.Parse([]byte(tt.line), &r)
			if tt.syntax {
				var se *ingest.SyntaxError
				if !errors.As(err, &se) || se.Column == 0 {
					t.Fatalf("err = %v, want a SyntaxError with a column", err)
				}
				return
			}
			if !errors.Is(err, tt.err) || (err != nil && tt.err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				return
			}
			skimtest.CheckRecord(t, &r, tt.time, tt.want)
		})
	}
}

func TestPrefilter(t *testing.T) {
	f, err := New(Config{
		Format:         defaultFormat,
		MessagePattern: `user=(?P<username>\S+) event=(?P<event>\w+)`,
		Loggers:        []string{"accounts"},
		MinLevel:       "WARNING",
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(f.required) != " event=" {
		t.Errorf("required literal = %q", f.required)
	}
	p := f.NewParser()
	for _, tt := range []struct {
		line string
		keep bool
	}{
		{"2026-12-04 09:00:01,123 WARNING accounts [r] user=a event=login_failed", true},
		{"2026-12-04 09:00:01,123 ERROR accounts.auth [r] user=a event=login_failed", true},
		{"2026-12-04 09:00:01,123 INFO accounts.auth [r] user=a event=login_failed", false},
		{"2026-12-04 09:00:01,123 WARNING accountsx [r] user=a event=login_failed", false},
		{"2026-12-04 09:00:01,123 WARNING other.accounts [r] user=a event=login_failed", false},
		{"2026-12-04 09:00:01,123 WARNING accounts.auth [r] user=a event login_failed", false},
	} {
		var r event.Record
		err := p.Parse([]byte(tt.line), &r)
		if tt.keep && err != nil || !tt.keep && !errors.Is(err, ingest.ErrIgnore) {
			t.Errorf("%s: err = %v, keep = %v", tt.line, err, tt.keep)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		format, pattern string
		outcomes        map[string]string
		want            string
	}{
		{"", "", nil, "empty format"},
		{"%(asctime)s %(message", "(?P<username>x)(?P<event>y)", nil, "column 13: unclosed %("},
		{"%(asctime)s %d %(message)s", "(?P<username>x)(?P<event>y)", nil, "column 13: expected '('"},
		{"%(asctime)s %(mes sage)s", "(?P<username>x)(?P<event>y)", nil, `column 15: "mes sage" is not an attribute name`},
		{"%(asctime)s %(message)q", "(?P<username>x)(?P<event>y)", nil, "column 23: unknown conversion type 'q'"},
		{"%(asctime)s %(message)", "(?P<username>x)(?P<event>y)", nil, "column 13: %(message) without a conversion type"},
		{"%(asctime)s %(levelname)s%(message)s", "(?P<username>x)(?P<event>y)", nil, "column 26: %(message)s follows %(levelname)s"},
		{"%(asctime)s %(message)s %(message)s", "(?P<username>x)(?P<event>y)", nil, "column 25: %(message)s appears twice"},
		{"%(levelname)s %(message)s", "(?P<username>x)(?P<event>y)", nil, "no %(asctime)s or %(created)f"},
		{"%(asctime)s %(levelname)s", "(?P<username>x)(?P<event>y)", nil, "needs %(message)s"},
		{"%(asctime)s %(message)s", "(?P<username>x", nil, "message pattern: error parsing regexp"},
		{"%(asctime)s %(message)s", "(?P<event>x)", nil, "no (?P<username>...) group"},
		{"%(asctime)s %(message)s", "(?P<username>x)", nil, `no outcomes[""]`},
		{"%(asctime)s %(message)s", "(?P<username>x)(?P<event>y)", map[string]string{"y": "bad"}, `outcome for "y" is "bad"`},
		{"%(asctime)s %(message)s", "", nil, "no attribute of the format carries the username"},
	}
	for _, tt := range tests {
		_, err := Compile(tt.format, tt.pattern, tt.outcomes)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compile(%q, %q) = %v, want error containing %q", tt.format, tt.pattern, err, tt.want)
		}
	}
	if _, err := New(Config{Format: defaultFormat, MessagePattern: netboxPattern, MinLevel: "LOUD"}); err == nil {
		t.Error("unknown MinLevel accepted")
	}
}

func TestExtras(t *testing.T) {
	f, err := New(Config{
		Format:   "%(asctime)s %(client_ip)s %(user)s %(message)s",
		Extras:   map[string]event.Field{"client_ip": event.SourceIP, "user": event.UserName},
		Outcomes: map[string]string{"": "failure"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var r event.Record
	if err := f.NewParser().Parse([]byte("2026-12-04 09:00:01,000 ::1 mallory login failed"), &r); err != nil {
		t.Fatal(err)
	}
	if string(r.Get(event.SourceIP)) != "::1" || string(r.Get(event.UserName)) != "mallory" || string(r.Get(event.Outcome)) != "failure" {
		t.Errorf("record = %q %q %q", r.Get(event.SourceIP), r.Get(event.UserName), r.Get(event.Outcome))
	}
}

// TestGolden parses testdata/app.log and compares every record (or error)
// with testdata/app.golden.
func TestGolden(t *testing.T) {
	f, err := Compile(defaultFormat, netboxPattern, netboxOutcomes)
	if err != nil {
		t.Fatal(err)
	}
	got := skimtest.ParseFile(t, f.NewParser(), filepath.Join("testdata", "app.log"))
	skimtest.CheckGolden(t, filepath.Join("testdata", "app.golden"), got, *update)
}

func TestNoAllocs(t *testing.T) {
	f, err := New(Config{Format: defaultFormat, MessagePattern: netboxPattern, Outcomes: netboxOutcomes, Loggers: []string{"netbox.auth"}})
	if err != nil {
		t.Fatal(err)
	}
	p := f.NewParser()
	line := []byte("2026-12-04 09:00:01,123 INFO django.request [6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a] Not Found: /favicon.ico")
	var r event.Record
	if n := testing.AllocsPerRun(100, func() { p.Parse(line, &r) }); n != 0 {
		t.Errorf("filtered line: %v allocs, want 0", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"2026-12-04 09:00:01,123 WARNING netbox.auth.login [6f1c] Failed login attempt for username: alice from 203.0.113.7",
		"INFO     [2025-03-01 12:00:01,234] [x] a: b",
		"2026-12-04 09:00:01,123 WARNING netbox.auth.login [",
		"   ",
		"",
	} {
		f.Add(s)
	}
	formats := []*Format{}
	for _, c := range []Config{
		{Format: defaultFormat, MessagePattern: netboxPattern, Outcomes: netboxOutcomes},
		{Format: readmeFormat, MessagePattern: netboxPattern, Outcomes: netboxOutcomes},
		{Format: "%(levelname)-8s %(created)f %(name)s %(message)s (%(lineno)d)", MessagePattern: netboxPattern, Outcomes: netboxOutcomes},
	} {
		fm, err := New(c)
		if err != nil {
			f.Fatal(err)
		}
		formats = append(formats, fm, fm.InLocation(berlin(f)))
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, fm := range formats {
			var r event.Record
			err := fm.NewParser().Parse([]byte(line), &r)
			if err == nil && len(r.Get(event.Outcome)) == 0 {
				t.Errorf("%q: record without outcome", line)
			}
			for _, v := range r.Values {
				if len(v) > 0 && !strings.Contains(line, string(v)) && string(v) != "success" && string(v) != "failure" && string(v) != "login_failed" && string(v) != "login_succeeded" {
					t.Errorf("%q: value %q not from the line", line, v)
				}
			}
		}
	})
}

func FuzzCompile(f *testing.F) {
	f.Add(defaultFormat)
	f.Add(readmeFormat)
	f.Add("%(asctime)s %%(x)s %(message)-10.3s")
	f.Fuzz(func(t *testing.T, format string) {
		fm, err := Compile(format, netboxPattern, netboxOutcomes)
		if err != nil {
			return
		}
		var r event.Record
		fm.NewParser().Parse([]byte("2026-12-04 09:00:01,123 INFO a [b] Failed login attempt for username: c"), &r)
	})
}

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct{ name, line string }{
		{"match", "2026-12-04 09:00:01,123 WARNING netbox.auth.login [6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a] Failed login attempt for username: alice from 203.0.113.7"},
		{"filtered", "2026-12-04 09:00:01,123 INFO django.request [6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a] Not Found: /favicon.ico"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f, err := New(Config{Format: defaultFormat, MessagePattern: netboxPattern, Outcomes: netboxOutcomes, Loggers: []string{"netbox.auth"}})
			if err != nil {
				b.Fatal(err)
			}
			skimtest.BenchAny(b, f.NewParser(), bc.line)
		})
	}
}
