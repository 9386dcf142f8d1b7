package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/spraywatch/spraywatch/config"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/serve"
)

// portalMapping is the app source of a structlog application with its own
// key names, shipped by Filebeat (the line in event.original).
const portalMapping = `    format: django-json
    mapping:
      keys:
        time: "@timestamp"
        request_id: http.request_id
        username: user.name
        action: event
        source_ip: client.ip
      outcomes:
        auth.login.ok: success
        auth.login.bad_password: failure
        auth.login.locked: failure
    envelope_key: event.original
`

// writePortalLog writes the sample day's Django log as the portal
// application would: other key names, nested objects, other actions, each
// line inside a shipper's envelope.
func writePortalLog(t *testing.T, path string) { writePortalLogPadded(t, path, 0) }

// writePortalLogPadded is writePortalLog with pad bytes added to every
// username: over alert.MaxValueBytes, the alerts' usernames are cut.
func writePortalLogPadded(t *testing.T, path string, pad int) {
	t.Helper()
	actions := map[string]string{"login_succeeded": "auth.login.ok", "login_failed": "auth.login.bad_password", "user_locked_out": "auth.login.locked"}
	var out bytes.Buffer
	for _, l := range fileLines(t, sampleApp) {
		var d map[string]any
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatal(err)
		}
		m := map[string]any{"@timestamp": d["timestamp"], "level": d["level"], "logger": d["logger"]}
		if a, ok := actions[d["event"].(string)]; ok {
			m["event"] = a
		} else {
			m["event"] = d["event"]
		}
		if v, ok := d["request_id"]; ok {
			m["http"] = map[string]any{"request_id": v}
		}
		if v, ok := d["username"]; ok {
			m["user"] = map[string]any{"name": v.(string) + strings.Repeat("~", pad)}
		}
		if v, ok := d["ip"]; ok {
			m["client"] = map[string]any{"ip": v}
		}
		line, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		env, err := json.Marshal(map[string]any{"event": map[string]any{"original": string(line)}, "host": map[string]any{"name": "web1"}})
		if err != nil {
			t.Fatal(err)
		}
		out.Write(env)
		out.WriteByte('\n')
	}
	writeFile(t, path, out.String())
}

// portalConfig writes, in a directory of its own, the sample day as the
// nginx log and the portal application's log, and a configuration reading
// them by relative paths, with a file output relative to it too. It
// returns the configuration's path.
func portalConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(sampleProxy)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "logs", "access.log"), string(b))
	writePortalLog(t, filepath.Join(dir, "logs", "portal.jsonl"))
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, `sources:
  - name: edge
    kind: proxy
    paths: [logs/access.log]
  - name: portal
    kind: app
`+portalMapping+`    paths: [logs/portal.jsonl]
outputs:
  - type: file
    path: alerts.jsonl
replay:
  quiet: true
`)
	return cfg
}

// serveUntil runs serve with args until the file out holds want bytes
// (or a minute passed), stops it and returns the file's bytes and serve's
// stderr.
func serveUntil(t *testing.T, out string, want int, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	// A loaded machine may starve one file's reader for a while: the other
	// file's records must still wait for it, as replay's order has them.
	args = append([]string{"serve", "--listen", "", "--idle-timeout", "10s"}, args...)
	go func() { done <- run(ctx, args, &stdout, &stderr) }()
	deadline := time.Now().Add(time.Minute)
	for {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before writing its alerts: %s", code, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if st, err := os.Stat(out); (err == nil && st.Size() >= int64(want)) || time.Now().After(deadline) {
			break
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if stdout.Len() > 0 {
		t.Errorf("serve wrote %d bytes on stdout, not to its output", stdout.Len())
	}
	return string(b), stderr.String()
}

// A configuration file read by replay and by serve following files gives
// the same alerts, byte for byte: an app log with its own key names inside
// an envelope, paths and outputs relative to the file. Flags override the
// file in both.
func TestServeConfigMatchesReplay(t *testing.T) {
	cfg := portalConfig(t)
	dir := filepath.Dir(cfg)
	golden, err := os.ReadFile(filepath.Join("testdata", "samples.alerts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"replay", "--config", cfg}, &stdout, &stderr); code != 0 {
		t.Fatalf("replay exited %d: %s", code, stderr.String())
	}
	want, err := os.ReadFile(filepath.Join(dir, "alerts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	// The mapping reads what the default keys read in the sample day.
	if !bytes.Equal(want, golden) {
		t.Fatalf("replay --config wrote %d bytes of alerts, the sample day's are %d", len(want), len(golden))
	}
	if err := os.Remove(filepath.Join(dir, "alerts.jsonl")); err != nil {
		t.Fatal(err)
	}

	got, log := serveUntil(t, filepath.Join(dir, "alerts.jsonl"), len(want), "--config", cfg)
	if got != string(want) {
		t.Errorf("serve --config wrote %d bytes of alerts, replay --config %d; serve's log:\n%s", len(got), len(want), log)
		firstDifference(t, got, string(want))
	}
	checkContains(t, "serve's log", log,
		"sw.yml:25: replay.quiet applies to replay only: serve following files ignores it",
		"proxy="+filepath.Join(dir, "logs", "access.log"), "app="+filepath.Join(dir, "logs", "portal.jsonl"))

	// Flags override the file: another output, usernames omitted, the
	// proxy files given on the command line.
	if err := os.Remove(filepath.Join(dir, "alerts.jsonl")); err != nil {
		t.Fatal(err)
	}
	replayOut, serveOut := filepath.Join(dir, "replay-omit.jsonl"), filepath.Join(dir, "serve-omit.jsonl")
	over := []string{"--config", cfg, "--privacy", "omit", "--proxy-file", sampleProxy}
	if code := run(context.Background(), []string{"replay", "--config", cfg, "--privacy", "omit", "--proxy", sampleProxy, "--out", replayOut}, &stdout, &stderr); code != 0 {
		t.Fatalf("replay exited %d: %s", code, stderr.String())
	}
	want, err = os.ReadFile(replayOut)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 || bytes.Contains(want, []byte(`"user.name":["`)) {
		t.Fatalf("replay --privacy omit: %d bytes, usernames shown", len(want))
	}
	got, log = serveUntil(t, serveOut, len(want), append(over, "--out", serveOut)...)
	if got != string(want) {
		t.Errorf("serve with flags over the file wrote %d bytes of alerts, replay %d; serve's log:\n%s", len(got), len(want), log)
		firstDifference(t, got, string(want))
	}
	checkContains(t, "serve's log", log, "proxy="+sampleProxy)
	if _, err := os.Stat(filepath.Join(dir, "alerts.jsonl")); err == nil {
		t.Error("--out did not replace the file's outputs")
	}
}

// The errors of settings serve cannot run with, given before anything is
// read or connected to.
func TestServeConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, yml string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, yml)
		return p
	}
	follow := write("follow.yml", "sources:\n  - {name: edge, kind: proxy, paths: [a.log]}\n  - {name: django, kind: app, paths: [b.log]}\n")
	kafka := write("kafka.yml", "sources:\n  - {name: edge, kind: proxy, format: envoy}\n  - {name: django, kind: app, envelope: message}\n")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"role with paths", []string{"--config", follow, "--role", "correlate"},
			"--role correlate reads Kafka topics (following files runs every stage): " + follow + ":2: source edge: paths are for replay and for serve following files"},
		{"alb", []string{"--config", write("alb.yml", "sources:\n  - {kind: alb, access_paths: [a.log]}\n  - {kind: app, paths: [b.log]}\n")},
			"alb.yml:2: source alb-0: kind alb is read by replay only: serve has no reader for ALB logs"},
		{"auto format in Kafka", []string{"--config", write("auto.yml", "sources:\n  - kind: proxy\n    format: auto\n")},
			"auto.yml:3: source proxy-0: format auto samples the source's files: name the format of the topic's lines"},
		{"auto envelope in Kafka", []string{"--config", write("autoenv.yml", "sources:\n  - kind: app\n    envelope: auto\n")},
			"autoenv.yml:3: source app-0: envelope auto samples the source's files"},
		{"auto format flag in Kafka", []string{"--app-format", "auto"},
			"--app-format auto detects the format from files: name the format of the --app-topic lines"},
		{"two app sources", []string{"--config", write("two.yml", "sources:\n  - {kind: proxy, paths: [a.log]}\n  - {name: x, kind: app, paths: [b.log]}\n  - {name: y, kind: app, paths: [c.log]}\n")},
			"two.yml:4: source y: serve reads a single app source, and source x is one already"},
		{"one kind with paths", []string{"--config", write("one.yml", "sources:\n  - {kind: app, paths: [b.log]}\n")},
			"one.yml:1: serve following files needs a proxy source with paths"},
		{"paths in part", []string{"--config", kafka, "--proxy-file", "a.log"},
			"kafka.yml:3: source django: paths is required to follow files"},
		{"format flag without files", []string{"--config", follow, "--log-format", "log_format x '$remote_addr';"},
			"--log-format applies to the --proxy-file files of the command line; with --config, give --proxy-file too or set it in the file's proxy source"},
		{"unknown key", []string{"--config", write("typo.yml", "sources:\n  - {kind: proxy, paths: [a.log], envelop: log}\n")},
			`typo.yml:2: sources[0]: unknown key "envelop" (known: `},
		{"unknown routed rule", []string{"--config", write("routed.yml", "outputs:\n  - {type: stdout, rules: [no-such-rule]}\n")},
			`routed.yml: outputs[0] (stdout-0): routes rule "no-such-rule"`},
		{"rules mode from the flags", []string{"--config", kafka, "--rules-mode", "replace"}, "--rules-mode replace needs at least one --rules file"},
		{"missing privacy key", []string{"--config", write("hmac.yml", "privacy: {mode: hmac, key_file: key}\n")},
			"reading the username HMAC key: open " + filepath.Join(dir, "key")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"serve", "--listen", "", "--brokers", "127.0.0.1:1"}, tt.args...)
			if code := run(context.Background(), args, &out, &errb); code != 1 || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 containing %q", code, errb.String(), tt.want)
			}
		})
	}
}

// In Kafka mode the file's sources give the formats of the topics' lines,
// mappings and envelopes included; a source flag replaces the file's
// source of its kind.
func TestServeConfigKafkaFormats(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, "sources:\n  - name: portal\n    kind: app\n"+portalMapping)
	portal := filepath.Join(dir, "portal.jsonl")
	writePortalLog(t, portal)
	line := []byte(fileLines(t, portal)[0])
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	load := func(args ...string) (servedSource, servedSource) {
		t.Helper()
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		var f serveFlags
		f.register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		conf, use, err := serveConfig(fs, &f, serve.RoleAll, log)
		if err != nil {
			t.Fatal(err)
		}
		if use != config.UseKafka {
			t.Fatalf("%s, want %s", use, config.UseKafka)
		}
		proxy, app, err := compileSources(conf, log)
		if err != nil {
			t.Fatal(err)
		}
		return proxy, app
	}

	proxy, app := load("--config", cfg)
	if got := proxy.comp.Format.Name(); got != "nginx" {
		t.Errorf("proxy format %s, want the flag's default, nginx", got)
	}
	if got := app.comp.Format.Name(); got != "django-json+event.original" {
		t.Errorf("app format %s, want django-json+event.original", got)
	}
	var r event.Record
	r.Kind = event.App
	if err := app.comp.Format.NewParser().Parse(line, &r); err != nil {
		t.Fatalf("parsing %s: %v", line, err)
	}
	if got := r.Get(event.UserName); len(got) == 0 || r.Get(event.Outcome) == nil || len(r.Get(event.RequestID)) == 0 {
		t.Errorf("record %+v: user, outcome or request id missing", &r)
	}

	proxy, app = load("--config", cfg, "--app-envelope", "message", "--proxy-format", "envoy-json")
	if proxy.comp.Format.Name() != "envoy-json" || app.comp.Format.Name() != "django-json+message" {
		t.Errorf("formats with flags over the file: %s, %s", proxy.comp.Format.Name(), app.comp.Format.Name())
	}
}

// firstDifference reports the first alert line where serve's output differs
// from replay's.
func firstDifference(t *testing.T, serve, replay string) {
	t.Helper()
	s, r := strings.Split(serve, "\n"), strings.Split(replay, "\n")
	for i := range max(len(s), len(r)) {
		var a, b string
		if i < len(s) {
			a = s[i]
		}
		if i < len(r) {
			b = r[i]
		}
		if a != b {
			t.Errorf("first difference at alert %d:\nserve:  %s\nreplay: %s", i, a, b)
			return
		}
	}
}

// serve --config in Kafka mode reads the topics with the file's formats:
// the sample day sent to the proxy topic as nginx lines and to the app topic
// as the portal application's enveloped lines gives replay --config's
// alerts over the same lines, byte for byte.
func TestServeConfigKafkaMatchesReplay(t *testing.T) {
	cfg := portalConfig(t)
	dir := filepath.Dir(cfg)
	// Usernames longer than an alert keeps: both commands cut them alike.
	writePortalLogPadded(t, filepath.Join(dir, "logs", "portal.jsonl"), 1100)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"replay", "--config", cfg}, &stdout, &stderr); code != 0 {
		t.Fatalf("replay exited %d: %s", code, stderr.String())
	}
	want, err := os.ReadFile(filepath.Join(dir, "alerts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 || !bytes.Contains(want, []byte(`"truncated":`)) {
		t.Fatal("replay --config wrote no alerts with values cut: the test would prove nothing")
	}

	// One partition a topic: each topic holds its file's lines in order.
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(500*time.Millisecond),
		kfake.SeedTopics(1, "proxy", "app", serve.DefaultEventsTopic, serve.DefaultSubnetTopic)) // listens on 127.0.0.1
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := strings.Join(c.ListenAddrs(), ",")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stderr.Reset()
	// The app lines do not parse as django-json: they go out unkeyed, which
	// one partition does not mind.
	args := []string{"produce", "--brokers", brokers, "--proxy-topic", "proxy", "--app-topic", "app", "--rate", "0",
		"--proxy", filepath.Join(dir, "logs", "access.log"), "--app", filepath.Join(dir, "logs", "portal.jsonl")}
	if code := run(ctx, args, &stderr, &stderr); code != 0 {
		t.Fatalf("produce exited %d: %s", code, stderr.String())
	}

	// The same sources without paths: serve reads them from the topics.
	kcfg := filepath.Join(dir, "kafka.yml")
	writeFile(t, kcfg, `sources:
  - name: edge
    kind: proxy
    format: nginx
  - name: portal
    kind: app
`+portalMapping+`outputs:
  - type: file
    path: kafka-alerts.jsonl
`)
	got, log := serveUntil(t, filepath.Join(dir, "kafka-alerts.jsonl"), len(want), "--config", kcfg,
		"--brokers", brokers, "--proxy-topic", "proxy", "--app-topic", "app", "--session-timeout", "3s")
	if got != string(want) {
		t.Errorf("serve --config from Kafka wrote %d bytes of alerts, replay --config %d; serve's log:\n%s", len(got), len(want), log)
		firstDifference(t, got, string(want))
	}
}
