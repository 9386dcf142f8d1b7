package detect

import (
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestUnresolvedSeenBits checks the unresolved index's bits and counts as
// values become unresolved and stop being so, the table growing to
// thousands of values and shrinking back: every tag indexed has its bit
// (a slip is never ruled out wrongly), and the bits of values gone are
// cleared often enough that most of the bits stay clear; the counts by
// first byte and length are exact but those at their cap, which cover at
// least as many, and are exact again once the values are fewer.
func TestUnresolvedSeenBits(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	seed := maphash.MakeSeed()
	var d distinctCounts
	slots := map[string]int32{} // values failed, by slot
	fullSeen := false
	check := func(step int) {
		x := d.unres()
		if x == nil {
			return
		}
		if got := len(x.seen) * 64; got != 8*len(x.idx.tab) {
			t.Fatalf("step %d: %d bits for %d buckets", step, got, len(x.idx.tab))
		}
		for _, b := range x.idx.tab {
			if b != 0 && !x.has(uint32(b>>32)) {
				t.Fatalf("step %d: tag %08x indexed without its bit", step, uint32(b>>32))
			}
		}
		set := 0
		for _, w := range x.seen {
			set += bits.OnesCount64(w)
		}
		if max := x.n + x.stale; set > max {
			t.Fatalf("step %d: %d bits set for %d values and %d stale", step, set, x.n, x.stale)
		}
		if x.stale > x.n/2+8 {
			t.Fatalf("step %d: %d stale bits for %d values", step, x.stale, x.n)
		}
		if step%16 != 0 {
			return // the counts, every few steps
		}
		var want [256]int
		for v := range slots {
			want[startCell(v[0], len(v))]++
		}
		for c, n := range x.byStart {
			if n != math.MaxUint8 && int(n) != want[c] || n == math.MaxUint8 && want[c] < math.MaxUint8 && !x.full {
				t.Fatalf("step %d: cell %d counts %d values, %d held (full: %v)", step, c, n, want[c], x.full)
			}
		}
		if x.full {
			fullSeen = true
		}
	}
	p := typoProbe{seed: seed}
	for step := range 20_000 {
		// Grow to about 3,000 values, then shrink.
		grow := step < 10_000
		switch k := r.IntN(10); {
		case len(slots) > 0 && (k < 3 && grow || k < 7 && !grow):
			// A success resolves a failed value.
			for v, s := range slots {
				d.adjust(hashString(seed, v), s, outcomeSuccess, 1)
				delete(slots, v)
				break
			}
		default:
			v := fmt.Sprintf("user%d", r.IntN(1_000_000))
			if _, ok := slots[v]; ok {
				continue
			}
			s := d.adjust(hashString(seed, v), -1, outcomeFailure, 1)
			if d.slots[s].s == 0 {
				slots[v] = s
			}
		}
		if d.unres() == nil && d.unresolved > 0 {
			d.typoOf("ab", &p) // builds the index
		}
		check(step)
	}
	x := d.unres()
	if x == nil || len(x.idx.tab) < 4096 {
		t.Fatalf("the index did not grow: %v", x)
	}
	if !fullSeen || x.full {
		t.Errorf("no count reached its cap (%v), or one stays there with %d values (%v)", fullSeen, x.n, x.full)
	}
}

// BenchmarkUnresolvedIndexMemory measures the heap of a store's
// unresolved index, made by a typo check, for n unresolved values (a
// spray through one certificate).
func BenchmarkUnresolvedIndexMemory(b *testing.B) {
	for _, n := range []int{20, 300, 3000, 20_000} {
		b.Run(fmt.Sprintf("values=%d", n), func(b *testing.B) {
			seed := maphash.MakeSeed()
			var d distinctCounts
			for i := range n {
				d.adjust(hashString(seed, fmt.Sprintf("first.last%05d", i)), -1, outcomeFailure, 1)
			}
			p := typoProbe{seed: seed}
			var heap float64
			for i := 0; i < b.N; i++ {
				d.more().unres = nil
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				p.reset()
				d.typoOf("first.last", &p)
				runtime.GC()
				runtime.ReadMemStats(&after)
				heap = float64(after.HeapAlloc) - float64(before.HeapAlloc)
			}
			if d.unres() == nil {
				b.Fatal("no index made")
			}
			b.ReportMetric(heap, "heap-B/index")
		})
	}
}
