package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/config"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/formats"
	"github.com/spraywatch/spraywatch/metrics"
	"github.com/spraywatch/spraywatch/replay"
	"github.com/spraywatch/spraywatch/rules"
)

type replayFlags struct {
	config                 string
	proxy, app             listFlag
	proxyFormat            string
	appFormat              string
	logFormat              string
	appFormatDef           string
	proxyTimeZone          string
	appTimeZone            string
	out                    string
	strict                 bool
	quiet                  bool
	parallel               bool
	parseWorkers           int
	lanes                  int
	cpuProfile, memProfile string
	engineFlags
	metricsListen string
	metricsHold   time.Duration
	maxTimeJump   time.Duration
	checkAll      bool
	report        reportFlags
}

func (f *replayFlags) register(fs *flag.FlagSet) {
	f.engineFlags.register(fs)
	fs.StringVar(&f.config, "config", "", "configuration `file` (docs/config.md); flags given on the command line override it")
	fs.Var(&f.proxy, "proxy", "proxy access log `file` (repeatable; globs allowed; - is stdin; .gz read as gzip)")
	fs.Var(&f.app, "app", "Django auth log `file` (repeatable; globs allowed)")
	fs.StringVar(&f.proxyFormat, "proxy-format", "nginx", "proxy log format: "+strings.Join(formats.ProxyNames(), ", ")+", or auto (detected from the first lines)")
	fs.StringVar(&f.logFormat, "log-format", "", "the proxy's format definition, or a `file` holding it (nginx: the log_format directive; default: the built-in mtls_combined)")
	fs.StringVar(&f.appFormat, "app-format", "django-json", "app log format: "+strings.Join(formats.AppNames(), ", ")+", or auto (detected from the first lines)")
	fs.StringVar(&f.appFormatDef, "app-format-def", "", "the app format's definition or a `file` holding it, where the format takes one")
	fs.StringVar(&f.proxyTimeZone, "proxy-time-zone", "", "time `zone` of the proxy log's times written without a zone offset (HAProxy %t, %tr): an IANA name such as Europe/Berlin or an offset such as +01:00; default UTC")
	fs.StringVar(&f.appTimeZone, "app-time-zone", "", "time `zone` of the app log's times written without a zone offset (Python logging's asctime; for Django, its TIME_ZONE): an IANA name such as Europe/Berlin or an offset such as +01:00; default UTC")
	fs.StringVar(&f.out, "out", "", "write alerts to this `file` instead of stdout, opened as the shell's > opens it (a link is followed: /dev/null and /dev/stdout work)")
	fs.BoolVar(&f.strict, "strict", false, "stop at the first line that does not parse (every proxy line is then checked in full, as with --check-all-lines)")
	fs.BoolVar(&f.parallel, "parallel", true, "read and parse each file on its own goroutine (same output, more cores)")
	fs.IntVar(&f.parseWorkers, "parse-workers", 0, "with --parallel, goroutines parsing each source's lines (same output for every `N`): one parses each block on the goroutine that reads it, several parse blocks while another goroutine reads them; "+
		"0: GOMAXPROCS-1 shared among the sources by file size, at least 1 each (so 1 each on a machine with no more cores than sources)")
	fs.IntVar(&f.lanes, "lanes", 0, "goroutines evaluating the rules (same output for every `N`); 0: one per core, at most one per rule; 1: on the goroutine that joins the records")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile to this `file`")
	fs.StringVar(&f.memProfile, "memprofile", "", "write a heap profile to this `file` at the end")
	fs.BoolVar(&f.quiet, "quiet", false, "no summary or progress on stderr")
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "serve Prometheus metrics at http://`ADDR`/metrics while replaying (e.g. 127.0.0.1:9464; default off)")
	fs.DurationVar(&f.maxTimeJump, "max-time-jump", replay.DefaultMaxTimeJump, "a record this far ahead of its file's next records is rejected as a time outlier (negative: no check)")
	fs.DurationVar(&f.metricsHold, "metrics-hold", 0, "keep serving /metrics this long after the replay ends")
	fs.BoolVar(&f.checkAll, "check-all-lines", false, "check every proxy line as a full parse would, also lines that are not logins (slower): "+
		"malformed non-login lines are then rejected rather than skimmed")
	f.report.register(fs)
}

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	var f replayFlags
	f.register(fs)
	if err := parseArgs(fs, args, stderr,
		"usage: spraywatch replay --proxy FILE... --app FILE... [flags]",
	); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q (name files with --proxy and --app)", fs.Arg(0))}
	}
	if err := f.check(); err != nil {
		return usageError{err}
	}
	if len(f.proxy) == 0 && len(f.app) == 0 && f.config == "" {
		fs.Usage()
		return errUsage
	}
	conf, err := replayConfig(fs, &f)
	if err != nil {
		return err
	}

	ruleSet, err := loadRules(f.rules, f.rulesMode)
	if err != nil {
		return err
	}
	sources, notes, err := openSources(conf, func(w string) {
		fmt.Fprintf(stderr, "spraywatch replay: warning: %s\n", w)
	})
	if err != nil {
		return err
	}
	// With one of the two logs missing, the rules that match on the join
	// the other leaves every login with are not evaluated.
	side := checkSides(sources, ruleSet)
	if side.warning != "" {
		fmt.Fprintf(stderr, "spraywatch replay: warning: %s\n", side.warning)
	}
	if len(side.rules) == 0 {
		return fmt.Errorf("no rule can be evaluated: %s", side.reason())
	}

	if err := setMemoryLimit(f.memoryLimit); err != nil {
		return err
	}
	privacy, err := alert.NewPrivacy(f.privacy, f.privacyKey)
	if err != nil {
		return err
	}
	// Outputs may route the rules not evaluated: they are rules in force.
	sink, err := openAlertSink(ctx, conf, &f, ruleSet, stdout, stderr)
	if err != nil {
		return err
	}
	// With metrics on, the top-identities ranking is refreshed on the
	// engine's goroutine when a scrape asks for it.
	var eng *detect.Engine
	var mon *metrics.Metrics
	cfg := f.engineConfig(side.rules)
	cfg.Lanes = lanes(f.lanes)
	cfg.Sink = alert.WithPrivacy(alert.WithBound(sink), privacy)
	if f.metricsListen != "" {
		cfg.OnEvent = func(*event.Event) { mon.TopK().Tick(eng) }
	}
	rep := newReportRun(&f.report, side.rules, privacy)
	rep.wire(&cfg)
	eng, err = detect.NewEngine(cfg)
	if err != nil {
		return err
	}
	// --strict stops at the first line that does not parse, so it checks
	// every line.
	skimSources(sources, detect.NewLoginFilter(cfg.Correlator), f.checkAll || f.strict)

	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if f.metricsListen != "" {
		if mon, err = metrics.New(metrics.Config{
			Sources: func() []*ingest.Stats { return metrics.SourceStats(sources) },
			Engine:  func() *detect.Engine { return eng },
			Sinks:   func() []*alert.SinkStats { return metrics.SinkStats(sink) },
			Privacy: privacy,
			Command: "replay",
		}); err != nil {
			return err
		}
		srv, err := metrics.Listen(f.metricsListen, mon.Handler())
		if err != nil {
			return err
		}
		defer srv.Close()
		if !f.quiet {
			fmt.Fprintf(stderr, "serving metrics on http://%s/metrics\n", srv.Addr())
		}
	}
	start := time.Now()
	var stopProgress func()
	if !f.quiet && isTerminal(stderr) {
		stopProgress = progress(stderr, sources, start)
	}
	// Each file is read and parsed ahead on goroutines of its own; the
	// merge order, and so the output, is the same as reading them in turn.
	ahead := sources
	if f.parallel {
		workers := replay.ParseWorkers(f.parseWorkers, runtime.GOMAXPROCS(0), sourceSizes(sources))
		ahead = make([]ingest.Source, len(sources))
		for i, s := range sources {
			p := ingest.PrefetchParallel(ctx, s, workers[i])
			defer p.Close()
			ahead[i] = p
		}
	}
	var rst replay.Stats
	runErr := replay.RunOptions(ctx, ahead, eng, replay.Options{MaxTimeJump: f.maxTimeJump}, &rst)
	if stopProgress != nil {
		stopProgress()
	}
	// The outputs deliver what they hold, each until its drain_timeout.
	outs, ok := sink.(*alert.Fanout)
	if !ok {
		outs = alert.NewFanout(alert.Routed{Sink: sink})
	}
	closeErr := outs.Close()
	deliveries := outs.Deliveries()
	closeErr = errors.Join(closeErr, undelivered(deliveries))
	if err := rep.write(sources, eng); err != nil && closeErr == nil {
		closeErr = err
	}
	if f.memProfile != "" {
		if err := writeHeapProfile(f.memProfile); err != nil {
			return err
		}
	}
	if !f.quiet {
		writeSummary(stderr, sources, eng, side, time.Since(start))
		writeOutputs(stderr, deliveries)
		if a, b := rst.AheadRejected.Load(), rst.Behind.Load(); a > 0 || b > 0 {
			fmt.Fprintf(stderr, "  time outliers: %d records far ahead of their file rejected, %d records far behind processed in place\n", a, b)
		}
		for _, name := range rst.Reversed() {
			fmt.Fprintf(stderr, "  hint: %s: its times go back from record to record: it is written newest first, as a search's export may be, and the rules took most of its records for late ones: replay it oldest first (reversed, e.g. with tac)\n", name)
		}
		writeNotes(stderr, notes)
	}
	if mon != nil {
		mon.TopK().Refresh(eng) // the engine stopped: rank its final state
		if f.metricsHold > 0 && !f.quiet {
			fmt.Fprintf(stderr, "holding /metrics for %s\n", f.metricsHold)
		}
		metrics.Hold(ctx, f.metricsHold)
	}
	if f.quiet {
		// Without the summary, damaged files are still told: their
		// lines after the damage are missing from the replay.
		for _, s := range sources {
			writeDamaged(stderr, "spraywatch replay: warning: ", s.Stats())
		}
	}
	if w := unreadSide(sources, side, eng); w != "" {
		fmt.Fprintf(stderr, "spraywatch replay: warning: %s\n", w)
	}
	if runErr != nil {
		return runErr
	}
	return errors.Join(closeErr, unreadSources(sources))
}

// unreadSide says, after a replay that evaluated every rule, whether one
// kind of log gave no line (each rejected, or a source such as standard
// input that was empty): every login then had the join that kind's
// absence leaves, and the rules matching it alerted on logins only for
// that. checkSides keeps such rules from running when it can tell
// beforehand (no source, empty files); here it is told afterwards. ""
// when both kinds gave lines or no such rule alerted.
func unreadSide(sources []ingest.Source, sd sides, eng *detect.Engine) string {
	if sd.missing != 0 {
		return ""
	}
	for _, k := range []struct {
		kind event.Kind
		join string
	}{{event.Proxy, event.JoinAppOnly}, {event.App, event.JoinProxyOnly}} {
		var lines, read int64
		for _, s := range sources {
			if st := s.Stats(); st.Kind == k.kind {
				lines += st.Lines.Load()
				read += st.Parsed.Load() + st.Ignored.Load()
			}
		}
		if read > 0 {
			continue
		}
		matching := map[string]bool{}
		for _, r := range sd.rules {
			matching[r.ID] = r.MatchesJoin(k.join)
		}
		var n int64
		var ids []string
		for _, r := range eng.RuleStats() {
			if a := r.Alerts.Load(); a > 0 && matching[r.Rule] {
				n += a
				ids = append(ids, r.Rule)
			}
		}
		if n == 0 {
			continue
		}
		what := "was empty"
		if lines > 0 {
			what = fmt.Sprintf("had %s, all rejected", plural(int(lines), "line"))
		}
		return fmt.Sprintf("the %s log %s, so every login was %s: the %s of %s, which match spraywatch.join %s, come from that alone",
			k.kind, what, k.join, plural(int(n), "alert record"), strings.Join(ids, ", "), k.join)
	}
	return ""
}

// unreadSources reports the sources that had lines of which none could be
// read: every line rejected (a file given for the wrong kind of log, the
// wrong format, a line cap below every line's length). Lines ignored as of
// no interest are read.
func unreadSources(sources []ingest.Source) error {
	var errs []error
	for _, s := range sources {
		st := s.Stats()
		n := st.Lines.Load()
		if n == 0 || st.Rejected.Load() < n {
			continue
		}
		first := "none kept"
		if e := st.Errors(); len(e) > 0 {
			first = e[0].Error()
		}
		hint := "check that it is a proxy log written in that format (--proxy-format, or the source's format in the configuration file)"
		if st.Kind == event.App {
			hint = "check that it is an application log written in that format (--app-format, or the source's format in the configuration file)"
		}
		if st.TooLong.Load() == n {
			hint = "every line is longer than --max-line-bytes (limits.max_line_bytes)"
		}
		errs = append(errs, fmt.Errorf("%s log %s: no line could be read (%s, all rejected by format %s; the first: %s): %s",
			st.Kind, st.Name, plural(int(n), "line"), st.Format, first, hint))
	}
	return errors.Join(errs...)
}

// undelivered reports the outputs that did not deliver every alert the
// replay sent them: alerts dropped (a full queue, attempts exhausted, a
// write error, a drain that ended first) or left in a webhook's spool
// when its drain ended. Such a replay is incomplete, though its other
// outputs had every alert: it fails, naming each such output with its
// counts and its first and last failures.
func undelivered(ds []alert.Delivery) error {
	var errs []error
	for _, d := range ds {
		if d.Dropped == 0 && d.Held == 0 {
			continue
		}
		msg := fmt.Sprintf("output %s: %d alerts not delivered (%s)", outputName(d), d.Dropped+uint64(d.Held), deliveryCounts(d))
		if d.Held > 0 && d.Type == "webhook" {
			msg += "; those left in the spool go with the next replay or serve using its spool_dir"
		}
		if d.FirstCause != nil && d.Cause != nil && d.FirstCause.Error() != d.Cause.Error() {
			msg += fmt.Sprintf("; first failure: %v", d.FirstCause)
		}
		if d.Cause != nil {
			msg += fmt.Sprintf("; last failure: %v", d.Cause)
		}
		errs = append(errs, errors.New(msg))
	}
	return errors.Join(errs...)
}

// outputName is the output's name, with its type when the name is not it.
func outputName(d alert.Delivery) string {
	if d.Type == "" || d.Type == d.Output {
		return d.Output
	}
	return fmt.Sprintf("%s (%s)", d.Output, d.Type)
}

// deliveryCounts says how many alerts an output delivered, dropped and,
// for a webhook, left in its spool.
func deliveryCounts(d alert.Delivery) string {
	s := fmt.Sprintf("%d delivered, %d dropped", d.Delivered, d.Dropped)
	switch {
	case d.Type == "webhook":
		s += fmt.Sprintf(", %d left in the spool", d.Held)
	case d.Held > 0:
		s += fmt.Sprintf(", %d not delivered yet", d.Held)
	}
	return s
}

// writeOutputs writes a line per output to the summary: what it did with
// the alerts.
func writeOutputs(w io.Writer, ds []alert.Delivery) {
	for _, d := range ds {
		fmt.Fprintf(w, "  output %s: %s\n", outputName(d), deliveryCounts(d))
	}
}

// check rejects flag values the configuration file rejects for the same
// settings, others that would be replaced by defaults, and those wrong on
// their face (see flagcheck.go).
func (f *replayFlags) check() error {
	errs := []error{f.engineFlags.check()}
	if f.lanes < 0 {
		errs = append(errs, fmt.Errorf("--lanes %d: expected 0 (one per core) or more", f.lanes))
	}
	if f.parseWorkers < 0 || f.parseWorkers > replay.MaxParseWorkers {
		errs = append(errs, fmt.Errorf("--parse-workers %d: expected 0 (choose) to %d", f.parseWorkers, replay.MaxParseWorkers))
	}
	if f.report.topN <= 0 {
		errs = append(errs, fmt.Errorf("--report-top %d: expected 1 or more", f.report.topN))
	}
	if f.metricsHold < 0 {
		errs = append(errs, fmt.Errorf("--metrics-hold %s: must not be negative", f.metricsHold))
	}
	if f.config == "" && f.metricsHold > 0 && f.metricsListen == "" {
		errs = append(errs, errors.New("--metrics-hold needs --metrics-listen: there is no /metrics to hold"))
	}
	errs = append(errs, f.rulesCheck(f.config),
		sourceFlagsCheck("proxy-format", f.proxyFormat, formats.ProxyNames(), true, "proxy-time-zone", f.proxyTimeZone, f.config == "" || len(f.proxy) > 0),
		sourceFlagsCheck("app-format", f.appFormat, formats.AppNames(), true, "app-time-zone", f.appTimeZone, f.config == "" || len(f.app) > 0),
		listenFlag("metrics-listen", f.metricsListen),
		globFlag("proxy", f.proxy), globFlag("app", f.app))
	errs = append(errs, appFormatDefCheck(f.appFormat, f.appFormatDef))
	return errors.Join(errs...)
}

// skimSources lets the proxy sources that can skim parse in full only the
// lines the correlator takes as login attempts or holds (see
// detect.LoginFilter.Full); it completes the others itself in the rare
// case it needs them. Of the other lines, a lazy
// skimmer (nginx) reads only the time, request and request id, unless
// checkAll.
func skimSources(sources []ingest.Source, login *detect.LoginFilter, checkAll bool) {
	for _, s := range sources {
		if sk, ok := s.(interface {
			Skim(func(*event.Record) bool)
			CheckAllLines(bool)
		}); ok && s.Stats().Kind == event.Proxy {
			sk.Skim(login.Full)
			sk.CheckAllLines(checkAll)
		}
	}
}

// sourceSizes returns the size in bytes of each source's files, 0 when
// unknown (stdin, a source that is not files).
func sourceSizes(sources []ingest.Source) []int64 {
	sizes := make([]int64, len(sources))
	for i, s := range sources {
		fs, ok := s.(*ingest.FileSource)
		if !ok {
			continue
		}
		for _, p := range fs.Paths() {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				sizes[i] += st.Size()
			}
		}
	}
	return sizes
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func loadRules(files []string, mode string) ([]*rules.Rule, error) {
	switch mode {
	case "extend":
		return rules.Load(files, true)
	case "replace":
		if len(files) == 0 {
			return nil, fmt.Errorf("--rules-mode replace needs at least one --rules file")
		}
		return rules.Load(files, false)
	}
	return nil, fmt.Errorf("--rules-mode %q: expected extend or replace", mode)
}

// definition returns the format definition the value of the flag name
// gives: the contents of the file it names, or the value itself. A value
// that names an existing file, or looks like a file name (see
// looksLikeFile), is read as a file, and a file that cannot be read is an
// error naming it: it is never parsed as a definition.
func definition(name, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if _, err := os.Stat(s); err != nil && !looksLikeFile(s) {
		return s, nil
	}
	b, err := os.ReadFile(s)
	if err != nil {
		return "", fmt.Errorf("--%s: reading the definition file: %w", name, err)
	}
	return string(b), nil
}

// definitionExts are the file extensions that make a value a file name.
var definitionExts = []string{".conf", ".cfg", ".txt", ".yml", ".yaml", ".json", ".def", ".fmt", ".format"}

// looksLikeFile reports whether a definition flag's value is meant as a
// file name: a single word without $ or % (which nginx, Envoy and HAProxy
// definitions hold) with a path separator or a definitionExts extension.
func looksLikeFile(s string) bool {
	if strings.ContainsAny(s, " \t\r\n$%{}") {
		return false
	}
	return strings.ContainsRune(s, '/') || strings.ContainsRune(s, filepath.Separator) ||
		slices.Contains(definitionExts, strings.ToLower(filepath.Ext(s)))
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func progress(w io.Writer, sources []ingest.Source, start time.Time) func() {
	done := make(chan struct{})
	var stopped atomic.Bool
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				var n int64
				for _, s := range sources {
					n += s.Stats().Lines.Load()
				}
				el := time.Since(start).Seconds()
				fmt.Fprintf(w, "\r\033[Kreplaying: %d lines, %.0f lines/s", n, float64(n)/el)
			}
		}
	}()
	return func() {
		if stopped.CompareAndSwap(false, true) {
			close(done)
			<-finished
		}
	}
}

// skimmed says how many of a source's parsed lines were skimmed lazily
// (see ingest.Stats.Skimmed) and stayed records, if any.
func skimmed(st *ingest.Stats) string {
	if n := st.SkimmedRecords(); n > 0 {
		return fmt.Sprintf(" (%d skimmed)", n)
	}
	return ""
}

// sides says which of the two logs a replay reads and what follows when
// one is missing.
type sides struct {
	missing event.Kind    // the kind of log missing; 0 when both are read
	absent  string        // how it is missing: "no proxy log", "proxy log empty"
	when    string        // the same as a clause: "when no proxy log is read"
	join    string        // the join every login has then
	rules   []*rules.Rule // the rules evaluated
	skipped []*rules.Rule // the rules not evaluated, for want of the missing log
	warning string        // what the user is told, "" when both are read
}

// emptyFiles returns the files of s when every one of them is an empty
// regular file, nil otherwise (a file with data, standard input, a pipe,
// a source that is not files): such a source has no line to give.
func emptyFiles(s ingest.Source) []string {
	fs, ok := s.(*ingest.FileSource)
	if !ok || len(fs.Paths()) == 0 {
		return nil
	}
	for _, p := range fs.Paths() {
		if p == "-" {
			return nil
		}
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() || st.Size() > 0 {
			return nil
		}
	}
	return fs.Paths()
}

// checkSides finds whether the sources read both proxy and application
// logs. Without proxy logs every login is app_only, and a rule matching
// on it (proxy-bypass) would fire on every login; without application
// logs every login is proxy_only. Such rules are not evaluated. A kind
// of log whose files are all empty is missing too.
func checkSides(sources []ingest.Source, rs []*rules.Rule) sides {
	var proxy, app bool
	empty := map[event.Kind][]string{}
	for _, s := range sources {
		kind := s.Stats().Kind
		if files := emptyFiles(s); files != nil {
			empty[kind] = append(empty[kind], files...)
			continue
		}
		switch kind {
		case event.Proxy:
			proxy = true
		case event.App:
			app = true
		}
	}
	sd := sides{rules: rs}
	var why, consequence string // why the log is missing, what follows
	switch {
	case proxy && app:
		return sd
	case app:
		sd.missing, sd.join = event.Proxy, event.JoinAppOnly
		why = "no proxy log is read (--proxy, or a source of kind proxy or alb)"
		consequence = "no login can be joined to its proxy record, so every login is app_only"
	default:
		sd.missing, sd.join = event.App, event.JoinProxyOnly
		why = "no application log is read (--app, or a source of kind app)"
		consequence = "no login can be joined to its application event (username, outcome), so every login is proxy_only"
	}
	sd.absent, sd.when = fmt.Sprintf("no %s log", sd.missing), fmt.Sprintf("when no %s log is read", sd.missing)
	if files := empty[sd.missing]; len(files) > 0 {
		sd.absent, sd.when = fmt.Sprintf("%s log empty", sd.missing), fmt.Sprintf("when the %s log is empty", sd.missing)
		why = fmt.Sprintf("the %s %s empty (%s)", sd.missing, pluralWord(len(files), "log is", "logs are"), strings.Join(files, ", "))
	}
	sd.rules = nil
	for _, r := range rs {
		if r.MatchesJoin(sd.join) {
			sd.skipped = append(sd.skipped, r)
		} else {
			sd.rules = append(sd.rules, r)
		}
	}
	sd.warning = why + ": " + consequence
	if len(sd.skipped) > 0 {
		sd.warning += fmt.Sprintf("; the rules matching spraywatch.join %s are not evaluated, as they would fire on every login: %s", sd.join, rules.IDs(sd.skipped))
	}
	return sd
}

// reason says why rules are not evaluated.
func (sd sides) reason() string {
	return fmt.Sprintf("every rule in force matches spraywatch.join %s, which every login has %s (%s)", sd.join, sd.when, rules.IDs(sd.skipped))
}

func writeSummary(w io.Writer, sources []ingest.Source, eng *detect.Engine, sd sides, took time.Duration) {
	rs := sd.rules
	var total int64
	fmt.Fprintln(w, "spraywatch replay summary")
	for _, s := range sources {
		st := s.Stats()
		total += st.Lines.Load()
		fmt.Fprintf(w, "  %-5s %-12s %s: %d lines, %d parsed%s, %d ignored, %d rejected (%d too long)\n",
			st.Kind, st.Format, st.Name, st.Lines.Load(), st.Records(), skimmed(st), st.Ignored.Load(), st.Rejected.Load(), st.TooLong.Load())
		for _, err := range st.Errors() {
			fmt.Fprintf(w, "        rejected: %v\n", err)
		}
		writeDamaged(w, "        damaged: ", st)
	}
	j := eng.JoinStats()
	fmt.Fprintf(w, "  join: %d matched, %d app_only, %d proxy_only, %d duplicate ids, %d evicted\n",
		j.Matched.Load(), j.AppOnly.Load(), j.ProxyOnly.Load(), j.Duplicates.Load(), j.Evicted.Load())
	writeLate(w, j)
	es := eng.Stats()
	fmt.Fprintf(w, "  events: %d authentication events, %d late, %d dropped from full windows\n",
		es.Events.Load(), es.Late.Load(), es.EventsDropped.Load())
	fmt.Fprintf(w, "  rules: %s\n", rules.IDs(rs))
	if len(sd.skipped) > 0 {
		fmt.Fprintf(w, "    not evaluated (%s): %s\n", sd.absent, rules.IDs(sd.skipped))
	}
	for _, r := range eng.RuleStats() {
		if n, sup := r.Alerts.Load(), r.Suppressed.Load(); n > 0 || sup > 0 {
			fmt.Fprintf(w, "    %s (%s): %d alert records, %d matches suppressed by allowlists\n", r.Rule, r.Severity, n, sup)
		}
	}
	fmt.Fprintf(w, "  alerts: %d records, %d incidents still firing at end of input, %d suppressed by cooldown\n",
		es.Alerts.Load(), es.Open.Load(), es.Suppressed.Load())
	secs := took.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	fmt.Fprintf(w, "  took %s, %.0f lines/s, peak RSS %.1f MB\n", took.Round(time.Millisecond), float64(total)/secs, float64(peakRSS())/(1<<20))
}

// writeLate says, if any record came after its partner had expired
// unmatched, how many of each kind and the median gap, and gives the
// hints of detect.JoinStats.LateHints and DuplicateHint.
func writeLate(w io.Writer, j *detect.JoinStats) {
	var late []string
	for _, k := range []struct {
		n             int64
		kind, partner event.Kind
		join          string
	}{{j.LateApp.Load(), event.App, event.Proxy, event.JoinProxyOnly}, {j.LateProxy.Load(), event.Proxy, event.App, event.JoinAppOnly}} {
		if k.n > 0 {
			late = append(late, fmt.Sprintf("%s after their %s record expired as %s (median %s later)",
				plural(int(k.n), k.kind.String()+" record"), k.partner, k.join, j.LateGap(k.kind).Round(time.Millisecond)))
		}
	}
	if late != nil {
		fmt.Fprintf(w, "    late partners: %s\n", strings.Join(late, ", "))
	}
	for _, h := range j.LateHints() {
		fmt.Fprintf(w, "  hint: %s\n", h)
	}
	if h := j.DuplicateHint(); h != "" {
		fmt.Fprintf(w, "  hint: %s\n", h)
	}
}

// writeDamaged writes a line, after prefix, per damaged file of the
// source kept in st (see ingest.DamagedError), and one for those not kept.
func writeDamaged(w io.Writer, prefix string, st *ingest.Stats) {
	kept := st.Damages()
	for _, err := range kept {
		fmt.Fprintf(w, "%s%v\n", prefix, err)
	}
	if n := st.Damaged.Load() - int64(len(kept)); n > 0 {
		fmt.Fprintf(w, "%s%s of %s not listed\n", prefix, plural(int(n), "damaged file"), st.Name)
	}
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	return pprof.WriteHeapProfile(f)
}

// setMemoryLimit applies a soft heap limit unless GOMEMLIMIT already set one.
func setMemoryLimit(v string) error {
	n, err := config.ParseSize(v)
	if err != nil {
		return fmt.Errorf("--memory-limit: %w", err)
	}
	if n > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(n)
	}
	return nil
}

// lanes turns the --lanes flag (0: one per core) into detect.Config.Lanes.
func lanes(n int) int {
	if n == 0 {
		return detect.LanesAuto
	}
	return n
}
