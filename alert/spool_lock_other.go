//go:build !unix

package alert

import (
	"os"
	"path/filepath"
)

// lockSpool opens the spool's lock file; only Unix systems lock it.
func lockSpool(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o640)
}
