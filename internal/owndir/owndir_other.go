//go:build !unix

package owndir

import "os"

func check(dir string) error {
	_, err := os.Stat(dir)
	return err
}
