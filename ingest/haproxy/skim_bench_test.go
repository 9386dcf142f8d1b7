package haproxy

import (
	"testing"

	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

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
	skimtest.BenchSkim(b, p, skimLine)
}

// BenchmarkParseMTLS parses the line BenchmarkSkimMTLS skims.
func BenchmarkParseMTLS(b *testing.B) {
	skimtest.BenchParse(b, mtlsParser(b), skimLine)
}

func TestSkimDoesNotAllocate(t *testing.T) { skimtest.CheckSkimAllocs(t, mtlsParser(t), skimLine) }
