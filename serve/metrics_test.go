package serve

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/metrics"
)

// TestMetricsScrape runs a server against kfake with the metrics wired as
// spraywatch serve wires them and scrapes /metrics: the ingest, engine,
// latency and Kafka partition series must be there with live values.
func TestMetricsScrape(t *testing.T) {
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
	r := startServer(t, s)
	total := int64(len(proxy) + len(app))
	waitFor(t, 30*time.Second, "every record processed", func() bool { return s.Stats().Records.Load() >= total-100 })
	waitFor(t, 30*time.Second, "a commit", func() bool { return s.Stats().Commits.Load() > 0 })

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
	waitFor(t, 10*time.Second, "the series in /metrics", func() bool {
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
	deadline := time.Now().Add(30 * time.Second)
	for l := lagging(); l != ""; l = lagging() {
		if time.Now().After(deadline) {
			t.Fatalf("lag 30 s after reading everything: %s", l)
		}
		time.Sleep(50 * time.Millisecond)
		_, body = get(t, hs.URL+"/metrics")
	}
	r.shutdown(t)
}
