package detect

import (
	"context"
	"slices"
	"testing"

	"github.com/spraywatch/spraywatch/rules"
)

// TestSharedFilters checks that rules with the same match block take the
// first one's result, and that each still counts what it matched.
func TestSharedFilters(t *testing.T) {
	rs, err := rules.Parse("t.yml", []byte(`rules:
  - {id: a, match: {event.outcome: [failure, success], user.name: {exists: true}}, group_by: [source.ip], window: 10m, threshold: 100}
  - {id: b, match: {event.outcome: [failure]}, group_by: [source.ip], window: 10m, threshold: 100}
  - {id: c, match: {user.name: {exists: true}, event.outcome: [failure, success]}, group_by: [source.ip], window: 1h, threshold: 100}
  - {id: d, match: {event.outcome: [failure, success], user.name: {exists: false}}, group_by: [source.ip], window: 10m, threshold: 100}
`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(Config{Rules: rs, Sink: &captureSink{}, Lanes: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.one.sameFilter, []int{-1, -1, 0, -1}; !slices.Equal(got, want) {
		t.Fatalf("sameFilter %v, want %v", got, want)
	}
	ctx := context.Background()
	for i, x := range []struct{ user, outcome string }{{"alice", "failure"}, {"", "failure"}, {"bob", "success"}, {"carol", "unknown"}} {
		if err := e.AddEvent(ctx, ev(float64(i), "source.ip", "192.0.2.1", "user.name", x.user, "event.outcome", x.outcome)); err != nil {
			t.Fatal(err)
		}
	}
	var got []int64
	for _, s := range e.RuleStats() {
		got = append(got, s.Matched.Load())
	}
	if want := []int64{2, 2, 2, 1}; !slices.Equal(got, want) {
		t.Errorf("matched %v, want %v", got, want)
	}
}
