package detect

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// campaign returns failed logins of one certificate with a new username
// every two seconds, from from to to (seconds, inclusive).
func campaign(from, to int) []*event.Record {
	var out []*event.Record
	for s := from; s <= to; s += 2 {
		out = append(out, attempt(float64(s), "c1", fmt.Sprintf("u%d", s), "failure"))
	}
	return out
}

// withClock merges into recs a successful login of another certificate
// every second up to end (seconds), so that event time moves on.
func withClock(recs []*event.Record, end int) []*event.Record {
	out := slices.Clone(recs)
	for s := 0; s <= end; s++ {
		out = append(out, attempt(float64(s)+0.5, "clock", "c", "success"))
	}
	slices.SortStableFunc(out, func(a, b *event.Record) int { return cmp.Compare(a.Time, b.Time) })
	return out
}

// recordsFrom returns the records at or after t (Unix ns).
func recordsFrom(recs []*event.Record, t int64) []*event.Record {
	i := slices.IndexFunc(recs, func(r *event.Record) bool { return r.Time >= t })
	if i < 0 {
		return nil
	}
	return recs[i:]
}

// idsAfter returns the alert ids (with status) caused by the records after
// the first n of recs, when an engine reads all of recs.
func idsAfter(t *testing.T, recs []*event.Record, n int) []string {
	t.Helper()
	sink := &captureSink{}
	e, err := NewEngine(Config{Rules: testRule(t, sprayRule), Sink: sink, Correlator: shortJoin})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out []string
	for i, r := range recs {
		before := len(sink.alerts)
		if err := e.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
		if i >= n {
			for _, a := range sink.alerts[before:] {
				out = append(out, a.ID+" "+a.Status)
			}
		}
	}
	return out
}

// shortJoin is a join window short against the cases' windows, so that
// the engine's sweeps, which lag by it, resolve incidents soon after the
// cases' clocks pass.
var shortJoin = CorrelatorConfig{JoinWindow: time.Second}

// TestRebuildNeeds reads a campaign up to a cut, asks which incidents a
// replay of the last window before the cut would not rebuild, and checks
// that a replay from the From it reports (and not one from the window's
// start) emits after the cut the alerts, with their ids, of an engine that
// read everything.
func TestRebuildNeeds(t *testing.T) {
	sec := func(s int) int64 { return int64(s) * int64(time.Second) }
	cases := []struct {
		name   string
		recs   []*event.Record
		cut    int // seconds: the restart
		from   int // seconds: the From wanted (-1: none)
		firing bool
	}{
		// One incident firing from 4 s (first event at 0) to past 60.
		{name: "firing", recs: withClock(campaign(0, 60), 120), cut: 50, from: 0, firing: true},
		// Resolved at about 35 s, cooling down until about 65 s: a replay
		// from 28 s would not know of the cooldown and open an incident
		// on the second campaign, which the cooldown keeps closed.
		{name: "cooling", recs: withClock(slices.Concat(campaign(0, 20), campaign(40, 44)), 120), cut: 38, from: 0},
		// The cooldown holds back a second campaign; its incident opens
		// when the cooldown ends, with a first event (58 s) that depends
		// on when that is: it needs the first incident's events too.
		{name: "after cooldown", recs: withClock(slices.Concat(campaign(0, 20), campaign(40, 100)), 160), cut: 90, from: 0, firing: true},
		// Long after the first incident: nothing is needed.
		{name: "done", recs: withClock(slices.Concat(campaign(0, 20), campaign(200, 204)), 260), cut: 204, from: -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := slices.IndexFunc(c.recs, func(r *event.Record) bool { return r.Time > sec(c.cut) })
			if n < 0 {
				n = len(c.recs)
			}
			e, err := NewEngine(Config{Rules: testRule(t, sprayRule), Sink: alert.NewFanout(), Correlator: shortJoin})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range c.recs[:n] {
				if err := e.Add(context.Background(), r); err != nil {
					t.Fatal(err)
				}
			}
			since := sec(c.cut) - int64(e.MaxWindow())
			needs := e.RebuildNeeds(since, nil)
			if c.from < 0 {
				if len(needs) != 0 {
					t.Fatalf("needs %+v, want none", needs)
				}
				return
			}
			if len(needs) != 1 || needs[0].From != sec(c.from) || needs[0].Firing != c.firing || needs[0].Rule != "spray" || needs[0].Incident == "" {
				t.Fatalf("needs %+v, want one from %d s, firing %v", needs, c.from, c.firing)
			}
			want := idsAfter(t, c.recs, n)
			// The replay from From continues as if nothing happened.
			re := recordsFrom(c.recs, needs[0].From)
			if got := idsAfter(t, re, len(re)-(len(c.recs)-n)); !slices.Equal(got, want) {
				t.Errorf("replayed from From: after the cut %q, want %q", got, want)
			}
			// The replay of the window only does not: the case needs From.
			re = recordsFrom(c.recs, since)
			if got := idsAfter(t, re, len(re)-(len(c.recs)-n)); slices.Equal(got, want) {
				t.Errorf("replayed from the window's start: after the cut the same %q: the case proves nothing", got)
			}
		})
	}
}

// BenchmarkRebuildNeeds asks an engine holding as many groups as a rule
// may keep (50,000), none of them firing, which incidents a replay would
// miss: the cost a server pays at each commit (about 195 µs on the 2-core
// host, 0 allocations).
func BenchmarkRebuildNeeds(b *testing.B) {
	rs, err := rules.Parse("bench", []byte(sprayRule))
	if err != nil {
		b.Fatal(err)
	}
	e, err := NewEngine(Config{Rules: rs, Sink: alert.NewFanout()})
	if err != nil {
		b.Fatal(err)
	}
	const groups = DefaultMaxGroups
	for i := range groups {
		if err := e.Add(context.Background(), attempt(float64(i)/groups, fmt.Sprintf("c%d", i), "u", "failure")); err != nil {
			b.Fatal(err)
		}
	}
	if n := e.RuleStats()[0].Groups.Load(); n != groups {
		b.Fatalf("%d groups, want %d", n, groups)
	}
	var needs []RebuildNeed
	b.ReportAllocs()
	for b.Loop() {
		needs = e.RebuildNeeds(0, needs[:0])
	}
	if len(needs) != 0 {
		b.Fatalf("needs %+v", needs)
	}
}

// rebuildRules are rules of every kind a rebuild treats apart: counts that
// can only grow with the events in the window (distinct) and counts that
// can grow when the window misses its earliest events (unresolved
// usernames, a ratio, a sequence, capped successes).
const rebuildRules = `
rules:
  - {id: distinct, severity: high, match: {identity: {exists: true}}, group_by: [identity], distinct: user.name,
     window: 10s, threshold: 4, cooldown: 20s, resolve_after: 3s}
  - {id: unresolved, severity: high, match: {identity: {exists: true}}, group_by: [identity], distinct: user.name,
     unresolved: true, window: 10s, threshold: 3, cooldown: 20s, resolve_after: 3s}
  - {id: ratio, severity: high, type: ratio, ratio: 0.7, min_attempts: 4, match: {identity: {exists: true}},
     group_by: [identity], window: 8s, cooldown: 15s, resolve_after: 3s}
  - {id: sequence, severity: high, type: sequence, match: {identity: {exists: true}}, group_by: [identity],
     distinct: user.name, window: 12s, threshold: 2, cooldown: 20s}
  - {id: capped, severity: high, match: {identity: {exists: true}}, group_by: [identity], distinct: user.name,
     max_success_users: 1, window: 6s, threshold: 3, cooldown: 10s, resolve_after: 2s}
`

// alertsAfter returns the alerts (as JSON) caused by the records after the
// first n of recs, to the end of input, when an engine of rs reads recs,
// told first what a rebuild tells it (nothing if tell is nil).
func alertsAfter(t *testing.T, rs []*rules.Rule, recs []*event.Record, n int, tell func(*Engine)) []string {
	t.Helper()
	sink := &captureSink{}
	e, err := NewEngine(Config{Rules: rs, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	if tell != nil {
		tell(e)
	}
	ctx := context.Background()
	var out []string
	keep := func(from int) {
		for _, a := range sink.alerts[from:] {
			b, err := a.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
	}
	for i, r := range recs {
		before := len(sink.alerts)
		if err := e.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
		if i >= n {
			keep(before)
		}
	}
	before := len(sink.alerts)
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	keep(before)
	return out
}

// TestRebuildMissingEvents checks the promise a restart relies on, over
// random streams of one to three certificates and a few usernames with
// successes among the failures: an engine that reads the records from
// RebuildNeeds' earliest From (or from the longest window before the cut,
// if that is earlier), told that the events before are missing and what
// RebuildNeeds said, emits after the cut exactly the alerts of an engine
// that read everything. It also replays each stream as a restart did
// before rebuilds held incidents back (from each incident's first event,
// the engine not told), and counts the streams whose alerts then differ,
// so that the test is known to exercise that.
func TestRebuildMissingEvents(t *testing.T) {
	all := testRule(t, rebuildRules)
	sets := [][]*rules.Rule{all}
	for _, r := range all {
		sets = append(sets, []*rules.Rule{r}) // alone, it sets the rebuild's start
	}
	differ, n := 0, 0
	for _, rs := range sets {
		for certs := 1; certs <= 3; certs++ {
			differ += rebuildStreams(t, rs, certs, 100, false)
			n += 100
		}
	}
	if differ == 0 {
		t.Error("no stream differs after the cut when rebuilt as before: the test proves nothing")
	}
	t.Logf("%d of %d streams differ after the cut when rebuilt as before", differ, n)
}

// TestRebuildWithWaitingRecords is TestRebuildMissingEvents' check with
// records of other groups waiting in the correlator and gaps in time.
func TestRebuildWithWaitingRecords(t *testing.T) {
	rebuildStreams(t, testRule(t, rebuildRules), 2, 100, true)
}

// rebuildStreams runs TestRebuildMissingEvents' check with rules rs over n
// random streams of certs certificates and returns how many differ when
// rebuilt as before. With waiting, the streams have gaps, and app records
// of no certificate (app_only a join window later, matched by no rule)
// among the certificates' attempts.
func rebuildStreams(t *testing.T, rs []*rules.Rule, certs, n int, waiting bool) (differ int) {
	t.Helper()
	byID := map[string]*rules.Rule{}
	for _, r := range rs {
		byID[r.ID] = r
	}
	for seed := range n {
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(certs)))
		var recs []*event.Record
		sec := 0.0
		for i := range 120 + rng.IntN(120) {
			sec += 0.1 + 2*rng.Float64()
			if waiting && rng.IntN(15) == 0 {
				sec += 5 + 20*rng.Float64()
			}
			outcome := "failure"
			if rng.IntN(4) == 0 {
				outcome = "success"
			}
			recs = append(recs, attempt(sec, fmt.Sprintf("c%d", rng.IntN(certs)), fmt.Sprintf("u%d", rng.IntN(6)), outcome))
			if waiting && rng.IntN(10) == 0 {
				recs = append(recs, rec(event.App, sec, "http.request.id", fmt.Sprintf("x%d", i), "user.name", "z", "event.outcome", "failure", "source.ip", "10.7.7.7"))
			}
		}
		cut := len(recs)/3 + rng.IntN(len(recs)/3)
		e, err := NewEngine(Config{Rules: rs, Sink: alert.NewFanout()})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs[:cut] {
			if err := e.Add(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
		since := recs[cut-1].Time - int64(e.MaxWindow())
		needs := e.RebuildNeeds(since, nil)
		from, before := since, since
		for _, need := range needs {
			from = min(from, need.From)
			before = min(before, need.From+settle(byID[need.Rule]))
		}
		want := alertsAfter(t, rs, recs, cut, nil)
		re := recordsFrom(recs, from)
		// A server keeps only the needs' groups and Froms.
		kept := make([]RebuildNeed, len(needs))
		for i, n := range needs {
			kept[i] = RebuildNeed{Group: n.Group, From: n.From}
		}
		tell := func(e *Engine) {
			e.MissingBefore(from)
			e.Rebuilding(since, kept)
		}
		if got := alertsAfter(t, rs, re, len(re)-(len(recs)-cut), tell); !slices.Equal(got, want) {
			t.Fatalf("rules %s, %d certificates, seed %d, cut at %d of %d, rebuilt from %v: after the cut\n%s\nwant\n%s",
				rs[0].ID, certs, seed, cut, len(recs), time.Duration(from), strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		re = recordsFrom(recs, before)
		if !slices.Equal(alertsAfter(t, rs, re, len(re)-(len(recs)-cut), nil), want) {
			differ++
		}
	}
	return differ
}

// TestGroupHash checks GroupHash against hash/fnv's FNV-1a: it is kept
// with a server's positions, so it must not change between versions.
func TestGroupHash(t *testing.T) {
	for _, c := range [][2]string{{"", ""}, {"spray", "sha1:c1"}, {"cert-identity-spray", "sha1:97df5f81b1"}} {
		h := fnv.New64a()
		h.Write([]byte(c[0] + "\x00" + c[1]))
		if got, want := GroupHash(c[0], c[1]), h.Sum64(); got != want {
			t.Errorf("GroupHash(%q, %q) = %x, want %x", c[0], c[1], got, want)
		}
	}
}

// TestKeepGoneBounded forgets more idle groups with marks than a rule
// keeps: it keeps maxGone of them, reports their marks while their
// cooldown counts, and forgets them once it no longer does.
func TestKeepGoneBounded(t *testing.T) {
	e, err := NewEngine(Config{Rules: testRule(t, sprayRule), Sink: alert.NewFanout()})
	if err != nil {
		t.Fatal(err)
	}
	rs := e.rules[0]
	sec := int64(time.Second)
	for i := range maxGone + 10 {
		now := int64(i) * sec / 100
		rs.keepGone(fmt.Sprintf("g%d", i), []rebuildMark{{from: now - 60*sec, until: now + 30*sec, id: fmt.Sprint(i)}}, now)
	}
	if len(rs.gone) != maxGone || len(rs.goneOrder) != maxGone {
		t.Fatalf("%d groups kept (%d in order), want %d", len(rs.gone), len(rs.goneOrder), maxGone)
	}
	now := int64(maxGone+10) * sec / 100
	if needs := e.RebuildNeeds(now-40*sec, nil); len(needs) != maxGone {
		t.Errorf("%d needs, want one per group kept (%d)", len(needs), maxGone)
	}
	// Long after every cooldown ended, the next group forgotten clears them.
	later := now + 100*sec
	rs.keepGone("last", []rebuildMark{{from: later - sec, until: later + 30*sec, id: "last"}}, later)
	if len(rs.gone) != 1 || len(rs.goneOrder) != 1 {
		t.Errorf("%d groups kept (%d in order) once the others' cooldowns ended, want 1", len(rs.gone), len(rs.goneOrder))
	}
}

// TestRebuiltEndsHold holds a group with no need back until since, as a
// rebuilt engine does, and checks that once told the rebuild is over
// (Rebuilt) the same late campaign opens its incident: it was not
// processed before the restart.
func TestRebuiltEndsHold(t *testing.T) {
	sec := int64(time.Second)
	for _, rebuilt := range []bool{false, true} {
		sink := &captureSink{}
		e, err := NewEngine(Config{Rules: testRule(t, sprayRule), Sink: sink})
		if err != nil {
			t.Fatal(err)
		}
		e.MissingBefore(0)
		e.Rebuilding(1000*sec, nil)
		if rebuilt {
			e.Rebuilt()
		}
		for _, r := range campaign(0, 20) {
			if err := e.Add(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
		if opened := len(sink.alerts) > 0; opened != rebuilt {
			t.Errorf("Rebuilt %v: %d alerts, want an incident only after Rebuilt", rebuilt, len(sink.alerts))
		}
	}
}

// TestUnrebuildableHolds: a restarted engine told that the events before
// t are gone holds the groups of the incidents it cannot rebuild until t
// plus the rule's window (their windows lack the lost events until then),
// and not the other groups.
func TestUnrebuildableHolds(t *testing.T) {
	sec := int64(time.Second)
	before, err := NewEngine(Config{Rules: testRule(t, sprayRule), Sink: alert.NewFanout()})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range campaign(0, 20) {
		if err := before.Add(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	needs := before.RebuildNeeds(20*sec, nil)
	if len(needs) != 1 {
		t.Fatalf("%d needs, want the incident of c1", len(needs))
	}
	var recs []*event.Record
	for s := 30; s <= 60; s += 2 {
		for _, c := range []string{"c1", "c2"} {
			recs = append(recs, attempt(float64(s), c, fmt.Sprintf("u%d", s), "failure"))
		}
	}
	for _, lost := range []bool{false, true} {
		sink := &captureSink{}
		e, err := NewEngine(Config{Rules: testRule(t, sprayRule), Sink: sink})
		if err != nil {
			t.Fatal(err)
		}
		if lost {
			e.Unrebuildable(30*sec, []RebuildNeed{{Group: needs[0].Group, From: needs[0].From}})
		}
		for _, r := range recs {
			if err := e.Add(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
		// When each certificate's incident opened: the time of the last
		// event of its firing alert.
		opened := map[string]time.Duration{}
		for _, a := range sink.alerts {
			if a.Status != alert.StatusFiring || a.Identity == nil {
				continue
			}
			at, err := time.Parse(time.RFC3339Nano, a.LastSeen)
			if err != nil {
				t.Fatal(err)
			}
			opened[a.Identity.SHA1] = time.Duration(at.UnixNano())
		}
		c1, ok1 := opened["c1"]
		c2, ok2 := opened["c2"]
		if !ok1 || !ok2 {
			t.Fatalf("lost %v: incidents opened %v, want one per certificate", lost, opened)
		}
		// Three users fail from 30 s on: the incident opens at 34 s, or
		// once held, at 40 s (the window after the lost events).
		want := 34 * time.Second
		if lost {
			want = 40 * time.Second
		}
		if c1 != want {
			t.Errorf("lost %v: c1's incident opened at %v, want %v", lost, c1, want)
		}
		if c2 != 34*time.Second {
			t.Errorf("lost %v: c2's incident opened at %v, want 34s: it had no incident to hold", lost, c2)
		}
	}
}
