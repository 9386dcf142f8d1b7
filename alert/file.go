package alert

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// File is a sink appending alerts as JSON lines to a file, rotating it by
// size: when a line would take the file past MaxBytes, path becomes path.1,
// path.1 becomes path.2 and so on, keeping Keep rotated files. It writes
// only to a regular file: not through a symbolic link at path, nor to a
// named pipe, device or socket there (see NewFile).
type File struct {
	path     string
	maxBytes int64
	keep     int
	stats    SinkStats

	mu     sync.Mutex
	f      *os.File // nil after Close, or after a rotation that failed
	closed bool
	size   int64
	buf    []byte
}

// NewFile opens (appending) or creates path. maxBytes <= 0 disables
// rotation; keep is the number of rotated files kept (at least 1).
// A path that is a symbolic link, or anything else that is not a regular
// file (a named pipe, a device, a socket, a directory), is refused, there
// and whenever the file is opened again after a rotation; the directories
// above it may be links. A named pipe at path is refused without being
// opened, so that NewFile never waits for a reader.
func NewFile(path string, maxBytes int64, keep int) (*File, error) {
	if keep < 1 {
		keep = 1
	}
	s := &File{path: path, maxBytes: maxBytes, keep: keep}
	s.stats.Type = "file"
	s.stats.Name = path
	if err := s.open(); err != nil {
		if errors.Is(err, errSymlink) {
			return nil, fmt.Errorf("%w: set path to the file it points to", err)
		}
		return nil, err
	}
	return s, nil
}

func (s *File) open() error {
	// What is at path is checked before the open, which would wait for
	// the reader of a named pipe, or act on a device, and after it, on
	// what was opened: something put there in between is refused too.
	if err := CheckFilePath(s.path); err != nil {
		return fmt.Errorf("opening alert file: %w", err)
	}
	f, err := openAppend(s.path)
	if err != nil {
		// The error of an O_NOFOLLOW open of a link (ELOOP on Linux),
		// or of an O_NONBLOCK open of a pipe with no reader (ENXIO),
		// does not say so.
		if lerr := CheckFilePath(s.path); lerr != nil {
			err = lerr
		}
		return fmt.Errorf("opening alert file: %w", err)
	}
	st, err := f.Stat()
	if err == nil {
		err = checkMode(s.path, st.Mode())
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("opening alert file: %w", err)
	}
	s.f, s.size = f, st.Size()
	return nil
}

// errSymlink is the error of an alert file path that is a symbolic link.
var errSymlink = errors.New("is a symbolic link, which the file output does not write through")

// errNotRegular is the error of an alert file path that is neither a
// regular file nor absent.
var errNotRegular = errors.New("the file output appends to a regular file, and renames it to rotate")

// CheckFilePath returns an error naming path if something other than a
// regular file is there, as the file output (NewFile) finds it: a
// symbolic link, which whoever can create files in its directory could
// point at a file elsewhere, for spraywatch to append to or rotate; or a
// named pipe, a device, a socket or a directory, which a rotation would
// rename. Nothing at path, or a path that cannot be looked at, is no error
// here: opening it says what is wrong.
func CheckFilePath(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil
	}
	return checkMode(path, fi.Mode())
}

// checkMode returns an error naming path if m is not a regular file's
// mode.
func checkMode(path string, m fs.FileMode) error {
	if m&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s %w", path, errSymlink)
	}
	if m.IsRegular() {
		return nil
	}
	what := "not a regular file (mode " + m.String() + ")"
	switch {
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO), not a regular file"
	case m&fs.ModeCharDevice != 0:
		what = "a character device, not a regular file"
	case m&fs.ModeDevice != 0:
		what = "a block device, not a regular file"
	case m&fs.ModeSocket != 0:
		what = "a socket, not a regular file"
	case m.IsDir():
		what = "a directory, not a regular file"
	}
	return fmt.Errorf("%s is %s: %w", path, what, errNotRegular)
}

// Stats returns the sink's counters.
func (s *File) Stats() *SinkStats { return &s.stats }

// Send appends one alert line, rotating first if needed; an alert it
// cannot write is dropped (counted). After a rotation that failed, the
// next Send opens the file again, and rotates it again if needed.
func (s *File) Send(_ context.Context, a *Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The alert is in QueueDepth until its write, or a shutdown that
	// gives up on it, settles it.
	s.stats.QueueDepth.Add(1)
	err := s.send(a)
	n := uint64(s.stats.QueueDepth.Swap(0))
	if err != nil {
		s.stats.Dropped.Add(n)
	} else {
		s.stats.Delivered.Add(n)
	}
	return err
}

func (s *File) send(a *Alert) error {
	if s.closed {
		return fmt.Errorf("writing alert %s to %s: %w", a.ID, s.path, ErrClosed)
	}
	if s.f == nil {
		// A rotation failed and left the file closed: each alert tries
		// to open it again.
		if err := s.open(); err != nil {
			s.stats.Failures.Add(1)
			return fmt.Errorf("writing alert %s: %w", a.ID, err)
		}
	}
	var err error
	if s.buf, err = a.AppendJSON(s.buf[:0]); err != nil {
		s.stats.Failures.Add(1)
		return fmt.Errorf("encoding alert %s: %w", a.ID, err)
	}
	if s.maxBytes > 0 && s.size > 0 && s.size+int64(len(s.buf)) > s.maxBytes {
		if err := s.rotate(); err != nil {
			s.stats.Failures.Add(1)
			return err
		}
	}
	n, err := s.f.Write(s.buf)
	s.size += int64(n)
	if err != nil {
		s.stats.Failures.Add(1)
		return fmt.Errorf("writing alert %s to %s: %w", a.ID, s.path, err)
	}
	return nil
}

func (s *File) rotate() error {
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("rotating %s: %w", s.path, err)
	}
	// A link, pipe or device put at path since it was opened is not
	// spraywatch's file: the rotation stops before any rename, and the
	// alerts fail until it is removed. The renames below move links,
	// never what they point to.
	if err := CheckFilePath(s.path); err != nil {
		return fmt.Errorf("rotating: %w", err)
	}
	os.Remove(fmt.Sprintf("%s.%d", s.path, s.keep))
	for i := s.keep - 1; i >= 1; i-- {
		from := fmt.Sprintf("%s.%d", s.path, i)
		if err := os.Rename(from, fmt.Sprintf("%s.%d", s.path, i+1)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("rotating %s: %w", s.path, err)
		}
	}
	if err := os.Rename(s.path, s.path+".1"); err != nil {
		return fmt.Errorf("rotating %s: %w", s.path, err)
	}
	return s.open()
}

// Close syncs and closes the file.
func (s *File) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeLocked()
}

// shutdown is Close, given up on when ctx ends while a Send is writing
// (a file system that does not answer): that alert is dropped and counted.
// With no write under way the file is synced and closed in place.
func (s *File) shutdown(ctx context.Context) (left, error) {
	if s.mu.TryLock() {
		defer s.mu.Unlock()
		return left{}, s.closeLocked()
	}
	return giveUpAt(ctx, s.Close, &s.stats, true)
}

func (s *File) closeLocked() error {
	s.closed = true
	if s.f == nil {
		return nil
	}
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	return err
}
