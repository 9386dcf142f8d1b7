package detect

import (
	"hash/maphash"
	"testing"
)

// BenchmarkTypoVariants measures making the typing-slip variants of a
// username, as a success in a window with unresolved values does.
func BenchmarkTypoVariants(b *testing.B) {
	p := typoProbe{seed: maphash.MakeSeed()}
	us := []string{"jane.doe", "j.smith@example.com", "administrator"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.reset()
		p.variants(us[i%len(us)])
	}
}
