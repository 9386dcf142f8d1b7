package detect

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
)

// rec builds a record; fields are name=value pairs with ECS names.
func rec(kind event.Kind, sec float64, kv ...string) *event.Record {
	r := &event.Record{Kind: kind, Time: int64(sec * float64(time.Second))}
	for i := 0; i+1 < len(kv); i += 2 {
		f, ok := event.LookupField(kv[i])
		if !ok {
			panic("unknown field " + kv[i])
		}
		r.Values[f] = []byte(kv[i+1])
	}
	return r
}

func appRec(sec float64, rid, user, outcome string) *event.Record {
	return rec(event.App, sec, "http.request.id", rid, "user.name", user, "event.outcome", outcome, "source.ip", "10.9.9.9")
}

func proxyRec(sec float64, rid, path, sha1 string) *event.Record {
	return rec(event.Proxy, sec, "http.request.id", rid, "url.path", path, "tls.client.hash.sha1", sha1, "source.ip", "203.0.113.7")
}

// appFrom is appRec of a failure from the client at ip.
func appFrom(sec float64, rid, user, ip string) *event.Record {
	r := appRec(sec, rid, user, "failure")
	r.Values[event.SourceIP] = []byte(ip)
	return r
}

// postRec is proxyRec of a POST.
func postRec(sec float64, rid, path, sha1 string) *event.Record {
	r := proxyRec(sec, rid, path, sha1)
	r.Values[event.Method] = []byte("POST")
	return r
}

// got summarises an emitted event for comparison.
func got(e *event.Event) string {
	return fmt.Sprintf("%s rid=%s user=%s ip=%s id=%s t=%g", e.Get(event.Join), e.Get(event.RequestID),
		e.Get(event.UserName), e.Get(event.SourceIP), e.Get(event.Identity), float64(e.Time)/1e9)
}

func TestCorrelator(t *testing.T) {
	tests := []struct {
		name  string
		cfg   CorrelatorConfig
		recs  []*event.Record
		flush bool
		want  []string
		check func(t *testing.T, s *JoinStats)
	}{
		{
			name: "app first then proxy joins, proxy ip and app time win",
			recs: []*event.Record{appRec(1.2, "a1", "alice", "failure"), proxyRec(2, "a1", "/accounts/login/", "ab")},
			want: []string{"matched rid=a1 user=alice ip=203.0.113.7 id=sha1:ab t=1.2"},
		},
		{
			name: "proxy first then app joins",
			recs: []*event.Record{proxyRec(1, "a1", "/accounts/login/", "ab"), appRec(1.5, "a1", "bob", "success")},
			want: []string{"matched rid=a1 user=bob ip=203.0.113.7 id=sha1:ab t=1.5"},
		},
		{
			name:  "proxy first on a non-login path is not held",
			recs:  []*event.Record{proxyRec(1, "a1", "/static/app.js", "ab"), appRec(1.5, "a1", "bob", "success")},
			flush: true,
			want:  []string{"app_only rid=a1 user=bob ip=10.9.9.9 id= t=1.5"},
			check: func(t *testing.T, s *JoinStats) {
				if s.Unrelated.Load() != 1 {
					t.Errorf("unrelated = %d, want 1", s.Unrelated.Load())
				}
			},
		},
		{
			name: "a POST off the login paths is held for an app record after it",
			recs: []*event.Record{postRec(1, "t1", "/api/token/", "ab"), appRec(1.5, "t1", "bob", "failure"),
				postRec(2, "t2", "/api/v1/events/", "ab"), rec(event.Proxy, 3, "http.request.id", "t3", "url.path", "/api/token/", "http.request.method", "GET")},
			flush: true,
			want:  []string{"matched rid=t1 user=bob ip=203.0.113.7 id=sha1:ab t=1.5"},
			check: func(t *testing.T, s *JoinStats) {
				// The POST that nothing joined and the GET, which is not
				// held, are unrelated; neither is an event.
				if s.Unrelated.Load() != 2 || s.ProxyOnly.Load() != 0 || s.Pending.Load() != 0 {
					t.Errorf("unrelated, proxy_only, pending = %d, %d, %d; want 2, 0, 0", s.Unrelated.Load(), s.ProxyOnly.Load(), s.Pending.Load())
				}
			},
		},
		{
			name: "a held POST is joined by every attempt of its request within the join window",
			cfg:  CorrelatorConfig{JoinWindow: 10 * time.Second},
			recs: []*event.Record{postRec(1, "q", "/graphql", "ab"), appRec(1.2, "q", "u1", "failure"), appRec(1.3, "q", "u2", "failure"),
				postRec(2, "x", "/graphql", "ab"), appRec(12.5, "x", "late", "failure")},
			flush: true,
			want: []string{"matched rid=q user=u1 ip=203.0.113.7 id=sha1:ab t=1.2", "matched rid=q user=u2 ip=203.0.113.7 id=sha1:ab t=1.3",
				"app_only rid=x user=late ip=10.9.9.9 id= t=12.5"},
			check: func(t *testing.T, s *JoinStats) {
				if s.Duplicates.Load() != 1 || s.Unrelated.Load() != 1 {
					t.Errorf("duplicates, unrelated = %d, %d; want 1, 1", s.Duplicates.Load(), s.Unrelated.Load())
				}
			},
		},
		{
			name: "held records past the cap are dropped oldest first and counted as unrelated",
			cfg:  CorrelatorConfig{MaxPending: 1},
			recs: []*event.Record{postRec(1, "h1", "/api/token/", "ab"), postRec(2, "h2", "/api/token/", "cd"), appRec(2.5, "h1", "u1", "failure"),
				appRec(2.6, "h2", "u2", "failure")},
			flush: true,
			want:  []string{"matched rid=h2 user=u2 ip=203.0.113.7 id=sha1:cd t=2.6", "app_only rid=h1 user=u1 ip=10.9.9.9 id= t=2.5"},
			check: func(t *testing.T, s *JoinStats) {
				if s.Unrelated.Load() != 1 || s.Evicted.Load() != 0 {
					t.Errorf("unrelated, evicted = %d, %d; want 1, 0", s.Unrelated.Load(), s.Evicted.Load())
				}
			},
		},
		{
			name: "app record without partner becomes app_only after the join window",
			cfg:  CorrelatorConfig{JoinWindow: 10 * time.Second},
			recs: []*event.Record{appRec(1, "a1", "carol", "failure"), proxyRec(5, "zz", "/", "ab"), proxyRec(12, "zz2", "/", "ab")},
			want: []string{"app_only rid=a1 user=carol ip=10.9.9.9 id= t=1"},
		},
		{
			name: "app record waits exactly the join window",
			cfg:  CorrelatorConfig{JoinWindow: 10 * time.Second},
			recs: []*event.Record{appRec(1, "a1", "carol", "failure"), proxyRec(11, "a1", "/accounts/login/", "ab")},
			want: []string{"matched rid=a1 user=carol ip=203.0.113.7 id=sha1:ab t=1"},
		},
		{
			name:  "login proxy record without app record becomes proxy_only",
			recs:  []*event.Record{proxyRec(1, "p1", "/accounts/login/", "ab")},
			flush: true,
			want:  []string{"proxy_only rid=p1 user= ip=203.0.113.7 id=sha1:ab t=1"},
		},
		{
			name:  "a GET of the login page is not a login attempt",
			recs:  []*event.Record{rec(event.Proxy, 1, "http.request.id", "g1", "url.path", "/accounts/login/", "http.request.method", "GET")},
			flush: true,
			want:  nil,
		},
		{
			name:  "a POST to the login page is",
			recs:  []*event.Record{rec(event.Proxy, 1, "http.request.id", "g1", "url.path", "/accounts/login/", "http.request.method", "post")},
			flush: true,
			want:  []string{"proxy_only rid=g1 user= ip= id= t=1"},
		},
		{
			name: "records without request id are emitted at once",
			recs: []*event.Record{appRec(1, "", "dave", "failure"), proxyRec(2, "", "/accounts/login/", "ab"), proxyRec(3, "", "/", "ab")},
			want: []string{"app_only rid= user=dave ip=10.9.9.9 id= t=1", "proxy_only rid= user= ip=203.0.113.7 id=sha1:ab t=2"},
		},
		{
			name: "app records of one request all join its proxy record, oldest first",
			recs: []*event.Record{appRec(1, "d", "u1", "failure"), appRec(1, "x", "other", "failure"), appRec(2, "d", "u2", "failure"),
				appRec(2, "d", "u2", "failure"), proxyRec(3, "d", "/graphql", "ab")},
			flush: true,
			want: []string{"matched rid=d user=u1 ip=203.0.113.7 id=sha1:ab t=1", "matched rid=d user=u2 ip=203.0.113.7 id=sha1:ab t=2",
				"matched rid=d user=u2 ip=203.0.113.7 id=sha1:ab t=2", "app_only rid=x user=other ip=10.9.9.9 id= t=1"},
			check: func(t *testing.T, s *JoinStats) {
				if s.Duplicates.Load() != 2 || s.Matched.Load() != 3 || s.Pending.Load() != 0 {
					t.Errorf("duplicates, matched, pending = %d, %d, %d; want 2, 3, 0", s.Duplicates.Load(), s.Matched.Load(), s.Pending.Load())
				}
			},
		},
		{
			name: "of app records waiting under one request id, those of the newest's client join",
			recs: []*event.Record{appFrom(1, "d", "u1", "192.0.2.1"), appFrom(2, "d", "u2", "192.0.2.2"), appFrom(3, "d", "u3", "192.0.2.2"),
				proxyRec(4, "d", "/accounts/login/", "ab")},
			want: []string{"app_only rid=d user=u1 ip=192.0.2.1 id= t=1", "matched rid=d user=u2 ip=203.0.113.7 id=sha1:ab t=2",
				"matched rid=d user=u3 ip=203.0.113.7 id=sha1:ab t=3"},
			check: func(t *testing.T, s *JoinStats) {
				if s.Duplicates.Load() != 2 || s.Pending.Load() != 0 {
					t.Errorf("duplicates, pending = %d, %d; want 2, 0", s.Duplicates.Load(), s.Pending.Load())
				}
			},
		},
		{
			name: "an app record from another client does not join a proxy record that has joined",
			recs: []*event.Record{proxyRec(1, "g", "/accounts/login/", "ab"), appFrom(1.5, "g", "u1", "192.0.2.1"),
				appFrom(2, "g", "u2", "192.0.2.2"), appFrom(2.5, "g", "u3", "192.0.2.1")},
			flush: true,
			want: []string{"matched rid=g user=u1 ip=203.0.113.7 id=sha1:ab t=1.5", "matched rid=g user=u3 ip=203.0.113.7 id=sha1:ab t=2.5",
				"app_only rid=g user=u2 ip=192.0.2.2 id= t=2"},
		},
		{
			name: "app records from another client under a joined request id are each one duplicate",
			recs: []*event.Record{proxyRec(1, "g", "/accounts/login/", "ab"), appFrom(1.5, "g", "u1", "192.0.2.1"),
				appFrom(2, "g", "u2", "192.0.2.2"), appFrom(2.5, "g", "u3", "192.0.2.2")},
			flush: true,
			want: []string{"matched rid=g user=u1 ip=203.0.113.7 id=sha1:ab t=1.5", "app_only rid=g user=u2 ip=192.0.2.2 id= t=2",
				"app_only rid=g user=u3 ip=192.0.2.2 id= t=2.5"},
			check: func(t *testing.T, s *JoinStats) {
				if s.Duplicates.Load() != 2 {
					t.Errorf("duplicates = %d, want 2", s.Duplicates.Load())
				}
			},
		},
		{
			name: "so is one that pushes out the one of its id waiting",
			cfg:  CorrelatorConfig{MaxPending: 1},
			recs: []*event.Record{proxyRec(1, "g", "/accounts/login/", "ab"), appFrom(1.5, "g", "u1", "192.0.2.1"),
				appFrom(2, "g", "u2", "192.0.2.2"), appFrom(2.5, "g", "u3", "192.0.2.2")},
			flush: true,
			want: []string{"matched rid=g user=u1 ip=203.0.113.7 id=sha1:ab t=1.5", "evicted rid=g user=u2 ip=192.0.2.2 id= t=2",
				"app_only rid=g user=u3 ip=192.0.2.2 id= t=2.5"},
			check: func(t *testing.T, s *JoinStats) {
				if s.Duplicates.Load() != 2 {
					t.Errorf("duplicates = %d, want 2", s.Duplicates.Load())
				}
			},
		},
		{
			name: "app records within the second of a proxy record in whole seconds that came after others join it",
			recs: []*event.Record{appRec(1.5, "w", "u1", "failure"), postRec(2, "w", "/graphql", "ab"), appRec(2.5, "w", "u2", "failure"),
				appRec(2.9, "w", "u3", "failure"), appRec(3.2, "w", "u4", "failure"), proxyRec(3.5, "w", "/accounts/login/", "cd")},
			flush: true,
			// u4, past the second, is another request under the id: it
			// joins the next proxy record.
			want: []string{"matched rid=w user=u1 ip=203.0.113.7 id=sha1:ab t=1.5", "matched rid=w user=u2 ip=203.0.113.7 id=sha1:ab t=2.5",
				"matched rid=w user=u3 ip=203.0.113.7 id=sha1:ab t=2.9", "matched rid=w user=u4 ip=203.0.113.7 id=sha1:cd t=3.2"},
		},
		{
			name: "app records after their proxy record all join it within the join window",
			cfg:  CorrelatorConfig{JoinWindow: 10 * time.Second},
			recs: []*event.Record{proxyRec(1, "b", "/accounts/login/", "ab"), appRec(1.5, "b", "u1", "failure"), appRec(2, "b", "u2", "failure"),
				appRec(11, "b", "u3", "failure"), appRec(11.5, "b", "u4", "failure")},
			flush: true,
			want: []string{"matched rid=b user=u1 ip=203.0.113.7 id=sha1:ab t=1.5", "matched rid=b user=u2 ip=203.0.113.7 id=sha1:ab t=2",
				"matched rid=b user=u3 ip=203.0.113.7 id=sha1:ab t=11", "app_only rid=b user=u4 ip=10.9.9.9 id= t=11.5"},
			check: func(t *testing.T, s *JoinStats) {
				// No proxy_only: the proxy record joined.
				if s.Duplicates.Load() != 2 || s.ProxyOnly.Load() != 0 || s.Pending.Load() != 0 {
					t.Errorf("duplicates, proxy_only, pending = %d, %d, %d; want 2, 0, 0", s.Duplicates.Load(), s.ProxyOnly.Load(), s.Pending.Load())
				}
			},
		},
		{
			name: "the oldest app record of a request expires alone, the others still join",
			cfg:  CorrelatorConfig{JoinWindow: 10 * time.Second},
			recs: []*event.Record{appRec(1, "c", "u1", "failure"), appRec(5, "c", "u2", "failure"), appRec(6, "c", "u3", "failure"),
				proxyRec(12, "c", "/accounts/login/", "ab")},
			want: []string{"app_only rid=c user=u1 ip=10.9.9.9 id= t=1", "matched rid=c user=u2 ip=203.0.113.7 id=sha1:ab t=5",
				"matched rid=c user=u3 ip=203.0.113.7 id=sha1:ab t=6"},
		},
		{
			name: "a full app side evicts the oldest app record of a request alone",
			cfg:  CorrelatorConfig{MaxPending: 2},
			recs: []*event.Record{appRec(1, "e", "u1", "failure"), appRec(2, "e", "u2", "failure"), appRec(3, "f", "u3", "failure"),
				proxyRec(4, "e", "/accounts/login/", "ab")},
			want: []string{"evicted rid=e user=u1 ip=10.9.9.9 id= t=1", "matched rid=e user=u2 ip=203.0.113.7 id=sha1:ab t=2"},
			check: func(t *testing.T, s *JoinStats) {
				if s.Evicted.Load() != 1 || s.Pending.Load() != 1 {
					t.Errorf("evicted = %d, pending = %d; want 1, 1", s.Evicted.Load(), s.Pending.Load())
				}
			},
		},
		{
			name: "proxy records kept for more attempts take no room from those waiting",
			cfg:  CorrelatorConfig{MaxPending: 1},
			recs: []*event.Record{proxyRec(1, "g", "/accounts/login/", "ab"), appRec(1.5, "g", "u1", "failure"),
				proxyRec(2, "h", "/accounts/login/", "cd"), appRec(2.5, "h", "u2", "failure"), appRec(3, "g", "u3", "failure"),
				appRec(3.5, "h", "u4", "failure")},
			flush: true,
			// The side of joined records keeps one: h's, the newest. g's
			// third attempt finds no proxy record.
			want: []string{"matched rid=g user=u1 ip=203.0.113.7 id=sha1:ab t=1.5", "matched rid=h user=u2 ip=203.0.113.7 id=sha1:cd t=2.5",
				"matched rid=h user=u4 ip=203.0.113.7 id=sha1:cd t=3.5", "app_only rid=g user=u3 ip=10.9.9.9 id= t=3"},
			check: func(t *testing.T, s *JoinStats) {
				if s.Evicted.Load() != 0 {
					t.Errorf("evicted = %d, want 0", s.Evicted.Load())
				}
			},
		},
		{
			name: "a request id reused by a later request joins each pair in turn, proxy first",
			recs: []*event.Record{proxyRec(1, "r", "/accounts/login/", "ab"), appRec(1.1, "r", "u1", "failure"),
				proxyRec(2, "r", "/accounts/login/", "cd"), appRec(2.1, "r", "u2", "failure")},
			flush: true,
			want:  []string{"matched rid=r user=u1 ip=203.0.113.7 id=sha1:ab t=1.1", "matched rid=r user=u2 ip=203.0.113.7 id=sha1:cd t=2.1"},
		},
		{
			name: "a reused request id joins each pair in turn",
			recs: []*event.Record{appRec(1, "r", "u1", "failure"), proxyRec(1.1, "r", "/accounts/login/", "ab"), appRec(2, "r", "u2", "failure"), proxyRec(2.1, "r", "/accounts/login/", "cd")},
			want: []string{"matched rid=r user=u1 ip=203.0.113.7 id=sha1:ab t=1", "matched rid=r user=u2 ip=203.0.113.7 id=sha1:cd t=2"},
		},
		{
			name: "a full buffer evicts the oldest app record as an evicted event",
			cfg:  CorrelatorConfig{MaxPending: 2},
			recs: []*event.Record{appRec(1, "a", "u1", "failure"), appRec(2, "b", "u2", "failure"), appRec(3, "c", "u3", "failure")},
			want: []string{"evicted rid=a user=u1 ip=10.9.9.9 id= t=1"},
			check: func(t *testing.T, s *JoinStats) {
				if s.Evicted.Load() != 1 || s.Pending.Load() != 2 {
					t.Errorf("evicted = %d, pending = %d; want 1, 2", s.Evicted.Load(), s.Pending.Load())
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out []string
			k, err := NewCorrelator(tt.cfg, func(e *event.Event) { out = append(out, got(e)) })
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tt.recs {
				k.Expire(r.Time)
				k.Add(r)
			}
			if tt.flush {
				k.Flush()
			}
			if !reflect.DeepEqual(out, tt.want) {
				t.Errorf("events:\n got %q\nwant %q", out, tt.want)
			}
			if tt.check != nil {
				tt.check(t, k.Stats())
			}
		})
	}
}

// TestCorrelatorHeld checks that JoinStats.Held follows the records held
// through each way in (a POST off the login paths, a proxy record that
// joined, one in whole seconds that came after its app records) and out
// (a reused request id, the cap, Expire, Flush).
func TestCorrelatorHeld(t *testing.T) {
	type step struct {
		r      *event.Record // added, unless nil
		expire float64       // with r nil and flush unset: Expire at this second
		flush  bool
		held   int // records held after the step
	}
	tests := []struct {
		name  string
		cfg   CorrelatorConfig
		steps []step
	}{
		{
			name: "a POST off the login paths, joined, then expired",
			steps: []step{
				{r: postRec(1, "t1", "/api/token/", "ab"), held: 1},
				{r: appRec(1.5, "t1", "bob", "failure"), held: 1},
				{r: appRec(1.6, "t1", "carol", "failure"), held: 1},
				{expire: 60.9, held: 1},
				{expire: 61.1, held: 0},
			},
		},
		{
			name: "a login attempt held once joined, then flushed",
			steps: []step{
				{r: proxyRec(1, "a1", "/accounts/login/", "ab"), held: 0},
				{r: appRec(1.5, "a1", "bob", "failure"), held: 1},
				{r: proxyRec(2, "a2", "/accounts/login/", "cd"), held: 1},
				{r: appRec(2.5, "a2", "carol", "failure"), held: 2},
				{flush: true, held: 0},
			},
		},
		{
			name: "a proxy record in whole seconds after its app records",
			steps: []step{
				{r: appRec(1.2, "s1", "bob", "failure"), held: 0},
				{r: proxyRec(1, "s1", "/accounts/login/", "ab"), held: 1},
				{r: appRec(1.7, "s1", "carol", "failure"), held: 1},
				{expire: 61.5, held: 0},
			},
		},
		{
			name: "a request id held again replaces the earlier record",
			steps: []step{
				{r: postRec(1, "r", "/graphql", "ab"), held: 1},
				{r: postRec(2, "r", "/graphql", "cd"), held: 1},
				{r: postRec(3, "q", "/graphql", "cd"), held: 2},
				{flush: true, held: 0},
			},
		},
		{
			name: "the cap drops the oldest",
			cfg:  CorrelatorConfig{MaxPending: 2},
			steps: []step{
				{r: postRec(1, "h1", "/api/token/", "ab"), held: 1},
				{r: postRec(2, "h2", "/api/token/", "ab"), held: 2},
				{r: postRec(3, "h3", "/api/token/", "ab"), held: 2},
				{r: proxyRec(4, "h4", "/accounts/login/", "ab"), held: 2},
				{r: appRec(4.5, "h4", "bob", "failure"), held: 2},
				{expire: 63.5, held: 1},
				{expire: 100, held: 0},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewCorrelator(tt.cfg, func(*event.Event) {})
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range tt.steps {
				switch {
				case st.r != nil:
					k.Add(st.r)
				case st.flush:
					k.Flush()
				default:
					k.Expire(int64(st.expire * float64(time.Second)))
				}
				if n := k.held.len(); n != st.held {
					t.Fatalf("step %d: %d records held, want %d", i, n, st.held)
				}
				if got := k.Stats().Held.Load(); got != int64(st.held) {
					t.Errorf("step %d: Held = %d with %d records held", i, got, st.held)
				}
			}
		})
	}
}

func TestIdentityPreference(t *testing.T) {
	tests := []struct {
		order []string
		kv    []string
		want  string
	}{
		{DefaultIdentity, []string{"tls.client.hash.sha256", "s2", "tls.client.hash.sha1", "s1"}, "sha256:s2"},
		{DefaultIdentity, []string{"tls.client.hash.sha1", "s1", "tls.client.subject", "CN=x"}, "sha1:s1"},
		{DefaultIdentity, []string{"tls.client.issuer", "CN=ca", "tls.client.x509.serial_number", "0A", "tls.client.subject", "CN=x"}, "serial:CN=ca/0A"},
		{DefaultIdentity, []string{"tls.client.subject", "CN=x"}, "subject:CN=x"},
		{[]string{"subject", "sha1"}, []string{"tls.client.hash.sha1", "s1", "tls.client.subject", "CN=x"}, "subject:CN=x"},
		{[]string{"uri_san"}, []string{"tls.client.x509.alternative_names", "spiffe://example.org/a"}, "uri:spiffe://example.org/a"},
		{DefaultIdentity, nil, ""},
	}
	for _, tt := range tests {
		var id string
		k, err := NewCorrelator(CorrelatorConfig{Identity: tt.order}, func(e *event.Event) { id = e.Get(event.Identity) })
		if err != nil {
			t.Fatal(err)
		}
		kv := append([]string{"user.name", "u"}, tt.kv...)
		k.Add(rec(event.App, 1, kv...))
		if id != tt.want {
			t.Errorf("%v %v: identity %q, want %q", tt.order, tt.kv, id, tt.want)
		}
	}
	if _, err := ParseIdentity([]string{"sha512"}); err == nil {
		t.Error("unknown identity source accepted")
	}
}

// lineCompleter completes partial records whose lines are "path sha1":
// a line without a space is rejected. It counts its calls.
type lineCompleter struct{ calls, rejected int }

func (c *lineCompleter) Complete(r *event.Record) (*event.Record, error) {
	c.calls++
	path, sha1, ok := strings.Cut(string(r.Raw), " ")
	if !ok {
		c.rejected++
		return nil, fmt.Errorf("no space in %q", r.Raw)
	}
	out := &event.Record{Kind: r.Kind, Time: r.Time}
	out.Values[event.RequestID] = r.Values[event.RequestID]
	out.Values[event.URLPath] = []byte(path)
	out.Values[event.TLSSHA1] = []byte(sha1)
	out.Values[event.SourceIP] = []byte("203.0.113.9")
	return out, nil
}

// partialRec is a skimmed proxy record: request id and path, the rest in
// its line.
func partialRec(sec float64, rid, line string, c *lineCompleter) *event.Record {
	r := rec(event.Proxy, sec, "http.request.id", rid)
	path, _, _ := strings.Cut(line, " ")
	r.Values[event.URLPath] = []byte(path)
	r.Raw, r.Rest, r.RawLine = []byte(line), c, 1
	return r
}

func TestCorrelatorPartial(t *testing.T) {
	tests := []struct {
		name             string
		recs             func(c *lineCompleter) []*event.Record
		want             []string
		calls, unrelated int
	}{
		{
			name: "completes a waiting app record",
			recs: func(c *lineCompleter) []*event.Record {
				return []*event.Record{appRec(1, "a", "alice", "failure"), partialRec(2, "a", "/api/x ab", c)}
			},
			want:  []string{"matched rid=a user=alice ip=203.0.113.9 id=sha1:ab t=1"},
			calls: 1,
		},
		{
			name: "not completed when nothing waits",
			recs: func(c *lineCompleter) []*event.Record {
				return []*event.Record{partialRec(1, "b", "/api/x ab", c), partialRec(2, "", "/ ab", c)}
			},
			calls:     0,
			unrelated: 2,
		},
		{
			name: "a rejected completion leaves the app record waiting",
			recs: func(c *lineCompleter) []*event.Record {
				return []*event.Record{appRec(1, "d", "dave", "failure"), partialRec(2, "d", "/api/x", c)}
			},
			want:  []string{"app_only rid=d user=dave ip=10.9.9.9 id= t=1"},
			calls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out []string
			k, err := NewCorrelator(CorrelatorConfig{}, func(e *event.Event) { out = append(out, got(e)) })
			if err != nil {
				t.Fatal(err)
			}
			c := new(lineCompleter)
			for _, r := range tt.recs(c) {
				k.Expire(r.Time)
				k.Add(r)
			}
			k.Flush()
			if !reflect.DeepEqual(out, tt.want) {
				t.Errorf("events:\n got %q\nwant %q", out, tt.want)
			}
			if c.calls != tt.calls || k.Stats().Unrelated.Load() != int64(tt.unrelated) {
				t.Errorf("%d completions, %d unrelated; want %d, %d", c.calls, k.Stats().Unrelated.Load(), tt.calls, tt.unrelated)
			}
		})
	}
}

// TestCorrelatorOwnedRecords: records that own their values (as parse
// workers hand them over) give the same events as records whose values
// the correlator copies, whichever side waits, through duplicates,
// evictions, expiry and the final flush.
func TestCorrelatorOwnedRecords(t *testing.T) {
	recs := func() []*event.Record {
		var out []*event.Record
		for i := 0; i < 40; i++ {
			rid := fmt.Sprintf("r%d", i%9)
			sec := float64(i)
			p := rec(event.Proxy, sec, "http.request.id", rid, "url.path", "/accounts/login/", "http.request.method", "POST",
				"tls.client.hash.sha1", fmt.Sprintf("%040d", i%3), "source.ip", "203.0.113.7", "tls.client.certificate", "PEM",
				"user_agent.original", strings.Repeat("ua", 80))
			a := rec(event.App, sec+0.5, "http.request.id", rid, "user.name", fmt.Sprintf("user%d", i), "event.outcome", "failure",
				"source.ip", "10.9.9.9", "tls.client.subject", "CN=app")
			if i%4 == 1 {
				p.Time, a.Time = a.Time, p.Time // the app record first
			}
			if i%7 == 3 {
				p.Values[event.RequestID] = nil // emitted at once
			}
			switch {
			case i%5 == 2: // no partner: the app record waits
				out = append(out, a)
			case i%5 == 4: // nor here: the proxy record
				out = append(out, p)
			case p.Time <= a.Time:
				out = append(out, p, a)
			default:
				out = append(out, a, p)
			}
		}
		return out
	}
	run := func(own bool) ([]string, string) {
		var evs []string
		k, err := NewCorrelator(CorrelatorConfig{MaxPending: 3, JoinWindow: 20 * time.Second}, func(e *event.Event) {
			evs = append(evs, fmt.Sprint(e.Time, e.Values))
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs() {
			if own {
				r.Own()
			}
			k.Expire(r.Time)
			k.Add(r)
		}
		k.Flush()
		s := k.Stats()
		return evs, fmt.Sprint(s.Matched.Load(), s.AppOnly.Load(), s.ProxyOnly.Load(), s.Duplicates.Load(), s.Evicted.Load(), s.Pending.Load())
	}
	copied, cs := run(false)
	owned, os := run(true)
	if cs != os {
		t.Errorf("stats: copied %s, owned %s", cs, os)
	}
	if !reflect.DeepEqual(copied, owned) {
		t.Errorf("events differ:\ncopied %q\nowned  %q", copied, owned)
	}
	if len(copied) < 40 {
		t.Errorf("only %d events", len(copied))
	}
	t.Logf("matched, app_only, proxy_only, duplicates, evicted, pending: %s", cs)
}
