package serve

import (
	"slices"
	"testing"
	"time"
)

// TestSamplesMatchReplay streams the sample logs through Kafka and expects
// the alerts replay writes for the same files, byte for byte and in order.
func TestSamplesMatchReplay(t *testing.T) {
	want := replayAlerts(t, []string{proxySample}, []string{appSample})
	if len(want) == 0 {
		t.Fatal("replay wrote no alerts for the samples")
	}
	c := cluster(t, 1)
	produce(t, c, "proxy", readLines(t, proxySample), nil)
	produce(t, c, "app", readLines(t, appSample), nil)

	sink := &collector{}
	r := start(t, serverConfig(t, c, "samples", sink))
	waitFor(t, 30*time.Second, "the alerts", func() bool { return len(sink.snapshot()) >= len(want) })
	settle(t, 10*time.Second, 1500*time.Millisecond, func() int { return len(sink.snapshot()) })
	got := sink.snapshot()
	if !slices.Equal(got, want) {
		t.Errorf("serve wrote %d alerts, replay %d", len(got), len(want))
		for i := range max(len(got), len(want)) {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("first difference at alert %d:\nserve:  %s\nreplay: %s", i, g, w)
				break
			}
		}
	}
	if !r.s.Ready() {
		t.Error("not ready after reading everything")
	}
	st := r.s.Stats()
	if n := st.Records.Load(); n == 0 {
		t.Error("no records released")
	}
}
