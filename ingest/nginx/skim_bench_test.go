package nginx

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// sampleLines returns the committed sample day of traffic, or skips.
func sampleLines(b *testing.B) [][]byte {
	data, err := os.ReadFile(filepath.Join("..", "..", "samples", "data", "nginx-access.log"))
	if err != nil {
		b.Skip(err)
	}
	return bytes.Split(bytes.TrimSpace(data), []byte("\n"))
}

// benchRead runs read over lines in turn, reporting lines/s.
func benchRead(b *testing.B, lines [][]byte, read func([]byte, *event.Record) error) {
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	var r event.Record
	b.SetBytes(int64(n / len(lines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := read(lines[i], &r); err != nil {
			b.Fatal(err)
		}
		if i++; i == len(lines) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkSkimSamples skims the sample day of traffic; compare with
// BenchmarkParseSamples.
func BenchmarkSkimSamples(b *testing.B) {
	p := newParser(Default())
	benchRead(b, sampleLines(b), p.Skim)
}

// BenchmarkSkimReference skims the reference format's benchmark lines
// (50 certificates, escaped subjects); compare with BenchmarkParseReference.
func BenchmarkSkimReference(b *testing.B) {
	p := newParser(Default())
	benchRead(b, benchLines(10000, false), p.Skim)
}

// BenchmarkSkimJSON skims escape=json lines; compare with BenchmarkParseJSON.
func BenchmarkSkimJSON(b *testing.B) {
	f, err := Compile(jsonDirective)
	if err != nil {
		b.Fatal(err)
	}
	benchRead(b, benchLines(10000, true), newParser(f).Skim)
}
