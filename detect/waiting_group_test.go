package detect

import (
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// TestWaitingRecordOfOtherGroup: another source.ip's app
// record waiting in the correlator holds front back; the group's own
// events meanwhile take its figure back up while its incident, due to
// resolve, is still open, so the resolution is lost and a new campaign is
// merged into the old incident. Without the unrelated record: resolved,
// then a new incident.
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
			// another IP's app record: waits for its proxy record until 680 s
			recs = append(recs, rec(event.App, 620, "user.name", "o", "event.outcome", "failure", "source.ip", "10.1.1.1", "http.request.id", "rX"))
		}
		recs = append(recs, ip(640, "u4", "10.9.9.9"), ip(641, "u5", "10.9.9.9"), ip(642, "u6", "10.9.9.9"), ip(1000, "x", "10.2.2.2"))
		var out []string
		for _, a := range runEngine(t, rule, recs) {
			if a.Group["source.ip"] == "10.9.9.9" {
				s := a.Status + "(" + a.IncidentID[:6] + ")"
				if a.ResolvedAt != "" {
					s += "@" + a.ResolvedAt[11:19]
				}
				out = append(out, s)
			}
		}
		return strings.Join(out, " ")
	}
	alone, other := run(false), run(true)
	t.Logf("alone: %s\nother: %s", alone, other)
	if alone != other {
		t.Errorf("the group's alerts depend on another group's record waiting in the correlator")
	}
}

// TestResolvedAfterLastSeen: while another group's record waits,
// the group's own event after the due resolution time is counted into the
// incident (last_seen), which then resolves at a resolved_at before it.
func TestResolvedAfterLastSeen(t *testing.T) {
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
	for _, other := range []bool{false, true} {
		recs := []*event.Record{ip(0, "u1", "10.9.9.9"), ip(1, "u2", "10.9.9.9"), ip(2, "u3", "10.9.9.9")}
		if other {
			recs = append(recs, rec(event.App, 620, "user.name", "o", "event.outcome", "failure", "source.ip", "10.1.1.1", "http.request.id", "rX"))
		}
		recs = append(recs, ip(640, "u4", "10.9.9.9"), ip(700, "x", "10.2.2.2"))
		for _, a := range runEngine(t, rule, recs) {
			if a.Group["source.ip"] == "10.9.9.9" && a.Status == "resolved" {
				t.Logf("other=%v: resolved_at %s last_seen %s", other, a.ResolvedAt, a.LastSeen)
				if a.LastSeen > a.ResolvedAt {
					t.Errorf("other=%v: last_seen %s after resolved_at %s", other, a.LastSeen, a.ResolvedAt)
				}
			}
		}
	}
}
