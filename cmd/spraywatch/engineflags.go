package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/config"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/formats"
	"github.com/spraywatch/spraywatch/ingest/timestamp"
	"github.com/spraywatch/spraywatch/rules"
)

// engineFlags are the detection engine's settings, the rules, username
// privacy and the limits: the same flags in replay and serve, each with its
// key in the configuration file.
type engineFlags struct {
	joinWindow               time.Duration
	maxPending               int
	loginPaths, loginMethods string
	identity                 string
	maxGroups, maxEvents     int
	maxGroupsTotal           int
	maxEventsTotal           int
	rules                    listFlag
	rulesMode                string
	privacy, privacyKey      string
	maxLineBytes             int
	memoryLimit              string
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.rules, "rules", "rules `file` (repeatable)")
	fs.StringVar(&f.rulesMode, "rules-mode", "extend", "extend: rules files add to the default pack (same id replaces); replace: only the files' rules")
	fs.StringVar(&f.privacy, "privacy", "plain", "usernames in alerts: plain, hmac (keyed HMAC-SHA256, as contrib/django) or omit")
	fs.StringVar(&f.privacyKey, "privacy-key-file", "", "`file` holding the HMAC key for --privacy hmac (default: $"+alert.HMACKeyEnv+")")
	fs.IntVar(&f.maxLineBytes, "max-line-bytes", ingest.DefaultMaxLineBytes, "longer lines are counted and skipped")
	fs.StringVar(&f.memoryLimit, "memory-limit", "", "soft limit on the Go heap, e.g. 270MiB (as GOMEMLIMIT, which wins when set); trades CPU for memory")
	fs.DurationVar(&f.joinWindow, "join-window", detect.DefaultJoinWindow, "how long (event time) a record waits for its partner")
	fs.IntVar(&f.maxPending, "max-pending", detect.DefaultMaxPending, "records waiting for a partner, per side, before the oldest is evicted")
	fs.StringVar(&f.loginPaths, "login-paths", strings.Join(detect.DefaultLoginPaths, ","), "comma-separated url.path substrings of login requests")
	fs.StringVar(&f.loginMethods, "login-methods", strings.Join(detect.DefaultLoginMethods, ","), "comma-separated HTTP methods of login attempts on login paths")
	fs.StringVar(&f.identity, "identity", strings.Join(detect.DefaultIdentity, ","), "certificate identity, first present of: sha256, sha1, issuer_serial, subject, uri_san")
	fs.IntVar(&f.maxGroups, "max-groups", detect.DefaultMaxGroups, "groups kept per rule before the least active is evicted")
	fs.IntVar(&f.maxGroupsTotal, "max-groups-total", detect.DefaultMaxGroupsTotal, "groups kept across all rules, split evenly among them; a rule evicts its least active group beyond its share")
	fs.IntVar(&f.maxEventsTotal, "max-events-total", detect.DefaultMaxEventsTotal, "events kept in all rules' windows together, split evenly among them; a rule evicts its least active groups beyond its share")
	fs.IntVar(&f.maxEvents, "max-group-events", detect.DefaultMaxGroupEvents, "events kept per group window before the oldest is dropped")
}

// engineConfig returns the engine's configuration for ruleSet; the caller
// adds the sink and what else it needs.
func (f *engineFlags) engineConfig(ruleSet []*rules.Rule) detect.Config {
	return detect.Config{
		Correlator: detect.CorrelatorConfig{
			JoinWindow:   f.joinWindow,
			MaxPending:   f.maxPending,
			LoginPaths:   splitList(f.loginPaths),
			LoginMethods: splitList(f.loginMethods),
			Identity:     splitList(f.identity),
		},
		Rules:          ruleSet,
		MaxGroups:      f.maxGroups,
		MaxGroupsTotal: f.maxGroupsTotal,
		MaxEventsTotal: f.maxEventsTotal,
		MaxGroupEvents: f.maxEvents,
	}
}

// check rejects the values the configuration file rejects for the same
// settings (join, limits, rules mode, privacy mode), instead of running
// with the defaults, and the identity sources the correlator does not
// know.
func (f *engineFlags) check() error {
	errs := []error{nonNegative("max-line-bytes", f.maxLineBytes), maxLineBytes(f.maxLineBytes)}
	if f.joinWindow < 0 {
		errs = append(errs, fmt.Errorf("--join-window %s: must not be negative", f.joinWindow))
	}
	if f.joinWindow > detect.MaxJoinWindow {
		errs = append(errs, fmt.Errorf("--join-window %s: expected at most %s", f.joinWindow, detect.MaxJoinWindow))
	}
	errs = append(errs, nonNegative("max-pending", f.maxPending), nonNegative("max-groups", f.maxGroups),
		nonNegative("max-groups-total", f.maxGroupsTotal), nonNegative("max-events-total", f.maxEventsTotal),
		nonNegative("max-group-events", f.maxEvents))
	for _, l := range []struct{ name, value, what string }{
		{"login-paths", f.loginPaths, "url.path substring"},
		{"login-methods", f.loginMethods, "HTTP method"},
		{"identity", f.identity, "identity source"},
	} {
		if len(splitList(l.value)) == 0 {
			errs = append(errs, fmt.Errorf("--%s is empty: give at least one %s", l.name, l.what))
		}
	}
	return errors.Join(append(errs, identityFlag(f.identity),
		oneOf("rules-mode", f.rulesMode, "extend", "replace"),
		oneOf("privacy", f.privacy, alert.PrivacyPlain, alert.PrivacyHMAC, alert.PrivacyOmit),
		sizeFlag("memory-limit", f.memoryLimit))...)
}

// rulesCheck returns an error for --rules-mode replace without a --rules
// file, when no configuration file (path config) can give them.
func (f *engineFlags) rulesCheck(config string) error {
	if config == "" && f.rulesMode == "replace" && len(f.rules) == 0 {
		return errors.New("--rules-mode replace needs at least one --rules file")
	}
	return nil
}

// maxLineBytes returns an error for a --max-line-bytes over
// ingest.MaxLineBytesLimit.
func maxLineBytes(v int) error {
	if v > ingest.MaxLineBytesLimit {
		return fmt.Errorf("--max-line-bytes %d: expected at most %d (16 MiB)", v, ingest.MaxLineBytesLimit)
	}
	return nil
}

// nonNegative returns an error for a negative value of the flag name.
func nonNegative(name string, v int) error {
	if v < 0 {
		return fmt.Errorf("--%s %d: must not be negative", name, v)
	}
	return nil
}

// loadConfig returns the configuration file at path and the names of the
// flags of fs given on the command line, which override it. Without a file
// (path empty) it returns the defaults and every flag's name: the flags'
// defaults are the file's.
func loadConfig(fs *flag.FlagSet, path string) (*config.Config, map[string]bool, error) {
	set := map[string]bool{}
	if path == "" {
		fs.VisitAll(func(fl *flag.Flag) { set[fl.Name] = true })
		return config.Default(), set, nil
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, err
	}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	return cfg, set, nil
}

// configure applies the flags of f named in set over cfg, then takes cfg's
// values back into f: from there on f holds the settings in force, the
// file's or the command line's.
func (f *engineFlags) configure(cfg *config.Config, set map[string]bool) {
	if set["rules"] {
		cfg.Rules.Files = f.rules
	}
	if set["rules-mode"] {
		cfg.Rules.Mode = f.rulesMode
	}
	if set["privacy"] {
		cfg.Privacy.Mode = f.privacy
	}
	if set["privacy-key-file"] {
		cfg.Privacy.KeyFile = f.privacyKey
	}
	if set["join-window"] {
		cfg.Join.Window = f.joinWindow
	}
	if set["max-pending"] {
		cfg.Join.MaxPending = f.maxPending
	}
	if set["login-paths"] {
		cfg.Join.LoginPaths = splitList(f.loginPaths)
	}
	if set["login-methods"] {
		cfg.Join.LoginMethods = splitList(f.loginMethods)
	}
	if set["identity"] {
		cfg.Join.Identity = splitList(f.identity)
	}
	if set["max-line-bytes"] {
		cfg.Limits.MaxLineBytes = f.maxLineBytes
	}
	if set["max-groups"] {
		cfg.Limits.MaxGroups = f.maxGroups
	}
	if set["max-groups-total"] {
		cfg.Limits.MaxGroupsTotal = f.maxGroupsTotal
	}
	if set["max-group-events"] {
		cfg.Limits.MaxGroupEvents = f.maxEvents
	}
	if set["max-events-total"] {
		cfg.Limits.MaxEventsTotal = f.maxEventsTotal
	}
	if set["memory-limit"] {
		cfg.Limits.MemoryLimit = f.memoryLimit
	}

	f.rules, f.rulesMode = cfg.Rules.Files, cfg.Rules.Mode
	f.privacy, f.privacyKey = cfg.Privacy.Mode, cfg.Privacy.KeyFile
	f.joinWindow, f.maxPending = cfg.Join.Window, cfg.Join.MaxPending
	f.loginPaths = strings.Join(cfg.Join.LoginPaths, ",")
	f.loginMethods = strings.Join(cfg.Join.LoginMethods, ",")
	f.identity = strings.Join(cfg.Join.Identity, ",")
	f.maxLineBytes, f.maxGroups, f.maxEvents = cfg.Limits.MaxLineBytes, cfg.Limits.MaxGroups, cfg.Limits.MaxGroupEvents
	f.maxGroupsTotal, f.maxEventsTotal = cfg.Limits.MaxGroupsTotal, cfg.Limits.MaxEventsTotal
	f.memoryLimit = cfg.Limits.MemoryLimit
}

// commandLineSource returns the source of kind (proxy or app) that the
// command line describes: its format, its definition (the value def of the
// flag defFlag: the definition or a file holding it), its time zone (the
// value tz of the flag tzFlag) and its paths.
func commandLineSource(kind, format, defFlag, def, tzFlag, tz string, paths []string) (config.Source, error) {
	d, err := definition(defFlag, def)
	if err != nil {
		return config.Source{}, err
	}
	if tz != "" {
		if _, err := timestamp.LoadLocation(tz); err != nil {
			return config.Source{}, fmt.Errorf("--%s: %w", tzFlag, err)
		}
		if format != config.Auto && !formats.Zoned(format) {
			return config.Source{}, fmt.Errorf("--%s: %s", tzFlag, formats.NotZonedError(format))
		}
	}
	s := config.Source{Kind: kind, Format: format, Definition: d, Paths: paths, Envelope: "none", TimeZone: tz}
	switch kind {
	case config.KindProxy:
		s.AutoDefault = "nginx"
		if s.Format == config.Auto && s.Definition != "" {
			// A log_format given with the default format is nginx's.
			s.Format = "nginx"
		}
	case config.KindApp:
		s.AutoDefault = "django-json"
		if s.Format == config.Auto && s.Definition != "" {
			return s, fmt.Errorf("--%s needs a named --app-format (auto detects only formats without definitions)", defFlag)
		}
	}
	return s, nil
}
