package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseOutputs(t *testing.T) {
	outs, err := ParseOutputs("o.yml", []byte("outputs:\n  - type: file\n    path: a.jsonl\n    min_severity: critical\n  - type: stdout\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || outs[0].Path != "a.jsonl" || outs[0].MinSeverity != "critical" || outs[1].Type != "stdout" {
		t.Errorf("outputs %+v", outs)
	}
	// Relative file names are relative to the file, as in a configuration
	// file; absolute ones stay.
	outs, err = ParseOutputs(filepath.Join("etc", "sw", "o.yml"), []byte("outputs:\n  - {type: file, path: alerts.jsonl}\n  - {type: webhook, url: \"http://x\", spool_dir: /var/spool/sw, secret_file: ../key}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("etc", "sw", "alerts.jsonl"); outs[0].Path != want {
		t.Errorf("path %s, want %s", outs[0].Path, want)
	}
	if outs[1].SpoolDir != "/var/spool/sw" || outs[1].SecretFile != filepath.Join("etc", "key") {
		t.Errorf("spool_dir %s, secret_file %s", outs[1].SpoolDir, outs[1].SecretFile)
	}
	outs, err = ParseOutputs(filepath.Join("etc", "sw", "o.yml"), []byte("outputs:\n  - {type: kafka, brokers: [k:9093], topic: t, tls: true, tls_ca_file: ca.pem, sasl_mechanism: scram-sha-512, sasl_username: sw, sasl_password_file: kafka.pass}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].TLSCAFile != filepath.Join("etc", "sw", "ca.pem") || outs[0].SASLPasswordFile != filepath.Join("etc", "sw", "kafka.pass") {
		t.Errorf("tls_ca_file %s, sasl_password_file %s", outs[0].TLSCAFile, outs[0].SASLPasswordFile)
	}
	for _, tt := range []struct {
		name, yml, want string
	}{
		{"empty", "", "o.yml: no outputs"},
		{"empty list", "outputs: []\n", "o.yml: no outputs"},
		{"unknown key in an output", "outputs:\n  - type: file\n    path: a\n    min_severty: critical\n", `o.yml:4: outputs[0]: unknown key "min_severty" (known: address,`},
		{"unknown top key", "outputs:\n  - type: stdout\nbogus: 1\n", `o.yml:3: unknown key "bogus" (known: outputs)`},
		{"syntax", "outputs:\n  - type: stdout\n   path: x\n", "o.yml:"},
		{"bad severity", "outputs:\n  - type: stdout\n  - type: stdout\n    min_severity: urgent\n", "o.yml:4: outputs[1]: unknown min_severity \"urgent\""},
		{"webhook without spool_dir", "outputs:\n  - {type: webhook, url: \"http://x\"}\n", "o.yml:2: outputs[0]: webhook: spool_dir is required"},
		{"fraction for an integer", "outputs:\n  - type: file\n    path: a\n    keep: 2.5\n", "o.yml:4: outputs[0]: keep: expected an integer, not `2.5`"},
		{"duplicate names", "outputs:\n  - {type: stdout, name: a}\n  - {type: file, name: a, path: x}\n", `o.yml:3: outputs[1]: name "a" is also the name of outputs[0]`},
		{"shared spool_dir", "outputs:\n  - {type: webhook, url: \"http://a\", spool_dir: spool}\n  - type: webhook\n    url: http://b\n    spool_dir: ./spool/\n", `o.yml:5: outputs[1]: webhook: spool_dir ./spool/ is also the spool_dir of outputs[0]: give each webhook output its own`},
		// A value Check refuses is placed at its key.
		{"webhook url", "outputs:\n  - type: webhook\n    spool_dir: s\n    url: soc.example.com/hook\n", `o.yml:4: outputs[0]: webhook: url "soc.example.com/..." is not an absolute http:// or https:// URL`},
		{"header value of a block scalar", "outputs:\n  - type: webhook\n    url: http://x\n    spool_dir: s\n    headers:\n      X-A: ok\n      Authorization: |\n        Bearer abc\n", `o.yml:7: outputs[0]: webhook: value of header "Authorization" holds the control character '\n' (a YAML block scalar "|" ends with a newline: use "|-" or a quoted string)`},
		{"url and header", "outputs:\n  - type: webhook\n    url: x\n    spool_dir: s\n    headers: {\"a b\": c}\n", `o.yml:5: outputs[0]: webhook: header name "a b" is not an HTTP token`},
		{"syslog address", "outputs:\n  - type: syslog\n    network: udp\n    address: siem\n", `o.yml:4: outputs[0]: syslog: address "siem" is not host:port`},
		{"syslog facility", "outputs:\n  - type: syslog\n    network: udp\n    address: siem:514\n    facility: kern9\n", `o.yml:5: outputs[0]: syslog: unknown facility "kern9"`},
		{"webhook tls over http", "outputs:\n  - type: webhook\n    url: http://x\n    spool_dir: s\n    tls_ca_file: ca.pem\n", `o.yml:5: outputs[0]: webhook: tls_ca_file applies only to an https:// url: without TLS it would be ignored`},
		{"alertmanager generator_url", "outputs:\n  - type: alertmanager\n    url: http://am:9093\n    generator_url: grafana/d/x\n", `o.yml:4: outputs[0]: alertmanager: generator_url "grafana/d/x" is not a URL Alertmanager takes`},
		{"alertmanager client certificate without key", "outputs:\n  - type: alertmanager\n    url: https://am:9093\n    tls_cert_file: c.pem\n", `o.yml:4: outputs[0]: alertmanager: tls_cert_file needs tls_key_file`},
		{"severity at its key", "outputs:\n  - type: stdout\n    name: a\n    min_severity: urgent\n", `o.yml:4: outputs[0]: unknown min_severity "urgent"`},
		{"kafka tls_* without tls", "outputs:\n  - type: kafka\n    brokers: [k:9093]\n    topic: t\n    tls_ca_file: ca.pem\n", `o.yml:5: outputs[0]: kafka: tls_ca_file applies only to an output with tls: true: without TLS it would be ignored`},
		{"kafka unknown sasl mechanism", "outputs:\n  - type: kafka\n    brokers: [k:9093]\n    topic: t\n    sasl_mechanism: gssapi\n", `o.yml:5: outputs[0]: kafka: unknown SASL mechanism "gssapi"`},
		{"sasl on a webhook", "outputs:\n  - type: webhook\n    url: https://x\n    spool_dir: s\n    sasl_username: sw\n", `o.yml:5: outputs[0]: webhook: sasl_username applies only to a kafka output`},
		{"tls_* on a file", "outputs:\n  - type: file\n    path: a\n    tls_cert_file: c.pem\n", `o.yml:4: outputs[0]: file: tls_cert_file applies only to an output that connects (webhook, alertmanager, kafka or syslog): a file output makes no connection`},
		{"tls_* on stdout", "outputs:\n  - type: stdout\n    name: out\n    tls_ca_file: ca.pem\n", `o.yml:4: outputs[0]: stdout: tls_ca_file applies only to an output that connects`},
		{"tls on syslog", "outputs:\n  - type: syslog\n    network: tcp\n    address: siem:514\n    tls: true\n", `o.yml:5: outputs[0]: syslog: tls applies only to a kafka output (network: tls turns TLS on)`},
		{"negative queue_size", "outputs:\n  - type: syslog\n    network: tcp\n    address: siem:514\n    queue_size: -5\n", `o.yml:5: outputs[0]: syslog: queue_size must not be negative (0, or no queue_size, is the default)`},
		{"negative duration", "outputs:\n  - type: alertmanager\n    url: http://am:9093\n    retry_max: -30s\n", `o.yml:4: outputs[0]: alertmanager: retry_max must not be negative`},
	} {
		_, err := ParseOutputs("o.yml", []byte(tt.yml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestParseOutputsDecodeErrors: an outputs file's values the decoder
// cannot take are reported as a configuration file's are.
func TestParseOutputsDecodeErrors(t *testing.T) {
	const known = "(known: address, alertname, app_name, batch_timeout, brokers, drain_timeout, facility, format, generator_url, headers, hostname, jitter_seed, keep, max_attempts, max_bytes, min_severity, name, network, path, queue_size, resend_interval, retry_initial, retry_max, rules, sasl_mechanism, sasl_password_env, sasl_password_file, sasl_username, secret_env, secret_file, spool_dir, spool_max_bytes, timeout, tls, tls_ca_file, tls_cert_file, tls_key_file, tls_server_name, topic, type, url)"
	tests := []struct {
		name, yml string
		want      []string
	}{
		{"unknown top-level key", "outputs:\n  - type: stdout\nsinks: []\n", []string{
			`o.yml:3: unknown key "sinks" (known: outputs)`}},
		{"unknown key in an output", "outputs:\n  - type: stdout\n  - type: file\n    paht: a\n", []string{
			`o.yml:4: outputs[1]: unknown key "paht" ` + known}},
		{"wrong scalar type", "outputs:\n  - type: file\n    path: a\n    keep: many\n", []string{
			"o.yml:4: outputs[0]: keep: expected an integer, not `many`"}},
		{"bad duration", "outputs:\n  - type: webhook\n    timeout: 3 secs\n", []string{
			"o.yml:3: outputs[0]: timeout: expected a duration such as 90s, 10m or 12h, not `3 secs`"}},
		{"duration without a unit", "outputs:\n  - type: webhook\n    retry_max: 30\n", []string{
			"o.yml:3: outputs[0]: retry_max: expected a duration such as 90s, 10m or 12h, not `30` (a number needs a unit, as in 30s)"}},
		{"list for a scalar", "outputs:\n  - type: [stdout]\n", []string{
			"o.yml:2: outputs[0]: type: expected a string, not a list"}},
		{"mapping for a list", "outputs:\n  - type: kafka\n    brokers: {a: b}\n", []string{
			"o.yml:3: outputs[0]: brokers: expected a list of strings, not a mapping"}},
		{"list for a mapping", "outputs:\n  - type: webhook\n    headers: [a]\n", []string{
			"o.yml:3: outputs[0]: headers: expected a mapping, not a list"}},
		{"mapping for the list", "outputs:\n  type: stdout\n", []string{
			"o.yml:2: outputs: expected a list, not a mapping"}},
		{"not a mapping", "- type: stdout\n", []string{
			"o.yml:1: expected a mapping, not a list"}},
		{"fractional int", "outputs:\n  - type: file\n    path: a\n    max_bytes: 1e6\n", []string{
			"o.yml:4: outputs[0]: max_bytes: expected an integer, not `1e6`"}},
		{"two errors", "outputs:\n  - type: webhook\n    timeout: soon\n    urll: http://x\n", []string{
			"o.yml:3: outputs[0]: timeout: expected a duration such as 90s, 10m or 12h, not `soon`",
			`o.yml:4: outputs[0]: unknown key "urll" ` + known}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseOutputs("o.yml", []byte(tt.yml))
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", got, strings.Join(tt.want, "\n"))
			}
			for _, goWord := range []string{"unmarshal", "not found in type", "!!", "time.Duration", "alert.", "struct", "[]string"} {
				if strings.Contains(err.Error(), goWord) {
					t.Errorf("error names %q", goWord)
				}
			}
		})
	}
}

// TestWriteErrors: files the configuration writes whose directory does not
// exist, or that name a directory, are reported at their key's line. The
// replay settings are checked for replay only: serve ignores them.
func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plain"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sw.yml")
	const src = "sources:\n  - {kind: proxy, paths: [a.log]}\n"
	const replaySettings = "replay:\n  report: x/r.html\n  cpu_profile: y/cpu.pprof\n  mem_profile: z/mem.pprof\n"
	missingOutput := path + ":4: outputs[0] (file-0): path " + filepath.Join(dir, "nope/alerts.jsonl") + ": directory " + filepath.Join(dir, "nope") + " does not exist"
	for _, tt := range []struct {
		name, yml string
		use       Use
		want      []string // every error, in part
	}{
		{"fine", "outputs:\n  - type: file\n    path: alerts.jsonl\nreplay:\n  report: r.html\n", UseReplay, nil},
		{"stdout and webhook spool", "outputs:\n  - {type: stdout}\n  - {type: webhook, url: \"http://x\", spool_dir: no/such/dir}\n", UseReplay, nil},
		{"output directory missing", "outputs:\n  - type: stdout\n  - type: file\n    name: archive\n    path: nope/alerts.jsonl\n", UseReplay,
			[]string{path + ":7: outputs[1] (archive): path " + filepath.Join(dir, "nope/alerts.jsonl") + ": directory " + filepath.Join(dir, "nope") + " does not exist"}},
		{"output is a directory", "outputs:\n  - {type: file, path: " + dir + "}\n", UseReplay,
			[]string{path + ":4: outputs[0] (file-0): path " + dir + " is a directory: expected a file name"}},
		{"directory is a file", "outputs:\n  - {type: file, path: plain/a.jsonl}\n", UseReplay,
			[]string{"outputs[0] (file-0): path " + filepath.Join(dir, "plain/a.jsonl") + ": " + filepath.Join(dir, "plain") + " is not a directory"}},
		{"report and profiles", replaySettings, UseReplay,
			[]string{path + ":4: replay.report " + filepath.Join(dir, "x/r.html") + ": directory " + filepath.Join(dir, "x") + " does not exist",
				path + ":5: replay.cpu_profile", path + ":6: replay.mem_profile"}},
		{"report and profiles, serve following files", replaySettings, UseFollow, nil},
		{"report and profiles, serve reading Kafka", replaySettings, UseKafka, nil},
		{"output directory missing, serve", "outputs:\n  - {type: file, path: nope/alerts.jsonl}\n" + replaySettings, UseFollow,
			[]string{missingOutput}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(path, []byte(src+tt.yml))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, err := range c.WriteErrors(tt.use) {
				got = append(got, err.Error())
			}
			all := strings.Join(got, "\n")
			if len(got) != len(tt.want) {
				t.Errorf("%d errors, want %d:\n%s", len(got), len(tt.want), all)
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("errors\n%s\nlack %q", all, w)
				}
			}
		})
	}
}
