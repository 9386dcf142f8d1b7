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
	tests := []struct {
		name string
		max  float64 // mean buckets read by a lookup of a new value
		run  func(seed maphash.Seed) (probes, tab int)
	}{
		{"window", 2.5, func(seed maphash.Seed) (int, int) {
			w := newWindow(true)
			n := 0
			for i, s := range names {
				v := hashString(seed, s)
				if i >= keep {
					n += probes(&w.dc, v)
				}
				w.add(entry{t: int64(i), ev: newEvidence(s, len(s), 0), outcome: outcomeFailure}, v, 1<<60, keep)
			}
			if w.len() != keep {
				t.Fatalf("window holds %d events, want %d", w.len(), keep)
			}
			return n, len(w.dc.x.idx.tab)
		}},
		{"valueSet", 4.5, func(seed maphash.Seed) (int, int) {
			s := newValueSet(seed)
			n := 0
			for i, name := range names {
				v := hashString(seed, name)
				if i >= keep {
					n += probes(&s.dc, v)
				}
				s.add(entry{t: int64(i), ev: newEvidence(name, len(name), 0), outcome: outcomeFailure}, v, 1<<60, keep)
			}
			if s.held() != keep {
				t.Fatalf("value set holds %d values, want %d", s.held(), keep)
			}
			return n, len(s.dc.x.idx.tab)
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
