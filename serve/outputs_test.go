package serve

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
)

// TestFullOutputQueueKeepsServing: an Alertmanager output whose receiver
// hangs fills its queue; sinks.md promises that its alerts are then
// dropped and counted for that output only, and that a broken receiver
// never holds up detection. The server keeps running, the other output
// gets every alert, and shutting down is clean.
func TestFullOutputQueueKeepsServing(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)

	am, err := alert.NewAlertmanager(context.Background(), alert.AlertmanagerOptions{
		Name: "am", URL: srv.URL, Timeout: time.Minute,
		Queue: alert.QueueOptions{Size: 1, MaxBatch: 1, MaxAttempts: -1, DrainTimeout: 100 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	other := &collector{}
	fan := alert.NewFanout(alert.Routed{Sink: am}, alert.Routed{Sink: other})
	defer fan.Close()

	c := cluster(t, 1)
	produce(t, c, "proxy", readLines(t, proxySample), nil)
	produce(t, c, "app", readLines(t, appSample), nil)
	want := replayAlerts(t, []string{proxySample}, []string{appSample})

	r := start(t, serverConfig(t, c, "qfull", fan))
	waitFor(t, 60*time.Second, "every alert at the other output", func() bool {
		select {
		case err := <-r.done:
			t.Fatalf("Run returned while the receiver hangs: %v (other output got %d of %d alerts)", err, len(other.snapshot()), len(want))
		default:
		}
		return len(other.snapshot()) >= len(want)
	})
	if d := am.Stats().Dropped.Load(); d == 0 {
		t.Error("the hanging output counted no alert dropped")
	}
	r.shutdown(t)
}
