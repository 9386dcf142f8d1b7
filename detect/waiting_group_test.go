package detect

import (
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// TestWaitingRecordOfOtherGroup checks that a record of another group
// waiting in the correlator changes nothing of a group's incidents: the
// incident resolves when due, before the group's later events, which
// open a new one (rather than being counted into the old incident, whose
// last_seen would then come after its resolved_at).
func TestWaitingRecordOfOtherGroup(t *testing.T) {
	rule := testRule(t, `
rules:
  - id: ip
    match: {event.outcome: failure}
    group_by: [source.ip]
    distinct: user.name
    window: 10m
    threshold: 3
    resolve_after: 30s
    cooldown: 5s
`)
	ip := func(sec float64, user, addr string) *event.Record {
		return rec(event.App, sec, "user.name", user, "event.outcome", "failure", "source.ip", addr, "http.request.id", "")
	}
	run := func(other bool) string {
		recs := []*event.Record{ip(0, "u1", "10.9.9.9"), ip(1, "u2", "10.9.9.9"), ip(2, "u3", "10.9.9.9")}
		if other {
			// Another address's app record: it waits for its proxy
			// record until 680 s.
			recs = append(recs, rec(event.App, 620, "user.name", "o", "event.outcome", "failure", "source.ip", "10.1.1.1", "http.request.id", "rX"))
		}
		recs = append(recs, ip(640, "u4", "10.9.9.9"), ip(641, "u5", "10.9.9.9"), ip(642, "u6", "10.9.9.9"), ip(1000, "x", "10.2.2.2"))
		ids := map[string]string{} // incident: its short name
		var out []string
		for _, a := range runEngine(t, rule, recs) {
			if a.Group["source.ip"] != "10.9.9.9" {
				continue
			}
			if _, ok := ids[a.IncidentID]; !ok {
				ids[a.IncidentID] = string(rune('A' + len(ids)))
			}
			s := a.Status + " " + ids[a.IncidentID]
			if a.ResolvedAt != "" {
				s += " at " + a.ResolvedAt[11:19]
				if a.LastSeen > a.ResolvedAt {
					t.Errorf("other=%v: incident %s last seen %s, after it resolved at %s", other, ids[a.IncidentID], a.LastSeen, a.ResolvedAt)
				}
			}
			out = append(out, s)
		}
		return strings.Join(out, ", ")
	}
	// Below 3 at 600 s (u1 leaves), resolved 30 s later; the campaign
	// at 640 s is a new incident.
	const want = "firing A, resolved A at 00:10:30, firing B"
	for _, other := range []bool{false, true} {
		if got := run(other); got != want {
			t.Errorf("with another group's record waiting %v: %s, want %s", other, got, want)
		}
	}
}
