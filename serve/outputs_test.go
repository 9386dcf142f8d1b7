package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/rules"
)

// TestFullOutputQueueKeepsServing: an Alertmanager output whose receiver
// hangs fills its queue; sinks.md promises that its alerts are then
// dropped and counted for that output only, and that a broken receiver
// never holds up detection. The server keeps running, the other output
// gets every alert, and shutting down is clean.
func TestFullOutputQueueKeepsServing(t *testing.T) {
	t.Parallel()
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
	proxy, app := readLines(t, proxySample), readLines(t, appSample)
	produce(t, c, "proxy", proxy, nil)
	produce(t, c, "app", app, nil)
	closeInput(t, c, 1, 1, newestTime(t, proxy, app))
	want := replayAlerts(t, []string{proxySample}, []string{appSample})

	r := start(t, serverConfig(t, c, "qfull", fan))
	waitFor(t, patience, "every alert at the other output", func() bool {
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

// everyCert is a rule alerting on every failed login of a certificate.
const everyCert = `
rules:
  - id: every-cert
    severity: high
    match: {event.outcome: failure, identity: {exists: true}}
    group_by: [identity]
    distinct: user.name
    window: 1m
    threshold: 1
    cooldown: 1m
    resolve_after: 1m
`

// everyCertLines returns n proxy lines and their n app lines, one a
// second, each login from a certificate of its own: with everyCert, every
// record pair makes an alert.
func everyCertLines(n int) (proxy, app [][]byte) {
	start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for i := range n {
		t := start.Add(time.Duration(i) * time.Second)
		rid := fmt.Sprintf("%032x", i+1)
		proxy = append(proxy, fmt.Appendf(nil, `10.0.6.66 - - [%s] "POST /accounts/login/ HTTP/1.1" 200 0 "-" "python-httpx/0.27.2" rid=%s verify=SUCCESS fp=%040x serial=0A dn="CN=kiosk-%d,O=Example Corp" idn="CN=Example CA,O=Example Corp" rt=0.050`,
			t.Format("02/Jan/2006:15:04:05 -0700"), rid, i+1, i))
		app = append(app, fmt.Appendf(nil, `{"timestamp":"%s","level":"warning","logger":"accounts.auth","event":"login_failed","request_id":"%s","username":"user%d","ip":"10.0.6.66"}`,
			t.Add(20*time.Millisecond).Format("2006-01-02T15:04:05.000000Z"), rid, i))
	}
	return proxy, app
}

// alertIDs reads the ids of the alerts in a JSON lines file.
func alertIDs(t testing.TB, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var a struct{ ID string }
		if err := json.Unmarshal(l, &a); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		ids[a.ID]++
	}
	return ids
}

// TestShutdownWhileAlertsFlow wires the outputs as cmd/spraywatch does
// (alert.Open with the context Run gets, which SIGTERM ends) and stops the
// server while alerts flow. streaming.md: the records the watermark lets
// through are released and their alerts sent, offsets committed, then the
// sinks closed. Run returns nil, and a restart sends none of the alerts
// sent before again.
func TestShutdownWhileAlertsFlow(t *testing.T) {
	t.Parallel()
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer recv.Close()
	rs, err := rules.Parse("every", []byte(everyCert))
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	proxy, app := everyCertLines(n)
	c := cluster(t, 1)
	produce(t, c, "proxy", proxy, nil)
	produce(t, c, "app", app, nil)
	closeInput(t, c, 1, 1, newestTime(t, proxy, app))

	ctx, cancel := context.WithCancel(context.Background()) // the signal context
	defer cancel()
	out := filepath.Join(t.TempDir(), "alerts.jsonl")
	sink, err := alert.Open(ctx, []alert.Config{
		{Type: "webhook", URL: recv.URL, SpoolDir: filepath.Join(t.TempDir(), "spool")},
		{Type: "file", Path: out},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := serverConfig(t, c, "shutdown", sink)
	cfg.Engine.Rules = rs
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, patience, "alerts flowing", func() bool { return s.Stats().Records.Load() > 2000 })
	cancel() // SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after SIGTERM: %v", err)
		}
	case <-time.After(patience):
		t.Fatal("Run did not return")
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	for _, st := range sink.Stats() {
		if st.Dropped.Load() != 0 {
			t.Errorf("output %s dropped %d alerts", st.Name, st.Dropped.Load())
		}
	}
	first := alertIDs(t, out)
	committed := committedOffsets(t, c, "shutdown", "proxy", 1)[0]
	t.Logf("first run: %d records, %d alerts, committed proxy offset %d", s.Stats().Records.Load(), len(first), committed)
	if committed <= 0 {
		t.Fatal("nothing committed on shutdown")
	}

	// The restart reads on from the committed offsets.
	second := &collector{}
	cfg.Sink = second
	r := start(t, cfg)
	// The closing proxy record is released, the app one held back.
	waitFor(t, patience, "every record committed", committedTo(r.s, n+1, n))
	r.shutdown(t)
	again := 0
	for _, l := range second.snapshot() {
		var a struct{ ID string }
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatal(err)
		}
		if first[a.ID] > 0 {
			again++
		}
	}
	if again > 0 {
		t.Errorf("the restart sent %d of the %d alerts sent before again", again, len(first))
	}
}

// slowSink passes alerts on to a collector after a pause, as a receiver
// that fsyncs each alert would.
type slowSink struct {
	collector
	pause time.Duration
}

func (s *slowSink) Send(ctx context.Context, a *alert.Alert) error {
	time.Sleep(s.pause)
	return s.collector.Send(ctx, a)
}

// TestCommitsDuringBacklog: with a backlog and a slow output, one pass
// releases thousands of records; offsets are still committed every
// commit interval during it, not only between passes (a restart would
// otherwise read, and mute, seconds of records again). Tick runs once
// per pass, after its release: two commits between two ticks show a
// commit within a pass.
func TestCommitsDuringBacklog(t *testing.T) {
	t.Parallel()
	rs, err := rules.Parse("every", []byte(everyCert))
	if err != nil {
		t.Fatal(err)
	}
	const n = 4000
	proxy, app := everyCertLines(n)
	c := cluster(t, 1)
	produce(t, c, "proxy", proxy, nil)
	produce(t, c, "app", app, nil)
	closeInput(t, c, 1, 1, newestTime(t, proxy, app))

	sink := &slowSink{pause: time.Millisecond}
	cfg := serverConfig(t, c, "backlog", sink)
	cfg.Engine.Rules = rs
	cfg.CommitInterval = 20 * time.Millisecond
	var s *Server
	var lastCommits, most int64 // Tick's, on the engine goroutine
	var mostSeen atomic.Int64
	cfg.Tick = func(*detect.Engine) {
		c := s.Stats().Commits.Load()
		if d := c - lastCommits; d > most {
			most = d
			mostSeen.Store(most)
		}
		lastCommits = c
	}
	if s, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	r := startServer(t, s)
	waitFor(t, patience, "two commits within a pass, or every record committed", func() bool {
		return mostSeen.Load() >= 2 || committedTo(s, n+1, n)()
	})
	r.shutdown(t)
	if m := mostSeen.Load(); m < 2 {
		t.Errorf("at most %d commit between two passes: none within a pass", m)
	}
}
