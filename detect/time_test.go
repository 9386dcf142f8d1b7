package detect

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// TestTimesBefore1970 runs the same day of the default pack at its real
// date, before 1970 (negative Unix nanoseconds) and across 1970-01-01: the
// alerts are the same, shifted, and event time advances through the
// negative range.
func TestTimesBefore1970(t *testing.T) {
	// A day: a spray (fires), a quiet gap long enough to resolve and cool
	// down, a slip then a login, a second spray, and a steady trickle of
	// logins through a shared certificate for the baseline to learn.
	day := func(t0 float64) []*event.Event {
		var evs []*event.Event
		for s := 0.0; s < 4*3600; s += 60 {
			evs = append(evs, login(t0+s, "gw", fmt.Sprintf("staff%02d", int(s/60)%40), "success"))
		}
		evs = append(evs, spray(t0+600, 7, "aa", 15, "u")...)
		evs = append(evs, login(t0+5000, "bb", "jonh", "failure"), login(t0+5005, "bb", "john", "success"))
		evs = append(evs, spray(t0+9000, 11, "aa", 20, "v")...)
		// Time order, as a replay delivers them.
		for i := 1; i < len(evs); i++ {
			for j := i; j > 0 && evs[j].Time < evs[j-1].Time; j-- {
				evs[j], evs[j-1] = evs[j-1], evs[j]
			}
		}
		return evs
	}
	shape := func(as []alert.Alert, shift time.Duration) string {
		at := func(s string) string {
			if s == "" {
				return "-"
			}
			ts, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				t.Fatalf("alert time %q: %v", s, err)
			}
			return ts.Add(-shift).UTC().Format(time.RFC3339)
		}
		var out []string
		for _, a := range as {
			out = append(out, fmt.Sprintf("%s %s #%d %g %d/%d/%d %s..%s resolved %s", a.Rule, a.Status, a.Sequence, a.Observed,
				a.Count.Events, a.Count.Failures, a.Count.Successes, at(a.FirstSeen), at(a.LastSeen), at(a.ResolvedAt)))
		}
		return strings.Join(out, "\n")
	}
	real := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	as, _ := runEvents(t, rules.Default(), day(float64(real.Unix())))
	want := shape(as, 0)
	if !strings.Contains(want, "cert-identity-spray firing") || !strings.Contains(want, "resolved 2026") {
		t.Fatalf("the day does not fire and resolve at its real date:\n%s", want)
	}
	for _, start := range []time.Time{
		time.Date(1960, 3, 1, 9, 0, 0, 0, time.UTC),
		time.Unix(0, 0).Add(-90 * time.Minute), // across 1970-01-01
	} {
		evs := day(float64(start.Unix()))
		as, e := runEvents(t, rules.Default(), evs)
		if got := shape(as, start.Sub(real)); got != want {
			t.Errorf("starting %s:\n%s\nwant (shifted from %s):\n%s", start, got, real, want)
		}
		if w, last := e.Stats().Watermark.Load(), evs[len(evs)-1].Time; w != last {
			t.Errorf("starting %s: watermark %d, want the last event's time %d", start, w, last)
		}
	}
}
