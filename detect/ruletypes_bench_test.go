package detect

import (
	"context"
	"fmt"
	"hash/maphash"
	"runtime"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

var benchRules = map[string]string{
	"distinct":   `{id: b, group_by: [identity], distinct: user.name, window: 10m, threshold: 1000000}`,
	"unresolved": `{id: b, group_by: [identity], distinct: user.name, unresolved: true, window: 10m, threshold: 1000000}`,
	"count":      `{id: b, type: count, group_by: [identity], window: 10m, threshold: 1000000}`,
	"ratio":      `{id: b, type: ratio, ratio: 1, min_attempts: 1000000, group_by: [identity], window: 10m}`,
	"sequence":   `{id: b, type: sequence, group_by: [identity], distinct: user.name, window: 10m, threshold: 1000000}`,
	"baseline":   `{id: b, type: baseline, group_by: [identity], distinct: user.name, window: 10m, threshold: 1, baseline: {sigma: 1000, floor: 1000000}}`,
	"subnet":     `{id: b, group_by: [source.subnet], distinct: user.name, window: 10m, threshold: 1000000}`,
	"long-12h":   `{id: b, group_by: [identity], distinct: user.name, unresolved: true, window: 12h, threshold: 1000000}`,
}

// BenchmarkRuleType measures one rule of each type on a stream of events
// from 1,000 certificates and 5,000 usernames, 100 events per second of
// event time.
func BenchmarkRuleType(b *testing.B) {
	for _, name := range []string{"distinct", "unresolved", "count", "ratio", "sequence", "baseline", "subnet", "long-12h"} {
		b.Run(name, func(b *testing.B) {
			rs, err := rules.Parse("bench", []byte("rules:\n  - "+benchRules[name]+"\n"))
			if err != nil {
				b.Fatal(err)
			}
			e, err := NewEngine(Config{Rules: rs, Sink: &captureSink{}})
			if err != nil {
				b.Fatal(err)
			}
			evs := make([]*event.Event, 4096)
			for i := range evs {
				out := "failure"
				if i%7 == 0 {
					out = "success"
				}
				evs[i] = ev(0, "spraywatch.identity", fmt.Sprintf("sha1:%040d", i%1000), "user.name", fmt.Sprintf("user%04d", (i*7919)%5000),
					"event.outcome", out, "source.ip", fmt.Sprintf("10.%d.%d.%d", i%3, i%200, i%250))
			}
			ctx := context.Background()
			b.ReportAllocs()
			cpu := startThreadCPU(b)
			for i := 0; i < b.N; i++ {
				x := evs[i&4095]
				x.Time = int64(i) * 10_000_000
				if err := e.AddEvent(ctx, x); err != nil {
					b.Fatal(err)
				}
			}
			cpu.stop(b)
		})
	}
}

// BenchmarkLongWindowMemory measures the heap one 12-hour distinct group
// holds after a low-and-slow spray of n usernames with 20 attempts each,
// as the value set keeps it, against the exact window's every-event copy.
func BenchmarkLongWindowMemory(b *testing.B) {
	for _, n := range []int{300, 3000} {
		for _, kind := range []string{"value-set", "exact-window"} {
			b.Run(fmt.Sprintf("%s/users=%d", kind, n), func(b *testing.B) {
				users := make([]string, n)
				for i := range users {
					users[i] = fmt.Sprintf("first.last%05d", i)
				}
				seed := maphash.MakeSeed()
				build := func() store {
					var s store = newValueSet(seed)
					if kind == "exact-window" {
						s = newWindow(true)
					}
					for a := range 20 {
						for u, name := range users {
							t := int64(a*n+u) * 1_000_000_000
							s.add(entry{t: t, ev: newEvidence(name, len(name), 0), outcome: outcomeFailure}, hashed{name, maphash.String(seed, name)}, int64(12*3600)*1_000_000_000, 1<<30)
						}
					}
					return s
				}
				for i := 0; i < b.N; i++ {
					build()
				}
				b.StopTimer()
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				s := build()
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc)-float64(before.HeapAlloc), "heap-B/group")
				runtime.KeepAlive(s)
			})
		}
	}
}

// BenchmarkGroupMemory measures the live heap per group of the default
// pack when every event comes from its own certificate (one failed attempt
// each, the many-identities flood): what the group caps cost.
func BenchmarkGroupMemory(b *testing.B) {
	const n = 20_000
	evs := make([]*event.Event, n)
	for i := range evs {
		evs[i] = ev(float64(i)/1000, "spraywatch.identity", fmt.Sprintf("sha1:%040x", i), "tls.client.hash.sha1", fmt.Sprintf("%040x", i),
			"tls.client.subject", fmt.Sprintf("CN=device-%d", i), "tls.client.verify", "SUCCESS", "user.name", fmt.Sprintf("user%d", i%997),
			"event.outcome", "failure", "event.action", "login_failed", "http.request.id", fmt.Sprintf("%032x", i),
			"source.ip", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), "http.response.status_code", "200", "http.response.body.bytes", "512")
	}
	ctx := context.Background()
	var groups int64
	var heap float64
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		e, err := NewEngine(Config{Rules: rules.Default(), Sink: &captureSink{}})
		if err != nil {
			b.Fatal(err)
		}
		for _, x := range evs {
			if err := e.AddEvent(ctx, x); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		groups = 0
		for _, rs := range e.RuleStats() {
			groups += rs.Groups.Load()
		}
		heap = float64(after.HeapAlloc) - float64(before.HeapAlloc)
		runtime.KeepAlive(e)
	}
	b.ReportMetric(heap/float64(groups), "heap-B/group")
	b.ReportMetric(float64(groups)/n, "groups/event")
}
