package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/config"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/alb"
	"github.com/spraywatch/spraywatch/ingest/formats"
	"github.com/spraywatch/spraywatch/report"
	"github.com/spraywatch/spraywatch/rules"
)

// replayConfig returns the configuration a replay runs with: the file named
// by --config (or the defaults) with the flags given on the command line
// applied over it. It then writes the settings back into f, so that the rest
// of the replay reads one set of values.
//
// --proxy (with --proxy-format, --log-format and --proxy-time-zone)
// replaces the file's proxy and alb sources, --app (with --app-format,
// --app-format-def and --app-time-zone) its app sources; --out replaces its outputs.
func replayConfig(fs *flag.FlagSet, f *replayFlags) (*config.Config, error) {
	cfg, set, err := loadConfig(fs, f.config)
	if err != nil {
		return nil, err
	}
	if f.config != "" {
		for _, p := range [][2]string{
			{"proxy-format", "proxy"}, {"log-format", "proxy"}, {"proxy-time-zone", "proxy"},
			{"app-format", "app"}, {"app-format-def", "app"}, {"app-time-zone", "app"},
		} {
			if set[p[0]] && !set[p[1]] {
				return nil, fmt.Errorf("--%s applies to the --%s files of the command line; with --config, give --%s too or set the format in the file", p[0], p[1], p[1])
			}
		}
	}
	if set["proxy"] && len(f.proxy) > 0 {
		s, err := commandLineSource(config.KindProxy, f.proxyFormat, "log-format", f.logFormat, "proxy-time-zone", f.proxyTimeZone, f.proxy)
		if err != nil {
			return nil, err
		}
		cfg.Sources = append(without(cfg.Sources, config.KindProxy, config.KindALB), s)
	}
	if set["app"] && len(f.app) > 0 {
		s, err := commandLineSource(config.KindApp, f.appFormat, "app-format-def", f.appFormatDef, "app-time-zone", f.appTimeZone, f.app)
		if err != nil {
			return nil, err
		}
		cfg.Sources = append(without(cfg.Sources, config.KindApp), s)
	}
	f.engineFlags.configure(cfg, set)
	if set["strict"] {
		cfg.Strict = f.strict
	}
	if set["parallel"] {
		cfg.Replay.Parallel = &f.parallel
	}
	if set["parse-workers"] {
		cfg.Replay.ParseWorkers = f.parseWorkers
	}
	if set["lanes"] {
		cfg.Replay.Lanes = f.lanes
	}
	if set["quiet"] {
		cfg.Replay.Quiet = f.quiet
	}
	if set["cpuprofile"] {
		cfg.Replay.CPUProfile = f.cpuProfile
	}
	if set["memprofile"] {
		cfg.Replay.MemProfile = f.memProfile
	}
	if set["metrics-listen"] {
		cfg.Replay.MetricsListen = f.metricsListen
	}
	if set["metrics-hold"] {
		cfg.Replay.MetricsHold = f.metricsHold
	}
	if set["max-time-jump"] {
		cfg.Replay.MaxTimeJump = f.maxTimeJump
	}
	if set["check-all-lines"] {
		cfg.Replay.CheckAllLines = f.checkAll
	}
	if set["report"] {
		cfg.Replay.Report = f.report.file
	}
	if set["report-top"] || cfg.Replay.ReportTop == 0 {
		cfg.Replay.ReportTop = f.report.topN
	}
	if set["report-generated-at"] {
		cfg.Replay.ReportGeneratedAt = f.report.generatedAt
	}

	// One set of values from here on.
	f.strict = cfg.Strict
	f.parallel, f.quiet = *cfg.Replay.Parallel, cfg.Replay.Quiet
	f.parseWorkers, f.lanes = cfg.Replay.ParseWorkers, cfg.Replay.Lanes
	f.cpuProfile, f.memProfile = cfg.Replay.CPUProfile, cfg.Replay.MemProfile
	f.metricsListen, f.metricsHold = cfg.Replay.MetricsListen, cfg.Replay.MetricsHold
	f.maxTimeJump = cfg.Replay.MaxTimeJump
	f.checkAll = cfg.Replay.CheckAllLines
	f.report = reportFlags{file: cfg.Replay.Report, topN: cfg.Replay.ReportTop, generatedAt: cfg.Replay.ReportGeneratedAt}
	if f.report.topN == 0 {
		f.report.topN = report.DefaultTopN
	}
	if len(cfg.Sources) == 0 {
		return nil, errNoSources
	}
	if err := cfg.CheckUse(config.UseReplay); err != nil {
		return nil, err
	}
	return cfg, nil
}

var errNoSources = errors.New("no log sources: give --proxy and --app files, or sources in the --config file")

func without(srcs []config.Source, kinds ...string) []config.Source {
	var out []config.Source
	for _, s := range srcs {
		drop := false
		for _, k := range kinds {
			drop = drop || s.Kind == k
		}
		if !drop {
			out = append(out, s)
		}
	}
	return out
}

// sourceNote is what the summary says about a source beyond its counters.
type sourceNote func(w io.Writer)

// openSources opens every source of cfg, in order, and passes warn what
// their formats lack (see proxyWarnings).
func openSources(cfg *config.Config, warn func(string)) ([]ingest.Source, []sourceNote, error) {
	var (
		out   []ingest.Source
		notes []sourceNote
	)
	for i := range cfg.Sources {
		s := &cfg.Sources[i]
		srcs, comp, err := cfg.Open(s)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, srcs...)
		for _, w := range proxyWarnings(s, comp) {
			warn(w)
		}
		repeats, err := repeatWarnings(s)
		if err != nil {
			return nil, nil, err
		}
		for _, w := range repeats {
			warn(w)
		}
		if comp.Detected != nil {
			d, name := *comp.Detected, s.Label()
			notes = append(notes, func(w io.Writer) {
				fmt.Fprintf(w, "  detected: %s %s: %s (from %d lines)\n", s.Kind, name, d, d.Lines)
			})
		}
		for _, src := range srcs {
			if a, ok := src.(*alb.Source); ok {
				notes = append(notes, albNote(a))
			}
		}
		if flags := ingest.Flags(comp.Format); len(flags) > 0 {
			notes = append(notes, flagNote(comp.Format.Name(), s.Label(), srcs, flags))
		}
	}
	return out, notes, nil
}

// proxyWarnings lists what a proxy source's format lacks that detection
// needs (formats.ProxyWarnings), each naming the source.
func proxyWarnings(s *config.Source, comp config.Compiled) []string {
	if s.Kind != config.KindProxy || comp.Base == nil {
		return nil
	}
	var out []string
	for _, w := range formats.ProxyWarnings(comp.Base) {
		out = append(out, fmt.Sprintf("source %s: %s", s.Label(), w))
	}
	return out
}

// repeatWarnings says which files s names more than once (see
// config.Source.Repeats): each is read once, at its first name.
func repeatWarnings(s *config.Source) ([]string, error) {
	repeats, err := s.Repeats()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range repeats {
		if r.Path == r.First {
			out = append(out, fmt.Sprintf("source %s: %s is given twice: read once", s.Label(), r.Path))
		} else {
			out = append(out, fmt.Sprintf("source %s: %s is the file %s, given already: read once", s.Label(), r.Path, r.First))
		}
	}
	return out, nil
}

func albNote(a *alb.Source) sourceNote {
	return func(w io.Writer) {
		j, cs := a.JoinStats(), a.ConnStats()
		fmt.Fprintf(w, "  alb %s: %d joined to a connection, %d unjoined, %d without conn_trace_id, %d connections evicted\n",
			a.Stats().Name, j.Joined, j.Unjoined, j.NoTrace, j.Evicted)
		if n := a.Stats().Flagged.Load(ingest.FlagSeveralSelf); n > 0 {
			fmt.Fprintf(w, "        %d requests without a request id: several Self fields in trace_id (client-sent; their app lines are app_only, see docs/alb.md)\n", n)
		}
		fmt.Fprintf(w, "        connection logs %s: %d lines, %d parsed, %d ignored, %d rejected (%d too long)\n",
			cs.Name, cs.Lines.Load(), cs.Records(), cs.Ignored.Load(), cs.Rejected.Load(), cs.TooLong.Load())
		for _, err := range cs.Errors() {
			fmt.Fprintf(w, "        rejected: %v\n", err)
		}
		writeDamaged(w, "        damaged: ", cs)
	}
}

// flagNote says how many lines of a source the parsers of its format
// (named format) flagged, for each flag they raise, where any did: what a
// reader of the alerts should know about the source's lines. Where
// django-axes masked nothing, it says so: its default masks every
// username.
func flagNote(format, name string, srcs []ingest.Source, flags []ingest.Flag) sourceNote {
	return func(w io.Writer) {
		for _, f := range flags {
			n := flagged(srcs, f)
			switch {
			case n > 0:
				fmt.Fprintf(w, "  %s %s: %d %s\n", format, name, n, flagTexts[f](n))
			case f == ingest.FlagMasked:
				fmt.Fprintf(w, "  %s %s: no masked values\n", format, name)
			}
		}
	}
}

// flagTexts say what n lines flagged so are, after their number.
var flagTexts = [ingest.NumFlags]func(n int64) string{
	ingest.FlagAmbiguous: func(n int64) string {
		return pluralWord(int(n), "line", "lines") + " with an ambiguous client string (username or address left empty: client-typed values could have supplied it; see docs/app-logs.md)"
	},
	ingest.FlagMasked: func(n int64) string {
		return pluralWord(int(n), "line", "lines") + " with masked values (django-axes hides usernames and addresses; see AXES_SENSITIVE_PARAMETERS in docs/app-logs.md)"
	},
	ingest.FlagCertHeaderIgnored: func(n int64) string {
		return pluralWord(int(n), "line", "lines") + " with certificate headers ignored (on lines without TLSClientSubject, or naming another subject: sent by the client; see docs/proxies.md)"
	},
	ingest.FlagSplitUnjoined: func(n int64) string {
		return pluralWord(int(n), "split line", "split lines") + " dropped unjoined (another writer's entry came before its end, a part was over the length cap, or the log ended first; see docs/app-logs.md)"
	},
	ingest.FlagSplitHeadless: func(n int64) string {
		return pluralWord(int(n), "end of a split line", "ends of split lines") + " rejected, their head dropped (not read as lines of their own; see docs/app-logs.md)"
	},
	ingest.FlagSeveralSelf: func(n int64) string {
		return pluralWord(int(n), "request", "requests") + " without a request id: several Self fields in trace_id (client-sent; their app lines are app_only, see docs/alb.md)"
	},
}

// flagged returns how many lines the parsers of srcs flagged f: what
// lines_flagged_total counts for their configured source.
func flagged(srcs []ingest.Source, f ingest.Flag) int64 {
	var n int64
	for _, s := range srcs {
		n += s.Stats().Flagged.Load(f)
	}
	return n
}

func writeNotes(w io.Writer, notes []sourceNote) {
	for _, n := range notes {
		n(w)
	}
}

// openAlertSink returns the alert outputs: --out FILE (truncated, as
// before), the configuration file's outputs (whose routes must name rules
// of rs), or stdout. A file or stdout
// is flushed at most once a second (alert.NewBatchWriter), and at the end:
// a replay reporting thousands of alerts makes a few large writes.
func openAlertSink(ctx context.Context, cfg *config.Config, f *replayFlags, rs []*rules.Rule, stdout, stderr io.Writer) (alert.Sink, error) {
	if f.out == "" {
		if errs := routeErrors(cfg.Outputs, rs); len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
	}
	if f.out != "" {
		file, err := os.OpenFile(f.out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640) // alerts name users
		if err != nil {
			return nil, fmt.Errorf("creating alert output: %w", err)
		}
		return alert.NewBatchWriter(file, replayFlush).Label("file", ""), nil
	}
	if len(cfg.Outputs) == 1 && cfg.Outputs[0].Type == "stdout" && cfg.Outputs[0].MinSeverity == "" && len(cfg.Outputs[0].Rules) == 0 {
		return alert.NewBatchWriter(nopCloser{stdout}, replayFlush).Label("stdout", cfg.Outputs[0].Name), nil
	}
	fan, err := alert.Open(ctx, cfg.Outputs)
	if err != nil {
		return nil, err
	}
	fan.SetLogger(slog.New(slog.NewTextHandler(stderr, nil))) // an output that fails is logged
	return fan, nil
}

// routeErrors reports the outputs routed to a rule that is not in rs: such
// an output would never receive that rule's alerts, which is most likely a
// typo. config check, replay and serve all refuse it.
func routeErrors(outs []alert.Config, rs []*rules.Rule) []error {
	known := map[string]bool{}
	for _, r := range rs {
		known[r.ID] = true
	}
	var errs []error
	for i, o := range outs {
		name := o.NameAt(i)
		for _, id := range o.Rules {
			if !known[id] {
				errs = append(errs, fmt.Errorf("outputs[%d] (%s): routes rule %q, which is not among the rules in force, so this output would never receive its alerts", i, name, id))
			}
		}
	}
	return errs
}

// replayFlush is how often at most a replay's alert file or stdout is
// flushed.
const replayFlush = time.Second

// checkLines is how many lines config check reads per source.
const checkLines = 5

func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := []string{"usage: spraywatch config check [--serve] FILE", "",
		"Validates a configuration file and shows what each source extracts from its first lines.",
		"With --serve, checks the file as serve --config reads it: following its sources' files,",
		"or, when no source has paths, reading Kafka with their formats."}
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, strings.Join(usage, "\n"))
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			return flag.ErrHelp
		}
		return errUsage
	}
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	forServe := fs.Bool("serve", false, "check the file as serve --config reads it")
	if err := parseArgs(fs, args[1:], stderr, usage...); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	file := fs.Arg(0)
	n, err := checkConfig(ctx, file, *forServe, stdout)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%s: %s", file, plural(n, "problem"))
	}
	return nil
}

// plural says n things: "1 problem", "2 problems".
func plural(n int, thing string) string {
	return fmt.Sprintf("%d %s", n, pluralWord(n, thing, thing+"s"))
}

// pluralWord is one when n is 1, else many.
func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// checkConfig prints a report on the configuration at path, as replay reads
// it or, forServe, as serve does, and returns how many problems it found;
// err is for a file that does not load at all.
func checkConfig(ctx context.Context, path string, forServe bool, w io.Writer) (int, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return 0, err
	}
	problems := 0
	bad := func(format string, args ...any) {
		problems++
		fmt.Fprintf(w, "  error: "+format+"\n", args...)
	}
	use := config.UseReplay
	if forServe {
		use = config.UseKafka
		if cfg.HasPaths() {
			use = config.UseFollow
		}
	}
	fmt.Fprintf(w, "%s: %d sources, checked for %s\n", path, len(cfg.Sources), use)
	if err := cfg.CheckUse(use); err != nil {
		for _, e := range strings.Split(err.Error(), "\n") {
			bad("%s", e)
		}
		if use == config.UseReplay && !cfg.HasPaths() {
			fmt.Fprintln(w, "  (no source has paths: for serve reading Kafka, check the file with config check --serve)")
		}
	}
	if use == config.UseReplay {
		// The files replay's settings write, under the file's line.
		for _, err := range cfg.ReplayWriteErrors() {
			bad("%v", err)
		}
	}
	for _, n := range cfg.Ignored(use) {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if use == config.UseKafka {
		for _, k := range []struct{ kind, flag, def string }{{config.KindProxy, "proxy-format", "nginx"}, {config.KindApp, "app-format", "django-json"}} {
			if !slices.ContainsFunc(cfg.Sources, func(s config.Source) bool { return s.Kind == k.kind }) {
				fmt.Fprintf(w, "  note: no %s source: serve reads the %s topic with --%s (default %s)\n", k.kind, k.kind, k.flag, k.def)
			}
		}
	}
	rs, err := rules.Load(cfg.Rules.Files, cfg.Rules.Mode == "extend")
	if err != nil {
		bad("rules: %v", err)
	} else {
		fmt.Fprintf(w, "rules (%s): %s\n", cfg.Rules.Mode, rules.IDs(rs))
	}
	if _, err := alert.NewPrivacy(cfg.Privacy.Mode, cfg.Privacy.KeyFile); err != nil {
		bad("privacy: %v", err)
	}
	// The outputs' errors go under their line.
	var outs []string
	for _, o := range cfg.Outputs {
		outs = append(outs, o.Type)
	}
	fmt.Fprintf(w, "outputs: %s (not opened by check)\n", strings.Join(outs, ", "))
	if rs != nil {
		for _, err := range routeErrors(cfg.Outputs, rs) {
			bad("%v", err)
		}
	}
	for _, err := range cfg.OutputWriteErrors() {
		bad("%v", err)
	}
	for i := range cfg.Sources {
		problems += checkSource(ctx, cfg, &cfg.Sources[i], use, w)
	}
	return problems, nil
}

func checkSource(ctx context.Context, cfg *config.Config, s *config.Source, use config.Use, w io.Writer) int {
	fmt.Fprintf(w, "\nsource %s (kind %s, line %d)\n", s.Name, s.Kind, s.Line())
	if use != config.UseReplay && s.Kind == config.KindALB {
		fmt.Fprintln(w, "  not read by serve: no lines checked")
		return 0
	}
	if use == config.UseKafka && (s.Format == config.Auto || s.Envelope == config.Auto) {
		fmt.Fprintln(w, "  format: not compiled (auto detects from files)")
		return 0
	}
	comp, err := s.Compile()
	if err != nil {
		fmt.Fprintf(w, "  error: %v\n", err)
		return 1
	}
	format := comp.Format.Name()
	if comp.Detected != nil {
		format += " (detected: " + comp.Detected.String() + ")"
	}
	fmt.Fprintf(w, "  format: %s\n", format)
	if s.TimeZone != "" {
		fmt.Fprintf(w, "  time zone: %s, of the times written without a zone offset\n", s.TimeZone)
	}
	for _, warning := range formats.ProxyWarnings(comp.Base) {
		if s.Kind == config.KindProxy {
			fmt.Fprintf(w, "  warning: %s\n", warning)
		}
	}
	if s.Kind == config.KindALB {
		return checkALB(ctx, cfg, s, w)
	}
	if len(s.Paths) == 0 {
		if use == config.UseKafka {
			fmt.Fprintf(w, "  no paths: serve reads the %s topic with this format (no lines checked)\n", s.Kind)
		} else {
			fmt.Fprintln(w, "  no paths: no lines checked")
		}
		return 0
	}
	if use == config.UseFollow {
		// serve follows a path that matches no file yet, waiting for it.
		c := *s
		c.Paths = nil
		for _, p := range s.Paths {
			if p == "-" || matchesFile(p) {
				c.Paths = append(c.Paths, p)
				continue
			}
			one := event.JoinProxyOnly
			if s.Kind == config.KindProxy {
				one = event.JoinAppOnly
			}
			fmt.Fprintf(w, "  note: %s matches no file yet: serve follows it all the same, waiting for it (until it appears, every login is %s)\n", p, one)
		}
		if len(c.Paths) == 0 {
			fmt.Fprintln(w, "  no file yet: no lines checked")
			return 0
		}
		s = &c
	}
	files, err := s.Files()
	if err != nil {
		fmt.Fprintf(w, "  error: %v\n", err)
		return 1
	}
	fmt.Fprintf(w, "  files: %s\n", strings.Join(files, ", "))
	if err := config.CheckFiles(files); err != nil {
		fmt.Fprintf(w, "  error: %v\n", err)
		return 1
	}
	if len(files) == 0 || files[0] == "-" {
		fmt.Fprintln(w, "  (standard input: no lines checked)")
		return 0
	}
	file := files[0]
	rc, err := ingest.Open(file)
	if err != nil {
		fmt.Fprintf(w, "  error: %v\n", err)
		return 1
	}
	defer rc.Close()
	lr := ingest.NewLineReader(rc, cfg.Limits.MaxLineBytes)
	p := comp.Format.NewParser()
	problems, shown := 0, 0
	var r event.Record
	for shown < checkLines {
		line, n, err := lr.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintf(w, "  error: reading %s: %v\n", file, err)
				problems++
			}
			break
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		shown++
		r.Reset()
		r.Kind = s.EventKind()
		perr := p.Parse(line, &r)
		switch {
		case perr == nil:
			fmt.Fprintf(w, "  %s:%d: %s\n", file, n, describe(&r))
		case errors.Is(perr, ingest.ErrIgnore):
			fmt.Fprintf(w, "  %s:%d: ignored (%v)\n", file, n, perr)
		default:
			problems++
			fmt.Fprintf(w, "  %s:%d: error: %v\n", file, n, perr)
		}
	}
	if shown == 0 {
		fmt.Fprintf(w, "  %s: no lines yet\n", file)
	}
	return problems
}

// matchesFile reports whether the path or pattern p names anything now:
// what it names is checked as replay checks it.
func matchesFile(p string) bool {
	if strings.ContainsAny(p, "*?[") {
		m, err := filepath.Glob(p)
		return err != nil || len(m) > 0 // a bad pattern is reported as before
	}
	_, err := os.Lstat(p)
	return !errors.Is(err, fs.ErrNotExist)
}

func checkALB(ctx context.Context, cfg *config.Config, s *config.Source, w io.Writer) int {
	srcs, _, err := cfg.Open(s)
	if err != nil {
		fmt.Fprintf(w, "  error: %v\n", err)
		return 1
	}
	a := srcs[0].(*alb.Source)
	defer a.Close()
	var r event.Record
	for i := 0; i < checkLines; i++ {
		err := a.Next(ctx, &r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(w, "  error: %v\n", err)
			return 1
		}
		fmt.Fprintf(w, "  access record %d: %s\n", i+1, describe(&r))
	}
	// The note lists the connection logs' rejected lines.
	errs := a.Stats().Errors()
	for _, err := range errs {
		fmt.Fprintf(w, "  error: %v\n", err)
	}
	albNote(a)(w)
	return len(errs) + len(a.ConnStats().Errors())
}

// describe lists a record's time and fields by ECS name.
func describe(r *event.Record) string {
	var b strings.Builder
	if r.Time != 0 {
		b.WriteString("@timestamp=")
		b.WriteString(time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano))
	} else {
		b.WriteString("@timestamp=(none)")
	}
	for f := event.Field(0); int(f) < event.NumFields; f++ {
		if v := r.Get(f); len(v) > 0 {
			fmt.Fprintf(&b, " %s=%q", f, v)
		}
	}
	return b.String()
}
