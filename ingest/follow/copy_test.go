package follow

import (
	"bytes"
	"compress/gzip"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// copyTruncate does what logrotate's copytruncate does: copies the file p
// to the new file to, then truncates p.
func copyTruncate(t *testing.T, p, to string) {
	t.Helper()
	copyFile(t, p, to)
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, p, to string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// gzipFile compresses p to p+".gz" and removes p, as logrotate's compress
// does.
func gzipFile(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p+".gz", z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

// checkCounts checks the lines read and the copies recognised.
func checkCounts(t *testing.T, s *Source, lines, copies, copied int64) {
	t.Helper()
	st, c := s.Stats(), s.Counters()
	if got := st.Lines.Load(); got != lines {
		t.Errorf("%d lines read, want %d", got, lines)
	}
	if got := st.Rejected.Load(); got != 0 {
		t.Errorf("%d lines rejected", got)
	}
	if got := c.Copies.Load(); got != copies {
		t.Errorf("%d copies, want %d", got, copies)
	}
	if got := c.CopiedBytes.Load(); got != copied {
		t.Errorf("%d bytes of copies skipped, want %d", got, copied)
	}
}

// TestCopyTruncateWithinGlob: with copytruncate and a glob that matches the
// copies, every line is read once: the copy only beyond what was read of
// the live file (the lines written after the last read and before the
// copy), and not at all when everything in it was read; a copy compressed
// later is not read either.
func TestCopyTruncateWithinGlob(t *testing.T) {
	_, p, _ := logFile(t)
	appendFile(t, p, lines("a", 0, 5))
	var log bytes.Buffer // written by Next, on this goroutine
	s := newSource(t, Config{Paths: []string{p + "*"}, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	expect(t, s, ids("a", 0, 5))

	// Written after the last read, then copied and truncated.
	appendFile(t, p, lines("a", 5, 7))
	copyTruncate(t, p, p+".1")
	expect(t, s, ids("a", 5, 7))
	appendFile(t, p, lines("b", 0, 2))
	expect(t, s, ids("b", 0, 2))
	quiet(t, s, 100*time.Millisecond)
	checkCounts(t, s, 9, 1, int64(len(lines("a", 0, 5))))

	// Rotated again with everything read: .1 becomes .2 (and is
	// compressed, delaycompress), the live file is copied to a new .1.
	appendFile(t, p, lines("b", 2, 4))
	expect(t, s, ids("b", 2, 4))
	rename(t, p+".1", p+".2")
	copyTruncate(t, p, p+".1")
	gzipFile(t, p+".2")
	appendFile(t, p, lines("c", 0, 1))
	expect(t, s, []string{"c0"})
	waitFor(t, func() bool {
		quiet(t, s, 30*time.Millisecond)
		return s.Counters().Copies.Load() == 2 && s.Counters().Skipped.Load() == 1 && s.Counters().Rotated.Load() == 1
	})
	checkCounts(t, s, 12, 2, int64(len(lines("a", 0, 5))+len(lines("b", 0, 4))))
	if n := strings.Count(log.String(), "level=INFO msg=\"new file is a copy of a file read before"); n != 2 {
		t.Errorf("%d copies logged, want 2:\n%s", n, log.String())
	}
}

// TestCopyFoundBeforeTruncation: a copy found before the live file is
// truncated (a long copy, or logrotate's copy, which never truncates) is
// not read while the live file is: the live file's lines written after the
// copy are read from it, and the copy, all of it read, is not read at all.
func TestCopyFoundBeforeTruncation(t *testing.T) {
	_, p, _ := logFile(t)
	appendFile(t, p, lines("a", 0, 3))
	s := newSource(t, Config{Paths: []string{p + "*"}})
	expect(t, s, ids("a", 0, 3))
	appendFile(t, p, lines("a", 3, 4))
	copyFile(t, p, p+".1")
	expect(t, s, []string{"a3"})
	waitFor(t, func() bool { quiet(t, s, 30*time.Millisecond); return s.Counters().Opened.Load() == 2 })
	appendFile(t, p, lines("a", 4, 5)) // between the copy and the truncation
	expect(t, s, []string{"a4"})
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, p, lines("b", 0, 1))
	expect(t, s, []string{"b0"})
	waitFor(t, func() bool { quiet(t, s, 30*time.Millisecond); return s.Counters().Copies.Load() == 1 })
	// The copy, shorter than what was read, was skipped whole.
	checkCounts(t, s, 6, 1, int64(len(lines("a", 0, 4))))
	// What is appended to it is read.
	appendFile(t, p+".1", lines("x", 0, 1))
	expect(t, s, []string{"x0"})
}

// TestNewFileNotACopy: a new file matching the glob whose first line
// differs from the files followed is read from its start, also one whose
// first line was not complete when it was found, and one of another log
// with the same first line.
func TestNewFileNotACopy(t *testing.T) {
	dir, p, _ := logFile(t)
	appendFile(t, p, lines("a", 0, 3))
	s := newSource(t, Config{Paths: []string{filepath.Join(dir, "*.log*")}})
	expect(t, s, ids("a", 0, 3))

	appendFile(t, p+".1", lines("r", 0, 3))
	expect(t, s, ids("r", 0, 3))

	first := authLine("q0")
	appendFile(t, p+".2", first[:30])
	waitFor(t, func() bool { quiet(t, s, 30*time.Millisecond); return s.Counters().Opened.Load() == 3 })
	appendFile(t, p+".2", first[30:]+lines("q", 1, 3))
	expect(t, s, ids("q", 0, 3))

	appendFile(t, filepath.Join(dir, "other.log"), lines("a", 0, 2))
	expect(t, s, ids("a", 0, 2))
	quiet(t, s, 100*time.Millisecond)
	checkCounts(t, s, 11, 0, 0)
}

// TestCopyTruncateRestart: after a copytruncate, a restart does not read
// the copy again, whether the copy's position was committed
// (Checkpoint), only the positions of the records (as serve commits),
// or the copy was made while the source was stopped.
func TestCopyTruncateRestart(t *testing.T) {
	for _, tc := range []struct {
		name string
		// checkpoint commits Checkpoint, else the position of the last
		// record of each file, as serve does.
		checkpoint bool
		// unread are the lines written after the last read and before
		// the copy.
		unread int
	}{
		{"checkpoint", true, 2},
		{"record positions", false, 2},
		{"record positions, all read before the copy", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, p, state := logFile(t)
			appendFile(t, p, lines("a", 0, 5))
			s := newSource(t, Config{Paths: []string{p + "*"}, StateFile: state})
			expect(t, s, ids("a", 0, 5))
			appendFile(t, p, lines("a", 5, 5+tc.unread))
			copyTruncate(t, p, p+".1")
			if tc.unread > 0 {
				expect(t, s, ids("a", 5, 5+tc.unread))
			}
			pos := []Position{s.Position()}
			appendFile(t, p, lines("b", 0, 2))
			expect(t, s, ids("b", 0, 2))
			pos = append(pos, s.Position())
			// The copy was seen (a poll after the records read).
			waitFor(t, func() bool { quiet(t, s, 30*time.Millisecond); return s.Counters().Copies.Load() == 1 })
			if tc.checkpoint {
				pos = s.Checkpoint()
			}
			commit(t, s, pos...)
			s.Close()

			appendFile(t, p, lines("b", 2, 3))
			s2 := newSource(t, Config{Paths: []string{p + "*"}, StateFile: state})
			expect(t, s2, []string{"b2"})
			quiet(t, s2, 100*time.Millisecond)
			if got := s2.Stats().Lines.Load(); got != 1 {
				t.Errorf("%d lines read after the restart, want 1", got)
			}
		})
	}

	t.Run("copied while stopped", func(t *testing.T) {
		_, p, state := logFile(t)
		appendFile(t, p, lines("a", 0, 5))
		s := newSource(t, Config{Paths: []string{p + "*"}, StateFile: state})
		expect(t, s, ids("a", 0, 5))
		commit(t, s, s.Position())
		s.Close()

		appendFile(t, p, lines("a", 5, 7))
		copyTruncate(t, p, p+".1")
		appendFile(t, p, lines("b", 0, 2))
		s2 := newSource(t, Config{Paths: []string{p + "*"}, StateFile: state})
		expect(t, s2, append(ids("a", 5, 7), ids("b", 0, 2)...))
		quiet(t, s2, 100*time.Millisecond)
		checkCounts(t, s2, 4, 1, int64(len(lines("a", 0, 5))))
	})
}
