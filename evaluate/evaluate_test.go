package evaluate

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/samples"
)

// TestDefaultPackMeetsTargets replays several draws of the labelled corpus
// through the default pack: every attack campaign detected, no alert on a
// hard negative or on benign traffic, the fast spray within two minutes.
func TestDefaultPackMeetsTargets(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		cfg := samples.DefaultConfig()
		cfg.Seed = seed
		res, err := Run(context.Background(), Config{Samples: cfg, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Campaigns) < len(samples.AttackKinds) {
			t.Fatalf("seed %d: %d labels", seed, len(res.Campaigns))
		}
		// Each campaign is caught by the detector written for it.
		own := map[string]string{
			samples.KindFastSpray: "cert-identity-spray", samples.KindLowAndSlow: "cert-identity-slow-spray",
			samples.KindDistributed: "subnet-distributed-spray", samples.KindSuccessfulSpray: "successful-spray",
			samples.KindGatewaySpray: "shared-cert-spray-baseline", samples.KindProxyBypass: "proxy-bypass",
			samples.KindNoCertSpray: "no-cert-source-spray",
		}
		for _, c := range res.Campaigns {
			if r, ok := own[c.Kind]; ok && !slices.Contains(c.Rules, r) {
				t.Errorf("seed %d: %s not caught by %s (rules: %v)", seed, c.ID, r, c.Rules)
			}
		}
		if f := res.Failures(); len(f) > 0 {
			var b strings.Builder
			res.WriteTable(&b)
			t.Errorf("seed %d misses targets:\n%s\n%s", seed, strings.Join(f, "\n"), b.String())
		}
	}
}
