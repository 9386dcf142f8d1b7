package detect

import (
	"hash/maphash"
	"slices"
	"strings"
	"testing"
)

// TestTypoVariants checks a probe's variants, in order and with their
// hashes, against their definition: every swap of two different
// neighbouring bytes, then at each position the byte doubled and the byte
// dropped.
func TestTypoVariants(t *testing.T) {
	seed := maphash.MakeSeed()
	p := typoProbe{seed: seed}
	for _, u := range []string{"ab", "aa", "jane.doe", "j.smith@example.com", "aab\x00\xffb", "administrator"} {
		var want []string
		for i := 0; i+1 < len(u); i++ {
			if u[i] != u[i+1] {
				want = append(want, u[:i]+u[i+1:i+2]+u[i:i+1]+u[i+2:])
			}
		}
		for i := 0; i < len(u); i++ {
			want = append(want, u[:i+1]+u[i:i+1]+u[i+1:], u[:i]+u[i+1:])
		}
		p.reset()
		vars, buf := p.variants(u)
		var got []string
		for _, v := range vars {
			s := string(buf[v.off : v.off+v.n])
			got = append(got, s)
			if v.h != maphash.String(seed, s) {
				t.Errorf("%q: variant %q has the wrong hash", u, s)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("variants of %q:\n got %q\nwant %q", u, got, want)
		}
	}
}

// TestTypoSlips checks the tags of a probe's slips, made from the
// polynomial hashes of the value's prefixes, against the tags of the
// slipped values themselves, in typoOf's order.
func TestTypoSlips(t *testing.T) {
	x := &unresolvedIndex{base: polyBase(maphash.MakeSeed())}
	var p typoProbe
	for _, u := range []string{"ab", "aa", "ba", "jane.doe", "j.smith@example.com", "aab\x00\xffb", "\xff\x00\xff\x00", "administrator", strings.Repeat("zy", typoMaxLen/2)} {
		var want [3][]uint32
		var swapAt []uint8
		for i := 0; i+1 < len(u); i++ {
			if u[i] != u[i+1] {
				want[slipSwap] = append(want[slipSwap], x.tag(u[:i]+u[i+1:i+2]+u[i:i+1]+u[i+2:]))
				swapAt = append(swapAt, uint8(i))
			}
		}
		for i := 0; i < len(u); i++ {
			want[slipDouble] = append(want[slipDouble], x.tag(u[:i+1]+u[i:]))
			want[slipDrop] = append(want[slipDrop], x.tag(u[:i]+u[i+1:]))
		}
		p.reset()
		for kind, w := range want {
			if got := p.slips(u, x.base, kind); !slices.Equal(got, w) {
				t.Errorf("%q: slips of kind %d:\n got %x\nwant %x", u, kind, got, w)
			}
		}
		if !slices.Equal(p.swapAt, swapAt) {
			t.Errorf("%q: swaps at %v, want %v", u, p.swapAt, swapAt)
		}
	}
}
