package detect

import (
	"fmt"
	"hash/maphash"
	"slices"
	"testing"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// TestStrSet checks the set against a map over strings with repeats, empty
// and long ones, across resets that keep or drop its room.
func TestStrSet(t *testing.T) {
	s := strSet{seed: maphash.MakeSeed()}
	for round, n := range []int{0, 1, 10, 300, 5000, 40, 3000, 7} {
		want := map[string]bool{}
		for i := range n {
			v := fmt.Sprintf("10.%d.%d.%d", i%7, i%13, i%29)
			if i%97 == 0 {
				v = ""
			}
			if i%101 == 0 {
				v = fmt.Sprintf("%0200d", i%3)
			}
			added := s.add(v)
			if added == want[v] {
				t.Fatalf("round %d: add(%q) = %v, want %v", round, v, added, !want[v])
			}
			want[v] = true
		}
		if s.len() != len(want) {
			t.Errorf("round %d: %d strings, want %d", round, s.len(), len(want))
		}
		s.reset(1024)
		if s.len() != 0 {
			t.Fatalf("round %d: %d strings after reset", round, s.len())
		}
		if big := len(want) > 1024; big != (s.idx.tab == nil && s.vals == nil) && len(want) > 0 {
			t.Errorf("round %d: %d strings held: room dropped %v", round, len(want), !big)
		}
	}
}

// TestAlertSourceIPs checks an alert's sample of addresses: the first
// sampleIPs distinct ones in window order, and how many distinct others
// were left out, for windows with repeated addresses, over several alerts
// of one lane (whose scratch set is reused).
func TestAlertSourceIPs(t *testing.T) {
	rs, err := rules.Parse("t.yml", []byte(`rules:
  - {id: r, type: count, group_by: [spraywatch.identity], window: 1h, threshold: 30}
`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []int{1, 19, 20, 21, 25, 30, 3}
	var evs []*event.Event
	for k, distinct := range cases {
		for i := range 30 {
			evs = append(evs, ev(float64(100*k+i), "spraywatch.identity", fmt.Sprintf("sha1:%d", k), "user.name", fmt.Sprintf("u%d", i),
				"event.outcome", "failure", "source.ip", fmt.Sprintf("10.0.0.%d", i%distinct)))
		}
	}
	as, _ := runEvents(t, rs, evs)
	got := map[string]alert.Sample{}
	for _, a := range as {
		if a.Status == alert.StatusFiring {
			got[a.Group["spraywatch.identity"]] = a.Sample
		}
	}
	for k, distinct := range cases {
		sm, ok := got[fmt.Sprintf("sha1:%d", k)]
		if !ok {
			t.Fatalf("%d addresses: no alert", distinct)
		}
		var want []string
		for i := range min(distinct, sampleIPs) {
			want = append(want, fmt.Sprintf("10.0.0.%d", i))
		}
		if !slices.Equal(sm.SourceIPs, want) || sm.SourceIPsTruncated != max(distinct-sampleIPs, 0) {
			t.Errorf("%d addresses: sample %q truncated %d, want %q truncated %d", distinct, sm.SourceIPs, sm.SourceIPsTruncated, want, max(distinct-sampleIPs, 0))
		}
	}
}
