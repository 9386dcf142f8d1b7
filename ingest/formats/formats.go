// Package formats names every log format spraywatch reads and compiles a
// format from its name and the user's definition. A new format is a
// package under ingest/ plus one line in the tables below.
package formats

import (
	"fmt"
	"strings"

	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/django"
	"github.com/spraywatch/spraywatch/ingest/nginx"
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
