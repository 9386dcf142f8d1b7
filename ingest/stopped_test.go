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
// them, a rejected line (and an over-long one, also counted as too long)
// once the reader reaches it.
func TestStoppedEarlyBalances(t *testing.T) {
	var b strings.Builder
	for i := range 40 {
		switch i {
		case 10, 11: // a run of over-long lines, which keeps one error
			b.WriteString(strings.Repeat("x", 200) + "\n")
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
		for _, take := range []int{0, 1, 5, 9, 10, 19, 20, 30, 40} {
			for _, workers := range []int{1, 3} {
				fs := NewFileSource(FileSourceConfig{Kind: event.App, Paths: []string{p}, Parser: wordParser{}, NewParser: func() Parser { return wordParser{} }, Strict: strict, MaxLineBytes: 100})
				pf := PrefetchParallel(context.Background(), fs, workers)
				var r event.Record
				for range take {
					if err := pf.Next(context.Background(), &r); err != nil {
						break
					}
				}
				st := pf.Stats()
				lines, parsed, ignored, rejected := st.Lines.Load(), st.Parsed.Load(), st.Ignored.Load(), st.Rejected.Load()
				if long := st.TooLong.Load(); lines != parsed+ignored+rejected || long > rejected || take == 40 && !strict && long != 2 {
					t.Errorf("strict %v, %d taken, %d workers: %d lines, %d parsed, %d ignored, %d rejected (%d too long)",
						strict, take, workers, lines, parsed, ignored, rejected, long)
				}
				pf.Close()
			}
		}
	}
}
