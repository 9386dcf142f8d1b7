// Package config reads spraywatch's YAML configuration file: the log sources
// (their kind, format, definition, files and envelope), the join settings,
// the rules, the alert outputs, username privacy and memory limits.
//
// Loading is strict: an unknown key, a value of the wrong type or an invalid
// setting is an error naming the file and line. docs/config.md describes
// every key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/alb"
	"github.com/spraywatch/spraywatch/ingest/django"
	"github.com/spraywatch/spraywatch/ingest/envelope"
	"github.com/spraywatch/spraywatch/ingest/formats"
	"github.com/spraywatch/spraywatch/ingest/timestamp"
	"github.com/spraywatch/spraywatch/internal/yamlerr"
	"github.com/spraywatch/spraywatch/internal/yamlnum"
	"github.com/spraywatch/spraywatch/replay"
	"github.com/spraywatch/spraywatch/report"
)

// Source kinds.
const (
	KindProxy = "proxy" // a reverse-proxy access log
	KindApp   = "app"   // an application authentication log
	KindALB   = "alb"   // AWS ALB access logs joined to its connection logs
)

// Auto is the format and envelope value that asks for detection from the
// first lines of the source's first file.
const Auto = "auto"

// Config is a whole configuration file.
type Config struct {
	// Path is the file the configuration was read from ("" if built in
	// code); relative file names in it are resolved against its directory.
	Path string `yaml:"-"`

	Sources []Source       `yaml:"sources"`
	Join    Join           `yaml:"join"`
	Rules   Rules          `yaml:"rules"`
	Outputs []alert.Config `yaml:"outputs"`
	Privacy Privacy        `yaml:"privacy"`
	Limits  Limits         `yaml:"limits"`
	// Strict makes the first line that does not parse fatal.
	Strict bool `yaml:"strict"`
	// Replay holds settings of the replay command that are not about
	// detection.
	Replay Replay `yaml:"replay"`

	root *yaml.Node
}

// Source is one log source: a set of files read with one format.
type Source struct {
	Name string `yaml:"name"`
	// Kind is proxy, app or alb.
	Kind string `yaml:"kind"`
	// Format is a format name of ingest/formats, or auto. Kind alb takes
	// none (nor a definition, mapping or envelope).
	Format string `yaml:"format"`
	// Definition is the format's definition (a log_format directive, a
	// format string, ...); DefinitionFile names a file holding it. At
	// most one of the two is set; neither means the format's default.
	Definition     string `yaml:"definition"`
	DefinitionFile string `yaml:"definition_file"`
	// Mapping is the key and outcome mapping of a django-json source.
	Mapping *Mapping `yaml:"mapping"`
	// Paths are files or glob patterns; "-" is standard input. Gzip files
	// are read as such; rotated files are read oldest first.
	Paths []string `yaml:"paths"`
	// ConnPaths and AccessPaths are the connection and access logs of an
	// alb source.
	ConnPaths   []string `yaml:"conn_paths"`
	AccessPaths []string `yaml:"access_paths"`
	// MaxConnections and Lead tune an alb source's join; see
	// ingest/alb.SourceConfig.
	MaxConnections int           `yaml:"max_connections"`
	Lead           time.Duration `yaml:"lead"`
	// Envelope is none (default), auto, message, log, line or cri: the
	// log shipper's wrapper around each line. EnvelopeKey names another
	// (dotted) JSON member holding the line.
	Envelope    string `yaml:"envelope"`
	EnvelopeKey string `yaml:"envelope_key"`
	// TimeZone is the time zone of the times the source's lines write
	// without a zone offset (Python logging's asctime, HAProxy's %tr): an
	// IANA name such as Europe/Berlin or a fixed offset such as +01:00.
	// Empty: UTC. Times with an offset keep it. See
	// timestamp.LoadLocation and timestamp.Zone.
	TimeZone string `yaml:"time_zone"`

	// AutoDefault is the format an auto source takes when it has nothing
	// to look at (standard input, empty files). Empty: that is an error.
	// Not read from files: the replay command sets it for its flags.
	AutoDefault string `yaml:"-"`

	line    int  // where the source starts in the file, 0 if not read from one
	index   int  // its index in the file's sources, when line is set
	unnamed bool // Name was made up
}

// Mapping is a django-json key and outcome mapping. Keys not given keep
// their default (see ingest/django.DefaultMapping); an empty string unmaps
// one. Outcomes, when given, replace the default outcomes.
type Mapping struct {
	Keys     MappingKeys       `yaml:"keys"`
	Outcomes map[string]string `yaml:"outcomes"`
}

// MappingKeys are the JSON keys (dotted for nested objects) of each value.
type MappingKeys struct {
	Time      *string `yaml:"time"`
	RequestID *string `yaml:"request_id"`
	UserName  *string `yaml:"username"`
	Action    *string `yaml:"action"`
	SourceIP  *string `yaml:"source_ip"`
	UserAgent *string `yaml:"user_agent"`
	Path      *string `yaml:"path"`
}

// Join configures the correlator (detect.CorrelatorConfig).
type Join struct {
	Window       time.Duration `yaml:"join_window"`
	MaxPending   int           `yaml:"max_pending"`
	LoginPaths   []string      `yaml:"login_paths"`
	LoginMethods []string      `yaml:"login_methods"`
	Identity     []string      `yaml:"identity"`
}

// Rules names rules files and how they combine with the default pack.
type Rules struct {
	Files []string `yaml:"files"`
	// Mode is extend (default: the files add to the default pack, same
	// id replaces) or replace (only the files' rules).
	Mode string `yaml:"mode"`
}

// Privacy says how usernames appear in alerts (alert.NewPrivacy).
type Privacy struct {
	Mode    string `yaml:"mode"` // plain, hmac or omit
	KeyFile string `yaml:"key_file"`
}

// Limits bound memory.
type Limits struct {
	MaxLineBytes   int `yaml:"max_line_bytes"`
	MaxGroups      int `yaml:"max_groups"`
	MaxGroupsTotal int `yaml:"max_groups_total"`
	MaxGroupEvents int `yaml:"max_group_events"`
	// MaxEventsTotal caps the events all rules' windows hold together,
	// split evenly among the rules (detect.Config.MaxEventsTotal).
	MaxEventsTotal int `yaml:"max_events_total"`
	// MemoryLimit is a soft limit on the Go heap ("270MiB", "1GiB"; empty
	// for none), as GOMEMLIMIT sets it; GOMEMLIMIT wins when set.
	MemoryLimit string `yaml:"memory_limit"`
}

// Replay holds the replay command's operational settings.
type Replay struct {
	Parallel *bool `yaml:"parallel"`
	// ParseWorkers is the number of goroutines parsing each source's lines
	// (0: chosen from the cores and the files' sizes).
	ParseWorkers int `yaml:"parse_workers"`
	// Lanes is the number of goroutines evaluating the rules (0: one per
	// core, at most one per rule; 1: on the goroutine that joins).
	Lanes      int    `yaml:"lanes"`
	Quiet      bool   `yaml:"quiet"`
	CPUProfile string `yaml:"cpu_profile"`
	MemProfile string `yaml:"mem_profile"`
	// MetricsListen is the address of the Prometheus endpoint served while
	// replaying ("" for none); MetricsHold keeps it up after the end.
	MetricsListen string        `yaml:"metrics_listen"`
	MetricsHold   time.Duration `yaml:"metrics_hold"`
	// Report names the HTML incident report to write ("" for none).
	Report            string `yaml:"report"`
	ReportTop         int    `yaml:"report_top"`
	ReportGeneratedAt bool   `yaml:"report_generated_at"`
	// MaxTimeJump bounds how far one record may leap ahead of its file's
	// newer records before it is rejected as a time outlier (0: the
	// default, 1h; negative: no check).
	MaxTimeJump time.Duration `yaml:"max_time_jump"`
	// CheckAllLines checks every proxy line as a full parse would, also
	// the lines that are not logins, which are otherwise read only as far
	// as their time, request and request id (slower; a malformed line that
	// is not a login is then rejected rather than skimmed).
	CheckAllLines bool `yaml:"check_all_lines"`
}

// Default returns the configuration used without a file: no sources, the
// default join settings, rules pack, privacy and limits, alerts on stdout.
func Default() *Config {
	c := &Config{}
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	if c.Join.Window == 0 {
		c.Join.Window = detect.DefaultJoinWindow
	}
	if c.Join.MaxPending == 0 {
		c.Join.MaxPending = detect.DefaultMaxPending
	}
	if c.Join.LoginPaths == nil {
		c.Join.LoginPaths = append([]string(nil), detect.DefaultLoginPaths...)
	}
	if c.Join.LoginMethods == nil {
		c.Join.LoginMethods = append([]string(nil), detect.DefaultLoginMethods...)
	}
	if c.Join.Identity == nil {
		c.Join.Identity = append([]string(nil), detect.DefaultIdentity...)
	}
	if c.Rules.Mode == "" {
		c.Rules.Mode = "extend"
	}
	if c.Privacy.Mode == "" {
		c.Privacy.Mode = "plain"
	}
	if c.Limits.MaxLineBytes == 0 {
		c.Limits.MaxLineBytes = ingest.DefaultMaxLineBytes
	}
	if c.Limits.MaxGroups == 0 {
		c.Limits.MaxGroups = detect.DefaultMaxGroups
	}
	if c.Limits.MaxGroupsTotal == 0 {
		c.Limits.MaxGroupsTotal = detect.DefaultMaxGroupsTotal
	}
	if c.Limits.MaxGroupEvents == 0 {
		c.Limits.MaxGroupEvents = detect.DefaultMaxGroupEvents
	}
	if c.Limits.MaxEventsTotal == 0 {
		c.Limits.MaxEventsTotal = detect.DefaultMaxEventsTotal
	}
	if len(c.Outputs) == 0 {
		c.Outputs = []alert.Config{{Type: "stdout"}}
	}
	if c.Replay.Parallel == nil {
		t := true
		c.Replay.Parallel = &t
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		if s.Envelope == "" {
			s.Envelope = "none"
		}
		if s.Format == "" {
			switch s.Kind {
			case KindProxy:
				s.Format = "nginx"
			case KindApp:
				s.Format = django.FormatName
			}
		}
		if s.Name == "" {
			s.Name, s.unnamed = fmt.Sprintf("%s-%d", s.Kind, i), true
		}
	}
}

// Load reads and checks a configuration file. Relative file names in it
// (definition files, log paths, rules files, key files, output files) are
// taken relative to the file's directory. What depends on the command that
// runs the file (replay needs paths, serve reading Kafka refuses them) is
// left to CheckUse.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, b)
}

// Parse reads a configuration from b; path is used in errors and to
// resolve relative file names.
func Parse(path string, b []byte) (*Config, error) {
	c := &Config{Path: path}
	if err := c.decode(b, c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty configuration", path)
		}
		return nil, err
	}
	for i := range c.Sources {
		c.Sources[i].line, c.Sources[i].index = c.line("sources", i), i
	}
	c.setDefaults()
	c.resolve()
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// decode reads b, the file of c, strictly into v (a pointer): a key v has
// no field for, a value of the wrong type, or a number with a fraction for
// an integer (which the decoder would truncate), is an error at its line,
// naming its key and what was expected. It returns io.EOF when b holds no
// document.
func (c *Config) decode(b []byte, v any) error {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return yamlerr.FileError(c.Path, yamlerr.Messages(err))
	}
	c.root = &root
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	if te := (*yaml.TypeError)(nil); err != nil && !errors.As(err, &te) {
		return yamlerr.FileError(c.Path, yamlerr.Messages(err))
	}
	// The decoder goes on past values of the wrong type: the fractions
	// are reported with them.
	t := reflect.TypeOf(v).Elem()
	return yamlerr.FileError(c.Path, yamlerr.Explain(&root, t, err, yamlnum.CheckInts(&root, t)))
}

// line returns the line of the node at the path of keys (string) and
// sequence indexes (int) under the document root, or of its nearest
// ancestor that exists.
func (c *Config) line(path ...any) int {
	ln, _ := c.find(path)
	return ln
}

// has reports whether the file holds a node at the path of keys and
// sequence indexes (see line).
func (c *Config) has(path ...any) bool {
	_, ok := c.find(path)
	return ok
}

// find walks the path from the document root: it returns the line of the
// node at the path (of its key, for a mapping's value), or of its nearest
// ancestor that exists (0 without a document), and whether it exists.
func (c *Config) find(path []any) (int, bool) {
	if c.root == nil || len(c.root.Content) == 0 {
		return 0, false
	}
	n := c.root.Content[0]
	ln := n.Line
	for _, p := range path {
		var next *yaml.Node
		switch p := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == p {
						ln = n.Content[i].Line
						next = n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && p >= 0 && p < len(n.Content) {
				next = n.Content[p]
				ln = next.Line
			}
		}
		if next == nil {
			return ln, false
		}
		n = next
	}
	return ln, true
}

// errorf returns an error positioned at the node at path.
func (c *Config) errorf(path []any, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if ln := c.line(path...); ln > 0 {
		return fmt.Errorf("%s:%d: %s", c.Path, ln, msg)
	}
	if c.Path != "" {
		return fmt.Errorf("%s: %s", c.Path, msg)
	}
	return errors.New(msg)
}

// resolve makes relative file names relative to the config file's
// directory.
func (c *Config) resolve() {
	if c.Path == "" {
		return
	}
	dir := filepath.Dir(c.Path)
	abs := func(p *string) { resolvePath(dir, p) }
	for i := range c.Sources {
		s := &c.Sources[i]
		abs(&s.DefinitionFile)
		for _, l := range s.pathLists() {
			for j := range l.pats {
				abs(&l.pats[j])
			}
		}
	}
	for i := range c.Rules.Files {
		abs(&c.Rules.Files[i])
	}
	abs(&c.Privacy.KeyFile)
	for _, p := range []*string{&c.Replay.CPUProfile, &c.Replay.MemProfile, &c.Replay.Report} {
		abs(p)
	}
	resolveOutputs(dir, c.Outputs)
}

// resolveOutputs makes the relative file names of outs relative to dir.
func resolveOutputs(dir string, outs []alert.Config) {
	for i := range outs {
		o := &outs[i]
		for _, p := range []*string{&o.Path, &o.SecretFile, &o.SpoolDir, &o.TLSCAFile, &o.TLSCertFile, &o.TLSKeyFile, &o.SASLPasswordFile} {
			resolvePath(dir, p)
		}
	}
}

// resolvePath makes *p, unless empty, standard input or absolute, relative
// to dir.
func resolvePath(dir string, p *string) {
	if *p != "" && *p != "-" && !filepath.IsAbs(*p) {
		*p = filepath.Join(dir, *p)
	}
}

var envelopes = []string{"none", Auto, "message", "log", "line", envelope.CRI}

// check validates the settings that decoding alone does not.
func (c *Config) check() error {
	var errs []error
	add := func(path []any, format string, args ...any) {
		errs = append(errs, c.errorf(path, format, args...))
	}
	names := map[string]int{}
	for i := range c.Sources {
		s := &c.Sources[i]
		at := func(key string) []any { return []any{"sources", i, key} }
		if prev, ok := names[s.Name]; ok {
			add(at("name"), "source name %q is also used by sources[%d]", s.Name, prev)
		}
		names[s.Name] = i
		switch s.Kind {
		case KindProxy, KindApp:
			if len(s.ConnPaths)+len(s.AccessPaths) > 0 {
				add(at("conn_paths"), "source %s: conn_paths and access_paths are for kind alb; use paths", s.Name)
			}
			if s.MaxConnections != 0 || s.Lead != 0 {
				add(at("kind"), "source %s: max_connections and lead are for kind alb", s.Name)
			}
			if s.Format != Auto {
				known := formats.ProxyNames()
				if s.Kind == KindApp {
					known = formats.AppNames()
				}
				if !contains(known, s.Format) {
					add(at("format"), "source %s: unknown %s format %q (known: %s, auto)", s.Name, s.Kind, s.Format, strings.Join(known, ", "))
				}
			}
		case KindALB:
			if len(s.AccessPaths) == 0 {
				add(at("kind"), "source %s: access_paths is required for kind alb", s.Name)
			}
			if len(s.Paths) > 0 {
				add(at("paths"), "source %s: kind alb reads conn_paths and access_paths, not paths", s.Name)
			}
			for _, k := range []struct {
				key string
				set bool
			}{
				{"format", s.Format != ""}, {"definition", s.Definition != ""}, {"definition_file", s.DefinitionFile != ""},
				{"mapping", s.Mapping != nil}, {"envelope", s.Envelope != "none"}, {"envelope_key", s.EnvelopeKey != ""},
				{"time_zone", s.TimeZone != ""},
			} {
				if k.set {
					add(at(k.key), "source %s: %s does not apply to kind alb, which reads the ALB access and connection log formats", s.Name, k.key)
				}
			}
			if s.MaxConnections < 0 {
				add(at("max_connections"), "source %s: max_connections must not be negative (0: %d)", s.Name, alb.DefaultMaxConnections)
			}
			if s.Lead < 0 {
				add(at("lead"), "source %s: lead must not be negative (0: %s)", s.Name, alb.DefaultLead)
			}
		case "":
			add([]any{"sources", i}, "source %s: kind is required (proxy, app or alb)", s.Name)
		default:
			add(at("kind"), "source %s: unknown kind %q (want proxy, app or alb)", s.Name, s.Kind)
		}
		if s.Definition != "" && s.DefinitionFile != "" {
			add(at("definition_file"), "source %s: set definition or definition_file, not both", s.Name)
		}
		if s.Mapping != nil && s.Format != django.FormatName {
			add(at("mapping"), "source %s: mapping applies to format django-json, not %s", s.Name, s.Format)
		}
		if !contains(envelopes, s.Envelope) {
			add(at("envelope"), "source %s: unknown envelope %q (want %s; envelope_key names another member)", s.Name, s.Envelope, strings.Join(envelopes, ", "))
		}
		if s.EnvelopeKey != "" && s.Envelope != "none" {
			add(at("envelope_key"), "source %s: set envelope or envelope_key, not both", s.Name)
		}
		if s.TimeZone != "" && s.Kind != KindALB {
			if _, err := timestamp.LoadLocation(s.TimeZone); err != nil {
				add(at("time_zone"), "source %s: time_zone: %v", s.Name, err)
			} else if s.Format != Auto && !formats.Zoned(s.Format) {
				add(at("time_zone"), "source %s: time_zone: %s", s.Name, formats.NotZonedError(s.Format))
			}
		}
		if s.Format == Auto && s.Kind != KindALB {
			for _, p := range s.Paths {
				if p == "-" {
					add(at("format"), "source %s: format auto needs files to look at, not standard input", s.Name)
				}
			}
		}
	}
	if err := c.checkStdin(); err != nil {
		add([]any{"sources"}, "%v", err)
	}
	if c.Join.Window < 0 {
		add([]any{"join", "join_window"}, "join_window must not be negative")
	}
	if c.Join.Window > detect.MaxJoinWindow {
		add([]any{"join", "join_window"}, "join_window %s: expected at most %s (logs whose times disagree by more want their time_zone set)", c.Join.Window, detect.MaxJoinWindow)
	}
	if c.Join.MaxPending < 0 {
		add([]any{"join", "max_pending"}, "max_pending must not be negative")
	}
	for _, l := range []struct {
		key  string
		list []string
	}{{"login_paths", c.Join.LoginPaths}, {"login_methods", c.Join.LoginMethods}, {"identity", c.Join.Identity}} {
		if l.list != nil && len(l.list) == 0 {
			add([]any{"join", l.key}, "%s must not be empty (leave it out for the defaults)", l.key)
		}
	}
	for _, id := range c.Join.Identity {
		if names := detect.IdentitySourceNames(); !contains(names, id) {
			add([]any{"join", "identity"}, "unknown identity %q (want %s)", id, strings.Join(names, ", "))
		}
	}
	switch c.Rules.Mode {
	case "extend":
	case "replace":
		if len(c.Rules.Files) == 0 {
			add([]any{"rules", "mode"}, "rules mode replace needs at least one file")
		}
	default:
		add([]any{"rules", "mode"}, "unknown rules mode %q (want extend or replace)", c.Rules.Mode)
	}
	switch c.Privacy.Mode {
	case "plain", "hmac", "omit":
	default:
		add([]any{"privacy", "mode"}, "unknown privacy mode %q (want plain, hmac or omit)", c.Privacy.Mode)
	}
	for i := range c.Outputs {
		if err := c.Outputs[i].Check(); err != nil {
			for _, err := range outputErrors(err) {
				add(outputKey(i, err), "outputs[%d]: %v", i, err)
			}
		}
		if err := alert.CheckName(c.Outputs, i); err != nil {
			add([]any{"outputs", i}, "outputs[%d]: %v", i, err)
		}
		if err := alert.CheckSpoolDir(c.Outputs, i); err != nil {
			add(outputKey(i, err), "outputs[%d]: %v", i, err)
		}
	}
	if c.Limits.MaxLineBytes < 0 || c.Limits.MaxGroups < 0 || c.Limits.MaxGroupsTotal < 0 || c.Limits.MaxGroupEvents < 0 || c.Limits.MaxEventsTotal < 0 {
		add([]any{"limits"}, "limits must not be negative")
	}
	if c.Limits.MaxLineBytes > ingest.MaxLineBytesLimit {
		add([]any{"limits", "max_line_bytes"}, "max_line_bytes %d: expected at most %d (16 MiB; 0: %d)", c.Limits.MaxLineBytes, ingest.MaxLineBytesLimit, ingest.DefaultMaxLineBytes)
	}
	if c.Replay.ParseWorkers < 0 || c.Replay.ParseWorkers > replay.MaxParseWorkers {
		add([]any{"replay", "parse_workers"}, "parse_workers %d: expected 0 (choose) to %d", c.Replay.ParseWorkers, replay.MaxParseWorkers)
	}
	if c.Replay.Lanes < 0 {
		add([]any{"replay", "lanes"}, "lanes must not be negative (0: one per core)")
	}
	if c.Replay.ReportTop < 0 {
		add([]any{"replay", "report_top"}, "report_top must not be negative (0: %d)", report.DefaultTopN)
	}
	if c.Replay.MetricsHold < 0 {
		add([]any{"replay", "metrics_hold"}, "metrics_hold must not be negative")
	}
	if _, err := ParseSize(c.Limits.MemoryLimit); err != nil {
		add([]any{"limits", "memory_limit"}, "limits.memory_limit: %v", err)
	}
	return errors.Join(errs...)
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// Line returns the line of the configuration file where the source is
// defined, 0 if unknown.
func (s *Source) Line() int { return s.line }

// Correlator returns the join settings as the detector takes them.
func (c *Config) Correlator() detect.CorrelatorConfig {
	return detect.CorrelatorConfig{
		JoinWindow:   c.Join.Window,
		MaxPending:   c.Join.MaxPending,
		LoginPaths:   c.Join.LoginPaths,
		LoginMethods: c.Join.LoginMethods,
		Identity:     c.Join.Identity,
	}
}

// ParseSize reads a byte size such as "270MiB", "1GiB", "300MB" or "1048576";
// empty is 0.
func ParseSize(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("expected a size such as 270MiB or 1GiB")
	}
	return n * mult, nil
}
