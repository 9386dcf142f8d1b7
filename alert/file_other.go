//go:build !unix

package alert

import "os"

// openAppend opens path for appending, creating it with mode 0640. With
// no O_NOFOLLOW here, a symbolic link at path is refused by the check
// the caller makes before the open: a link put there between the two is
// followed.
func openAppend(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
}
