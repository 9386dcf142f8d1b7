package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// notWorldReadable fails unless path exists and other users can neither
// read nor write it: alert files and reports name users.
func notWorldReadable(t *testing.T, path string) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Mode().IsRegular() {
		t.Fatalf("%s: mode %v, want a regular file", path, st.Mode())
	}
	if st.Mode().Perm()&0o007 != 0 {
		t.Errorf("%s: mode %v, readable or writable by other users", path, st.Mode().Perm())
	}
}

// TestReplayFilesPrivate: replay's --out file and --report are not
// readable by other users, and a symbolic link where the report goes is
// replaced, its target left alone.
func TestReplayFilesPrivate(t *testing.T) {
	dir := t.TempDir()
	out, report := filepath.Join(dir, "alerts.jsonl"), filepath.Join(dir, "report.html")
	victim := filepath.Join(dir, "victim")
	writeFile(t, victim, "precious\n")
	if err := os.Symlink(victim, report); err != nil {
		t.Fatal(err)
	}
	replaySamples(t, "--quiet", "--out", out, "--report", report)
	notWorldReadable(t, out)
	notWorldReadable(t, report)
	if b, err := os.ReadFile(victim); err != nil || string(b) != "precious\n" {
		t.Errorf("the symbolic link's target was written: %q, %v", b, err)
	}
	if b, err := os.ReadFile(report); err != nil || !strings.Contains(string(b), "<html") {
		t.Errorf("report: %.40q, %v", b, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 3 {
		t.Errorf("%d files in the directory, want alerts, report and victim: %v", len(ents), ents)
	}
}

// TestServeOutFilePrivate: serve --out creates its alert file readable by
// its owner and group only.
func TestServeOutFilePrivate(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := filepath.Join(t.TempDir(), "alerts.jsonl")
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "", "--proxy-file", abs(t, sampleProxy), "--app-file", abs(t, sampleApp), "--out", out}, &stdout, &stderr)
	}()
	deadline := time.After(time.Minute)
	for {
		if _, err := os.Stat(out); err == nil {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		case <-deadline:
			t.Fatalf("no alert file within a minute: %s", stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, stderr.String())
	}
	notWorldReadable(t, out)
}
