//go:build unix

package config

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteErrorsNotRegular: a file output's path that is a named pipe, a
// device or a symbolic link is reported at its key's line, as the file
// output refuses it at start; the replay settings, written otherwise, are
// not checked for it.
func TestWriteErrorsNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "alerts.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("cannot make a named pipe: %v", err)
	}
	link := filepath.Join(dir, "alerts.link")
	if err := os.Symlink(filepath.Join(dir, "target"), link); err != nil {
		t.Skipf("cannot make a symbolic link: %v", err)
	}
	path := filepath.Join(dir, "sw.yml")
	const src = "sources:\n  - {kind: proxy, paths: [a.log]}\n"
	for _, tt := range []struct {
		name, yml string
		want      []string
	}{
		{"named pipe", "outputs:\n  - {type: file, path: alerts.fifo}\n",
			[]string{path + ":4: outputs[0] (file-0): path " + fifo + " is a named pipe (FIFO), not a regular file: the file output appends to a regular file, and renames it to rotate"}},
		{"device", "outputs:\n  - {type: file, name: sink, path: " + os.DevNull + "}\n",
			[]string{path + ":4: outputs[0] (sink): path " + os.DevNull + " is a character device, not a regular file: the file output appends to a regular file, and renames it to rotate"}},
		{"symbolic link", "outputs:\n  - {type: file, path: alerts.link}\n",
			[]string{path + ":4: outputs[0] (file-0): path " + link + " is a symbolic link, which the file output does not write through"}},
		{"replay settings", "replay:\n  report: alerts.fifo\n  cpu_profile: " + os.DevNull + "\n", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(path, []byte(src+tt.yml))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, err := range c.WriteErrors(UseReplay) {
				got = append(got, err.Error())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("errors %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("error %q, want %q", got[i], tt.want[i])
				}
			}
		})
	}
}
