package config

import (
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Use is what runs a configuration: replay, or serve following files or
// reading Kafka. Load checks what holds for every use, CheckUse what
// depends on it.
type Use int

const (
	// UseReplay reads every source's files to their end.
	UseReplay Use = iota
	// UseFollow is serve following files: one proxy and one app source, each
	// with paths.
	UseFollow
	// UseKafka is serve reading Kafka topics: at most one proxy and one app
	// source, without paths, giving the format of each topic's lines.
	UseKafka
)

func (u Use) String() string {
	switch u {
	case UseFollow:
		return "serve following files"
	case UseKafka:
		return "serve reading Kafka"
	}
	return "replay"
}

// HasPaths reports whether a source of c names files (paths, conn_paths or
// access_paths): serve follows them then, instead of reading Kafka.
func (c *Config) HasPaths() bool {
	for i := range c.Sources {
		s := &c.Sources[i]
		if len(s.Paths)+len(s.ConnPaths)+len(s.AccessPaths) > 0 {
			return true
		}
	}
	return false
}

// CheckUse reports the settings of c that u cannot run with, each at its
// line in the file. Sources added in code (from the command line) have no
// line; the caller checks what their flags say.
func (c *Config) CheckUse(u Use) error {
	var errs []error
	add := func(s *Source, key, format string, args ...any) {
		errs = append(errs, c.sourceErrorf(s, key, format, args...))
	}
	name := func(s *Source) string {
		if s.Name == "" { // added in code
			return s.Label()
		}
		return s.Name
	}
	first := map[string]*Source{} // the first source of each kind
	for i := range c.Sources {
		s := &c.Sources[i]
		if u == UseReplay {
			if s.Kind != KindALB && len(s.Paths) == 0 {
				add(s, "kind", "source %s: paths is required", name(s))
			}
			continue
		}
		if s.Kind == KindALB {
			add(s, "kind", "source %s: kind alb is read by replay only: serve has no reader for ALB logs", name(s))
			continue
		}
		if f, ok := first[s.Kind]; ok {
			add(s, "kind", "source %s: serve reads a single %s source, and source %s is one already (one source may list several paths, read with one format)", name(s), s.Kind, f.Label())
		} else {
			first[s.Kind] = s
		}
		switch u {
		case UseFollow:
			if len(s.Paths) == 0 {
				add(s, "kind", "source %s: paths is required to follow files", name(s))
			}
		case UseKafka:
			if len(s.Paths) > 0 {
				add(s, "paths", "source %s: paths are for replay and for serve following files: serve reading Kafka takes the %s lines from its topic", name(s), s.Kind)
			}
			if s.Format == Auto {
				add(s, "format", "source %s: format auto samples the source's files: name the format of the topic's lines", name(s))
			}
			if s.Envelope == Auto {
				add(s, "envelope", "source %s: envelope auto samples the source's files: name the envelope of the topic's messages (none for bare lines)", name(s))
			}
		}
	}
	if u == UseReplay && c.Replay.MetricsHold > 0 && c.Replay.MetricsListen == "" {
		errs = append(errs, c.keyErrorf([]any{"replay", "metrics_hold"}, "--metrics-hold (replay.metrics_hold) needs --metrics-listen (replay.metrics_listen): there is no /metrics to hold"))
	}
	if u == UseFollow {
		for _, k := range []struct{ kind, what string }{{KindProxy, "a proxy"}, {KindApp, "an app"}} {
			if first[k.kind] == nil {
				errs = append(errs, c.errorf([]any{"sources"}, "serve following files needs %s source with paths", k.what))
			}
		}
		if err := c.checkStdin(); err != nil {
			errs = append(errs, c.errorf([]any{"sources"}, "%v", err))
		}
	}
	return errors.Join(errs...)
}

// sourceErrorf returns an error positioned at key of the source s in the
// file, or unpositioned for a source added in code.
func (c *Config) sourceErrorf(s *Source, key, format string, args ...any) error {
	if s.line == 0 {
		return fmt.Errorf(format, args...)
	}
	return c.errorf([]any{"sources", s.index, key}, format, args...)
}

// keyErrorf returns an error positioned at the key at path when the file
// sets it, and unpositioned when it does not (the value came from a flag).
func (c *Config) keyErrorf(path []any, format string, args ...any) error {
	if c.has(path...) {
		return c.errorf(path, format, args...)
	}
	return fmt.Errorf(format, args...)
}

// Ignored lists the settings of the file that u does not use, each at its
// line: for serve, strict and the replay section (replay uses them all).
func (c *Config) Ignored(u Use) []string {
	if u == UseReplay || c.root == nil || len(c.root.Content) == 0 {
		return nil
	}
	var out []string
	note := func(line int, key string) {
		out = append(out, fmt.Sprintf("%s:%d: %s applies to replay only: %s ignores it", c.Path, line, key, u))
	}
	top := c.root.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "strict":
			note(k.Line, "strict")
		case "replay":
			if v.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				note(v.Content[j].Line, "replay."+v.Content[j].Value)
			}
		}
	}
	return out
}
