package evaluate

import (
	"context"
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
		if f := res.Failures(); len(f) > 0 {
			var b strings.Builder
			res.WriteTable(&b)
			t.Errorf("seed %d misses targets:\n%s\n%s", seed, strings.Join(f, "\n"), b.String())
		}
	}
}
