package detect

import (
	"context"
	"fmt"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// BenchmarkIdentityFlood measures the default pack on one lane when every
// event comes from its own certificate (one failed attempt each): every
// event makes a group in each rule grouping by identity and, the groups
// being at their cap, evicts one. ns/op and allocs/op are per event.
// added takes the events as AddEvent does, joined as the engine's
// correlator hands them over (their identities strings of their own).
// cpu-ns/op is the benchmark thread's CPU time per event. cold has the default caps (22,222 groups a rule), whose groups do not
// fit in the processor's caches, as under a real flood.
func BenchmarkIdentityFlood(b *testing.B) {
	b.Run("added", func(b *testing.B) { benchIdentityFlood(b, false, 1<<15, 1000*len(rules.Default())) })
	b.Run("joined", func(b *testing.B) { benchIdentityFlood(b, true, 1<<15, 1000*len(rules.Default())) })
	b.Run("cold", func(b *testing.B) { benchIdentityFlood(b, true, 1<<18, 0) })
}

func benchIdentityFlood(b *testing.B, joined bool, n, maxGroups int) {
	evs := make([]*event.Event, n)
	for i := range evs {
		evs[i] = ev(0, "spraywatch.identity", fmt.Sprintf("sha1:%040x", i), "tls.client.hash.sha1", fmt.Sprintf("%040x", i),
			"tls.client.subject", fmt.Sprintf("CN=device-%d", i), "tls.client.verify", "SUCCESS", "user.name", fmt.Sprintf("user%d", i%997),
			"event.outcome", "failure", "event.action", "login_failed", "http.request.id", fmt.Sprintf("%032x", i),
			"source.ip", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), "url.path", "/accounts/login/",
			"http.request.method", "POST", "http.response.status_code", "200")
	}
	// Fewer groups a rule than distinct identities: after the first
	// round every new group evicts one.
	e, err := NewEngine(Config{Rules: rules.Default(), Sink: &captureSink{}, Lanes: 1, MaxGroupsTotal: maxGroups})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	add := func(x *event.Event) error {
		if !joined {
			return e.AddEvent(ctx, x)
		}
		e.advance(ctx, x.Time)
		e.evaluateJoined(x)
		return e.takeErr()
	}
	for i := range n { // fill the sets
		x := evs[i]
		x.Time = int64(i) * 200_000 // 5,000 events a second
		if err := add(x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	c := startThreadCPU(b)
	for i := 0; i < b.N; i++ {
		x := evs[i%n]
		x.Time = int64(n+i) * 200_000
		if err := add(x); err != nil {
			b.Fatal(err)
		}
	}
	c.stop(b)
}
