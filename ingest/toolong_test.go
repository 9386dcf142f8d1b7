package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
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

// TestTooLongLineNumbers checks that each over-long line of a run is
// rejected with its own line number, by Next and by PrefetchParallel with
// any number of workers, and that a strict source stops at the first.
func TestTooLongLineNumbers(t *testing.T) {
	long := strings.Repeat("x", 50) + "\n"
	lines := func(spec ...string) string { return strings.Join(spec, "") }
	oks := func(n int) string { return strings.Repeat("ok\n", n) }
	runOf := func(n int) string { return strings.Repeat(long, n) }
	for _, c := range []struct {
		name   string
		data   string
		want   []int64 // the lines of the errors kept, in order
		strict int64   // the line a strict source stops at
	}{
		{"run and one", lines(oks(2), runOf(4), oks(4), long, oks(1)), []int64{3, 4, 5, 6, 11}, 3},
		{"one", lines(oks(2), long, oks(2)), []int64{3}, 3},
		{"every line", runOf(8), []int64{1, 2, 3, 4, 5}, 1},
		{"first lines", lines(runOf(2), oks(1)), []int64{1, 2}, 1},
		{"last lines", lines(oks(3), runOf(2)), []int64{4, 5}, 4},
		{"last without newline", lines(oks(3), long, strings.TrimSuffix(long, "\n")), []int64{4, 5}, 4},
		{"bad line between runs", lines(runOf(2), "bad\n", runOf(2), oks(1)), []int64{1, 2, 3, 4, 5}, 1},
		{"run longer than kept", lines(oks(1), runOf(7), oks(1), long), []int64{2, 3, 4, 5, 6}, 2},
		{"run across blocks", lines(oks(blockLines/2), runOf(blockLines+7), oks(2)), []int64{blockLines/2 + 1, blockLines/2 + 2, blockLines/2 + 3, blockLines/2 + 4, blockLines/2 + 5}, blockLines/2 + 1},
		{"run after a block", lines(oks(blockLines), runOf(3), oks(1)), []int64{blockLines + 1, blockLines + 2, blockLines + 3}, blockLines + 1},
	} {
		path := filepath.Join(t.TempDir(), "a.log")
		if err := os.WriteFile(path, []byte(c.data), 0o644); err != nil {
			t.Fatal(err)
		}
		total := int64(strings.Count(c.data, "\n"))
		if !strings.HasSuffix(c.data, "\n") {
			total++
		}
		for _, strict := range []bool{false, true} {
			mk := func() *FileSource {
				return NewFileSource(FileSourceConfig{Kind: event.Proxy, Paths: []string{path}, Parser: wordParser{}, NewParser: func() Parser { return wordParser{} }, MaxLineBytes: 20, Strict: strict})
			}
			check := func(how string, src Source) {
				t.Helper()
				out := drain(t, src)
				var got []int64
				for _, err := range src.Stats().Errors() {
					var se *SyntaxError
					if !errors.As(err, &se) {
						t.Fatalf("%s, %s: error %v is not a SyntaxError", c.name, how, err)
					}
					got = append(got, se.Line)
				}
				want := c.want
				if strict {
					want = []int64{c.strict}
					if stop := fmt.Sprintf("error: %s:%d: line longer than 20 bytes skipped\n", path, c.strict); !strings.Contains(out, stop) {
						t.Errorf("%s, %s, strict: output %q, want the stop %q", c.name, how, out[max(0, len(out)-200):], stop)
					}
				} else if st := src.Stats(); st.Parsed.Load()+st.Ignored.Load()+st.Rejected.Load() != total || st.Lines.Load() != total {
					t.Errorf("%s, %s: parsed+ignored+rejected = %d, lines = %d, want %d", c.name, how, st.Parsed.Load()+st.Ignored.Load()+st.Rejected.Load(), st.Lines.Load(), total)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s, %s, strict %v: errors at lines %v, want %v", c.name, how, strict, got, want)
				}
			}
			check("Next", mk())
			for _, workers := range []int{1, 3} {
				fs := mk()
				p := prefetchChunks(context.Background(), fs, fs.workers(workers))
				check(fmt.Sprintf("PrefetchParallel with %d workers", workers), p)
				p.Close()
			}
		}
	}
}

// TestByteOrderMarkAtLineCap checks that a byte order mark does not count
// toward the first line's length: a first line of exactly the cap after
// one is kept, one a byte longer is skipped as too long, plain or gzipped,
// with either line ending, by Next and by PrefetchParallel. The follower
// of serve is held to the same (ingest/follow's TestByteOrderMarkAtLineCap).
func TestByteOrderMarkAtLineCap(t *testing.T) {
	const bom, limit = "\xef\xbb\xbf", 20
	at := "ok" + strings.Repeat("a", limit-2) // limit bytes
	over := at + "a"
	for _, c := range []struct {
		name    string
		data    string
		gzip    bool
		first   string // the first record's user name, "" for none kept
		tooLong int64
	}{
		{"at the cap", bom + at + "\nok-1\n", false, at[2:], 0},
		{"at the cap, CRLF", bom + at + "\r\nok-1\r\n", false, at[2:], 0},
		{"at the cap, gzipped", bom + at + "\nok-1\n", true, at[2:], 0},
		{"at the cap, no line ending", bom + at, false, at[2:], 0},
		{"over the cap", bom + over + "\nok-1\n", false, "-1", 1},
		{"over the cap, CRLF", bom + over + "\r\nok-1\r\n", false, "-1", 1},
		{"over the cap, gzipped", bom + over + "\nok-1\n", true, "-1", 1},
	} {
		data := []byte(c.data)
		if c.gzip {
			data = gz(t, c.data)
		}
		path := filepath.Join(t.TempDir(), "a.log")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		mk := func() *FileSource {
			return NewFileSource(FileSourceConfig{Kind: event.Proxy, Paths: []string{path}, Parser: wordParser{}, NewParser: func() Parser { return wordParser{} }, MaxLineBytes: limit})
		}
		check := func(how string, src Source) {
			t.Helper()
			var r event.Record
			var first string
			for range 4 {
				err := src.Next(context.Background(), &r)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("%s, %s: %v", c.name, how, err)
				}
				if first == "" {
					first = string(r.Get(event.UserName))
				}
			}
			if first != c.first {
				t.Errorf("%s, %s: first record %q, want %q", c.name, how, first, c.first)
			}
			if st := src.Stats(); st.TooLong.Load() != c.tooLong || st.Rejected.Load() != c.tooLong {
				t.Errorf("%s, %s: %d too long, %d rejected, want %d of both", c.name, how, st.TooLong.Load(), st.Rejected.Load(), c.tooLong)
			}
		}
		check("Next", mk())
		for _, workers := range []int{1, 3} {
			fs := mk()
			p := prefetchChunks(context.Background(), fs, fs.workers(workers))
			check(fmt.Sprintf("PrefetchParallel with %d workers", workers), p)
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
