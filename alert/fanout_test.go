package alert

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// TestFanoutStuckReceiverDoesNotBlock sends through a fan-out whose
// Alertmanager accepts connections and never answers: Send keeps returning
// (queueing, then refusing with ErrQueueFull) and the other sink gets every
// alert.
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
		full := 0
		for i := range n {
			if err := f.Send(ctx, testAlert("i", i, "u")); errors.Is(err, ErrQueueFull) {
				full++
			} else if err != nil {
				t.Error(err)
			}
		}
		done <- full
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
