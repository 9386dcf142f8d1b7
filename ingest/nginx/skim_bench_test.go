package nginx

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

// sampleLines returns the committed sample day of traffic, or skips.
func sampleLines(b *testing.B) [][]byte {
	data, err := os.ReadFile(filepath.Join("..", "..", "samples", "data", "nginx-access.log"))
	if err != nil {
		b.Skip(err)
	}
	return bytes.Split(bytes.TrimSpace(data), []byte("\n"))
}

// skimWith returns a read function skimming with p and want.
func skimWith(p *parser, want func(*event.Record) bool) func([]byte, *event.Record) error {
	return func(line []byte, r *event.Record) error {
		_, err := p.Skim(line, r, want)
		return err
	}
}

// BenchmarkSkimSamples skims the sample day of traffic, reading no line in
// full; compare with BenchmarkParseSamples.
func BenchmarkSkimSamples(b *testing.B) {
	skimtest.BenchRead(b, sampleLines(b), skimWith(newParser(Default()), nil))
}

// BenchmarkSkimSamplesLogin skims the sample day of traffic, reading login
// POSTs in full.
func BenchmarkSkimSamplesLogin(b *testing.B) {
	skimtest.BenchRead(b, sampleLines(b), skimWith(newParser(Default()), skimtest.LoginPOST))
}

// BenchmarkSkimReference skims the reference format's benchmark lines
// (50 certificates, escaped subjects, all login POSTs), reading none in
// full; compare with BenchmarkParseReference.
func BenchmarkSkimReference(b *testing.B) {
	skimtest.BenchRead(b, benchLines(10000, false), skimWith(newParser(Default()), nil))
}

// BenchmarkSkimJSON skims escape=json lines, reading none in full; compare
// with BenchmarkParseJSON.
func BenchmarkSkimJSON(b *testing.B) {
	f, err := Compile(jsonDirective)
	if err != nil {
		b.Fatal(err)
	}
	skimtest.BenchRead(b, benchLines(10000, true), skimWith(newParser(f), nil))
}

// corpusLines returns testdata/corpus.log: 2,000 consecutive lines of a
// busy hour of a reference-format log (logins, static files, API calls,
// health checks, a few escaped values).
func corpusLines(b *testing.B) [][]byte {
	data, err := readTestdata("corpus.log")
	if err != nil {
		b.Fatal(err)
	}
	return bytes.Split(bytes.TrimSpace(data), []byte("\n"))
}

// BenchmarkSkimCorpus skims the corpus lines, reading login POSTs in full
// as a replay does.
func BenchmarkSkimCorpus(b *testing.B) {
	skimtest.BenchRead(b, corpusLines(b), skimWith(newParser(Default()), skimtest.LoginPOST))
}

// BenchmarkSkimCorpusNone skims the corpus lines, reading none in full.
func BenchmarkSkimCorpusNone(b *testing.B) {
	skimtest.BenchRead(b, corpusLines(b), skimWith(newParser(Default()), nil))
}

// exactParser returns a parser of f whose skim checks every line.
func exactParser(f *Format) *parser {
	p := newParser(f)
	p.CheckAllLines(true)
	return p
}

// BenchmarkSkimCorpusExact is BenchmarkSkimCorpus checking every line as
// Parse does (replay --check-all-lines).
func BenchmarkSkimCorpusExact(b *testing.B) {
	skimtest.BenchRead(b, corpusLines(b), skimWith(exactParser(Default()), skimtest.LoginPOST))
}

// BenchmarkSkimCorpusNoneExact is BenchmarkSkimCorpusNone checking every
// line as Parse does.
func BenchmarkSkimCorpusNoneExact(b *testing.B) {
	skimtest.BenchRead(b, corpusLines(b), skimWith(exactParser(Default()), nil))
}

// BenchmarkSkimReferenceExact is BenchmarkSkimReference checking every line
// as Parse does.
func BenchmarkSkimReferenceExact(b *testing.B) {
	skimtest.BenchRead(b, benchLines(10000, false), skimWith(exactParser(Default()), nil))
}

// BenchmarkParseCorpus parses the corpus lines in full.
func BenchmarkParseCorpus(b *testing.B) {
	p := newParser(Default())
	skimtest.BenchRead(b, corpusLines(b), func(l []byte, r *event.Record) error { return p.Parse(l, r) })
}

// BenchmarkSkimCorpusLogins skims the corpus's login POSTs, each read in
// full once its request is read: the lines of a replay that cost most.
func BenchmarkSkimCorpusLogins(b *testing.B) {
	var logins [][]byte
	for _, l := range corpusLines(b) {
		if bytes.Contains(l, []byte(`"POST /accounts/login`)) {
			logins = append(logins, l)
		}
	}
	skimtest.BenchRead(b, logins, skimWith(newParser(Default()), skimtest.LoginPOST))
}
