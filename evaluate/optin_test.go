package evaluate

import (
	"bufio"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/samples"
)

// attempt is one login attempt of a campaign as the engine saw it.
type attempt struct {
	t              int64 // event time: Django's
	join, identity string
}

// TestOptInKindsDetected replays corpora with the opt-in kinds, logins
// through endpoints off the login paths: each campaign is detected by
// cert-identity-spray grouped on the attacker's certificate, and its
// attempts are joined to their proxy lines (matched, with the
// certificate's identity) rather than reported as reaching the
// application without passing the proxy.
func TestOptInKindsDetected(t *testing.T) {
	tests := []struct {
		kind string
	}{
		// A batch's last attempts, logged in the second nginx stamps on
		// the request's line, sort after that line and still join it.
		{samples.KindBatchSpray},
		{samples.KindTokenSpray},
	}
	for _, seed := range []int64{1, 2, 3} {
		cfg := samples.DefaultConfig()
		cfg.Seed = seed
		cfg.Campaigns = samples.OptInKinds
		labels, proxyPath, appPath := corpus(t, cfg)
		// The campaigns' requests, by request id.
		fps := map[string]bool{}
		for _, l := range labels {
			if slices.Contains(samples.OptInKinds, l.Kind) {
				fps[l.Identities[0]] = true
			}
		}
		reqs := proxyRequests(t, proxyPath, fps)
		byRID := map[string][]attempt{}
		res, err := replayWatched(context.Background(), nil, labels, proxyPath, appPath, func(ev *event.Event) {
			rid := ev.Values[event.RequestID]
			if _, ok := reqs[rid]; ok && ev.Values[event.UserName] != "" {
				byRID[rid] = append(byRID[rid], attempt{ev.Time, strings.Clone(ev.Values[event.Join]), strings.Clone(ev.Values[event.Identity])})
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		res.Seed = seed
		if f := res.Failures(); len(f) > 0 {
			t.Errorf("seed %d misses targets:\n%s", seed, strings.Join(f, "\n"))
		}
		for _, tt := range tests {
			i := slices.IndexFunc(res.Campaigns, func(c Campaign) bool { return c.Kind == tt.kind })
			if i < 0 {
				t.Errorf("seed %d: no %s campaign", seed, tt.kind)
				continue
			}
			c := res.Campaigns[i]
			fp := c.Identities[0]
			onCert := 0
			for _, al := range res.alerts {
				if al.Rule == "cert-identity-spray" && slices.Contains(identities(al.Group[event.Identity.String()]), fp) {
					onCert++
				}
			}
			if !c.Detected || !slices.Contains(c.Rules, "cert-identity-spray") || onCert == 0 {
				t.Errorf("seed %d: %s detected %v by %v, %d cert-identity-spray alerts on its certificate", seed, c.ID, c.Detected, c.Rules, onCert)
			}
			if slices.Contains(c.Rules, "proxy-bypass") {
				t.Errorf("seed %d: %s reported by proxy-bypass", seed, c.ID)
			}
			// Its attempts: one per labelled user, each joined to the
			// request's proxy line and so to the certificate.
			n, after := 0, 0
			for rid, as := range byRID {
				if reqs[rid].fp != fp {
					continue
				}
				for _, a := range as {
					n++
					if a.t >= reqs[rid].sec {
						after++ // sorted after the request's proxy line
					}
					if a.join != event.JoinMatched || a.identity != "sha1:"+fp {
						t.Errorf("seed %d: %s attempt of request %s at %s: join %s, identity %q; want matched, sha1:%s",
							seed, c.ID, rid, time.Unix(0, a.t).UTC().Format(time.RFC3339Nano), a.join, a.identity, fp)
					}
				}
			}
			if n != len(c.Users) {
				t.Errorf("seed %d: %s: %d attempts, %d users labelled", seed, c.ID, n, len(c.Users))
			}
			if tt.kind == samples.KindBatchSpray && after == 0 {
				t.Errorf("seed %d: %s: no attempt logged in the second of its request's line: the case is not exercised", seed, c.ID)
			}
		}
	}
}

// request is a proxy line: its certificate's fingerprint and its time, in
// whole seconds (Unix ns).
type request struct {
	fp  string
	sec int64
}

// proxyRequests returns the requests to the opt-in kinds' endpoints in
// path whose certificate is one of fps, by request id.
func proxyRequests(t *testing.T, path string, fps map[string]bool) map[string]request {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	field := func(line, name string) string {
		_, v, _ := strings.Cut(line, " "+name+"=")
		v, _, _ = strings.Cut(v, " ")
		return v
	}
	out := map[string]request{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fp := field(line, "fp")
		if !fps[fp] || !strings.Contains(line, `"POST /graphql `) && !strings.Contains(line, `"POST /api/token/ `) {
			continue
		}
		_, ts, _ := strings.Cut(line, "[")
		ts, _, _ = strings.Cut(ts, "]")
		at, err := time.Parse("02/Jan/2006:15:04:05 -0700", ts)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out[field(line, "rid")] = request{fp, at.UnixNano()}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no requests with the certificates %v", path, fps)
	}
	return out
}
