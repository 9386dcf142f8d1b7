//go:build unix

package alert

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hangLimit is how long a call that must not wait for anything may take
// before the test takes it for one that waits forever.
const hangLimit = 30 * time.Second

// newFileBounded is NewFile, failing the test if it has not returned
// within hangLimit (a named pipe's open waiting for a reader).
func newFileBounded(t *testing.T, path string, maxBytes int64, keep int) (*File, error) {
	t.Helper()
	type result struct {
		s   *File
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := NewFile(path, maxBytes, keep)
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		return r.s, r.err
	case <-time.After(hangLimit):
		// The open is left waiting: a reader would let it go on.
		t.Fatalf("NewFile(%s) has not returned after %s", path, hangLimit)
		return nil, nil
	}
}

// TestFileNotRegular: the file output refuses a named pipe, a device, a
// socket or a directory at its path with an error naming the path and
// what is there, without waiting for a pipe's reader, and leaves it
// where it is.
func TestFileNotRegular(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) string
		what  string
	}{
		{"named pipe", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "alerts.jsonl")
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Skipf("cannot make a named pipe: %v", err)
			}
			return p
		}, "a named pipe (FIFO)"},
		{"character device", func(t *testing.T, dir string) string {
			if fi, err := os.Stat(os.DevNull); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
				t.Skipf("%s is not a character device here (%v)", os.DevNull, err)
			}
			return os.DevNull
		}, "a character device"},
		{"socket", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "alerts.sock")
			l, err := net.Listen("unix", p)
			if err != nil {
				t.Skipf("cannot make a unix socket: %v", err)
			}
			t.Cleanup(func() { l.Close() })
			return p
		}, "a socket"},
		{"directory", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "alerts.jsonl")
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return p
		}, "a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.setup(t, t.TempDir())
			before, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := newFileBounded(t, path, 1, 2)
			want := "opening alert file: " + path + " is " + tc.what + ", not a regular file: the file output appends to a regular file, and renames it to rotate"
			if err == nil || err.Error() != want {
				t.Errorf("NewFile = %v, want %q", err, want)
			}
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, errNotRegular) {
				t.Errorf("NewFile's error %v is not errNotRegular", err)
			}
			if err := CheckFilePath(path); err == nil || !strings.HasSuffix(want, err.Error()) {
				t.Errorf("CheckFilePath = %v, want the end of %q", err, want)
			}
			after, err := os.Lstat(path)
			if err != nil || after.Mode() != before.Mode() {
				t.Errorf("%s after NewFile: %v (%v), want it unchanged (%v)", path, after, err, before.Mode())
			}
			if _, err := os.Lstat(path + ".1"); !os.IsNotExist(err) {
				t.Errorf("%s.1 exists (%v): something was renamed", path, err)
			}
		})
	}
}

// TestFileNamedPipeAtRotation: a named pipe put in place of the file
// while it is open, with no reader, stops the rotation before any rename,
// and the opens after it refuse it at once instead of waiting for a
// reader; the alerts are dropped and counted. Once it is gone, writing
// resumes.
func TestFileNamedPipeAtRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.jsonl")
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
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("cannot make a named pipe: %v", err)
	}
	for i, want := range []string{
		"rotating: " + path + " is a named pipe (FIFO), not a regular file",
		"writing alert i-3: opening alert file: " + path + " is a named pipe (FIFO), not a regular file",
	} {
		done := make(chan error, 1)
		go func() { done <- s.Send(ctx, testAlert("i", i+2, "u")) }()
		select {
		case err := <-done:
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Send %d with path a named pipe = %v, want %q", i+2, err, want)
			}
		case <-time.After(hangLimit):
			t.Fatalf("Send %d with path a named pipe has not returned after %s", i+2, hangLimit)
		}
	}
	checkRefusedThenResumes(t, s, path, os.ModeNamedPipe, "named pipe")
}

// TestOpenAppendNamedPipe: the open itself does not wait for a named
// pipe's reader, for a pipe put at the path between the check and the
// open: with no reader it fails at once; with one it opens, and the
// check of what was opened refuses it.
func TestOpenAppendNamedPipe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.jsonl")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("cannot make a named pipe: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		f, err := openAppend(path)
		if err == nil {
			f.Close()
			err = errors.New("opened")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, syscall.ENXIO) {
			t.Errorf("openAppend of a named pipe with no reader = %v, want ENXIO", err)
		}
	case <-time.After(hangLimit):
		t.Fatalf("openAppend of a named pipe with no reader has not returned after %s", hangLimit)
	}

	r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := openAppend(path)
	if err != nil {
		t.Fatalf("openAppend of a named pipe with a reader = %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	want := path + " is a named pipe (FIFO), not a regular file"
	if err := checkMode(path, st.Mode()); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("checkMode of the opened pipe = %v, want %q", err, want)
	}
}
