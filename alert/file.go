package alert

import (
	"context"
	"fmt"
	"os"
	"sync"
)

// File is a sink appending alerts as JSON lines to a file, rotating it by
// size: when a line would take the file past MaxBytes, path becomes path.1,
// path.1 becomes path.2 and so on, keeping Keep rotated files.
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
func NewFile(path string, maxBytes int64, keep int) (*File, error) {
	if keep < 1 {
		keep = 1
	}
	s := &File{path: path, maxBytes: maxBytes, keep: keep}
	s.stats.Type = "file"
	s.stats.Name = path
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *File) open() error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("opening alert file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening alert file: %w", err)
	}
	s.f, s.size = f, st.Size()
	return nil
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
