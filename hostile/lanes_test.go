package hostile

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// TestLanesSameAlerts replays floods (every request its own certificate;
// one certificate spraying ever new usernames; request ids that never
// meet) on 1, 2 and 5 lanes, with caps low enough that groups are
// evicted, windows dropped from and pending records evicted: the alerts
// must be the same bytes and every counter the same.
func TestLanesSameAlerts(t *testing.T) {
	const n = 20_000
	floods := []struct {
		name string
		mk   func(i int, at time.Time) (string, string)
	}{
		{"many identities", func(i int, at time.Time) (string, string) {
			id := rid(0xd0, i)
			ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
			return proxyLine(at, ip, "POST /accounts/login/ HTTP/1.1", id, fingerprint(i%4000), fmt.Sprintf("CN=device-%d", i%4000), "curl/8"),
				appLine(at, "login_failed", id, fmt.Sprintf("user%d", i%97), ip)
		}},
		{"many usernames", func(i int, at time.Time) (string, string) {
			id := rid(0xe0, i)
			return proxyLine(at, "198.51.100.7", "POST /accounts/login/ HTTP/1.1", id, "1111111111111111111111111111111111111111", "CN=loud", "curl/8"),
				appLine(at, "login_failed", id, fmt.Sprintf("name%07d", i), "198.51.100.7")
		}},
		{"unmatched ids", func(i int, at time.Time) (string, string) {
			ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
			return proxyLine(at, ip, "POST /accounts/login/ HTTP/1.1", rid(0xa0, i), fingerprint(i%50), "CN=device", "curl/8"),
				appLine(at, "login_failed", rid(0xb0, i), fmt.Sprintf("user%d", i%300), ip)
		}},
	}
	for _, f := range floods {
		t.Run(f.name, func(t *testing.T) {
			pp, ap := floodFiles(t, n, 200, f.mk)
			o := options{maxGroups: 2_000, maxTotal: 6_000, maxEvents: 500, maxPending: 1_000}
			var want *result
			var wantCounts string
			for _, lanes := range []int{1, 2, 5} {
				o.lanes = lanes
				r := replayFiles(t, []string{pp}, []string{ap}, o)
				r.accounted(t)
				r.sprayReported(t, spray)
				counts := fmt.Sprintf("events %d late %d evicted %d dropped %d alerts %d open %d suppressed %d; join %d %d %d %d %d %d",
					r.engine.Events.Load(), r.engine.Late.Load(), r.engine.GroupsEvicted.Load(), r.engine.EventsDropped.Load(),
					r.engine.Alerts.Load(), r.engine.Open.Load(), r.engine.Suppressed.Load(),
					r.join.Matched.Load(), r.join.AppOnly.Load(), r.join.ProxyOnly.Load(), r.join.Duplicates.Load(), r.join.Evicted.Load(), r.join.Pending.Load())
				if want == nil {
					want, wantCounts = r, counts
					if r.engine.GroupsEvicted.Load() == 0 && r.engine.EventsDropped.Load() == 0 && r.join.Evicted.Load() == 0 {
						t.Fatalf("no cap reached: %s", counts)
					}
					continue
				}
				if !bytes.Equal(r.out, want.out) {
					t.Errorf("%d lanes: alerts differ from one lane's (%d and %d bytes)", lanes, len(r.out), len(want.out))
				}
				if counts != wantCounts {
					t.Errorf("%d lanes: %s\none lane: %s", lanes, counts, wantCounts)
				}
			}
		})
	}
}
