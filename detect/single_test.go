package detect

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// singlePack adds to the default pack rules of every type that share the
// per-identity index with different suppressions, windows and stores,
// rules counting values the evidence does not hold, with an index of
// their own, and rules that may not hold single entries (a threshold of
// one, a key of three values).
const singlePack = `
rules:
  - id: supp
    group_by: [spraywatch.identity]
    distinct: user.name
    window: 1m
    threshold: 2
    cooldown: 1m
    suppress:
      - {reason: test, match: {user.name: u1}}
  - {id: ids, group_by: [spraywatch.identity], distinct: user.name, unresolved: true, window: 2m, threshold: 3, cooldown: 1m}
  - {id: seq, type: sequence, group_by: [spraywatch.identity], distinct: user.name, window: 3m, threshold: 2, cooldown: 1m}
  - {id: base, type: baseline, group_by: [spraywatch.identity], distinct: user.name, unresolved: true, window: 1m, threshold: 1, baseline: {sigma: 1, floor: 1, half_life: 5m, warmup: 2m}, cooldown: 1m}
  - {id: long, group_by: [spraywatch.identity], distinct: user.name, unresolved: true, window: 2h, threshold: 3, cooldown: 10m, resolve_after: 5m}
  - {id: events, group_by: [spraywatch.identity], window: 1m, threshold: 2, min_events: 2}
  - {id: ratio, type: ratio, group_by: [source.ip], window: 1m, ratio: 0.5, min_attempts: 2}
  - {id: one, group_by: [source.ip], window: 1m, threshold: 1}
  - {id: rid, group_by: [source.ip], distinct: http.request.id, window: 1m, threshold: 3}
  - {id: pair, group_by: [spraywatch.identity, source.ip], distinct: user.name, window: 1m, threshold: 2}
  - {id: subj, match: {event.outcome: failure}, group_by: [source.ip], distinct: tls.client.hash.sha1, window: 1m, threshold: 2}
  - {id: class, match: {event.outcome: success}, group_by: [source.ip, user.name], distinct: spraywatch.response_class, window: 1m, threshold: 2}
  - {id: three, group_by: [spraywatch.identity, source.ip, user.name], window: 1m, threshold: 2}
`

// TestSingleEntriesEquivalent replays random event streams, with small
// caps so that groups are evicted, shed and swept (and, for a quarter of
// them, caps never reached), through engines whose
// rules hold keys seen once as single entries and engines whose rules
// make a group of every key: the alerts, counters and figures must be
// the same.
func TestSingleEntriesEquivalent(t *testing.T) {
	extra, err := rules.Parse("single", []byte(singlePack))
	if err != nil {
		t.Fatal(err)
	}
	rs := append(rules.Default(), extra...)
	seeds := uint64(40)
	if raceEnabled {
		seeds = 8
	}
	for seed := range seeds {
		for _, lanes := range []int{1, 3} {
			t.Run(fmt.Sprintf("seed%d/lanes%d", seed, lanes), func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 9))
				c := Config{Rules: rs, Lanes: lanes, MaxGroupsTotal: 20 + r.IntN(80), MaxEventsTotal: 40 + r.IntN(400), MaxGroupEvents: 2 + r.IntN(8)}
				if seed%4 == 3 {
					// Caps no group reaches: keys seen again keep
					// their groups.
					c.MaxGroupsTotal, c.MaxEventsTotal, c.MaxGroupEvents = 1e6, 1e7, 1e5
				}
				evs := randomEvents(r, 3000)
				compareSingle(t, c, evs)
			})
		}
	}
}

// randomEvents returns n logins in mostly increasing time, some late,
// some after long gaps, from a few identities, addresses and usernames
// (some a typo away from others), some without an identity or username.
func randomEvents(r *rand.Rand, n int) []*event.Event {
	users := []string{"alice", "alcie", "aalice", "bob", "u1", "carol", "dave", ""}
	outcomes := []string{"failure", "failure", "failure", "success", "success", "unknown"}
	ids := 2 + r.IntN(60)
	at := 0.0
	evs := make([]*event.Event, n)
	for i := range evs {
		switch p := r.IntN(100); {
		case p < 3:
			at += float64(60 + r.IntN(1800)) // a gap
		case p < 8:
			at -= float64(r.IntN(200)) // late
		default:
			at += float64(r.IntN(8))
		}
		id := ""
		if r.IntN(20) > 0 {
			id = fmt.Sprintf("c%d", r.IntN(ids))
		}
		x := ev(at, "tls.client.hash.sha1", id, "user.name", users[r.IntN(len(users))],
			"event.outcome", outcomes[r.IntN(len(outcomes))], "source.ip", fmt.Sprintf("10.0.%d.%d", r.IntN(3), r.IntN(4)),
			"http.request.id", fmt.Sprintf("r%d", i), "event.action", "login_failed", "tls.client.verify", "SUCCESS",
			"http.response.status_code", []string{"200", "302", "401"}[r.IntN(3)], "http.response.body.bytes", []string{"512", "2048"}[r.IntN(2)])
		if id != "" {
			x.Values[event.Identity] = "sha1:" + id
		}
		evs[i] = x
	}
	return evs
}

// singleState is what an engine shows of its state: what must not
// depend on single entries.
type singleState struct {
	Stats   [7]int64
	Rules   [][5]int64
	Held    []int
	Entries []int64
	Top     [][]GroupValue
	Rebuild []RebuildNeed
}

func stateOf(e *Engine) singleState {
	e.quiesce()
	s := &e.stats
	st := singleState{Stats: [...]int64{s.Events.Load(), s.Late.Load(), s.GroupsEvicted.Load(), s.EventsDropped.Load(), s.Alerts.Load(), s.Open.Load(), s.Suppressed.Load()}}
	for _, rs := range e.rules {
		x := rs.stats
		st.Rules = append(st.Rules, [...]int64{x.Matched.Load(), x.Groups.Load(), x.Alerts.Load(), x.Suppressed.Load(), int64(rs.groups.Len())})
		st.Held = append(st.Held, rs.held)
		top, _ := e.TopGroups(rs.rule.ID, 4, nil)
		st.Top = append(st.Top, top)
	}
	st.Entries = e.WindowEntries()
	st.Rebuild = e.RebuildNeeds(e.now-int64(20*time.Minute), nil)
	return st
}

// compareSingle runs evs through an engine of c and one whose rules make
// a group of every key, comparing them as they go.
func compareSingle(t *testing.T, c Config, evs []*event.Event) {
	t.Helper()
	run := func(single bool) (*Engine, *captureSink) {
		sink := &captureSink{}
		c.Sink = sink
		e, err := NewEngine(c)
		if err != nil {
			t.Fatal(err)
		}
		if !single {
			for _, rs := range e.rules {
				rs.single = false
			}
		}
		return e, sink
	}
	a, as := run(true)
	b, bs := run(false)
	singles := 0
	ctx := context.Background()
	for i, x := range evs {
		y := *x
		if err := a.AddEvent(ctx, x); err != nil {
			t.Fatal(err)
		}
		if err := b.AddEvent(ctx, &y); err != nil {
			t.Fatal(err)
		}
		if i%97 != 0 && i != len(evs)-1 {
			continue
		}
		sa, sb := stateOf(a), stateOf(b)
		if !reflect.DeepEqual(sa, sb) {
			t.Fatalf("after event %d: state\n%+v\nwant\n%+v", i, sa, sb)
		}
		for _, rs := range a.rules {
			rs.groups.each(func(_ int32, g *group) { singles += b2i(g == rs.groups.x.single) })
		}
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(as.alerts, bs.alerts, func(x, y alert.Alert) bool { return reflect.DeepEqual(x, y) }) {
		t.Fatalf("alerts differ:\n%q\nwant\n%q", brief(as.alerts), brief(bs.alerts))
	}
	if len(bs.alerts) == 0 || singles == 0 {
		t.Fatalf("%d alerts, %d single entries seen: the stream tests nothing", len(bs.alerts), singles)
	}
}

// TestSingleFor checks which rules may hold single entries.
func TestSingleFor(t *testing.T) {
	rs, err := rules.Parse("single", []byte(singlePack))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"supp": true, "ids": true, "seq": true, "base": true, "long": true, "events": true, "ratio": true,
		"one": false, "rid": true, "pair": true, "subj": true, "class": true, "three": false,
		// The default pack's: every one.
		"cert-identity-spray": true, "cert-identity-slow-spray": true, "subnet-distributed-spray": true, "successful-spray": true,
		"shared-cert-spray-baseline": true, "proxy-bypass": true, "no-cert-source-spray": true, "cert-verify-failures": true,
		"username-enumeration": true, "cert-user-mismatch": true}
	for _, r := range append(rules.Default(), rs...) {
		if got := singleFor(r, false); got != want[r.ID] {
			t.Errorf("%s: singleFor %v, want %v", r.ID, got, want[r.ID])
		}
	}
	// A value the evidence does not hold is kept for a rule whose index
	// is its own.
	for _, r := range rules.Default() {
		if got := singleFor(r, true); got != (want[r.ID] && r.ID != "username-enumeration") {
			t.Errorf("%s shared: singleFor %v", r.ID, got)
		}
	}
}

// eachGroup calls fn for every group of the rule, least recently active
// first; a single entry is shown as its group, made for the call.
func (rs *ruleState) eachGroup(fn func(*group)) {
	rs.groups.each(func(sl int32, g *group) {
		if g == rs.groups.x.single {
			g = rs.view(sl)
		}
		fn(g)
	})
}
