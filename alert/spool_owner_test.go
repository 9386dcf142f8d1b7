//go:build unix

package alert

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSpoolRefusesOtherOwner: a spool directory another user owns (made
// beforehand in a shared directory) is refused: that user could add
// records the webhook would sign and deliver.
func TestSpoolRefusesOtherOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the directory to another user")
	}
	dir := t.TempDir()
	if err := os.Chown(dir, 54321, 54321); err != nil {
		t.Fatal(err)
	}
	_, err := NewWebhook(context.Background(), WebhookOptions{URL: "http://" + freeAddr(t), SpoolDir: dir})
	if err == nil || !strings.Contains(err.Error(), "owned by user 54321") {
		t.Fatalf("err = %v, want the directory refused", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("files made in the refused directory: %v", ents)
	}
	// Its own directory is fine.
	w, err := NewWebhook(context.Background(), WebhookOptions{URL: "http://" + freeAddr(t), SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
}

// TestSpoolRefusesSharedDirectory: a spool_dir every user may add files
// to (world-writable with the sticky bit, as /tmp) is refused; one
// writable by all without it (a Kubernetes emptyDir) is not.
func TestSpoolRefusesSharedDirectory(t *testing.T) {
	for _, tt := range []struct {
		mode    os.FileMode
		refused bool
	}{
		{0o777 | os.ModeSticky, true},
		{0o777, false},
		{0o700 | os.ModeSticky, false},
	} {
		dir := t.TempDir()
		if err := os.Chmod(dir, tt.mode); err != nil {
			t.Fatal(err)
		}
		w, err := NewWebhook(context.Background(), WebhookOptions{URL: "http://" + freeAddr(t), SpoolDir: dir})
		if refused := err != nil && strings.Contains(err.Error(), "every user may add files to"); refused != tt.refused {
			t.Errorf("mode %s: err = %v, want refused %v", tt.mode, err, tt.refused)
		}
		if err == nil {
			w.Close()
		}
	}
}

// TestSpoolFileModes: the spool's directory and every file in it, the
// cursor too, are not readable by other users (0750, 0640), whatever
// the process's umask lets through.
func TestSpoolFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "spool")
	var st SinkStats
	sp, err := openSpool(dir, 1<<20, 1<<16, &st)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := sp.append([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		_, pos, ok := sp.next()
		if !ok {
			t.Fatal("no record to deliver")
		}
		if err := sp.commit(pos); err != nil {
			t.Fatal(err)
		}
	}
	sp.close()
	if _, err := os.Stat(filepath.Join(dir, "cursor")); err != nil {
		t.Fatalf("no cursor written: %v", err)
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if perm := info.Mode().Perm(); perm&0o007 != 0 {
			t.Errorf("%s: mode %v, open to other users", path, perm)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
