package detect

import (
	"hash/maphash"
	"slices"
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
