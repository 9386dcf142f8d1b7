package alert

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// hangingServer answers no request until the client gives up.
func hangingServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // first: Close waits for the handlers
	return srv
}

// fullPipe returns the write end of a pipe nobody reads, already full: a
// write to it blocks. Closing the read end (at cleanup) ends such a write
// with an error.
func fullPipe(t *testing.T) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	// Fill the pipe: the write takes what fits, then times out.
	w.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := w.Write(make([]byte, 16<<20)); err == nil {
		t.Fatalf("wrote %d bytes to a pipe nobody reads", n)
	}
	w.SetWriteDeadline(time.Time{})
	return w
}

// blockedClose is a sink of another package's kind whose Close does not
// return until released.
type blockedClose struct{ release chan struct{} }

func (b *blockedClose) Send(context.Context, *Alert) error { return nil }
func (b *blockedClose) Close() error                       { <-b.release; return nil }

// TestFanoutShutdownDeadline shuts down outputs that cannot deliver: a
// stdout writer blocked on a full pipe, an Alertmanager and a webhook
// whose receivers never answer (each with a drain deadline far beyond the
// shutdown's), a sink whose Close blocks. Shutdown returns once its
// context ends and reports, per output, what was not delivered: the
// alert being written, dropped and counted; the Alertmanager's queue,
// dropped and counted; the webhook's alerts, kept in its spool. A file
// that took every alert is not reported. With a context that outlasts
// the drains, the same outputs minus the stuck ones report nothing.
func TestFanoutShutdownDeadline(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		stuck   bool // outputs that cannot deliver, or a sound receiver
		timeout time.Duration
		want    map[string]Undelivered
	}{
		{"deadline", true, 500 * time.Millisecond, map[string]Undelivered{
			"stdout": {Output: "stdout", Type: "stdout", Interrupted: 1, Unfinished: true},
			"am":     {Output: "am", Type: "alertmanager", Dropped: 5},
			"hook":   {Output: "hook", Type: "webhook", Spooled: 3},
			"#4":     {Output: "#4", Unfinished: true},
		}},
		{"drained", false, time.Minute, map[string]Undelivered{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var url string
			if tt.stuck {
				url = hangingServer(t).URL
			} else {
				srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
				t.Cleanup(srv.Close)
				url = srv.URL
			}
			am, err := NewAlertmanager(ctx, AlertmanagerOptions{Name: "am", URL: url,
				Queue: QueueOptions{Size: 16, MaxBatch: 1, MaxAttempts: -1, DrainTimeout: time.Minute}})
			if err != nil {
				t.Fatal(err)
			}
			hook, err := NewWebhook(ctx, WebhookOptions{Name: "hook", URL: url, SpoolDir: filepath.Join(t.TempDir(), "spool"), DrainTimeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			file, err := NewFile(filepath.Join(t.TempDir(), "alerts.jsonl"), 0, 1)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				am.Send(ctx, testAlert("a", i+1, "u"))
				file.Send(ctx, testAlert("f", i+1, "u"))
			}
			for i := range 3 {
				hook.Send(ctx, testAlert("h", i+1, "u"))
			}
			routed := []Routed{{Sink: am}, {Sink: hook}, {Sink: file}}
			var stdout *Writer
			if tt.stuck {
				stdout = NewWriter(nopCloser{fullPipe(t)})
				go stdout.Send(ctx, testAlert("s", 1, "u")) // blocks on the full pipe
				waitFor(t, 10*time.Second, "the write under way", func() bool { return stdout.Stats().QueueDepth.Load() == 1 })
				stuck := &blockedClose{release: make(chan struct{})}
				t.Cleanup(func() { close(stuck.release) })
				routed = append(routed, Routed{Sink: stdout}, Routed{Sink: stuck})
			}
			fan := NewFanout(routed...)

			sctx, cancel := context.WithTimeout(ctx, tt.timeout)
			defer cancel()
			type result struct {
				u   []Undelivered
				err error
			}
			done := make(chan result, 1)
			go func() {
				u, err := fan.Shutdown(sctx)
				done <- result{u, err}
			}()
			var res result
			select {
			case res = <-done:
			case <-time.After(tt.timeout + 30*time.Second):
				t.Fatal("Shutdown did not return after its context ended")
			}
			if res.err != nil {
				t.Errorf("Shutdown: %v", res.err)
			}
			got := map[string]Undelivered{}
			for _, u := range res.u {
				got[u.Output] = u
			}
			for name, w := range tt.want {
				if got[name] != w {
					t.Errorf("output %s: got %+v, want %+v", name, got[name], w)
				}
			}
			for name, u := range got {
				if _, ok := tt.want[name]; !ok {
					t.Errorf("output %s reported %+v, want nothing", name, u)
				}
			}
			// What was given up on is counted dropped, once; nothing
			// is left counted as queued.
			for _, c := range []struct {
				st      *SinkStats
				dropped uint64
			}{
				{am.Stats(), uint64(tt.want["am"].Dropped)},
				{hook.Stats(), 0},
				{file.Stats(), 0},
			} {
				if d := c.st.Dropped.Load(); d != c.dropped {
					t.Errorf("output %s: %d alerts counted dropped, want %d", c.st.Name, d, c.dropped)
				}
			}
			if d, q := am.Stats().QueueDepth.Load(), file.Stats().Delivered.Load(); d != 0 || q != 5 {
				t.Errorf("alertmanager queue depth %d, file delivered %d; want 0, 5", d, q)
			}
			if stdout != nil {
				if d, q := stdout.Stats().Dropped.Load(), stdout.Stats().QueueDepth.Load(); d != 1 || q != 0 {
					t.Errorf("stdout: dropped %d, queue depth %d; want 1, 0", d, q)
				}
			}
		})
	}
}
