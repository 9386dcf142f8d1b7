package serve

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/rules"
)

// withFarFutureLine returns the sample proxy lines with a line dated 2099
// in the middle, and replay's alerts over them and the sample app log.
func withFarFutureLine(t *testing.T) ([][]byte, []string) {
	t.Helper()
	lines := slices.Clone(readLines(t, proxySample))
	i := len(lines) / 3
	bad := bytes.Replace(slices.Clone(lines[i]), []byte("/Dec/2026:"), []byte("/Jan/2099:"), 1)
	if bytes.Equal(bad, lines[i]) {
		t.Fatal("the line's date was not changed")
	}
	lines = slices.Insert(lines, i+1, bad)
	proxy := filepath.Join(t.TempDir(), "access.log")
	appendFile(t, proxy, lines)
	return lines, replayAlerts(t, []string{proxy}, []string{appSample})
}

// checkFarFutureRejected checks that the proxy source of stats rejected the
// 2099 line, and nothing else.
func checkFarFutureRejected(t *testing.T, stats []*ingest.Stats) {
	t.Helper()
	for _, st := range stats {
		if st.Kind != event.Proxy {
			continue
		}
		errs := st.Errors()
		if n := st.Rejected.Load(); n != 1 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "record at 2099-01-") {
			t.Errorf("proxy: %d rejected (%v), want the 2099 line", n, errs)
		}
	}
}

// TestFarFutureRecord streams the samples with one proxy line dated 2099
// in the middle, as a broken clock would write it. It waits for the line
// after it, which is not within an hour, and is rejected with the reason
// in the proxy topic's counts; the alerts are replay's of the same lines,
// byte for byte, and no record is late. Without the check, the line
// carried the watermark to 2099: every later record was late (5,856 of
// them) and the alerts went wrong (70 instead of 43).
func TestFarFutureRecord(t *testing.T) {
	t.Parallel()
	lines, want := withFarFutureLine(t)

	c := cluster(t, 1)
	app := readLines(t, appSample)
	produce(t, c, "proxy", lines, nil)
	produce(t, c, "app", app, nil)
	// The input closes after the samples' newest record, not the 2099 one.
	closeInput(t, c, 1, 1, newestTime(t, readLines(t, proxySample), app))
	sink := &collector{}
	r := start(t, serverConfig(t, c, "future", sink))
	waitFor(t, patience, "every record released and committed", committedTo(r.s, len(lines)+1, len(app)))
	r.shutdown(t)
	if got := sink.snapshot(); !slices.Equal(got, want) {
		t.Errorf("serve wrote %d alerts, replay of the same lines %d", len(got), len(want))
	}
	if n := r.s.Stats().Late.Load(); n != 0 {
		t.Errorf("%d records late", n)
	}
	checkFarFutureRejected(t, r.s.SourceStats())
}

// TestFollowFarFutureRecord is TestFarFutureRecord in follow mode: the
// alerts are replay's (follow mode emits them in its own order).
func TestFollowFarFutureRecord(t *testing.T) {
	lines, want := withFarFutureLine(t)
	pf, af := formatsFor(t)
	cfg, proxyPath, appPath := restartConfig(t, rules.Default(), pf, af)
	sink := &collector{}
	cfg.Sink = sink
	r := startFollower(t, cfg)
	appendFile(t, proxyPath, lines)
	appendFile(t, appPath, readLines(t, appSample))
	waitFor(t, patience, "every line processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
	r.shutdown(t)
	checkOnceEach(t, sink.snapshot(), distinctSorted(want))
	if n := r.f.Stats().Late.Load(); n != 0 {
		t.Errorf("%d records late", n)
	}
	var stats []*ingest.Stats
	for _, s := range r.f.srcs {
		stats = append(stats, s.Stats())
	}
	checkFarFutureRejected(t, stats)
}
