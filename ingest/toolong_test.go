package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// TestTooLongCountedAsRejected checks that every over-long line is counted
// as rejected, not once per run of them, by Next and by PrefetchParallel.
func TestTooLongCountedAsRejected(t *testing.T) {
	long := strings.Repeat("x", 50) + "\n"
	oks := func(n int) string { return strings.Repeat("ok\n", n) }
	for _, c := range []struct {
		name    string
		data    string
		tooLong int64
	}{
		{"one", oks(2) + long + oks(2), 1},
		{"run of three", oks(2) + strings.Repeat(long, 3) + oks(2), 3},
		{"two runs", long + long + oks(1) + long + long + long + oks(1), 5},
		{"first lines", strings.Repeat(long, 4) + oks(1), 4},
		{"last line", oks(3) + long, 1},
		{"last lines without newline", oks(3) + long + long + strings.TrimSuffix(long, "\n"), 3},
		{"at a block boundary", oks(blockLines-2) + strings.Repeat(long, 5) + oks(3), 5},
		{"ending a block", oks(blockLines) + strings.Repeat(long, 3) + oks(1), 3},
		{"run across blocks", oks(blockLines/2) + strings.Repeat(long, blockLines+7) + oks(2), blockLines + 7},
	} {
		path := filepath.Join(t.TempDir(), "a.log")
		if err := os.WriteFile(path, []byte(c.data), 0o644); err != nil {
			t.Fatal(err)
		}
		lines := int64(strings.Count(c.data, "\n"))
		if !strings.HasSuffix(c.data, "\n") {
			lines++
		}
		mk := func() *FileSource {
			return NewFileSource(FileSourceConfig{Kind: event.Proxy, Paths: []string{path}, Parser: wordParser{}, NewParser: func() Parser { return wordParser{} }, MaxLineBytes: 20})
		}
		check := func(how string, src Source) {
			drain(t, src)
			st := src.Stats()
			if st.TooLong.Load() != c.tooLong || st.Rejected.Load() != c.tooLong {
				t.Errorf("%s, %s: %d rejected, %d too long, want %d of both", c.name, how, st.Rejected.Load(), st.TooLong.Load(), c.tooLong)
			}
			if got := st.Parsed.Load() + st.Ignored.Load() + st.Rejected.Load(); got != st.Lines.Load() || got != lines {
				t.Errorf("%s, %s: parsed+ignored+rejected = %d, lines = %d, want %d", c.name, how, got, st.Lines.Load(), lines)
			}
		}
		check("Next", mk())
		for _, workers := range []int{1, 3} {
			fs := mk()
			p := prefetchChunks(context.Background(), fs, fs.workers(workers))
			check("PrefetchParallel", p)
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
