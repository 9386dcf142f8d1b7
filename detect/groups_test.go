package detect

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"testing"

	"github.com/spraywatch/spraywatch/event"
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
		sets[r] = newGroupSet(2, func(g *group, _ bool) { evicted[r] = append(evicted[r], g.key) })
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
	sets[1].removeSlot(a1.slot, false)
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
				sets[r] = newGroupSet(size, func(g *group, _ bool) { spare[r] = append(spare[r], g) })
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

// TestGroupSetMakeRoom checks that makeRoom evicts, from a full set only,
// the group add would have evicted after adding, and frees its slot for
// the next key.
func TestGroupSetMakeRoom(t *testing.T) {
	seed := maphash.MakeSeed()
	h := func(k string) uint64 { return maphash.String(seed, k) }
	var evicted []string
	s := newGroupSet(2, func(g *group, _ bool) { evicted = append(evicted, g.key) })
	add := func(key string) *group {
		t.Helper()
		g, slot := s.get(key, h(key))
		if g != nil {
			t.Fatalf("%q held before it was added", key)
		}
		s.makeRoom()
		g = &group{key: key}
		s.add(g, slot, h(key))
		return g
	}
	a := add("a")
	add("b")
	if len(evicted) != 0 || s.Len() != 2 {
		t.Fatalf("evicted %v from a set of %d not full", evicted, s.Len())
	}
	s.get("a", h("a")) // a becomes the most recently active: b goes first
	c := add("c")
	if len(evicted) != 1 || evicted[0] != "b" || s.Len() != 2 {
		t.Fatalf("evicted %v (%d held), want [b] and 2", evicted, s.Len())
	}
	if c.slot == a.slot || s.x.n != 2 || len(s.x.free) != 0 {
		t.Errorf("c has slot %d (a %d), %d used, %d free: want b's freed slot, 2 used", c.slot, a.slot, s.x.n, len(s.x.free))
	}
	for k, held := range map[string]bool{"a": true, "b": false, "c": true} {
		if g, _ := s.get(k, h(k)); (g != nil) != held {
			t.Errorf("%q held %v, want %v", k, g != nil, held)
		}
	}
}

// TestSharedIndexSlotReuse runs rules that share a group index on one
// lane, the first skipping the events without a username (its distinct
// field) and so not placing their groups, the second with fewer groups:
// each fires as it does alone, however the lane reuses the slot a rule
// placed for the next rules of the index.
func TestSharedIndexSlotReuse(t *testing.T) {
	yml := func(ids ...string) string {
		defs := map[string]string{
			"a": `  - {id: a, match: {identity: {exists: true}}, group_by: [identity], distinct: user.name, window: 10m, threshold: 3}`,
			"b": `  - {id: b, match: {identity: {exists: true}}, group_by: [identity], window: 10m, threshold: 4}`,
			"c": `  - {id: c, match: {identity: {exists: true}}, group_by: [identity], distinct: user.name, window: 10m, threshold: 2}`,
		}
		s := "rules:\n"
		for _, id := range ids {
			s += defs[id] + "\n"
		}
		return s
	}
	var evs []*event.Event
	for i := range 600 {
		user := fmt.Sprintf("u%d", i%7)
		if i%3 == 0 {
			user = ""
		}
		// A few certificates come back often, many once.
		cert := fmt.Sprintf("c%d", i%3)
		if i%4 == 3 {
			cert = fmt.Sprintf("once%d", i)
		}
		evs = append(evs, login(float64(i)/10, cert, user, "failure"))
	}
	run := func(ids ...string) map[string][]string {
		rs := testRule(t, yml(ids...))
		sink := &captureSink{}
		e, err := NewEngine(Config{Rules: rs, Sink: sink, MaxGroups: 6, MaxGroupsTotal: 6 * len(rs)})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) > 1 && (e.rules[0].groups.x != e.rules[1].groups.x || e.rules[0].groups.x.k != len(rs)) {
			t.Fatalf("rules %v do not share one index", ids)
		}
		ctx := context.Background()
		for _, x := range evs {
			c := *x
			if err := e.AddEvent(ctx, &c); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Close(ctx); err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, a := range sink.alerts {
			out[a.Rule] = append(out[a.Rule], fmt.Sprintf("%s %s %v %g %s", a.Status, a.IncidentID, a.Group, a.Observed, a.LastSeen))
		}
		return out
	}
	together := run("a", "b", "c")
	for _, id := range []string{"a", "b", "c"} {
		alone := run(id)[id]
		if len(alone) == 0 {
			t.Fatalf("rule %s alone fires nothing: the case tests little", id)
		}
		if !slices.Equal(together[id], alone) {
			t.Errorf("rule %s sharing its index:\n%q\nalone:\n%q", id, together[id], alone)
		}
	}
}
