package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAlertmanagerRecallAfterRestart runs a real Alertmanager with a
// resolve_timeout of 3 s. One output (a process) sends two incidents and
// stops; a second output (the process after a restart) is told of the
// first incident's alert by Recall, not of the second's. The first stays
// active past the resolve_timeout, with its labels and startsAt, and is
// never notified resolved; the second, no longer re-sent, is resolved by
// Alertmanager, as every incident was before Recall.
func TestAlertmanagerRecallAfterRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	hook := startHook(t)

	const resolveTimeout = 3 * time.Second
	cfg := fmt.Sprintf(`global:
  resolve_timeout: %s
route:
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
`, resolveTimeout, hook.addr)
	base := startAlertmanager(ctx, t, cfg)

	type amState struct {
		Labels   map[string]string `json:"labels"`
		StartsAt time.Time         `json:"startsAt"`
		EndsAt   time.Time         `json:"endsAt"`
		Status   struct {
			State string `json:"state"`
		} `json:"status"`
	}
	// alerts returns the alerts Alertmanager holds, by identity label.
	alerts := func() map[string]amState {
		resp, err := http.Get(base + "/api/v2/alerts")
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var as []amState
		json.Unmarshal(body, &as)
		out := map[string]amState{}
		for _, a := range as {
			out[a.Labels["identity"]] = a
		}
		return out
	}
	notified := func(identity, status string) int {
		n := 0
		for _, note := range hook.received() {
			for _, x := range note.Alerts {
				if x.Status == status && x.Labels["identity"] == identity {
					n++
				}
			}
		}
		return n
	}

	// The first process: no re-send of its own within the test.
	m1, err := NewAlertmanager(ctx, AlertmanagerOptions{Name: "am", URL: base, ResendInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	kept, left := testAlert("inc-1", 2, "alice"), testAlert("inc-2", 1, "bob")
	for _, a := range []*Alert{kept, left} {
		if err := m1.Send(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	var before map[string]amState
	waitFor(t, 10*time.Second, "both alerts in GET /api/v2/alerts", func() bool {
		before = alerts()
		return len(before) == 2
	})
	sent := time.Now()
	if err := m1.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the firing notifications", func() bool {
		return notified("CN=client-inc-1", "firing") > 0 && notified("CN=client-inc-2", "firing") > 0
	})

	// The process after the restart is told of inc-1's alert only.
	m2, err := NewAlertmanager(ctx, AlertmanagerOptions{Name: "am", URL: base, ResendInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	m2.Recall(kept)

	// inc-2 resolves after the resolve_timeout; inc-1 must stay active
	// until well after it.
	waitFor(t, 20*time.Second, "inc-2 resolved by Alertmanager", func() bool { return notified("CN=client-inc-2", "resolved") > 0 })
	for time.Since(sent) < 2*resolveTimeout {
		now := alerts()
		got, ok := now["CN=client-inc-1"]
		if !ok {
			t.Fatalf("inc-1 is no longer active %s after its last post by the first output: %v", time.Since(sent).Round(time.Millisecond), now)
		}
		want := before["CN=client-inc-1"]
		if !sameLabels(got.Labels, want.Labels) || !got.StartsAt.Equal(want.StartsAt) || got.Status.State != "active" {
			t.Fatalf("inc-1 is %+v, was %+v", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := notified("CN=client-inc-1", "resolved"); n != 0 {
		t.Errorf("inc-1 notified resolved %d times", n)
	}
	if n := notified("CN=client-inc-1", "firing"); n != 1 {
		t.Errorf("inc-1 notified firing %d times, want once", n)
	}
	st := m2.Stats()
	if st.Delivered.Load() != 0 || st.Resent.Load() == 0 || st.Failures.Load() != 0 {
		t.Errorf("second output: delivered %d, re-sent %d, failures %d; want 0, some, 0", st.Delivered.Load(), st.Resent.Load(), st.Failures.Load())
	}
}

// amPosts is a receiver of Alertmanager posts recording them.
type amPosts struct {
	mu    sync.Mutex
	posts [][]amAlert
}

func (p *amPosts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var as []amAlert
	if err := json.NewDecoder(r.Body).Decode(&as); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.posts = append(p.posts, as)
	p.mu.Unlock()
}

func (p *amPosts) snapshot() [][]amAlert {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]amAlert(nil), p.posts...)
}

// amLine is a posted alert as the tests compare it: its severity and
// incident, and its endsAt if any.
func amLine(a amAlert) string {
	inc, _, _ := strings.Cut(strings.TrimPrefix(a.Annotations["evidence"], "incident="), " ")
	seq := ""
	if _, s, ok := strings.Cut(a.Annotations["evidence"], "sequence="); ok {
		seq, _, _ = strings.Cut(s, " ")
	}
	s := fmt.Sprintf("%s#%s %s", inc, seq, a.Labels["severity"])
	if a.EndsAt != "" {
		s += " ends " + a.EndsAt
	}
	return s
}

// TestAlertmanagerRecall checks what an Alertmanager output posts after
// Recall: the recalled incidents in its re-sends (once each, as of the
// last recall), nothing of a recalled resolution, the end of a label set
// a recall replaces or resolves, and an escalation after a recall ending
// the recalled label set as it would a sent one.
func TestAlertmanagerRecall(t *testing.T) {
	high := func(inc string, seq int) *Alert { return testAlert(inc, seq, "u") }
	critical := func(inc string, seq int) *Alert {
		a := testAlert(inc, seq, "u")
		a.Severity = SeverityCritical
		return a
	}
	resolved := func(a *Alert) *Alert { a.Status = StatusResolved; return a }
	tests := []struct {
		name   string
		sent   []*Alert // sent first, delivered before the recalls
		recall []*Alert
		then   []*Alert // sent after the recalls
		// posts are the posts after those of sent (the first re-sends,
		// and the deliveries of then), each sorted.
		posts [][]string
	}{
		{
			name:   "recalled incidents are re-sent once each, as of the last recall",
			recall: []*Alert{high("a", 1), high("b", 1), high("a", 2)},
			posts:  [][]string{{"a#2 high", "b#1 high"}},
		},
		{
			// (A firing alert of a recalled before its resolution may be
			// applied before it, or not: the resolution then ends it.)
			name:   "a recalled resolution is not sent",
			recall: []*Alert{high("b", 1), resolved(high("a", 2))},
			posts:  [][]string{{"b#1 high"}},
		},
		{
			name:   "recalling an incident sent is an update",
			sent:   []*Alert{high("a", 1)},
			recall: []*Alert{high("a", 1), high("a", 2)},
			posts:  [][]string{{"a#2 high"}},
		},
		{
			name:   "a recall with other labels ends the old ones",
			sent:   []*Alert{high("a", 1)},
			recall: []*Alert{critical("a", 2)},
			posts:  [][]string{{"a#1 high ends 2026-01-02T03:07:05Z", "a#2 critical"}, {"a#2 critical"}},
		},
		{
			name:   "a recalled resolution of an incident sent ends it",
			sent:   []*Alert{high("a", 1), high("b", 1)},
			recall: []*Alert{resolved(high("a", 2))},
			posts:  [][]string{{"a#1 high ends 2026-01-02T03:07:05Z", "b#1 high"}, {"b#1 high"}},
		},
		{
			name:   "an escalation after a recall ends the recalled labels",
			recall: []*Alert{high("a", 1)},
			then:   []*Alert{critical("a", 2)},
			posts:  [][]string{{"a#1 high ends 2026-01-02T03:07:05Z", "a#2 critical"}, {"a#2 critical"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newTickedOutput(t)
			m := o.Alertmanager
			o.send(t, tt.sent...)
			n := len(o.rec.snapshot())
			for _, a := range tt.recall {
				m.Recall(a)
			}
			o.send(t, tt.then...)
			o.resendUntil(t, n+len(tt.posts))
			if got := postLines(o.rec.snapshot()[n:]); fmt.Sprint(got) != fmt.Sprint(tt.posts) {
				t.Errorf("posts after the recalls:\n%q\nwant\n%q", got, tt.posts)
			}
		})
	}
}

// recallRecorder is a Recaller keeping copies of what it is sent and told.
type recallRecorder struct {
	mu             sync.Mutex
	sent, recalled []*Alert
}

func (r *recallRecorder) Send(_ context.Context, a *Alert) error {
	c, err := clone(a)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, c)
	return nil
}

func (r *recallRecorder) Recall(a *Alert) {
	c, err := clone(a)
	if err != nil {
		panic(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recalled = append(r.recalled, c)
}

func (r *recallRecorder) Close() error { return nil }

// TestRecallPassesThrough tells a recall to the outputs' fan-out behind
// the privacy mode and the bound on values, as serve wires them: the
// outputs whose route takes the alert are told of it as Send would have
// passed it (username pseudonymized, long value cut), the others and the
// outputs that keep no state are not, and nothing is sent.
func TestRecallPassesThrough(t *testing.T) {
	all, otherRule, critical := &recallRecorder{}, &recallRecorder{}, &recallRecorder{}
	var written strings.Builder
	w := NewWriter(nopCloser{&written})
	fan := NewFanout(
		Routed{Sink: all},
		Routed{Sink: otherRule, Route: Route{Rules: []string{"another.rule"}}},
		Routed{Sink: critical, Route: Route{MinSeverity: SeverityCritical}},
		Routed{Sink: w},
	)
	p := Privacy{Mode: PrivacyHMAC, Key: []byte("k")}
	s := WithPrivacy(WithBound(fan), p)
	a := testAlert("i", 1, "alice")
	a.Group = map[string]string{UserNameKey: "alice", "tls.client.subject": strings.Repeat("x", MaxValueBytes+1)}
	Recall(s, a)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(all.recalled) != 1 || len(all.sent) != 0 {
		t.Fatalf("routed output: recalled %d, sent %d; want 1, 0", len(all.recalled), len(all.sent))
	}
	got := all.recalled[0]
	if got.Group[UserNameKey] != p.Username("alice") || got.Sample.UserNames[0] != p.Username("alice") {
		t.Errorf("recalled group %v, user names %v: the privacy mode was not applied", got.Group, got.Sample.UserNames)
	}
	if v := got.Group["tls.client.subject"]; len(v) > MaxValueBytes+100 || got.Truncated == 0 {
		t.Errorf("recalled a value of %d bytes (truncated %d): not bounded", len(v), got.Truncated)
	}
	if a.Group[UserNameKey] != "alice" {
		t.Errorf("the caller's alert was changed: %v", a.Group)
	}
	for name, r := range map[string]*recallRecorder{"routed to another rule": otherRule, "at or above critical": critical} {
		if len(r.recalled)+len(r.sent) != 0 {
			t.Errorf("output %s: recalled %d, sent %d; want nothing", name, len(r.recalled), len(r.sent))
		}
	}
	if written.Len() != 0 {
		t.Errorf("a recall was written: %q", written.String())
	}
}

// tickedOutput is an Alertmanager output posting to a recording
// receiver, re-sending on each tick the test gives it.
type tickedOutput struct {
	*Alertmanager
	rec   *amPosts
	ticks chan time.Time
	sent  uint64 // alerts sent (and delivered)
}

func newTickedOutput(t *testing.T) *tickedOutput {
	t.Helper()
	o := &tickedOutput{rec: &amPosts{}, ticks: make(chan time.Time)}
	srv := httptest.NewServer(o.rec)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m, err := newAlertmanager(ctx, AlertmanagerOptions{URL: srv.URL}, o.ticks)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	o.Alertmanager = m
	return o
}

// send sends the alerts and waits until they are delivered.
func (o *tickedOutput) send(t *testing.T, as ...*Alert) {
	t.Helper()
	for _, a := range as {
		if err := o.Send(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	o.sent += uint64(len(as))
	waitFor(t, 5*time.Second, "the alerts sent delivered", func() bool { return o.Stats().Delivered.Load() == o.sent })
}

// resendUntil gives ticks, waiting for the re-send of each, until the
// receiver holds n posts; it fails when a re-send posts nothing.
func (o *tickedOutput) resendUntil(t *testing.T, n int) {
	t.Helper()
	for len(o.rec.snapshot()) < n {
		before := len(o.rec.snapshot())
		o.ticks <- time.Now()
		waitFor(t, 5*time.Second, "a re-send", func() bool { return len(o.rec.snapshot()) > before })
	}
}
