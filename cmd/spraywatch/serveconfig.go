package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"slices"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/config"
	"github.com/spraywatch/spraywatch/serve"
)

// serveConfig returns the configuration serve runs with and how it reads
// its sources: the --config file (or the defaults) with the flags given on
// the command line applied over it, as in replay. It writes the settings
// back into f, so that the rest of serve reads one set of values, and logs
// the settings of the file that serve does not use.
//
// serve follows files when --proxy-file or --app-file is given, or a
// source of the file has paths (with --role all); otherwise it reads Kafka,
// the sources giving the formats of the topics' lines.
func serveConfig(fs *flag.FlagSet, f *serveFlags, role serve.Role, log *slog.Logger) (*config.Config, config.Use, error) {
	cfg, set, err := loadConfig(fs, f.config)
	if err != nil {
		return nil, 0, err
	}
	use := config.UseKafka
	if role == serve.RoleAll && (len(f.proxyFiles)+len(f.appFiles) > 0 || cfg.HasPaths()) {
		use = config.UseFollow
	}
	if err := f.applySources(cfg, set, use); err != nil {
		return nil, 0, err
	}
	f.engineFlags.configure(cfg, set)
	if err := cfg.CheckUse(use); err != nil {
		if use == config.UseKafka && role != serve.RoleAll && cfg.HasPaths() {
			return nil, 0, fmt.Errorf("--role %s reads Kafka topics (following files runs every stage): %w", role, err)
		}
		return nil, 0, err
	}
	for _, n := range cfg.Ignored(use) {
		log.Warn(n)
	}
	if f.usernames, err = alert.NewPrivacy(f.privacy, f.privacyKey); err != nil {
		return nil, 0, err
	}
	if err := setMemoryLimit(f.memoryLimit); err != nil {
		return nil, 0, err
	}
	return cfg, use, nil
}

// countStdin counts the paths that are standard input (-).
func countStdin(paths []string) int {
	n := 0
	for _, p := range paths {
		if p == "-" {
			n++
		}
	}
	return n
}

// sourceFlags are the flags that describe a source of one kind on the
// command line.
type sourceFlags struct {
	kind                          string
	files, format, def, env, tz   string // the flags' names
	paths                         []string
	formatV, defV, envelopeV, tzV string   // their values
	replaces                      []string // the kinds of the file's sources it replaces
}

// applySources puts the sources the flags describe in cfg. Without a
// configuration file they are the sources. With one, the flags given for a
// kind (its files, format, definition or envelope) replace the file's
// sources of that kind, as --proxy and --app do in replay: when following
// files, the format flags describe the files of the command line and need
// them; when reading Kafka, they describe the topic's lines. A kind the file
// has no source of is read, from Kafka, with the flags' defaults.
func (f *serveFlags) applySources(cfg *config.Config, set map[string]bool, use config.Use) error {
	for _, k := range []sourceFlags{
		{config.KindProxy, "proxy-file", "proxy-format", "log-format", "proxy-envelope", "proxy-time-zone", f.proxyFiles, f.proxyFormat, f.logFormat, f.proxyEnvelope, f.proxyTimeZone, []string{config.KindProxy, config.KindALB}},
		{config.KindApp, "app-file", "app-format", "app-format-def", "app-envelope", "app-time-zone", f.appFiles, f.appFormat, f.appFormatDef, f.appEnvelope, f.appTimeZone, []string{config.KindApp}},
	} {
		given := set[k.files] || set[k.format] || set[k.def] || set[k.env] || set[k.tz]
		if f.config != "" {
			if given && use == config.UseFollow && !set[k.files] {
				name := k.format
				for _, n := range []string{k.format, k.def, k.env, k.tz} {
					if set[n] {
						name = n
						break
					}
				}
				return fmt.Errorf("--%s applies to the --%s files of the command line; with --config, give --%s too or set it in the file's %s source", name, k.files, k.files, k.kind)
			}
			has := slices.ContainsFunc(cfg.Sources, func(s config.Source) bool { return slices.Contains(k.replaces, s.Kind) })
			if !given && (use == config.UseFollow || has) {
				continue
			}
		}
		s, err := commandLineSource(k.kind, k.formatV, k.def, k.defV, k.tz, k.tzV, k.paths)
		if err != nil {
			return err
		}
		switch k.envelopeV {
		case "", "none":
		case config.Auto:
			s.Envelope = config.Auto
		default:
			s.EnvelopeKey = k.envelopeV
		}
		if use == config.UseKafka {
			if s.Format == config.Auto {
				return fmt.Errorf("--%s auto detects the format from files: name the format of the --%s-topic lines", k.format, k.kind)
			}
			if s.Envelope == config.Auto {
				return fmt.Errorf("--%s auto detects the envelope from files: name the envelope of the --%s-topic messages", k.env, k.kind)
			}
		}
		cfg.Sources = append(without(cfg.Sources, k.replaces...), s)
	}
	return nil
}

// servedSource is a source serve reads, with its compiled format.
type servedSource struct {
	src  *config.Source
	comp config.Compiled
}

// formatName labels the source's counters.
func (s servedSource) formatName() string {
	if s.comp.Detected != nil {
		return s.comp.Format.Name() + " (detected)"
	}
	return s.comp.Format.Name()
}

// compileSources compiles the formats of cfg's proxy and app sources
// (CheckUse has made sure there is one of each), and logs what was detected
// and what the proxy format lacks that detection needs.
func compileSources(cfg *config.Config, log *slog.Logger) (proxy, app servedSource, err error) {
	for i := range cfg.Sources {
		s := &cfg.Sources[i]
		comp, err := s.Compile()
		if err != nil {
			return proxy, app, err
		}
		for _, w := range proxyWarnings(s, comp) {
			log.Warn(w)
		}
		if comp.Detected != nil {
			log.Info("format detected", "source", s.Label(), "kind", s.Kind, "format", comp.Detected.String())
		}
		switch s.Kind {
		case config.KindProxy:
			proxy = servedSource{s, comp}
		case config.KindApp:
			app = servedSource{s, comp}
		}
	}
	if proxy.src == nil || app.src == nil {
		return proxy, app, errors.New("serve needs a proxy and an app source")
	}
	return proxy, app, nil
}
