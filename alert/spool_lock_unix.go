//go:build unix

package alert

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockSpool takes an exclusive lock on the spool in dir (flock on its
// file "lock"), held until the returned file is closed: a second spool
// opened on dir, by another webhook output or another process, would
// deliver, commit and delete the segments of the first.
func lockSpool(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("locking spool: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("spool_dir %s is in use by another webhook output or spraywatch process: give each webhook output its own spool_dir", dir)
		}
		return nil, fmt.Errorf("locking spool: %w", err)
	}
	return f, nil
}
