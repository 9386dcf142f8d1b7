package alert

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// Writer is a sink writing alerts as JSON lines to an io.Writer (stdout or a
// file). It flushes after each alert, so a reader sees whole lines and an
// alert is written when Send returns; or, made by NewBatchWriter, at most
// once per interval.
type Writer struct {
	mu    sync.Mutex
	w     *bufio.Writer
	c     io.Closer
	buf   []byte
	stats SinkStats

	// every is the flush interval (0: after each alert); flushed when
	// the last flush was, by now.
	every   time.Duration
	flushed time.Time
	now     func() time.Time

	closed bool // Close was called: Send returns ErrClosed
}

// NewWriter returns a sink writing to w; if w is an io.Closer, Close closes it.
func NewWriter(w io.Writer) *Writer { return newWriter(bufio.NewWriter(w), w) }

// NewBatchWriter returns a sink writing to w that flushes its buffer when
// it fills, on Close, and after an alert sent at least every since the last
// flush: a replay that reports thousands of alerts makes a few large writes
// rather than one per alert, and a reader still sees its alerts within
// about every (the last ones on Close). Only whole lines are written. Use
// NewWriter where an alert must be written when Send returns (a server
// that commits its input positions after sending).
func NewBatchWriter(w io.Writer, every time.Duration) *Writer {
	s := newWriter(bufio.NewWriterSize(w, 64<<10), w)
	s.every, s.now = every, time.Now
	s.flushed = s.now()
	return s
}

// Label sets the type and name the writer's statistics, and so its
// metrics, give it; a writer is of type stdout, unnamed, unless labelled
// (a replay's --out FILE is a file).
func (s *Writer) Label(typ, name string) *Writer {
	s.stats.Type, s.stats.Name = typ, name
	return s
}

func newWriter(b *bufio.Writer, w io.Writer) *Writer {
	s := &Writer{w: b}
	s.stats.Type = "stdout"
	if c, ok := w.(io.Closer); ok {
		s.c = c
	}
	return s
}

// Send writes one alert line; an alert it cannot write is dropped
// (counted) and the error returned.
func (s *Writer) Send(_ context.Context, a *Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.stats.Dropped.Add(1)
		return fmt.Errorf("writing an alert: %w", ErrClosed)
	}
	var err error
	if s.buf, err = a.AppendJSON(s.buf[:0]); err != nil {
		s.stats.Failures.Add(1)
		s.stats.Dropped.Add(1)
		return fmt.Errorf("encoding alert %s: %w", a.ID, err)
	}
	if s.every > 0 && len(s.buf) > s.w.Available() && s.w.Buffered() > 0 {
		// Flush whole lines before the buffer would split this one.
		if err := s.flush(); err != nil {
			s.stats.Dropped.Add(1)
			return fmt.Errorf("writing alert %s: %w", a.ID, err)
		}
	}
	// From here the alert is in QueueDepth until a flush, a failed write
	// or a shutdown that gives up on the write settles it.
	s.stats.QueueDepth.Add(1)
	if _, err := s.w.Write(s.buf); err != nil {
		// The lines buffered before it went with the failed write.
		s.stats.Failures.Add(1)
		s.stats.Dropped.Add(uint64(s.stats.QueueDepth.Swap(0)))
		return fmt.Errorf("writing alert %s: %w", a.ID, err)
	}
	if s.every > 0 {
		now := s.now()
		if now.Sub(s.flushed) < s.every {
			return nil
		}
		s.flushed = now
	}
	if err := s.flush(); err != nil {
		return fmt.Errorf("writing alert %s: %w", a.ID, err)
	}
	return nil
}

// flush writes the buffered lines out: the alerts in them are delivered,
// or dropped when that fails (bufio keeps failing after an error).
func (s *Writer) flush() error {
	err := s.w.Flush()
	n := s.stats.QueueDepth.Swap(0)
	if err != nil {
		s.stats.Failures.Add(1)
		s.stats.Dropped.Add(uint64(n))
		return err
	}
	s.stats.Delivered.Add(uint64(n))
	return nil
}

// Stats returns the sink's counters.
func (s *Writer) Stats() *SinkStats { return &s.stats }

// Close flushes and closes the underlying writer if it can be closed.
// Closing again does nothing; Send then returns ErrClosed.
func (s *Writer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeLocked()
}

func (s *Writer) closeLocked() error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.flush()
	if s.c != nil {
		if cerr := s.c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// shutdown is Close, given up on when ctx ends: a write that blocks (a
// pipe nobody reads) cannot be interrupted. The alerts it holds then (the
// one a Send is writing; with NewBatchWriter, the lines buffered too) are
// dropped and counted, and the write is left to finish, or not, on its
// own goroutine.
func (s *Writer) shutdown(ctx context.Context) (left, error) {
	if s.mu.TryLock() {
		if s.w.Buffered() == 0 {
			// No write under way and none to make.
			defer s.mu.Unlock()
			return left{}, s.closeLocked()
		}
		s.mu.Unlock()
	}
	return giveUpAt(ctx, s.Close, &s.stats, s.every == 0)
}

// giveUpAt runs closeSink (which waits for a write under way) until ctx
// ends; then it gives up on it: the alerts in stats.QueueDepth are
// dropped and counted, and reported as interrupted (their Send had not
// returned) if sync, the sink writing each alert within its Send.
func giveUpAt(ctx context.Context, closeSink func() error, stats *SinkStats, sync bool) (left, error) {
	done := make(chan error, 1)
	go func() { done <- closeSink() }()
	select {
	case err := <-done:
		return left{}, err
	case <-ctx.Done():
	}
	// Whatever settles QueueDepth first (this, or the write finishing)
	// counts its alerts, once.
	n := stats.QueueDepth.Swap(0)
	stats.Dropped.Add(uint64(n))
	l := left{unfinished: true}
	if sync {
		l.interrupted = n
	}
	return l, nil
}
