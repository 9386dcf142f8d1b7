package follow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/django"
	"github.com/spraywatch/spraywatch/ingest/envelope"
	"github.com/spraywatch/spraywatch/internal/leaktest"
)

// authLine is a Django auth log line whose request id is id.
func authLine(id string) string {
	return fmt.Sprintf(`{"timestamp":"2026-12-04T09:00:01.123456Z","level":"warning","logger":"accounts.auth","event":"login_failed","request_id":"%s","username":"alice","ip":"10.0.0.1"}`+"\n", id)
}

func newSource(t *testing.T, c Config) *Source {
	t.Helper()
	f, err := django.NewFormat(django.DefaultMapping())
	if err != nil {
		t.Fatal(err)
	}
	c.Parser = f.NewParser()
	c.Kind = event.App
	if c.PollInterval == 0 {
		c.PollInterval = 10 * time.Millisecond
	}
	if c.RotateWait == 0 {
		c.RotateWait = 50 * time.Millisecond
	}
	if c.IdleInterval == 0 {
		c.IdleInterval = -1
	}
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func appendFile(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// read returns the request ids of the next n records, failing after a
// deadline.
func read(t *testing.T, s *Source, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ids []string
	var r event.Record
	for len(ids) < n {
		err := s.Next(ctx, &r)
		if errors.Is(err, ErrIdle) {
			continue
		}
		if err != nil {
			t.Fatalf("after %d records %v: %v", len(ids), ids, err)
		}
		ids = append(ids, string(r.Get(event.RequestID)))
	}
	return ids
}

// quiet checks that no record arrives for d.
func quiet(t *testing.T, s *Source, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var r event.Record
	for {
		err := s.Next(ctx, &r)
		if errors.Is(err, ErrIdle) {
			continue
		}
		if err == nil {
			t.Fatalf("unexpected record %s", r.Get(event.RequestID))
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		return
	}
}

func ids(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

func lines(prefix string, from, to int) string {
	var b strings.Builder
	for _, id := range ids(prefix, from, to) {
		b.WriteString(authLine(id))
	}
	return b.String()
}

// logFile returns a new temporary directory, the path of a log file in it
// and the path of a state file beside it; neither file exists yet.
func logFile(t *testing.T) (dir, log, state string) {
	dir = t.TempDir()
	return dir, filepath.Join(dir, "auth.log"), filepath.Join(dir, "state.json")
}

// rename renames the file from to to.
func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// commit commits the positions to s's state.
func commit(t *testing.T, s *Source, pos ...Position) {
	t.Helper()
	if err := s.Commit(pos...); err != nil {
		t.Fatal(err)
	}
}

// expect checks that the next records of s have the request ids want.
func expect(t *testing.T, s *Source, want []string) {
	t.Helper()
	equal(t, read(t, s, len(want)), want)
}

func equal(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
}

func TestFollowAppends(t *testing.T) {
	_, p, _ := logFile(t)
	appendFile(t, p, lines("a", 0, 3))
	s := newSource(t, Config{Paths: []string{p}})
	expect(t, s, ids("a", 0, 3))
	appendFile(t, p, lines("a", 3, 5))
	expect(t, s, ids("a", 3, 5))
	if got := s.Stats().Parsed.Load(); got != 5 {
		t.Fatalf("parsed %d, want 5", got)
	}
}

func TestPartialLineHeld(t *testing.T) {
	_, p, _ := logFile(t)
	full := authLine("p1")
	appendFile(t, p, authLine("p0")+full[:40])
	s := newSource(t, Config{Paths: []string{p}})
	expect(t, s, []string{"p0"})
	quiet(t, s, 100*time.Millisecond)
	if got := s.Stats().Rejected.Load(); got != 0 {
		t.Fatalf("partial line was parsed early: %d rejected", got)
	}
	appendFile(t, p, full[40:])
	expect(t, s, []string{"p1"})
	if got := s.Position().Offset; got != int64(len(authLine("p0"))+len(full)) {
		t.Fatalf("position %d", got)
	}
}

func TestRotationByRename(t *testing.T) {
	_, p, _ := logFile(t)
	appendFile(t, p, lines("old", 0, 3))
	s := newSource(t, Config{Paths: []string{p}})
	expect(t, s, ids("old", 0, 3))

	// logrotate: rename, the writer writes a little more to the old file
	// (and a last line without newline), then reopens the path.
	rename(t, p, p+".1")
	appendFile(t, p, lines("new", 0, 2))
	appendFile(t, p+".1", lines("old", 3, 5)+strings.TrimSuffix(authLine("old5"), "\n"))
	expect(t, s, append(ids("old", 3, 6), ids("new", 0, 2)...))
	appendFile(t, p, lines("new", 2, 4))
	expect(t, s, ids("new", 2, 4))
	if got := s.Counters().Rotated.Load(); got != 1 {
		t.Fatalf("rotated %d, want 1", got)
	}
}

// TestFileReplaced: a file truncated in place (copytruncate) or removed is
// noticed, and what the writer then writes at the path is read from its
// start.
func TestFileReplaced(t *testing.T) {
	for _, tc := range []struct {
		name    string
		before  int                           // records in the file at the start
		replace func(path string) error       // what happens to the file
		counter func(*Counters) *atomic.Int64 // what counts it
	}{
		{"truncated", 4, func(p string) error { return os.Truncate(p, 0) }, func(c *Counters) *atomic.Int64 { return &c.Truncated }},
		// Read to its end and closed after RotateWait.
		{"removed", 2, os.Remove, func(c *Counters) *atomic.Int64 { return &c.Rotated }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, p, _ := logFile(t)
			appendFile(t, p, lines("a", 0, tc.before))
			s := newSource(t, Config{Paths: []string{p}})
			expect(t, s, ids("a", 0, tc.before))
			if err := tc.replace(p); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { quiet(t, s, 30*time.Millisecond); return tc.counter(s.Counters()).Load() == 1 })
			appendFile(t, p, lines("b", 0, 2))
			expect(t, s, ids("b", 0, 2))
		})
	}
}

func TestTruncateAndRewrittenLonger(t *testing.T) {
	_, p, _ := logFile(t)
	appendFile(t, p, lines("a", 0, 2))
	s := newSource(t, Config{Paths: []string{p}})
	expect(t, s, ids("a", 0, 2))
	// Truncated and written past the old size before the next poll: the
	// first line changed, so reading restarts at 0.
	if err := os.WriteFile(p, []byte(lines("b", 0, 3)), 0o644); err != nil {
		t.Fatal(err)
	}
	expect(t, s, ids("b", 0, 3))
}

func TestNewFilesByGlob(t *testing.T) {
	dir := t.TempDir()
	appendFile(t, filepath.Join(dir, "a.log"), lines("a", 0, 2))
	s := newSource(t, Config{Paths: []string{filepath.Join(dir, "*.log")}})
	expect(t, s, ids("a", 0, 2))
	appendFile(t, filepath.Join(dir, "b.log"), lines("b", 0, 2))
	appendFile(t, filepath.Join(dir, "c.txt"), lines("c", 0, 2)) // not matched
	expect(t, s, ids("b", 0, 2))
	quiet(t, s, 100*time.Millisecond)
}

func TestFromEnd(t *testing.T) {
	_, p, _ := logFile(t)
	appendFile(t, p, lines("a", 0, 2))
	s := newSource(t, Config{Paths: []string{p}, FromEnd: true})
	quiet(t, s, 50*time.Millisecond)
	appendFile(t, p, lines("b", 0, 1))
	expect(t, s, []string{"b0"})
}

func TestLongLinesSkipped(t *testing.T) {
	_, p, _ := logFile(t)
	appendFile(t, p, authLine("x0")+strings.Repeat("z", 3000)+"\n"+authLine("x1"))
	s := newSource(t, Config{Paths: []string{p}, MaxLineBytes: 512})
	expect(t, s, []string{"x0", "x1"})
	st := s.Stats()
	if st.TooLong.Load() != 1 || st.Rejected.Load() != 1 || st.Lines.Load() != 3 {
		t.Fatalf("too long %d rejected %d lines %d", st.TooLong.Load(), st.Rejected.Load(), st.Lines.Load())
	}
}

// TestLongLineNumbers checks that each over-long line is rejected with
// its own line number, also in a run of them and at the end of the file.
func TestLongLineNumbers(t *testing.T) {
	long := strings.Repeat("z", 600) + "\n"
	for _, c := range []struct {
		name  string
		data  string
		ids   []string
		lines []int64
	}{
		{"run and one", authLine("a0") + authLine("a1") + strings.Repeat(long, 4) + lines("b", 0, 4) + long + authLine("c0"),
			append(append([]string{"a0", "a1"}, ids("b", 0, 4)...), "c0"), []int64{3, 4, 5, 6, 11}},
		{"every line", strings.Repeat(long, 3), nil, []int64{1, 2, 3}},
		{"last lines", authLine("a0") + long + long, []string{"a0"}, []int64{2, 3}},
	} {
		_, p, _ := logFile(t)
		appendFile(t, p, c.data)
		s := newSource(t, Config{Paths: []string{p}, MaxLineBytes: 512})
		if c.ids != nil {
			expect(t, s, c.ids)
		}
		deadline := time.Now().Add(5 * time.Second)
		for s.Stats().TooLong.Load() < int64(len(c.lines)) && time.Now().Before(deadline) {
			quiet(t, s, 20*time.Millisecond)
		}
		var got []int64
		for _, err := range s.Stats().Errors() {
			var se *ingest.SyntaxError
			if errors.As(err, &se) {
				got = append(got, se.Line)
			}
		}
		if !slices.Equal(got, c.lines) {
			t.Errorf("%s: errors at lines %v, want %v", c.name, got, c.lines)
		}
	}
}

// TestPathsChecked: New refuses a directory and a bad pattern; Unmatched
// names the paths that match no file yet, which New accepts.
func TestPathsChecked(t *testing.T) {
	dir, p, _ := logFile(t)
	appendFile(t, p, "")
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		paths     []string
		err       string
		unmatched []string
	}{
		{"file", []string{p, "-"}, "", nil},
		{"not yet written", []string{p, filepath.Join(dir, "later.log")}, "", []string{filepath.Join(dir, "later.log")}},
		{"pattern matching only a directory", []string{filepath.Join(dir, "s*")}, "", []string{filepath.Join(dir, "s*")}},
		{"directory", []string{sub}, `follow: "` + sub + `" is a directory, not a log file (a pattern such as ` + filepath.Join(sub, "*.log") + ` follows the files in it)`, nil},
		{"bad pattern", []string{filepath.Join(dir, "[a")}, "syntax error in pattern", nil},
	} {
		f, err := django.NewFormat(django.DefaultMapping())
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(Config{Paths: tt.paths, Parser: f.NewParser(), Kind: event.App})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := s.Unmatched(); !slices.Equal(got, tt.unmatched) {
			t.Errorf("%s: unmatched %q, want %q", tt.name, got, tt.unmatched)
		}
		s.Close()
	}
}

func TestIdle(t *testing.T) {
	_, p, _ := logFile(t)
	appendFile(t, p, "")
	s := newSource(t, Config{Paths: []string{p}, IdleInterval: 30 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var r event.Record
	if err := s.Next(ctx, &r); !errors.Is(err, ErrIdle) {
		t.Fatalf("got %v, want ErrIdle", err)
	}
	appendFile(t, p, authLine("i0"))
	for {
		err := s.Next(ctx, &r)
		if errors.Is(err, ErrIdle) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	if got := string(r.Get(event.RequestID)); got != "i0" {
		t.Fatalf("got %q", got)
	}
}

// TestRestartResumes commits part of what was read, stops, appends, and
// checks the next run reads from the committed position: the records after
// it once, nothing lost.
func TestRestartResumes(t *testing.T) {
	_, p, state := logFile(t)
	appendFile(t, p, lines("a", 0, 10))

	s := newSource(t, Config{Paths: []string{p}, StateFile: state})
	expect(t, s, ids("a", 0, 6))
	var durable Position
	got := read(t, s, 1) // a6: durable up to here
	durable = s.Position()
	equal(t, got, []string{"a6"})
	expect(t, s, ids("a", 7, 9)) // read, not durable
	commit(t, s, durable)
	// An older position does not move the file back.
	commit(t, s, Position{Path: p, Dev: durable.Dev, Inode: durable.Inode, Fingerprint: durable.Fingerprint, Offset: 1})
	s.Close()

	appendFile(t, p, lines("a", 10, 12))
	s2 := newSource(t, Config{Paths: []string{p}, StateFile: state})
	expect(t, s2, ids("a", 7, 12))
	quiet(t, s2, 50*time.Millisecond)
	if s2.Counters().Resumed.Load() != 1 {
		t.Fatal("not resumed")
	}
	commit(t, s2, s2.Checkpoint()...)
	s2.Close()

	// Rotated by rename while stopped: the rest of the old file, then the
	// new file.
	appendFile(t, p, lines("a", 12, 14))
	rename(t, p, p+".1")
	appendFile(t, p, lines("n", 0, 2))
	s3 := newSource(t, Config{Paths: []string{p}, StateFile: state})
	expect(t, s3, append(ids("a", 12, 14), ids("n", 0, 2)...))
	quiet(t, s3, 100*time.Millisecond)
}

func TestRestartAfterReuse(t *testing.T) {
	_, p, state := logFile(t)
	appendFile(t, p, lines("a", 0, 3))
	s := newSource(t, Config{Paths: []string{p}, StateFile: state})
	read(t, s, 3)
	commit(t, s, s.Position())
	s.Close()
	// Same inode, other content of equal length: the fingerprint differs,
	// so the file is read from the start.
	if err := os.WriteFile(p, []byte(lines("b", 0, 3)), 0o644); err != nil {
		t.Fatal(err)
	}
	s2 := newSource(t, Config{Paths: []string{p}, StateFile: state})
	expect(t, s2, ids("b", 0, 3))
}

func TestStateFileAtomic(t *testing.T) {
	dir, p, state := logFile(t)
	appendFile(t, p, lines("a", 0, 2))
	s := newSource(t, Config{Paths: []string{p}, StateFile: state})
	read(t, s, 2)
	for i := 0; i < 3; i++ {
		if err := s.Commit(s.Position()); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Counters().Commits.Load(); got != 1 {
		t.Fatalf("%d state writes for one change", got)
	}
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if strings.Contains(de.Name(), ".tmp") {
			t.Fatalf("temporary file left: %s", de.Name())
		}
	}
	if err := os.WriteFile(state, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Paths: []string{p}, Parser: s.parser, StateFile: state}); err == nil || !strings.Contains(err.Error(), "follow state") {
		t.Fatalf("damaged state: %v", err)
	}
}

func TestStdinStream(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	f, _ := django.NewFormat(django.DefaultMapping())
	s, err := New(Config{Paths: []string{"-"}, Parser: f.NewParser(), Kind: event.App, PollInterval: 10 * time.Millisecond, IdleInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.stdin = newStdin(r, ingest64k, s.wake)
	go func() {
		w.WriteString(lines("s", 0, 2))
		time.Sleep(20 * time.Millisecond)
		w.WriteString(strings.TrimSuffix(authLine("s2"), "\n"))
		w.Close()
	}()
	expect(t, s, ids("s", 0, 3))
	if s.Position() != (Position{}) {
		t.Fatalf("stdin position %+v", s.Position())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var rec event.Record
	if err := s.Next(ctx, &rec); err != io.EOF {
		t.Fatalf("got %v, want EOF", err)
	}
}

const ingest64k = 64 << 10

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met before the deadline")
		}
	}
}

// TestCommitConcurrent commits from another goroutine while Next reads, as
// a serve loop does, then checks a restart resumes after the last commit.
func TestCommitConcurrent(t *testing.T) {
	_, p, state := logFile(t)
	appendFile(t, p, lines("c", 0, 500))
	s := newSource(t, Config{Paths: []string{p}, StateFile: state})
	positions := make(chan Position, 16)
	done := make(chan error)
	go func() {
		var err error
		for pos := range positions {
			if e := s.Commit(pos); e != nil && err == nil {
				err = e
			}
		}
		done <- err
	}()
	for i := 0; i < 400; i++ {
		read(t, s, 1)
		if i%10 == 9 {
			positions <- s.Position()
		}
	}
	close(positions)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := newSource(t, Config{Paths: []string{p}, StateFile: state})
	expect(t, s2, ids("c", 400, 500))
}

func BenchmarkFollow(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "auth.log")
	const n = 10000
	var sb strings.Builder
	for i := 0; i < n; i++ {
		sb.WriteString(authLine(fmt.Sprintf("%032x", i)))
	}
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	f, _ := django.NewFormat(django.DefaultMapping())
	b.SetBytes(int64(sb.Len() / n))
	b.ReportAllocs()
	b.ResetTimer()
	ctx := context.Background()
	var r event.Record
	var s *Source
	for i := 0; i < b.N; i++ {
		if i%n == 0 {
			if s != nil {
				s.Close()
			}
			s, _ = New(Config{Paths: []string{p}, Parser: f.NewParser(), IdleInterval: -1})
		}
		if err := s.Next(ctx, &r); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	s.Close()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// With a glob covering the rotated names, the renamed file goes on being
// followed under its new name and the new file is read alongside.
func TestRotationWithinGlob(t *testing.T) {
	_, p, _ := logFile(t)
	appendFile(t, p, lines("old", 0, 2))
	s := newSource(t, Config{Paths: []string{p + "*"}})
	expect(t, s, ids("old", 0, 2))
	rename(t, p, p+".1")
	appendFile(t, p, lines("new", 0, 1))
	expect(t, s, []string{"new0"})
	appendFile(t, p+".1", lines("old", 2, 3))
	expect(t, s, []string{"old2"})
	// Compressed in place: a gzip file is not read, the old one is closed.
	if err := os.Remove(p + ".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p+".1.gz", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, '\n'}, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		quiet(t, s, 30*time.Millisecond)
		return s.Counters().Rotated.Load() == 1 && s.Counters().Skipped.Load() == 1
	})
	if s.Stats().Rejected.Load() != 0 {
		t.Fatalf("%d lines rejected", s.Stats().Rejected.Load())
	}
}

// TestGlobRotatedFilesInOrder: a glob that matches a log's rotated files
// as well as the live file reads them oldest first, each to its end before
// the next, as replay does, whatever order the names sort in and however
// many lines a file holds (a batch of lines from one file does not hand
// over to the next file of the same log); another log's files are read in
// turns with them.
func TestGlobRotatedFilesInOrder(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "auth.log")
	appendFile(t, p+".10", lines("a", 0, 3))
	appendFile(t, p+".2", lines("b", 0, 1100))
	appendFile(t, p+".1", lines("c", 0, 3))
	appendFile(t, p, lines("d", 0, 3))
	other := filepath.Join(dir, "other.log")
	appendFile(t, other, lines("x", 0, 1100))
	s := newSource(t, Config{Paths: []string{p + "*", other}})
	got := read(t, s, 3+1100+3+3+1100)
	var auth, rest []string
	for _, id := range got {
		if strings.HasPrefix(id, "x") {
			rest = append(rest, id)
		} else {
			auth = append(auth, id)
		}
	}
	want := append(append(append(ids("a", 0, 3), ids("b", 0, 1100)...), ids("c", 0, 3)...), ids("d", 0, 3)...)
	equal(t, auth, want)
	equal(t, rest, ids("x", 0, 1100))
	if slices.Index(got, "x0") > slices.Index(got, "b1099") {
		t.Fatalf("other.log was read only after auth.log's files: first line at %d", slices.Index(got, "x0"))
	}

	// Rotated again while followed: the file renamed to auth.log.1 (which
	// the glob still matches) is read to its end before the new live file.
	rename(t, p+".1", p+".3")
	rename(t, p, p+".1")
	appendFile(t, p, lines("e", 0, 2))
	appendFile(t, p+".1", lines("d", 3, 5))
	expect(t, s, append(ids("d", 3, 5), ids("e", 0, 2)...))
}

// Truncated while stopped: the saved offset lies past the end, so the file
// is read from its start.
func TestRestartAfterTruncate(t *testing.T) {
	_, p, state := logFile(t)
	appendFile(t, p, lines("a", 0, 5))
	s := newSource(t, Config{Paths: []string{p}, StateFile: state})
	read(t, s, 5)
	commit(t, s, s.Checkpoint()...)
	s.Close()
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, p, lines("a", 0, 1)) // same first line, shorter file
	s2 := newSource(t, Config{Paths: []string{p}, StateFile: state})
	expect(t, s2, []string{"a0"})
	if s2.Counters().Resumed.Load() != 0 {
		t.Fatal("resumed past the end of a truncated file")
	}
}

// TestFromEndFirstStartOnly: FromEnd starts the files at their end on the
// first start only. At a restart with saved positions, a file that has
// none appeared while the source was stopped (the log was rotated): it is
// read from its beginning, after the rest of the rotated file.
func TestFromEndFirstStartOnly(t *testing.T) {
	dir, p, _ := logFile(t)
	appendFile(t, p, lines("a", 0, 10))
	state := filepath.Join(dir, "state.json")
	s := newSource(t, Config{Paths: []string{p}, StateFile: state, FromEnd: true})
	quiet(t, s, 50*time.Millisecond) // started at the end
	appendFile(t, p, lines("a", 10, 12))
	expect(t, s, ids("a", 10, 12))
	if err := s.Commit(s.Position()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	appendFile(t, p, lines("a", 12, 13))
	rename(t, p, p+".1")
	appendFile(t, p, lines("n", 0, 2))
	s2 := newSource(t, Config{Paths: []string{p}, StateFile: state, FromEnd: true})
	expect(t, s2, append(ids("a", 12, 13), ids("n", 0, 2)...))
	quiet(t, s2, 100*time.Millisecond)
}

// TestRewind: a rewound source reads again from the committed positions,
// as a new source on the same state file would, including a file renamed
// away since; without a state file, or with standard input, it refuses.
func TestRewind(t *testing.T) {
	dir, p, _ := logFile(t)
	appendFile(t, p, lines("a", 0, 10))
	s := newSource(t, Config{Paths: []string{p}, StateFile: filepath.Join(dir, "state.json"), FromEnd: true})
	quiet(t, s, 50*time.Millisecond) // started at the end
	appendFile(t, p, lines("a", 10, 14))
	expect(t, s, ids("a", 10, 12))
	if err := s.Commit(s.Position()); err != nil { // durable up to a11
		t.Fatal(err)
	}
	expect(t, s, ids("a", 12, 14)) // read, not durable
	rename(t, p, p+".1")
	appendFile(t, p, lines("n", 0, 2))
	if err := s.Rewind(); err != nil {
		t.Fatal(err)
	}
	expect(t, s, append(ids("a", 12, 14), ids("n", 0, 2)...))
	quiet(t, s, 100*time.Millisecond)

	if err := newSource(t, Config{Paths: []string{p}}).Rewind(); err == nil {
		t.Error("rewound without a state file")
	}
	if err := newSource(t, Config{Paths: []string{"-"}, StateFile: filepath.Join(dir, "stdin.json")}).Rewind(); err == nil {
		t.Error("rewound standard input")
	}
}

// TestRewindBeforeCommit: before any position is committed, a rewound
// source, or a new one on the same state file, reads every file again
// from where reading of it started, a file renamed away since included
// (found by its identity though no path names it now), before the file
// now at its path; a file deleted since is reported by Lost.
func TestRewindBeforeCommit(t *testing.T) {
	_, p, state := logFile(t)
	appendFile(t, p, lines("a", 0, 3))
	s := newSource(t, Config{Paths: []string{p}, StateFile: state})
	expect(t, s, ids("a", 0, 3))
	rename(t, p, p+".1")
	appendFile(t, p+".1", lines("a", 3, 4))
	appendFile(t, p, lines("n", 0, 2))
	expect(t, s, append(ids("a", 3, 4), ids("n", 0, 2)...))

	all := slices.Concat(ids("a", 0, 4), ids("n", 0, 2))
	if err := s.Rewind(); err != nil {
		t.Fatal(err)
	}
	expect(t, s, all)
	quiet(t, s, 100*time.Millisecond)
	if lost := s.Lost(); len(lost) != 0 {
		t.Errorf("lost %v", lost)
	}
	s.Close()

	s2 := newSource(t, Config{Paths: []string{p}, StateFile: state})
	expect(t, s2, all)
	quiet(t, s2, 100*time.Millisecond)
	if got := s2.Counters().Resumed.Load(); got != 0 {
		t.Errorf("%d files resumed: read from their start, none is", got)
	}

	if err := os.Remove(p + ".1"); err != nil {
		t.Fatal(err)
	}
	if err := s2.Rewind(); err != nil {
		t.Fatal(err)
	}
	expect(t, s2, ids("n", 0, 2))
	lost := s2.Lost()
	if len(lost) != 1 || lost[0].Path != p || lost[0].Offset != 0 {
		t.Fatalf("lost %+v, want the deleted file at offset 0 (read under %s)", lost, p)
	}
	if got := s2.Counters().Lost.Load(); got != 1 {
		t.Errorf("%d files counted lost, want 1", got)
	}
}

// TestLostCountedOnce: a file renamed away that no longer holds what was
// read (rewritten in its directory) stays in the state file, and each
// Rewind reports it by Lost again; it is counted lost once.
func TestLostCountedOnce(t *testing.T) {
	_, p, state := logFile(t)
	appendFile(t, p, lines("a", 0, 3))
	s := newSource(t, Config{Paths: []string{p}, StateFile: state, RotateWait: 50 * time.Millisecond})
	expect(t, s, ids("a", 0, 3))
	if err := s.Commit(s.Checkpoint()...); err != nil {
		t.Fatal(err)
	}
	rename(t, p, p+".1")
	appendFile(t, p, lines("n", 0, 1))
	expect(t, s, ids("n", 0, 1))
	waitFor(t, func() bool { quiet(t, s, 30*time.Millisecond); return s.Counters().Rotated.Load() == 1 })
	// Rewritten in place, same inode: another first line.
	if err := os.WriteFile(p+".1", []byte(lines("z", 0, 3)), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := s.Rewind(); err != nil {
			t.Fatal(err)
		}
		expect(t, s, ids("n", 0, 1))
		if lost := s.Lost(); len(lost) != 1 || lost[0].Path != p {
			t.Fatalf("rewind %d: lost %+v, want the rewritten file (read under %s)", i, lost, p)
		}
		if got := s.Counters().Lost.Load(); got != 1 {
			t.Errorf("rewind %d: %d files counted lost, want 1", i, got)
		}
	}
}

// TestLineCapWithoutEnding checks that the cap is on a line without its
// line ending: a \r\n line of exactly the cap is kept, as the same \n line
// is, and a line one byte longer is skipped either way.
func TestLineCapWithoutEnding(t *testing.T) {
	at := strings.TrimSuffix(authLine("c0"), "\n")
	over := strings.TrimSuffix(authLine("c1"), "\n") + " "
	_, p, _ := logFile(t)
	appendFile(t, p, at+"\r\n"+over+"\r\n"+at+"\n"+over+"\n"+authLine("c2"))
	s := newSource(t, Config{Paths: []string{p}, MaxLineBytes: len(at)})
	expect(t, s, []string{"c0", "c0", "c2"})
	if st := s.Stats(); st.TooLong.Load() != 2 || st.Lines.Load() != 5 {
		t.Fatalf("too long %d, lines %d; want 2, 5", st.TooLong.Load(), st.Lines.Load())
	}
}

// TestSplitLinesPerFile: the parts of a line Docker's json-file driver
// split are joined per file, while other files' lines are read in between.
func TestSplitLinesPerFile(t *testing.T) {
	dir := t.TempDir()
	f, err := django.NewFormat(django.DefaultMapping())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Paths: []string{filepath.Join(dir, "*.log")}, Kind: event.App, Parser: envelope.Wrap(f.NewParser(), envelope.DockerKey),
		PollInterval: 10 * time.Millisecond, RotateWait: 50 * time.Millisecond, IdleInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	a, b := dockerSplit("a1"), dockerSplit("b1")
	appendFile(t, filepath.Join(dir, "a.log"), a[0])
	appendFile(t, filepath.Join(dir, "b.log"), b[0])
	quiet(t, s, 100*time.Millisecond)
	whole, _ := json.Marshal(map[string]string{"log": authLine("b2"), "stream": "stdout"})
	appendFile(t, filepath.Join(dir, "b.log"), b[1]+string(whole)+"\n")
	appendFile(t, filepath.Join(dir, "a.log"), a[1])
	got := read(t, s, 3)
	sort.Strings(got)
	equal(t, got, []string{"a1", "b1", "b2"})
	if n := s.Stats().Rejected.Load(); n != 0 {
		t.Errorf("%d lines rejected: %v", n, s.Stats().Errors())
	}
}

// dockerSplit returns Docker's json-file entries of the line of request
// id, split in two: the first holds DockerSplit bytes, the second the rest.
func dockerSplit(id string) [2]string {
	line := strings.Replace(authLine(id), `"ip"`, `"pad":"`+strings.Repeat("x", envelope.DockerSplit)+`","ip"`, 1)
	var out [2]string
	for i, part := range []string{line[:envelope.DockerSplit], line[envelope.DockerSplit:]} {
		b, _ := json.Marshal(map[string]string{"log": part, "stream": "stdout", "time": "2026-12-04T09:00:01Z"})
		out[i] = string(b) + "\n"
	}
	return out
}

// dockerWhole returns Docker's json-file entry of the line of request id.
func dockerWhole(id string) string {
	b, _ := json.Marshal(map[string]string{"log": authLine(id), "stream": "stdout", "time": "2026-12-04T09:00:01Z"})
	return string(b) + "\n"
}

// TestStartInsideSplitLine: a source that starts inside a file, at its
// end (FromEnd) or at a saved position, after the head of a split line,
// rejects the line's end rather than read it as a line of its own
// (counted as split_headless); the lines after it are read.
func TestStartInsideSplitLine(t *testing.T) {
	f, err := django.NewFormat(django.DefaultMapping())
	if err != nil {
		t.Fatal(err)
	}
	open := func(p, state string) *Source {
		s, err := New(Config{Paths: []string{p}, Kind: event.App, Parser: envelope.Wrap(f.NewParser(), envelope.DockerKey), StateFile: state, FromEnd: state == "",
			PollInterval: 10 * time.Millisecond, RotateWait: 50 * time.Millisecond, IdleInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	check := func(s *Source) {
		t.Helper()
		if n := s.Stats().Flagged.Load(ingest.FlagSplitHeadless); n != 1 {
			t.Errorf("%d ends of split lines rejected, want 1; rejected: %v", n, s.Stats().Errors())
		}
	}

	t.Run("from the end", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "c-json.log")
		appendFile(t, p, dockerWhole("r0")+dockerSplit("cut")[0])
		s := open(p, "")
		quiet(t, s, 50*time.Millisecond)
		appendFile(t, p, dockerSplit("cut")[1]+dockerWhole("r1"))
		expect(t, s, []string{"r1"})
		check(s)
	})

	t.Run("at a saved position", func(t *testing.T) {
		// The saved position falls after a whole line of stdout that
		// came between the parts of a line of stderr.
		dir := t.TempDir()
		p, state := filepath.Join(dir, "c-json.log"), filepath.Join(dir, "state.json")
		cut := dockerSplit("cut")
		stderr := func(e string) string { return strings.Replace(e, `"stream":"stdout"`, `"stream":"stderr"`, 1) }
		appendFile(t, p, dockerWhole("r0")+stderr(cut[0])+dockerWhole("r1"))
		s := open(p, state)
		expect(t, s, []string{"r0", "r1"})
		commit(t, s, s.Position())
		s.Close()
		appendFile(t, p, stderr(cut[1])+dockerWhole("r2"))
		s2 := open(p, state)
		expect(t, s2, []string{"r2"})
		check(s2)
	})
}

// TestSplitLineAcrossRotation: Docker's json-file driver can rotate its
// file between the parts of a line; the parts kept for the file rotated
// away go on in the file that replaced it, so the line is joined and its
// end is not read as a line of its own. Parts left in a file removed
// without a successor are dropped, counted.
func TestSplitLineAcrossRotation(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c-json.log")
	f, err := django.NewFormat(django.DefaultMapping())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Paths: []string{p}, Kind: event.App, Parser: envelope.Wrap(f.NewParser(), envelope.DockerKey),
		PollInterval: 10 * time.Millisecond, RotateWait: 50 * time.Millisecond, IdleInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	entries, whole := dockerSplit, dockerWhole
	long := entries("long")
	appendFile(t, p, whole("r1")+long[0])
	expect(t, s, []string{"r1"})
	rename(t, p, p+".1")
	appendFile(t, p, long[1]+whole("r2"))
	expect(t, s, []string{"long", "r2"})
	if n := s.Stats().Rejected.Load(); n != 0 {
		t.Errorf("%d lines rejected: %v", n, s.Stats().Errors())
	}
	if n := s.Stats().Flagged.Load(ingest.FlagSplitUnjoined); n != 0 {
		t.Errorf("%d split lines dropped unjoined, want 0", n)
	}

	// The head of a line in a file removed with no file after it.
	appendFile(t, p, entries("lost")[0])
	quiet(t, s, 100*time.Millisecond)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Flagged.Load(ingest.FlagSplitUnjoined) == 0 && time.Now().Before(deadline) {
		quiet(t, s, 50*time.Millisecond)
	}
	if n := s.Stats().Flagged.Load(ingest.FlagSplitUnjoined); n != 1 {
		t.Errorf("%d split lines dropped unjoined after the file was removed, want 1", n)
	}
}

// TestRereadCounted reads lines again, after Rewind or from a restart's
// positions given to MarkRead: up to how far they were read before they
// are counted only in Stats().Reread (and Again says so); the lines after
// are counted as usual, so that every line is counted once in Lines.
func TestRereadCounted(t *testing.T) {
	tests := []struct {
		name    string
		restart bool // a new source, told the position read (MarkRead), rather than Rewind
		read    int  // records read before, of 10; 4 committed
		// Lines of the file read again, lines counted in Lines (the
		// first source's and the second's, after a restart), rejected,
		// and records read again.
		reread, lines, rejected int64
		again                   int
	}{
		// The malformed last line was read too: Rewind knows.
		{"rewind, all read", false, 10, 7, 11, 1, 6},
		{"rewind, part read", false, 7, 3, 11, 1, 3},
		// The position is the last record's: the malformed line after it
		// is counted again.
		{"restart, all read", true, 10, 6, 1, 1, 6},
		{"restart, part read", true, 7, 3, 4, 1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, p, state := logFile(t)
			appendFile(t, p, lines("a", 0, 10)+"not json\n")
			s := newSource(t, Config{Paths: []string{p}, StateFile: state})
			expect(t, s, ids("a", 0, 4))
			commit(t, s, s.Position())
			expect(t, s, ids("a", 4, tt.read))
			upTo := s.Position()
			if tt.read == 10 {
				quiet(t, s, 50*time.Millisecond) // the malformed line
			}
			if tt.restart {
				s.Close()
				s = newSource(t, Config{Paths: []string{p}, StateFile: state})
				s.MarkRead(upTo)
			} else if err := s.Rewind(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for range 6 {
				got = append(got, read(t, s, 1)...)
				if s.Again() != (len(got) <= tt.again) {
					t.Errorf("record %d: Again %v", len(got), s.Again())
				}
			}
			equal(t, got, ids("a", 4, 10))
			quiet(t, s, 50*time.Millisecond)
			st := s.Stats()
			if r, l, j := st.Reread.Load(), st.Lines.Load(), st.Rejected.Load(); r != tt.reread || l != tt.lines || j != tt.rejected {
				t.Errorf("reread %d, lines %d, rejected %d; want %d, %d, %d", r, l, j, tt.reread, tt.lines, tt.rejected)
			}
		})
	}
}

// TestStdinReaderEndsOnClose: the goroutine reading standard input ends
// once the source is closed, also when it was waiting to hand over a
// chunk nobody took.
func TestStdinReaderEndsOnClose(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	leaks := leaktest.Check(t)
	f, _ := django.NewFormat(django.DefaultMapping())
	s, err := New(Config{Paths: []string{"-"}, Parser: f.NewParser(), Kind: event.App, PollInterval: 10 * time.Millisecond, IdleInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.stdin = newStdin(r, ingest64k, s.wake)
	sr := s.stdin.r.(*stdinReader)
	// A chunk more than the reader holds, each written once the one
	// before was taken: it waits to hand over the last.
	for i := range cap(sr.ch) + 1 {
		if _, err := w.WriteString(authLine(fmt.Sprint("c", i))); err != nil {
			t.Fatal(err)
		}
		for i < cap(sr.ch) && len(sr.ch) <= i {
			time.Sleep(time.Millisecond)
		}
	}
	s.Close()
	w.Close()
	leaks()
}

// TestByteOrderMark: a UTF-8 byte order mark at the start of a file is
// dropped, as replay drops it; one at the start of a later line is part of
// that line, which the format rejects.
func TestByteOrderMark(t *testing.T) {
	const bom = "\xef\xbb\xbf"
	_, p, _ := logFile(t)
	appendFile(t, p, bom+authLine("m0")+authLine("m1")+bom+authLine("m2")+authLine("m3"))
	s := newSource(t, Config{Paths: []string{p}})
	expect(t, s, []string{"m0", "m1", "m3"})
	if n := s.Stats().Rejected.Load(); n != 1 {
		t.Errorf("%d lines rejected, want the one after a byte order mark in the middle: %v", n, s.Stats().Errors())
	}
}

// TestByteOrderMarkAtLineCap: a byte order mark does not count toward the
// first line's length, as in replay (ingest's TestByteOrderMarkAtLineCap):
// a first line of exactly the cap after one is kept, one a byte longer is
// skipped as too long, with either line ending, also when the byte order
// mark arrives in a write of its own, cut in two.
func TestByteOrderMarkAtLineCap(t *testing.T) {
	const bom = "\xef\xbb\xbf"
	at := strings.TrimSuffix(authLine("b0"), "\n")
	over := at + " "
	for _, c := range []struct {
		name    string
		writes  []string
		want    []string
		tooLong int64
	}{
		{"at the cap", []string{bom + at + "\n" + authLine("b1")}, []string{"b0", "b1"}, 0},
		{"at the cap, CRLF", []string{bom + at + "\r\n" + authLine("b1")}, []string{"b0", "b1"}, 0},
		{"at the cap, the mark written in two", []string{bom[:2], bom[2:] + at + "\n" + authLine("b1")}, []string{"b0", "b1"}, 0},
		{"over the cap", []string{bom + over + "\n" + authLine("b1")}, []string{"b1"}, 1},
		{"over the cap, CRLF", []string{bom + over + "\r\n" + authLine("b1")}, []string{"b1"}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, p, _ := logFile(t)
			appendFile(t, p, c.writes[0])
			s := newSource(t, Config{Paths: []string{p}, MaxLineBytes: len(at)})
			for _, w := range c.writes[1:] {
				quiet(t, s, 30*time.Millisecond) // the part written so far is read
				appendFile(t, p, w)
			}
			expect(t, s, c.want)
			if st := s.Stats(); st.TooLong.Load() != c.tooLong || st.Lines.Load() != 2 {
				t.Errorf("%d too long, %d lines; want %d, 2", st.TooLong.Load(), st.Lines.Load(), c.tooLong)
			}
		})
	}
}
