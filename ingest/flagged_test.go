package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// flaggingParser is a laxParser that flags (FlagMasked) the lines it
// accepts that hold "flag", in its skim and in its parse alike.
type flaggingParser struct {
	laxParser
	flags *Flagged
}

func (p *flaggingParser) CountFlags(c *Flagged) { p.flags = c }

func (p *flaggingParser) Parse(line []byte, r *event.Record) error {
	err := p.laxParser.Parse(line, r)
	if err == nil && bytes.Contains(line, []byte("flag")) {
		p.flags.Add(FlagMasked)
	}
	return err
}

func (p *flaggingParser) Skim(line []byte, r *event.Record, want func(*event.Record) bool) (bool, error) {
	full, err := p.laxParser.Skim(line, r, want)
	if err == nil && bytes.Contains(line, []byte("flag")) {
		p.flags.Add(FlagMasked)
	}
	return full, err
}

func (p *flaggingParser) NewParser() Parser { return &flaggingParser{} }

// drainFlagged is drain with the source's Flagged counts.
func drainFlagged(t testing.TB, src Source) string {
	s := drain(t, src)
	st := src.Stats()
	for f := range NumFlags {
		s += fmt.Sprintf("%s=%d ", f, st.Flagged.Load(f))
	}
	return s
}

// TestPrefetchParallelFlaggedAsNext checks that PrefetchParallel counts
// the flagged lines as Next does, whatever the number of workers, also
// when a strict source stops early (at its first line, over-long, or at a
// bad line blocks after): the workers parse blocks ahead of the caller,
// but the lines they flag there are counted only once the caller reaches
// their block.
func TestPrefetchParallelFlaggedAsNext(t *testing.T) {
	dir := t.TempDir()
	var first, middle strings.Builder
	first.WriteString(strings.Repeat("x", 100) + "\n") // over-long
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&first, "ok-flag-%d\n", i)
		if i == 5000 {
			middle.WriteString("bad\n")
		}
		fmt.Fprintf(&middle, "ok-flag-%d\n", i)
	}
	files := map[string]string{"first": first.String(), "middle": middle.String()}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, skim := range []bool{false, true} {
			for _, strict := range []bool{false, true} {
				mk := func() *FileSource {
					fs := NewFileSource(FileSourceConfig{Kind: event.Proxy, Paths: []string{path}, Parser: &flaggingParser{}, MaxLineBytes: 40, Strict: strict})
					if skim {
						fs.Skim(func(r *event.Record) bool { return bytes.HasSuffix(r.Get(event.RequestID), []byte("7")) })
					}
					return fs
				}
				want := drainFlagged(t, mk())
				if !strings.Contains(want, "masked=") || (!strict && strings.Contains(want, "masked=0 ")) {
					t.Fatalf("%s: no line flagged: %s", name, want[len(want)-200:])
				}
				for workers := 1; workers <= 4; workers++ {
					p := PrefetchParallel(context.Background(), mk(), workers)
					if p.Workers() != workers {
						t.Fatalf("%d workers, want %d", p.Workers(), workers)
					}
					got := drainFlagged(t, p)
					p.Close()
					if got != want {
						t.Errorf("%s skim=%v strict=%v, %d workers: differs from Next:\n%s", name, skim, strict, workers, firstDiff(got, want))
					}
				}
			}
		}
	}
}

// TestPrefetchParallelFlaggedStoppedEarly stops a parallel read of lines
// that are all flagged: the flagged lines counted are never more than the
// lines counted, though the workers have parsed blocks further.
func TestPrefetchParallelFlaggedStoppedEarly(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 30000; i++ {
		fmt.Fprintf(&b, "ok-flag-%d\n", i)
	}
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for workers := 1; workers <= 4; workers++ {
		fs := NewFileSource(FileSourceConfig{Kind: event.Proxy, Paths: []string{path}, Parser: &flaggingParser{}})
		ctx, cancel := context.WithCancel(context.Background())
		p := PrefetchParallel(ctx, fs, workers)
		var r event.Record
		for i := 0; i < 1500; i++ {
			if err := p.Next(ctx, &r); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		for p.Next(ctx, &r) == nil {
		}
		if err := p.Close(); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		st := fs.Stats()
		if lines, flagged := st.Lines.Load(), st.Flagged.Load(FlagMasked); flagged != lines {
			t.Errorf("%d workers: %d lines flagged of %d lines counted", workers, flagged, lines)
		}
	}
}
