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

// skimWith returns a read function skimming with p and want.
func skimWith(p *parser, want func(*event.Record) bool) func([]byte, *event.Record) error {
	return func(line []byte, r *event.Record) error {
		_, err := p.Skim(line, r, want)
		return err
	}
}

// loginPOST wants POSTs to a login path in full, as the correlator's
// default login filter does.
func loginPOST(r *event.Record) bool {
	return bytes.EqualFold(r.Get(event.Method), []byte("POST")) && bytes.Contains(r.Get(event.URLPath), []byte("login"))
}

// BenchmarkSkimSamples skims the sample day of traffic, reading no line in
// full; compare with BenchmarkParseSamples.
func BenchmarkSkimSamples(b *testing.B) {
	benchRead(b, sampleLines(b), skimWith(newParser(Default()), nil))
}

// BenchmarkSkimSamplesLogin skims the sample day of traffic, reading login
// POSTs in full.
func BenchmarkSkimSamplesLogin(b *testing.B) {
	benchRead(b, sampleLines(b), skimWith(newParser(Default()), loginPOST))
}

// BenchmarkSkimReference skims the reference format's benchmark lines
// (50 certificates, escaped subjects, all login POSTs), reading none in
// full; compare with BenchmarkParseReference.
func BenchmarkSkimReference(b *testing.B) {
	benchRead(b, benchLines(10000, false), skimWith(newParser(Default()), nil))
}

// BenchmarkSkimJSON skims escape=json lines, reading none in full; compare
// with BenchmarkParseJSON.
func BenchmarkSkimJSON(b *testing.B) {
	f, err := Compile(jsonDirective)
	if err != nil {
		b.Fatal(err)
	}
	benchRead(b, benchLines(10000, true), skimWith(newParser(f), nil))
}
