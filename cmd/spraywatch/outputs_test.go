package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// closedAddr returns a 127.0.0.1 address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// failingFirst answers its first fail requests with 500, then takes them.
type failingFirst struct {
	fail     atomic.Int64
	accepted atomic.Int64
}

func (f *failingFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.fail.Add(-1) >= 0 {
		http.Error(w, "receiver busy", http.StatusInternalServerError)
		return
	}
	f.accepted.Add(1)
}

// TestReplayOutputFailures replays the sample day (47 alerts) to outputs
// whose receivers are down or failing, on 127.0.0.1: each failure is
// logged with its cause, and the replay fails, naming per output what it
// delivered, dropped and left in its spool, unless the outputs' drain
// delivered every alert. With --quiet every line on stderr is a log
// record or says it is of spraywatch replay.
func TestReplayOutputFailures(t *testing.T) {
	const retry = "retry_initial: 1ms, retry_max: 2ms"
	busy := &failingFirst{}
	busy.fail.Store(3)
	srv := httptest.NewServer(busy)
	defer srv.Close()
	tests := []struct {
		name    string
		outputs func(t *testing.T) string
		code    int
		want    []string // on stderr (the summary's lines but with --quiet)
	}{
		{"alertmanager and syslog down", func(t *testing.T) string {
			return "  - {type: alertmanager, url: \"http://" + closedAddr(t) + "\", max_attempts: 2, " + retry + "}\n" +
				"  - {type: syslog, network: tcp, address: \"" + closedAddr(t) + "\", max_attempts: 2, " + retry + "}\n"
		}, 1, []string{
			`level=WARN msg="alert output failed to deliver" output=alertmanager-0 type=alertmanager failed=1 err=`,
			`level=WARN msg="alert output failed to deliver" output=syslog-1 type=syslog failed=1 err=`,
			`level=ERROR msg="alert output dropped alerts" output=alertmanager-0 type=alertmanager dropped=`,
			`level=ERROR msg="alert output dropped alerts" output=syslog-1 type=syslog dropped=`,
			"\n  output alertmanager-0 (alertmanager): 0 delivered, 47 dropped\n",
			"\nspraywatch replay: output alertmanager-0 (alertmanager): 47 alerts not delivered (0 delivered, 47 dropped); last failure: alertmanager alertmanager-0: posting alerts: ",
			"\nspraywatch replay: output syslog-1 (syslog): 47 alerts not delivered (0 delivered, 47 dropped); last failure: syslog syslog-1: connecting: ",
		}},
		{"webhook down", func(t *testing.T) string {
			return "  - {type: webhook, url: \"http://" + closedAddr(t) + "\", spool_dir: spool, drain_timeout: 100ms, " + retry + "}\n" +
				"  - {type: file, path: alerts.jsonl}\n"
		}, 1, []string{
			`level=WARN msg="alert output failed to deliver" output=webhook-0 type=webhook failed=1 err=`,
			"\n  output webhook-0 (webhook): 0 delivered, 0 dropped, 47 left in the spool\n",
			"\n  output file-1 (file): 47 delivered, 0 dropped\n",
			"\nspraywatch replay: output webhook-0 (webhook): 47 alerts not delivered (0 delivered, 0 dropped, 47 left in the spool); those left in the spool go with the next replay or serve using its spool_dir; last failure: webhook webhook-0: posting alert: ",
		}},
		{"webhook failing, then delivering", func(t *testing.T) string {
			return "  - {type: webhook, url: \"" + srv.URL + "\", spool_dir: spool, " + retry + "}\n"
		}, 0, []string{
			`level=WARN msg="alert output failed to deliver" output=webhook-0 type=webhook failed=1 err="webhook webhook-0: HTTP 500 Internal Server Error: body \"receiver busy\""`,
			`level=INFO msg="alert output recovered" output=webhook-0 type=webhook failed=3 `,
			"\n  output webhook-0 (webhook): 47 delivered, 0 dropped, 0 left in the spool\n",
		}},
	}
	for _, tt := range tests {
		for _, quiet := range []bool{false, true} {
			name := tt.name
			if quiet {
				name += ", quiet"
			}
			t.Run(name, func(t *testing.T) {
				busy.fail.Store(3)
				dir := t.TempDir()
				cfg := filepath.Join(dir, "sw.yml")
				writeFile(t, cfg, "outputs:\n"+tt.outputs(t))
				args := []string{"replay", "--config", cfg, "--proxy", sampleProxy, "--app", sampleApp}
				if quiet {
					args = append(args, "--quiet")
				}
				var stdout, stderr bytes.Buffer
				code := run(context.Background(), args, &stdout, &stderr)
				got := stderr.String()
				if code != tt.code {
					t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, got)
				}
				for _, w := range tt.want {
					if quiet && strings.HasPrefix(w, "\n  output ") {
						if strings.Contains(got, w) {
							t.Errorf("--quiet, yet the summary has %q", w)
						}
						continue
					}
					if !strings.Contains(got, w) {
						t.Errorf("stderr lacks %q:\n%s", w, got)
					}
				}
				for _, l := range strings.Split(got, "\n") {
					if strings.Contains(l, "last failure:") && !strings.Contains(l, "connect: connection refused") {
						t.Errorf("the cause is not on the line: %q", l)
					}
				}
				if strings.Contains(got, "logged above") {
					t.Errorf("stderr refers to lines that are not there:\n%s", got)
				}
				if !quiet {
					return
				}
				for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
					if l != "" && !strings.HasPrefix(l, "time=") && !strings.HasPrefix(l, "spraywatch replay: ") {
						t.Errorf("stderr line neither logged nor of spraywatch replay: %q", l)
					}
				}
			})
		}
	}
}

// syncBuffer is a buffer a command writes to while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeOutputFailures runs serve following the sample day's files
// with an Alertmanager output whose port is closed: its failed
// deliveries and the alerts it gives up on are logged with their cause
// while serve runs, and serve goes on (its file output gets the alerts).
func TestServeOutputFailures(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, `sources:
  - kind: proxy
    paths: [`+abs(t, sampleProxy)+`]
  - kind: app
    paths: [`+abs(t, sampleApp)+`]
outputs:
  - {type: alertmanager, url: "http://`+closedAddr(t)+`", max_attempts: 2, retry_initial: 1ms, retry_max: 2ms}
  - {type: file, path: alerts.jsonl}
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "", "--config", cfg, "--shutdown-timeout", "20s"}, &stdout, &stderr)
	}()
	const (
		failed  = `level=WARN msg="alert output failed to deliver" output=alertmanager-0 type=alertmanager failed=1 err="alertmanager alertmanager-0: posting alerts: Post \"http://`
		dropped = `level=ERROR msg="alert output dropped alerts" output=alertmanager-0 type=alertmanager dropped=`
	)
	deadline := time.After(time.Minute)
	for !strings.Contains(stderr.String(), dropped) {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		case <-deadline:
			t.Fatalf("no drop logged within a minute: %s", stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exited %d: %s", code, stderr.String())
	}
	log := stderr.String()
	checkContains(t, "serve's log", log, failed, dropped, `reason="attempts exhausted"`)
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "alertmanager-0") && strings.Contains(l, "err=") && !strings.Contains(l, "connect: connection refused") {
			t.Errorf("a line on the output's failure lacks its cause: %q", l)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "alerts.jsonl")); err != nil || len(b) == 0 {
		t.Errorf("the file output got no alert (%v)", err)
	}
}
