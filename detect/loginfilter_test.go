package detect

import (
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// TestLoginFilterDecodes checks that the filter reads the path as the
// application does, percent-decoded once, so that an encoded login path
// is a login attempt.
func TestLoginFilterDecodes(t *testing.T) {
	l := NewLoginFilter(CorrelatorConfig{LoginPaths: []string{"/accounts/login/", "auth"}})
	tests := []struct {
		path string
		want bool
	}{
		{"/accounts/login/", true},
		{"/accounts/logout/", false},
		{"/accounts/%6Cogin/", true},
		{"/accounts/%6cogin/", true},
		{"/accounts/%6C%6F%67%69%6E/", true},
		{"/accounts/%6c%6F%67%69%6e/", true},
		{"%2Faccounts%2Flogin%2F", true},
		{"/accounts%2flogin%2F?next=/", true},
		{"/%61ccounts/login/", true},
		{"/accounts/login%2F", true},
		{"/api/%61uth", true},
		{"/api/%61ut%68", true},
		{"/accounts/%256Cogin/", false}, // decoded once: %6Cogin
		{"/accounts/%6Gogin/", false},   // not an escape: kept as it is
		{"/accounts/%login/", false},
		{"/x/%auth", true}, // a lone '%' before the path
		{"/accounts/login/%", true},
		{"/accounts/login/%4", true},
		{"/accounts/log%", false},
		{"/accounts/log%6", false},
		{"/accounts/log%zzin/", false},
		{"%", false},
		{"%%%", false},
		{"/au%74h", true},
		{"/AUTH", false}, // paths match case-sensitively, as Django's do
		{"/accounts/%4Cogin/", false},
	}
	for _, tt := range tests {
		r := &event.Record{Kind: event.Proxy}
		r.Values[event.Method] = []byte("POST")
		r.Values[event.URLPath] = []byte(tt.path)
		if got := l.Login(r); got != tt.want {
			t.Errorf("Login(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// TestLoginFilterAllocs checks that the filter allocates nothing, encoded
// path or not.
func TestLoginFilterAllocs(t *testing.T) {
	l := NewLoginFilter(CorrelatorConfig{})
	for _, path := range []string{"/accounts/login/", "/accounts/%6Cogin/", "/static/%41pp.js"} {
		r := &event.Record{Kind: event.Proxy}
		r.Values[event.Method] = []byte("POST")
		r.Values[event.URLPath] = []byte(path)
		if n := testing.AllocsPerRun(100, func() { l.Login(r) }); n != 0 {
			t.Errorf("Login(%q): %v allocations, want 0", path, n)
		}
	}
}

// TestLoginFilterFull checks which proxy records the correlator needs in
// full: the login attempts, and the records off the login paths sent with
// a login method, which it holds; a record that logged no method is needed
// only on a login path.
func TestLoginFilterFull(t *testing.T) {
	l := NewLoginFilter(CorrelatorConfig{})
	tests := []struct {
		method, path string
		login, full  bool
	}{
		{"POST", "/accounts/login/", true, true},
		{"post", "/accounts/login/", true, true},
		{"POST", "/api/token/", false, true},
		{"GET", "/accounts/login/", false, false},
		{"GET", "/api/token/", false, false},
		{"PUT", "/api/token/", false, false},
		{"", "/accounts/login/", true, true},
		{"", "/api/token/", false, false},
		{"POS", "/api/token/", false, false},
	}
	for _, tt := range tests {
		r := &event.Record{Kind: event.Proxy}
		if tt.method != "" {
			r.Values[event.Method] = []byte(tt.method)
		}
		r.Values[event.URLPath] = []byte(tt.path)
		if got := l.Login(r); got != tt.login {
			t.Errorf("Login(%s %s) = %v, want %v", tt.method, tt.path, got, tt.login)
		}
		if got := l.Full(r); got != tt.full {
			t.Errorf("Full(%s %s) = %v, want %v", tt.method, tt.path, got, tt.full)
		}
	}
}
