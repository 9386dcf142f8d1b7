package detect

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
)

// benchProxy is a login POST as the mtls_combined nginx format logs it.
func benchProxy(rid string) *event.Record {
	return rec(event.Proxy, 0,
		"http.request.id", rid, "source.ip", "10.1.2.3", "http.request.method", "POST",
		"url.path", "/accounts/login/", "http.response.status_code", "200", "http.response.body.bytes", "512",
		"user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
		"tls.client.verify", "SUCCESS", "tls.client.hash.sha1", "0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819",
		"tls.client.x509.serial_number", "01", "tls.client.subject", "CN=device-42,OU=Devices,O=Example Corp",
		"tls.client.issuer", "CN=Test CA,O=Example")
}

// benchApp is a failed login as the Django JSON format logs it.
func benchApp(rid string) *event.Record {
	return rec(event.App, 0, "http.request.id", rid, "user.name", "alice", "event.outcome", "failure",
		"event.action", "login_failed", "source.ip", "10.1.2.3")
}

// benchCorrelator returns a correlator with the default configuration
// that drops the events it emits.
func benchCorrelator(b *testing.B) *Correlator {
	k, err := NewCorrelator(CorrelatorConfig{}, func(*event.Event) {})
	if err != nil {
		b.Fatal(err)
	}
	return k
}

// wantMatched fails b unless k joined b.N pairs of records.
func wantMatched(b *testing.B, k *Correlator) {
	if m := k.Stats().Matched.Load(); m != int64(b.N) {
		b.Fatalf("%d matched, want %d", m, b.N)
	}
}

func benchIDs(n int) [][]byte {
	ids := make([][]byte, n)
	for i := range ids {
		ids[i] = fmt.Appendf(nil, "a0%014x%016x", i, i*7919)
	}
	return ids
}

// BenchmarkCorrelatorJoin measures a joined login request, each side
// arriving first.
func BenchmarkCorrelatorJoin(b *testing.B) {
	for _, first := range []event.Kind{event.Proxy, event.App} {
		b.Run("first="+first.String(), func(b *testing.B) {
			k := benchCorrelator(b)
			ids := benchIDs(4096)
			app, proxy := benchApp(""), benchProxy("")
			one, two := proxy, app
			if first == event.App {
				one, two = app, proxy
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				id := ids[i&4095]
				one.Time, two.Time = int64(i)*1000, int64(i)*1000+500
				one.Values[event.RequestID], two.Values[event.RequestID] = id, id
				k.Add(one)
				k.Add(two)
			}
			wantMatched(b, k)
		})
	}
}

// BenchmarkCorrelatorJoinOwned measures a joined login request whose
// records a parse worker packed (event.Record.Own), as a replay hands them
// to the correlator: the reader of a batch points a record into its packed
// values (SetOwned), and the correlator reads the request id, method and
// path, keeps the packed values of the record that waits and unpacks them
// into the event. Each side arrives first.
func BenchmarkCorrelatorJoinOwned(b *testing.B) {
	for _, first := range []event.Kind{event.Proxy, event.App} {
		b.Run("first="+first.String(), func(b *testing.B) {
			k := benchCorrelator(b)
			const n = 4096
			var app, proxy [n]event.Packed
			for i, id := range benchIDs(n) {
				a, p := benchApp(string(id)), benchProxy(string(id))
				a.Own()
				p.Own()
				app[i], proxy[i] = a.Owned, p.Owned
			}
			one, two, kinds := &proxy, &app, [2]event.Kind{event.Proxy, event.App}
			if first == event.App {
				one, two, kinds = &app, &proxy, [2]event.Kind{event.App, event.Proxy}
			}
			var r event.Record
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j := i & (n - 1)
				r.Kind, r.Time = kinds[0], int64(i)*1000
				r.SetOwned(one[j], r.Owned.Fields())
				k.Add(&r)
				r.Kind, r.Time = kinds[1], int64(i)*1000+500
				r.SetOwned(two[j], r.Owned.Fields())
				k.Add(&r)
			}
			wantMatched(b, k)
		})
	}
}

// BenchmarkCorrelatorFlood measures request ids that never meet: both
// sides stay at the pending cap and evict their oldest. It reports the
// live heap each pending record costs.
func BenchmarkCorrelatorFlood(b *testing.B) {
	const max = 100_000
	ids := benchIDs(1 << 20)
	app, proxy := benchApp(""), benchProxy("")
	var emitted int
	k, err := NewCorrelator(CorrelatorConfig{MaxPending: max}, func(*event.Event) { emitted++ })
	if err != nil {
		b.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	// Fill both sides, then measure the flood at the cap.
	for i := 0; i < 2*max; i++ {
		r := app
		if i&1 == 1 {
			r = proxy
		}
		r.Time = int64(i) * 1000
		r.Values[event.RequestID] = ids[i]
		k.Add(r)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	perPending := float64(ms.HeapAlloc-before) / float64(2*max)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := app
		if i&1 == 1 {
			r = proxy
		}
		j := 2*max + i
		r.Time = int64(j) * 1000
		r.Values[event.RequestID] = ids[j&(1<<20-1)]
		k.Add(r)
	}
	b.StopTimer()
	b.ReportMetric(perPending, "heapB/pending")
	if n := k.Stats().Pending.Load(); n != 2*max {
		b.Fatalf("%d pending, want %d", n, 2*max)
	}
	runtime.KeepAlive(k)
}

// BenchmarkCorrelatorUnrelatedExpired measures proxy records off the login
// paths that match nothing, the bulk of a proxy log, while no app record
// waits: with no app record expired unmatched, as in a healthy
// deployment, and with the most the app side remembers (each record then
// hashes its request id and looks it up among them).
func BenchmarkCorrelatorUnrelatedExpired(b *testing.B) {
	for _, expired := range []int{0, maxExpired} {
		b.Run(fmt.Sprintf("expired=%d", expired), func(b *testing.B) {
			k := benchCorrelator(b)
			ids := benchIDs(expired + 4096)
			app := benchApp("")
			for i := range expired {
				app.Values[event.RequestID] = ids[i]
				k.Add(app)
			}
			k.Expire(int64(time.Hour))
			if got := k.Stats().AppOnly.Load(); got != int64(expired) {
				b.Fatalf("%d app_only, want %d", got, expired)
			}
			proxy := rec(event.Proxy, 3600, "http.request.method", "GET", "url.path", "/static/css/app.4f2a9c.css", "source.ip", "203.0.113.7")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				proxy.Values[event.RequestID] = ids[expired+i&4095]
				k.Add(proxy)
			}
			b.StopTimer()
			if n := k.Stats().LateProxy.Load(); n != 0 {
				b.Fatalf("%d late proxy records, want 0", n)
			}
		})
	}
}
