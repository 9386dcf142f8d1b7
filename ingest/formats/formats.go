// Package formats names every log format spraywatch reads and compiles a
// format from its name and the user's definition. A new format is a
// package under ingest/ plus one line in the tables below.
package formats

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/alb"
	"github.com/spraywatch/spraywatch/ingest/axes"
	"github.com/spraywatch/spraywatch/ingest/django"
	"github.com/spraywatch/spraywatch/ingest/envoy"
	"github.com/spraywatch/spraywatch/ingest/haproxy"
	"github.com/spraywatch/spraywatch/ingest/nginx"
	"github.com/spraywatch/spraywatch/ingest/pylog"
	"github.com/spraywatch/spraywatch/ingest/traefik"
	"github.com/spraywatch/spraywatch/internal/yamlerr"
)

// spec describes one format: def is the user's definition (a log_format
// directive, a format string, a key mapping), empty for the default.
type spec struct {
	name    string
	help    string
	compile func(def string) (ingest.Format, error)
}

func proxySpecs() []spec {
	return []spec{
		{"nginx", "nginx log_format directive, text or escape=json (default: the mtls_combined reference format)", func(def string) (ingest.Format, error) {
			if strings.TrimSpace(def) == "" {
				def = nginx.Reference
			}
			return nginx.Compile(def)
		}},
		{"nginx-json", "nginx escape=json log_format directive whose template is a JSON object (nginx reads it too; this name, which the summary prints, refuses a text one)", func(def string) (ingest.Format, error) {
			if strings.TrimSpace(def) == "" {
				return nil, errors.New("expected the log_format directive (--log-format, or definition in a configuration file): escape=json with a JSON object template; this format has no default")
			}
			f, err := nginx.Compile(def)
			if err != nil {
				return nil, err
			}
			if f.Name() != "nginx-json" {
				return nil, errors.New("the log_format is read as text, not as an escape=json JSON object: name format nginx for it, or write it with escape=json and a template that is one JSON object")
			}
			return f, nil
		}},
		{"envoy", "Envoy text access log format string (default: Envoy's default format)", func(def string) (ingest.Format, error) {
			if strings.TrimSpace(def) == "" {
				def = envoy.Default
			}
			return envoy.CompileText(def)
		}},
		{"envoy-json", "Envoy json_format / typed_json_format map, YAML or JSON (default: the reference map in docs/proxies.md)", func(def string) (ingest.Format, error) {
			if strings.TrimSpace(def) == "" {
				def = envoy.ReferenceJSON
			}
			return envoy.CompileJSON(def)
		}},
		{"haproxy", "HAProxy log-format line (default: the reference mTLS log-format in docs/proxies.md)", func(def string) (ingest.Format, error) {
			if strings.TrimSpace(def) == "" {
				def = haproxy.Reference
			}
			return haproxy.Compile(def)
		}},
		{"traefik", "Traefik v3 JSON access log (definition: the request id key, default request_X-Request-Id)", func(def string) (ingest.Format, error) {
			return traefik.New(traefik.Options{RequestIDKey: strings.TrimSpace(def)})
		}},
		{"alb-access", "AWS ALB access log (joined to connection logs by the alb source; see docs/alb.md)", func(string) (ingest.Format, error) {
			return alb.AccessFormat{}, nil
		}},
	}
}

func appSpecs() []spec {
	return []spec{
		{"django-json", "Django auth events as JSON lines (default keys: timestamp, request_id, username, event, ip)", func(def string) (ingest.Format, error) {
			if strings.TrimSpace(def) != "" {
				return nil, fmt.Errorf("django-json takes its key mapping from a config file, not a definition string")
			}
			return django.NewFormat(django.DefaultMapping())
		}},
		{"django-axes", "django-axes log messages (definition: the Python logging format of the prefix, empty for raw messages)", func(def string) (ingest.Format, error) {
			return axes.New(strings.TrimSpace(def))
		}},
		{"python-logging", "Python logging text lines (definition: YAML with format, message_pattern and optional outcomes; see docs/app-logs.md)", compilePylog},
	}
}

// Proxy compiles a proxy log format.
func Proxy(name, def string) (ingest.Format, error) { return find("proxy", proxySpecs(), name, def) }

// App compiles an application log format.
func App(name, def string) (ingest.Format, error) { return find("app", appSpecs(), name, def) }

// ProxyNames lists the proxy formats.
func ProxyNames() []string { return names(proxySpecs()) }

// AppNames lists the application formats.
func AppNames() []string { return names(appSpecs()) }

// Help describes every format, one per line.
func Help() string {
	var b strings.Builder
	for _, s := range proxySpecs() {
		fmt.Fprintf(&b, "  proxy %-14s %s\n", s.name, s.help)
	}
	for _, s := range appSpecs() {
		fmt.Fprintf(&b, "  app   %-14s %s\n", s.name, s.help)
	}
	return b.String()
}

func find(kind string, specs []spec, name, def string) (ingest.Format, error) {
	for _, s := range specs {
		if s.name == name {
			f, err := s.compile(def)
			if err != nil {
				return nil, fmt.Errorf("compiling %s format %s: %w", kind, name, err)
			}
			return f, nil
		}
	}
	return nil, fmt.Errorf("unknown %s format %q (known: %s)", kind, name, strings.Join(names(specs), ", "))
}

func names(specs []spec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.name
	}
	return out
}

// zoned lists the formats whose lines can hold local times, times without
// a zone offset: their formats implement ingest.Zoner. The others (nginx,
// Traefik, ALB) write every time with an offset or Z.
var zoned = []string{"envoy", "envoy-json", "haproxy", "django-json", "django-axes", "python-logging"}

// Zoned reports whether the lines of the format called name can hold
// times without a zone offset, which a source's time zone applies to.
func Zoned(name string) bool { return slices.Contains(zoned, name) }

// NotZonedError says, for the user, that a time zone does not apply to the
// format called name.
func NotZonedError(name string) string {
	return fmt.Sprintf("format %s writes every time with a zone offset, so a time zone does not apply to it (it applies to %s)", name, strings.Join(zoned, ", "))
}

// InZone returns f reading the times its lines write without a zone offset
// in loc (see ingest.Zoner), or an error if f's lines always carry one.
func InZone(f ingest.Format, loc *time.Location) (ingest.Format, error) {
	z, ok := f.(ingest.Zoner)
	if !ok {
		return nil, errors.New(NotZonedError(f.Name()))
	}
	return z.InZone(loc), nil
}

// FieldLister is a compiled format that lists the event fields its lines
// give values to, in event.Field order. The nginx, Envoy and HAProxy
// formats are: what they give depends on their definition.
type FieldLister interface {
	Fields() []event.Field
}

// Fields lists the event fields the lines of f give values to, and whether
// f says: formats whose fields do not depend on a definition (Traefik, ALB)
// and the application formats do not.
func Fields(f ingest.Format) ([]event.Field, bool) {
	if l, ok := f.(FieldLister); ok {
		return l.Fields(), true
	}
	return nil, false
}

// requestIDHints says, by format name, what gives a definition a request id.
var requestIDHints = map[string]string{
	"nginx":      "$request_id",
	"nginx-json": "$request_id",
	"envoy":      "%REQ(X-REQUEST-ID)%",
	"envoy-json": "%REQ(X-REQUEST-ID)%",
	"haproxy":    "%ID (with unique-id-format) or %[req.hdr(x-request-id)]",
}

// ProxyWarnings lists, as sentences for the user, what the compiled proxy
// format f lacks that detection needs. Today that is a request id
// (http.request.id): without it no proxy line joins its application log
// event, so every login is app_only and the default pack's proxy-bypass
// rule fires on each.
func ProxyWarnings(f ingest.Format) []string {
	fields, ok := Fields(f)
	if !ok || slices.Contains(fields, event.RequestID) {
		return nil
	}
	hint := requestIDHints[f.Name()]
	if hint == "" {
		hint = "a request id"
	}
	return []string{fmt.Sprintf("the %s format has no request id (%s): proxy lines cannot be joined to application log events, so every login is app_only and the proxy-bypass rule fires on each; add %s, the id the application logs too",
		f.Name(), event.RequestID, hint)}
}

// pylogDef is the definition of a python-logging format.
type pylogDef struct {
	Format         string            `yaml:"format"`
	MessagePattern string            `yaml:"message_pattern"`
	Outcomes       map[string]string `yaml:"outcomes"`
	Loggers        []string          `yaml:"loggers"`
	MinLevel       string            `yaml:"min_level"`
	// Extras maps further format attributes to ECS field names.
	Extras map[string]string `yaml:"extras"`
}

func compilePylog(def string) (ingest.Format, error) {
	if strings.TrimSpace(def) == "" {
		return nil, fmt.Errorf("python-logging needs a definition: YAML with format (the logging Formatter string) and message_pattern")
	}
	var d pylogDef
	dec := yaml.NewDecoder(strings.NewReader(def))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		var root yaml.Node
		_ = yaml.Unmarshal([]byte(def), &root) // an error is the decoder's too
		return nil, fmt.Errorf("python-logging definition: expected YAML with format and message_pattern: %w",
			yamlerr.FileError("", yamlerr.Explain(&root, reflect.TypeFor[pylogDef](), err)))
	}
	c := pylog.Config{Format: d.Format, MessagePattern: d.MessagePattern, Outcomes: d.Outcomes, Loggers: d.Loggers, MinLevel: d.MinLevel}
	attrs := make([]string, 0, len(d.Extras))
	for attr := range d.Extras {
		attrs = append(attrs, attr)
	}
	sort.Strings(attrs)
	for _, attr := range attrs {
		name := d.Extras[attr]
		fld, ok := event.LookupField(name)
		if !ok {
			return nil, fmt.Errorf("python-logging definition: extras: %s: unknown field %q", attr, name)
		}
		if c.Extras == nil {
			c.Extras = map[string]event.Field{}
		}
		c.Extras[attr] = fld
	}
	return pylog.New(c)
}
