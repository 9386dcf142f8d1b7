package serve

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/metrics"
	"github.com/spraywatch/spraywatch/replay"
	"github.com/spraywatch/spraywatch/rules"
)

// TestMetricsScrape runs a server against kfake with the metrics wired as
// spraywatch serve wires them and scrapes /metrics: the ingest, engine,
// latency and Kafka partition series must be there with live values.
func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	c := cluster(t, 2)
	sink := alert.NewFanout()
	cfg := serverConfig(t, c, "metrics", sink)
	var m *metrics.Metrics
	cfg.Observe = func(d time.Duration) { m.Observe(d) }
	cfg.Tick = func(e *detect.Engine) { m.TopK().Tick(e) }
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, err = metrics.New(metrics.Config{
		Sources: s.SourceStats,
		Engine:  s.Engine,
		Sinks:   func() []*alert.SinkStats { return metrics.SinkStats(sink) },
		Kafka:   s,
		Stream:  s,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler(m.Handler()))
	defer hs.Close()
	proxy, app := readLines(t, proxySample), readLines(t, appSample)
	produce(t, c, "proxy", proxy, nil)
	produce(t, c, "app", app, nil)
	closeInput(t, c, 2, 2, newestTime(t, proxy, app))
	r := startServer(t, s)
	waitFor(t, patience, "every record released and committed", committedTo(s, len(proxy)+1, len(app)))

	var body string
	checks := []*regexp.Regexp{
		regexp.MustCompile(`(?m)^spraywatch_lines_parsed_total\{[^}]*source="kafka:proxy"[^}]*\} [1-9]`),
		regexp.MustCompile(`(?m)^spraywatch_lines_parsed_total\{[^}]*source="kafka:app"[^}]*\} [1-9]`),
		regexp.MustCompile(`(?m)^spraywatch_processing_latency_seconds_count [1-9]`),
		regexp.MustCompile(`(?m)^spraywatch_kafka_consumer_lag\{[^}]*partition="0"[^}]*topic="proxy"[^}]*\} \d`),
		regexp.MustCompile(`(?m)^spraywatch_kafka_committed_offset\{[^}]*topic="app"[^}]*\} [1-9]`),
		regexp.MustCompile(`(?m)^spraywatch_build_info\{`),
		regexp.MustCompile(`(?m)^spraywatch_stream_rebuilds_total [1-9]`),
		regexp.MustCompile(`(?m)^spraywatch_stream_commits_total [1-9]`),
		regexp.MustCompile(`(?m)^spraywatch_stream_errors_total\{op="commit"\} 0$`),
	}
	defer func() {
		if t.Failed() {
			t.Log(body)
		}
	}()
	waitFor(t, patience, "the series in /metrics", func() bool {
		code, b := get(t, hs.URL+"/metrics")
		body = b
		if code != 200 {
			return false
		}
		for _, re := range checks {
			if !re.MatchString(body) {
				return false
			}
		}
		return true
	})
	// Once everything is read the lag is zero on every partition (the last
	// records may still be on their way when the series first appear).
	lagging := func() string {
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "spraywatch_kafka_consumer_lag{") && !strings.HasSuffix(l, " 0") {
				return l
			}
		}
		return ""
	}
	deadline := time.Now().Add(patience)
	for l := lagging(); l != ""; l = lagging() {
		if time.Now().After(deadline) {
			t.Fatalf("lag %s after reading everything: %s", patience, l)
		}
		time.Sleep(50 * time.Millisecond)
		_, body = get(t, hs.URL+"/metrics")
	}
	r.shutdown(t)
}

// familyTotals gathers m and adds up the samples of each counter and
// gauge family, by name.
func familyTotals(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			switch {
			case s.Counter != nil:
				out[f.GetName()] += s.GetCounter().GetValue()
			case s.Gauge != nil:
				out[f.GetName()] += s.GetGauge().GetValue()
			}
		}
	}
	return out
}

// servedMetrics returns the metrics of a server or follower, wired as
// spraywatch serve wires them.
func servedMetrics(t *testing.T, s interface {
	SourceStats() []*ingest.Stats
	Engine() *detect.Engine
	EngineCounts() detect.Counts
	metrics.StreamStats
}, kafka metrics.KafkaStats, sink alert.Sink) *metrics.Metrics {
	t.Helper()
	c := metrics.Config{
		Sources: s.SourceStats,
		Engine:  s.Engine,
		Counts:  s.EngineCounts,
		Sinks:   func() []*alert.SinkStats { return metrics.SinkStats(sink) },
		Kafka:   kafka,
		Stream:  s,
	}
	if fs, ok := s.(interface{ FileStats() []metrics.FileStats }); ok {
		c.Files = fs.FileStats
	}
	m, err := metrics.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// unchangedCounters are the counters a rebuild (rule reload, rebalance,
// restart) must neither reset nor count again: with no new input, they
// read the same before and after it.
var unchangedCounters = []string{
	"spraywatch_lines_read_total",
	"spraywatch_lines_parsed_total",
	"spraywatch_lines_ignored_total",
	"spraywatch_lines_rejected_total",
	"spraywatch_join_outcomes_total",
	"spraywatch_events_total",
	"spraywatch_events_late_total",
	"spraywatch_window_events_dropped_total",
	"spraywatch_window_groups_evicted_total",
	"spraywatch_rule_matches_total",
	"spraywatch_rule_suppressed_events_total",
	"spraywatch_alert_records_total",
	"spraywatch_incidents_cooldown_suppressed_total",
}

// checkAcrossRebuild compares the counters before and after a rebuild with
// no new input: none went down or counted the span read again, the alert
// records are those the sink received, and the lines read again are
// counted apart.
func checkAcrossRebuild(t *testing.T, before, after map[string]float64, written int) {
	t.Helper()
	for _, name := range unchangedCounters {
		if before[name] != after[name] {
			t.Errorf("%s: %v before the rebuild, %v after it, with no new input", name, before[name], after[name])
		}
	}
	if got := after["spraywatch_alert_records_total"]; got != float64(written) {
		t.Errorf("spraywatch_alert_records_total %v, but the sink received %d alerts", got, written)
	}
	if after["spraywatch_lines_reread_total"] == 0 {
		t.Error("spraywatch_lines_reread_total is 0 after the rebuild read the span again")
	}
	if after["spraywatch_stream_muted_total"] == 0 {
		t.Errorf("nothing muted: the rebuild read nothing again, the test tests nothing; reread %v rewind %v rebuilds %v",
			after["spraywatch_lines_reread_total"], after["spraywatch_stream_rewind_seconds"], after["spraywatch_stream_rebuilds_total"])
	}
}

// TestMetricsAcrossReload reloads the rules of a Kafka server: the new
// engine reads the rewind span again with its alerts muted. The counters
// carry over from the old engine, the span read again is not counted
// again (its lines are in lines_reread_total), and the alert records
// counted are the ones the sink received, not the muted ones. The reload
// comes with messages fetched but not yet processed: the closing app
// record, held back by the watermark, and the junk after it, past the
// committed offset, and a proxy record far ahead of the others, held back
// for the record after it. The new pipeline reads them again; each line is
// counted once across the two, and the far record's rejection once, when
// the record after it comes.
func TestMetricsAcrossReload(t *testing.T) {
	t.Parallel()
	c := cluster(t, 1)
	out := &collector{}
	cfg := serverConfig(t, c, "metrics-reload", out)
	cfg.CommitInterval = 100 * time.Millisecond
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := servedMetrics(t, s, s, out)
	p1, a1 := readLines(t, proxySample), readLines(t, appSample)
	newest := newestTime(t, p1, a1)
	closeProxy, closeApp := closingLines(newest)
	far := farProxyLine(t, newest+int64(10*replay.DefaultMaxTimeJump))
	after := farProxyLine(t, newest+int64(DefaultLateness+5*time.Second))
	appJunk := [][]byte{
		[]byte(`{"timestamp":"not a time","event":"login_failed"`),
		[]byte(`{"timestamp":"2026-12-01T00:00:00.000000Z","level":"info","logger":"accounts.auth","event":"password_changed","request_id":"r","username":"u","ip":"10.0.0.3"}`),
		nil,
	}
	proxyIn := append(slices.Clone(p1), closeProxy, far)
	appIn := append(append(slices.Clone(a1), closeApp), appJunk...)
	produce(t, c, "proxy", proxyIn, nil)
	produce(t, c, "app", appIn, nil)
	want := map[string]lineTotals{"proxy": expectedLines(t, "proxy", proxyIn), "app": expectedLines(t, "app", appIn)}
	if w := want["app"]; w.ignored == 0 || w.rejected < 2 {
		t.Fatalf("the app junk is neither ignored nor rejected: %+v", w)
	}
	r := startServer(t, s)
	defer r.shutdown(t)
	// The closing proxy record is released; the far one after it waits for
	// its next record, and the closing app record for the watermark.
	waitFor(t, patience, "every record released and committed", committedTo(s, len(p1)+1, len(a1)))
	waitFor(t, patience, "every line read", func() bool { return maps.Equal(sourceTotals(s), want) })
	before := familyTotals(t, m)
	written := len(out.snapshot())
	if got := before["spraywatch_alert_records_total"]; got != float64(written) || written == 0 {
		t.Fatalf("before the reload: spraywatch_alert_records_total %v, the sink received %d alerts", got, written)
	}

	if err := s.ReloadRules(rules.Default()); err != nil {
		t.Fatal(err)
	}
	// Ready is true from the engine before until the new one starts:
	// first wait for the new one to read again.
	reread := func() bool {
		for _, st := range s.SourceStats() {
			if st.Reread.Load() > 0 {
				return true
			}
		}
		return false
	}
	waitFor(t, patience, "the rebuild", func() bool { return s.Stats().Rebuilds.Load() >= 2 && reread() })
	// Muted counts the first alert found again, on the engine's goroutine
	// after the new pipeline said it is not ready: Ready is then the end
	// of the rebuild, when every record read again was processed.
	waitFor(t, patience, "the rebuild's end (an alert found again muted, then ready)", func() bool { return s.Stats().Muted.Load() > 0 && s.Ready() })
	// The new pipeline's engine took every message there is: the ones
	// held at the reload were read again.
	waitFor(t, patience, "every message taken again", func() bool {
		ps := s.Partitions()
		for _, p := range ps {
			if p.Lag != 0 {
				return false
			}
		}
		return len(ps) == 2
	})
	if got := sourceTotals(s); !maps.Equal(got, want) {
		t.Errorf("after the reload, lines counted %+v, want %+v", got, want)
	}
	checkAcrossRebuild(t, before, familyTotals(t, m), len(out.snapshot()))

	// The record after the far one has it rejected: its rejection was not
	// counted before the reload, and is now, once.
	produce(t, c, "proxy", [][]byte{after}, nil)
	proxyIn = append(proxyIn, after)
	want["proxy"] = expectedLines(t, "proxy", proxyIn)
	w := want["proxy"]
	w.rejected++
	w.outliers++
	want["proxy"] = w
	waitFor(t, patience, "the far record rejected", func() bool { return sourceTotals(s)["proxy"].lines == w.lines && sourceTotals(s)["proxy"].outliers > 0 })
	if got := sourceTotals(s); !maps.Equal(got, want) {
		t.Errorf("after the far record's rejection, lines counted %+v, want %+v", got, want)
	}
}

// farProxyLine returns a proxy line (a health check) dated at.
func farProxyLine(t testing.TB, at int64) []byte {
	t.Helper()
	return fmt.Appendf(nil, `10.0.0.3 - - [%s] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.31" rid=far-%d verify=NONE fp=- serial=- dn="-" idn="-" rt=0.001`,
		time.Unix(0, at).UTC().Format("02/Jan/2006:15:04:05 -0700"), at)
}

// lineTotals are a topic's line counters.
type lineTotals struct{ lines, parsed, ignored, rejected, outliers int64 }

// expectedLines returns the line counters of the lines of topic ("proxy"
// or "app") read once each, with no record rejected as a time outlier.
func expectedLines(t testing.TB, topic string, lines [][]byte) lineTotals {
	t.Helper()
	pf, af := formatsFor(t)
	p := pf.NewParser()
	if topic == "app" {
		p = af.NewParser()
	}
	var n lineTotals
	var r event.Record
	for _, l := range lines {
		n.lines++
		r.Reset()
		switch err := p.Parse(l, &r); {
		case err == nil:
			n.parsed++
		case errors.Is(err, ingest.ErrIgnore):
			n.ignored++
		default:
			n.rejected++
		}
	}
	return n
}

// sourceTotals returns the line counters of s, by topic.
func sourceTotals(s *Server) map[string]lineTotals {
	out := map[string]lineTotals{}
	for _, st := range s.SourceStats() {
		out[strings.TrimPrefix(st.Name, "kafka:")] = lineTotals{st.Lines.Load(), st.Parsed.Load(), st.Ignored.Load(), st.Rejected.Load(), st.Outliers.Load()}
	}
	return out
}

// TestFollowMetricsAcrossRebuild follows files, then rebuilds the state
// from the saved positions, by a rule reload or by a restart on the same
// state directory, with no new input: the counters of one process never
// go down and do not count the span read again; the alert records are the
// ones written, not the muted ones (after a restart: none).
func TestFollowMetricsAcrossRebuild(t *testing.T) {
	for _, how := range []string{"reload", "restart"} {
		t.Run(how, func(t *testing.T) {
			pf, af := formatsFor(t)
			out := &collector{}
			cfg, proxyPath, appPath := restartConfig(t, rules.Default(), pf, af)
			cfg.Sink, cfg.IdleTimeout, cfg.CommitInterval = out, time.Second, 50*time.Millisecond
			appendFile(t, proxyPath, readLines(t, proxySample))
			appendFile(t, appPath, readLines(t, appSample))
			r := startFollower(t, cfg)
			m := servedMetrics(t, r.f, nil, out)
			waitFor(t, 40*time.Second, "every line processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
			settle(t, 10*time.Second, 500*time.Millisecond, func() int { return int(r.f.Stats().Records.Load()) })
			before := familyTotals(t, m)
			written := len(out.snapshot())
			if got := before["spraywatch_alert_records_total"]; got != float64(written) || written == 0 {
				t.Fatalf("before the rebuild: spraywatch_alert_records_total %v, the sink received %d alerts", got, written)
			}
			rebuilt := func(f *Follower) {
				waitFor(t, 30*time.Second, "the rebuild", func() bool { return f.Ready() && f.Stats().Muted.Load() > 0 })
				waitFor(t, 40*time.Second, "every line processed again", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
				settle(t, 10*time.Second, time.Second, func() int { return int(f.Stats().Records.Load()) })
			}
			switch how {
			case "reload":
				defer r.shutdown(t)
				if err := r.f.ReloadRules(rules.Default()); err != nil {
					t.Fatal(err)
				}
				waitFor(t, 10*time.Second, "the reload", func() bool { return r.f.Stats().Rebuilds.Load() == 2 })
				rebuilt(r.f)
				checkAcrossRebuild(t, before, familyTotals(t, m), len(out.snapshot()))
			case "restart":
				r.shutdown(t)
				again := &collector{}
				cfg.Sink = again
				r2 := startFollower(t, cfg)
				defer r2.shutdown(t)
				m2 := servedMetrics(t, r2.f, nil, again)
				rebuilt(r2.f)
				// A new process counts from zero, and counts nothing of what
				// the previous one processed.
				checkAcrossRebuild(t, map[string]float64{}, familyTotals(t, m2), len(again.snapshot()))
				if n := len(again.snapshot()); n != 0 {
					t.Errorf("%d alerts written again after the restart", n)
				}
			}
		})
	}
}

// blockingSink blocks every Send until released (or its context ends).
type blockingSink struct {
	release chan struct{}
	entered chan struct{}
	once    sync.Once
}

func (b *blockingSink) Send(ctx context.Context, _ *alert.Alert) error {
	b.once.Do(func() { close(b.entered) })
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return nil
}

func (b *blockingSink) Close() error { return nil }

// TestLagWhileStalled stalls the engine's goroutine on a sink that blocks,
// then produces more messages: the consumer lag must grow by them, as the
// high watermarks are asked of the brokers whatever the engine does, so
// that SpraywatchConsumerLagGrowing can fire for a stuck consumer.
func TestLagWhileStalled(t *testing.T) {
	t.Parallel()
	c := cluster(t, 1)
	sink := &blockingSink{release: make(chan struct{}), entered: make(chan struct{})}
	cfg := serverConfig(t, c, "lag-stalled", sink)
	cfg.LagInterval = 100 * time.Millisecond
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := servedMetrics(t, s, s, alert.NewFanout())
	proxy, app := readLines(t, proxySample), readLines(t, appSample)
	produce(t, c, "proxy", proxy, nil)
	produce(t, c, "app", app, nil)
	startServer(t, s)
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(sink.release) }) }) // before the shutdown
	select {
	case <-sink.entered:
	case <-time.After(patience):
		t.Fatal("no alert")
	}
	lag := func() float64 { return familyTotals(t, m)["spraywatch_kafka_consumer_lag"] }
	before := lag()
	const more = 20000
	extra := make([][]byte, 0, more)
	for len(extra) < more {
		extra = append(extra, proxy...)
	}
	produce(t, c, "proxy", extra[:more], nil)
	waitFor(t, patience, "the lag to grow by the messages produced", func() bool { return lag() >= before+more })
	release.Do(func() { close(sink.release) })
	waitFor(t, patience, "the lag to go back to 0", func() bool { return lag() == 0 })
}

// TestPartitionLagUnknown checks the lag reported of a partition: unknown
// (no series) until both its high watermark and the engine's position are
// known, never negative.
func TestPartitionLagUnknown(t *testing.T) {
	tests := []struct {
		name            string
		highWater, next int64
		want            int64 // -1: unknown
	}{
		{"nothing known", -1, -1, -1},
		{"no high watermark yet", -1, 5, -1},
		{"no position yet", 10, -1, -1},
		{"behind", 10, 4, 6},
		{"at the end", 10, 10, 0},
		{"watermark older than the position", 8, 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &partStats{topic: "proxy", id: 3}
			p.highWater.Store(tt.highWater)
			p.next.Store(tt.next)
			p.committed.Store(-1)
			s := &Server{parts: []*partStats{p}}
			got := s.Partitions()
			if len(got) != 1 || got[0].Lag != tt.want {
				t.Fatalf("partitions %+v, want lag %d", got, tt.want)
			}
			m, err := metrics.New(metrics.Config{Kafka: s})
			if err != nil {
				t.Fatal(err)
			}
			_, reported := familyTotals(t, m)["spraywatch_kafka_consumer_lag"]
			if reported != (tt.want >= 0) {
				t.Errorf("lag reported: %v, want %v", reported, tt.want >= 0)
			}
		})
	}
}

// TestFollowStreamCountsAcrossReload reloads the rules of a follower while
// its reorder buffer holds records and a record far ahead waits for the
// one after it: the new engine reads the files again from the saved
// positions, and each line, late record, forced release and time outlier
// is counted once across the two, the lines read again only in
// lines_reread_total. The app log has no record, so that the proxy
// records leave the buffer only when it is full: every release is forced,
// and the same records are buffered at the reload and once read again.
func TestFollowStreamCountsAcrossReload(t *testing.T) {
	pf, af := formatsFor(t)
	var sorted [][]byte
	var times []int64
	p := pf.NewParser()
	var rec event.Record
	for _, l := range readLines(t, proxySample) {
		rec.Reset()
		if p.Parse(l, &rec) == nil {
			sorted, times = append(sorted, l), append(times, rec.Time)
		}
	}
	idx := make([]int, len(sorted))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return int(min(max(times[a]-times[b], -1), 1)) })
	proxy := make([][]byte, len(idx))
	for i, j := range idx {
		proxy[i] = sorted[j]
	}
	oldest, newest := times[idx[0]], times[idx[len(idx)-1]]
	// The new engine takes at most 4097 records before it releases some:
	// the late record, after them, is late when read again too.
	if len(proxy) < 5000 {
		t.Fatalf("%d proxy records, want more than 5000", len(proxy))
	}
	late := farProxyLine(t, oldest-int64(time.Hour))
	far := farProxyLine(t, newest+10*int64(replay.DefaultMaxTimeJump))
	after := farProxyLine(t, newest+int64(DefaultLateness+5*time.Second))
	appJunk := [][]byte{
		[]byte(`{"timestamp":"not a time","event":"login_failed"`),
		[]byte(`{"timestamp":"2026-12-01T00:00:00.000000Z","level":"info","logger":"accounts.auth","event":"password_changed","request_id":"r","username":"u","ip":"10.0.0.3"}`),
	}

	const maxBuffered = 10
	cfg, proxyPath, appPath := restartConfig(t, rules.Default(), pf, af)
	cfg.Sink = &collector{}
	cfg.MaxBuffered = maxBuffered
	// The app log, silent, holds the proxy records back for the whole test.
	cfg.IdleTimeout = 10 * time.Minute
	appendFile(t, appPath, appJunk)
	appendFile(t, proxyPath, proxy)
	r := startFollower(t, cfg)
	defer r.shutdown(t)
	m := servedMetrics(t, r.f, nil, cfg.Sink)
	st := r.f.Stats()
	n := int64(len(proxy))
	waitFor(t, patience, "the records past the buffer's bound released", func() bool { return st.Records.Load() == n-maxBuffered })
	appendFile(t, proxyPath, [][]byte{late})
	waitFor(t, patience, "the late record queued, and one more released", func() bool { return st.Records.Load() == n-maxBuffered+1 })
	appendFile(t, proxyPath, [][]byte{far})
	proxyStats, appStats := r.f.SourceStats()[0], r.f.SourceStats()[1]
	waitFor(t, patience, "the far record read", func() bool { return proxyStats.Lines.Load() == n+2 && appStats.Lines.Load() == int64(len(appJunk)) })
	if got, want := st.Forced.Load(), n-maxBuffered+1; got != want {
		t.Fatalf("before the reload: %d records forced, want %d", got, want)
	}
	if got := st.Late.Load(); got != 1 {
		t.Fatalf("before the reload: %d records late, want 1", got)
	}

	if err := r.f.ReloadRules(rules.Default()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, patience, "the reload", func() bool { return st.Rebuilds.Load() == 2 })
	// Read after the far record, the next one has it rejected: not counted
	// before the reload, as it was held, it is counted now, once.
	appendFile(t, proxyPath, [][]byte{after})
	released := n - maxBuffered + 1
	// The lines read again are the records read again: every record taken
	// again but the far one (rejected) and the maxBuffered left in the
	// buffer is released again; after is taken, and forces one out.
	waitFor(t, patience, "every line read, and every record read again released again", func() bool {
		return proxyStats.Lines.Load() == n+3 && st.Records.Load() == released+proxyStats.Reread.Load()-maxBuffered
	})
	if proxyStats.Reread.Load() == 0 {
		t.Fatal("nothing read again: the test tests nothing")
	}
	want := expectedLines(t, "proxy", slices.Concat(proxy, [][]byte{late, far, after}))
	want.rejected++
	want.outliers++
	got := lineTotals{proxyStats.Lines.Load(), proxyStats.Parsed.Load(), proxyStats.Ignored.Load(), proxyStats.Rejected.Load(), proxyStats.Outliers.Load()}
	if got != want {
		t.Errorf("proxy lines counted %+v, want %+v", got, want)
	}
	wantApp := expectedLines(t, "app", appJunk)
	gotApp := lineTotals{appStats.Lines.Load(), appStats.Parsed.Load(), appStats.Ignored.Load(), appStats.Rejected.Load(), appStats.Outliers.Load()}
	if gotApp != wantApp {
		t.Errorf("app lines counted %+v, want %+v", gotApp, wantApp)
	}
	if got, want := st.Forced.Load(), released+1; got != want {
		t.Errorf("%d records forced, want %d: each once, and after's", got, want)
	}
	if got := st.Late.Load(); got != 1 {
		t.Errorf("%d records late, want 1", got)
	}
	// The follower's file counters: each file opened at the start and
	// again by the reload, none rotated or lost.
	fams := familyTotals(t, m)
	for name, want := range map[string]float64{
		"spraywatch_follow_files_opened_total":  4,
		"spraywatch_follow_files_rotated_total": 0,
		"spraywatch_follow_files_lost_total":    0,
		"spraywatch_follow_copies_total":        0,
	} {
		if got, ok := fams[name]; !ok || got != want {
			t.Errorf("%s = %v (exposed %v), want %v", name, got, ok, want)
		}
	}
	if fams["spraywatch_follow_state_writes_total"] == 0 {
		t.Error("spraywatch_follow_state_writes_total is 0: the positions were saved")
	}
}
