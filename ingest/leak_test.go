package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/internal/leaktest"
)

// TestPrefetchStoppedEarlyEndsGoroutines checks that a source read ahead
// and stopped early (a strict source at its first bad line, ctx
// cancelled, the caller giving up) leaves no goroutine behind once
// closed, whatever the number of workers.
func TestPrefetchStoppedEarlyEndsGoroutines(t *testing.T) {
	var b strings.Builder
	for i := range 20000 {
		if i == 3000 {
			b.WriteString("bad\n")
			continue
		}
		b.WriteString("ok line\n")
	}
	p := filepath.Join(t.TempDir(), "a.log")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{0, 1, 4} {
		for _, stop := range []string{"strict", "cancel", "close"} {
			check := leaktest.Check(t)
			ctx, cancel := context.WithCancel(context.Background())
			fs := NewFileSource(FileSourceConfig{Kind: event.App, Paths: []string{p}, Parser: wordParser{},
				NewParser: func() Parser { return wordParser{} }, Strict: stop == "strict"})
			var pf *Prefetcher
			if workers == 0 {
				pf = Prefetch(ctx, fs, 64)
			} else {
				pf = PrefetchParallel(ctx, fs, workers)
			}
			var r event.Record
			for i := 0; ; i++ {
				if stop == "cancel" && i == 100 {
					cancel()
				}
				if stop == "close" && i == 100 {
					break
				}
				if err := pf.Next(ctx, &r); err != nil {
					break
				}
			}
			pf.Close()
			cancel()
			if workers == 0 {
				fs.Close()
			}
			check()
			if t.Failed() {
				t.Fatalf("%d workers, stopped by %s", workers, stop)
			}
		}
	}
}
