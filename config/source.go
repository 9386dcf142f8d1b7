package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/alb"
	"github.com/spraywatch/spraywatch/ingest/django"
	"github.com/spraywatch/spraywatch/ingest/envelope"
	"github.com/spraywatch/spraywatch/ingest/formats"
	"github.com/spraywatch/spraywatch/ingest/sniff"
	"github.com/spraywatch/spraywatch/ingest/timestamp"
)

// EventKind returns the kind of the records the source yields.
func (s *Source) EventKind() event.Kind {
	if s.Kind == KindApp {
		return event.App
	}
	return event.Proxy
}

// Label names the source for people: its name, or its first path when it
// has none of its own, or its kind when it has neither.
func (s *Source) Label() string {
	if s.Name != "" && !s.unnamed {
		return s.Name
	}
	for _, l := range [][]string{s.Paths, s.AccessPaths} {
		if len(l) > 0 {
			return l[0]
		}
	}
	if s.Name == "" {
		return s.Kind
	}
	return s.Name
}

// MetricsLabel is the source label of the source's metrics: its name, or
// its kind ("proxy", "app") when it has none of its own (a source given by
// a flag). Every file of the source counts under it, however many a glob
// matches.
func (s *Source) MetricsLabel() string {
	if s.Name != "" && !s.unnamed {
		return s.Name
	}
	return s.Kind
}

// Files returns the source's files in reading order (see Expand); for kind
// alb, the access logs. A file named twice (by overlapping patterns, or
// by another name or a link) is read once, at its first name (see
// Repeats).
func (s *Source) Files() ([]string, error) {
	files, err := s.expanded()
	if err != nil {
		return nil, err
	}
	kept, _ := distinctFiles(files)
	return kept, nil
}

// expanded returns the source's files as its patterns name them.
func (s *Source) expanded() ([]string, error) {
	if s.Kind == KindALB {
		return Expand(s.AccessPaths)
	}
	return Expand(s.Paths)
}

// definition returns the source's format definition, read from
// DefinitionFile if set.
func (s *Source) definition() (string, error) {
	if s.DefinitionFile == "" {
		return s.Definition, nil
	}
	b, err := os.ReadFile(s.DefinitionFile)
	if err != nil {
		return "", fmt.Errorf("source %s: reading definition_file: %w", s.Label(), err)
	}
	return string(b), nil
}

// Compiled is a source's compiled format.
type Compiled struct {
	Format ingest.Format
	// Base is Format without its envelope.
	Base ingest.Format
	// Detected is set when the format or the envelope was auto-detected.
	Detected *sniff.Result
}

// Compile compiles the source's format with its definition or mapping, puts
// it in the source's time zone, and wraps it in its envelope. Auto formats and envelopes are detected from
// the first lines of the source's first file. Kind alb has no single format:
// Compile returns the access log format.
func (s *Source) Compile() (Compiled, error) {
	if s.Kind == KindALB {
		return Compiled{Format: alb.AccessFormat{}}, nil
	}
	var c Compiled
	name := s.Format
	if s.Format == Auto || s.Envelope == Auto {
		files, err := s.Files()
		if err != nil {
			return c, fmt.Errorf("source %s: %w", s.Label(), err)
		}
		file, err := firstWithLines(files)
		if err != nil {
			return c, fmt.Errorf("source %s: %w", s.Label(), err)
		}
		var r sniff.Result
		switch {
		case file == "" && s.AutoDefault != "" && s.Format == Auto:
			// Nothing to look at: the default format, bare lines.
			name = s.AutoDefault
		case file == "":
			return c, fmt.Errorf("source %s: auto-detection needs a file with lines to look at (not standard input)", s.Label())
		case s.Format == Auto:
			r, err = sniff.File(s.EventKind(), file, 0)
			name = r.Format
			c.Detected = &r
		default: // only the envelope is asked for
			r, err = sniffEnvelope(s.EventKind(), file, s.Format)
			c.Detected = &r
		}
		if err != nil {
			return c, fmt.Errorf("source %s: %w", s.Label(), err)
		}
	}
	def, err := s.definition()
	if err != nil {
		return c, err
	}
	var f ingest.Format
	switch {
	case name == django.FormatName && s.Mapping != nil:
		if def != "" {
			return c, fmt.Errorf("source %s: django-json takes a mapping, not a definition", s.Label())
		}
		if f, err = django.NewFormat(s.Mapping.django()); err != nil {
			return c, fmt.Errorf("source %s: %w", s.Label(), err)
		}
	case s.Kind == KindApp:
		f, err = formats.App(name, def)
	default:
		f, err = formats.Proxy(name, def)
	}
	if err != nil {
		return c, fmt.Errorf("source %s: %w", s.Label(), err)
	}
	if s.TimeZone != "" {
		loc, err := timestamp.LoadLocation(s.TimeZone)
		if err == nil {
			f, err = formats.InZone(f, loc)
		}
		if err != nil {
			return c, fmt.Errorf("source %s: time_zone: %w", s.Label(), err)
		}
	}
	c.Base = f
	key := s.EnvelopeKey
	switch s.Envelope {
	case "none", "":
		if s.Format == Auto && key == "" && c.Detected != nil {
			// The format was found inside an envelope: it reads the
			// lines only with it.
			key = c.Detected.Envelope
		}
	case Auto:
		if c.Detected != nil {
			key = c.Detected.Envelope
		}
	default:
		key = s.Envelope
	}
	if key != "" {
		f = envelope.WrapFormat(f, key)
	}
	c.Format = f
	return c, nil
}

// firstWithLines returns the first of files that is not standard input and
// holds a non-empty line, "" if none does.
func firstWithLines(files []string) (string, error) {
	for _, p := range files {
		if p == "-" {
			continue
		}
		rc, err := ingest.Open(p)
		if err != nil {
			return "", err
		}
		lr := ingest.NewLineReader(rc, 0)
		for {
			l, _, err := lr.Next()
			if err != nil {
				break
			}
			if len(strings.TrimSpace(string(l))) > 0 {
				rc.Close()
				return p, nil
			}
		}
		rc.Close()
	}
	return "", nil
}

// sniffEnvelope detects only the envelope of a file whose format is named.
func sniffEnvelope(kind event.Kind, path, format string) (sniff.Result, error) {
	rc, err := ingest.Open(path)
	if err != nil {
		return sniff.Result{}, err
	}
	defer rc.Close()
	lr := ingest.NewLineReader(rc, 0)
	for {
		l, _, err := lr.Next()
		if err != nil {
			// No line at all: bare lines, nothing to unwrap.
			return sniff.Result{Kind: kind, Format: format}, nil
		}
		if len(strings.TrimSpace(string(l))) == 0 {
			continue
		}
		key, _ := envelope.Detect(l)
		return sniff.Result{Kind: kind, Format: format, Envelope: key, Lines: 1}, nil
	}
}

// django returns the mapping with defaults for the keys not given.
func (m *Mapping) django() django.Mapping {
	d := django.DefaultMapping()
	for _, k := range []struct {
		v   *string
		dst *string
	}{
		{m.Keys.Time, &d.Time}, {m.Keys.RequestID, &d.RequestID}, {m.Keys.UserName, &d.UserName},
		{m.Keys.Action, &d.Action}, {m.Keys.SourceIP, &d.SourceIP}, {m.Keys.UserAgent, &d.UserAgent},
		{m.Keys.Path, &d.Path},
	} {
		if k.v != nil {
			*k.dst = *k.v
		}
	}
	if m.Outcomes != nil {
		d.Outcomes = m.Outcomes
	}
	return d
}

// Open returns the ingest sources of s: one per file for kinds proxy and
// app (each can be read ahead on its own goroutine; replay merges them by
// time), one *alb.Source for kind alb. The Compiled format is returned for
// the summary.
func (c *Config) Open(s *Source) ([]ingest.Source, Compiled, error) {
	if err := c.checkStdin(); err != nil {
		return nil, Compiled{}, err
	}
	// Every file is checked before any is read, so that a name that is
	// wrong stops the replay before it starts.
	for _, l := range s.pathLists() {
		files, err := Expand(l.pats)
		if err == nil {
			err = CheckFiles(files)
		}
		if err != nil {
			if s.Kind == KindALB {
				return nil, Compiled{}, fmt.Errorf("source %s: %s: %w", s.Label(), l.key, err)
			}
			return nil, Compiled{}, fmt.Errorf("source %s: %w", s.Label(), err)
		}
	}
	if err := c.CheckShared(); err != nil {
		return nil, Compiled{}, err
	}
	comp, err := s.Compile()
	if err != nil {
		return nil, comp, err
	}
	if s.Kind == KindALB {
		conn, err := Expand(s.ConnPaths)
		if err != nil {
			return nil, comp, fmt.Errorf("source %s: conn_paths: %w", s.Label(), err)
		}
		access, err := Expand(s.AccessPaths)
		if err != nil {
			return nil, comp, fmt.Errorf("source %s: access_paths: %w", s.Label(), err)
		}
		conn, _ = distinctFiles(conn)
		access, _ = distinctFiles(access)
		src, err := alb.NewSource(alb.SourceConfig{
			Name: s.Name, ConnPaths: conn, AccessPaths: access,
			MaxConnections: s.MaxConnections, Lead: s.Lead,
			MaxLineBytes: c.Limits.MaxLineBytes, Strict: c.Strict,
		})
		if err != nil {
			return nil, comp, fmt.Errorf("source %s: %w", s.Label(), err)
		}
		return []ingest.Source{src}, comp, nil
	}
	files, err := s.Files()
	if err != nil {
		return nil, comp, fmt.Errorf("source %s: %w", s.Label(), err)
	}
	fname := comp.Format.Name()
	if comp.Detected != nil {
		fname += " (detected)"
	}
	var out []ingest.Source
	for _, p := range files {
		name := p
		if !s.unnamed && s.Name != "" {
			name = s.Name + " " + p
		}
		out = append(out, ingest.NewFileSource(ingest.FileSourceConfig{
			Name: name, Source: s.MetricsLabel(), Format: fname, Kind: s.EventKind(), Paths: []string{p},
			Parser: comp.Format.NewParser(), NewParser: comp.Format.NewParser,
			MaxLineBytes: c.Limits.MaxLineBytes, Strict: c.Strict,
		}))
	}
	return out, comp, nil
}

// checkStdin refuses standard input given more than once: the sources
// would read it concurrently, each getting some of its lines.
func (c *Config) checkStdin() error {
	var readers []string
	for i := range c.Sources {
		s := &c.Sources[i]
		for _, l := range s.pathLists() {
			for _, p := range l.pats {
				if p == "-" {
					readers = append(readers, s.describe())
				}
			}
		}
	}
	if len(readers) > 1 {
		return fmt.Errorf("standard input (-) is given %d times (%s): only one source can read it", len(readers), strings.Join(readers, ", "))
	}
	return nil
}

// describe names the source in a message: by its name, or its kind when it
// has none of its own.
func (s *Source) describe() string {
	if s.Name != "" && !s.unnamed {
		return "source " + s.Name
	}
	return "the " + s.Kind + " source"
}

// CheckFiles reports the first of files (as Expand returns them) that
// cannot be read as a log file: one that does not exist, a directory, or
// one that cannot be opened. "-" (standard input) is not checked.
func CheckFiles(files []string) error {
	for _, p := range files {
		if p == "-" {
			continue
		}
		f, err := os.Open(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("file %q does not exist", p)
		case errors.Is(err, fs.ErrPermission):
			return fmt.Errorf("file %q cannot be read: permission denied", p)
		case err != nil:
			return fmt.Errorf("file %q cannot be read: %w", p, err)
		}
		st, err := f.Stat()
		f.Close()
		switch {
		case err != nil:
			return fmt.Errorf("file %q cannot be read: %w", p, err)
		case st.IsDir():
			return fmt.Errorf("file %q is a directory, not a log file (a pattern such as %s reads the files in it)", p, filepath.Join(p, "*.log"))
		}
	}
	return nil
}

// Expand resolves file names and glob patterns, in the order given. "-"
// (standard input) and names without glob characters are kept as they are.
// The files a pattern matches are put in reading order: for each log, its
// rotated files oldest first, then the live file (see ingest.SortRotated).
// A pattern that matches nothing is an error.
func Expand(pats []string) ([]string, error) {
	var out []string
	for _, p := range pats {
		if p == "-" || !strings.ContainsAny(p, "*?[") {
			out = append(out, p)
			continue
		}
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("pattern %q matches no file", p)
		}
		ingest.SortRotated(m)
		out = append(out, m...)
	}
	return out, nil
}
