package detect

import (
	"context"
	"fmt"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// TestEvictedGroupsReused checks that a group reusing the memory of an
// evicted one starts empty: with two groups per rule, identities that each
// try two usernames never reach a threshold of three, however their groups
// are recycled, while one that tries three does.
func TestEvictedGroupsReused(t *testing.T) {
	for _, window := range []string{"10m", "12h"} { // exact window, value set
		t.Run(window, func(t *testing.T) {
			rs := testRule(t, `rules:
  - {id: d, group_by: [identity], distinct: user.name, unresolved: true, window: `+window+`, threshold: 3}
  - {id: s, type: sequence, group_by: [identity], distinct: user.name, window: `+window+`, threshold: 2}
`)
			e, sink, add, sec := twoGroupEngine(t, rs)
			for i := range 50 {
				cert := fmt.Sprintf("c%d", i)
				add(login(*sec, cert, fmt.Sprintf("a%d", i), "failure"))
				add(login(*sec, cert, fmt.Sprintf("b%d", i), "failure"))
			}
			if len(sink.alerts) != 0 {
				t.Fatalf("two usernames per identity fired: %q", brief(sink.alerts))
			}
			if e.Stats().GroupsEvicted.Load() < 90 {
				t.Fatalf("%d groups evicted: the cap did not recycle groups", e.Stats().GroupsEvicted.Load())
			}
			for _, u := range []string{"x", "y", "z"} {
				add(login(*sec, "last", u, "failure"))
			}
			if got := firing(sink.alerts); got != "d/firing=3 mixed" {
				t.Errorf("three usernames: %s", got)
			}
		})
	}
}

// TestEvictedBigGroupsReused is TestEvictedGroupsReused for groups that
// grew past the small spares' buffers (and indexed their values): reused
// among the big spares, they start empty too.
func TestEvictedBigGroupsReused(t *testing.T) {
	for _, window := range []string{"10m", "12h"} { // exact window, value set
		t.Run(window, func(t *testing.T) {
			rs := testRule(t, `rules:
  - {id: d, group_by: [identity], distinct: user.name, unresolved: true, window: `+window+`, threshold: 31}
`)
			e, sink, add, sec := twoGroupEngine(t, rs)
			// The store of each identity's group, by the identity whose
			// group had it first; reused counts the groups that took
			// the store of an evicted one, too big for the small spares.
			had := map[store]string{}
			reused := 0
			for i := range 20 {
				cert := fmt.Sprintf("c%d", i)
				for u := range 30 {
					add(login(*sec, cert, fmt.Sprintf("user%02d", u), "failure"))
				}
				// A success after many values: the store indexes its
				// unresolved values to look for a typo.
				add(login(*sec, cert, "someone", "success"))
				st := e.rules[0].groups.newest().st // the identity's group
				if c, ok := had[st]; ok && c != cert {
					reused++
				}
				had[st] = cert
			}
			if len(sink.alerts) != 0 {
				t.Fatalf("30 usernames per identity fired: %q", brief(sink.alerts))
			}
			if reused == 0 {
				t.Fatalf("no evicted big store reused: the test does not reuse big stores")
			}
			for u := range 31 {
				add(login(*sec, "last", fmt.Sprintf("user%02d", u), "failure"))
			}
			if got := firing(sink.alerts); got != "d/firing=31 credential_stuffing" {
				t.Errorf("31 usernames: %s", got)
			}
		})
	}
}

// twoGroupEngine is an engine keeping two groups per rule, an add that
// feeds it an event and advances the clock, and the clock in seconds.
func twoGroupEngine(t *testing.T, rs []*rules.Rule) (*Engine, *captureSink, func(*event.Event), *float64) {
	t.Helper()
	sink := &captureSink{}
	e, err := NewEngine(Config{Rules: rs, Sink: sink, MaxGroups: 2})
	if err != nil {
		t.Fatal(err)
	}
	sec := new(float64)
	add := func(ev *event.Event) {
		t.Helper()
		if err := e.AddEvent(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		*sec++
	}
	return e, sink, add, sec
}
