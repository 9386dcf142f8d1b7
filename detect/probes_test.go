package detect

import (
	"fmt"
	"hash/maphash"
	"slices"
	"testing"
)

// probes returns how many buckets of d's index a lookup of v reads (0
// without an index).
func probes(d *distinctCounts, v hashed) int {
	x := d.table()
	if x == nil {
		return 0
	}
	tag := tagOf(v.h)
	n := 0
	for i := x.start(tag); ; i = x.next(i) {
		n++
		s, more := x.at(i, tag)
		if !more || s >= 0 && d.slots[s].val == v.s {
			return n
		}
	}
}

// TestSlidingProbes floods a full store with new values, each event
// taking one value out and one in, as one certificate spraying distinct
// usernames does (a window of events: idle values purged; a value set:
// the oldest value forgotten), and counts the buckets each new value's
// lookup reads, under several hash seeds: the probes stay short and do not
// depend on the seed.
func TestSlidingProbes(t *testing.T) {
	const keep, total = 20_000, 100_000
	names := make([]string, total)
	for i := range names {
		names[i] = fmt.Sprintf("name%07d", i)
	}
	// slide fills a store, whose distinct counts are dc, with the names
	// one event each, and returns the buckets the lookups of the names
	// after the first keep read, and the size of dc's index.
	slide := func(seed maphash.Seed, dc *distinctCounts, add func(entry, hashed, int64, int) (bool, int), held func() int, what, unit string) (int, int) {
		n := 0
		for i, s := range names {
			v := hashString(seed, s)
			if i >= keep {
				n += probes(dc, v)
			}
			add(entry{t: int64(i), ev: newEvidence(s, len(s), 0), outcome: outcomeFailure}, v, 1<<60, keep)
		}
		if held() != keep {
			t.Fatalf("%s holds %d %s, want %d", what, held(), unit, keep)
		}
		return n, len(dc.x.idx.tab)
	}
	tests := []struct {
		name string
		max  float64 // mean buckets read by a lookup of a new value
		run  func(seed maphash.Seed) (probes, tab int)
	}{
		{"window", 2.5, func(seed maphash.Seed) (int, int) {
			w := newWindow(true)
			return slide(seed, &w.dc, w.add, w.len, "window", "events")
		}},
		{"valueSet", 4.5, func(seed maphash.Seed) (int, int) {
			s := newValueSet(seed)
			return slide(seed, &s.dc, s.add, s.held, "value set", "values")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var means []float64
			for range 4 {
				n, tab := tc.run(maphash.MakeSeed())
				m := float64(n) / float64(total-keep)
				t.Logf("%d buckets, %.3f read by a lookup", tab, m)
				means = append(means, m)
			}
			lo, hi := slices.Min(means), slices.Max(means)
			if hi > tc.max {
				t.Errorf("a lookup reads %.2f buckets, want at most %.2f", hi, tc.max)
			}
			if hi > lo*1.1 {
				t.Errorf("buckets read by a lookup depend on the seed: %.3f to %.3f", lo, hi)
			}
		})
	}
}
