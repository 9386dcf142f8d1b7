package hostile

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rssCapKB is the peak RSS every heavy case must stay under with the
// default caps: max-pending (100 000 records per side), groups (50 000 per
// rule, 200 000 for all rules together), window (20 000 events per group)
// and events (1 350 000 in all windows together). It is the 300 MB target.
const rssCapKB = 300 << 10

// floodFiles writes a proxy and an app log of n flood records spread over
// n/rate seconds (made by mk, which returns the proxy line, the app line
// or both) with the spray campaign mixed in at its time.
func floodFiles(t *testing.T, n, rate int, mk func(i int, at time.Time) (proxy, app string)) (string, string) {
	dir := t.TempDir()
	pp, ap := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	sp, sa := spray.lines()
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second / time.Duration(rate)) }
	sprayAt := func(i int) time.Time { return spray.start.Add(time.Duration(i) * 10 * time.Second) }
	gen := func(app bool) func(emit func(string)) {
		return func(emit func(string)) {
			j := 0
			for i := 0; i < n; i++ {
				now := at(i)
				for j < sprayUsers && !sprayAt(j).After(now) {
					if app {
						emit(sa[j])
					} else {
						emit(sp[j])
					}
					j++
				}
				p, a := mk(i, now)
				if app && a != "" {
					emit(a)
				} else if !app && p != "" {
					emit(p)
				}
			}
			for ; j < sprayUsers; j++ {
				if app {
					emit(sa[j])
				} else {
					emit(sp[j])
				}
			}
		}
	}
	writeFile(t, pp, gen(false))
	writeFile(t, ap, gen(true))
	return pp, ap
}

func checkRSS(t *testing.T, figs map[string]int64, capKB int64) {
	t.Helper()
	if kb := figs["vmhwm_kb"]; kb <= 0 || kb > capKB {
		t.Errorf("peak RSS %d KiB, cap %d KiB", kb, capKB)
	}
}

// TestUnmatchedRequestIDs floods both sides with request ids that never
// meet: app records no proxy line completes and login POSTs no app line
// completes. The pending buffers stay at their cap, the overflow is
// evicted and counted, and no record is lost silently.
func TestUnmatchedRequestIDs(t *testing.T) {
	n := size(1_000_000, 10_000_000)
	figs := heavy(t, func(t *testing.T) map[string]int64 {
		pp, ap := floodFiles(t, n, 20_000, func(i int, at time.Time) (string, string) {
			ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
			if i%2 == 0 {
				return "", appLine(at, "login_failed", rid(0xa0, i), fmt.Sprintf("user%d", i%5000), ip)
			}
			return proxyLine(at, ip, "POST /accounts/login/ HTTP/1.1", rid(0xb0, i), fingerprint(i%3000), "CN=device", "curl/8"), ""
		})
		r := replayFiles(t, []string{pp}, []string{ap}, options{})
		r.accounted(t)
		r.sprayReported(t, spray)
		j := r.join
		app := r.sources[1].Parsed.Load()
		if got := j.Matched.Load() + j.AppOnly.Load() + j.Evicted.Load(); got < app {
			t.Errorf("%d app records, but %d matched + %d app_only + %d evicted", app, j.Matched.Load(), j.AppOnly.Load(), j.Evicted.Load())
		}
		if j.Evicted.Load() == 0 {
			t.Errorf("no record evicted: the flood did not reach the pending cap")
		}
		return map[string]int64{"lines": int64(n + 2*sprayUsers), "evicted": j.Evicted.Load(), "app_only": j.AppOnly.Load(),
			"proxy_only": j.ProxyOnly.Load(), "ns": r.took.Nanoseconds(), "cpu_ms": r.cpu.Milliseconds(), "vmhwm_kb": r.peakKB}
	})
	if figs != nil {
		// The correlator's pending records (100 000 per side, about 230
		// bytes each) dominate: 108-124 MB measured at 1 M and 10 M.
		checkRSS(t, figs, rssCapKB)
	}
}

// TestManyIdentities gives every request its own certificate: one failed
// attempt per identity. Each rule's groups stay at their cap; the least
// active are evicted and counted.
func TestManyIdentities(t *testing.T) {
	n := size(300_000, 1_000_000)
	figs := heavy(t, func(t *testing.T) map[string]int64 {
		pp, ap := floodFiles(t, n, 5_000, func(i int, at time.Time) (string, string) {
			id := rid(0xd0, i)
			ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
			return proxyLine(at, ip, "POST /accounts/login/ HTTP/1.1", id, fingerprint(i), fmt.Sprintf("CN=device-%d", i), "curl/8"),
				appLine(at, "login_failed", id, fmt.Sprintf("user%d", i%997), ip)
		})
		r := replayFiles(t, []string{pp}, []string{ap}, options{})
		r.accounted(t)
		r.sprayReported(t, spray)
		if got := r.join.Matched.Load(); got != int64(n+sprayUsers) {
			t.Errorf("%d joined, want %d", got, n+sprayUsers)
		}
		if r.engine.GroupsEvicted.Load() == 0 {
			t.Errorf("no group evicted: the identities did not reach the group cap")
		}
		return map[string]int64{"lines": int64(2 * (n + sprayUsers)), "groups_evicted": r.engine.GroupsEvicted.Load(), "alerts": int64(len(r.alerts)),
			"ns": r.took.Nanoseconds(), "cpu_ms": r.cpu.Milliseconds(), "vmhwm_kb": r.peakKB}
	})
	if figs != nil {
		// Each rule holds its share of the 200 000 groups (22 222 of
		// the default pack's nine; five rules group by identity), each
		// key seen once a single entry of the rule's group index, about
		// 140 bytes of live heap with its share of the event
		// (BenchmarkGroupMemory in detect). The subnet rule's groups (one
		// per /24, 256 events each here) would keep every event of their
		// window, 1 M at the full size; each rule's windows together
		// hold at most its share of the 1 350 000 events of
		// MaxEventsTotal (150 000), beyond which the rule evicts its
		// least active groups. About 135 MB peak RSS at the full size.
		checkRSS(t, figs, rssCapKB)
	}
}

// TestManyUsernamesOneIdentity sprays a huge number of distinct usernames
// from one certificate: that is a campaign and is reported, its window is
// capped (oldest events dropped and counted), and the small campaign of
// another certificate is reported too.
func TestManyUsernamesOneIdentity(t *testing.T) {
	n := size(300_000, 1_000_000)
	const loud = "1111111111111111111111111111111111111111"
	figs := heavy(t, func(t *testing.T) map[string]int64 {
		pp, ap := floodFiles(t, n, 5_000, func(i int, at time.Time) (string, string) {
			id := rid(0xe0, i)
			return proxyLine(at, "198.51.100.7", "POST /accounts/login/ HTTP/1.1", id, loud, "CN=loud", "curl/8"),
				appLine(at, "login_failed", id, fmt.Sprintf("name%07d", i), "198.51.100.7")
		})
		r := replayFiles(t, []string{pp}, []string{ap}, options{})
		r.accounted(t)
		r.sprayReported(t, spray)
		r.sprayReported(t, campaign{fp: loud})
		if r.engine.EventsDropped.Load() == 0 {
			t.Errorf("no event dropped: the window did not reach its cap")
		}
		return map[string]int64{"lines": int64(2 * (n + sprayUsers)), "dropped": r.engine.EventsDropped.Load(), "ns": r.took.Nanoseconds(), "cpu_ms": r.cpu.Milliseconds(), "vmhwm_kb": r.peakKB}
	})
	if figs != nil {
		checkRSS(t, figs, rssCapKB)
	}
}

// TestHugeLine puts one line of 100 MB (10 MB by default) without a
// newline inside into each log, between ordinary lines: it is skipped and
// counted without being buffered whole, and the lines after it are read.
func TestHugeLine(t *testing.T) {
	n := size(10<<20, 100<<20)
	figs := heavy(t, func(t *testing.T) map[string]int64 {
		dir := t.TempDir()
		pp, ap := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
		sp, sa := spray.lines()
		// The huge value is written in pieces: the process must not hold
		// it, so that the peak RSS measured is the replay's.
		chunk := strings.Repeat("A", 1<<20)
		huge := func(emit func(string)) {
			for k := 0; k < n; k += len(chunk) {
				emit(chunk[:min(len(chunk), n-k)])
			}
		}
		writeRaw(t, pp, func(emit func(string)) {
			emit(sp[0] + "\n")
			emit(`10.0.0.1 - - [04/Dec/2026:09:30:00 +0000] "GET /`)
			huge(emit)
			emit("\" 200 1 \"-\" \"x\" rid=- verify=NONE\n")
			for _, l := range sp[1:] {
				emit(l + "\n")
			}
		})
		writeRaw(t, ap, func(emit func(string)) {
			emit(sa[0] + "\n")
			emit(`{"timestamp":"2026-12-04T09:30:00Z","event":"login_failed","username":"`)
			huge(emit)
			emit("\"}\n")
			for _, l := range sa[1:] {
				emit(l + "\n")
			}
		})
		r := replayFiles(t, []string{pp}, []string{ap}, options{})
		r.accounted(t)
		r.sprayReported(t, spray)
		for _, s := range r.sources {
			if s.TooLong.Load() != 1 || s.Parsed.Load() != sprayUsers {
				t.Errorf("%s: %d too long, %d parsed; want 1 and %d", s.Name, s.TooLong.Load(), s.Parsed.Load(), sprayUsers)
			}
			if errs := s.Errors(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "longer than") {
				t.Errorf("%s: reasons %v", s.Name, errs)
			}
		}
		return map[string]int64{"line_bytes": int64(n)}
	})
	if figs != nil {
		// The line must not be buffered: far less than its size.
		if kb := figs["vmhwm_kb"]; kb > 64<<10 {
			t.Errorf("peak RSS %d KiB for a %d-byte line", kb, n)
		}
	}
}
