package envoy

import (
	"testing"

	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

func mustText(b *testing.B, format string) *Format {
	f, err := CompileText(format)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func mustJSON(b *testing.B, def string) *Format {
	f, err := CompileJSON(def)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// The mTLS text format's non-login line: skimmed, and parsed for
// comparison.
func BenchmarkSkimTextMTLS(b *testing.B) {
	skimtest.BenchSkim(b, mustText(b, mtlsText).NewParser().(ingest.Skimmer), mtlsLine)
}
func BenchmarkParseTextMTLS(b *testing.B) {
	skimtest.BenchParse(b, mustText(b, mtlsText).NewParser(), mtlsLine)
}

// ReferenceJSON's non-login line: skimmed, and parsed for comparison.
func BenchmarkSkimJSONReference(b *testing.B) {
	skimtest.BenchSkim(b, mustJSON(b, ReferenceJSON).NewParser().(ingest.Skimmer), jsonLine)
}
func BenchmarkParseJSONReference(b *testing.B) {
	skimtest.BenchParse(b, mustJSON(b, ReferenceJSON).NewParser(), jsonLine)
}

// The default text format (no certificate fields): skimmed, and parsed.
const defaultLine = `[2026-12-04T09:00:01.123Z] "GET /static/app.js?v=3 HTTP/1.1" 200 - 812 5120 31 30 "203.0.113.7" "Mozilla/5.0 (X11; Linux x86_64)" "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a" "app.example.org" "10.1.2.3:8000"`

func BenchmarkSkimTextDefault(b *testing.B) {
	skimtest.BenchSkim(b, mustText(b, Default).NewParser().(ingest.Skimmer), defaultLine)
}
func BenchmarkParseTextDefault(b *testing.B) {
	skimtest.BenchParse(b, mustText(b, Default).NewParser(), defaultLine)
}

func TestSkimDoesNotAllocate(t *testing.T) {
	text, err := CompileText(mtlsText)
	if err != nil {
		t.Fatal(err)
	}
	js, err := CompileJSON(ReferenceJSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    *Format
		line string
	}{{text, mtlsLine}, {js, jsonLine}} {
		skimtest.CheckSkimAllocs(t, tc.f.NewParser().(ingest.Skimmer), tc.line)
	}
}
