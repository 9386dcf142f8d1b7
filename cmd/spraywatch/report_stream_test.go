//go:build unix

package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReportToStream: --report naming a stream (a named pipe, as a
// shell's >(...) gives, or /dev/stdout) writes the report to it, as to a
// file: it is not replaced by a regular file renamed over it.
func TestReportToStream(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "report.pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(fifo) // until the report is opened for writing
		if err != nil {
			got <- err.Error()
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- string(b)
	}()
	replaySamples(t, "--quiet", "--report", fifo)
	select {
	case b := <-got:
		if !strings.Contains(b, "<html") {
			t.Errorf("read from the pipe: %.80q", b)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("nothing written to the pipe")
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe was replaced: %v, %v", st.Mode(), err)
	}
}

func TestWrittenInPlace(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "report.html")
	writeFile(t, regular, "old")
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/dev/stdout", true},
		{"/dev/fd/3", true},
		{"/proc/self/fd/1", true},
		{"/dev/null", true},
		{regular, false},
		{filepath.Join(dir, "new.html"), false},
		{"report.html", false},
	} {
		if got := writtenInPlace(tc.path); got != tc.want {
			t.Errorf("writtenInPlace(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

// TestReportWriteError: a report that cannot be written fails the replay
// with one message saying so and why.
func TestReportWriteError(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full:", err)
	}
	for _, tc := range []struct {
		path string
		want string
	}{
		{"/dev/full", "spraywatch replay: writing the report: write /dev/full: no space left on device\n"},
	} {
		var out, errb bytes.Buffer
		args := []string{"replay", "--quiet", "--proxy", "../../samples/data/nginx-access.log", "--app", "../../samples/data/django-auth.log", "--out", os.DevNull, "--report", tc.path}
		if code := run(context.Background(), args, &out, &errb); code != 1 || errb.String() != tc.want {
			t.Errorf("--report %s: exit %d, stderr %q; want exit 1, stderr %q", tc.path, code, errb.String(), tc.want)
		}
	}
}
