package metrics

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
)

// TestJoinLatePartners feeds an engine login requests whose app records
// are logged an hour after their proxy records: the late-partner counter
// counts them by the late record's kind, the gap gauge gives the hour, and
// nothing of a kind none came of.
func TestJoinLatePartners(t *testing.T) {
	e := defaultEngine(t)
	m, err := New(Config{Engine: func() *detect.Engine { return e }})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC).UnixNano()
	add := func(kind event.Kind, at int64, rid string, kv ...event.Field) {
		t.Helper()
		r := &event.Record{Kind: kind, Time: at}
		r.Values[event.RequestID] = []byte(rid)
		for _, f := range kv {
			r.Values[f] = []byte(map[event.Field]string{event.URLPath: "/accounts/login/", event.UserName: "alice", event.Outcome: "failure"}[f])
		}
		if err := e.Add(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	const n = 5
	for i := range n {
		add(event.Proxy, base+int64(i)*int64(time.Minute), fmt.Sprint("r", i), event.URLPath)
	}
	for i := range n {
		add(event.App, base+int64(i)*int64(time.Minute)+int64(time.Hour), fmt.Sprint("r", i), event.UserName, event.Outcome)
	}
	reg := m.Registry()
	if got := series(t, reg, "spraywatch_join_late_partners_total"); got["kind=app"] != n || got["kind=proxy"] != 0 || len(got) != 2 {
		t.Errorf("join_late_partners_total = %v, want app %d, proxy 0", got, n)
	}
	if got := series(t, reg, "spraywatch_join_late_partner_gap_seconds"); got["kind=app"] != 3600 || len(got) != 1 {
		t.Errorf("join_late_partner_gap_seconds = %v, want app 3600 alone", got)
	}
	if got := series(t, reg, "spraywatch_join_outcomes_total"); got["outcome=proxy_only"] != n {
		t.Errorf("join outcomes %v, want %d proxy_only", got, n)
	}
}
