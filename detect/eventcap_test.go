package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// eventCapRules are three rules of 50 events each when MaxEventsTotal is
// 150: one grouping by the few source addresses (many events per group),
// one by identity, one by identity over a long window (a value set, which
// holds distinct values).
const eventCapRules = `
rules:
  - {id: byip, match: {event.outcome: failure}, group_by: [source.ip], distinct: user.name, window: 10s, threshold: 1000}
  - {id: spray, match: {event.outcome: failure, identity: {exists: true}}, group_by: [identity], distinct: user.name, window: 10s, threshold: 5}
  - {id: long, match: {event.outcome: failure, identity: {exists: true}}, group_by: [identity], distinct: user.name, window: 2h, threshold: 1000}
`

// eventCapRecords is 1 200 failures over 24 s from 30 identities and 4
// addresses, then a campaign of one identity trying 8 usernames.
func eventCapRecords() []*event.Record {
	var recs []*event.Record
	for i := range 1200 {
		cert := fmt.Sprintf("c%d", i%30)
		recs = append(recs, rec(event.App, float64(i)*0.02, "tls.client.hash.sha1", cert, "tls.client.subject", "CN="+cert,
			"user.name", fmt.Sprintf("u%d", i%7), "event.outcome", "failure", "source.ip", fmt.Sprintf("10.0.0.%d", i%4)))
	}
	for i := range 8 {
		recs = append(recs, rec(event.App, 24+float64(i)*0.01, "tls.client.hash.sha1", "big", "tls.client.subject", "CN=big",
			"user.name", fmt.Sprintf("v%d", i), "event.outcome", "failure", "source.ip", "10.0.0.9"))
	}
	return recs
}

// checkHeld fails unless every rule's count of what its stores hold is
// what they hold, within its share.
func checkHeld(t *testing.T, e *Engine, when string) {
	t.Helper()
	for _, rs := range e.rules {
		n := 0
		rs.eachGroup(func(g *group) { n += g.st.held() })
		if rs.held != n {
			t.Fatalf("%s: rule %s counts %d held, its stores hold %d", when, rs.rule.ID, rs.held, n)
		}
		if rs.held > rs.maxHeld {
			t.Fatalf("%s: rule %s holds %d, share %d", when, rs.rule.ID, rs.held, rs.maxHeld)
		}
		if g := rs.stats.Groups.Load(); g != int64(rs.groups.Len()) {
			t.Fatalf("%s: rule %s counts %d groups, holds %d", when, rs.rule.ID, g, rs.groups.Len())
		}
	}
}

// TestEventCap checks the cap on what one rule's windows hold together:
// each rule evicts its own least recently active groups beyond its share
// (counted), the count stays exact through adds, drops from full windows,
// expiry and removals, the campaign still alerts, and the output is the
// same on 1, 2 and 3 lanes.
func TestEventCap(t *testing.T) {
	rs := testRule(t, eventCapRules)
	recs := eventCapRecords()
	run := func(lanes, total int) ([]byte, *Engine) {
		sink := &captureSink{}
		e, err := NewEngine(Config{Rules: rs, Sink: sink, MaxGroups: 1000, MaxGroupEvents: 40, MaxEventsTotal: total, Lanes: lanes})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for i, r := range recs {
			if err := e.Add(ctx, r); err != nil {
				t.Fatal(err)
			}
			if lanes == 1 {
				checkHeld(t, e, fmt.Sprintf("record %d", i))
			}
		}
		if err := e.Close(ctx); err != nil {
			t.Fatal(err)
		}
		checkHeld(t, e, "closed")
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for _, a := range sink.alerts {
			if err := enc.Encode(a); err != nil {
				t.Fatal(err)
			}
		}
		s := e.Stats()
		fmt.Fprintf(&buf, "events=%d late=%d evicted=%d dropped=%d alerts=%d open=%d\n", s.Events.Load(), s.Late.Load(),
			s.GroupsEvicted.Load(), s.EventsDropped.Load(), s.Alerts.Load(), s.Open.Load())
		for _, r := range e.RuleStats() {
			fmt.Fprintf(&buf, "%s matched=%d groups=%d alerts=%d\n", r.Rule, r.Matched.Load(), r.Groups.Load(), r.Alerts.Load())
		}
		return buf.Bytes(), e
	}

	// Without the cap (the default is far above this input), nothing is
	// evicted, but the full windows drop events.
	_, free := run(1, 0)
	if n := free.Stats().GroupsEvicted.Load(); n != 0 {
		t.Fatalf("%d groups evicted without the cap", n)
	}
	if free.Stats().EventsDropped.Load() == 0 {
		t.Fatal("no event dropped from a full window: the drop path is not covered")
	}
	if free.rules[0].held <= 50 || free.rules[2].held <= 50 {
		t.Fatalf("uncapped rules hold %d and %d: the input does not reach the cap", free.rules[0].held, free.rules[2].held)
	}

	want, e := run(1, 150)
	evicted := e.Stats().GroupsEvicted.Load()
	if evicted == 0 {
		t.Fatal("no group evicted by the cap")
	}
	for _, rs := range e.rules {
		if rs.maxHeld != 50 {
			t.Errorf("rule %s share %d, want 50", rs.rule.ID, rs.maxHeld)
		}
	}
	var big bool
	for _, a := range e.sink.(*captureSink).alerts {
		if a.Rule == "spray" && a.Group["spraywatch.identity"] == "sha1:big" {
			big = true
		}
	}
	if !big {
		t.Error("the active campaign did not alert under the cap")
	}
	for _, lanes := range []int{2, 3} {
		got, el := run(lanes, 150)
		if el.Lanes() != lanes {
			t.Fatalf("%d lanes, asked %d", el.Lanes(), lanes)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%d lanes differ from one: %s", lanes, firstDiffAt(got, want))
		}
	}
}

func firstDiffAt(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-80)
	return fmt.Sprintf("at byte %d: got %q, want %q", i, got[lo:min(len(got), i+80)], want[lo:min(len(want), i+80)])
}

// TestEventCapKeepsActiveGroup checks that the group of the event just
// added is never evicted by the cap, even when it alone holds more than
// the rule's share: it still alerts, and is evicted once another group is
// the most recently active.
func TestEventCapKeepsActiveGroup(t *testing.T) {
	sink := &captureSink{}
	e, err := NewEngine(Config{Rules: testRule(t, sprayRule), Sink: sink, MaxEventsTotal: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 6 {
		if err := e.Add(ctx, attempt(float64(i)*0.01, "big", fmt.Sprintf("u%d", i), "failure")); err != nil {
			t.Fatal(err)
		}
	}
	rs := e.rules[0]
	if rs.held != 6 || rs.groups.Len() != 1 || e.Stats().GroupsEvicted.Load() != 0 {
		t.Fatalf("held %d in %d groups, %d evicted; want 6 in the one active group, none evicted",
			rs.held, rs.groups.Len(), e.Stats().GroupsEvicted.Load())
	}
	if len(sink.alerts) == 0 || sink.alerts[0].Group["spraywatch.identity"] != "sha1:big" {
		t.Fatalf("the active group did not alert: %q", brief(sink.alerts))
	}
	if err := e.Add(ctx, attempt(0.1, "other", "x", "failure")); err != nil {
		t.Fatal(err)
	}
	if rs.held != 1 || rs.groups.Len() != 1 || e.Stats().GroupsEvicted.Load() != 1 || e.Stats().Open.Load() != 0 {
		t.Fatalf("held %d in %d groups, %d evicted, %d open; want the big group evicted with its incident",
			rs.held, rs.groups.Len(), e.Stats().GroupsEvicted.Load(), e.Stats().Open.Load())
	}
	checkHeld(t, e, "after the other group")
}
