package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/ingest"
)

func TestExampleLoads(t *testing.T) {
	c, err := Load("../deploy/spraywatch.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sources) != 8 {
		t.Fatalf("%d sources, want 8", len(c.Sources))
	}
	// Every source's format compiles with its definition or mapping.
	for i := range c.Sources {
		s := &c.Sources[i]
		comp, err := s.Compile()
		if err != nil {
			t.Errorf("source %s: %v", s.Name, err)
			continue
		}
		if comp.Format == nil || comp.Format.NewParser() == nil {
			t.Errorf("source %s: no format", s.Name)
		}
	}
	if got, want := c.Sources[2].Line(), 41; got != want {
		t.Errorf("lb-haproxy at line %d, want %d", got, want)
	}
	if c.Join.Window != 60*time.Second || c.Sources[3].Lead != 5*time.Minute {
		t.Errorf("durations: %v %v", c.Join.Window, c.Sources[3].Lead)
	}
	if c.Sources[0].Paths[0] != "../samples/data/nginx-access.log" {
		t.Errorf("relative path not resolved: %s", c.Sources[0].Paths[0])
	}
	// The bundled samples are readable through the example.
	for _, i := range []int{0, 4} {
		srcs, _, err := c.Open(&c.Sources[i])
		if err != nil {
			t.Fatalf("opening %s: %v", c.Sources[i].Name, err)
		}
		if len(srcs) != 1 {
			t.Fatalf("%s: %d sources", c.Sources[i].Name, len(srcs))
		}
	}
}

// The example in docs/config.md is the example file.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	ex, err := os.ReadFile("../deploy/spraywatch.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```yaml\n"+string(ex)+"```\n") {
		t.Error("docs/config.md does not hold deploy/spraywatch.example.yml in a yaml block")
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse("min.yml", []byte("sources:\n  - kind: proxy\n    paths: [a.log]\n  - kind: app\n    paths: [b.log]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Sources[0].Format != "nginx" || c.Sources[1].Format != "django-json" || c.Sources[0].Envelope != "none" {
		t.Errorf("default formats: %+v", c.Sources)
	}
	d := Default()
	want := detect.CorrelatorConfig{
		JoinWindow: detect.DefaultJoinWindow, MaxPending: detect.DefaultMaxPending,
		LoginPaths: detect.DefaultLoginPaths, LoginMethods: detect.DefaultLoginMethods, Identity: detect.DefaultIdentity,
	}
	if !reflect.DeepEqual(c.Correlator(), want) || !reflect.DeepEqual(d.Correlator(), want) {
		t.Errorf("correlator defaults: %+v", c.Correlator())
	}
	if c.Limits.MaxLineBytes != ingest.DefaultMaxLineBytes || c.Limits.MaxGroups != detect.DefaultMaxGroups ||
		c.Limits.MaxGroupEvents != detect.DefaultMaxGroupEvents || c.Rules.Mode != "extend" || c.Privacy.Mode != "plain" {
		t.Errorf("defaults: %+v %+v %+v", c.Limits, c.Rules, c.Privacy)
	}
	if len(c.Outputs) != 1 || c.Outputs[0].Type != "stdout" || !*c.Replay.Parallel {
		t.Errorf("outputs %+v, parallel %v", c.Outputs, *c.Replay.Parallel)
	}
	if c.Sources[1].Paths[0] != "b.log" {
		t.Errorf("path %s", c.Sources[1].Paths[0])
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, yml, want string
	}{
		{"empty", "", "cfg.yml: empty configuration"},
		{"duplicate output names", "sources:\n  - {kind: proxy, paths: [a]}\noutputs:\n  - {type: stdout, name: a}\n  - {type: stdout, name: a}\n", `cfg.yml:5: outputs[1]: name "a" is also the name of outputs[0]`},
		{"unknown top key", "sources: []\nwindow: 5s\n", "cfg.yml:2: field window not found"},
		{"unknown source key", "sources:\n  - kind: proxy\n    path: [a]\n", "cfg.yml:3: field path not found"},
		{"wrong type", "strict: maybe\n", "cfg.yml:1: cannot unmarshal !!str `maybe` into bool"},
		{"bad duration", "join:\n  join_window: soon\n", "cfg.yml:2:"},
		{"list for string", "sources:\n  - kind: [proxy]\n", "cfg.yml:2: cannot unmarshal !!seq into string"},
		{"syntax", "sources:\n  - kind: proxy\n   paths: x\n", "cfg.yml:1: did not find expected"},
		{"unknown kind", "sources:\n  - kind: iis\n    paths: [a]\n", "cfg.yml:2: source iis-0: unknown kind \"iis\""},
		{"no kind", "sources:\n  - name: x\n    paths: [a]\n", "cfg.yml:2: source x: kind is required"},
		{"no paths", "sources:\n  - kind: app\n", "cfg.yml:2: source app-0: paths is required"},
		{"unknown format", "sources:\n  - kind: proxy\n    format: iis\n    paths: [a]\n", "cfg.yml:3: source proxy-0: unknown proxy format \"iis\""},
		{"app format on proxy", "sources:\n  - kind: proxy\n    format: django-json\n    paths: [a]\n", "unknown proxy format \"django-json\""},
		{"alb without access", "sources:\n  - kind: alb\n    conn_paths: [c]\n", "cfg.yml:2: source alb-0: access_paths is required"},
		{"alb with paths", "sources:\n  - kind: alb\n    access_paths: [a]\n    paths: [b]\n", "cfg.yml:4: source alb-0: kind alb reads"},
		{"alb with format", "sources:\n  - kind: alb\n    access_paths: [a]\n    format: nginx\n", "cfg.yml:4: source alb-0: format does not apply to kind alb"},
		{"alb with envelope", "sources:\n  - kind: alb\n    access_paths: [a]\n    envelope: log\n", "cfg.yml:4: source alb-0: envelope does not apply to kind alb"},
		{"alb with definition", "sources:\n  - kind: alb\n    access_paths: [a]\n    definition: foo\n", "cfg.yml:4: source alb-0: definition does not apply to kind alb"},
		{"alb negative max_connections", "sources:\n  - kind: alb\n    access_paths: [a]\n    max_connections: -5\n", "cfg.yml:4: source alb-0: max_connections must not be negative"},
		{"alb negative lead", "sources:\n  - kind: alb\n    access_paths: [a]\n    lead: -5m\n", "cfg.yml:4: source alb-0: lead must not be negative"},
		{"lead on a proxy", "sources:\n  - kind: proxy\n    paths: [a]\n    lead: 5m\n", "cfg.yml:2: source proxy-0: max_connections and lead are for kind alb"},
		{"both definitions", "sources:\n  - kind: proxy\n    definition: x\n    definition_file: y\n    paths: [a]\n", "cfg.yml:4: source proxy-0: set definition or definition_file"},
		{"mapping on nginx", "sources:\n  - kind: proxy\n    mapping: {outcomes: {a: failure}}\n    paths: [a]\n", "cfg.yml:3: source proxy-0: mapping applies to format django-json"},
		{"unknown mapping key", "sources:\n  - kind: app\n    mapping:\n      keys: {user: u}\n    paths: [a]\n", "cfg.yml:4: field user not found"},
		{"bad envelope", "sources:\n  - kind: app\n    envelope: vector\n    paths: [a]\n", "cfg.yml:3: source app-0: unknown envelope \"vector\""},
		{"auto on stdin", "sources:\n  - kind: app\n    format: auto\n    paths: [\"-\"]\n", "cfg.yml:3: source app-0: format auto needs files"},
		{"duplicate name", "sources:\n  - {name: a, kind: app, paths: [x]}\n  - {name: a, kind: app, paths: [y]}\n", "cfg.yml:3: source name \"a\" is also used"},
		{"identity", "join:\n  identity: [sha1, md5]\n", "cfg.yml:2: unknown identity \"md5\""},
		{"rules mode", "rules:\n  mode: merge\n", "cfg.yml:2: unknown rules mode \"merge\""},
		{"replace without files", "rules:\n  mode: replace\n", "cfg.yml:2: rules mode replace needs"},
		{"privacy", "privacy:\n  mode: hash\n", "cfg.yml:2: unknown privacy mode \"hash\""},
		{"output type", "outputs:\n  - path: x\n", "cfg.yml:2: outputs[0]: type is required"},
		{"output kind", "outputs:\n  - type: email\n", "cfg.yml:2: outputs[0]: unknown type \"email\""},
		{"file output without path", "outputs:\n  - type: file\n", "cfg.yml:2: outputs[0]: file: path is required"},
		{"output min_severity", "outputs:\n  - type: stdout\n  - type: stdout\n    min_severity: urgent\n", "cfg.yml:3: outputs[1]: unknown min_severity \"urgent\""},
		{"webhook without spool_dir", "outputs:\n  - type: webhook\n    url: http://x\n", "cfg.yml:2: outputs[0]: webhook: spool_dir is required"},
		{"syslog network", "outputs:\n  - type: syslog\n    network: carrier-pigeon\n    address: x:514\n", "cfg.yml:2: outputs[0]: syslog: unknown network \"carrier-pigeon\""},
		{"syslog facility", "outputs:\n  - type: syslog\n    network: udp\n    address: x:514\n    facility: kern9\n", "outputs[0]: syslog: unknown facility \"kern9\""},
		{"kafka output without topic", "outputs:\n  - type: kafka\n    brokers: [b:9092]\n", "outputs[0]: kafka: topic is required"},
		{"unknown output key", "outputs:\n  - type: file\n    file: x\n", "cfg.yml:3: field file not found"},
		{"empty login paths", "join:\n  login_paths: []\n", "cfg.yml:2: login_paths must not be empty"},
		{"negative report_top", "replay:\n  report_top: -1\n", "cfg.yml:2: report_top must not be negative"},
		{"negative limit", "limits:\n  max_groups: -1\n", "cfg.yml:1: limits must not be negative"},
		{"negative lanes", "replay:\n  lanes: -2\n", "cfg.yml:2: lanes must not be negative"},
		{"fractional limit", "limits:\n  max_groups: 2.5\n", "cfg.yml:2: cannot unmarshal !!float `2.5` into int (max_groups expects an integer)"},
		{"fractional join setting", "join:\n  max_pending: 1e3\n", "cfg.yml:2: cannot unmarshal !!float `1e3` into int (max_pending expects an integer)"},
		{"fractional lanes", "replay:\n  lanes: 1.5\n", "cfg.yml:2: cannot unmarshal !!float `1.5` into int (lanes expects an integer)"},
		{"fractional output setting", "outputs:\n  - type: file\n    path: x\n    keep: 2.5\n    max_bytes: 1.5\n", "cfg.yml:4: cannot unmarshal !!float `2.5` into int (keep expects an integer)\ncfg.yml:5: cannot unmarshal !!float `1.5` into int64 (max_bytes expects an integer)"},
		{"fractional alb setting", "sources:\n  - kind: alb\n    access_paths: [a]\n    max_connections: 0.5\n", "cfg.yml:4: cannot unmarshal !!float `0.5` into int (max_connections expects an integer)"},
		{"negative parse workers", "replay:\n  parse_workers: -1\n", "cfg.yml:2: parse_workers -1: expected 0 (choose) to 256"},
		{"too many parse workers", "replay:\n  parse_workers: 100000\n", "cfg.yml:2: parse_workers 100000: expected 0 (choose) to 256"},
	}
	for _, tt := range tests {
		_, err := Parse("cfg.yml", []byte(tt.yml))
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q, want %q", tt.name, err, tt.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, yml, want string
	}{
		{"bad log_format", "sources:\n  - kind: proxy\n    definition: \"log_format x '$remote_addr \\\"$request';\"\n    paths: [a]\n", "001/a: compiling proxy format nginx"},
		{"missing definition_file", "sources:\n  - kind: proxy\n    definition_file: nope.conf\n    paths: [a]\n", "001/a: reading definition_file"},
		{"bad outcome", "sources:\n  - kind: app\n    mapping: {outcomes: {x: maybe}}\n    paths: [a]\n", "outcome of action \"x\" is \"maybe\""},
		{"auto without files", "sources:\n  - kind: proxy\n    format: auto\n    paths: [none-*.log]\n", "pattern"},
	}
	for _, tt := range tests {
		c, err := Parse(filepath.Join(dir, "c.yml"), []byte(tt.yml))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		_, err = c.Sources[0].Compile()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestMapping(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.jsonl")
	line := `{"@timestamp":"2026-12-04T09:00:01Z","http":{"request_id":"r1"},"user":{"name":"alice"},"event":"auth.login.bad_password","client":{"ip":"203.0.113.7"}}` + "\n"
	if err := os.WriteFile(log, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	yml := `sources:
  - kind: app
    mapping:
      keys: {time: "@timestamp", request_id: http.request_id, username: user.name, source_ip: client.ip}
      outcomes: {auth.login.bad_password: failure}
    paths: [auth.jsonl]
`
	c, err := Parse(filepath.Join(dir, "c.yml"), []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	srcs, comp, err := c.Open(&c.Sources[0])
	if err != nil {
		t.Fatal(err)
	}
	if comp.Format.Name() != "django-json" {
		t.Errorf("format %s", comp.Format.Name())
	}
	recs := readAll(t, srcs[0])
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	want := map[string]string{"http.request.id": "r1", "user.name": "alice", "source.ip": "203.0.113.7", "event.outcome": "failure"}
	if !reflect.DeepEqual(recs[0], want) {
		t.Errorf("record %v, want %v", recs[0], want)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 0, true}, {"1048576", 1 << 20, true}, {"270MiB", 270 << 20, true}, {"1GiB", 1 << 30, true},
		{"300MB", 300e6, true}, {"64 KiB", 64 << 10, true}, {"lots", 0, false}, {"-1MiB", 0, false}, {"99999999999GiB", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
