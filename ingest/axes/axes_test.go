package axes

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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
		masked bool // the line counted as ingest.FlagMasked
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
			masked: true,
		},
		{
			line: `AXES: Successful login by {username: "bob", ip_address: "10.1.2.3", user_agent: "Mozilla/5.0", path_info: "/accounts/login/"}.`,
			want: map[event.Field]string{event.UserName: "bob", event.SourceIP: "10.1.2.3", event.UserAgent: "Mozilla/5.0", event.URLPath: "/accounts/login/", event.Action: "login_succeeded", event.Outcome: "success"},
		},
		{
			line: `AXES: New login failure by {username: "hmac:9f86d081884c7d65", ip_address: "203.0.113.7", path_info: "/login/"}. Created new record in the database.`,
			want: map[event.Field]string{event.UserName: "hmac:9f86d081884c7d65", event.SourceIP: "203.0.113.7", event.URLPath: "/login/", event.Action: "login_failed", event.Outcome: "failure"},
		},
		{
			line: `WARNING:axes.handlers.database:AXES: New login failure by {username: "alice", ip_address: "203.0.113.7", user_agent: "x", path_info: "/login/"}. Created new record in the database.`,
			want: map[event.Field]string{event.UserName: "alice", event.SourceIP: "203.0.113.7", event.UserAgent: "x", event.URLPath: "/login/", event.Action: "login_failed", event.Outcome: "failure"},
		},
		{
			line: `Dec 04 09:00:01.123456 web1 gunicorn[812]: INFO:axes:AXES: Successful login by {username: "bob", ip_address: "10.1.2.3", user_agent: "x", path_info: "/login/"}.`,
			want: map[event.Field]string{event.UserName: "bob", event.SourceIP: "10.1.2.3", event.UserAgent: "x", event.URLPath: "/login/", event.Action: "login_succeeded", event.Outcome: "success"},
		},
		{
			line: `<132>1 2026-12-04T09:00:01.123Z web1 gunicorn 812 - - AXES: Locking out {ip_address: "203.0.113.7", path_info: "/login/"} after repeated login failures.`,
			want: map[event.Field]string{event.SourceIP: "203.0.113.7", event.URLPath: "/login/", event.Action: "user_locked_out", event.Outcome: "unknown"},
		},
		{
			// Python's SysLogHandler: a priority, then the message.
			line: `<12>AXES: New login failure by {username: "bob", ip_address: "10.1.2.3", user_agent: "x", path_info: "/login/"}.`,
			want: map[event.Field]string{event.UserName: "bob", event.SourceIP: "10.1.2.3", event.UserAgent: "x", event.URLPath: "/login/", event.Action: "login_failed", event.Outcome: "failure"},
		},
		{
			// A syslog header without the host.
			line: `<12>Dec  4 09:00:01 gunicorn[812]: AXES: New login failure by {username: "bob", ip_address: "10.1.2.3", user_agent: "x", path_info: "/login/"}.`,
			want: map[event.Field]string{event.UserName: "bob", event.SourceIP: "10.1.2.3", event.UserAgent: "x", event.URLPath: "/login/", event.Action: "login_failed", event.Outcome: "failure"},
		},
		// Python's SysLogHandler without an ident: the daemon takes the
		// record's start for the tag, "AXES" or the default prefix and
		// "AXES", with or without the host.
		{
			line: `Dec  4 09:00:01 web1 AXES: New login failure by {username: "bob", ip_address: "10.1.2.3", user_agent: "x", path_info: "/login/"}.`,
			want: map[event.Field]string{event.UserName: "bob", event.SourceIP: "10.1.2.3", event.UserAgent: "x", event.URLPath: "/login/", event.Action: "login_failed", event.Outcome: "failure"},
		},
		{
			line: `<134>Dec  4 09:00:01 AXES: New login failure by {username: "bob", ip_address: "10.1.2.3", user_agent: "x", path_info: "/login/"}.`,
			want: map[event.Field]string{event.UserName: "bob", event.SourceIP: "10.1.2.3", event.UserAgent: "x", event.URLPath: "/login/", event.Action: "login_failed", event.Outcome: "failure"},
		},
		{
			line: `Dec  4 09:00:01 web1 WARNING:axes.handlers.database:AXES: New login failure by {username: "bob", ip_address: "10.1.2.3", user_agent: "x", path_info: "/login/"}.`,
			want: map[event.Field]string{event.UserName: "bob", event.SourceIP: "10.1.2.3", event.UserAgent: "x", event.URLPath: "/login/", event.Action: "login_failed", event.Outcome: "failure"},
		},
		{
			line: `2026-12-04T09:00:01.123+00:00 web1 AXES: Successful login by {username: "bob", ip_address: "10.1.2.3", user_agent: "x", path_info: "/login/"}.`,
			want: map[event.Field]string{event.UserName: "bob", event.SourceIP: "10.1.2.3", event.UserAgent: "x", event.URLPath: "/login/", event.Action: "login_succeeded", event.Outcome: "success"},
		},
		// A tag that only ends with the marker is not it.
		{line: `Dec  4 09:00:01 web1 xAXES: New login failure by {username: "victim", ip_address: "192.0.2.66", user_agent: "x", path_info: "/accounts/login/"}`, err: ingest.ErrIgnore},
		{line: `Dec  4 09:00:01 web1 WARNING:django.request:AXES: New login failure by {username: "victim", ip_address: "192.0.2.66", user_agent: "x", path_info: "/accounts/login/"}`, err: ingest.ErrIgnore},
		// The marker only where logging writes the message: not in client
		// text such as the path of django.request's 404 warning.
		{line: `Dec  4 09:00:01 gunicorn[812]: Not Found: /AXES: New login failure by {username: "victim", ip_address: "192.0.2.66", user_agent: "x", path_info: "/accounts/login/"}`, err: ingest.ErrIgnore},
		{line: `<12>Not Found: /AXES: New login failure by {username: "victim", ip_address: "192.0.2.66", user_agent: "x", path_info: "/accounts/login/"}`, err: ingest.ErrIgnore},
		{line: `2026-12-04T09:00:01.123+00:00 Not Found: /AXES: New login failure by {username: "victim", ip_address: "192.0.2.66", user_agent: "x", path_info: "/accounts/login/"}`, err: ingest.ErrIgnore},
		{line: `Dec  4 09:00:01 web1 gunicorn[812]: Not Found: /AXES: New login failure by {username: "victim", ip_address: "192.0.2.66", user_agent: "x", path_info: "/accounts/login/"}`, err: ingest.ErrIgnore},
		{line: `Not Found: /AXES: New login failure by {username: "victim", ip_address: "192.0.2.66", user_agent: "x", path_info: "/accounts/login/"}`, err: ingest.ErrIgnore},
		{line: `WARNING:django.request:Not Found: /x WARNING:axes.handlers.cache:AXES: New login failure by {username: "victim", ip_address: "192.0.2.66", user_agent: "x", path_info: "/accounts/login/"}`, err: ingest.ErrIgnore},
		{line: `Dec  4 09:00:01 web1 gunicorn[812]: x: AXES: New login failure by {username: "victim", ip_address: "192.0.2.66", user_agent: "x", path_info: "/accounts/login/"}`, err: ingest.ErrIgnore},
		{line: `WARNING:axesx:AXES: New login failure by {username: "victim", ip_address: "192.0.2.66", user_agent: "x", path_info: "/accounts/login/"}`, err: ingest.ErrIgnore},
		{line: `NOTICE:axes.handlers.cache:AXES: New login failure by {username: "victim", ip_address: "192.0.2.66", user_agent: "x", path_info: "/accounts/login/"}`, err: ingest.ErrIgnore},
		{line: ` AXES: New login failure by {username: "victim", ip_address: "192.0.2.66", user_agent: "x", path_info: "/accounts/login/"}`, err: ingest.ErrIgnore},
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
		var (
			r     event.Record
			flags ingest.Flagged
		)
		p := f.NewParser()
		ingest.CountFlags(p, &flags)
		err = p.Parse([]byte(tt.line), &r)
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
		if got, want := flags.Load(ingest.FlagMasked), int64(b2i(tt.masked)); got != want {
			t.Errorf("%s: lines flagged masked = %d, want %d", tt.line, got, want)
		}
	}
}

// TestClientString checks that text the client chose (username, user
// agent, path) cannot supply the username or address of the record.
func TestClientString(t *testing.T) {
	const ip = "203.0.113.7"
	tests := []struct {
		name      string
		client    string
		user, ip  string
		ua, path  string
		ambiguous bool
	}{
		{
			name:   "plain",
			client: `{username: "alice", ip_address: "203.0.113.7", user_agent: "curl/8", path_info: "/login/"}`,
			user:   "alice", ip: ip, ua: "curl/8", path: "/login/",
		},
		{
			name:   "user agent repeats username and ip_address",
			client: `{username: "alice", ip_address: "203.0.113.7", user_agent: "curl/8", username: "bob", ip_address: "198.51.100.1", path_info: "/login/"}`,
			user:   "alice", ua: "curl/8", path: "/login/", ambiguous: true,
		},
		{
			name:   "user agent repeats username only",
			client: `{username: "alice", ip_address: "203.0.113.7", user_agent: "curl/8", username: "bob", path_info: "/login/"}`,
			user:   "alice", ip: ip, ua: "curl/8", path: "/login/",
		},
		{
			name:   "user agent repeats the whole client string",
			client: `{username: "alice", ip_address: "203.0.113.7", user_agent: "x", path_info: "/", username: "bob", ip_address: "198.51.100.1", user_agent: "y", path_info: "/login/"}`,
			user:   "alice", ua: "x", path: `/", username: "bob", ip_address: "198.51.100.1", user_agent: "y", path_info: "/login/`, ambiguous: true,
		},
		{
			name:   "username adds ip_address",
			client: `{username: "x", ip_address: "198.51.100.1", user_agent: "", ip_address: "203.0.113.7", user_agent: "curl/8", path_info: "/login/"}`,
			user:   "x", path: "/login/", ambiguous: true,
		},
		{
			name:   "username adds path_info",
			client: `{username: "x", path_info: "/", ip_address: "203.0.113.7", user_agent: "curl/8", path_info: "/login/"}`,
			user:   "x", path: `/", ip_address: "203.0.113.7", user_agent: "curl/8", path_info: "/login/`, ambiguous: true,
		},
		{
			name:   "username holds a key that cannot end it",
			client: `{username: "say "hi", ip_address: "x", ip_address: "203.0.113.7", user_agent: "ua, with: comma", path_info: "/login/"}`,
			user:   `say "hi", ip_address: "x`, ip: ip, ua: "ua, with: comma", path: "/login/",
		},
		{
			name:   "username holds a quoted ip_address",
			client: `{username: "a", ip_address: "1"2", ip_address: "203.0.113.7", user_agent: "", path_info: "/login/"}`,
			user:   `a", ip_address: "1"2`, ip: ip, path: "/login/",
		},
		{
			name:   "path adds username and ip_address",
			client: `{username: "alice", ip_address: "203.0.113.7", user_agent: "curl/8", path_info: "/login/", username: "bob", ip_address: "198.51.100.1"}`,
			user:   "alice", ua: "curl/8", path: `/login/", username: "bob", ip_address: "198.51.100.1`, ambiguous: true,
		},
		{
			name:   "user agent adds path_info",
			client: `{username: "alice", ip_address: "203.0.113.7", user_agent: "curl/8", path_info: "/x", path_info: "/login/"}`,
			user:   "alice", ip: ip, ua: "curl/8", path: `/x", path_info: "/login/`,
		},
		{
			name:   "leading ip_address, path adds both",
			client: `{ip_address: "203.0.113.7", username: "alice", path_info: "/login/", username: "bob", ip_address: "198.51.100.1"}`,
			user:   "alice", ip: ip, path: `/login/", username: "bob", ip_address: "198.51.100.1`,
		},
		{
			name:   "leading ip_address, user agent before the username adds one",
			client: `{ip_address: "203.0.113.7", user_agent: "x", username: "bob", username: "alice", path_info: "/login/"}`,
			ip:     ip, ua: "x", path: "/login/", ambiguous: true,
		},
		{
			name:   "user agent before the username",
			client: `{ip_address: "203.0.113.7", user_agent: "x", username: "alice", path_info: "/login/"}`,
			user:   "alice", ip: ip, ua: "x", path: "/login/",
		},
		{
			name:   "only path_info, which adds username and ip_address",
			client: `{path_info: "/login/", username: "bob", ip_address: "198.51.100.1"}`,
			path:   `/login/", username: "bob", ip_address: "198.51.100.1`, ambiguous: true,
		},
		{
			name:   "a key of a later axes version",
			client: `{username: "alice", ip_address: "203.0.113.7", http_accept: "text/html", user_agent: "curl/8", path_info: "/login/"}`,
			user:   "alice", ip: ip, ua: "curl/8", path: "/login/",
		},
		{
			name:   "non-verbose: username and path_info",
			client: `{username: "alice", path_info: "/login/"}`,
			user:   "alice", path: "/login/",
		},
		{
			name:   "empty values",
			client: `{username: "", ip_address: "", user_agent: "", path_info: ""}`,
		},
		{
			name:   "user agent starting with a separator",
			client: `{username: "alice", ip_address: "203.0.113.7", user_agent: ", x", path_info: "/login/"}`,
			user:   "alice", ip: ip, ua: ", x", path: "/login/",
		},
	}
	for _, tt := range tests {
		for _, prefix := range []string{"", readmePrefix} {
			f, err := New(prefix)
			if err != nil {
				t.Fatal(err)
			}
			var (
				r     event.Record
				flags ingest.Flagged
			)
			line := `AXES: New login failure by ` + tt.client + `. Created new record in the database.`
			if prefix != "" {
				line = `WARNING  [2026-12-04 09:00:01,234] [6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a] axes.handlers.database: ` + line
			}
			p := f.NewParser()
			ingest.CountFlags(p, &flags)
			if err := p.Parse([]byte(line), &r); err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			for _, c := range []struct {
				fld  event.Field
				want string
			}{{event.UserName, tt.user}, {event.SourceIP, tt.ip}, {event.UserAgent, tt.ua}, {event.URLPath, tt.path}} {
				if got := string(r.Get(c.fld)); got != c.want {
					t.Errorf("%s: %s = %q, want %q", tt.name, c.fld, got, c.want)
				}
			}
			if got, want := flags.Load(ingest.FlagAmbiguous), int64(b2i(tt.ambiguous)); got != want {
				t.Errorf("%s: lines flagged ambiguous = %d, want %d", tt.name, got, want)
			}
		}
	}
}

// hostileLine is an axes line whose username, user agent and path repeat
// unit to about n bytes each.
func hostileLine(unit string, n int) string {
	v := strings.Repeat(unit, n/len(unit))
	return `WARNING  [2026-12-04 09:00:01,234] [6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a] axes.handlers.database: AXES: New login failure by {username: "` +
		v + `", ip_address: "203.0.113.7", user_agent: "` + v + `", path_info: "/accounts/login/` + v + `"}. Created new record in the database.`
}

var hostileUnits = []string{
	`", `,
	`", a: "`,
	`", ip_address: "`,
	`", ip_address: "1", user_agent: "`,
	`", username: "`,
	`", path_info: "`,
	`"`,
	`: "`,
	`", ` + strings.Repeat("a", 64),
}

// TestLinearWork checks, by counting the bytes the client string's scans
// look at, that reading it costs a bounded number of steps per byte
// whatever its values hold.
func TestLinearWork(t *testing.T) {
	f, err := New(readmePrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, unit := range hostileUnits {
		for _, n := range []int{1 << 10, 1 << 14, 1 << 20} {
			line := hostileLine(unit, n)
			p := f.NewParser().(*Parser)
			var r event.Record
			if err := p.Parse([]byte(line), &r); err != nil {
				t.Errorf("%q × %d: %v", unit, n, err)
				continue
			}
			if p.work > 3*len(line) {
				t.Errorf("%q × %d: %d steps for a %d-byte line, want at most 3 per byte", unit, n, p.work, len(line))
			}
		}
	}
}

// injectedLayouts are orders in which axes writes the client string's keys.
var injectedLayouts = [][]string{
	{"username", "ip_address", "user_agent", "path_info"},
	{"username", "ip_address", "path_info"},
	{"ip_address", "username", "path_info"},
	{"ip_address", "username", "user_agent", "path_info"},
	{"username", "path_info"},
}

// checkInjected writes the client string of layout keys as axes does, from
// a typed username, user agent and path and the address 203.0.113.7, and
// checks that the record's username is a prefix of the typed one (all of
// it when it holds no `", `) and that its address is the real one or empty.
func checkInjected(t *testing.T, p ingest.Parser, keys []string, user, ua, path string) {
	t.Helper()
	const ip = "203.0.113.7"
	vals := map[string]string{"username": user, "ip_address": ip, "user_agent": ua, "path_info": path}
	var b strings.Builder
	b.WriteString("AXES: New login failure by {")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: \"%s\"", k, vals[k])
	}
	b.WriteString("}. Created new record in the database.")
	line := b.String()
	var r event.Record
	if err := p.Parse([]byte(line), &r); err != nil {
		t.Errorf("%s: %v", line, err)
		return
	}
	got := string(r.Get(event.UserName))
	if !strings.HasPrefix(user, got) && user != "None" && user != Masked {
		t.Errorf("%s: user.name = %q, not a prefix of the typed %q", line, got, user)
	}
	if !strings.Contains(user, `", `) && got != user && user != "None" && user != Masked && user != "" {
		t.Errorf("%s: user.name = %q, want %q", line, got, user)
	}
	got = string(r.Get(event.SourceIP))
	switch {
	case !slices.Contains(keys, "ip_address"):
		// Without an address in the layout, a typed username can write
		// one, as the layout with one would.
		if got != "" && !strings.Contains(user, `", ip_address: "`+got) {
			t.Errorf("%s: source.ip = %q, want empty", line, got)
		}
	case got != ip && got != "":
		t.Errorf("%s: source.ip = %q, want %q or empty", line, got, ip)
	}
}

// TestInjectedValues checks checkInjected's properties for typed values
// holding pieces of client strings.
func TestInjectedValues(t *testing.T) {
	pieces := []string{
		"", "alice", `"`, `", `, `: "`, `", username: "bob`, `", ip_address: "198.51.100.1`,
		`", ip_address: "198.51.100.1", user_agent: "`, `", user_agent: "x`, `", path_info: "/x`,
		`", username: "bob", ip_address: "198.51.100.1`, `", ip_address: "********************`, `", http_accept: "*/*`,
	}
	f, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	p := f.NewParser()
	for _, keys := range injectedLayouts {
		for _, u := range pieces {
			for _, a := range pieces {
				checkInjected(t, p, keys, "carol"+u, "ua"+a, "/login/"+a)
			}
		}
	}
}

func FuzzInjectedValues(f *testing.F) {
	f.Add(uint8(0), "alice", `curl/8", username: "bob", ip_address: "198.51.100.1`, "/login/")
	f.Add(uint8(0), `x", ip_address: "1.2.3.4", user_agent: "`, "curl/8", "/login/")
	f.Add(uint8(2), "alice", "", `/login/", username: "bob", ip_address: "198.51.100.1`)
	f.Add(uint8(3), "alice", `x", username: "bob`, "/")
	fm, err := New("")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, layout uint8, user, ua, path string) {
		if strings.ContainsAny(user+ua+path, "\n}") {
			t.Skip() // one line; the client string ends at the last "}"
		}
		checkInjected(t, fm.NewParser(), injectedLayouts[int(layout)%len(injectedLayouts)], user, ua, path)
	})
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
	var flags ingest.Flagged
	p := f.NewParser()
	ingest.CountFlags(p, &flags)
	out := skimtest.ParseFile(t, p, filepath.Join("testdata", "axes.log"))
	out = fmt.Appendf(out, "lines flagged masked: %d\nlines flagged ambiguous: %d\n", flags.Load(ingest.FlagMasked), flags.Load(ingest.FlagAmbiguous))
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
	f.Add(`AXES: New login failure by {username: "alice", ip_address: "203.0.113.7", user_agent: "curl/8", username: "bob", ip_address: "198.51.100.1", path_info: "/"}.`)
	f.Add(`AXES: New login failure by {username: "x", ip_address: "1.2.3.4", user_agent: "", ip_address: "203.0.113.7", user_agent: "", path_info: "/"}.`)
	f.Add(`AXES: Locking out {ip_address: "1", user_agent: "x", username: "a", username: "b", path_info: "/", ip_address: "2"}`)
	f.Add(`AXES: Locking out {path_info: "/", username: "b", ip_address: "2"}`)
	f.Add(`Dec  4 09:00:01 web1 gunicorn[812]: Not Found: /AXES: New login failure by {username: "victim", ip_address: "192.0.2.66", user_agent: "x", path_info: "/"}`)
	f.Add(`<12>Dec  4 09:00:01 gunicorn[812]: Not Found: /AXES: New login failure by {username: "victim", ip_address: "192.0.2.66", user_agent: "x", path_info: "/"}`)
	f.Add(`<12>AXES: New login failure by {username: "bob", ip_address: "10.1.2.3", user_agent: "x", path_info: "/login/"}.`)
	f.Add(`WARNING:axes.handlers.cache:AXES: Locking out {ip_address: "1"}`)
	for _, unit := range hostileUnits {
		f.Add(hostileLine(unit, 64))
	}
	raw, _ := New("")
	pre, _ := New(readmePrefix)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	formats := []ingest.Format{raw, pre, raw.InZone(berlin), pre.InZone(berlin)}
	f.Fuzz(func(t *testing.T, line string) {
		for _, fm := range formats {
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

// BenchmarkParseHostile reads lines whose username, user agent and path
// repeat a separator-like unit: an 8 KB user agent (gunicorn's header
// limit) and a 256 KB line (the default --max-line-bytes).
func BenchmarkParseHostile(b *testing.B) {
	f, err := New(readmePrefix)
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []struct {
		name string
		n    int
	}{{"8KB", 8 << 10}, {"256KB", 256 << 10 / 3}} {
		for _, unit := range []struct{ name, unit string }{{"separators", `", `}, {"candidates", `", ip_address: "1", user_agent: "`}} {
			b.Run(unit.name+"/"+size.name, func(b *testing.B) {
				skimtest.BenchAny(b, f.NewParser(), hostileLine(unit.unit, size.n))
			})
		}
	}
}

func BenchmarkParse(b *testing.B) {
	f, err := New(readmePrefix)
	if err != nil {
		b.Fatal(err)
	}
	skimtest.BenchAny(b, f.NewParser(), `WARNING  [2026-12-04 09:00:01,234] [6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a] axes.handlers.database: AXES: New login failure by {username: "alice", ip_address: "203.0.113.7", user_agent: "python-requests/2.32.3", path_info: "/accounts/login/"}. Created new record in the database.`)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
