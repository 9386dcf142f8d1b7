//go:build unix

package alert

import (
	"context"
	"os"
	"strings"
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
