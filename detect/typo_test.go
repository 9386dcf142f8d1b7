package detect

import (
	"hash/maphash"
	"math/rand/v2"
	"testing"
)

// typoRef is typoOf's definition: the first variant of u, in the fixed
// order (swaps, then per position doubled and dropped), that is unresolved.
func typoRef(d *distinctCounts, u string) string {
	if len(u) < 2 || len(u) > typoMaxLen {
		return ""
	}
	unres := func(v string) bool {
		c, ok := d.get(v)
		return ok && c.f > 0 && c.s == 0
	}
	for i := 0; i+1 < len(u); i++ {
		if u[i] != u[i+1] {
			v := u[:i] + string(u[i+1]) + string(u[i]) + u[i+2:]
			if unres(v) {
				return v
			}
		}
	}
	for i := 0; i < len(u); i++ {
		if v := u[:i+1] + string(u[i]) + u[i+1:]; unres(v) {
			return v
		}
		if v := u[:i] + u[i+1:]; unres(v) {
			return v
		}
	}
	return ""
}

// TestTypoOfMatchesDefinition checks typoOf, with its shortcuts for small
// and indexed stores, against the plain definition on random values over a
// small alphabet, where slips and near misses are frequent.
func TestTypoOfMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		b := make([]byte, 1+r.IntN(5))
		for i := range b {
			b[i] = "abc"[r.IntN(3)]
		}
		return string(b)
	}
	seed := maphash.MakeSeed()
	p := typoProbe{seed: seed}
	for round := 0; round < 2000; round++ {
		d := newDistinctCounts(seed)
		for range r.IntN(40) {
			out := outcomeFailure
			if r.IntN(4) == 0 {
				out = outcomeSuccess
			}
			d.adjust(d.hash(word()), -1, out, 1)
		}
		for range 20 {
			u := word()
			if got, want := d.typoOf(u, &p), typoRef(&d, u); got != want {
				t.Fatalf("round %d: typoOf(%q) = %q, want %q (%d values)", round, u, got, want, d.size())
			}
		}
	}
}

func TestOneEdit(t *testing.T) {
	for _, c := range []struct {
		u, v string
		want bool
	}{
		{"alice", "alcie", true}, {"alice", "laice", true}, {"alice", "aliec", true},
		{"alice", "allice", true}, {"alice", "alicee", true}, {"alice", "aalice", true},
		{"alice", "alce", true}, {"alice", "lice", true}, {"alice", "alic", true},
		{"alice", "alice", false}, {"alice", "alicx", false}, {"alice", "bob", false},
		{"alice", "aclie", false}, {"ab", "ba", true}, {"a", "", true},
	} {
		if got := oneEdit(c.u, c.v); got != c.want {
			t.Errorf("oneEdit(%q, %q) = %v, want %v", c.u, c.v, got, c.want)
		}
	}
}
