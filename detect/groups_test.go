package detect

import (
	"fmt"
	"hash/maphash"
	"testing"
)

// TestGroupIndexShared checks two rules' sets sharing one index: each
// holds and evicts its own groups, a key's slot serves both, and the slot
// is freed only when neither holds a group of the key.
func TestGroupIndexShared(t *testing.T) {
	seed := maphash.MakeSeed()
	h := func(k string) uint64 { return maphash.String(seed, k) }
	x := newGroupIndex(2)
	var evicted [2][]string
	sets := [2]*groupSet{}
	for r := range sets {
		sets[r] = newGroupSet(2, func(g *group) { evicted[r] = append(evicted[r], g.key) })
		sets[r].share(x, r)
	}
	add := func(r int, key string) *group {
		t.Helper()
		g, slot := sets[r].get(key, h(key))
		if g != nil {
			t.Fatalf("rule %d: %q held before it was added", r, key)
		}
		g = &group{key: key}
		sets[r].add(g, slot, h(key))
		return g
	}
	a0 := add(0, "a")
	if g, slot := sets[1].get("a", h("a")); g != nil || slot != a0.slot {
		t.Fatalf("rule 1 finds %v in slot %d, want none in rule 0's slot %d", g, slot, a0.slot)
	}
	a1 := add(1, "a")
	if a1.slot != a0.slot || x.n != 1 {
		t.Fatalf("key a has slots %d and %d, %d slots used; want one shared", a0.slot, a1.slot, x.n)
	}
	add(0, "b")
	add(0, "c") // rule 0 holds two groups: a leaves it
	if len(evicted[0]) != 1 || evicted[0][0] != "a" || len(evicted[1]) != 0 {
		t.Fatalf("evicted %v, want [[a] []]", evicted)
	}
	if g, _ := sets[0].get("a", h("a")); g != nil {
		t.Errorf("rule 0 still finds a")
	}
	if g, _ := sets[1].get("a", h("a")); g != a1 {
		t.Errorf("rule 1 lost a with rule 0's eviction")
	}
	if x.n != 3 {
		t.Errorf("%d slots used, want 3 (a, b, c)", x.n)
	}
	sets[1].remove(a1)
	if x.n != 2 || len(x.free) != 1 {
		t.Errorf("%d slots used, %d free, want 2 and 1 once no rule holds a", x.n, len(x.free))
	}
	for _, k := range []string{"a", "b", "c"} {
		g, slot := sets[0].getBytes([]byte(k), h(k))
		if held := k != "a"; (g != nil) != held || (slot >= 0) != held {
			t.Errorf("rule 0 finds %q: group %v, slot %d; want held %v", k, g != nil, slot, held)
		}
	}
	// The freed slot is reused for a new key.
	d := add(1, "d")
	if d.slot != a0.slot || x.n != 3 {
		t.Errorf("d has slot %d (%d used), want a's freed slot %d", d.slot, x.n, a0.slot)
	}
}

// BenchmarkGroupSetFlood adds a new key to each of four rules' group sets
// at their cap, as the identity flood does: each add evicts the least
// recently active group of every rule. own gives each rule an index of
// its own, shared one index for the four.
func BenchmarkGroupSetFlood(b *testing.B) {
	const rules, size = 4, 1 << 15
	for _, shared := range []bool{false, true} {
		name := "own"
		if shared {
			name = "shared"
		}
		b.Run(name, func(b *testing.B) {
			seed := maphash.MakeSeed()
			keys := make([]string, 4*size)
			hs := make([]uint64, len(keys))
			for i := range keys {
				keys[i] = fmt.Sprintf("sha1:%040x", i)
				hs[i] = maphash.String(seed, keys[i])
			}
			x := newGroupIndex(rules)
			var sets [rules]*groupSet
			var spare [rules][]*group
			for r := range sets {
				sets[r] = newGroupSet(size, func(g *group) { spare[r] = append(spare[r], g) })
				if shared {
					sets[r].share(x, r)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				k := i % len(keys)
				for r, s := range sets {
					g, slot := s.get(keys[k], hs[k])
					if g == nil {
						if n := len(spare[r]); n > 0 {
							g, spare[r] = spare[r][n-1], spare[r][:n-1]
							*g = group{}
						} else {
							g = new(group)
						}
						g.key = keys[k]
						s.add(g, slot, hs[k])
					}
				}
			}
		})
	}
}
