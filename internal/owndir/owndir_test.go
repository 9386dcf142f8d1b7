//go:build unix

package owndir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckModes(t *testing.T) {
	for _, tt := range []struct {
		mode os.FileMode
		want string // substring of the error; empty: accepted
	}{
		{0o750, ""},
		{0o777, ""}, // an emptyDir: writable by all, no sticky bit
		{0o700 | os.ModeSticky, ""},
		{0o777 | os.ModeSticky, "every user may add files to"},
		{0o773 | os.ModeSticky, "every user may add files to"},
	} {
		dir := t.TempDir()
		if err := os.Chmod(dir, tt.mode); err != nil {
			t.Fatal(err)
		}
		err := Check(dir)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("mode %s: %v, want accepted", tt.mode, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), dir)):
			t.Errorf("mode %s: err = %v, want one naming %s and %q", tt.mode, err, dir, tt.want)
		}
	}
}

func TestCheckOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the directory to another user")
	}
	dir := t.TempDir()
	if err := os.Chown(dir, 54321, 54321); err != nil {
		t.Fatal(err)
	}
	if err := Check(dir); err == nil || !strings.Contains(err.Error(), "owned by user 54321") {
		t.Errorf("err = %v, want the owner named", err)
	}
}

func TestCheckMissing(t *testing.T) {
	if err := Check(filepath.Join(t.TempDir(), "none")); !os.IsNotExist(err) {
		t.Errorf("err = %v, want not-exist", err)
	}
}
