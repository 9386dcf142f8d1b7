package detect

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
)

// resolveRules are rules whose figure a success lowers, or that look back
// a long window, each with a resolve delay of its own.
const resolveRules = `
rules:
  - id: unres
    match: {event.outcome: [failure, success]}
    group_by: [spraywatch.identity]
    distinct: user.name
    unresolved: true
    window: 10m
    threshold: 3
    resolve_after: 30s
    cooldown: 1m
  - id: ratio
    type: ratio
    match: {event.outcome: [failure, success]}
    group_by: [spraywatch.identity]
    window: 10m
    ratio: 0.75
    min_attempts: 4
    resolve_after: 30s
  - id: seq
    type: sequence
    match: {event.outcome: [failure, success]}
    max_success_users: 2
    group_by: [spraywatch.identity]
    distinct: user.name
    window: 5m
    threshold: 3
    resolve_after: 30s
    cooldown: 1m
  - id: long
    match: {event.outcome: [failure, success]}
    group_by: [spraywatch.identity]
    distinct: user.name
    unresolved: true
    window: 2h
    threshold: 3
    resolve_after: 10m
  - id: min
    match: {event.outcome: [failure, success]}
    group_by: [spraywatch.identity]
    distinct: user.name
    window: 10m
    threshold: 2
    min_events: 6
  - id: again
    match: {event.outcome: [failure, success]}
    group_by: [spraywatch.identity]
    distinct: user.name
    unresolved: true
    window: 10m
    threshold: 3
    resolve_after: 10s
    cooldown: 20s
  - id: bypass
    match: {spraywatch.join: app_only, event.outcome: failure}
    group_by: [source.ip]
    distinct: user.name
    window: 10m
    threshold: 3
    resolve_after: 5m
    cooldown: 30m
`

// logins reads "SECONDS CERT USER OUTCOME" lines into records that
// become events at once (no request id to wait for). A cert of "-"
// makes an app record with a request id and no proxy record: an
// app_only event a join window later.
func logins(spec string) []*event.Record {
	var out []*event.Record
	for i, l := range strings.Split(strings.TrimSpace(spec), "\n") {
		var sec float64
		var cert, user, outcome string
		if _, err := fmt.Sscan(l, &sec, &cert, &user, &outcome); err != nil {
			panic(fmt.Sprintf("line %q: %v", l, err))
		}
		if cert == "-" {
			out = append(out, appRec(sec, fmt.Sprintf("r%d", i), user, outcome))
			continue
		}
		out = append(out, attempt(sec, cert, user, outcome))
	}
	return out
}

// every returns a login of cert every step seconds from from to to: event
// time moving on.
func every(cert string, from, to, step int) string {
	var b strings.Builder
	for s := from; s <= to; s += step {
		fmt.Fprintf(&b, "%d %s x failure\n", s, cert)
	}
	return b.String()
}

// TestResolveTiming checks when incidents resolve: from the event that
// took the figure below the threshold (a success, or an event leaving the
// window, as it was when it left), and never ahead of events still
// waiting in the correlator. The same input, with or without other
// traffic moving event time on, resolves at the same time.
func TestResolveTiming(t *testing.T) {
	cases := []struct {
		name  string
		rule  string
		spec  string
		other bool   // also with another certificate's logins every 10 s
		want  string // the rule's alerts: status, observed, resolved_at
	}{
		{
			// The successes resolve the usernames at 10 s: below 3
			// from then on, resolved 30 s later.
			name: "success lowers unresolved", rule: "unres",
			spec: "0 c1 u1 failure\n1 c1 u2 failure\n2 c1 u3 failure\n10 c1 u1 success\n11 c1 u2 success\n12 c1 u3 success\n900 z y failure",
			want: "firing 3 -|resolved 3 00:00:40Z",
		},
		{
			// 3 of 4 failed, then successes: 3 of 5 at 20 s.
			name: "success lowers ratio", rule: "ratio",
			spec: "0 c1 u1 failure\n1 c1 u1 failure\n2 c1 u1 failure\n3 c1 u1 success\n20 c1 u2 success\n21 c1 u2 success\n900 z y failure",
			want: "firing 0.75 -|resolved 0.75 00:00:50Z",
		},
		{
			// The hit at 290 s stays live a window, until 590 s.
			name: "sequence live a window", rule: "seq", other: true,
			spec: "0 c1 a1 failure\n1 c1 a2 failure\n2 c1 a3 failure\n3 c1 victim failure\n290 c1 victim success\n1000 z y failure",
			want: "firing 3 -|resolved 3 00:10:20Z",
		},
		{
			// u1 comes back at 3000 s: u2 leaves first, at 8400 s.
			name: "long window values leave as last seen", rule: "long", other: true,
			spec: "0 c1 u1 failure\n1200 c1 u2 failure\n2400 c1 u3 failure\n3000 c1 u1 failure\n20000 z y failure",
			want: "firing 3 -|resolved 3 02:30:00Z",
		},
		{
			// Fires at 4 usernames (min_events 6): the next update is
			// at 8, not at the next event.
			name: "first update past the firing value", rule: "min",
			spec: "0 c1 u1 failure\n1 c1 u2 failure\n2 c1 u3 failure\n3 c1 u4 failure\n4 c1 u1 failure\n5 c1 u1 failure\n6 c1 u1 failure",
			want: "firing 4 -",
		},
		{
			// A success at 590 s takes the figure below 3; the success at
			// 0 s leaving at 600 s makes u1 unresolved again: back at 3
			// until 900 s, then below, resolved 30 s later.
			name: "success leaving raises unresolved", rule: "unres",
			spec: "0 c1 u1 success\n300 c1 u1 failure\n301 c1 u2 failure\n302 c1 u3 failure\n303 c1 u4 failure\n590 c1 u4 success\n2000 z y failure",
			want: "firing 3 -|resolved 3 00:15:30Z",
		},
		{
			// 4 of 5 failed at 303 s; a success at 590 s: 4 of 6; the
			// success at 0 s leaving at 600 s: 4 of 5 again, 3 of 4 at 900 s,
			// 2 of 3 at 901 s.
			name: "success leaving raises ratio", rule: "ratio",
			spec: "0 c1 u1 success\n300 c1 u1 failure\n301 c1 u1 failure\n302 c1 u1 failure\n303 c1 u1 failure\n590 c1 u1 success\n2000 z y failure",
			want: "firing 0.75 -|resolved 0.75 00:15:31Z",
		},
		{
			// app_only events reach the rules a join window (60 s) late:
			// the incident is below 3 from 600 s to 880 s, less than its
			// resolve delay, and goes on; it resolves once u5 leaves.
			name: "no resolving ahead of waiting records", rule: "bypass",
			spec: "0 - u1 failure\n10 - u2 failure\n20 - u3 failure\n850 - u4 failure\n860 - u5 failure\n870 - u6 failure\n880 - u7 failure\n900 z y success\n1000 z y success\n3000 z y success",
			want: "firing 3 -|resolved 3 00:29:20Z",
		},
	}
	for _, c := range cases {
		variants := []bool{false}
		if c.other {
			variants = append(variants, true)
		}
		for _, other := range variants {
			t.Run(fmt.Sprintf("%s/other=%v", c.name, other), func(t *testing.T) {
				spec := c.spec
				if other {
					spec += "\n" + every("c9", 300, 19990, 10)
				}
				recs := logins(spec)
				slices.SortStableFunc(recs, func(a, b *event.Record) int { return cmp.Compare(a.Time, b.Time) })
				var got []string
				for _, a := range runEngine(t, testRule(t, resolveRules), recs) {
					if a.Rule != c.rule {
						continue
					}
					at := "-"
					if a.ResolvedAt != "" {
						at = a.ResolvedAt[11:]
					}
					got = append(got, fmt.Sprintf("%s %g %s", a.Status, a.Observed, at))
				}
				if g := strings.Join(got, "|"); g != c.want {
					t.Errorf("alerts %s, want %s", g, c.want)
				}
			})
		}
	}
}

// TestIncidentAgainFromSameEvent checks that incidents opened after one
// that resolved while its first event was still in the window (a success
// took the figure down) have ids of their own.
func TestIncidentAgainFromSameEvent(t *testing.T) {
	recs := logins("0 c1 u1 failure\n1 c1 u2 failure\n2 c1 u3 failure\n5 c1 u3 success\n40 c1 u4 failure\n45 c1 u4 success\n80 c1 u5 failure")
	var got []string
	ids := map[string]string{} // incident id: its first status
	for _, a := range runEngine(t, testRule(t, resolveRules), recs) {
		if a.Rule != "again" {
			continue
		}
		got = append(got, a.Status+" "+a.FirstSeen[17:])
		if a.Status == "firing" {
			if _, ok := ids[a.IncidentID]; ok {
				t.Errorf("incident id %s fired again (alert %s)", a.IncidentID, a.ID)
			}
			ids[a.IncidentID] = a.Status
		}
	}
	if g, want := strings.Join(got, "|"), "firing 00Z|resolved 00Z|firing 00Z|resolved 00Z|firing 00Z"; g != want {
		t.Fatalf("alerts %s, want %s: three incidents from the event at 0 s", g, want)
	}
}

// TestResolveRandomLanes replays random streams of joined and app_only
// logins through the resolve rules and baselines: the alerts are the same
// with one, two and four lanes, and no alert id comes twice.
func TestResolveRandomLanes(t *testing.T) {
	yml := resolveRules + `  - {id: b, type: baseline, match: {event.outcome: [failure, success]}, group_by: [spraywatch.identity], distinct: user.name, window: 20s, threshold: 1, resolve_after: 3s, cooldown: 0s,
     baseline: {sigma: 1, floor: 2, half_life: 1m, warmup: 40s}}
  - {id: lb, type: baseline, match: {event.outcome: [failure, success]}, group_by: [source.ip], distinct: user.name, window: 2h, threshold: 1, resolve_after: 3s, cooldown: 0s,
     baseline: {sigma: 1, floor: 2, half_life: 4h, warmup: 4h}}
  - {id: cd0, match: {event.outcome: [failure, success]}, group_by: [source.ip], distinct: user.name, unresolved: true, window: 30s, threshold: 2, resolve_after: 1s, cooldown: 0s}
`
	rs := testRule(t, yml)
	run := func(recs []*event.Record, lanes int) []string {
		sink := &captureSink{}
		e, err := NewEngine(Config{Rules: rs, Sink: sink, Lanes: lanes})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if err := e.Add(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range sink.alerts {
			b, err := a.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
		return out
	}
	seeds := 40
	if raceEnabled {
		seeds = 8
	}
	alerts := 0
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		var recs []*event.Record
		sec := 0.0
		for i := range 300 + rng.IntN(300) {
			sec += rng.Float64() * 8
			out := "failure"
			if rng.IntN(4) == 0 {
				out = "success"
			}
			u := fmt.Sprintf("u%d", rng.IntN(8))
			if rng.IntN(5) == 0 {
				recs = append(recs, appRec(sec, fmt.Sprintf("r%d", i), u, out)) // app_only, a join window later
			} else {
				recs = append(recs, attempt(sec, fmt.Sprintf("c%d", rng.IntN(3)), u, out))
			}
		}
		one := run(recs, 1)
		alerts += len(one)
		ids := map[string]bool{}
		for _, l := range one {
			var a struct{ ID string }
			if err := json.Unmarshal([]byte(l), &a); err != nil {
				t.Fatal(err)
			}
			if ids[a.ID] {
				t.Errorf("seed %d: alert id %s twice", seed, a.ID)
			}
			ids[a.ID] = true
		}
		for _, lanes := range []int{2, 4} {
			if got := run(recs, lanes); !slices.Equal(got, one) {
				t.Fatalf("seed %d: %d lanes give other alerts than one", seed, lanes)
			}
		}
	}
	if alerts < 10*seeds {
		t.Errorf("%d alerts over %d streams: the case proves little", alerts, seeds)
	}
}

// TestIncidentIDsWithManyStarts checks that incident ids stay unique when
// a group's incidents began at more first events than it keeps: late
// events take the window's first event back, 17 times, and once they left
// the window an incident begins at the first incident's event again.
func TestIncidentIDsWithManyStarts(t *testing.T) {
	var b strings.Builder
	b.WriteString("10 c1 u1 failure\n11 c1 u2 failure\n12 c1 u3 failure\n15 c1 u3 success\n")
	for k := 1; k <= 17; k++ {
		base := 45 + 32*float64(k-1)
		fmt.Fprintf(&b, "%g c1 ok success\n", base)
		fmt.Fprintf(&b, "%g c1 L%d failure\n", 10-0.1*float64(k), k) // late
		fmt.Fprintf(&b, "%g c1 ok success\n", base+0.5)
		fmt.Fprintf(&b, "%g c1 L%d success\n", base+2, k)
	}
	b.WriteString("600 c1 ok success\n609.95 c1 u7 failure\n")
	incidents, alerts := map[string]bool{}, map[string]bool{}
	fired := 0
	for _, a := range runEngine(t, testRule(t, resolveRules), logins(b.String())) {
		if a.Rule != "again" {
			continue
		}
		if alerts[a.ID] {
			t.Errorf("alert id %s twice", a.ID)
		}
		alerts[a.ID] = true
		if a.Status == "firing" {
			fired++
			if incidents[a.IncidentID] {
				t.Errorf("incident id %s fired again (first seen %s)", a.IncidentID, a.FirstSeen)
			}
			incidents[a.IncidentID] = true
		}
	}
	if fired < 18 {
		t.Errorf("%d incidents: the case proves nothing", fired)
	}
}

// TestAdvanceAfterClose checks that Advance after Close (rule tests'
// `until`) sends the resolutions it causes, whatever the number of lanes.
func TestAdvanceAfterClose(t *testing.T) {
	recs := logins("0 c1 u1 failure\n1 c1 u2 failure\n2 c1 u3 failure\n5 c1 u3 success")
	for _, lanes := range []int{1, 2} {
		sink := &captureSink{}
		e, err := NewEngine(Config{Rules: testRule(t, resolveRules), Sink: sink, Lanes: lanes})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for _, r := range recs {
			if err := e.Add(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := e.Advance(ctx, int64(100*time.Second)); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range sink.alerts {
			if a.Rule == "again" {
				got = append(got, a.Status)
			}
		}
		if g := strings.Join(got, " "); g != "firing resolved" {
			t.Errorf("%d lanes: alerts %q, want firing resolved", lanes, g)
		}
	}
}
