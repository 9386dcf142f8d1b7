// Package metrics exposes spraywatch's counters to Prometheus.
//
// The counters themselves live where the work is done (ingest.Stats,
// detect.Stats, alert.SinkStats, ...) as atomics; the collector here reads
// them when Prometheus scrapes, so nothing is added to the per-line paths.
// Each Metrics has its own registry (never the global one) with the Go and
// process collectors, and serves it with Handler.
package metrics

import (
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/ingest"
)

// Namespace prefixes every spraywatch metric.
const Namespace = "spraywatch"

// PartitionStats is one consumed Kafka partition's position.
type PartitionStats struct {
	Topic     string
	Partition int
	// Committed is the group's committed offset (the next offset to
	// read after a restart); negative when nothing was committed yet.
	Committed int64
	// Lag is how many messages the consumer is behind the partition's
	// high watermark (the end of the log); negative when not known yet
	// (no watermark or position yet), and then not reported.
	Lag int64
}

// KafkaStats reports the positions of the partitions a consumer owns now.
// Partitions is called at scrape time, concurrently with the consumer; it
// must be safe for that and should not block on the network.
type KafkaStats interface {
	Partitions() []PartitionStats
}

// Stream is what a streaming server (spraywatch serve, reading Kafka or
// following files) counts besides its sources and engine.
type Stream struct {
	// Late records were older than what the engine had already seen;
	// Forced were released early because the reorder buffer was full;
	// Buffered wait in it now.
	Late, Forced, Buffered int64
	// Muted alerts (or joined events) were not sent while the state was
	// rebuilt: they had gone out before the restart.
	Muted int64
	// Rebuilds counts the state rebuilds (start, rebalance, rule reload).
	Rebuilds int64
	// Unrebuilt counts the incidents found, when committing, to reach
	// further back than a restart reads again (--max-rebuild).
	Unrebuilt int64
	// Rewind is how much event time before the newest record processed a
	// restart would read again, as of the last commit.
	Rewind time.Duration
	// Commits counts the saved positions (Kafka offsets or follow-mode
	// state); CommitErrs, FetchErrs and PublishErrs the failures.
	Commits, CommitErrs, FetchErrs int64
	// Published counts the joined events written to the events topic
	// (the correlate role).
	Published, PublishErrs int64
}

// StreamStats reports a streaming server's counters. Stream is called at
// scrape time, concurrently with the server; it must be safe for that.
type StreamStats interface {
	Stream() Stream
}

// FileStats are the counters of a source that follows files (spraywatch
// serve without Kafka): what happened to its files. Source, Kind and
// Format label them, as the source's line counters (ingest.Stats).
type FileStats struct {
	Source, Kind, Format string
	// Opened counts the files opened, Resumed those of them opened at a
	// saved position, Rotated the files renamed away or removed and then
	// closed, Truncated the truncations seen, Skipped the matching files
	// not read (compressed), Lost the files with a saved position that
	// were gone when a start or a rebuild looked for them.
	Opened, Resumed, Rotated, Truncated, Skipped, Lost int64
	// Copies counts the new files recognised as copies of a file read
	// (copytruncate), CopiedBytes the bytes of theirs not read because
	// they were read from the file copied.
	Copies, CopiedBytes int64
	// StateWrites counts the writes of the source's state file.
	StateWrites int64
}

// Config says where the metrics are read from. Functions are called at
// every scrape, so they may return values that change over a run (a
// rebuilt engine, a new sink set); any of them may be nil or return nil.
type Config struct {
	// Sources returns the input sources' counters.
	Sources func() []*ingest.Stats
	// Engine returns the detection engine in use now.
	Engine func() *detect.Engine
	// Counts, if set, returns the engine counters to report instead of
	// those of the engine in use (whose gauges are still reported): the
	// totals of a server that builds a new engine on every rebalance or
	// rule reload, which must not start again from zero (see
	// serve.Server.EngineCounts).
	Counts func() detect.Counts
	// Sinks returns the alert sinks' counters.
	Sinks func() []*alert.SinkStats
	// Kafka reports the consumed partitions, when reading Kafka.
	Kafka KafkaStats
	// Stream reports a streaming server's counters, when serving.
	Stream StreamStats
	// Files returns the counters of the sources that follow files, when
	// serving without Kafka.
	Files func() []FileStats

	// TopRule is the rule whose groups the top-identities gauge ranks
	// (default DefaultTopRule); TopK how many it keeps (default
	// DefaultTopK); TopInterval how often it is refreshed at most
	// (default DefaultTopInterval).
	TopRule     string
	TopK        int
	TopInterval time.Duration
	// Privacy says how a username the ranked rule groups by is shown in
	// the gauge's identity label: as the alerts show it.
	Privacy alert.Privacy

	// Version is reported by spraywatch_build_info (default: the main
	// module's version from the build information).
	Version string
	// Command is the spraywatch command serving the metrics ("serve" or
	// "replay"), reported by spraywatch_build_info's command label so that
	// alerting rules can tell a replay from a live deployment; "" leaves
	// the label out.
	Command string
	// Now returns the wall-clock time for the event-time lag (default
	// time.Now).
	Now func() time.Time
}

// Defaults for Config.
const (
	DefaultTopRule     = "cert-identity-spray"
	DefaultTopK        = 20
	DefaultTopInterval = 10 * time.Second
)

// LatencyBuckets are the processing latency histogram's buckets, seconds.
var LatencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics is a registry of spraywatch's metrics.
type Metrics struct {
	reg     *prometheus.Registry
	latency prometheus.Histogram
	top     *TopK
}

// New returns the metrics for c, registered on a new registry together
// with the Go and process collectors.
func New(c Config) (*Metrics, error) {
	if c.TopRule == "" {
		c.TopRule = DefaultTopRule
	}
	if c.TopK <= 0 {
		c.TopK = DefaultTopK
	}
	if c.TopInterval <= 0 {
		c.TopInterval = DefaultTopInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace,
			Name:      "processing_latency_seconds",
			Help:      "Wall-clock time from a record being read (fetched from Kafka, or read from a followed file) to its effects being handed to the alert sinks (serve).",
			Buckets:   LatencyBuckets,
		}),
		top: newTopK(c.TopRule, c.TopK, c.TopInterval, c.Privacy),
	}
	version, revision := buildVersion()
	if c.Version != "" {
		version = c.Version
	}
	labels := prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()}
	if c.Command != "" {
		labels["command"] = c.Command
	}
	buildInfo := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace:   Namespace,
		Name:        "build_info",
		Help:        "Always 1; the labels say which build is running, and which command (serve, replay).",
		ConstLabels: labels,
	}, func() float64 { return 1 })
	for _, col := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo,
		m.latency,
		newCollector(c, m.top),
	} {
		if err := m.reg.Register(col); err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	return m, nil
}

// Registry returns the registry, for callers that add their own metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text and OpenMetrics
// formats; mount it at /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:          m.reg,
		EnableOpenMetrics: true,
		ErrorHandling:     promhttp.ContinueOnError,
	})
}

// Observe records one processing latency: the wall-clock time from a
// record being fetched to its effects being handed to the sinks. Safe for
// concurrent use.
func (m *Metrics) Observe(d time.Duration) { m.latency.Observe(d.Seconds()) }

// TopK returns the top-identities gauge's state, which the engine's
// goroutine refreshes (see TopK.Tick).
func (m *Metrics) TopK() *TopK { return m.top }

func buildVersion() (version, revision string) {
	version, revision = "unknown", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if v := bi.Main.Version; v != "" {
		version = v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			revision = s.Value
		}
	}
	return
}
