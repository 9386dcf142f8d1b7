package alert

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFileRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.jsonl")
	line, _ := testAlert("i1", 1, "alice").AppendJSON(nil)
	// Room for three lines per file; keep two rotated files.
	s, err := NewFile(path, int64(3*len(line)+10), 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		if err := s.Send(context.Background(), testAlert("i1", i%10+0, "alice")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Delivered.Load(); got != 10 {
		t.Errorf("delivered = %d, want 10", got)
	}
	// 10 lines, 3 per file: path has 1 (#10), path.1 has 3 (#7-9), path.2 has 3 (#4-6); #1-3 rotated out.
	want := map[string][]int{path: {0}, path + ".1": {7, 8, 9}, path + ".2": {4, 5, 6}}
	for p, seqs := range want {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var a Alert
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			got = append(got, a.Sequence)
		}
		f.Close()
		if fmt.Sprint(got) != fmt.Sprint(seqs) {
			t.Errorf("%s: sequences %v, want %v", p, got, seqs)
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("%s.3 exists; keep is 2", path)
	}
}

func TestWriterLinesAndStats(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	a := testAlert("i", 1, "line\nbreak")
	for range 2 {
		if err := w.Send(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(lines), buf.String())
	}
	var got Alert
	if err := json.Unmarshal([]byte(lines[1]), &got); err != nil || got.Sample.UserNames[0] != "line\nbreak" {
		t.Errorf("line 2: %v %q", err, got.Sample.UserNames)
	}
	if n := w.Stats().Delivered.Load(); n != 2 {
		t.Errorf("delivered = %d", n)
	}
}

// TestBatchWriter checks that a batch writer writes whole lines only: on
// Close, when the interval has passed, and before a line would not fit
// in its buffer; and that its output is a flushing writer's, byte for
// byte.
func TestBatchWriter(t *testing.T) {
	ctx := context.Background()
	alerts := []*Alert{testAlert("a", 1, "u1"), testAlert("a", 2, "u2"), testAlert("b", 1, strings.Repeat("x", 70<<10))}
	var want bytes.Buffer
	ref := NewWriter(&want)
	for _, a := range alerts {
		if err := ref.Send(ctx, a); err != nil {
			t.Fatal(err)
		}
	}

	var got bytes.Buffer
	w := NewBatchWriter(&got, time.Minute)
	clock := time.Unix(0, 0)
	w.flushed, w.now = clock, func() time.Time { return clock }
	send := func(a *Alert) {
		t.Helper()
		if err := w.Send(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	send(alerts[0])
	clock = clock.Add(59 * time.Second)
	send(alerts[1])
	if got.Len() != 0 || w.Stats().QueueDepth.Load() != 2 || w.Stats().Delivered.Load() != 0 {
		t.Fatalf("within the interval: %d bytes written, queue %d, delivered %d; want 0, 2, 0", got.Len(), w.Stats().QueueDepth.Load(), w.Stats().Delivered.Load())
	}
	clock = clock.Add(time.Second)
	send(alerts[0])
	if n := strings.Count(got.String(), "\n"); n != 3 || w.Stats().Delivered.Load() != 3 {
		t.Fatalf("after the interval: %d lines, %d delivered; want 3, 3", n, w.Stats().Delivered.Load())
	}
	got.Reset()
	w.Stats().Delivered.Store(0)

	// A line longer than what the buffer has left: the lines before it
	// are written whole first.
	send(alerts[1])
	send(alerts[2])
	if got.String() != want.String()[len(want.String())-got.Len():] || !strings.HasSuffix(got.String(), "\n") {
		t.Fatalf("a long line split the output: %d bytes", got.Len())
	}
	send(alerts[0])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(got.String(), "\n")
	wantLines := strings.SplitAfter(want.String(), "\n")
	if len(lines) != 4 || lines[0] != wantLines[1] || lines[1] != wantLines[2] || lines[2] != wantLines[0] {
		t.Errorf("after Close: %d lines, not the flushing writer's", len(lines)-1)
	}
	if d, q := w.Stats().Delivered.Load(), w.Stats().QueueDepth.Load(); d != 3 || q != 0 {
		t.Errorf("after Close: delivered %d, queue %d; want 3, 0", d, q)
	}
}

type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

// TestBatchWriterFailure checks that alerts a failed write lost are
// counted as dropped, and the failure reported.
func TestBatchWriterFailure(t *testing.T) {
	w := NewBatchWriter(&failingWriter{}, time.Hour)
	for i := range 3 {
		if err := w.Send(context.Background(), testAlert("a", i+1, "u")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after a failed write: no error")
	}
	if d, f, del := w.Stats().Dropped.Load(), w.Stats().Failures.Load(), w.Stats().Delivered.Load(); d != 3 || f != 1 || del != 0 {
		t.Errorf("dropped %d, failures %d, delivered %d; want 3, 1, 0", d, f, del)
	}
}

// closeCounter counts the Close calls of the writer under a Writer.
type closeCounter struct {
	bytes.Buffer
	closes int
}

func (c *closeCounter) Close() error {
	c.closes++
	if c.closes > 1 {
		return errors.New("already closed")
	}
	return nil
}

// TestWriterAfterClose: closing again does nothing, and a Send after
// Close (a batch writer would have kept the alert in a buffer never
// flushed) returns ErrClosed and counts the alert dropped.
func TestWriterAfterClose(t *testing.T) {
	for _, batch := range []bool{false, true} {
		var out closeCounter
		w := NewWriter(&out)
		if batch {
			w = NewBatchWriter(&out, time.Minute)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil || out.closes != 1 {
			t.Errorf("batch %v: second Close = %v, %d closes of the file; want nil, 1", batch, err, out.closes)
		}
		if err := w.Send(context.Background(), testAlert("a", 1, "u")); !errors.Is(err, ErrClosed) {
			t.Errorf("batch %v: Send after Close = %v, want ErrClosed", batch, err)
		}
		if d := w.Stats().Dropped.Load(); d != 1 || out.Len() != 0 {
			t.Errorf("batch %v: %d dropped, %d bytes written; want 1, 0", batch, d, out.Len())
		}
	}
}

// readSequences returns the sequences of the alerts in the JSON lines
// file at path.
func readSequences(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int
	for line := range strings.Lines(string(b)) {
		var a Alert
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		seqs = append(seqs, a.Sequence)
	}
	return seqs
}

// TestFileReopensAfterFailedRotation: an alert that a failed rotation
// kept from being written is dropped and counted; once the cause is
// gone, the next alert rotates the file and is written.
func TestFileReopensAfterFailedRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.jsonl")
	// path.1 is a directory that cannot be replaced: rotating fails.
	if err := os.MkdirAll(filepath.Join(path+".1", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := NewFile(path, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Send(ctx, testAlert("i", 1, "u")); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, testAlert("i", 2, "u")); err == nil || !strings.Contains(err.Error(), "rotating "+path) {
		t.Fatalf("Send with path.1 a directory = %v, want a rotation error", err)
	}
	if err := os.RemoveAll(path + ".1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, testAlert("i", 3, "u")); err != nil {
		t.Fatalf("Send once path.1 is gone = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(readSequences(t, path), readSequences(t, path+".1")); got != "[3] [1]" {
		t.Errorf("path and path.1 hold sequences %s, want [3] [1]", got)
	}
	st := s.Stats()
	if d, f, del := st.Dropped.Load(), st.Failures.Load(), st.Delivered.Load(); d != 1 || f != 1 || del != 2 {
		t.Errorf("dropped %d, failures %d, delivered %d; want 1, 1, 2", d, f, del)
	}
	if err := s.Send(ctx, testAlert("i", 4, "u")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
}

// symlink makes link point to target, skipping the test where the
// system does not let it.
func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot make a symbolic link: %v", err)
	}
}

// TestFileSymlinks: the file output refuses a path that is a symbolic
// link, to a file or to nothing yet, and writes nothing through it; a
// link among the directories above the file is followed.
func TestFileSymlinks(t *testing.T) {
	const before = "not spraywatch's\n"
	for _, tc := range []struct {
		name string
		// setup returns the path to give NewFile and the file the alert
		// must land in ("" when NewFile must refuse path).
		setup   func(t *testing.T, dir string) (path, written string)
		refused bool
	}{
		{"regular path", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "alerts.jsonl")
			return p, p
		}, false},
		{"linked directory", func(t *testing.T, dir string) (string, string) {
			real := filepath.Join(dir, "real")
			if err := os.Mkdir(real, 0o755); err != nil {
				t.Fatal(err)
			}
			symlink(t, real, filepath.Join(dir, "log"))
			return filepath.Join(dir, "log", "alerts.jsonl"), filepath.Join(real, "alerts.jsonl")
		}, false},
		{"link to a file", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "alerts.jsonl")
			symlink(t, filepath.Join(dir, "target"), p)
			return p, ""
		}, true},
		{"link to a file not there yet", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "alerts.jsonl")
			symlink(t, filepath.Join(dir, "absent"), p)
			return p, ""
		}, true},
		{"link to a directory", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "alerts.jsonl")
			symlink(t, dir, p)
			return p, ""
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "target")
			if err := os.WriteFile(target, []byte(before), 0o600); err != nil {
				t.Fatal(err)
			}
			path, written := tc.setup(t, dir)
			s, err := NewFile(path, 0, 1)
			if tc.refused {
				want := "opening alert file: " + path + " is a symbolic link, which the file output does not write through: set path to the file it points to"
				if err == nil || err.Error() != want {
					t.Errorf("NewFile = %v, want %q", err, want)
				}
				if err == nil {
					s.Close()
				}
				if b, err := os.ReadFile(target); err != nil || string(b) != before {
					t.Errorf("link target holds %q (%v), want it unchanged", b, err)
				}
				if _, err := os.Lstat(filepath.Join(dir, "absent")); !os.IsNotExist(err) {
					t.Errorf("the absent target of the link was created (%v)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(context.Background(), testAlert("i", 1, "u")); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if got := readSequences(t, written); fmt.Sprint(got) != "[1]" {
				t.Errorf("%s holds sequences %v, want [1]", written, got)
			}
		})
	}
}

// TestFileSymlinkAtRotation: a link put in place of the file while it
// is open stops the rotation before any rename; neither the rotation nor
// the opens after it write through the link, and each alert they keep
// from being written is dropped and counted. Once the link is gone,
// writing resumes.
func TestFileSymlinkAtRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.jsonl")
	target := filepath.Join(dir, "target")
	const before = "not spraywatch's\n"
	if err := os.WriteFile(target, []byte(before), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := NewFile(path, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Send(ctx, testAlert("i", 1, "u")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	symlink(t, target, path)
	for i, want := range []string{
		"rotating: " + path + " is a symbolic link",
		"writing alert i-3: opening alert file: " + path + " is a symbolic link",
	} {
		if err := s.Send(ctx, testAlert("i", i+2, "u")); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Send %d with path a link = %v, want %q", i+2, err, want)
		}
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != before {
		t.Errorf("link target holds %q (%v), want it unchanged", b, err)
	}
	checkRefusedThenResumes(t, s, path, os.ModeSymlink, "link")
}

// checkRefusedThenResumes checks file output s after the rotation of
// alert 2 and the open for alert 3 refused what is at path (of type mode,
// a what): it is still there, nothing was renamed, both alerts were
// dropped and counted; and once it is removed, alert 4 is written there.
func checkRefusedThenResumes(t *testing.T, s *File, path string, mode os.FileMode, what string) {
	t.Helper()
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&mode == 0 {
		t.Errorf("path is no longer the %s (%v): the rotation moved it", what, err)
	}
	if _, err := os.Lstat(path + ".1"); !os.IsNotExist(err) {
		t.Errorf("%s.1 exists (%v): the rotation renamed", path, err)
	}
	if d, f := s.Stats().Dropped.Load(), s.Stats().Failures.Load(); d != 2 || f != 2 {
		t.Errorf("dropped %d, failures %d; want 2, 2", d, f)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), testAlert("i", 4, "u")); err != nil {
		t.Fatalf("Send once the %s is gone = %v", what, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readSequences(t, path); fmt.Sprint(got) != "[4]" {
		t.Errorf("path holds sequences %v, want [4]", got)
	}
}

// TestFileRotatesLinks: links at the rotated names are moved and
// deleted as themselves; what they point to is never written, moved or
// deleted.
func TestFileRotatesLinks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.jsonl")
	const before = "not spraywatch's\n"
	targets := []string{filepath.Join(dir, "target1"), filepath.Join(dir, "target2")}
	for i, target := range targets {
		if err := os.WriteFile(target, []byte(before), 0o600); err != nil {
			t.Fatal(err)
		}
		symlink(t, target, fmt.Sprintf("%s.%d", path, i+1))
	}
	s, err := NewFile(path, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	// One line per file: alerts 2 and 3 each rotate.
	for i := range 3 {
		if err := s.Send(context.Background(), testAlert("i", i+1, "u")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, target := range targets {
		if b, err := os.ReadFile(target); err != nil || string(b) != before {
			t.Errorf("%s holds %q (%v), want it unchanged", target, b, err)
		}
	}
	for p, want := range map[string]string{path: "[3]", path + ".1": "[2]", path + ".2": "[1]"} {
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s is not a regular file (%v)", p, err)
			continue
		}
		if got := fmt.Sprint(readSequences(t, p)); got != want {
			t.Errorf("%s holds sequences %s, want %s", p, got, want)
		}
	}
}
