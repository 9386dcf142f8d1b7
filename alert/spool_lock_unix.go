//go:build unix

package alert

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spraywatch/spraywatch/internal/owndir"
)

// lockSpool takes an exclusive lock on the spool in dir (flock on its
// file "lock"), held until the returned file is closed: a second spool
// opened on dir, by another webhook output or another process, would
// deliver, commit and delete the segments of the first.
func lockSpool(dir string) (*os.File, error) {
	if err := checkSpoolOwner(dir); err != nil {
		return nil, err
	}
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

// checkSpoolOwner refuses a spool directory that is not the process's
// own (owndir.Check): another user owning it, or any user of a shared
// directory such as /tmp, could read the alerts waiting there and add
// records of its own, which the webhook would sign with its secret and
// deliver.
func checkSpoolOwner(dir string) error {
	if err := owndir.Check(dir); err != nil {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			return fmt.Errorf("opening spool: %w", err)
		}
		return fmt.Errorf("spool_dir: %w: another user could read its alerts and add alerts the webhook would sign and send; use a directory of its own", err)
	}
	return nil
}
