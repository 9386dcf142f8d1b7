package metrics

import (
	"context"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
)

// TestJoinBufferGauges feeds an engine records that wait for their
// partner or are held for app records that may come after them: the
// pending and held gauges give the engine's values.
func TestJoinBufferGauges(t *testing.T) {
	type rec struct {
		kind         event.Kind
		rid, method  string
		path, userIP string
	}
	tests := []struct {
		name          string
		recs          []rec
		pending, held int64
	}{
		{
			name:    "a login attempt waiting for its app record",
			recs:    []rec{{kind: event.Proxy, rid: "r1", method: "POST", path: "/accounts/login/"}},
			pending: 1,
		},
		{
			name: "a login attempt joined, held for the other attempts of its request",
			recs: []rec{
				{kind: event.Proxy, rid: "r1", method: "POST", path: "/accounts/login/"},
				{kind: event.App, rid: "r1", userIP: "203.0.113.7"},
			},
			held: 1,
		},
		{
			name: "POSTs off the login paths, one request id twice",
			recs: []rec{
				{kind: event.Proxy, rid: "t1", method: "POST", path: "/api/token/"},
				{kind: event.Proxy, rid: "t2", method: "POST", path: "/graphql"},
				{kind: event.Proxy, rid: "t2", method: "POST", path: "/graphql"},
				{kind: event.Proxy, rid: "g1", method: "GET", path: "/graphql"},
				{kind: event.App, rid: "a1", userIP: "203.0.113.7"},
			},
			pending: 1,
			held:    2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := defaultEngine(t)
			m, err := New(Config{Engine: func() *detect.Engine { return e }})
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC).UnixNano()
			for _, c := range tt.recs {
				at += int64(100 * time.Millisecond)
				r := &event.Record{Kind: c.kind, Time: at}
				r.Values[event.RequestID] = []byte(c.rid)
				if c.kind == event.Proxy {
					r.Values[event.Method] = []byte(c.method)
					r.Values[event.URLPath] = []byte(c.path)
				} else {
					r.Values[event.UserName] = []byte("alice")
					r.Values[event.Outcome] = []byte("failure")
					r.Values[event.SourceIP] = []byte(c.userIP)
				}
				if err := e.Add(context.Background(), r); err != nil {
					t.Fatal(err)
				}
			}
			j := e.JoinStats()
			if j.Pending.Load() != tt.pending || j.Held.Load() != tt.held {
				t.Fatalf("engine: pending %d, held %d; want %d, %d", j.Pending.Load(), j.Held.Load(), tt.pending, tt.held)
			}
			reg := m.Registry()
			for _, g := range []struct {
				name string
				want int64
			}{
				{"spraywatch_join_pending_records", tt.pending},
				{"spraywatch_join_held_records", tt.held},
			} {
				if got := series(t, reg, g.name); len(got) != 1 || got[""] != float64(g.want) {
					t.Errorf("%s = %v, want %d", g.name, got, g.want)
				}
			}
		})
	}
}
