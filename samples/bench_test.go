package samples

import (
	"io"
	"testing"
	"time"
)

// BenchmarkGenerate measures generation speed in lines per second for a day
// at Scale 10 (about 100,000 proxy and 10,000 app lines).
func BenchmarkGenerate(b *testing.B) {
	c := DefaultConfig()
	c.Scale = 10
	var lines int64
	start := time.Now()
	for b.Loop() {
		_, st, err := Generate(c, io.Discard, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		lines += st.ProxyLines + st.AppLines
	}
	b.ReportMetric(float64(lines)/time.Since(start).Seconds(), "lines/s")
}
