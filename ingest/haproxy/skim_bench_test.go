package haproxy

import (
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

// benchRead reads line with read, reporting lines/s.
func benchRead(b *testing.B, line string, read func([]byte, *event.Record) error) {
	l := []byte(line)
	var r event.Record
	if err := read(l, &r); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(l)))
	b.ReportAllocs()
	for b.Loop() {
		if err := read(l, &r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func mtlsParser(b testing.TB) ingest.Skimmer {
	f, err := Compile(mtlsFormat)
	if err != nil {
		b.Fatal(err)
	}
	return f.NewParser().(ingest.Skimmer)
}

// BenchmarkSkimMTLS skims a non-login line of the mTLS format; compare with
// BenchmarkParseMTLS.
func BenchmarkSkimMTLS(b *testing.B) {
	p := mtlsParser(b)
	benchRead(b, skimLine, func(l []byte, r *event.Record) error {
		_, err := p.Skim(l, r, loginPOST)
		return err
	})
}

// BenchmarkParseMTLS parses the line BenchmarkSkimMTLS skims.
func BenchmarkParseMTLS(b *testing.B) { benchRead(b, skimLine, mtlsParser(b).Parse) }

func TestSkimDoesNotAllocate(t *testing.T) {
	p := mtlsParser(t)
	var r event.Record
	line := []byte(skimLine)
	if _, err := p.Skim(line, &r, loginPOST); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, func() { p.Skim(line, &r, loginPOST) }); n != 0 {
		t.Errorf("%v allocations per line", n)
	}
}
