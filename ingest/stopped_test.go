package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// TestStoppedEarlyBalances checks that a source read ahead, whose reader
// stops before a line it rejects, counts every line it counts as parsed,
// ignored or rejected: lines read ahead are counted with what became of
// them, a rejected line once the reader reaches it.
func TestStoppedEarlyBalances(t *testing.T) {
	var b strings.Builder
	for i := range 40 {
		switch i {
		case 20:
			b.WriteString("bad\n")
		case 25:
			b.WriteString("skip\n")
		default:
			b.WriteString("ok line\n")
		}
	}
	p := filepath.Join(t.TempDir(), "a.log")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, strict := range []bool{false, true} {
		for _, take := range []int{0, 1, 5, 19, 20, 30} {
			for _, workers := range []int{1, 3} {
				fs := NewFileSource(FileSourceConfig{Kind: event.App, Paths: []string{p}, Parser: wordParser{}, NewParser: func() Parser { return wordParser{} }, Strict: strict})
				pf := PrefetchParallel(context.Background(), fs, workers)
				var r event.Record
				for range take {
					if err := pf.Next(context.Background(), &r); err != nil {
						break
					}
				}
				st := pf.Stats()
				lines, parsed, ignored, rejected := st.Lines.Load(), st.Parsed.Load(), st.Ignored.Load(), st.Rejected.Load()
				if lines != parsed+ignored+rejected {
					t.Errorf("strict %v, %d taken, %d workers: %d lines, %d parsed, %d ignored, %d rejected",
						strict, take, workers, lines, parsed, ignored, rejected)
				}
				pf.Close()
			}
		}
	}
}
