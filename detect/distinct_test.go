package detect

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"testing"
)

// TestDistinctCountsMatchesMap checks the value table against a map under
// random counting in and out, with hashes chosen to collide (equal, or
// equal in their placing bits) so that probing and deletion run long.
func TestDistinctCountsMatchesMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	seed := maphash.MakeSeed()
	for _, hashes := range []struct {
		name string
		vals int // distinct values drawn from
		h    func(v int) uint64
	}{
		{"seeded", 400, func(v int) uint64 { return maphash.String(seed, fmt.Sprint(v)) }},
		// Most values leave and do not come back: idle slots pile up
		// and are purged.
		{"many", 5000, func(v int) uint64 { return maphash.String(seed, fmt.Sprint(v)) }},
		{"small", smallSlots, func(v int) uint64 { return maphash.String(seed, fmt.Sprint(v)) }},
		{"same-home", 400, func(v int) uint64 { return uint64(v%7)<<40 | 5<<32 | uint64(v) }},
		{"equal", 400, func(int) uint64 { return 42 << 32 }},
	} {
		t.Run(hashes.name, func(t *testing.T) {
			var d distinctCounts
			hv := map[int]hashed{}
			val := func(v int) hashed {
				if h, ok := hv[v]; ok {
					return h
				}
				h := hashed{fmt.Sprint(v), hashes.h(v)}
				hv[v] = h
				return h
			}
			want := map[string]int32{}       // events per value
			var slots []struct{ v, s int32 } // events counted in, with their slots
			for step := range 20000 {
				if len(slots) > 0 && (r.IntN(2) == 0 || len(slots) > 300) {
					k := r.IntN(len(slots))
					e := slots[k]
					slots[k] = slots[len(slots)-1]
					slots = slots[:len(slots)-1]
					v := val(int(e.v))
					want[v.s]--
					if want[v.s] == 0 {
						delete(want, v.s)
					}
					d.adjust(v, e.s, outcomeFailure, -1)
				} else {
					n := r.IntN(hashes.vals)
					s := d.adjust(val(n), -1, outcomeFailure, 1)
					want[val(n).s]++
					slots = append(slots, struct{ v, s int32 }{int32(n), s})
				}
				if d.size() != len(want) {
					t.Fatalf("step %d: %d values, want %d", step, d.size(), len(want))
				}
				if d.idle > d.n/4+maxIdle || d.idle > 0 && d.table() == nil {
					t.Fatalf("step %d: %d idle slots for %d values", step, d.idle, d.n)
				}
				if step%97 == 0 {
					for n := range hashes.vals {
						c, ok := d.getHashed(val(n))
						if w := want[val(n).s]; c.n != w || ok != (w > 0) || c.f != w {
							t.Fatalf("step %d: value %d: %+v %v, want %d events", step, n, c, ok, w)
						}
					}
					seen := 0
					d.each(func(v string, c valCount) {
						seen++
						if want[v] != c.n {
							t.Fatalf("step %d: each: %s has %d events, want %d", step, v, c.n, want[v])
						}
					})
					if hashes.vals <= smallSlots && d.table() != nil || d.size() > smallSlots && d.table() == nil {
						t.Fatalf("step %d: table %v with %d values at most", step, d.table() != nil, hashes.vals)
					}
					if seen != len(want) || int(d.failed) != len(want) || int(d.unresolved) != len(want) {
						t.Fatalf("step %d: each saw %d, failed %d, unresolved %d; want %d", step, seen, d.failed, d.unresolved, len(want))
					}
				}
			}
		})
	}
}
