// Package serve runs the detection engine as a long-lived Kafka consumer:
// records from the proxy and application topics (or joined events from the
// auth-events topic) are merged in event-time order behind a watermark,
// fed to the same engine replay uses, and their offsets committed only once
// the alerts they caused were handed to the sink (at-least-once). On every
// partition assignment the engine's state is rebuilt by reading the
// partitions again from before the committed offsets (one rule window, or
// back to the first event of the incidents that were firing: the rewind
// committed with each offset), with alerts muted until each partition
// passes its committed offset.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/kafka"
	"github.com/spraywatch/spraywatch/metrics"
	"github.com/spraywatch/spraywatch/rules"
)

// Role selects the stages a server runs.
type Role string

// Roles.
const (
	// RoleAll joins the proxy and app topics and evaluates the rules in one
	// process.
	RoleAll Role = "all"
	// RoleCorrelate joins the proxy and app topics and publishes the joined
	// authentication events to the events topic, keyed by identity.
	RoleCorrelate Role = "correlate"
	// RoleDetect evaluates the rules over the events topic.
	RoleDetect Role = "detect"
)

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAll, RoleCorrelate, RoleDetect:
		return r, nil
	}
	return "", fmt.Errorf("role %q: expected all, correlate or detect", s)
}

// Defaults for Config.
const (
	DefaultLateness       = 5 * time.Second
	DefaultIdleTimeout    = time.Second
	DefaultCommitInterval = time.Second
	DefaultMaxBuffered    = 100_000
	DefaultLagInterval    = 5 * time.Second
	DefaultEventsTopic    = "auth-events"
	DefaultListen         = "127.0.0.1:9464"
)

// Partition keys of the events topics.
const (
	KeyIdentity = "identity"
	KeySubnet   = "subnet"
)

// DefaultSubnetTopic is the conventional name of the events topic keyed by
// subnet.
const DefaultSubnetTopic = "auth-events-by-subnet"

// SubnetRule reports whether r groups by source.subnet alone, and so needs
// the events repartitioned by subnet when detection is split over
// instances.
func SubnetRule(r *rules.Rule) bool {
	return len(r.GroupBy) == 1 && r.GroupBy[0].Derived == rules.DerivedSubnet
}

// Config configures a Server.
type Config struct {
	Role  Role
	Kafka kafka.Config // brokers, group id, TLS, SASL, start offset

	ProxyTopic  string // proxy access log lines (roles all, correlate)
	AppTopic    string // application auth log lines (roles all, correlate)
	EventsTopic string // joined events keyed by identity (written by correlate, read by detect)
	// SubnetTopic, if set, receives every joined event a second time,
	// keyed by the /24 (/64) of source.ip, for rules grouped by
	// source.subnet (role correlate).
	SubnetTopic string
	// PartitionKey says how the events topic a detect instance reads is
	// keyed, and so which rules it evaluates: "identity" (the default:
	// every rule not grouped by source.subnet) or "subnet" (only the rules
	// grouped by source.subnet).
	PartitionKey string

	ProxyFormat, AppFormat     ingest.Format
	ProxyEnvelope, AppEnvelope string // shipper envelope key, "" for raw lines
	MaxLineBytes               int

	// Partitioner places joined events on the events topic (nil: CRC32,
	// librdkafka's default).
	Partitioner kafkago.Balancer

	// Engine configures the correlator, the limits and the rules; its Sink
	// and OnEvent are set by the server.
	Engine detect.Config
	// Sink receives the alerts. The server does not close it.
	Sink alert.Sink

	// Lateness is how far, in event time, a partition may lag behind
	// another before records are released without waiting for it.
	Lateness time.Duration
	// IdleTimeout is how long (wall clock) a fetched record waits for an
	// empty partition that may still send older records; then the empty
	// partition is left out of the watermark for it.
	IdleTimeout time.Duration
	// CommitInterval is how often offsets are committed.
	CommitInterval time.Duration
	// MaxBuffered caps the records waiting in the reorder buffer; beyond
	// it the oldest is released whatever the watermark.
	MaxBuffered int
	// LagInterval is how often the owned partitions' high watermarks are
	// asked of the brokers for the consumer lag (zero:
	// DefaultLagInterval), whatever the engine is doing: the watermarks
	// fetched messages carry stop coming when it stalls.
	LagInterval time.Duration
	// MaxRebuild bounds how much event time before the committed offsets
	// a restart reads again to rebuild the incidents firing whole (zero:
	// DefaultMaxRebuild). The windows' span is read again whatever it
	// says. An incident firing that began earlier is counted in
	// Stats.Unrebuilt, and a restart opens a new incident for it.
	MaxRebuild time.Duration
	// MaxTimeJump bounds how far one record may leap ahead of its
	// partition's records (or, for a partition's first, of the newest
	// record read) on its own: such a record waits for its partition's
	// next record, and is rejected (counted with the reason in its
	// topic's rejected lines) unless that one is no more than MaxTimeJump
	// before it, as in a replay (see timeline). Zero means
	// replay.DefaultMaxTimeJump; a negative value turns the check off.
	MaxTimeJump time.Duration

	Logger *slog.Logger

	// Observe, if set, receives for every record the wall-clock time from
	// its fetch to its effects being handed to the sink (see
	// metrics.Metrics.Observe). Called on the engine's goroutine.
	Observe func(time.Duration)
	// Tick, if set, is called on the engine's goroutine after every batch
	// of records processed, with the engine in use (see
	// metrics.TopK.Tick).
	Tick func(*detect.Engine)
}

// pacingDefaults sets the settings Config and FilesConfig share, where
// zero (or nil), to their defaults.
func pacingDefaults(lateness, idle, commit *time.Duration, maxBuffered *int, logger **slog.Logger) {
	if *lateness <= 0 {
		*lateness = DefaultLateness
	}
	if *idle <= 0 {
		*idle = DefaultIdleTimeout
	}
	if *commit <= 0 {
		*commit = DefaultCommitInterval
	}
	if *maxBuffered <= 0 {
		*maxBuffered = DefaultMaxBuffered
	}
	if *logger == nil {
		*logger = slog.New(slog.DiscardHandler)
	}
}

func (c *Config) defaults() error {
	if c.Role == "" {
		c.Role = RoleAll
	}
	if _, err := ParseRole(string(c.Role)); err != nil {
		return err
	}
	pacingDefaults(&c.Lateness, &c.IdleTimeout, &c.CommitInterval, &c.MaxBuffered, &c.Logger)
	if c.LagInterval <= 0 {
		c.LagInterval = DefaultLagInterval
	}
	if c.EventsTopic == "" {
		c.EventsTopic = DefaultEventsTopic
	}
	switch c.PartitionKey {
	case "":
		c.PartitionKey = KeyIdentity
	case KeyIdentity, KeySubnet:
	default:
		return fmt.Errorf("partition key %q: expected %s or %s", c.PartitionKey, KeyIdentity, KeySubnet)
	}
	if c.Sink == nil && c.Role != RoleCorrelate {
		return errors.New("serve: no alert sink")
	}
	if c.Role != RoleDetect {
		if c.ProxyTopic == "" || c.AppTopic == "" {
			return errors.New("serve: the proxy and app topics are required")
		}
		if c.ProxyFormat == nil || c.AppFormat == nil {
			return errors.New("serve: the proxy and app formats are required")
		}
	}
	return c.Kafka.Validate()
}

// Stats counts what a server did. Safe to read while it runs.
type Stats struct {
	Records     atomic.Int64 // records released to the engine
	Late        atomic.Int64 // records older than what the engine had already seen
	Forced      atomic.Int64 // records released because the buffer was full
	Buffered    atomic.Int64 // records waiting in the reorder buffer now
	Watermark   atomic.Int64 // event time of the last record released, Unix ns
	Muted       atomic.Int64 // alerts (or joined events) not sent while rebuilding
	Published   atomic.Int64 // joined events written to the events topic
	Commits     atomic.Int64
	CommitErrs  atomic.Int64
	FetchErrs   atomic.Int64
	PublishErrs atomic.Int64
	Rebuilds    atomic.Int64 // state rebuilds (assignments and rule reloads)
	Partitions  atomic.Int64 // partitions owned now
	// Unrebuilt counts the incidents firing found, when committing, to
	// have begun more than MaxRebuild before the newest record processed:
	// a restart does not rebuild them whole.
	Unrebuilt atomic.Int64
	// Rewind is how much event time before the newest record processed a
	// restart reads again, as of the last commit (nanoseconds).
	Rewind atomic.Int64
}

// stream returns the counters as the metrics package reports them.
func (s *Stats) stream() metrics.Stream {
	return metrics.Stream{
		Late:        s.Late.Load(),
		Forced:      s.Forced.Load(),
		Buffered:    s.Buffered.Load(),
		Muted:       s.Muted.Load(),
		Rebuilds:    s.Rebuilds.Load(),
		Unrebuilt:   s.Unrebuilt.Load(),
		Rewind:      time.Duration(s.Rewind.Load()),
		Commits:     s.Commits.Load(),
		CommitErrs:  s.CommitErrs.Load(),
		FetchErrs:   s.FetchErrs.Load(),
		Published:   s.Published.Load(),
		PublishErrs: s.PublishErrs.Load(),
	}
}

// Server consumes the configured topics until its context ends.
type Server struct {
	cfg   Config
	stats Stats
	ready atomic.Bool
	alive atomic.Bool
	rules *ruleSet
	// rebuild decides how far a restart rewinds; the pipelines, one at a
	// time, use it.
	rebuild *rebuilder

	mu      sync.Mutex
	parts   []*partStats // positions of the partitions owned now
	sources map[string]*ingest.Stats
	engine  *detect.Engine
	// counts are the engines' counters for the life of the process.
	counts engineCounts
	// warn warns once of join partners that come late, and once of
	// request ids that come twice on one side.
	warn joinWarnings
	// counted is how far the pipelines counted each partition's
	// messages, for the life of the process (see counted).
	counted map[topicPartition]counted
}

// New checks c and returns a server.
func New(c Config) (*Server, error) {
	if err := c.defaults(); err != nil {
		return nil, err
	}
	s := &Server{cfg: c, rules: newRuleSet(c.Engine.Rules), sources: map[string]*ingest.Stats{}}
	s.rebuild = newRebuilder(c.MaxRebuild, &s.stats, c.Logger)
	switch c.Role {
	case RoleDetect:
		s.sources[c.EventsTopic] = kafka.NewStats(c.EventsTopic, event.App, kafka.EventFormat{}, "")
	default:
		s.sources[c.ProxyTopic] = kafka.NewStats(c.ProxyTopic, event.Proxy, c.ProxyFormat, c.ProxyEnvelope)
		s.sources[c.AppTopic] = kafka.NewStats(c.AppTopic, event.App, c.AppFormat, c.AppEnvelope)
	}
	// The engine must accept the configuration before anything is read.
	if _, err := s.newEngine(alert.NewFanout(), nil); err != nil {
		return nil, err
	}
	return s, nil
}

// Stats returns the server's counters.
func (s *Server) Stats() *Stats { return &s.stats }

// Stream returns the server's counters for the metrics (metrics.StreamStats).
func (s *Server) Stream() metrics.Stream { return s.stats.stream() }

// SourceStats returns the decoding counters of each topic read.
func (s *Server) SourceStats() []*ingest.Stats {
	out := make([]*ingest.Stats, 0, len(s.sources))
	for _, t := range s.topics() {
		out = append(out, s.sources[t])
	}
	return out
}

// Engine returns the engine in use now (nil before the first assignment);
// its Stats, JoinStats and RuleStats are safe to read.
func (s *Server) Engine() *detect.Engine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.engine
}

// EngineCounts returns the engine counters for the life of the process
// (see metrics.Config.Counts): they carry over from one engine to the next
// (a rebalance, a rule reload builds a new one), leave out what an engine
// counts while it reads again what was processed before, and count the
// alert records handed to the sink, not those muted then.
func (s *Server) EngineCounts() detect.Counts { return s.counts.counts() }

// partStats is a partition's position, written by the pipeline and read
// by Partitions.
type partStats struct {
	topic string
	id    int
	// next is the offset of the next message the engine takes: after the
	// last one taken, or where the partition's reader started (-1: not
	// known yet).
	next atomic.Int64
	// highWater is the partition's high watermark, the highest seen in a
	// fetched message or asked of the brokers (-1: not known yet).
	highWater atomic.Int64
	committed atomic.Int64
}

// raiseHighWater notes a high watermark, unless a higher one was seen.
func (p *partStats) raiseHighWater(hw int64) {
	for {
		old := p.highWater.Load()
		if hw <= old || p.highWater.CompareAndSwap(old, hw) {
			return
		}
	}
}

// Partitions reports the position of every partition owned now: the
// committed offset and the lag of the engine's position behind the high
// watermark, unknown (negative) until both are known. It implements
// metrics.KafkaStats; it does not block on the network.
func (s *Server) Partitions() []metrics.PartitionStats {
	s.mu.Lock()
	ps := s.parts
	s.mu.Unlock()
	out := make([]metrics.PartitionStats, 0, len(ps))
	for _, p := range ps {
		st := metrics.PartitionStats{Topic: p.topic, Partition: p.id, Committed: p.committed.Load(), Lag: -1}
		if hw, next := p.highWater.Load(), p.next.Load(); hw >= 0 && next >= 0 {
			st.Lag = max(hw-next, 0)
		}
		out = append(out, st)
	}
	return out
}

// Ready reports whether the state of every owned partition was rebuilt.
func (s *Server) Ready() bool { return s.ready.Load() }

// ReloadRules replaces the rule set. The engine is rebuilt from the
// committed offsets with the new rules (alerts of the rebuilt span stay
// muted, as after a restart). A rule set the engine refuses is not
// installed and the error says why.
func (s *Server) ReloadRules(rs []*rules.Rule) error {
	return s.rules.replace(s.cfg.Engine, rs)
}

func (s *Server) topics() []string {
	if s.cfg.Role == RoleDetect {
		return []string{s.cfg.EventsTopic}
	}
	return []string{s.cfg.ProxyTopic, s.cfg.AppTopic}
}

func (s *Server) newEngine(sink alert.Sink, onEvent func(*event.Event)) (*detect.Engine, error) {
	c := s.cfg.Engine
	c.Sink = sink
	c.OnEvent = onEvent
	switch s.cfg.Role {
	case RoleCorrelate:
		c.Rules = nil
	case RoleDetect:
		c.Rules = nil
		for _, r := range s.rules.current() {
			if SubnetRule(r) == (s.cfg.PartitionKey == KeySubnet) {
				c.Rules = append(c.Rules, r)
			}
		}
	default:
		c.Rules = s.rules.current()
	}
	return detect.NewEngine(c)
}

// Run joins the consumer group and processes its assignments until ctx
// ends; then it stops fetching, releases what the watermark allows,
// commits and returns nil. It returns an error when alerts cannot be
// handed to the sink (nothing after them is committed).
func (s *Server) Run(ctx context.Context) error {
	s.alive.Store(true)
	defer s.alive.Store(false)
	log := s.cfg.Logger
	var w []*kafkago.Writer
	if s.cfg.Role == RoleCorrelate {
		for _, topic := range []string{s.cfg.EventsTopic, s.cfg.SubnetTopic} {
			if topic == "" {
				continue
			}
			tw, err := s.cfg.Kafka.Writer(topic, s.cfg.Partitioner)
			if err != nil {
				return err
			}
			defer tw.Close()
			w = append(w, tw)
		}
	}
	store, err := s.newOffsetStore()
	if err != nil {
		return err
	}
	defer store.close()
	cg, err := s.cfg.Kafka.ConsumerGroup(s.topics())
	if err != nil {
		return fmt.Errorf("joining consumer group %s: %w", s.cfg.Kafka.GroupID, err)
	}
	defer cg.Close()
	for {
		gen, err := cg.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			log.Warn("joining the consumer group failed; trying again", "group", s.cfg.Kafka.GroupID, "err", err)
			if !sleep(ctx, time.Second) {
				return nil
			}
			continue
		}
		done := make(chan error, 1)
		gen.Start(func(gctx context.Context) {
			done <- s.generation(ctx, gctx, gen, w, store)
		})
		if err := <-done; err != nil {
			return err
		}
		s.ready.Store(false)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// Handler serves /healthz, /readyz and /metrics (metrics may be nil: the
// path then answers 404 until a metrics handler is plugged in).
func (s *Server) Handler(metrics http.Handler) http.Handler {
	return handler(s.alive.Load, s.ready.Load, metrics)
}

func handler(alive, ready func() bool, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !alive() {
			http.Error(w, "not running", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "rebuilding state", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if metrics != nil {
		mux.Handle("/metrics", metrics)
	} else {
		mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "metrics not available in this build", http.StatusNotFound)
		})
	}
	return mux
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
