// Package owndir checks that a directory spraywatch keeps state in is its
// own: a directory another user owns, or one every user may add files to,
// lets that user change what spraywatch reads back.
package owndir

// Check reports an error when dir is not the process's own: owned by
// another user than the process's (root excepted), or writable by all with
// the sticky bit (a shared directory such as /tmp, where anyone may add
// files). A directory writable by all without the sticky bit (Kubernetes'
// emptyDir) is one pod's and passes. The error names dir and the reason;
// callers add what another user could do with it. A directory that cannot
// be read gives os.Stat's *fs.PathError.
//
// Only Unix systems are checked; elsewhere Check returns nil unless dir
// cannot be read.
func Check(dir string) error { return check(dir) }
