//go:build unix

package owndir

import (
	"fmt"
	"os"
	"syscall"
)

func check(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if m := st.Mode(); m&os.ModeSticky != 0 && m.Perm()&0o002 != 0 {
		return fmt.Errorf("%s is a directory every user may add files to (%s, as /tmp)", dir, m)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := int(sys.Uid); uid != os.Geteuid() && uid != 0 {
		return fmt.Errorf("%s is owned by user %d, not by this process's user (%d) or root", dir, uid, os.Geteuid())
	}
	return nil
}
