package serve

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/rules"
)

// TestFollowReloadToldRebuild: following files, a rule reload tells the
// outputs that a rebuild begins, recalls the muted alerts of the rules
// still in force only, and tells them that it ended once nothing is left
// to read again: an output keeping incidents (Alertmanager) then forgets
// those of the rules the reload removed instead of re-sending them.
func TestFollowReloadToldRebuild(t *testing.T) {
	p1, p2, a1, a2 := halves(t)
	pf, af := formatsFor(t)
	cfg, proxyPath, appPath := restartConfig(t, rules.Default(), pf, af)
	out := &rebuildLog{key: func(a *alert.Alert) string { return a.Rule }}
	cfg.Sink = out
	r := startFollower(t, cfg)
	defer r.shutdown(t)
	appendFile(t, proxyPath, p1)
	appendFile(t, appPath, a1)
	waitFor(t, 40*time.Second, "the first half processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })

	// The rule of the first alert stays; the others sent alerts too.
	first := out.snapshot()
	sent := map[string]bool{}
	var keep *rules.Rule
	for _, e := range first {
		id, ok := strings.CutPrefix(e, "send ")
		if !ok {
			continue
		}
		if keep == nil {
			keep = rules.Default()[slices.IndexFunc(rules.Default(), func(rl *rules.Rule) bool { return rl.ID == id })]
		}
		sent[id] = true
	}
	if keep == nil || len(sent) < 2 {
		t.Fatalf("the first half's alerts come from %d rules (%v): the case needs two", len(sent), sent)
	}
	if first[0] != "begin" || !slices.Contains(first, "end") {
		t.Errorf("the first run told the outputs %v first, want a rebuild begun and ended (with nothing to rebuild)", first[:min(len(first), 3)])
	}

	if err := r.f.ReloadRules([]*rules.Rule{keep}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the rebuild", func() bool { return r.f.Stats().Rebuilds.Load() == 2 })
	appendFile(t, proxyPath, p2)
	appendFile(t, appPath, a2)
	waitFor(t, patience, "every line processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
	waitFor(t, patience, "the rebuild's end told", func() bool { return count(out.snapshot()[len(first):], "end") == 1 })

	after := out.snapshot()[len(first):]
	if after[0] != "begin" {
		t.Fatalf("after the reload the outputs were told %q first, want begin", after[0])
	}
	end := slices.Index(after, "end")
	recalled := 0
	for _, e := range after[1:end] {
		switch e {
		case "recall " + keep.ID:
			recalled++
		case "begin":
			t.Errorf("a second rebuild begun within the first: %v", after[:end+1])
		default:
			if strings.HasPrefix(e, "recall ") {
				t.Errorf("%q within the rebuild: that rule was removed", e)
			}
		}
	}
	if recalled == 0 {
		t.Errorf("no alert of %s recalled in the rebuild: %v", keep.ID, after[:end+1])
	}
	for _, e := range after[end+1:] {
		if e == "begin" || strings.HasPrefix(e, "recall ") {
			t.Errorf("%q after the rebuild ended", e)
		}
	}
}
