package alert

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestAlertmanagerRebuild checks what an Alertmanager output re-sends
// after a rebuild (BeginRebuild, EndRebuild): the incidents recalled or
// sent during it, and none of those it knew before and was not told of
// again, without an end; a rebuild begun again starts over, and one that
// does not end forgets nothing.
func TestAlertmanagerRebuild(t *testing.T) {
	high := func(inc string, seq int) *Alert { return testAlert(inc, seq, "u") }
	resolved := func(a *Alert) *Alert { a.Status = StatusResolved; return a }
	tests := []struct {
		name   string
		sent   []*Alert // sent first, delivered before the rebuild
		recall []*Alert // recalled during the rebuild
		during []*Alert // sent during the rebuild, after the recalls
		again  []*Alert // if not nil, recalled after the rebuild begins again
		noEnd  bool     // the rebuild does not end
		// posts are the posts after those of sent (the deliveries of
		// during, then the first re-send), each sorted.
		posts [][]string
	}{
		{
			name:   "known incidents not recalled are forgotten, without an end",
			sent:   []*Alert{high("a", 1), high("b", 1), high("c", 1)},
			recall: []*Alert{high("a", 1), high("c", 2)},
			posts:  [][]string{{"a#1 high", "c#2 high"}},
		},
		{
			name:   "a rebuild recalling every incident forgets nothing",
			sent:   []*Alert{high("a", 1), high("b", 1)},
			recall: []*Alert{high("a", 1), high("b", 1)},
			posts:  [][]string{{"a#1 high", "b#1 high"}},
		},
		{
			name:   "an incident first sent during the rebuild is kept",
			sent:   []*Alert{high("a", 1)},
			during: []*Alert{high("d", 1)},
			posts:  [][]string{{"d#1 high"}, {"d#1 high"}},
		},
		{
			name:   "a known incident sent during the rebuild is kept",
			sent:   []*Alert{high("a", 1), high("b", 1)},
			recall: []*Alert{high("b", 1)},
			during: []*Alert{high("a", 2)},
			posts:  [][]string{{"a#2 high"}, {"a#2 high", "b#1 high"}},
		},
		{
			name:   "a resolution sent during the rebuild is sent, and its incident not re-sent",
			sent:   []*Alert{high("a", 1), high("b", 1)},
			recall: []*Alert{high("a", 1), high("b", 1)},
			during: []*Alert{resolved(high("a", 2))},
			posts:  [][]string{{"a#2 high ends 2026-01-02T03:07:05Z"}, {"b#1 high"}},
		},
		{
			name:   "a rebuild begun again keeps only what it recalls",
			sent:   []*Alert{high("a", 1), high("b", 1)},
			recall: []*Alert{high("a", 1), high("b", 1)},
			again:  []*Alert{high("b", 1)},
			posts:  [][]string{{"b#1 high"}},
		},
		{
			name:   "a rebuild that does not end forgets nothing",
			sent:   []*Alert{high("a", 1), high("b", 1)},
			recall: []*Alert{high("a", 1)},
			noEnd:  true,
			posts:  [][]string{{"a#1 high", "b#1 high"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newTickedOutput(t)
			m := o.Alertmanager
			o.send(t, tt.sent...)
			n := len(o.rec.snapshot())
			m.BeginRebuild()
			for _, a := range tt.recall {
				m.Recall(a)
			}
			o.send(t, tt.during...)
			if tt.again != nil {
				m.BeginRebuild()
				for _, a := range tt.again {
					m.Recall(a)
				}
			}
			if !tt.noEnd {
				m.EndRebuild()
			}
			o.resendUntil(t, n+len(tt.posts))
			if got := postLines(o.rec.snapshot()[n:]); fmt.Sprint(got) != fmt.Sprint(tt.posts) {
				t.Errorf("posts after the rebuild began:\n%q\nwant\n%q", got, tt.posts)
			}
		})
	}
}

// postLines returns the alerts of posts as amLine shows them, each post's
// sorted.
func postLines(posts [][]amAlert) [][]string {
	var out [][]string
	for _, p := range posts {
		var lines []string
		for _, a := range p {
			lines = append(lines, amLine(a))
		}
		slices.Sort(lines)
		out = append(out, lines)
	}
	return out
}

// TestAlertmanagerRebuildAfterQueued checks that an alert queued before a
// rebuild began, and delivered after the rebuild ended (Alertmanager was
// slow to take the one before it), does not bring back the incident the
// rebuild did not keep: the re-send after it posts only the incident
// sent during the rebuild.
func TestAlertmanagerRebuildAfterQueued(t *testing.T) {
	rec := &amPosts{}
	gate, entered := make(chan struct{}), make(chan struct{}, 1)
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() {
			entered <- struct{}{}
			<-gate
		})
		rec.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ticks := make(chan time.Time)
	m, err := newAlertmanager(ctx, AlertmanagerOptions{URL: srv.URL}, ticks)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	send := func(a *Alert) {
		t.Helper()
		if err := m.Send(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	send(testAlert("w", 1, "u"))
	select {
	case <-entered: // the delivery of w waits on the gate
	case <-time.After(5 * time.Second):
		t.Fatal("the first post did not come")
	}
	send(testAlert("x", 1, "u")) // queued behind w
	m.BeginRebuild()
	send(testAlert("y", 1, "u"))
	m.EndRebuild()
	close(gate)
	waitFor(t, 5*time.Second, "the alerts delivered", func() bool { return m.Stats().Delivered.Load() == 3 })
	n := len(rec.snapshot())
	ticks <- time.Now()
	waitFor(t, 5*time.Second, "a re-send", func() bool { return len(rec.snapshot()) > n })
	if got, want := postLines(rec.snapshot()[n:]), [][]string{{"y#1 high"}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("re-sent %q, want %q", got, want)
	}
}

// rebuildRecorder is a recallRecorder counting the rebuilds begun and
// ended.
type rebuildRecorder struct {
	recallRecorder
	begun, ended int
}

func (r *rebuildRecorder) BeginRebuild() { r.begun++ }
func (r *rebuildRecorder) EndRebuild()   { r.ended++ }

// TestRebuildPassesThrough tells a rebuild's begin and end to the
// outputs' fan-out behind the privacy mode and the bound on values, as
// serve wires them: every output that is a Rebuilder is told, whatever
// its route.
func TestRebuildPassesThrough(t *testing.T) {
	all, otherRule := &rebuildRecorder{}, &rebuildRecorder{}
	fan := NewFanout(
		Routed{Sink: all},
		Routed{Sink: otherRule, Route: Route{Rules: []string{"another.rule"}}},
		Routed{Sink: &recallRecorder{}},
	)
	s := WithPrivacy(WithBound(fan), Privacy{Mode: PrivacyHMAC, Key: []byte("k")})
	BeginRebuild(s)
	EndRebuild(s)
	BeginRebuild(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*rebuildRecorder{"routed to every rule": all, "routed to another rule": otherRule} {
		if r.begun != 2 || r.ended != 1 {
			t.Errorf("output %s: told of %d rebuilds begun, %d ended; want 2, 1", name, r.begun, r.ended)
		}
	}
}
