package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// lineEvents describes the lines a LineReader returns and skips, as
// FileSource counts them: each kept line with the over-long lines skipped
// before it, then the end and the over-long lines skipped last.
func lineEvents(r io.Reader, maxLine int) string {
	var b strings.Builder
	lr := NewLineReader(r, maxLine)
	for {
		long := lr.Skipped()
		line, n, err := lr.Next()
		skipped := lr.Skipped() - long
		switch {
		case err == nil && skipped > 0:
			fmt.Fprintf(&b, "skipped %d, first %d\n", skipped, n-skipped)
		case err != nil && skipped > 0:
			fmt.Fprintf(&b, "skipped %d, first %d\n", skipped, n-skipped+1)
		}
		if err != nil {
			fmt.Fprintf(&b, "end: %v\n", err)
			return b.String()
		}
		fmt.Fprintf(&b, "%d %q\n", n, line)
	}
}

// splitEvents is lineEvents for a splitter with small blocks.
func splitEvents(r io.Reader, maxLine, lines, size int) string {
	var b strings.Builder
	s := &splitter{r: r, max: lineCap(maxLine), lines: lines, bytes: size}
	blk := &block{}
	for {
		final := s.fill(blk)
		kept := 0
		for _, ln := range blk.lines {
			if ln.long > 0 {
				fmt.Fprintf(&b, "skipped %d, first %d\n", ln.long, ln.firstLong())
			}
			switch {
			case ln.run:
				// Whole lines, each with its newline: cut here as a
				// worker cuts them.
				n := ln.n
				for _, l := range bytes.SplitAfter(blk.data[ln.off:ln.end], []byte{'\n'}) {
					if len(l) == 0 {
						break
					}
					if l[len(l)-1] != '\n' {
						fmt.Fprintf(&b, "run without a newline at its end\n")
					}
					l = bytes.TrimSuffix(bytes.TrimSuffix(l, []byte{'\n'}), []byte{'\r'})
					fmt.Fprintf(&b, "%d %q\n", n, l)
					n++
					kept++
				}
			case !ln.none:
				fmt.Fprintf(&b, "%d %q\n", ln.n, blk.data[ln.off:ln.end])
				kept++
			}
		}
		if kept > lines || kept != blk.count {
			fmt.Fprintf(&b, "block of %d lines, counted %d\n", kept, blk.count)
		}
		if s.err != nil {
			fmt.Fprintf(&b, "end: %v\n", s.err)
			return b.String()
		}
		if final {
			fmt.Fprintf(&b, "end: %v\n", io.EOF)
			return b.String()
		}
	}
}

// readers gives the same bytes in reads of every shape: whole, one byte at
// a time, halves, and the last bytes together with the end.
var readers = []struct {
	name string
	r    func([]byte) io.Reader
}{
	{"plain", func(b []byte) io.Reader { return bytes.NewReader(b) }},
	{"one byte", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
	{"half", func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) }},
	{"data with EOF", func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }},
}

// checkSplit compares the splitter with LineReader over data read in
// every shape and cut in blocks of several sizes.
func checkSplit(t *testing.T, data []byte, maxLine int) {
	t.Helper()
	want := lineEvents(bytes.NewReader(data), maxLine)
	for _, rd := range readers {
		if got := lineEvents(rd.r(data), maxLine); got != want {
			t.Fatalf("LineReader, %s reads, max %d: %q\n%s", rd.name, maxLine, data, firstDiff(got, want))
		}
		for _, size := range [][2]int{{1, 1}, {2, 20}, {3, 64}, {1024, 256 << 10}} {
			if got := splitEvents(rd.r(data), maxLine, size[0], size[1]); got != want {
				t.Fatalf("splitter, %s reads, max %d, blocks of %d lines, %d bytes: %q\n%s", rd.name, maxLine, size[0], size[1], data, firstDiff(got, want))
			}
		}
	}
	// The same bytes, then a read error (damaged compressed data): the
	// line it cuts short is kept or skipped alike.
	failing := func() io.Reader { return io.MultiReader(bytes.NewReader(data), iotest.ErrReader(errDamagedTest)) }
	want = lineEvents(failing(), maxLine)
	for _, size := range [][2]int{{1, 1}, {3, 64}, {1024, 256 << 10}} {
		if got := splitEvents(failing(), maxLine, size[0], size[1]); got != want {
			t.Fatalf("splitter, read error, max %d, blocks of %d lines, %d bytes: %q\n%s", maxLine, size[0], size[1], data, firstDiff(got, want))
		}
	}
}

var errDamagedTest = &DamagedError{Err: io.ErrUnexpectedEOF}

func TestSplitterAsLineReader(t *testing.T) {
	long := strings.Repeat("x", 40)
	for _, data := range []string{
		"",
		"\n",
		"a",
		"a\nb\n",
		"a\r\nb\r\n\r\n",
		"a\r",
		"\r\n\n\n",
		long + "\n",
		long,
		long + "\nok\n",
		"ok\n" + long + "\n" + long + "\nok\n" + long,
		strings.Repeat("y", 20) + "\n" + strings.Repeat("y", 21) + "\n" + strings.Repeat("y", 19) + "\r\n",
		strings.Repeat("z", 20),
		strings.Repeat("z", 21),
		strings.Repeat("z", 16),
		strings.Repeat("z", 15),
		strings.Repeat("c", 20) + "\r\n" + strings.Repeat("c", 21) + "\r\n" + strings.Repeat("c", 20) + "\r",
		strings.Repeat("c", 19) + "\r\r\n" + strings.Repeat("c", 20) + "\r\r\n" + strings.Repeat("c", 20) + "\r\r",
		"abc\r\nabcd\r\nab\n",
		strings.Repeat("line\n", 50) + long + strings.Repeat("\nl", 30),
	} {
		for _, maxLine := range []int{1, 3, 15, 20, 1000} {
			checkSplit(t, []byte(data), maxLine)
		}
	}
	// Lines longer than a read, kept and skipped.
	big := "a\n" + strings.Repeat("b", 100<<10) + "\nc\n" + strings.Repeat("d", 300<<10) + "\ne"
	for _, maxLine := range []int{200 << 10, 0} {
		want := lineEvents(strings.NewReader(big), maxLine)
		if got := splitEvents(strings.NewReader(big), maxLine, 1024, 256<<10); got != want {
			t.Errorf("long lines, max %d:\n%s", maxLine, firstDiff(got, want))
		}
	}
	// An error after some lines: the lines before it, the line it cuts
	// short as a last line (or, over-long, skipped), then the error.
	boom := errors.New("boom")
	for _, c := range []struct{ in, want string }{
		{"a\nb\n" + long + "\nc", "1 \"a\"\n2 \"b\"\nskipped 1, first 3\n4 \"c\"\nend: boom\n"},
		{"a\nb\r\n", "1 \"a\"\n2 \"b\"\nend: boom\n"},
		{"a\nb\r", "1 \"a\"\n2 \"b\"\nend: boom\n"},
		{"a\n" + long, "1 \"a\"\nskipped 1, first 2\nend: boom\n"},
		{"", "end: boom\n"},
	} {
		r := func() io.Reader { return io.MultiReader(strings.NewReader(c.in), iotest.ErrReader(boom)) }
		if got := lineEvents(r(), 20); got != c.want {
			t.Errorf("LineReader, read error after %q: got\n%swant\n%s", c.in, got, c.want)
		}
		if got := splitEvents(r(), 20, 2, 64); got != c.want {
			t.Errorf("splitter, read error after %q: got\n%swant\n%s", c.in, got, c.want)
		}
	}
}

func FuzzSplitter(f *testing.F) {
	f.Add([]byte("a\nb\r\n"+strings.Repeat("x", 30)+"\nc"), uint8(20))
	f.Add([]byte(strings.Repeat("z", 21)), uint8(20))
	f.Add([]byte("\n\n\r\n"), uint8(0))
	f.Add([]byte("a\r\nb\r"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, maxLine uint8) {
		checkSplit(t, data, int(maxLine))
	})
}
