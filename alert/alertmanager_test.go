package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/internal/proctest"
)

// alertmanagerBinary returns the path of prometheus-alertmanager, installing
// it with the project's script when missing.
func alertmanagerBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("prometheus-alertmanager"); err == nil {
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "../scripts/ensure-debian-packages.sh", "prometheus-alertmanager").CombinedOutput()
	if err != nil {
		t.Skipf("prometheus-alertmanager is not installed and scripts/ensure-debian-packages.sh could not install it: %v: %s", err, out)
	}
	p, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		t.Skipf("prometheus-alertmanager not found after installing the Debian package: %v", err)
	}
	return p
}

// startAlertmanager starts the Debian Alertmanager on 127.0.0.1 with
// configuration cfg, for as long as ctx and the test last, and returns its
// base URL once it is ready.
func startAlertmanager(ctx context.Context, t *testing.T, cfg string) string {
	t.Helper()
	bin := alertmanagerBinary(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "am.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "am.yml"), "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	proctest.Start(t, "alertmanager", cmd)
	base := "http://" + addr
	waitFor(t, 20*time.Second, "alertmanager /-/ready", func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return base
}

// notificationHook is a webhook receiver on 127.0.0.1 keeping the
// notifications Alertmanager sends it.
type notificationHook struct {
	addr  string
	mu    sync.Mutex
	notes []notification
}

// startHook starts a notificationHook for the test's duration.
func startHook(t *testing.T) *notificationHook {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &notificationHook{addr: l.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notification
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			t.Errorf("notification: %v", err)
			return
		}
		h.mu.Lock()
		h.notes = append(h.notes, n)
		h.mu.Unlock()
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return h
}

// received returns the notifications received so far.
func (h *notificationHook) received() []notification {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.notes)
}

// notification is the body Alertmanager's webhook receiver posts.
type notification struct {
	Status string `json:"status"`
	Alerts []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
		EndsAt      time.Time         `json:"endsAt"`
	} `json:"alerts"`
}

func TestAlertmanagerReal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	// The webhook receiver Alertmanager notifies.
	hook := startHook(t)

	cfg := fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname, identity]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://%s/notify
        send_resolved: true
`, hook.addr)
	base := startAlertmanager(ctx, t, cfg)

	m, err := NewAlertmanager(ctx, AlertmanagerOptions{Name: "am", URL: base, ResendInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert("inc-1", 1, "alice")
	a.Summary = "CN=client-inc-1 tried 10 usernames \"quoted\"\n<b>"
	if err := m.Send(ctx, a); err != nil {
		t.Fatal(err)
	}

	// The alert is active in Alertmanager.
	var active []struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
		Status      struct {
			State string `json:"state"`
		} `json:"status"`
	}
	waitFor(t, 10*time.Second, "the alert in GET /api/v2/alerts", func() bool {
		resp, err := http.Get(base + "/api/v2/alerts")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		active = nil
		json.Unmarshal(body, &active)
		return len(active) == 1
	})
	got := active[0]
	wantLabels := map[string]string{"alertname": "PasswordSpraying", "rule": a.Rule, "severity": "high", "identity": "CN=client-inc-1"}
	if !sameLabels(got.Labels, wantLabels) {
		t.Errorf("labels %v, want %v", got.Labels, wantLabels)
	}
	if got.Annotations["summary"] != a.Summary || got.Annotations["description"] != a.Description ||
		!strings.Contains(got.Annotations["evidence"], `user.name=["alice","bob"]`) {
		t.Errorf("annotations %q", got.Annotations)
	}
	if want, _ := time.Parse(time.RFC3339, a.FirstSeen); !got.StartsAt.Equal(want) {
		t.Errorf("startsAt %v, want first_seen %v", got.StartsAt, want)
	}
	if got.Status.State != "active" {
		t.Errorf("state %q", got.Status.State)
	}

	notified := func(status string) bool {
		for _, n := range hook.received() {
			for _, x := range n.Alerts {
				if x.Status == status && x.Labels["rule"] == a.Rule && x.Labels["identity"] == "CN=client-inc-1" {
					return true
				}
			}
		}
		return false
	}
	waitFor(t, 15*time.Second, "the firing notification", func() bool { return notified("firing") })

	r := testAlert("inc-1", 2, "alice")
	r.Status = StatusResolved
	if err := m.Send(ctx, r); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the resolved notification", func() bool { return notified("resolved") })
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if s := m.Stats(); s.Failures.Load() != 0 || s.Delivered.Load() != 2 {
		t.Errorf("failures=%d delivered=%d", s.Failures.Load(), s.Delivered.Load())
	}
}

// TestAlertmanagerResendAndEscalation checks what arrives at an
// Alertmanager-compatible receiver: periodic re-sends while firing, the old
// label set ended on a severity change, and no re-sends after resolution.
func TestAlertmanagerResendAndEscalation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var mu sync.Mutex
	var posts [][]amAlert
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/alerts" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		var as []amAlert
		if err := json.NewDecoder(r.Body).Decode(&as); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		posts = append(posts, as)
		mu.Unlock()
	})}
	go srv.Serve(l)
	defer srv.Close()
	m, err := NewAlertmanager(ctx, AlertmanagerOptions{URL: "http://" + l.Addr().String() + "/", ResendInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(posts) }
	m.Send(ctx, testAlert("i", 1, "u"))
	waitFor(t, 5*time.Second, "re-sends", func() bool { return count() >= 4 })
	up := testAlert("i", 2, "u")
	up.Severity = SeverityCritical
	m.Send(ctx, up)
	res := testAlert("i", 3, "u")
	res.Status = StatusResolved
	res.Severity = SeverityCritical
	m.Send(ctx, res)
	waitFor(t, 5*time.Second, "the resolution", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range posts {
			for _, a := range p {
				if a.EndsAt == res.LastSeen && a.Labels["severity"] == "critical" {
					return true
				}
			}
		}
		return false
	})
	time.Sleep(200 * time.Millisecond) // re-sends would arrive in this span
	m.Close()
	mu.Lock()
	defer mu.Unlock()
	var endedHigh, resentAfter bool
	resolved := false
	for _, p := range posts {
		for _, a := range p {
			if a.Labels["severity"] == "high" && a.EndsAt == up.LastSeen {
				endedHigh = true
			}
			if resolved && a.EndsAt == "" {
				resentAfter = true
			}
			if a.EndsAt == res.LastSeen {
				resolved = true
			}
			if a.StartsAt != "2026-01-02T03:04:05Z" {
				t.Errorf("startsAt %q", a.StartsAt)
			}
		}
	}
	if !endedHigh {
		t.Error("the high-severity label set was not ended on escalation")
	}
	if resentAfter {
		t.Error("firing re-sent after resolution")
	}
}

// TestAlertmanagerEscalationEndNotLost: sinks.md says that when an
// incident's severity escalates, the old label set is sent once more with
// endsAt. When Alertmanager refuses that POST, the end must still reach it:
// in the retry, or, once the batch is given up on, in the next post
// (whose firing incidents carry the new labels).
func TestAlertmanagerEscalationEndNotLost(t *testing.T) {
	for _, tc := range []struct {
		name        string
		maxAttempts int
		fails       int // POSTs refused after the first alert's
	}{
		{"retried", 0, 1},
		{"given up", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var posts [][]amAlert
			fail := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var as []amAlert
				json.NewDecoder(r.Body).Decode(&as)
				mu.Lock()
				defer mu.Unlock()
				if fail > 0 {
					fail--
					http.Error(w, "restarting", http.StatusServiceUnavailable)
					return
				}
				posts = append(posts, as)
			}))
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			m, err := NewAlertmanager(ctx, AlertmanagerOptions{URL: srv.URL, ResendInterval: 50 * time.Millisecond,
				Queue: QueueOptions{MaxAttempts: tc.maxAttempts, Backoff: &Backoff{Initial: 10 * time.Millisecond, Max: 10 * time.Millisecond}}})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			count := func() int { mu.Lock(); defer mu.Unlock(); return len(posts) }
			m.Send(ctx, testAlert("i", 1, "u")) // severity high
			waitFor(t, 5*time.Second, "first post", func() bool { return count() == 1 })
			mu.Lock()
			fail = tc.fails
			mu.Unlock()
			up := testAlert("i", 2, "u")
			up.Severity = SeverityCritical
			m.Send(ctx, up)
			ended := func() bool {
				mu.Lock()
				defer mu.Unlock()
				for _, p := range posts[1:] {
					for _, a := range p {
						if a.Labels["severity"] == SeverityHigh && a.EndsAt != "" {
							return true
						}
					}
				}
				return false
			}
			waitFor(t, 5*time.Second, "the old label set's end", ended)
			// And the re-sends carry the new labels only.
			n := count()
			waitFor(t, 5*time.Second, "a re-send", func() bool { return count() > n+1 })
			mu.Lock()
			defer mu.Unlock()
			for _, a := range posts[len(posts)-1] {
				if a.Labels["severity"] != SeverityCritical || a.EndsAt != "" {
					t.Errorf("re-send after the escalation: %+v", a)
				}
			}
		})
	}
}

// TestAlertmanagerResendCounts checks the counters of the periodic
// re-sends: a re-send that fails is a failure, and the ones that succeed
// are counted as re-sent (not delivered), so that one transient failure
// is not taken for a sink that only fails.
func TestAlertmanagerResendCounts(t *testing.T) {
	tests := []struct {
		name      string
		fail      int64 // re-sends refused, after the first three posts
		wantFails uint64
	}{
		{"no failure", 0, 0},
		{"one transient failure", 1, 1},
		{"three failures", 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var posts, refuse atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n := posts.Add(1); n > 3 && refuse.Add(-1) >= 0 {
					http.Error(w, "unavailable", http.StatusServiceUnavailable)
				}
			}))
			defer srv.Close()
			refuse.Store(tt.fail)
			m, err := NewAlertmanager(ctx, AlertmanagerOptions{Name: "am", URL: srv.URL, ResendInterval: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Send(ctx, testAlert("i", 1, "u")); err != nil {
				t.Fatal(err)
			}
			want := 3 + tt.fail + 3 // three re-sends accepted after the failures
			waitFor(t, 5*time.Second, "the re-sends", func() bool { return posts.Load() >= want })
			m.Close()
			st := m.Stats()
			n := uint64(posts.Load())
			if d := st.Delivered.Load(); d != 1 {
				t.Errorf("delivered %d, want 1 (re-sends are not new deliveries)", d)
			}
			if f := st.Failures.Load(); f != tt.wantFails {
				t.Errorf("failures %d, want %d", f, tt.wantFails)
			}
			// Every post but the first delivery and the failures was a
			// successful re-send of the one alert.
			if r := st.Resent.Load(); r != n-1-tt.wantFails {
				t.Errorf("re-sent %d, want %d of %d posts", r, n-1-tt.wantFails, n)
			}
		})
	}
}

// TestAlertmanagerPendingEndsCapped checks that the ends of old label sets
// kept for the next post, beyond MaxActive, are counted dropped (the
// oldest first) and logged, not lost unseen.
func TestAlertmanagerPendingEndsCapped(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, err := NewAlertmanager(ctx, AlertmanagerOptions{URL: "http://127.0.0.1:1", MaxActive: 2, ResendInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	h := &recordingHandler{}
	m.dlog.setLogger(slog.New(h))
	for i := range 3 {
		inc := fmt.Sprintf("i%d", i)
		_, _, changes := m.plan([]*Alert{testAlert(inc, 1, "u")})
		m.apply(changes) // the third evicts the first
		up := testAlert(inc, 2, "u")
		up.Severity = SeverityCritical
		m.gaveUp([]*Alert{up})
	}
	var got []string
	for _, a := range m.ending {
		got = append(got, a.Labels["identity"])
	}
	if want := []string{"CN=client-i1", "CN=client-i2"}; !slices.Equal(got, want) {
		t.Errorf("pending ends %q, want %q", got, want)
	}
	// One firing incident forgotten, one end.
	if d := m.Stats().Dropped.Load(); d != 2 {
		t.Errorf("Dropped = %d, want 2", d)
	}
	m.dlog.flush()
	if n := h.sum(t, "alert output dropped alerts", "dropped"); n != 2 {
		t.Errorf("%d drops logged, want 2", n)
	}
}
