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

// checkSpoolOwner refuses a spool directory owned by another user than
// the process's (or root): that user could read the alerts waiting there
// and add records of its own, which the webhook would sign with its secret
// and deliver. A spool_dir in a shared directory such as /tmp, created
// beforehand by someone else, is such a directory. So is a shared
// directory itself: writable by all with the sticky bit (/tmp, /var/tmp),
// where anyone may add files. (A volume writable by all without the
// sticky bit, as Kubernetes' emptyDir, is one pod's.)
func checkSpoolOwner(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("opening spool: %w", err)
	}
	if m := st.Mode(); m&os.ModeSticky != 0 && m.Perm()&0o002 != 0 {
		return fmt.Errorf("spool_dir %s is a directory every user may add files to (%s, as /tmp): another user could add alerts the webhook would sign and send; use a directory of its own", dir, m)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := int(sys.Uid); uid != os.Geteuid() && uid != 0 {
		return fmt.Errorf("spool_dir %s is owned by user %d, not by this process's user (%d) or root: another user could read its alerts and add alerts the webhook would sign and send", dir, uid, os.Geteuid())
	}
	return nil
}
