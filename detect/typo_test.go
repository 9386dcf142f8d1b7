package detect

import (
	"hash/maphash"
	"math/rand/v2"
	"testing"
)

// typoRef is typoOf's definition: the first variant of u, in the fixed
// order (swaps, then per position doubled and dropped), that is unresolved.
func typoRef(d *distinctCounts, seed maphash.Seed, u string) string {
	if len(u) < 2 || len(u) > typoMaxLen {
		return ""
	}
	unres := func(v string) bool {
		i := d.find(hashString(seed, v))
		if i < 0 {
			return false
		}
		c, ok := d.slots[i].valCount, true
		return ok && c.f > 0 && c.s == 0
	}
	for i := 0; i+1 < len(u); i++ {
		if u[i] != u[i+1] {
			v := u[:i] + u[i+1:i+2] + u[i:i+1] + u[i+2:]
			if unres(v) {
				return v
			}
		}
	}
	for i := 0; i < len(u); i++ {
		if v := u[:i+1] + u[i:i+1] + u[i+1:]; unres(v) {
			return v
		}
		if v := u[:i] + u[i+1:]; unres(v) {
			return v
		}
	}
	return ""
}

// TestTypoOfMatchesDefinition checks typoOf, with its shortcuts for small
// and indexed stores, against the plain definition on random values over
// small alphabets, where slips and near misses are frequent, as events are
// counted in and out; over a larger one (letters of both cases, which
// share their first-byte counts, and digits), many unresolved values have
// no first byte in common with the value looked up.
func TestTypoOfMatchesDefinition(t *testing.T) {
	for _, alphabet := range []string{"abc", "abcdefgABCDEFG0123456789"} {
		t.Run(alphabet, func(t *testing.T) { testTypoOfMatchesDefinition(t, alphabet) })
	}
}

func testTypoOfMatchesDefinition(t *testing.T, alphabet string) {
	r := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		b := make([]byte, 1+r.IntN(5))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	seed := maphash.MakeSeed()
	p := typoProbe{seed: seed}
	type counted struct {
		slot int32
		out  uint8
	}
	for round := 0; round < 500; round++ {
		var d distinctCounts
		var in []counted
		for step := range 200 {
			switch k := r.IntN(4); {
			case k == 0 && len(in) > 0: // an event leaves
				k := r.IntN(len(in))
				d.adjust(hashed{}, in[k].slot, in[k].out, -1)
				in = append(in[:k], in[k+1:]...)
			case k <= 1: // one arrives
				out := outcomeFailure
				if r.IntN(4) == 0 {
					out = outcomeSuccess
				}
				in = append(in, counted{d.adjust(hashString(seed, word()), -1, out, 1), out})
			default:
				u := word()
				if got, want := d.typoOf(u, &p), typoRef(&d, seed, u); got != want {
					t.Fatalf("round %d step %d: typoOf(%q) = %q, want %q (%d values)", round, step, u, got, want, d.size())
				}
			}
			if x := d.unres(); x != nil {
				if x.n != int(d.unresolved) {
					t.Fatalf("round %d step %d: %d values indexed as unresolved, %d unresolved", round, step, x.n, d.unresolved)
				}
				d.each(func(v string, c valCount) {
					if got, want := x.find(&d, x.tag(v), v, slipNone, 0) >= 0, c.f > 0 && c.s == 0; got != want {
						t.Fatalf("round %d step %d: %q (%+v) indexed as unresolved: %v", round, step, v, c, got)
					}
				})
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

// TestTypoOfLongValues checks typoOf against its definition on an indexed
// store of long values, among them slips of the values asked about, up to
// the longest username considered.
func TestTypoOfLongValues(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	seed := maphash.MakeSeed()
	p := typoProbe{seed: seed}
	found := 0
	for round := 0; round < 200; round++ {
		var d distinctCounts
		var asks []string
		for range 40 {
			b := make([]byte, 2+r.IntN(typoMaxLen))
			for i := range b {
				b[i] = byte(r.IntN(256))
			}
			u := string(b)
			asks = append(asks, u)
			i := r.IntN(len(u) - 1)
			var v string
			switch r.IntN(3) {
			case 0:
				v = u[:i] + u[i+1:i+2] + u[i:i+1] + u[i+2:]
			case 1:
				v = u[:i+1] + u[i:i+1] + u[i+1:]
			default:
				v = u[:i] + u[i+1:]
			}
			d.adjust(hashString(seed, v), -1, outcomeFailure, 1)
			if r.IntN(5) == 0 {
				d.adjust(hashString(seed, v), -1, outcomeSuccess, 1)
			}
		}
		for _, u := range asks {
			p.reset()
			if got, want := d.typoOf(u, &p), typoRef(&d, seed, u); got != want {
				t.Fatalf("round %d: typoOf(%q) = %q, want %q", round, u, got, want)
			} else if got != "" {
				found++
			}
		}
		if d.unres() == nil && d.unresolved > 0 {
			t.Fatalf("round %d: %d values, no index", round, d.size())
		}
	}
	if found < 200*20 {
		t.Errorf("%d slips found in %d asks: the stores hold too few", found, 200*40)
	}
}
