package detect

import (
	"context"
	"strconv"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// BenchmarkJoin measures the correlator on a login request: the app record
// waits, the proxy record completes it.
func BenchmarkJoin(b *testing.B) {
	k := benchCorrelator(b)
	ids := make([][]byte, 4096)
	for i := range ids {
		ids[i] = []byte(strconv.FormatInt(int64(i)*7919+1_000_000_000_000, 16) + "0123456789abcdef01")
	}
	app := rec(event.App, 0, "user.name", "alice", "event.outcome", "failure", "source.ip", "10.0.0.1")
	proxy := rec(event.Proxy, 0, "url.path", "/accounts/login/", "tls.client.hash.sha1", "0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819", "source.ip", "203.0.113.7", "tls.client.subject", "CN=jane.doe,OU=Devices,O=Example Corp,C=US")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := ids[i&4095]
		app.Time = int64(i) * 1000
		app.Values[event.RequestID] = id
		proxy.Time = app.Time + 500
		proxy.Values[event.RequestID] = id
		k.Add(app)
		k.Add(proxy)
	}
}

// BenchmarkUnrelatedProxy measures the common case: a proxy line that is not
// a login and completes nothing.
func BenchmarkUnrelatedProxy(b *testing.B) {
	k := benchCorrelator(b)
	proxy := rec(event.Proxy, 0, "http.request.id", "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a", "url.path", "/static/css/app.4f2a9c.css", "source.ip", "203.0.113.7")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k.Add(proxy)
	}
}

// BenchmarkWindow measures rule evaluation per event: filter, group lookup,
// window insert and distinct count, over 1,000 identities.
func BenchmarkWindow(b *testing.B) {
	rs, err := rules.Parse("bench", []byte(sprayRule))
	if err != nil {
		b.Fatal(err)
	}
	e, err := NewEngine(Config{Rules: rs, Sink: &captureSink{}})
	if err != nil {
		b.Fatal(err)
	}
	evs := make([]event.Event, 1000)
	for i := range evs {
		evs[i].Values[event.Identity] = "sha1:" + strconv.Itoa(i)
		evs[i].Values[event.Outcome] = event.OutcomeFailure
		evs[i].Values[event.UserName] = "user" + strconv.Itoa(i%37)
		evs[i].Values[event.SourceIP] = "198.51.100.4"
	}
	e.ctx = context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := &evs[i%1000]
		ev.Time = int64(i) * 1_000_000
		e.evaluate(ev)
	}
}
