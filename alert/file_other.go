//go:build !unix

package alert

import "os"

// openAppend opens path for appending, creating it with mode 0640. With
// no O_NOFOLLOW here, a symbolic link at path is refused by a check made
// before the open: a link put there between the two is followed.
func openAppend(path string) (*os.File, error) {
	if err := checkNotSymlink(path); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
}
