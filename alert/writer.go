package alert

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sync"
)

// Writer is a sink writing alerts as JSON lines to an io.Writer (stdout or a
// file), flushing after each alert so a reader sees whole lines.
type Writer struct {
	mu    sync.Mutex
	w     *bufio.Writer
	c     io.Closer
	buf   []byte
	stats SinkStats
}

// NewWriter returns a sink writing to w; if w is an io.Closer, Close closes it.
func NewWriter(w io.Writer) *Writer {
	s := &Writer{w: bufio.NewWriter(w)}
	s.stats.Type = "stdout"
	if c, ok := w.(io.Closer); ok {
		s.c = c
	}
	return s
}

// Send writes one alert line.
func (s *Writer) Send(_ context.Context, a *Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.buf, err = a.AppendJSON(s.buf[:0]); err != nil {
		s.stats.Failures.Add(1)
		return fmt.Errorf("encoding alert %s: %w", a.ID, err)
	}
	if _, err := s.w.Write(s.buf); err != nil {
		s.stats.Failures.Add(1)
		return fmt.Errorf("writing alert %s: %w", a.ID, err)
	}
	if err := s.w.Flush(); err != nil {
		s.stats.Failures.Add(1)
		return fmt.Errorf("writing alert %s: %w", a.ID, err)
	}
	s.stats.Delivered.Add(1)
	return nil
}

// Stats returns the sink's counters.
func (s *Writer) Stats() *SinkStats { return &s.stats }

// Close flushes and closes the underlying writer if it can be closed.
func (s *Writer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.w.Flush()
	if s.c != nil {
		if cerr := s.c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
