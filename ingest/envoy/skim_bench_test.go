package envoy

import (
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

// benchSkim skims line with want, as BenchmarkText* and BenchmarkJSON parse
// theirs.
func benchSkim(b *testing.B, f *Format, line string, want func(*event.Record) bool) {
	p := f.NewParser().(ingest.Skimmer)
	skimtest.BenchRead(b, [][]byte{[]byte(line)}, func(l []byte, r *event.Record) error {
		_, err := p.Skim(l, r, want)
		return err
	})
}

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
	benchSkim(b, mustText(b, mtlsText), mtlsLine, skimtest.LoginPOST)
}
func BenchmarkParseTextMTLS(b *testing.B) { bench(b, mustText(b, mtlsText), mtlsLine) }

// ReferenceJSON's non-login line: skimmed, and parsed for comparison.
func BenchmarkSkimJSONReference(b *testing.B) {
	benchSkim(b, mustJSON(b, ReferenceJSON), jsonLine, skimtest.LoginPOST)
}
func BenchmarkParseJSONReference(b *testing.B) { bench(b, mustJSON(b, ReferenceJSON), jsonLine) }

// The default text format (no certificate fields): skimmed, and parsed.
const defaultLine = `[2026-12-04T09:00:01.123Z] "GET /static/app.js?v=3 HTTP/1.1" 200 - 812 5120 31 30 "203.0.113.7" "Mozilla/5.0 (X11; Linux x86_64)" "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a" "app.example.org" "10.1.2.3:8000"`

func BenchmarkSkimTextDefault(b *testing.B) {
	benchSkim(b, mustText(b, Default), defaultLine, skimtest.LoginPOST)
}
func BenchmarkParseTextDefault(b *testing.B) { bench(b, mustText(b, Default), defaultLine) }

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
