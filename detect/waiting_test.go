package detect

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// TestOtherGroupsWaitingRecords: the alerts of the certificates' groups must not
// depend on unrelated app records (another source.ip, no certificate)
// waiting in the correlator.
func TestOtherGroupsWaitingRecords(t *testing.T) {
	yml := resolveRules + `  - {id: b, type: baseline, match: {event.outcome: [failure, success]}, group_by: [spraywatch.identity], distinct: user.name, window: 20s, threshold: 1, resolve_after: 3s, cooldown: 0s,
     baseline: {sigma: 1, floor: 2, half_life: 1m, warmup: 40s}}
`
	rs := testRule(t, yml)
	n := 60
	if s := os.Getenv("SPRAYWATCH_TEST_SEEDS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	bad := 0
	for seed := range n {
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		var recs, extra []*event.Record
		sec := 0.0
		for i := range 300 + rng.IntN(300) {
			sec += rng.Float64() * 8
			out := "failure"
			if rng.IntN(4) == 0 {
				out = "success"
			}
			recs = append(recs, attempt(sec, fmt.Sprintf("c%d", rng.IntN(3)), fmt.Sprintf("u%d", rng.IntN(8)), out))
			if rng.IntN(6) == 0 {
				extra = append(extra, rec(event.App, sec+rng.Float64(), "http.request.id", fmt.Sprintf("x%d", i), "user.name", "z", "event.outcome", "failure", "source.ip", "10.7.7.7"))
			}
		}
		both := append(slices.Clone(recs), extra...)
		slices.SortStableFunc(both, func(a, b *event.Record) int { return cmp.Compare(a.Time, b.Time) })
		sum := func(rr []*event.Record) []string {
			var out []string
			for _, a := range runEngine(t, rs, rr) {
				if a.Group["source.ip"] == "10.7.7.7" {
					continue
				}
				b, err := a.AppendJSON(nil)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, string(b))
			}
			return out
		}
		// The same alerts; a sweep may send them at another point.
		x, y := sum(recs), sum(both)
		slices.Sort(x)
		slices.Sort(y)
		if !slices.Equal(x, y) {
			bad++
			if bad <= 3 {
				for i := range max(len(x), len(y)) {
					var a, b string
					if i < len(x) {
						a = x[i]
					}
					if i < len(y) {
						b = y[i]
					}
					if a != b {
						t.Logf("seed %d first diff at %d:\n alone: %s\n other: %s", seed, i, a, b)
						break
					}
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d streams: alerts depend on unrelated waiting records", bad, n)
	}
}
