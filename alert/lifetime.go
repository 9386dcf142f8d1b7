package alert

import (
	"context"
	"sync"
	"time"
)

// lifetime is the shutdown the queued sinks and the webhook share: Close
// refuses new alerts, lets the delivery goroutine finish what it holds
// until the drain deadline (or the end of a shutdown's context, if
// sooner), then cancels the delivery context; the end of the sink's parent
// context closes it the same way.
type lifetime struct {
	mu     sync.RWMutex
	closed bool            // under mu: Send refuses alerts
	ctx    context.Context // delivery lifetime; cancelled at the drain deadline
	cancel context.CancelFunc
	done   chan struct{} // closed when the delivery goroutine ends
}

// init sets up the delivery context, which outlives parent until the
// drain deadline.
func (l *lifetime) init(parent context.Context) {
	l.ctx, l.cancel = context.WithCancel(context.WithoutCancel(parent))
	l.done = make(chan struct{})
}

// closeWhenDone calls closeSink once parent ends, unless the delivery
// goroutine ended first.
func (l *lifetime) closeWhenDone(parent context.Context, closeSink func() error) {
	go func() {
		select {
		case <-parent.Done():
			closeSink()
		case <-l.done:
		}
	}()
}

// shut marks the sink closed and calls stop, both under mu, and reports
// true; a sink closed before is left as it is, and shut reports false once
// its delivery goroutine has ended or ctx ends.
func (l *lifetime) shut(ctx context.Context, stop func()) bool {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		select {
		case <-l.done:
		case <-ctx.Done():
		}
		return false
	}
	l.closed = true
	stop()
	l.mu.Unlock()
	return true
}

// drain waits for the delivery goroutine to end, cancelling its context
// after d or when ctx ends, whichever comes first. Every delivery heeds
// that context, so drain returns soon after.
func (l *lifetime) drain(ctx context.Context, d time.Duration) {
	t := time.AfterFunc(d, l.cancel)
	defer t.Stop()
	stop := context.AfterFunc(ctx, l.cancel)
	defer stop()
	<-l.done
	l.cancel()
}
