package detect

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
)

// TestRebuildWithWaitingRecords is TestRebuildMissingEvents' check with, among
// the certificates' attempts, a few app records of no certificate (app_only
// a join window later, matched by no rule).
func TestRebuildWithWaitingRecords(t *testing.T) {
	rs := testRule(t, rebuildRules)
	n := 100
	if s := os.Getenv("SPRAYWATCH_TEST_SEEDS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	bad := 0
	for seed := range n {
		rng := rand.New(rand.NewPCG(uint64(seed), 3))
		var recs []*event.Record
		sec := 0.0
		for i := range 120 + rng.IntN(120) {
			sec += 0.1 + 2*rng.Float64()
			if rng.IntN(15) == 0 {
				sec += 5 + 20*rng.Float64()
			}
			outcome := "failure"
			if rng.IntN(4) == 0 {
				outcome = "success"
			}
			recs = append(recs, attempt(sec, fmt.Sprintf("c%d", rng.IntN(2)), fmt.Sprintf("u%d", rng.IntN(6)), outcome))
			if rng.IntN(10) == 0 {
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
		from := since
		for _, need := range needs {
			from = min(from, need.From)
		}
		want := alertsAfter(t, rs, recs, cut, nil)
		re := recordsFrom(recs, from)
		kept := make([]RebuildNeed, len(needs))
		for i, n := range needs {
			kept[i] = RebuildNeed{Group: n.Group, From: n.From}
		}
		tell := func(e *Engine) {
			e.MissingBefore(from)
			e.Rebuilding(since, kept)
		}
		if got := alertsAfter(t, rs, re, len(re)-(len(recs)-cut), tell); !slices.Equal(got, want) {
			bad++
			if bad <= 2 {
				t.Logf("seed %d: after the cut\n%d alerts, want %d", seed, len(got), len(want))
				for i := range min(len(got), len(want)) {
					if got[i] != want[i] {
						t.Logf("got  %s\nwant %s", got[i], want[i])
						break
					}
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d streams rebuild other alerts", bad, n)
	}
}
