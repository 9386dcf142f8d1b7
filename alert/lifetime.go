package alert

import (
	"context"
	"sync"
	"time"
)

// lifetime is the shutdown the queued sinks and the webhook share: Close
// refuses new alerts, lets the delivery goroutine finish what it holds
// until the drain deadline, then cancels the delivery context; the end of
// the sink's parent context closes it the same way.
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
// its delivery goroutine has ended.
func (l *lifetime) shut(stop func()) bool {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return false
	}
	l.closed = true
	stop()
	l.mu.Unlock()
	return true
}

// drain waits for the delivery goroutine to end, cancelling its context
// after d.
func (l *lifetime) drain(d time.Duration) {
	t := time.AfterFunc(d, l.cancel)
	<-l.done
	t.Stop()
	l.cancel()
}
