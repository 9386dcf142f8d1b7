package detect

import (
	"math"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
)

// A record stamped with the latest representable time must still come out
// of Flush, and must not hold back the records queued after it.
func TestCorrelatorFlushAtMaxTime(t *testing.T) {
	var out []string
	k, err := NewCorrelator(CorrelatorConfig{}, func(e *event.Event) { out = append(out, e.Get(event.RequestID)) })
	if err != nil {
		t.Fatal(err)
	}
	last := appRec(0, "last", "alice", "failure")
	last.Time = math.MaxInt64
	k.Add(last)
	k.Add(appRec(5, "early", "bob", "failure"))
	k.Flush()
	if len(out) != 2 || out[0] != "last" || out[1] != "early" {
		t.Fatalf("flushed %q, want [last early]", out)
	}
	if n := k.Stats().Pending.Load(); n != 0 {
		t.Fatalf("%d records still pending after Flush", n)
	}
}

// An incident whose window empties within resolve_after of the latest
// representable time cannot resolve: the time it would resolve at does
// not exist. It must not wrap around to a resolution in 1677.
func TestResolveNearMaxTime(t *testing.T) {
	const s = int64(1e9)
	base := int64(math.MaxInt64) - 12*s
	at := func(ns int64, cert, user string) *event.Record {
		r := attempt(0, cert, user, "failure")
		r.Time = ns
		return r
	}
	recs := []*event.Record{
		at(base, "c1", "u1"), at(base+s/10, "c1", "u2"), at(base+2*s/10, "c1", "u3"),
		at(math.MaxInt64-s, "c2", "x"), at(math.MaxInt64, "c2", "y"),
	}
	as := runEngine(t, testRule(t, sprayRule), recs)
	if len(as) == 0 {
		t.Fatal("no alert")
	}
	for _, a := range as {
		if a.Status == "resolved" {
			t.Errorf("resolved at %s (first seen %s)", a.ResolvedAt, a.FirstSeen)
		}
	}
}

// A cooldown reaching past the latest representable time lasts to the end:
// it must not wrap around and let a new incident open at once.
func TestCooldownNearMaxTime(t *testing.T) {
	const s = int64(1e9)
	base := int64(math.MaxInt64) - 25*s
	at := func(ns int64, cert, user string) *event.Record {
		r := attempt(0, cert, user, "failure")
		r.Time = ns
		return r
	}
	recs := []*event.Record{
		at(base, "c1", "u1"), at(base+s/10, "c1", "u2"), at(base+2*s/10, "c1", "u3"),
		// c1's window empties at base+10.2s and resolves 5s later.
		at(base+16*s, "c2", "x"), at(base+18*s, "c2", "y"),
		// Within c1's 30s cooldown.
		at(base+20*s, "c1", "u4"), at(base+20*s+1, "c1", "u5"), at(base+20*s+2, "c1", "u6"),
	}
	var firing int
	for _, a := range runEngine(t, testRule(t, sprayRule), recs) {
		if a.Status == "firing" {
			firing++
		}
	}
	if firing != 1 {
		t.Fatalf("%d incidents opened, want 1 (the second is within the cooldown)", firing)
	}
}

// A baseline group near the latest representable time has no next sample
// boundary: it must not take thousands of samples of every event.
func TestBaselineNearMaxTime(t *testing.T) {
	rs := testRule(t, `rules:
  - {id: b, type: baseline, group_by: [identity], distinct: user.name, window: 10m, threshold: 1, baseline: {sigma: 3, floor: 4, warmup: 1h}}
`)
	a, b := login(0, "gw", "p1", "failure"), login(0, "gw", "p2", "failure")
	a.Time, b.Time = math.MaxInt64-int64(time.Minute), math.MaxInt64-int64(time.Second)
	_, e := runEvents(t, rs, []*event.Event{a, b})
	e.rules[0].eachGroup(func(g *group) {
		if g.hist.n != 0 {
			t.Errorf("group %q took %d samples within one window", g.key, g.hist.n)
		}
	})
}

// A record within the join window of the earliest representable time must
// wait for its partner: the expiry limit must not wrap around to the
// latest time and emit it at once as unjoined.
func TestCorrelatorExpireNearMinTime(t *testing.T) {
	var out []string
	k, err := NewCorrelator(CorrelatorConfig{}, func(e *event.Event) { out = append(out, e.Get(event.RequestID)+" "+e.Get(event.Join)) })
	if err != nil {
		t.Fatal(err)
	}
	app := appRec(0, "r1", "alice", "failure")
	app.Time = math.MinInt64 + int64(time.Second)
	k.Add(app)
	k.Expire(app.Time)
	if len(out) != 0 {
		t.Fatalf("emitted %q before the join window passed", out)
	}
	proxy := proxyRec(0, "r1", "/accounts/login/", "0d5f")
	proxy.Time = app.Time
	k.Add(proxy)
	if len(out) != 1 || out[0] != "r1 "+event.JoinMatched {
		t.Fatalf("emitted %q, want [r1 %s]", out, event.JoinMatched)
	}
}
