//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFileOutputNamedPipe: a named pipe with no reader at a file output's
// path is reported by config check under the outputs line, and refused
// at the start of replay and serve, which say what it is instead of
// waiting for a reader.
func TestFileOutputNamedPipe(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "alerts.jsonl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("cannot make a named pipe: %v", err)
	}
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, "sources:\n  - {name: edge, kind: proxy, paths: ["+abs(t, "../../samples/data/nginx-access.log")+"]}\n"+
		"  - {name: app, kind: app, paths: ["+abs(t, "../../samples/data/django-auth.log")+"]}\n"+
		"outputs:\n  - {type: file, path: alerts.jsonl}\n")
	const what = " is a named pipe (FIFO), not a regular file: the file output appends to a regular file, and renames it to rotate"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"config", "check", cfg}, "outputs: file (not opened by check)\n  error: " + cfg + ":5: outputs[0] (file-0): path " + fifo + what + "\n"},
		{[]string{"config", "check", "--serve", cfg}, "outputs: file (not opened by check)\n  error: " + cfg + ":5: outputs[0] (file-0): path " + fifo + what + "\n"},
		{[]string{"replay", "--quiet", "--config", cfg}, "spraywatch replay: outputs[0] (file-0): opening alert file: " + fifo + what + "\n"},
		{[]string{"serve", "--listen", "", "--config", cfg}, "outputs[0] (file-0): opening alert file: " + fifo + what + "\n"},
	} {
		var out, errb bytes.Buffer
		done := make(chan int, 1)
		go func() { done <- run(context.Background(), tc.args, &out, &errb) }()
		select {
		case code := <-done:
			if all := out.String() + errb.String(); code != 1 || !strings.Contains(all, tc.want) {
				t.Errorf("%v: exit %d, output:\n%s\nwant exit 1 with %q", tc.args, code, all, tc.want)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%v has not returned after a minute", tc.args)
		}
	}
}

// TestReplayOutFollowsLinks: replay --out opens its file as the shell's
// redirection does: through a symbolic link, to the file it points to.
func TestReplayOutFollowsLinks(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "target.jsonl"), filepath.Join(dir, "alerts.jsonl")
	writeFile(t, target, "not alerts\n")
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot make a symbolic link: %v", err)
	}
	var out, errb bytes.Buffer
	args := []string{"replay", "--quiet", "--proxy", "../../samples/data/nginx-access.log", "--app", "../../samples/data/django-auth.log", "--out", link}
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	want, err := os.ReadFile("testdata/samples.alerts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(target); err != nil || !bytes.Equal(got, want) {
		t.Errorf("the link's target holds %d bytes (%v), want the %d of testdata/samples.alerts.jsonl", len(got), err, len(want))
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("%s is no longer a link (%v)", link, err)
	}
}
