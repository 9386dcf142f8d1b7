//go:build unix

package alert

import (
	"os"
	"syscall"
)

// openAppend opens path for appending, creating it with mode 0640.
// O_NOFOLLOW makes the open fail when path itself is a symbolic link,
// with no moment between a check and the open for one to be put there;
// the directories above it may be links.
func openAppend(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o640)
}
