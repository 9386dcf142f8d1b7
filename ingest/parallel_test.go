package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// chunkInputs writes two files, the second gzipped, of n lines each
// with every kind of line a source counts: good, ignored, rejected by
// the parse, rejected only by the completion of a skimmed record (bad),
// too long (alone, two in a row, first and last in a file), CRLF, and a
// last line without a newline; and between them a gzip file cut short in
// the middle of a line, after n/2 lines.
func chunkInputs(t testing.TB, n int) []string {
	paths := chunkFiles(t, n)
	cut := filepath.Join(filepath.Dir(paths[0]), "cut.log.gz")
	var whole strings.Builder
	for i := 0; i < n/2; i++ {
		fmt.Fprintf(&whole, "ok-cut-%d\n", i)
	}
	whole.WriteString("ok-partial")
	if err := os.WriteFile(cut, cutGzip(t, whole.String(), "-line\nok-lost\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{paths[0], cut, paths[1]}
}

// cutGzip returns the gzip compression of kept and then lost, cut short
// where lost begins: it decompresses to kept and then ends early.
func cutGzip(t testing.TB, kept, lost string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(kept))
	if err := zw.Flush(); err != nil { // kept can be decompressed from what is written so far
		t.Fatal(err)
	}
	n := buf.Len()
	zw.Write([]byte(lost))
	zw.Close()
	return buf.Bytes()[:n]
}

// chunkFiles writes chunkInputs' two whole files.
func chunkFiles(t testing.TB, n int) []string {
	dir := t.TempDir()
	var paths []string
	for f := 0; f < 2; f++ {
		var b strings.Builder
		if f == 1 {
			b.WriteString(strings.Repeat("L", 50) + "\n")
		}
		for i := 0; i < n; i++ {
			switch {
			case i%331 == 5:
				b.WriteString("garbage line\n")
			case i%97 == 3:
				b.WriteString("skip\n")
			case i%1500 == 700:
				b.WriteString(strings.Repeat("x", 60) + "\n" + strings.Repeat("y", 45) + "\n")
			case i%1100 == 9:
				b.WriteString(strings.Repeat("z", 41) + "\n")
			case i%501 == 17:
				fmt.Fprintf(&b, "bad-%d\n", i)
			case i%13 == 1:
				fmt.Fprintf(&b, "ok-%d-crlf\r\n", i)
			default:
				fmt.Fprintf(&b, "ok-%d-%s\n", i, strings.Repeat("v", i%30))
			}
		}
		data := []byte(b.String())
		if f == 1 {
			data = append(data, "ok-last-without-newline"...)
		} else {
			data = append(data, strings.Repeat("T", 70)...) // too long, at the end, no newline
		}
		path := filepath.Join(dir, fmt.Sprintf("f%d.log", f))
		if f == 1 {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(data)
			zw.Close()
			data = buf.Bytes()
			path += ".gz"
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths
}

// drain reads src to its end as a replay would, completing every partial
// record, and describes every record, the error that ended it and the
// source's Stats.
func drain(t testing.TB, src Source) string {
	var b strings.Builder
	var r event.Record
	for {
		err := src.Next(context.Background(), &r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(&b, "error: %v\n", err)
			break
		}
		fmt.Fprintf(&b, "%s %d %q raw=%q@%d", r.Kind, r.Time, r.Values, r.Raw, r.RawLine)
		if r.Partial() {
			c, err := r.Complete()
			if err != nil {
				fmt.Fprintf(&b, " completion: %v", err)
			} else {
				fmt.Fprintf(&b, " completed: %q", c.Values)
			}
		}
		b.WriteByte('\n')
	}
	st := src.Stats()
	fmt.Fprintf(&b, "%s %s %s: %d lines, %d parsed, %d ignored, %d rejected (%d too long)\n",
		st.Name, st.Kind, st.Format, st.Lines.Load(), st.Parsed.Load(), st.Ignored.Load(), st.Rejected.Load(), st.TooLong.Load())
	for _, err := range st.Errors() {
		fmt.Fprintf(&b, "rejected: %v\n", err)
	}
	fmt.Fprintf(&b, "%d damaged files\n", st.Damaged.Load())
	for _, err := range st.Damages() {
		fmt.Fprintf(&b, "damaged: %v\n", err)
	}
	return b.String()
}

// records is what drain says without the rejected lines kept.
func records(drained string) string {
	var b strings.Builder
	for line := range strings.Lines(drained) {
		if !strings.HasPrefix(line, "rejected: ") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// TestPrefetchParallelSameAsNext reads generated files through FileSource.Next
// and through PrefetchParallel with 1 to 4 workers (and Prefetch), parsing in full (with
// FileSourceConfig.NewParser) or skimming (with a Skimmer's NewParser),
// strict or not: records, errors and Stats must be identical.
func TestPrefetchParallelSameAsNext(t *testing.T) {
	paths := chunkInputs(t, 3000)
	want7 := func(r *event.Record) bool { return bytes.Contains(r.Get(event.RequestID), []byte("7")) }
	for _, c := range []struct {
		name   string
		skim   bool
		strict bool
	}{{"full", false, false}, {"skim", true, false}, {"full-strict", false, true}, {"skim-strict", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			mk := func() *FileSource {
				cfg := FileSourceConfig{Kind: event.Proxy, Format: "words", Paths: paths, MaxLineBytes: 40, Strict: c.strict}
				if c.skim {
					cfg.Parser = laxParser{}
				} else {
					cfg.Parser = wordParser{}
					cfg.NewParser = func() Parser { return wordParser{} }
				}
				fs := NewFileSource(cfg)
				if c.skim {
					fs.Skim(want7)
				}
				return fs
			}
			want := drain(t, mk())
			if !c.strict && (!strings.Contains(want, "too long") || !strings.Contains(want, "last-without-newline")) {
				t.Fatalf("inputs do not reach the second file or have no over-long line:\n%s", want[len(want)-600:])
			}
			if wantCut := fmt.Sprintf("damaged: %s: the compressed data ends early after line 1501 (unexpected EOF)", paths[1]); !c.strict && !strings.Contains(want, wantCut) {
				t.Fatalf("no %q:\n%s", wantCut, want[len(want)-600:])
			}
			if c.strict && !strings.Contains(want, "error: ") {
				t.Fatal("strict source did not stop")
			}
			for _, workers := range []int{1, 2, 3, 4} {
				fs := mk()
				p := prefetchChunks(context.Background(), fs, fs.workers(workers))
				got := drain(t, p)
				if err := p.Close(); err != nil && !c.strict {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("%d workers: records or stats differ from Next (%d vs %d lines):\n%s", workers, strings.Count(got, "\n"), strings.Count(want, "\n"), firstDiff(got, want))
				}
			}
			// Prefetch, whose batches of 100 records span the two files
			// and their completers. Its source runs ahead of the
			// completions: the rejected lines it keeps may be others.
			p := Prefetch(context.Background(), mk(), 100)
			got := drain(t, p)
			if err := p.Close(); err != nil && !c.strict {
				t.Fatal(err)
			}
			if got, want := records(got), records(want); got != want {
				t.Errorf("Prefetch: records differ from Next:\n%s", firstDiff(got, want))
			}
		})
	}
}

// TestPrefetchParallelFallback checks which sources PrefetchParallel parses
// with several workers.
func TestPrefetchParallelFallback(t *testing.T) {
	paths := chunkInputs(t, 10)
	for _, c := range []struct {
		name    string
		cfg     FileSourceConfig
		skim    bool
		workers int
		want    int
	}{
		{"one worker", FileSourceConfig{Parser: laxParser{}}, false, 1, 1},
		{"zero", FileSourceConfig{Parser: laxParser{}}, false, 0, 1},
		{"no NewParser", FileSourceConfig{Parser: wordParser{}}, false, 3, 1},
		{"config NewParser", FileSourceConfig{Parser: wordParser{}, NewParser: func() Parser { return wordParser{} }}, false, 3, 3},
		{"skim needs a Skimmer", FileSourceConfig{Parser: laxParser{}, NewParser: func() Parser { return wordParser{} }}, true, 2, 1},
		{"Skimmer", FileSourceConfig{Parser: laxParser{}}, true, 2, 2},
	} {
		c.cfg.Paths, c.cfg.Kind = paths, event.Proxy
		fs := NewFileSource(c.cfg)
		if c.skim {
			fs.Skim(func(*event.Record) bool { return false })
		}
		p := PrefetchParallel(context.Background(), fs, c.workers)
		if p.Workers() != c.want {
			t.Errorf("%s: %d workers, want %d", c.name, p.Workers(), c.want)
		}
		drain(t, p)
		p.Close()
	}
	// Not a FileSource: Prefetch.
	ctx, cancel := context.WithCancel(context.Background())
	p := PrefetchParallel(ctx, endlessSource{}, 4)
	if p.Workers() != 1 {
		t.Errorf("not a FileSource: %d workers, want 1", p.Workers())
	}
	cancel()
	p.Close()
}

// TestPrefetchParallelErrors checks a missing file after a good one, and
// cancellation and Close in the middle of a file.
func TestPrefetchParallelErrors(t *testing.T) {
	paths := chunkInputs(t, 3000)
	mk := func(paths ...string) *FileSource {
		return NewFileSource(FileSourceConfig{Kind: event.Proxy, Paths: paths, Parser: wordParser{}, NewParser: func() Parser { return wordParser{} }, MaxLineBytes: 40})
	}
	missing := filepath.Join(t.TempDir(), "missing.log")
	want := drain(t, mk(paths[0], missing))
	if !strings.Contains(want, "error: opening proxy log: open "+missing) {
		t.Fatalf("no error for the missing file:\n%s", want[len(want)-300:])
	}
	p := PrefetchParallel(context.Background(), mk(paths[0], missing), 2)
	if got := drain(t, p); got != want {
		t.Errorf("missing file: differs from Next:\n%s", firstDiff(got, want))
	}
	if err := p.Close(); err == nil {
		t.Error("Close after a missing file: no error")
	}

	ctx, cancel := context.WithCancel(context.Background())
	p = PrefetchParallel(ctx, mk(paths...), 3)
	var r event.Record
	for i := 0; i < 1500; i++ {
		if err := p.Next(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	for {
		if err := p.Next(ctx, &r); err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("after cancel: %v", err)
			}
			break
		}
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close after cancel: %v", err)
	}

	p = PrefetchParallel(context.Background(), mk(paths...), 2)
	if err := p.Next(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil { // workers busy, blocks in flight
		t.Errorf("early Close: %v", err)
	}
}

// firstDiff shows where two descriptions part.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, a, b)
		}
	}
	return "(same)"
}

// TestPrefetchParallelLongLines reads lines longer than a block between
// short ones: the blocks grow for them and shrink back.
func TestPrefetchParallelLongLines(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 3000; i++ {
		switch i {
		case 100, 2500:
			b.WriteString("ok" + strings.Repeat("L", 600<<10) + "\n")
		case 1200:
			b.WriteString("ok" + strings.Repeat("M", 100<<10) + "\n")
		case 1300:
			b.WriteString("ok" + strings.Repeat("T", 2<<20) + "\n") // too long
		}
		fmt.Fprintf(&b, "ok-%d\n", i)
	}
	path := filepath.Join(t.TempDir(), "long.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	mk := func() *FileSource {
		return NewFileSource(FileSourceConfig{Kind: event.App, Paths: []string{path}, Parser: wordParser{}, NewParser: func() Parser { return wordParser{} }, MaxLineBytes: 1 << 20})
	}
	want := drain(t, mk())
	if !strings.Contains(want, "3003 parsed") || !strings.Contains(want, "(1 too long)") {
		t.Fatalf("inputs: %s", want[len(want)-300:])
	}
	p := PrefetchParallel(context.Background(), mk(), 2)
	defer p.Close()
	if got := drain(t, p); got != want {
		t.Errorf("differs from Next:\n%s", firstDiff(got, want))
	}
}
