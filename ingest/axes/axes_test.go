package axes

import (
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
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

const readmePrefix = "%(levelname)-8s [%(asctime)s] [%(request_id)s] %(name)s: %(message)s"

func TestRaw(t *testing.T) {
	tests := []struct {
		line   string
		want   map[event.Field]string
		err    error
		syntax bool
		masked int64
	}{
		{
			line: `AXES: New login failure by {username: "alice", ip_address: "203.0.113.7", user_agent: "python-requests/2.32.3", path_info: "/accounts/login/"}. Created new record in the database.`,
			want: map[event.Field]string{event.UserName: "alice", event.SourceIP: "203.0.113.7", event.UserAgent: "python-requests/2.32.3", event.URLPath: "/accounts/login/", event.Action: "login_failed", event.Outcome: "failure"},
		},
		{
			line: `Dec  4 09:00:01 web1 gunicorn[812]: AXES: Repeated login failure by {username: "ålice", ip_address: "::ffff:10.0.0.1", user_agent: "", path_info: "/login/"}. Count = 2 of 5. Updating existing record in the cache.`,
			want: map[event.Field]string{event.UserName: "ålice", event.SourceIP: "::ffff:10.0.0.1", event.URLPath: "/login/", event.Action: "login_failed", event.Outcome: "failure"},
		},
		{
			line: `AXES: Locking out {username: "alice", ip_address: "203.0.113.7", user_agent: "x", path_info: "/login/"} after repeated login failures.`,
			want: map[event.Field]string{event.UserName: "alice", event.SourceIP: "203.0.113.7", event.UserAgent: "x", event.URLPath: "/login/", event.Action: "user_locked_out", event.Outcome: "unknown"},
		},
		{
			line:   `AXES: New login failure by {username: "********************", ip_address: "********************", user_agent: "curl/8.5.0", path_info: "/login/"}. Creating new record in the cache.`,
			want:   map[event.Field]string{event.UserAgent: "curl/8.5.0", event.URLPath: "/login/", event.Action: "login_failed", event.Outcome: "failure"},
			masked: 2,
		},
		{
			line: `AXES: Successful login by {username: "bob", ip_address: "10.1.2.3", user_agent: "Mozilla/5.0", path_info: "/accounts/login/"}.`,
			want: map[event.Field]string{event.UserName: "bob", event.SourceIP: "10.1.2.3", event.UserAgent: "Mozilla/5.0", event.URLPath: "/accounts/login/", event.Action: "login_succeeded", event.Outcome: "success"},
		},
		{
			line: `AXES: New login failure by {username: "hmac:9f86d081884c7d65", ip_address: "203.0.113.7", path_info: "/login/"}. Created new record in the database.`,
			want: map[event.Field]string{event.UserName: "hmac:9f86d081884c7d65", event.SourceIP: "203.0.113.7", event.URLPath: "/login/", event.Action: "login_failed", event.Outcome: "failure"},
		},
		{line: `AXES: Successful logout by {username: "bob", ip_address: "10.1.2.3", user_agent: "", path_info: "/logout/"}.`, err: ingest.ErrIgnore},
		{line: `AXES: User login failed, running database handler for failure.`, err: ingest.ErrIgnore},
		{line: `"POST /login/ HTTP/1.1" 200 2210`, err: ingest.ErrIgnore},
		{line: `AXES: New login failure by alice. Created new record in the database.`, syntax: true},
		{line: `AXES: New login failure by {username: alice}. Created new record in the database.`, syntax: true},
		{line: `AXES: New login failure by {username: "alice}. Created new record in the database.`, syntax: true},
	}
	for _, tt := range tests {
		f, err := New("")
		if err != nil {
			t.Fatal(err)
		}
		var r event.Record
		err = f.NewParser().Parse([]byte(tt.line), &r)
		if tt.syntax {
			var se *ingest.SyntaxError
			if !errors.As(err, &se) || se.Column == 0 {
				t.Errorf("%s: err = %v, want a SyntaxError with a column", tt.line, err)
			}
			continue
		}
		if err != tt.err {
			t.Errorf("%s: err = %v, want %v", tt.line, err, tt.err)
			continue
		}
		for fld := range event.NumFields {
			if got, want := string(r.Get(event.Field(fld))), tt.want[event.Field(fld)]; got != want {
				t.Errorf("%s: %s = %q, want %q", tt.line, event.Field(fld), got, want)
			}
		}
		if got := f.MaskedCount(); got != tt.masked {
			t.Errorf("%s: MaskedCount = %d, want %d", tt.line, got, tt.masked)
		}
	}
}

func TestPrefixErrors(t *testing.T) {
	for _, p := range []string{"%(asctime)s", "%(message)s", "%(asctime)s %(message"} {
		if _, err := New(p); err == nil || !strings.Contains(err.Error(), "django-axes: compiling log format") {
			t.Errorf("New(%q) = %v", p, err)
		}
	}
}

func TestGolden(t *testing.T) {
	f, err := New(readmePrefix)
	if err != nil {
		t.Fatal(err)
	}
	out := skimtest.ParseFile(t, f.NewParser(), filepath.Join("testdata", "axes.log"))
	out = fmt.Appendf(out, "masked: %d\n", f.MaskedCount())
	skimtest.CheckGolden(t, filepath.Join("testdata", "axes.golden"), out, *update)
}

func TestNoAllocs(t *testing.T) {
	f, err := New(readmePrefix)
	if err != nil {
		t.Fatal(err)
	}
	p := f.NewParser()
	line := []byte(`WARNING  [2026-12-04 09:00:01,234] [6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a] axes.handlers.database: AXES: New login failure by {username: "alice", ip_address: "203.0.113.7", user_agent: "python-requests/2.32.3", path_info: "/accounts/login/"}. Created new record in the database.`)
	var r event.Record
	if n := testing.AllocsPerRun(100, func() {
		if err := p.Parse(line, &r); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocs per line, want 0", n)
	}
}

func FuzzParse(f *testing.F) {
	in, err := os.ReadFile(filepath.Join("testdata", "axes.log"))
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range bytes.Split(in, []byte("\n")) {
		f.Add(string(l))
	}
	f.Add(`AXES: Locking out {a: "`)
	f.Add(`AXES: Locking out {`)
	f.Add(`AXES: Successful login by {username: "", ip_address: "", : "x"}.`)
	raw, _ := New("")
	pre, _ := New(readmePrefix)
	f.Fuzz(func(t *testing.T, line string) {
		for _, fm := range []*Format{raw, pre} {
			var r event.Record
			err := fm.NewParser().Parse([]byte(line), &r)
			if err == nil && len(r.Get(event.Outcome)) == 0 {
				t.Errorf("%q: record without outcome", line)
			}
			for i, v := range r.Values {
				if i != int(event.Outcome) && i != int(event.Action) && len(v) > 0 && !strings.Contains(line, string(v)) {
					t.Errorf("%q: value %q not from the line", line, v)
				}
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	f, err := New(readmePrefix)
	if err != nil {
		b.Fatal(err)
	}
	skimtest.BenchAny(b, f.NewParser(), `WARNING  [2026-12-04 09:00:01,234] [6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a] axes.handlers.database: AXES: New login failure by {username: "alice", ip_address: "203.0.113.7", user_agent: "python-requests/2.32.3", path_info: "/accounts/login/"}. Created new record in the database.`)
}
