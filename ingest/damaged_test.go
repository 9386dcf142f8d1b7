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

// gz returns s gzip-compressed, a member of its own.
func gz(t testing.TB, s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// okLines returns lines "ok-0" to "ok-<n-1>", each ending with eol.
func okLines(n int, eol string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "ok-%d%s", i, eol)
	}
	return b.String()
}

// TestDamagedAndMarkedFiles reads, as the first file of a source whose
// second file is whole, gzip files damaged in several ways, and files
// with a byte order mark or CRLF line endings, through FileSource.Next
// and PrefetchParallel with 1 to 3 workers, strict or not: the lines
// before the damage are read, the damage is counted and reported with the
// file and line (or, strict, ends the source), the next file is read, and
// every way of reading gives the same records, Stats and errors.
func TestDamagedAndMarkedFiles(t *testing.T) {
	const n = 2500 // more lines than a block holds
	whole := gz(t, okLines(n, "\n"))
	header := whole[:10] // a member's header, before its compressed data
	tests := []struct {
		name  string
		data  []byte
		lines int64  // lines read from the file
		recs  int    // of which records
		first string // the first record's user name
		last  string // the last record's user name
		// damage is the damage's message after the file's name, ""
		// for none; damageHas, a part of it, if it cannot be told whole.
		damage, damageHas string
		rejected          []string // the errors kept, after the file's name
	}{
		{
			name:  "gzip cut at a line's end",
			data:  cutGzip(t, okLines(n, "\n"), "ok-lost\n"),
			lines: n, recs: n, first: "-0", last: fmt.Sprintf("-%d", n-1),
			damage: fmt.Sprintf("the compressed data ends early after line %d (unexpected EOF): the lines after it are lost", n),
		},
		{
			name:  "gzip cut inside a line",
			data:  cutGzip(t, okLines(n, "\n")+"no", "t ok\n"),
			lines: n + 1, recs: n, first: "-0", last: fmt.Sprintf("-%d", n-1),
			damage:   fmt.Sprintf("the compressed data ends early after line %d (unexpected EOF): the lines after it are lost", n+1),
			rejected: []string{fmt.Sprintf(":%d:1: expected \"ok\"", n+1)},
		},
		{
			name:  "gzip cut inside its header",
			data:  whole[:5],
			lines: 0, recs: 0,
			damage: "the compressed data ends early before its first line (unexpected EOF): the lines after it are lost",
		},
		{
			name:  "gzip cut in its last CRLF line",
			data:  cutGzip(t, okLines(3, "\r\n")+"ok-3\r", "\nok-4\r\n"),
			lines: 4, recs: 4, first: "-0", last: "-3",
			damage: "the compressed data ends early after line 4 (unexpected EOF): the lines after it are lost",
		},
		{
			name:  "gzip member of corrupt data after a whole one",
			data:  append(append(gz(t, okLines(n, "\n")), header...), 0xff, 0xff, 0xff, 0xff),
			lines: n, recs: n, first: "-0", last: fmt.Sprintf("-%d", n-1),
			damageHas: fmt.Sprintf("the compressed data is corrupt after line %d (flate: corrupt input before offset", n),
		},
		{
			name: "gzip failing its checksum",
			data: func() []byte {
				b := gz(t, okLines(n, "\n"))
				b[len(b)-8] ^= 1 // the CRC-32, before the length
				return b
			}(),
			lines: n, recs: n, first: "-0", last: fmt.Sprintf("-%d", n-1),
			damage: fmt.Sprintf("the compressed data fails its checksum after line %d (gzip: invalid checksum): lines before it may be wrong, and any data after it is not read", n),
		},
		{
			name:  "gzip followed by bytes that are not gzip",
			data:  append(gz(t, okLines(3, "\n")), "\x00\x00trailing"...),
			lines: 3, recs: 3, first: "-0", last: "-2",
			damage: "the compressed data is followed by bytes that are not gzip after line 3 (gzip: invalid header): the rest of the file is not read",
		},
		{
			name:  "gzip of two members",
			data:  append(gz(t, okLines(3, "\n")), gz(t, "ok-3\n")...),
			lines: 4, recs: 4, first: "-0", last: "-3",
		},
		{
			name:  "byte order mark",
			data:  []byte("\xef\xbb\xbf" + okLines(3, "\n")),
			lines: 3, recs: 3, first: "-0", last: "-2",
		},
		{
			name:  "byte order mark gzipped",
			data:  gz(t, "\xef\xbb\xbf"+okLines(3, "\n")),
			lines: 3, recs: 3, first: "-0", last: "-2",
		},
		{
			name:  "byte order mark alone",
			data:  []byte("\xef\xbb\xbf"),
			lines: 0, recs: 0,
		},
		{
			name:  "byte order mark not at the start is kept",
			data:  []byte("ok-0\n\xef\xbb\xbfok-1\nok-2\n"),
			lines: 3, recs: 2, first: "-0", last: "-2",
			rejected: []string{":2:1: expected \"ok\""},
		},
		{
			name:  "two byte order marks: the second is kept",
			data:  []byte("\xef\xbb\xbf\xef\xbb\xbfok-0\nok-1\n"),
			lines: 2, recs: 1, first: "-1", last: "-1",
			rejected: []string{":1:1: expected \"ok\""},
		},
		{
			name:  "CRLF",
			data:  []byte("\xef\xbb\xbf" + okLines(n, "\r\n")),
			lines: n, recs: n, first: "-0", last: fmt.Sprintf("-%d", n-1),
		},
		{
			name:  "CRLF gzipped, last line without one",
			data:  gz(t, okLines(n, "\r\n")+"ok-end"),
			lines: n + 1, recs: n + 1, first: "-0", last: "-end",
		},
	}
	dir := t.TempDir()
	next := filepath.Join(dir, "next.log")
	if err := os.WriteFile(next, []byte("ok-next\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		path := filepath.Join(dir, fmt.Sprintf("%d.log", i))
		if err := os.WriteFile(path, tt.data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, strict := range []bool{false, true} {
			name := tt.name
			if strict {
				name += ", strict"
			}
			t.Run(name, func(t *testing.T) {
				mk := func() *FileSource {
					return NewFileSource(FileSourceConfig{Kind: event.App, Format: "words", Paths: []string{path, next},
						Parser: wordParser{}, NewParser: func() Parser { return wordParser{} }, Strict: strict})
				}
				src := mk()
				var recs []string
				var r event.Record
				var end error
				for range tt.recs + 2 {
					if end = src.Next(context.Background(), &r); end != nil {
						break
					}
					recs = append(recs, string(r.Get(event.UserName)))
				}
				damaged := tt.damage != "" || tt.damageHas != ""
				stopped := strict && (damaged || len(tt.rejected) > 0)
				if !stopped && !errors.Is(end, io.EOF) || stopped && (end == nil || errors.Is(end, io.EOF)) {
					t.Fatalf("ended with %v", end)
				}
				st := src.Stats()
				if !stopped {
					// The next file is read.
					if len(recs) != tt.recs+1 || recs[len(recs)-1] != "-next" {
						t.Fatalf("%d records, the last %q; want %d and the next file's", len(recs), recs[len(recs)-1:], tt.recs+1)
					}
					if st.Lines.Load() != tt.lines+1 {
						t.Errorf("%d lines, want %d", st.Lines.Load(), tt.lines+1)
					}
				}
				if !stopped && tt.recs > 0 && (recs[0] != tt.first || recs[tt.recs-1] != tt.last) {
					t.Errorf("records %q ... %q, want %q ... %q", recs[0], recs[len(recs)-1], tt.first, tt.last)
				}
				var got []string
				for _, err := range st.Errors() {
					got = append(got, strings.TrimPrefix(err.Error(), path))
				}
				if want := tt.rejected; len(want) > 0 && (len(got) == 0 || got[0] != want[0]) || len(want) == 0 && len(got) > 0 {
					t.Errorf("rejected %q, want %q", got, want)
				}
				// A strict source stops at a rejected line before the
				// damage after it.
				if strict && len(tt.rejected) > 0 {
					damaged = false
				}
				ds := st.Damages()
				if !damaged {
					if st.Damaged.Load() != 0 || len(ds) != 0 {
						t.Errorf("damaged: %d %q", st.Damaged.Load(), ds)
					}
				} else {
					var de *DamagedError
					if st.Damaged.Load() != 1 || len(ds) != 1 || !errors.As(ds[0], &de) || de.Source != path || de.Line != tt.lines {
						t.Fatalf("damaged: %d %q", st.Damaged.Load(), ds)
					}
					msg := ds[0].Error()
					if tt.damage != "" && msg != path+": "+tt.damage || !strings.Contains(msg, tt.damageHas) {
						t.Errorf("damaged: %s\nwant      %s: %s%s", msg, path, tt.damage, tt.damageHas)
					}
					if strict && (!errors.As(end, &de) || end.Error() != msg) {
						t.Errorf("strict: ended with %v, want %s", end, msg)
					}
				}

				want := drain(t, mk())
				for _, workers := range []int{1, 2, 3} {
					fs := mk()
					p := prefetchChunks(context.Background(), fs, fs.workers(workers))
					got := drain(t, p)
					if err := p.Close(); (err != nil) != stopped {
						t.Errorf("%d workers: Close: %v", workers, err)
					}
					if got != want {
						t.Errorf("%d workers: differs from Next:\n%s", workers, firstDiff(got, want))
					}
				}
			})
		}
	}
}

// TestLineReaderDamaged checks that a LineReader gives the line a damaged
// file's data cuts short, and then, at every call, the damage with the
// lines read.
func TestLineReaderDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cut.gz")
	if err := os.WriteFile(path, cutGzip(t, "a\r\nbc", "d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rc, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	lr := NewLineReader(rc, 0)
	var got []string
	for range 3 {
		l, n, err := lr.Next()
		if err != nil {
			break
		}
		got = append(got, fmt.Sprintf("%d:%s", n, l))
	}
	if strings.Join(got, " ") != "1:a 2:bc" {
		t.Errorf("lines %q", got)
	}
	for range 2 {
		_, n, err := lr.Next()
		var de *DamagedError
		if !errors.As(err, &de) || de.Line != 2 || n != 2 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("after the lines: %d %v", n, err)
		}
	}
}
