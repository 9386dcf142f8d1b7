package alert

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestFanoutStuckReceiverDoesNotBlock sends through a fan-out whose
// Alertmanager accepts connections and never answers: Send keeps returning
// without an error (the Alertmanager queueing, then dropping) and the other
// sink gets every alert.
func TestFanoutStuckReceiverDoesNotBlock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var conns []net.Conn // held open, never answered
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	am, err := NewAlertmanager(ctx, AlertmanagerOptions{Name: "stuck", URL: "http://" + l.Addr().String(), Timeout: 10 * time.Second,
		Queue: QueueOptions{Size: 8, MaxBatch: 1, DrainTimeout: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	file, err := NewFile(filepath.Join(t.TempDir(), "a.jsonl"), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFanout(Routed{Sink: am}, Routed{Sink: file})
	const n = 200
	done := make(chan int)
	go func() {
		for i := range n {
			if err := f.Send(ctx, testAlert("i", i, "u")); err != nil {
				t.Error(err)
			}
		}
		done <- int(am.Stats().Dropped.Load())
	}()
	var full int
	select {
	case full = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Send blocked behind a receiver that does not answer")
	}
	if full < n-10 {
		t.Errorf("%d of %d sends refused; queue holds 8 (+1 in flight)", full, n)
	}
	if d := am.Stats().QueueDepth.Load(); d < 8 {
		t.Errorf("queue depth %d, want the full queue", d)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := file.Stats().Delivered.Load(); got != n {
		t.Errorf("file sink got %d alerts, want %d", got, n)
	}
	st := am.Stats()
	if st.Delivered.Load() != 0 || st.Dropped.Load() != n || st.QueueDepth.Load() != 0 {
		t.Errorf("stuck sink: delivered=%d dropped=%d depth=%d", st.Delivered.Load(), st.Dropped.Load(), st.QueueDepth.Load())
	}
}

func TestRouteMatch(t *testing.T) {
	for _, tc := range []struct {
		r    Route
		rule string
		sev  string
		want bool
	}{
		{Route{}, "x", SeverityLow, true},
		{Route{MinSeverity: SeverityHigh}, "x", SeverityMedium, false},
		{Route{MinSeverity: SeverityHigh}, "x", SeverityCritical, true},
		{Route{Rules: []string{"a", "b"}}, "b", SeverityLow, true},
		{Route{Rules: []string{"a"}}, "b", SeverityCritical, false},
		{Route{MinSeverity: SeverityLow}, "x", "bogus", false},
	} {
		a := &Alert{Rule: tc.rule, Severity: tc.sev}
		if got := tc.r.Match(a); got != tc.want {
			t.Errorf("%+v.Match(%s, %s) = %v", tc.r, tc.rule, tc.sev, got)
		}
	}
}

func TestCloneIsDeep(t *testing.T) {
	a := testAlert("i", 1, "alice")
	c, err := clone(a)
	if err != nil {
		t.Fatal(err)
	}
	a.Group["tls.client.subject"] = "changed"
	a.Identity.Subject = "changed"
	a.Sample.UserNames[0] = "changed"
	if c.Group["tls.client.subject"] == "changed" || c.Identity.Subject == "changed" || c.Sample.UserNames[0] == "changed" {
		t.Errorf("clone shares memory with the original: %+v", c)
	}
	b1, _ := c.AppendJSON(nil)
	b2, _ := testAlert("i", 1, "alice").AppendJSON(nil)
	if string(b1) != string(b2) {
		t.Errorf("clone differs:\n%s\n%s", b1, b2)
	}
}

// idSink is a sink keeping the ids of the alerts it is sent.
type idSink struct {
	mu  sync.Mutex
	ids []string
}

func (r *idSink) Send(_ context.Context, a *Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, a.ID)
	return nil
}

func (r *idSink) Close() error { return nil }

func (r *idSink) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

// TestFanoutOutputFailureIsDropped checks sinks.md's promise for each way
// an output can refuse an alert: the fan-out's Send does not fail (a
// server would stop), the output counts the alert dropped, the failure is
// logged, and the other output gets every alert.
func TestFanoutOutputFailureIsDropped(t *testing.T) {
	const n = 20
	for _, tc := range []struct {
		name string
		open func(t *testing.T, ctx context.Context) StatsSink
		// refused is how many of the n alerts the output refuses at
		// least (a queue takes a few before it is full).
		refused int
		reason  string // of the first drop logged
	}{
		{"queue full", func(t *testing.T, ctx context.Context) StatsSink {
			hang := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-hang:
				case <-r.Context().Done():
				}
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(hang) })
			am, err := NewAlertmanager(ctx, AlertmanagerOptions{Name: "am", URL: srv.URL, Timeout: time.Minute,
				Queue: QueueOptions{Size: 1, MaxBatch: 1, MaxAttempts: -1, DrainTimeout: 10 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			return am
		}, n - 3, dropQueueFull},
		{"webhook record larger than the spool", func(t *testing.T, ctx context.Context) StatsSink {
			w, err := NewWebhook(ctx, WebhookOptions{Name: "hook", URL: "http://" + freeAddr(t), SpoolDir: t.TempDir(),
				SpoolMaxBytes: 64, DrainTimeout: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			return w
		}, n, dropTooLarge},
		{"file whose rotation failed", func(t *testing.T, ctx context.Context) StatsSink {
			path := filepath.Join(t.TempDir(), "a.jsonl")
			// path.1 is a directory that cannot be replaced: rotating fails.
			if err := os.MkdirAll(filepath.Join(path+".1", "x"), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := NewFile(path, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}, n - 1, dropNotTaken},
		{"closed", func(t *testing.T, ctx context.Context) StatsSink {
			w := NewWriter(io.Discard)
			w.Close()
			f, err := NewFile(filepath.Join(t.TempDir(), "a.jsonl"), 0, 1)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			return f
		}, n, dropClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			bad := tc.open(t, ctx)
			var other idSink
			var h recordingHandler
			f := NewFanout(Routed{Sink: bad}, Routed{Sink: &other})
			f.SetLogger(slog.New(&h))
			f.SetLogLimit(LogLimit{Every: time.Hour})
			for i := range n {
				if err := f.Send(ctx, testAlert("i", i+1, "u")); err != nil {
					t.Fatalf("Send %d: %v", i, err)
				}
			}
			dropped := int(bad.Stats().Dropped.Load())
			if got := h.with(msgDropped); len(got) != 1 || got[0].attrs["reason"] != tc.reason {
				t.Errorf("drop lines %v, want the first one only, for %q", got, tc.reason)
			}
			if err := f.Close(); err != nil {
				t.Log(err)
			}
			if other.len() != n {
				t.Errorf("other output got %d alerts, want %d", other.len(), n)
			}
			if dropped < tc.refused {
				t.Errorf("failing output counted %d dropped, want at least %d", dropped, tc.refused)
			}
			// Closed, the fan-out logged what it held back: every drop
			// is in the log.
			if got := h.sum(t, msgDropped, "dropped"); got != bad.Stats().Dropped.Load() {
				t.Errorf("%d drops logged, %d counted:\n%v", got, bad.Stats().Dropped.Load(), h.all())
			}
		})
	}
}
