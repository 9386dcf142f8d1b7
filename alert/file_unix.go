//go:build unix

package alert

import (
	"os"
	"syscall"
)

// openAppend opens path for appending, creating it with mode 0640.
// O_NOFOLLOW makes the open fail when path itself is a symbolic link,
// with no moment between a check and the open for one to be put there;
// the directories above it may be links. O_NONBLOCK makes the open of a
// named pipe put there since the check of path return at once (failing
// when the pipe has no reader) instead of waiting for a reader; the
// caller refuses what it opened if it is not a regular file. On a regular
// file O_NONBLOCK changes nothing.
func openAppend(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o640)
}
