package alert

import (
	"context"
	"sync"
	"testing"
	"time"
)

// closeWithin runs q.Close and fails the test if it does not return in d.
func closeWithin(t *testing.T, q *queue, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		q.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("Close did not return within %s", d)
	}
}

// A queue whose start was never called still delivers what it was given
// and Close returns, whether or not anything was sent, and whether the
// queue ends by Close or by its context.
func TestQueueNotStarted(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sends  int
		cancel bool // end the parent context instead of calling Close
	}{
		{"close, nothing sent", 0, false},
		{"close after sends", 3, false},
		{"context ends after sends", 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			deliver := func(_ context.Context, batch []*Alert) error {
				mu.Lock()
				defer mu.Unlock()
				for _, a := range batch {
					got = append(got, a.ID)
				}
				return nil
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stats SinkStats
			q := newQueue(ctx, &stats, QueueOptions{DrainTimeout: time.Second}, deliver)
			var want []string
			for i := range tc.sends {
				a := testAlert("inc", i, "alice")
				want = append(want, a.ID)
				if err := q.Send(context.Background(), a); err != nil {
					t.Fatal(err)
				}
			}
			if tc.cancel {
				cancel()
				select {
				case <-q.done:
				case <-time.After(5 * time.Second):
					t.Fatal("the queue did not end with its context")
				}
			}
			closeWithin(t, q, 5*time.Second)
			mu.Lock()
			defer mu.Unlock()
			if len(got) != len(want) {
				t.Fatalf("delivered %v, want %v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("delivered %v, want %v", got, want)
				}
			}
			if d := stats.Delivered.Load(); d != uint64(len(want)) {
				t.Errorf("Delivered = %d, want %d", d, len(want))
			}
			if err := q.Send(context.Background(), testAlert("inc", 9, "alice")); err != ErrClosed {
				t.Errorf("Send after Close = %v, want ErrClosed", err)
			}
		})
	}
}
