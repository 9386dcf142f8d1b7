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
		{"unknown top key", "sources: []\nwindow: 5s\n", `cfg.yml:2: unknown key "window" (known: join, limits, outputs, privacy, replay, rules, sources, strict)`},
		{"unknown source key", "sources:\n  - kind: proxy\n    path: [a]\n", `cfg.yml:3: sources[0]: unknown key "path" (known: access_paths, conn_paths, definition,`},
		{"wrong type", "strict: maybe\n", "cfg.yml:1: strict: expected true or false, not `maybe`"},
		{"bad duration", "join:\n  join_window: soon\n", "cfg.yml:2: join: join_window: expected a duration such as 90s, 10m or 12h, not `soon`"},
		{"list for string", "sources:\n  - kind: [proxy]\n", "cfg.yml:2: sources[0]: kind: expected a string, not a list"},
		{"syntax", "sources:\n  - kind: proxy\n   paths: x\n", "cfg.yml:1: did not find expected"},
		{"unknown kind", "sources:\n  - kind: iis\n    paths: [a]\n", "cfg.yml:2: source iis-0: unknown kind \"iis\""},
		{"no kind", "sources:\n  - name: x\n    paths: [a]\n", "cfg.yml:2: source x: kind is required"},
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
		{"unknown mapping key", "sources:\n  - kind: app\n    mapping:\n      keys: {user: u}\n    paths: [a]\n", `cfg.yml:4: sources[0]: mapping: keys: unknown key "user" (known: action, path, request_id, source_ip, time, user_agent, username)`},
		{"bad envelope", "sources:\n  - kind: app\n    envelope: vector\n    paths: [a]\n", "cfg.yml:3: source app-0: unknown envelope \"vector\""},
		{"unknown time zone", "sources:\n  - kind: app\n    format: python-logging\n    time_zone: Europe/Berln\n    paths: [a]\n", `cfg.yml:4: source app-0: time_zone: unknown time zone "Europe/Berln": expected an IANA time zone name such as Europe/Berlin or an offset such as +01:00`},
		{"time zone Local", "sources:\n  - kind: app\n    time_zone: Local\n    paths: [a]\n", `cfg.yml:3: source app-0: time_zone: "Local" depends on the machine`},
		{"bad time zone offset", "sources:\n  - kind: proxy\n    format: haproxy\n    time_zone: \"+25:00\"\n    paths: [a]\n", `cfg.yml:4: source proxy-0: time_zone: offset "+25:00": expected a zone offset below 24:00`},
		{"time zone of nginx", "sources:\n  - kind: proxy\n    time_zone: Europe/Berlin\n    paths: [a]\n", "cfg.yml:3: source proxy-0: time_zone: format nginx writes every time with a zone offset, so a time zone does not apply to it (it applies to envoy, envoy-json, haproxy, django-json, django-axes, python-logging)"},
		{"alb with time zone", "sources:\n  - kind: alb\n    access_paths: [a]\n    time_zone: UTC\n", "cfg.yml:4: source alb-0: time_zone does not apply to kind alb"},
		{"auto on stdin", "sources:\n  - kind: app\n    format: auto\n    paths: [\"-\"]\n", "cfg.yml:3: source app-0: format auto needs files"},
		{"duplicate name", "sources:\n  - {name: a, kind: app, paths: [x]}\n  - {name: a, kind: app, paths: [y]}\n", "cfg.yml:3: source name \"a\" is also used"},
		{"identity", "join:\n  identity: [sha1, md5]\n", "cfg.yml:2: unknown identity \"md5\""},
		{"rules mode", "rules:\n  mode: merge\n", "cfg.yml:2: unknown rules mode \"merge\""},
		{"replace without files", "rules:\n  mode: replace\n", "cfg.yml:2: rules mode replace needs"},
		{"privacy", "privacy:\n  mode: hash\n", "cfg.yml:2: unknown privacy mode \"hash\""},
		{"output type", "outputs:\n  - path: x\n", "cfg.yml:2: outputs[0]: type is required"},
		{"output kind", "outputs:\n  - type: email\n", "cfg.yml:2: outputs[0]: unknown type \"email\""},
		{"file output without path", "outputs:\n  - type: file\n", "cfg.yml:2: outputs[0]: file: path is required"},
		{"output min_severity", "outputs:\n  - type: stdout\n  - type: stdout\n    min_severity: urgent\n", "cfg.yml:4: outputs[1]: unknown min_severity \"urgent\""},
		{"webhook without spool_dir", "outputs:\n  - type: webhook\n    url: http://x\n", "cfg.yml:2: outputs[0]: webhook: spool_dir is required"},
		{"syslog network", "outputs:\n  - type: syslog\n    network: carrier-pigeon\n    address: x:514\n", "cfg.yml:3: outputs[0]: syslog: unknown network \"carrier-pigeon\""},
		{"syslog facility", "outputs:\n  - type: syslog\n    network: udp\n    address: x:514\n    facility: kern9\n", "outputs[0]: syslog: unknown facility \"kern9\""},
		{"kafka output without topic", "outputs:\n  - type: kafka\n    brokers: [b:9092]\n", "outputs[0]: kafka: topic is required"},
		{"unknown output key", "outputs:\n  - type: file\n    file: x\n", `cfg.yml:3: outputs[0]: unknown key "file" (known: address, alertname,`},
		{"empty login paths", "join:\n  login_paths: []\n", "cfg.yml:2: login_paths must not be empty"},
		{"negative report_top", "replay:\n  report_top: -1\n", "cfg.yml:2: report_top must not be negative"},
		{"negative limit", "limits:\n  max_groups: -1\n", "cfg.yml:1: limits must not be negative"},
		{"negative lanes", "replay:\n  lanes: -2\n", "cfg.yml:2: lanes must not be negative"},
		{"huge join_window", "join:\n  join_window: 100000h\n", "cfg.yml:2: join_window 100000h0m0s: expected at most 24h0m0s (logs whose times disagree by more want their time_zone set)"},
		{"huge max_line_bytes", "limits:\n  max_groups: 3\n  max_line_bytes: 99999999999999\n", "cfg.yml:3: max_line_bytes 99999999999999: expected at most 16777216 (16 MiB; 0: 262144)"},
		{"max_line_bytes past the limit", "limits:\n  max_line_bytes: 16777217\n", "cfg.yml:2: max_line_bytes 16777217: expected at most 16777216"},
		{"fractional limit", "limits:\n  max_groups: 2.5\n", "cfg.yml:2: limits: max_groups: expected an integer, not `2.5`"},
		{"fractional join setting", "join:\n  max_pending: 1e3\n", "cfg.yml:2: join: max_pending: expected an integer, not `1e3`"},
		{"fractional lanes", "replay:\n  lanes: 1.5\n", "cfg.yml:2: replay: lanes: expected an integer, not `1.5`"},
		{"fractional output setting", "outputs:\n  - type: file\n    path: x\n    keep: 2.5\n    max_bytes: 1.5\n", "cfg.yml:4: outputs[0]: keep: expected an integer, not `2.5`\ncfg.yml:5: outputs[0]: max_bytes: expected an integer, not `1.5`"},
		{"fractional alb setting", "sources:\n  - kind: alb\n    access_paths: [a]\n    max_connections: 0.5\n", "cfg.yml:4: sources[0]: max_connections: expected an integer, not `0.5`"},
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

// TestBounds: a value at its limit is taken as written, and 0 is the
// default.
func TestBounds(t *testing.T) {
	tests := []struct {
		name, yml string
		got       func(*Config) any
		want      any
	}{
		{"join_window at its limit", "join:\n  join_window: 24h\n", func(c *Config) any { return c.Join.Window }, detect.MaxJoinWindow},
		{"join_window 0s", "join:\n  join_window: 0s\n", func(c *Config) any { return c.Join.Window }, detect.DefaultJoinWindow},
		{"max_line_bytes at its limit", "limits:\n  max_line_bytes: 16777216\n", func(c *Config) any { return c.Limits.MaxLineBytes }, ingest.MaxLineBytesLimit},
		{"max_line_bytes 0", "limits:\n  max_line_bytes: 0\n", func(c *Config) any { return c.Limits.MaxLineBytes }, ingest.DefaultMaxLineBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("c.yml", []byte(tt.yml))
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.got(c); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDecodeErrors: a value the decoder cannot take is reported at its
// line with the path of keys to it and what was expected, in words, one
// line per problem.
func TestDecodeErrors(t *testing.T) {
	const limits = "max_events_total, max_group_events, max_groups, max_groups_total, max_line_bytes, memory_limit"
	tests := []struct {
		name, yml string
		want      []string
	}{
		{"unknown top-level key", "sources: []\nlimit:\n  max_groups: 3\n", []string{
			`c.yml:2: unknown key "limit" (known: join, limits, outputs, privacy, replay, rules, sources, strict)`}},
		{"unknown nested key", "limits:\n  max_groupz: 3\n", []string{
			`c.yml:2: limits: unknown key "max_groupz" (known: ` + limits + ")"}},
		{"unknown key in a list", "sources:\n  - kind: proxy\n    paths: [a]\n    formt: nginx\n", []string{
			`c.yml:4: sources[0]: unknown key "formt" (known: access_paths, conn_paths, definition, definition_file, envelope, envelope_key, format, kind, lead, mapping, max_connections, name, paths, time_zone)`}},
		{"wrong scalar type", "join:\n  max_pending: abc\n", []string{
			"c.yml:2: join: max_pending: expected an integer, not `abc`"}},
		{"wrong boolean", "replay:\n  quiet: maybe\n", []string{
			"c.yml:2: replay: quiet: expected true or false, not `maybe`"}},
		{"bad duration", "join:\n  join_window: 5 minutes\n", []string{
			"c.yml:2: join: join_window: expected a duration such as 90s, 10m or 12h, not `5 minutes`"}},
		{"long bad duration", "replay:\n  max_time_jump: one hour or two\n", []string{
			"c.yml:2: replay: max_time_jump: expected a duration such as 90s, 10m or 12h, not `one hour or two`"}},
		{"duration without a unit", "join:\n  join_window: 300\n", []string{
			"c.yml:2: join: join_window: expected a duration such as 90s, 10m or 12h, not `300` (a number needs a unit, as in 300s)"}},
		{"bad duration in a source", "sources:\n  - kind: alb\n    access_paths: [a]\n    lead: soon\n", []string{
			"c.yml:4: sources[0]: lead: expected a duration such as 90s, 10m or 12h, not `soon`"}},
		{"list for a scalar", "replay:\n  lanes: [1]\n", []string{
			"c.yml:2: replay: lanes: expected an integer, not a list"}},
		{"list for a string", "privacy:\n  mode: [plain]\n", []string{
			"c.yml:2: privacy: mode: expected a string, not a list"}},
		{"mapping for a list", "join:\n  login_paths: {a: /login}\n", []string{
			"c.yml:2: join: login_paths: expected a list of strings, not a mapping"}},
		{"scalar for a mapping", "limits: 3\n", []string{
			"c.yml:1: limits: expected a mapping, not `3`"}},
		{"list for a mapping", "join: [a]\n", []string{
			"c.yml:1: join: expected a mapping, not a list"}},
		{"top level not a mapping", "[a]\n", []string{
			"c.yml:1: expected a mapping, not a list"}},
		{"fractional int", "limits:\n  max_groups: 2.5\n", []string{
			"c.yml:2: limits: max_groups: expected an integer, not `2.5`"}},
		{"two errors", "join:\n  join_window: soon\n  max_pendin: 3\n", []string{
			"c.yml:2: join: join_window: expected a duration such as 90s, 10m or 12h, not `soon`",
			`c.yml:3: join: unknown key "max_pendin" (known: identity, join_window, login_methods, login_paths, max_pending)`}},
		{"errors and a fraction", "strict: maybe\nlimits:\n  max_groups: 1.5\nbogus: 1\n", []string{
			"c.yml:1: strict: expected true or false, not `maybe`",
			"c.yml:3: limits: max_groups: expected an integer, not `1.5`",
			`c.yml:4: unknown key "bogus" (known: join, limits, outputs, privacy, replay, rules, sources, strict)`}},
		{"same value twice on a line", "sources:\n  - {kind: proxy, paths: [a], max_connections: x, name: x}\n  - {kind: proxy, paths: [b], max_connections: x}\n", []string{
			"c.yml:2: sources[0]: max_connections: expected an integer, not `x`",
			"c.yml:3: sources[1]: max_connections: expected an integer, not `x`"}},
		{"anchored value", "x: &w soon\njoin:\n  join_window: *w\n", []string{
			`c.yml:1: unknown key "x" (known: join, limits, outputs, privacy, replay, rules, sources, strict)`,
			"c.yml:1: join: join_window: expected a duration such as 90s, 10m or 12h, not `soon`"}},
		{"duplicate key", "join:\n  max_pending: 3\n  max_pending: 4\n", []string{
			`c.yml:3: join: mapping key "max_pending" already defined at line 2`}},
		{"syntax", "sources:\n  - kind: proxy\n   paths: x\n", []string{
			"c.yml:1: did not find expected '-' indicator"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yml", []byte(tt.yml))
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", got, strings.Join(tt.want, "\n"))
			}
			for _, goWord := range []string{"unmarshal", "not found in type", "!!", "time.Duration", "config.", "[]string", "int64"} {
				if strings.Contains(err.Error(), goWord) {
					t.Errorf("error names %q", goWord)
				}
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	dir := t.TempDir()
	nginxLog := filepath.Join("..", "samples", "data", "nginx-access.log")
	if _, err := os.Stat(nginxLog); err != nil {
		t.Fatal(err)
	}
	nginxLog, _ = filepath.Abs(nginxLog)
	tests := []struct {
		name, yml, want string
	}{
		{"bad log_format", "sources:\n  - kind: proxy\n    definition: \"log_format x '$remote_addr \\\"$request';\"\n    paths: [a]\n", "001/a: compiling proxy format nginx"},
		{"missing definition_file", "sources:\n  - kind: proxy\n    definition_file: nope.conf\n    paths: [a]\n", "001/a: reading definition_file"},
		{"bad outcome", "sources:\n  - kind: app\n    mapping: {outcomes: {x: maybe}}\n    paths: [a]\n", "outcome of action \"x\" is \"maybe\""},
		{"time zone of a detected nginx", "sources:\n  - kind: proxy\n    format: auto\n    time_zone: Europe/Berlin\n    paths: [" + nginxLog + "]\n", "nginx-access.log: time_zone: format nginx writes every time with a zone offset"},
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
