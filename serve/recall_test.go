package serve

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/rules"
)

// recaller is an output that keeps the alert lines it is sent and those it
// is told of by Recall, in one log, in arrival order.
type recaller struct {
	mu  sync.Mutex
	log []told
}

// told is an alert line a recaller was sent, or told of (recalled).
type told struct {
	line     string
	recalled bool
}

func (r *recaller) add(a *alert.Alert, recalled bool) error {
	b, err := a.AppendJSON(nil)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.log = append(r.log, told{strings.TrimSuffix(string(b), "\n"), recalled})
	r.mu.Unlock()
	return nil
}

func (r *recaller) Send(_ context.Context, a *alert.Alert) error { return r.add(a, false) }

func (r *recaller) Recall(a *alert.Alert) {
	if err := r.add(a, true); err != nil {
		panic(err)
	}
}

func (r *recaller) Close() error { return nil }

// lines returns the lines sent and those recalled.
func (r *recaller) lines() (sent, recalled []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.log {
		if x.recalled {
			recalled = append(recalled, x.line)
		} else {
			sent = append(sent, x.line)
		}
	}
	return sent, recalled
}

// TestKafkaRestartRecallsFiring restarts a server half an hour into the
// long campaign's incident, which two rules (long-spray and a copy) open,
// each routed to an output of its own. The second server mutes the alerts
// it rebuilds the incidents from, and tells each output, by Recall, of the
// muted alerts of its own rule only: the last one is the last alert the
// first server sent it, and the output's next alert continues from it.
// The first server, which reads nothing again, recalls nothing.
func TestKafkaRestartRecallsFiring(t *testing.T) {
	t.Parallel()
	rs, err := rules.Parse("long", []byte(longRule+`
  - id: long-spray-copy
    severity: high
    match: {event.outcome: failure, identity: {exists: true}}
    group_by: [identity]
    distinct: user.name
    window: 5m
    threshold: 5
    cooldown: 10m
    resolve_after: 2m
`))
	if err != nil {
		t.Fatal(err)
	}
	p1, p2, a1, a2 := longCampaign(30 * time.Minute)
	pf, af := formatsFor(t)
	cl := cluster(t, 1)
	produceTimed(t, cl, "proxy", pf, p1)
	produceTimed(t, cl, "app", af, a1)
	type run struct{ long, copy *recaller }
	outputs := func() (run, alert.Sink) {
		r := run{&recaller{}, &recaller{}}
		return r, alert.NewFanout(
			alert.Routed{Sink: r.long, Route: alert.Route{Rules: []string{"long-spray"}}},
			alert.Routed{Sink: r.copy, Route: alert.Route{Rules: []string{"long-spray-copy"}}},
		)
	}
	first, sink := outputs()
	cfg := serverConfig(t, cl, "recall", sink)
	cfg.Engine.Rules = rs
	cfg.CommitInterval = 20 * time.Millisecond
	r1 := start(t, cfg)
	np, na := releasable(t, p1, a1)
	waitFor(t, patience, "the first part released and committed", committedTo(r1.s, np, na))
	r1.shutdown(t)
	produceTimed(t, cl, "proxy", pf, p2)
	produceTimed(t, cl, "app", af, a2)
	closeInput(t, cl, 1, 1, newestTime(t, p2, a2))
	second, sink := outputs()
	cfg.Sink = sink
	r2 := start(t, cfg)
	waitFor(t, patience, "everything released and committed", committedTo(r2.s, len(p1)+len(p2)+1, len(a1)+len(a2)))
	r2.shutdown(t)
	if r2.s.Stats().Muted.Load() == 0 {
		t.Fatal("the second server muted nothing: nothing was read again")
	}

	for _, o := range []struct {
		rule          string
		first, second *recaller
	}{
		{"long-spray", first.long, second.long},
		{"long-spray-copy", first.copy, second.copy},
	} {
		sent1, recalled1 := o.first.lines()
		sent2, recalled2 := o.second.lines()
		if len(recalled1) != 0 {
			t.Errorf("%s: the first server recalled %d alerts", o.rule, len(recalled1))
		}
		a, b, r := records(t, sent1), records(t, sent2), records(t, recalled2)
		if len(a) == 0 || len(b) == 0 || len(r) == 0 {
			t.Fatalf("%s: %d alerts sent before the restart, %d after, %d recalled: want some of each", o.rule, len(a), len(b), len(r))
		}
		for _, l := range slices.Concat(sent1, sent2, recalled2) {
			if !strings.Contains(l, `"rule":"`+o.rule+`"`) {
				t.Errorf("%s: told of another rule's alert: %s", o.rule, l)
			}
		}
		// Each recalled alert is one the first server sent, and the last
		// is the last it sent.
		for _, l := range recalled2 {
			if !slices.Contains(sent1, l) {
				t.Errorf("%s: recalled an alert the first server did not send: %s", o.rule, l)
			}
		}
		if last := recalled2[len(recalled2)-1]; last != sent1[len(sent1)-1] {
			t.Errorf("%s: the last alert recalled is\n%s\nthe last sent before the restart\n%s", o.rule, last, sent1[len(sent1)-1])
		}
		// The recalls came before anything the second server sent.
		o.second.mu.Lock()
		firstSent, lastRecalled := slices.IndexFunc(o.second.log, func(x told) bool { return !x.recalled }), -1
		for i, x := range o.second.log {
			if x.recalled {
				lastRecalled = i
			}
		}
		o.second.mu.Unlock()
		if lastRecalled > firstSent {
			t.Errorf("%s: recalled an alert after sending one", o.rule)
		}
		if got, last := b[0], r[len(r)-1]; got.Incident != last.Incident || got.Seq != last.Seq+1 {
			t.Errorf("%s: the second server's first alert is %+v, the last recalled %+v", o.rule, got, last)
		}
	}
}
