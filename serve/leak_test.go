package serve

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/internal/leaktest"
	"github.com/spraywatch/spraywatch/rules"
)

// TestFollowLanesStopped checks that a follower whose engine evaluates
// the rules on several lanes ends their goroutines when Run returns, and
// sends the alerts the lanes wrote before: the same alerts as on one lane.
func TestFollowLanesStopped(t *testing.T) {
	proxy, app := readLines(t, proxySample), readLines(t, appSample)
	pf, af := formatsFor(t)
	var got [2][]string
	for i, lanes := range []int{1, 3} {
		check := leaktest.Check(t)
		dir := t.TempDir()
		proxyPath, appPath := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
		appendFile(t, proxyPath, proxy)
		appendFile(t, appPath, app)
		c := &collector{}
		r := startFollower(t, FilesConfig{
			ProxyFiles: []string{proxyPath}, AppFiles: []string{appPath},
			ProxyFormat: pf, AppFormat: af,
			Engine:       detect.Config{Rules: rules.Default(), Lanes: lanes},
			IdleTimeout:  time.Second,
			PollInterval: 20 * time.Millisecond,
			Sink:         c,
			Logger:       testLogger(t),
		})
		want := int64(len(proxy) + len(app))
		waitFor(t, 30*time.Second, "every line read", func() bool {
			n := int64(0)
			for _, st := range r.f.SourceStats() {
				n += st.Lines.Load()
			}
			return n >= want
		})
		settle(t, 30*time.Second, 500*time.Millisecond, func() int { return int(r.f.Stats().Records.Load()) })
		r.shutdown(t)
		check()
		got[i] = distinctSorted(c.snapshot())
	}
	if len(got[0]) == 0 {
		t.Fatal("no alerts")
	}
	diff(t, got[1], got[0])
}

// TestServeLanesStopped checks that a server whose engine evaluates the
// rules on several lanes emits what replay emits, without waiting for
// more records, and that Run leaves no goroutine behind when ctx ends.
func TestServeLanesStopped(t *testing.T) {
	want := replayAlerts(t, []string{proxySample}, []string{appSample})
	c := cluster(t, 1)
	proxy, app := readLines(t, proxySample), readLines(t, appSample)
	produce(t, c, "proxy", proxy, nil)
	produce(t, c, "app", app, nil)
	closeInput(t, c, 1, 1, newestTime(t, proxy, app))
	check := leaktest.Check(t, "kfake.")
	sink := &collector{}
	cfg := serverConfig(t, c, "lanes", sink)
	cfg.Engine.Lanes = 3
	r := start(t, cfg)
	waitFor(t, patience, "every record released and committed", committedTo(r.s, len(proxy)+1, len(app)))
	r.shutdown(t)
	check()
	diff(t, sink.snapshot(), want)
}
