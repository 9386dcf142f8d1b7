package hostile

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// attempt is one login request of the attacker holding one valid client
// certificate: what Django logs (at, user, outcome) and when nginx logs
// the request (at+delay: nginx writes its line when the response ends).
type attempt struct {
	at      time.Time
	user    string
	ok      bool
	rid     string
	delay   time.Duration // proxy line after the app line; 0: one second
	noProxy bool          // a further app line of a request already logged
	request string        // the request line; "": a POST to /accounts/login/
}

const (
	evFP = "e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7"
	evIP = "198.51.100.23"
)

// evade replays the attempts through the default pack and returns, per
// rule, the groups it alerted on ("identity" for the attacker's
// certificate, "ip" for its address, else the group's values).
func evade(t *testing.T, atts []attempt) map[string][]string {
	t.Helper()
	type line struct {
		at time.Time
		s  string
	}
	var pl, al []line
	for i, a := range atts {
		id := a.rid
		if id == "" {
			id = rid(0xe5, i)
		}
		ev := "login_failed"
		if a.ok {
			ev = "login_succeeded"
		}
		al = append(al, line{a.at, appLine(a.at, ev, id, a.user, evIP)})
		if a.noProxy {
			continue
		}
		d := a.delay
		if d == 0 {
			d = time.Second
		}
		req := a.request
		if req == "" {
			req = "POST /accounts/login/ HTTP/1.1"
		}
		pl = append(pl, line{a.at.Add(d), proxyLine(a.at.Add(d), evIP, req, id, evFP, "CN=mallory,O=Example", "python-requests/2.32")})
	}
	// Each log is written in the order of its own times.
	for _, ls := range [][]line{pl, al} {
		sort.SliceStable(ls, func(i, j int) bool { return ls[i].at.Before(ls[j].at) })
	}
	dir := t.TempDir()
	pp, ap := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	for _, f := range []struct {
		path string
		ls   []line
	}{{pp, pl}, {ap, al}} {
		writeFile(t, f.path, func(emit func(string)) {
			for _, l := range f.ls {
				emit(l.s)
			}
		})
	}
	r := replayFiles(t, []string{pp}, []string{ap}, options{})
	r.accounted(t)
	got := map[string][]string{}
	if n := r.engine.EventsDropped.Load(); n > 0 {
		got["(events dropped)"] = []string{fmt.Sprint(n > 0)}
	}
	for _, a := range r.alerts {
		if a.Status == "resolved" {
			continue
		}
		g := fmt.Sprint(a.Group)
		switch {
		case strings.Contains(a.Group["spraywatch.identity"], evFP):
			g = "identity"
		case a.Group["source.ip"] == evIP:
			g = "ip"
		}
		if !slices.Contains(got[a.Rule], g) {
			got[a.Rule] = append(got[a.Rule], g)
		}
	}
	return got
}

// spread returns one failed attempt of each username, every gap from
// start, tries times each (a few passwords, a second apart).
func spread(users []string, start time.Time, gap time.Duration, tries int) []attempt {
	var out []attempt
	for i, u := range users {
		for p := range tries {
			out = append(out, attempt{at: start.Add(time.Duration(i)*gap + time.Duration(p)*time.Second), user: u})
		}
	}
	return out
}

func names(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// TestOneCertificateEvasion tries, with one valid client certificate,
// what the attacker controls (request timing, the response's pace,
// usernames, how many attempts a request makes) to spray 200 usernames
// unseen, and checks what the default pack reports. docs/hostile-input.md
// ("An attacker with one certificate") says what each case costs.
func TestOneCertificateEvasion(t *testing.T) {
	victims := names(200, func(i int) string { return fmt.Sprintf("user%03d", i) })
	start := spray.start

	var held []attempt // nginx logs the request 90 s after Django: the response was held open
	for i, u := range victims[:15] {
		held = append(held, attempt{at: start.Add(time.Duration(i) * 10 * time.Second), user: u, delay: 90 * time.Second})
	}

	var batch []attempt // one request that makes 15 login attempts (a batch or GraphQL endpoint)
	for i, u := range victims[:15] {
		batch = append(batch, attempt{at: start.Add(time.Duration(i) * time.Millisecond), user: u, rid: rid(0xba, 0), noProxy: i < 14})
	}

	// A token endpoint off the login paths, answering within 10 ms: nginx
	// writes whole seconds, so its line sorts before Django's.
	token := spread(victims[:15], start.Add(500*time.Millisecond), 10*time.Second, 1)
	for i := range token {
		token[i].delay, token[i].request = 10*time.Millisecond, "POST /api/token/ HTTP/1.1"
	}

	long := names(15, func(i int) string { return strings.Repeat("a", 1100) + fmt.Sprint(i) })
	variants := []string{"alice", "Alice", "ALICE", "alice ", " alice", "alice\u200b", "ａｌｉｃｅ", "alicE", "aLice", "al\u0131ce", "alice\t", "Alice ", "ALICE ", "alIce", "aliCe"}

	// Filler: the attacker's own account logging in 2 100 times a minute
	// for ten minutes, beside ten sprayed usernames.
	var filler []attempt
	for i := range 21_000 {
		filler = append(filler, attempt{at: start.Add(time.Duration(i) * 28 * time.Millisecond), user: "mallory", ok: true})
	}
	for i, u := range victims[:10] {
		filler = append(filler, attempt{at: start.Add(time.Duration(i)*59*time.Second + 10*time.Millisecond), user: u})
	}
	// and fifteen more usernames over the next two hours, under the fast
	// rules but within the slow rule's 12 h.
	filler = append(filler, spread(victims[10:25], start.Add(11*time.Minute), 8*time.Minute, 1)...)

	// What a fast spray raises (the baseline rule is still warming up).
	fast := map[string][]string{"cert-identity-spray": {"identity"}, "subnet-distributed-spray": {"map[source.subnet:198.51.100.0/24]"}}
	tests := []struct {
		name string
		atts []attempt
		want map[string][]string // rule -> groups alerted; nil: no alert at all
	}{
		{"baseline: 15 usernames in 150 s", spread(victims[:15], start, 10*time.Second, 1),
			fast},
		// Below every threshold: the 12 h rule allows 24 usernames in
		// any 12 h, one every 31 minutes. 200 usernames, three passwords
		// each, take 103 hours and raise nothing.
		{"200 usernames, one every 31 minutes", spread(victims, start, 31*time.Minute, 3), nil},
		{"200 usernames, one every 29 minutes", spread(victims, start, 29*time.Minute, 3),
			map[string][]string{"cert-identity-slow-spray": {"identity"}}},
		// Holding the response open (HTTP/2 flow control, a zero TCP
		// window) delays nginx's line past the join window: the attempts
		// are app_only, unknown to the certificate rules, and reported
		// by proxy-bypass on the address Django logged.
		{"proxy line 90 s after Django's", held, map[string][]string{"proxy-bypass": {"ip"}}},
		// A request that makes several attempts (a batch or GraphQL
		// endpoint): each joins the request's proxy line, as separate
		// requests would.
		{"one request, 15 attempts", batch, fast},
		// A POST off the login paths is held for the application's line
		// that comes after it, as a login attempt's would be.
		{"15 usernames through a token endpoint, proxy line first", token, fast},
		// Values are counted whole, though alerts cut them at 1 024
		// bytes: usernames alike in their first 1 024 bytes stay apart.
		{"15 usernames sharing 1 100 bytes", spread(long, start, 10*time.Second, 1),
			fast},
		// Usernames are compared byte by byte: case, space and Unicode
		// variants of one name are as many usernames, never fewer.
		{"15 variants of one username", spread(variants, start, 10*time.Second, 1),
			fast},
		// 21 000 logins in ten minutes overflow the 10-minute window
		// (--max-group-events 20 000) around ten sprayed usernames; the
		// rules still report them, and the 12 h rule counts usernames,
		// not events.
		{"filler past --max-group-events", filler, map[string][]string{"(events dropped)": {"true"}, "cert-identity-slow-spray": {"identity"}, "cert-identity-spray": {"identity"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := evade(t, tc.atts)
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("alerts %v, want %v", got, tc.want)
			}
		})
	}
}
