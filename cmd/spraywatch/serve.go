package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/config"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/formats"
	"github.com/spraywatch/spraywatch/ingest/kafka"
	"github.com/spraywatch/spraywatch/metrics"
	"github.com/spraywatch/spraywatch/replay"
	"github.com/spraywatch/spraywatch/rules"
	"github.com/spraywatch/spraywatch/serve"
)

type serveFlags struct {
	config                       string
	role                         string
	brokers                      string
	group, clientID, startOffset string
	proxyTopic, appTopic         string
	eventsTopic, partitioner     string
	subnetTopic, partitionKey    string
	proxyFormat, logFormat       string
	appFormat, appFormatDef      string
	proxyEnvelope, appEnvelope   string
	proxyTimeZone, appTimeZone   string
	out, outputs                 string
	listen                       string
	lateness, idle, commit       time.Duration
	maxRebuild                   time.Duration
	shutdownTimeout              time.Duration
	maxTimeJump                  time.Duration
	maxBuffered                  int
	kafkaSecurityFlags
	engineFlags
	sessionTimeout       time.Duration
	proxyFiles, appFiles listFlag
	stateDir             string
	fromEnd              bool

	usernames alert.Privacy // how the alerts show usernames (--privacy)
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	f.engineFlags.register(fs)
	fs.Lookup("rules").Usage = "rules `file` (repeatable; re-read on SIGHUP)"
	fs.StringVar(&f.config, "config", "", "configuration `file` (docs/config.md): sources, join, rules, outputs, privacy, limits; flags given on the command line override it")
	fs.StringVar(&f.role, "role", "all", "stages to run: all (join and detect), correlate (join, publish to the events topic), detect (rules over the events topic)")
	fs.StringVar(&f.brokers, "brokers", "127.0.0.1:9092", "comma-separated Kafka bootstrap `addresses`")
	fs.StringVar(&f.group, "group", "", "consumer group id (default spraywatch-<role>)")
	fs.StringVar(&f.clientID, "client-id", kafka.DefaultClientID, "Kafka client id")
	fs.StringVar(&f.startOffset, "start-offset", "earliest", "where a group starts on a partition with no committed offset: earliest or latest")
	fs.StringVar(&f.proxyTopic, "proxy-topic", "proxy-logs", "topic of proxy access log lines")
	fs.StringVar(&f.appTopic, "app-topic", "app-logs", "topic of Django auth log lines")
	fs.StringVar(&f.eventsTopic, "events-topic", serve.DefaultEventsTopic, "topic of joined authentication events (correlate writes, detect reads)")
	fs.StringVar(&f.subnetTopic, "subnet-topic", serve.DefaultSubnetTopic, "correlate: also publish every joined event to this topic keyed by subnet, for rules grouped by source.subnet (empty: don't)")
	fs.StringVar(&f.partitionKey, "partition-key", serve.KeyIdentity, "detect: how --events-topic is keyed, and so which rules run: identity (all rules not grouped by source.subnet) or subnet (only those)")
	fs.StringVar(&f.partitioner, "partitioner", "crc32", "partitioner of the events topic: crc32 (librdkafka) or murmur2 (Java)")
	fs.StringVar(&f.proxyFormat, "proxy-format", "nginx", "proxy log format: "+strings.Join(formats.ProxyNames(), ", ")+", or auto (following files: detected from the first lines)")
	fs.StringVar(&f.logFormat, "log-format", "", "the proxy's format definition, or a `file` holding it")
	fs.StringVar(&f.appFormat, "app-format", "django-json", "app log format: "+strings.Join(formats.AppNames(), ", ")+", or auto (following files: detected from the first lines)")
	fs.StringVar(&f.appFormatDef, "app-format-def", "", "the app format's definition or a `file` holding it")
	fs.StringVar(&f.proxyEnvelope, "proxy-envelope", "", "shipper envelope `key` around proxy lines (message, log, cri, ...); empty: raw lines")
	fs.StringVar(&f.appEnvelope, "app-envelope", "", "shipper envelope `key` around app lines")
	fs.StringVar(&f.proxyTimeZone, "proxy-time-zone", "", "time `zone` of the proxy lines' times written without a zone offset (HAProxy %t, %tr): an IANA name such as Europe/Berlin or an offset such as +01:00; default UTC")
	fs.StringVar(&f.appTimeZone, "app-time-zone", "", "time `zone` of the app lines' times written without a zone offset (Python logging's asctime; for Django, its TIME_ZONE): an IANA name such as Europe/Berlin or an offset such as +01:00; default UTC")
	fs.StringVar(&f.out, "out", "", "append alerts to this `file` instead of stdout, opened as the shell's >> opens it (no rotation: for that, a file output)")
	fs.StringVar(&f.outputs, "outputs", "", "YAML `file` with an outputs: list of alert sinks (see docs/sinks.md)")
	fs.StringVar(&f.listen, "listen", serve.DefaultListen, "`address` of /healthz, /readyz and /metrics (empty: none)")
	fs.DurationVar(&f.lateness, "lateness", serve.DefaultLateness, "allowed event-time lag of one partition behind another")
	fs.DurationVar(&f.idle, "idle-timeout", serve.DefaultIdleTimeout, "how long an empty partition may hold the others back")
	fs.DurationVar(&f.commit, "commit-interval", serve.DefaultCommitInterval, "how often offsets are committed")
	fs.IntVar(&f.maxBuffered, "max-buffered", serve.DefaultMaxBuffered, "records held in the reorder buffer before the oldest is released")
	fs.DurationVar(&f.maxRebuild, "max-rebuild", serve.DefaultMaxRebuild, "most event time a restart reads again before the committed position to rebuild the incidents firing whole (the windows' span is read whatever it says)")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", defaultShutdownTimeout, "how long a stop (SIGTERM, SIGINT) may take: the final pass, the commit and the outputs' drain; then the outputs not drained are given up on, what they did not deliver is logged, and serve exits 1")
	fs.DurationVar(&f.maxTimeJump, "max-time-jump", replay.DefaultMaxTimeJump, "a record this far ahead of its partition's (or file's) records and of the next one is rejected as a time outlier (negative: no check)")
	f.kafkaSecurityFlags.register(fs)
	fs.DurationVar(&f.sessionTimeout, "session-timeout", 10*time.Second, "consumer group session timeout")
	fs.Var(&f.proxyFiles, "proxy-file", "follow proxy log files instead of Kafka: a path or `glob` (repeatable; - is stdin)")
	fs.Var(&f.appFiles, "app-file", "follow app log files instead of Kafka: a path or `glob` (repeatable; - is stdin)")
	fs.StringVar(&f.stateDir, "state-dir", "", "with --proxy-file/--app-file: `directory` keeping read positions, so a restart resumes (empty: start over)")
	fs.BoolVar(&f.fromEnd, "from-end", false, "with --proxy-file/--app-file: on the first start (no positions saved in --state-dir yet), start the files at their end")
}

func (f *serveFlags) kafkaConfig(role serve.Role) (kafka.Config, error) {
	c := kafka.Config{
		Brokers:        splitList(f.brokers),
		GroupID:        f.group,
		ClientID:       f.clientID,
		StartOffset:    f.startOffset,
		SessionTimeout: f.sessionTimeout,
	}
	if c.GroupID == "" {
		c.GroupID = "spraywatch-" + string(role)
	}
	if err := f.kafkaSecurityFlags.apply(&c); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var f serveFlags
	f.register(fs)
	if err := parseArgs(fs, args, stderr,
		"usage: spraywatch serve [--role all|correlate|detect] --brokers HOST:PORT [flags]",
		"       spraywatch serve --proxy-file GLOB --app-file GLOB [--state-dir DIR] [flags]",
		"       spraywatch serve --config FILE [flags]",
	); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if err := f.check(); err != nil {
		return usageError{err}
	}
	role, err := serve.ParseRole(f.role)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	conf, use, err := serveConfig(fs, &f, role, log)
	if err != nil {
		return err
	}
	if use == config.UseFollow {
		return runFollow(ctx, &f, conf, stdout, log)
	}
	kc, err := f.kafkaConfig(role)
	if err != nil {
		return err
	}
	ruleSet, err := loadRules(f.rules, f.rulesMode)
	if err != nil {
		return err
	}
	cfg := serve.Config{
		Role:           role,
		Kafka:          kc,
		ProxyTopic:     f.proxyTopic,
		AppTopic:       f.appTopic,
		EventsTopic:    f.eventsTopic,
		SubnetTopic:    f.subnetTopic,
		PartitionKey:   f.partitionKey,
		MaxLineBytes:   f.maxLineBytes,
		Engine:         f.engineConfig(ruleSet),
		Lateness:       f.lateness,
		IdleTimeout:    f.idle,
		CommitInterval: f.commit,
		MaxBuffered:    f.maxBuffered,
		MaxRebuild:     f.maxRebuild,
		MaxTimeJump:    f.maxTimeJump,
		Logger:         log,
	}
	if cfg.Partitioner, err = kafka.Balancer(f.partitioner); err != nil {
		return err
	}
	if role != serve.RoleDetect {
		// The envelopes are part of the compiled formats.
		proxy, app, err := compileSources(conf, log)
		if err != nil {
			return err
		}
		cfg.ProxyFormat, cfg.AppFormat = proxy.comp.Format, app.comp.Format
	}
	outs := &serveOutputs{log: log}
	if role != serve.RoleCorrelate {
		if outs, err = openServeSinks(ctx, &f, conf, ruleSet, stdout, log); err != nil {
			return err
		}
		defer outs.close()
		cfg.Sink = alert.WithPrivacy(alert.WithBound(outs.sink), f.usernames)
	}
	var m lateMetrics
	cfg.Observe, cfg.Tick = m.observe, m.tick
	srv, err := serve.New(cfg)
	if err != nil {
		return err
	}
	stop, err := m.start(ctx, &f, log, srv, outs.sink, srv)
	if err != nil {
		return err
	}
	defer stop()

	log.Info("starting", "role", role, "group", kc.GroupID, "brokers", strings.Join(kc.Brokers, ","))
	return runStopping(ctx, f.shutdownTimeout, outs, func(ctx context.Context) error {
		err := srv.Run(ctx)
		st := srv.Stats()
		log.Info("stopped", "records", st.Records.Load(), "late", st.Late.Load(), "published", st.Published.Load(), "commits", st.Commits.Load(), "unrebuilt", st.Unrebuilt.Load())
		return err
	})
}

// check rejects flag values that would otherwise be replaced by defaults,
// those wrong on their face (see flagcheck.go) and flags that do not go
// together.
func (f *serveFlags) check() error {
	errs := []error{f.engineFlags.check()}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"lateness", f.lateness}, {"idle-timeout", f.idle}, {"commit-interval", f.commit},
		{"max-rebuild", f.maxRebuild}, {"session-timeout", f.sessionTimeout}, {"shutdown-timeout", f.shutdownTimeout},
	} {
		if d.value <= 0 {
			errs = append(errs, fmt.Errorf("--%s %s: expected a duration above 0", d.name, d.value))
		}
	}
	if f.maxBuffered <= 0 {
		errs = append(errs, fmt.Errorf("--max-buffered %d: expected 1 or more", f.maxBuffered))
	}
	role, err := serve.ParseRole(f.role)
	if err != nil {
		errs = append(errs, fmt.Errorf("--role %q: expected all, correlate or detect", f.role))
	} else if role != serve.RoleAll && (len(f.proxyFiles) > 0 || len(f.appFiles) > 0) {
		errs = append(errs, fmt.Errorf("--role %s: following files (--proxy-file, --app-file) runs every stage; roles split the stages over Kafka", role))
	}
	if f.config == "" && (len(f.proxyFiles) > 0) != (len(f.appFiles) > 0) {
		errs = append(errs, errors.New("following files needs both --proxy-file and --app-file"))
	}
	if n := countStdin(f.proxyFiles) + countStdin(f.appFiles); n > 1 {
		errs = append(errs, fmt.Errorf("standard input (-) is given %d times to --proxy-file and --app-file: only one can read it", n))
	}
	if _, err := (&kafka.Config{StartOffset: f.startOffset}).StartOffsetValue(); err != nil {
		errs = append(errs, fmt.Errorf("--start-offset %q: expected earliest or latest", f.startOffset))
	}
	if _, err := kafka.Balancer(f.partitioner); err != nil {
		errs = append(errs, fmt.Errorf("--partitioner %q: expected crc32 or murmur2", f.partitioner))
	}
	errs = append(errs, oneOf("partition-key", f.partitionKey, serve.KeyIdentity, serve.KeySubnet),
		f.rulesCheck(f.config),
		sourceFlagsCheck("proxy-format", f.proxyFormat, formats.ProxyNames(), true, "proxy-time-zone", f.proxyTimeZone, f.config == "" || len(f.proxyFiles) > 0),
		sourceFlagsCheck("app-format", f.appFormat, formats.AppNames(), true, "app-time-zone", f.appTimeZone, f.config == "" || len(f.appFiles) > 0),
		listenFlag("listen", f.listen),
		globFlag("proxy-file", f.proxyFiles), globFlag("app-file", f.appFiles))
	errs = append(errs, appFormatDefCheck(f.appFormat, f.appFormatDef))
	return errors.Join(append(errs, f.kafkaSecurityFlags.check()...)...)
}

// served is what serve serves: a Kafka Server or a files Follower.
type served interface {
	SourceStats() []*ingest.Stats
	Engine() *detect.Engine
	EngineCounts() detect.Counts
	Handler(metrics http.Handler) http.Handler
	ReloadRules([]*rules.Rule) error
	metrics.StreamStats
}

// lateMetrics are a server's metrics, built once the server exists: the
// server is given observe and tick as its hooks before, and calls them
// only once it runs, after start.
type lateMetrics struct{ m *metrics.Metrics }

func (l *lateMetrics) observe(d time.Duration) { l.m.Observe(d) }
func (l *lateMetrics) tick(e *detect.Engine)   { l.m.TopK().Tick(e) }

// start builds the metrics of s, which sends its alerts to sink and reads
// the Kafka partitions kafka reports (nil when it reads files), and starts
// the HTTP listener and the SIGHUP reloads for s; the returned function
// stops both.
func (l *lateMetrics) start(ctx context.Context, f *serveFlags, log *slog.Logger, s served, sink alert.Sink, kafka metrics.KafkaStats) (func(), error) {
	c := metrics.Config{
		Sources: s.SourceStats,
		Engine:  s.Engine,
		Counts:  s.EngineCounts,
		Sinks:   func() []*alert.SinkStats { return metrics.SinkStats(sink) },
		Kafka:   kafka,
		Stream:  s,
		Command: "serve",
		Privacy: f.usernames,
	}
	if fs, ok := s.(interface{ FileStats() []metrics.FileStats }); ok {
		c.Files = fs.FileStats // following files
	}
	m, err := metrics.New(c)
	if err != nil {
		return nil, err
	}
	l.m = m
	return f.startAux(ctx, log, s.Handler(m.Handler()), s.ReloadRules)
}

// startAux starts the HTTP listener (health, readiness, metrics) and the
// SIGHUP rule reloads; the returned function stops both.
func (f *serveFlags) startAux(ctx context.Context, log *slog.Logger, h http.Handler, reload func([]*rules.Rule) error) (func(), error) {
	var hs *http.Server
	if f.listen != "" {
		ln, err := net.Listen("tcp", f.listen)
		if err != nil {
			return nil, fmt.Errorf("listening for health checks: %w", err)
		}
		hs = metrics.NewHTTPServer(h)
		go hs.Serve(ln)
		log.Info("serving /healthz, /readyz, /metrics", "addr", ln.Addr().String())
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				rs, err := loadRules(f.rules, f.rulesMode)
				if err == nil {
					err = reload(rs)
				}
				if err != nil {
					log.Error("SIGHUP: rules not reloaded, the previous rules stay in force", "err", err)
					continue
				}
				log.Info("SIGHUP: rules reloaded", "rules", len(rs))
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		if hs != nil {
			hs.Close()
		}
	}, nil
}

// runFollow serves from followed files (single host, no Kafka): the proxy
// and app sources of conf.
func runFollow(ctx context.Context, f *serveFlags, conf *config.Config, stdout io.Writer, log *slog.Logger) error {
	if err := conf.CheckShared(); err != nil {
		return err
	}
	for i := range conf.Sources {
		// A pattern matching no file yet is followed (and warned of)
		// below: it names no file twice.
		warnings, _ := repeatWarnings(&conf.Sources[i])
		for _, w := range warnings {
			log.Warn(w)
		}
	}
	proxy, app, err := compileSources(conf, log)
	if err != nil {
		return err
	}
	ruleSet, err := loadRules(f.rules, f.rulesMode)
	if err != nil {
		return err
	}
	cfg := serve.FilesConfig{
		ProxyFiles:      proxy.src.Paths,
		AppFiles:        app.src.Paths,
		ProxyFormat:     proxy.comp.Format,
		AppFormat:       app.comp.Format,
		ProxyFormatName: proxy.formatName(),
		AppFormatName:   app.formatName(),
		MaxLineBytes:    f.maxLineBytes,
		StateDir:        f.stateDir,
		FromEnd:         f.fromEnd,
		Engine:          f.engineConfig(ruleSet),
		Lateness:        f.lateness,
		IdleTimeout:     f.idle,
		CommitInterval:  f.commit,
		MaxBuffered:     f.maxBuffered,
		MaxRebuild:      f.maxRebuild,
		MaxTimeJump:     f.maxTimeJump,
		Logger:          log,
	}
	outs, err := openServeSinks(ctx, f, conf, ruleSet, stdout, log)
	if err != nil {
		return err
	}
	defer outs.close()
	cfg.Sink = alert.WithPrivacy(alert.WithBound(outs.sink), f.usernames)
	var m lateMetrics
	cfg.Observe, cfg.Tick = m.observe, m.tick
	fl, err := serve.NewFollower(cfg)
	if err != nil {
		return err
	}
	stop, err := m.start(ctx, f, log, fl, outs.sink, nil)
	if err != nil {
		return err
	}
	defer stop()
	log.Info("following files", "proxy", strings.Join(cfg.ProxyFiles, ","), "app", strings.Join(cfg.AppFiles, ","), "state_dir", f.stateDir)
	return runStopping(ctx, f.shutdownTimeout, outs, func(ctx context.Context) error {
		err := fl.Run(ctx)
		st := fl.Stats()
		log.Info("stopped", "records", st.Records.Load(), "late", st.Late.Load(), "muted", st.Muted.Load(), "unrebuilt", st.Unrebuilt.Load())
		return err
	})
}

// openServeSinks opens the alert sinks (those of --out, --outputs or the
// configuration conf). Close them with the returned outputs' shutdown at
// the end of the stop, or their close.
func openServeSinks(ctx context.Context, f *serveFlags, conf *config.Config, rs []*rules.Rule, stdout io.Writer, log *slog.Logger) (*serveOutputs, error) {
	sink, err := openSinks(ctx, f.out, f.outputs, conf, rs, stdout)
	if err != nil {
		return nil, err
	}
	if fan, ok := sink.(*alert.Fanout); ok {
		fan.SetLogger(log) // an output that fails is logged, not fatal
	}
	return &serveOutputs{sink: sink, log: log}, nil
}

// openSinks builds the alert sinks: the outputs file, or --out, or the
// outputs of conf (nil: stdout). The outputs file is read as strictly as a
// configuration file, and the routes of either must name rules of rs.
func openSinks(ctx context.Context, out, outputs string, conf *config.Config, rs []*rules.Rule, stdout io.Writer) (alert.Sink, error) {
	if out != "" && outputs != "" {
		return nil, errors.New("--out and --outputs both name where alerts go: give one (add a file output to the --outputs file)")
	}
	if outputs != "" {
		outs, err := config.LoadOutputs(outputs)
		if err != nil {
			return nil, err
		}
		if errs := routeErrors(outs, rs); len(errs) > 0 {
			return nil, fmt.Errorf("%s: %w", outputs, errors.Join(errs...))
		}
		return alert.Open(ctx, outs)
	}
	if out != "" {
		file, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640) // alerts name users
		if err != nil {
			return nil, fmt.Errorf("opening alert output: %w", err)
		}
		return alert.NewWriter(file).Label("file", ""), nil
	}
	if conf == nil || plainStdout(conf.Outputs) {
		w := alert.NewWriter(nopCloser{stdout})
		if conf != nil {
			w = w.Label("stdout", conf.Outputs[0].Name)
		}
		return w, nil
	}
	if errs := routeErrors(conf.Outputs, rs); len(errs) > 0 {
		err := errors.Join(errs...)
		if conf.Path != "" {
			err = fmt.Errorf("%s: %w", conf.Path, err)
		}
		return nil, err
	}
	return alert.Open(ctx, conf.Outputs)
}

// plainStdout reports whether outs is a single stdout output that takes
// every alert (the default), which goes to the command's stdout.
func plainStdout(outs []alert.Config) bool {
	return len(outs) == 1 && outs[0].Type == "stdout" && outs[0].MinSeverity == "" && len(outs[0].Rules) == 0
}
