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
	cpu := startThreadCPU(b)
	for i := 0; i < b.N; i++ {
		p.reset()
		p.variants(us[i%len(us)])
	}
	cpu.stop(b)
}

// BenchmarkTypoSlips measures making the tags of every typing slip of a
// username, as a success in a window with many unresolved values does.
func BenchmarkTypoSlips(b *testing.B) {
	base := polyBase(maphash.MakeSeed())
	var p typoProbe
	us := []string{"jane.doe", "j.smith@example.com", "administrator"}
	b.ReportAllocs()
	cpu := startThreadCPU(b)
	for i := 0; i < b.N; i++ {
		p.reset()
		for kind := range 3 {
			p.slips(us[i%len(us)], base, kind)
		}
	}
	cpu.stop(b)
}
