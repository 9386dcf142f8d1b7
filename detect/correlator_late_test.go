package detect

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
)

// shiftedDay returns n login requests 30 s apart: each a proxy record on
// the login path (or, with path, another; a POST if post) and an app
// record 250 ms later plus shift(i), and a proxy record of other traffic
// every 10 s, in event-time order.
func shiftedDay(n int, path string, post bool, shift func(i int) time.Duration) []*event.Record {
	var recs []*event.Record
	const start = 100_000 // s, after any negative shift
	for i := range n {
		t := float64(start + 30*i)
		rid := fmt.Sprintf("%032x", i+1)
		p := proxyRec(t, rid, path, "ab")
		if post {
			p = postRec(t, rid, path, "ab")
		}
		recs = append(recs,
			p,
			appRec(t+0.25+shift(i).Seconds(), rid, "user"+fmt.Sprint(i), "failure"))
	}
	for t := start - 7200; t < start+30*n+7200; t += 10 {
		recs = append(recs, proxyRec(float64(t), fmt.Sprintf("other-%d", t), "/static/app.js", ""))
	}
	slices.SortStableFunc(recs, func(a, b *event.Record) int { return int(a.Time - b.Time) })
	return recs
}

func TestCorrelatorLatePartners(t *testing.T) {
	const n = 30
	hour := func(h time.Duration) func(int) time.Duration { return func(int) time.Duration { return h * time.Hour } }
	tests := []struct {
		name  string
		path  string
		post  bool // the proxy records are POSTs
		shift func(i int) time.Duration
		// today's join counts, which late partners leave as they are
		matched, appOnly, proxyOnly, unrelated int64
		lateApp, lateProxy                     int64
		appGap, proxyGap                       time.Duration
		hints                                  []string
	}{
		{
			name: "same zone", path: "/accounts/login/", shift: hour(0),
			matched: n,
		},
		{
			name: "app an hour late", path: "/accounts/login/", shift: hour(1),
			appOnly: n, proxyOnly: n, lateApp: n, appGap: time.Hour + 250*time.Millisecond,
			hints: []string{"30 app records were logged a median 1h0m0s after their proxy records, past the 1m0s join window: do both logs give times in the same zone?"},
		},
		{
			name: "app an hour early", path: "/accounts/login/", shift: hour(-1),
			appOnly: n, proxyOnly: n, lateProxy: n, proxyGap: time.Hour - 250*time.Millisecond,
			hints: []string{"30 app records were logged a median 1h0m0s before their proxy records, past the 1m0s join window"},
		},
		{
			name: "app an hour early, proxy records off the login paths", path: "/api/session", shift: hour(-1),
			appOnly: n, unrelated: n, lateProxy: n, proxyGap: time.Hour - 250*time.Millisecond,
			hints: []string{"30 app records were logged a median 1h0m0s before their proxy records"},
		},
		{
			name: "app two hours late, proxy records off the login paths: not seen", path: "/api/session", shift: hour(2),
			appOnly: n, unrelated: n,
		},
		{
			name: "app an hour late, POSTs off the login paths: held, then seen", path: "/api/token/", post: true, shift: hour(1),
			appOnly: n, unrelated: n, lateApp: n, appGap: time.Hour + 250*time.Millisecond,
			hints: []string{"30 app records were logged a median 1h0m0s after their proxy records, past the 1m0s join window: do both logs give times in the same zone?"},
		},
		{
			name: "POSTs off the login paths, same zone: joined", path: "/api/token/", post: true, shift: hour(0),
			matched: n,
		},
		{
			name: "mixed: a third late, a third early, a third on time", path: "/accounts/login/",
			shift:   func(i int) time.Duration { return time.Duration(1-i%3) * time.Hour },
			matched: n / 3, appOnly: 2 * n / 3, proxyOnly: 2 * n / 3, lateApp: n / 3, lateProxy: n / 3,
			appGap: time.Hour + 250*time.Millisecond, proxyGap: time.Hour - 250*time.Millisecond,
			hints: []string{
				"10 app records were logged a median 1h0m0s after their proxy records",
				"10 app records were logged a median 1h0m0s before their proxy records",
			},
		},
		{
			name: "app five minutes late: no time zone", path: "/accounts/login/", shift: func(int) time.Duration { return 5 * time.Minute },
			appOnly: n, proxyOnly: n, lateApp: n, appGap: 5*time.Minute + 250*time.Millisecond,
			hints: []string{"30 app records were logged a median 5m0s after their proxy records, past the 1m0s join window: do the two logs' clocks differ, or do requests last that long?"},
		},
		{
			name: "app five and a half hours early", path: "/accounts/login/", shift: func(int) time.Duration { return -330 * time.Minute },
			appOnly: n, proxyOnly: n, lateProxy: n, proxyGap: 330*time.Minute - 250*time.Millisecond,
			hints: []string{"30 app records were logged a median 5h30m0s before their proxy records, past the 1m0s join window: do both logs give times in the same zone?"},
		},
		{
			name: "seconds apart: matched or unmatched, never late", path: "/accounts/login/",
			shift:   func(i int) time.Duration { return time.Duration(i%2) * 50 * time.Second },
			matched: n,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := shiftedDay(n, tt.path, tt.post, tt.shift)
			k, err := NewCorrelator(CorrelatorConfig{}, func(*event.Event) {})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				k.Expire(r.Time)
				k.Add(r)
			}
			k.Flush()
			s := k.Stats()
			other := int64(len(recs) - 2*n)
			for _, c := range []struct {
				name      string
				got, want int64
			}{
				{"matched", s.Matched.Load(), tt.matched},
				{"app_only", s.AppOnly.Load(), tt.appOnly},
				{"proxy_only", s.ProxyOnly.Load(), tt.proxyOnly},
				{"unrelated", s.Unrelated.Load(), other + tt.unrelated},
				{"duplicates", s.Duplicates.Load(), 0},
				{"late app", s.LateApp.Load(), tt.lateApp},
				{"late proxy", s.LateProxy.Load(), tt.lateProxy},
			} {
				if c.got != c.want {
					t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
				}
			}
			if g := s.LateGap(event.App); g != tt.appGap {
				t.Errorf("app gap = %v, want %v", g, tt.appGap)
			}
			if g := s.LateGap(event.Proxy); g != tt.proxyGap {
				t.Errorf("proxy gap = %v, want %v", g, tt.proxyGap)
			}
			hints := s.LateHints()
			if len(hints) != len(tt.hints) {
				t.Fatalf("hints %q, want %d like %q", hints, len(tt.hints), tt.hints)
			}
			for i, h := range hints {
				if !strings.HasPrefix(h, tt.hints[i]) {
					t.Errorf("hint %d:\n got %q\nwant %q...", i, h, tt.hints[i])
				}
			}
		})
	}
}

// TestCorrelatorLateRead reads the login records of one side five minutes
// after the other side's records of the same times, as when one log is
// written in batches: they come after their partners expired, a gap
// within the join window, and the hint says that the log was read late,
// not that the logs' times disagree.
func TestCorrelatorLateRead(t *testing.T) {
	const n = 30
	tests := []struct {
		name               string
		delayed            event.Kind
		lateApp, lateProxy int64
		gap                time.Duration
		hint               string
	}{
		{
			name: "proxy log read late", delayed: event.Proxy, lateProxy: n, gap: -250 * time.Millisecond,
			hint: "30 proxy records came after their app records had expired unmatched, though logged a median 250ms from them, within the 1m0s join window: the proxy log was read behind the app log by more than the join window: is it written in batches (a buffered log) or shipped late? (see docs/config.md)",
		},
		{
			name: "app log read late", delayed: event.App, lateApp: n, gap: 250 * time.Millisecond,
			hint: "30 app records came after their proxy records had expired unmatched, though logged a median 250ms from them, within the 1m0s join window: the app log was read behind the proxy log by more than the join window: is it written in batches (a buffered log) or shipped late? (see docs/config.md)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := shiftedDay(n, "/accounts/login/", false, func(int) time.Duration { return 0 })
			// The login records of the delayed side are read five
			// minutes of the other records later; other traffic (the
			// proxy's static files) moves event time on meanwhile.
			arrival := func(r *event.Record) int64 {
				if r.Kind == tt.delayed && !strings.HasPrefix(string(r.Values[event.RequestID]), "other-") {
					return r.Time + int64(5*time.Minute)
				}
				return r.Time
			}
			slices.SortStableFunc(recs, func(a, b *event.Record) int { return int(arrival(a) - arrival(b)) })
			k, err := NewCorrelator(CorrelatorConfig{}, func(*event.Event) {})
			if err != nil {
				t.Fatal(err)
			}
			var now int64
			for _, r := range recs {
				now = max(now, r.Time)
				k.Expire(now)
				k.Add(r)
			}
			k.Flush()
			s := k.Stats()
			if s.Matched.Load() != 0 || s.AppOnly.Load() != n || s.ProxyOnly.Load() != n {
				t.Errorf("matched %d, app_only %d, proxy_only %d; want 0, %d, %d", s.Matched.Load(), s.AppOnly.Load(), s.ProxyOnly.Load(), n, n)
			}
			if s.LateApp.Load() != tt.lateApp || s.LateProxy.Load() != tt.lateProxy {
				t.Errorf("late app %d, late proxy %d; want %d, %d", s.LateApp.Load(), s.LateProxy.Load(), tt.lateApp, tt.lateProxy)
			}
			if g := s.LateGap(tt.delayed); g != tt.gap {
				t.Errorf("gap = %v, want %v", g, tt.gap)
			}
			if hints := s.LateHints(); len(hints) != 1 || hints[0] != tt.hint {
				t.Errorf("hints %q\nwant [%q]", hints, tt.hint)
			}
		})
	}
}

// TestCorrelatorLateBounded expires more proxy records than a side
// remembers: the app records of the oldest come late unnoticed, as
// ordinary app_only records.
func TestCorrelatorLateBounded(t *testing.T) {
	const max, n = 4, 10
	k, err := NewCorrelator(CorrelatorConfig{MaxPending: max, JoinWindow: time.Second}, func(*event.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	add := func(r *event.Record) {
		k.Expire(r.Time)
		k.Add(r)
	}
	for i := range n {
		add(proxyRec(float64(10*i), fmt.Sprint("r", i), "/login", "ab"))
	}
	add(proxyRec(float64(10*n), "tick", "/", ""))
	if got := k.Stats().ProxyOnly.Load(); got != n {
		t.Fatalf("proxy_only = %d, want %d", got, n)
	}
	if len(k.proxyGone.ring) != max || cap(k.proxyGone.ring) != max || k.proxyGone.n != max {
		t.Fatalf("remembered %d in a ring of %d (capacity %d), want %d", k.proxyGone.n, len(k.proxyGone.ring), cap(k.proxyGone.ring), max)
	}
	// Each app record twice: the second is a duplicate, not late again.
	for i := range n {
		add(appRec(float64(200+10*i), fmt.Sprint("r", i), "u", "failure"))
		add(appRec(float64(200+10*i+1), fmt.Sprint("r", i), "u", "failure"))
	}
	k.Flush()
	s := k.Stats()
	if got := s.LateApp.Load(); got != max {
		t.Errorf("late app records = %d, want the last %d remembered", got, max)
	}
	if got := s.AppOnly.Load(); got != 2*n {
		t.Errorf("app_only = %d, want %d", got, 2*n)
	}
	if got, want := s.LateGap(event.App), 200*time.Second; got != want {
		t.Errorf("gap = %v, want %v", got, want)
	}
	if len(k.proxyGone.ring) != max || k.proxyGone.n != 0 {
		t.Errorf("after the late partners: %d remembered in a ring of %d, want 0 in %d", k.proxyGone.n, len(k.proxyGone.ring), max)
	}
	if len(k.appGone.ring) != max {
		t.Errorf("app records remembered in a ring of %d, want %d", len(k.appGone.ring), max)
	}
}

// TestExpiredIDsModel runs random adds and takes against a plain list of
// the last max hashes added, some colliding in the index's tag.
func TestExpiredIDsModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const max = 37
	x := expiredIDs{max: max}
	type entry struct {
		h     uint64
		t     int64
		taken bool
	}
	var model []entry                                        // the last max added
	hashOf := func(i uint64) uint64 { return (i%7)<<32 | i } // tags collide
	for step := range 100_000 {
		h := hashOf(rng.Uint64N(200))
		if rng.IntN(2) == 0 {
			x.add(h, int64(step))
			model = append(model, entry{h: h, t: int64(step)})
			if len(model) > max {
				model = model[1:]
			}
			continue
		}
		want, wantOK := int64(0), false
		for i := range model { // the first remembered: the oldest
			if e := &model[i]; e.h == h && !e.taken {
				want, wantOK, e.taken = e.t, true, true
				break
			}
		}
		got, ok := x.take(h)
		if ok != wantOK || got != want {
			t.Fatalf("step %d: take(%x) = %d, %v; want %d, %v", step, h, got, ok, want, wantOK)
		}
		live := 0
		for _, e := range model {
			if !e.taken {
				live++
			}
		}
		if x.n != live || cap(x.ring) > max {
			t.Fatalf("step %d: %d remembered in a ring of %d, want %d", step, x.n, len(x.ring), live)
		}
	}
}

func TestLateGapsMedian(t *testing.T) {
	var g lateGaps
	if m := g.median(); m != 0 {
		t.Fatalf("median of none = %v", m)
	}
	for _, d := range []int64{5, -1, 3, 9} {
		g.add(d)
	}
	if m := g.median(); m != 3 {
		t.Errorf("median of 5 -1 3 9 = %d, want 3 (the lower middle)", m)
	}
	// Past the sample, only the last lateSample count.
	for range lateSample {
		g.add(int64(time.Hour))
	}
	if m := g.median(); m != time.Hour {
		t.Errorf("median after %d of an hour = %v", lateSample, m)
	}
}

func TestZoneOffset(t *testing.T) {
	for _, tt := range []struct {
		gap  time.Duration
		want bool
	}{
		{0, false}, {90 * time.Second, false}, {14 * time.Minute, true}, {-time.Hour - 40*time.Second, true},
		{time.Hour + 2*time.Minute, false}, {5*time.Hour + 30*time.Minute, true}, {22 * time.Minute, false},
	} {
		if got := zoneOffset(tt.gap); got != tt.want {
			t.Errorf("zoneOffset(%v) = %v, want %v", tt.gap, got, tt.want)
		}
	}
}

// TestDuplicateHint: the hint comes when request ids came twice at least
// 10 times and at least once in ten records joined or unmatched.
func TestDuplicateHint(t *testing.T) {
	for _, tt := range []struct {
		dups, matched, appOnly, proxyOnly int64
		want                              bool
	}{
		{0, 100, 0, 0, false},
		{9, 10, 0, 0, false},   // too few
		{10, 100, 0, 0, true},  // a tenth
		{10, 101, 0, 0, false}, // under a tenth
		{10, 50, 30, 20, true},
		{10, 50, 30, 21, false},
		{2077, 2225, 25, 2233, true}, // a proxy log read twice
	} {
		var j JoinStats
		j.Duplicates.Store(tt.dups)
		j.Matched.Store(tt.matched)
		j.AppOnly.Store(tt.appOnly)
		j.ProxyOnly.Store(tt.proxyOnly)
		h := j.DuplicateHint()
		if got := h != ""; got != tt.want {
			t.Errorf("%+v: hint %q, want one: %v", tt, h, tt.want)
		}
		if h != "" && !strings.HasPrefix(h, strconv.FormatInt(tt.dups, 10)+" request ids came twice on one side") {
			t.Errorf("%+v: hint %q", tt, h)
		}
	}
}
