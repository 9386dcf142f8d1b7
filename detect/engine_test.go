package detect

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

type captureSink struct{ alerts []alert.Alert }

func (c *captureSink) Send(_ context.Context, a *alert.Alert) error {
	c.alerts = append(c.alerts, *a)
	return nil
}
func (c *captureSink) Close() error { return nil }

func testRule(t *testing.T, yml string) []*rules.Rule {
	t.Helper()
	rs, err := rules.Parse("test", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

const sprayRule = `
rules:
  - id: spray
    severity: high
    match: {event.outcome: failure, identity: {exists: true}}
    group_by: [identity]
    distinct: user.name
    window: 10s
    threshold: 3
    cooldown: 30s
    resolve_after: 5s
`

// attempt is an app record carrying its certificate (as the Django
// middleware can log it) and no request id, so it is an event at once.
func attempt(sec float64, cert, user, outcome string) *event.Record {
	return rec(event.App, sec, "tls.client.hash.sha1", cert, "tls.client.subject", "CN="+cert,
		"user.name", user, "event.outcome", outcome, "source.ip", "198.51.100.4", "http.request.id", "")
}

func runEngine(t *testing.T, rs []*rules.Rule, recs []*event.Record) []alert.Alert {
	t.Helper()
	sink := &captureSink{}
	e, err := NewEngine(Config{Rules: rs, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, r := range recs {
		if err := e.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return sink.alerts
}

func brief(as []alert.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, fmt.Sprintf("%s#%d %s observed=%g first=%s last=%s", a.Rule, a.Sequence, a.Status, a.Observed, a.FirstSeen[17:], a.LastSeen[17:]))
	}
	return out
}

func TestSlidingWindowEdges(t *testing.T) {
	rs := testRule(t, sprayRule)
	tests := []struct {
		name string
		recs []*event.Record
		want int // alerts
	}{
		{"three users inside the window fire", []*event.Record{attempt(0, "c1", "a", "failure"), attempt(5, "c1", "b", "failure"), attempt(9.999, "c1", "c", "failure")}, 1},
		{"the first attempt has left the window at exactly its length", []*event.Record{attempt(0, "c1", "a", "failure"), attempt(5, "c1", "b", "failure"), attempt(10, "c1", "c", "failure")}, 0},
		{"repeating one user does not count", []*event.Record{attempt(0, "c1", "a", "failure"), attempt(1, "c1", "a", "failure"), attempt(2, "c1", "b", "failure"), attempt(3, "c1", "b", "failure")}, 0},
		{"successes do not pass the filter", []*event.Record{attempt(0, "c1", "a", "success"), attempt(1, "c1", "b", "success"), attempt(2, "c1", "c", "failure")}, 0},
		{"groups are separate", []*event.Record{attempt(0, "c1", "a", "failure"), attempt(1, "c2", "b", "failure"), attempt(2, "c1", "c", "failure"), attempt(3, "c2", "d", "failure")}, 0},
		{"slightly late events are inserted in order", []*event.Record{attempt(5, "c1", "a", "failure"), attempt(4, "c1", "b", "failure"), attempt(6, "c1", "c", "failure")}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runEngine(t, rs, tt.recs)
			if len(got) != tt.want {
				t.Errorf("got %d alerts %q, want %d", len(got), brief(got), tt.want)
			}
		})
	}
}

func TestIncidentLifecycle(t *testing.T) {
	rs := testRule(t, sprayRule)
	var recs []*event.Record
	// 12 users in 6 s: firing at 3, updated at 6 and 12.
	for i := 0; i < 12; i++ {
		recs = append(recs, attempt(float64(i)*0.5, "c1", fmt.Sprintf("u%02d", i), "failure"))
	}
	// Unrelated traffic moves event time on: the window drains by 15.5 s,
	// falls below 3 users at 14.5 s and resolves 5 s later.
	for s := 7.0; s <= 30; s++ {
		recs = append(recs, attempt(s, "other", "x", "success"))
	}
	// Inside the cooldown (until 19.5+30 s): suppressed.
	recs = append(recs, attempt(31, "c1", "v1", "failure"), attempt(31.1, "c1", "v2", "failure"), attempt(31.2, "c1", "v3", "failure"))
	// After the cooldown: a new incident.
	recs = append(recs, attempt(60, "c1", "w1", "failure"), attempt(60.1, "c1", "w2", "failure"), attempt(60.2, "c1", "w3", "failure"))
	got := runEngine(t, rs, recs)
	want := []string{
		"spray#1 firing observed=3 first=00Z last=01Z",
		"spray#2 updated observed=6 first=00Z last=02.5Z",
		"spray#3 updated observed=12 first=00Z last=05.5Z",
		"spray#4 resolved observed=12 first=00Z last=05.5Z",
		"spray#1 firing observed=3 first=00Z last=00.2Z",
	}
	if b := brief(got); strings.Join(b, "\n") != strings.Join(want, "\n") {
		t.Fatalf("alerts:\n%s\nwant:\n%s", strings.Join(b, "\n"), strings.Join(want, "\n"))
	}
	if got[0].IncidentID != got[3].IncidentID || got[0].IncidentID == got[4].IncidentID {
		t.Errorf("incident ids: %s %s %s", got[0].IncidentID, got[3].IncidentID, got[4].IncidentID)
	}
	if got[3].ResolvedAt != "1970-01-01T00:00:19.5Z" {
		t.Errorf("resolved_at = %s, want 19.5 s (below threshold at 14.5 s + 5 s)", got[3].ResolvedAt)
	}
	a := got[0]
	if a.Schema != alert.Schema || a.ID != a.IncidentID+"-1" || a.Count.Failures != 3 || a.Count.DistinctUsers != 3 ||
		strings.Join(a.Sample.UserNames, ",") != "u00,u01,u02" || a.Group["spraywatch.identity"] != "sha1:c1" ||
		a.Identity == nil || a.Identity.SHA1 != "c1" || a.Threat.Technique.ID != "T1110.003" {
		t.Errorf("first alert body: %+v", a)
	}
	if got[2].Sample.UserNamesTruncated != 2 || len(got[2].Sample.UserNames) != 10 {
		t.Errorf("sample cap: %d names, %d truncated", len(got[2].Sample.UserNames), got[2].Sample.UserNamesTruncated)
	}
}

func TestEngineDeterministic(t *testing.T) {
	rs := testRule(t, sprayRule)
	var recs []*event.Record
	for i := 0; i < 200; i++ {
		cert := fmt.Sprintf("c%d", i%7)
		recs = append(recs, attempt(float64(i)*0.3, cert, fmt.Sprintf("u%d", i%23), "failure"))
	}
	encode := func() []byte {
		var buf bytes.Buffer
		w := alert.NewWriter(&buf)
		e, err := NewEngine(Config{Rules: rs, Sink: w})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if err := e.Add(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a, b := encode(), encode()
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("two runs differ or are empty (%d, %d bytes)", len(a), len(b))
	}
}

func TestGroupCap(t *testing.T) {
	rs := testRule(t, sprayRule)
	sink := &captureSink{}
	e, err := NewEngine(Config{Rules: rs, Sink: sink, MaxGroups: 10, MaxGroupEvents: 5})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		if err := e.Add(ctx, attempt(float64(i)*0.001, fmt.Sprintf("c%d", i), "u", "failure")); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ {
		if err := e.Add(ctx, attempt(1+float64(i)*0.001, "big", fmt.Sprintf("u%d", i), "failure")); err != nil {
			t.Fatal(err)
		}
	}
	rsStats := e.RuleStats()[0]
	if g := rsStats.Groups.Load(); g > 10 {
		t.Errorf("groups held = %d, cap 10", g)
	}
	if e.Stats().GroupsEvicted.Load() < 990 {
		t.Errorf("groups evicted = %d, want >= 990", e.Stats().GroupsEvicted.Load())
	}
	if e.Stats().EventsDropped.Load() != 15 {
		t.Errorf("events dropped = %d, want 15", e.Stats().EventsDropped.Load())
	}
	if len(sink.alerts) == 0 || sink.alerts[0].Group["spraywatch.identity"] != "sha1:big" {
		t.Errorf("the big group should still alert: %q", brief(sink.alerts))
	}
	_ = time.Second
}

// TestGroupBudgetShared checks the cap on all rules' groups together: it
// is split among the rules (7 among 3: 3, 2, 2), each rule evicts its own
// least recently active group beyond its share, a rule's flood never
// evicts another rule's groups, and a campaign that stays active still
// alerts.
func TestGroupBudgetShared(t *testing.T) {
	rs := testRule(t, `
rules:
  - {id: a, match: {event.outcome: failure}, group_by: [identity], distinct: user.name, window: 10s, threshold: 3}
  - {id: b, match: {event.outcome: failure}, group_by: [source.ip], distinct: user.name, window: 10s, threshold: 1000}
  - {id: c, match: {event.outcome: failure}, group_by: [identity], window: 10s, threshold: 1000}
`)
	sink := &captureSink{}
	e, err := NewEngine(Config{Rules: rs, Sink: sink, MaxGroups: 1000, MaxGroupsTotal: 7})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	held := func() int64 {
		var n int64
		for _, s := range e.RuleStats() {
			n += s.Groups.Load()
		}
		return n
	}
	for i := 0; i < 100; i++ {
		// Each attempt adds a group to rules a and c; rule b's one group
		// (one address) stays the most recently active.
		if err := e.Add(ctx, attempt(float64(i)*0.001, fmt.Sprintf("c%d", i), "u", "failure")); err != nil {
			t.Fatal(err)
		}
		if n := held(); n > 7 {
			t.Fatalf("after %d attempts: %d groups held, budget 7", i+1, n)
		}
	}
	if g := e.RuleStats()[1].Groups.Load(); g != 1 {
		t.Errorf("rule b holds %d groups, want its one active group kept", g)
	}
	for i, want := range []int64{3, 1, 2} {
		if g := e.RuleStats()[i].Groups.Load(); g != want {
			t.Errorf("rule %s holds %d groups, want %d", e.RuleStats()[i].Rule, g, want)
		}
	}
	if ev := e.Stats().GroupsEvicted.Load(); ev != (100-3)+(100-2) {
		t.Errorf("groups evicted = %d, want %d", ev, (100-3)+(100-2))
	}
	for i := 0; i < 5; i++ {
		if err := e.Add(ctx, attempt(1+float64(i)*0.001, "big", fmt.Sprintf("u%d", i), "failure")); err != nil {
			t.Fatal(err)
		}
	}
	if len(sink.alerts) == 0 || sink.alerts[0].Group["spraywatch.identity"] != "sha1:big" {
		t.Errorf("the active group should alert: %q", brief(sink.alerts))
	}
}

// TestAssignLanes checks where the default pack's rules go: the rules
// grouping the same events by the same fields on one lane while there are
// as many such sets as lanes, every lane with a rule, and the lanes
// balanced. The four certificate rules grouping by identity alone share
// one group index on their lane.
func TestAssignLanes(t *testing.T) {
	rs := rules.Default()
	ids := func(idx []int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, rs[i].ID)
		}
		return out
	}
	for _, tc := range []struct {
		lanes int
		want  []int // by rule
	}{
		{1, []int{0, 0, 0, 0, 0, 0, 0, 0, 0}},
		// The four rules by identity (cost 5) on lane 0; the others
		// (cost 2 each) in rule order on the lane with less.
		{2, []int{0, 0, 1, 0, 0, 1, 1, 0, 1}},
		{3, []int{0, 0, 1, 0, 0, 2, 1, 2, 1}},
		// Fewer sets (6) than lanes: the identity set gives up rules.
		{9, nil},
	} {
		got := assignLanes(rs, tc.lanes)
		if len(got) != len(rs) {
			t.Fatalf("%d lanes: %d lanes assigned for %d rules", tc.lanes, len(got), len(rs))
		}
		if tc.want != nil && !slices.Equal(got, tc.want) {
			t.Errorf("%d lanes: %v, want %v", tc.lanes, got, tc.want)
		}
		used := make([][]int, tc.lanes)
		for i, l := range got {
			if l < 0 || l >= tc.lanes {
				t.Fatalf("%d lanes: rule %s on lane %d", tc.lanes, rs[i].ID, l)
			}
			used[l] = append(used[l], i)
		}
		for l, u := range used {
			if len(u) == 0 {
				t.Errorf("%d lanes: lane %d has no rule (%v)", tc.lanes, l, got)
			}
		}
		if tc.lanes <= 6 {
			for i := range rs {
				for j := range rs[:i] {
					if sameKeys(rs[i], rs[j]) && got[i] != got[j] {
						t.Errorf("%d lanes: %v and %v group alike on different lanes", tc.lanes, ids([]int{j}), ids([]int{i}))
					}
				}
			}
		}
	}
	e, err := NewEngine(Config{Rules: rs, Sink: &captureSink{}, Lanes: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	var byIdentity []*ruleState
	for _, r := range e.rules {
		if g := r.rule.GroupBy; len(g) == 1 && g[0].Field == event.Identity && r.rule.Filter.Equal(&e.rules[0].rule.Filter) {
			byIdentity = append(byIdentity, r)
		}
	}
	if len(byIdentity) != 4 {
		t.Fatalf("%d rules of the default pack group by identity alone, want 4", len(byIdentity))
	}
	for _, r := range byIdentity {
		if r.groups.x != byIdentity[0].groups.x || r.ln != byIdentity[0].ln {
			t.Errorf("%s: lane %d, its own index; want %s's lane %d and index", r.rule.ID, r.ln.id, byIdentity[0].rule.ID, byIdentity[0].ln.id)
		}
	}
	if k := byIdentity[0].groups.x.k; k != 4 {
		t.Errorf("the identity index serves %d rules, want 4", k)
	}
}
