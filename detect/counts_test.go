package detect

import (
	"context"
	"fmt"
	"reflect"
	"testing"
)

// TestCountsAddSub checks the arithmetic a server uses to carry an
// engine's counters over to the next: rules are matched by id and
// severity, and a rule new in the added counts is appended.
func TestCountsAddSub(t *testing.T) {
	rule := func(id, sev string, m, s, a int64) RuleCounts {
		return RuleCounts{Rule: id, Severity: sev, Matched: m, Suppressed: s, Alerts: a}
	}
	tests := []struct {
		name    string
		c, d    Counts
		sum     Counts
		subBack bool // sum.Sub(d) gives c back
	}{
		{
			name:    "same rules",
			c:       Counts{Events: 3, Join: JoinCounts{Matched: 2, LateApp: 4}, Rules: []RuleCounts{rule("a", "high", 1, 0, 1)}},
			d:       Counts{Events: 4, Late: 1, Join: JoinCounts{Matched: 1, Evicted: 2, LateApp: 1, LateProxy: 3}, Rules: []RuleCounts{rule("a", "high", 2, 1, 0)}},
			sum:     Counts{Events: 7, Late: 1, Join: JoinCounts{Matched: 3, Evicted: 2, LateApp: 5, LateProxy: 3}, Rules: []RuleCounts{rule("a", "high", 3, 1, 1)}},
			subBack: true,
		},
		{
			name: "a rule added, one with a new severity",
			c:    Counts{Rules: []RuleCounts{rule("a", "high", 1, 0, 1)}},
			d:    Counts{Rules: []RuleCounts{rule("b", "low", 5, 0, 0), rule("a", "critical", 2, 0, 2)}},
			sum:  Counts{Rules: []RuleCounts{rule("a", "high", 1, 0, 1), rule("b", "low", 5, 0, 0), rule("a", "critical", 2, 0, 2)}},
		},
		{
			name:    "nothing added",
			c:       Counts{GroupsEvicted: 2, EventsDropped: 3, Suppressed: 1},
			sum:     Counts{GroupsEvicted: 2, EventsDropped: 3, Suppressed: 1},
			subBack: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := fmt.Sprint(tt.c)
			c := tt.c.Clone()
			c.Add(tt.d)
			if !reflect.DeepEqual(c, tt.sum) {
				t.Errorf("sum %+v, want %+v", c, tt.sum)
			}
			if got := fmt.Sprint(tt.c); got != orig {
				t.Errorf("adding to a clone changed the original: %s, was %s", got, orig)
			}
			if tt.subBack {
				if back := c.Sub(tt.d); !reflect.DeepEqual(back, tt.c) {
					t.Errorf("sum less d %+v, want %+v", back, tt.c)
				}
			}
		})
	}
}

// TestIdleGroupsNotEvicted checks what GroupsEvicted counts: groups a cap
// pushed out, not idle groups a sweep forgets once their window emptied
// (normal traffic forgets groups all day; counting them made the
// evictions look like a full engine).
func TestIdleGroupsNotEvicted(t *testing.T) {
	tests := []struct {
		name        string
		maxGroups   int
		gap         float64 // seconds between two identities' attempts
		wantEvicted bool
	}{
		{"idle groups forgotten", 1000, 30, false},
		{"groups over the cap", 10, 0.001, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewEngine(Config{Rules: testRule(t, sprayRule), Sink: &captureSink{}, MaxGroups: tt.maxGroups})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for i := range 100 {
				if err := e.Add(ctx, attempt(float64(i)*tt.gap, fmt.Sprintf("c%d", i), "u", "failure")); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.Advance(ctx, int64(200*tt.gap*1e9)+int64(100e9)); err != nil {
				t.Fatal(err)
			}
			if g := e.RuleStats()[0].Groups.Load(); g >= 10 {
				t.Fatalf("%d groups held: the idle ones were not forgotten, the test tests nothing", g)
			}
			if got := e.Stats().GroupsEvicted.Load(); (got > 0) != tt.wantEvicted {
				t.Errorf("%d groups evicted, want evictions: %v", got, tt.wantEvicted)
			}
		})
	}
}
