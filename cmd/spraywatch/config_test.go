package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/rules"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkContains fails t for each of wants that got, the command's what
// ("output", "summary"), lacks.
func checkContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(got, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, got)
		}
	}
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A configuration file describing the sample day gives the same alerts as
// the flags; flags override the file.
func TestReplayConfigMatchesFlags(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, `sources:
  - name: edge
    kind: proxy
    format: auto
    paths: [`+abs(t, "../../samples/data/nginx-access.log")+`]
  - name: django
    kind: app
    paths: [`+abs(t, "../../samples/data/django-auth.log")+`]
join:
  join_window: 60s
`)
	want, _ := replaySamples(t, "--quiet")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"replay", "--config", cfg}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if out.String() != want || want == "" {
		t.Errorf("alerts with --config differ from the flags' (%d vs %d bytes)", out.Len(), len(want))
	}
	checkContains(t, "summary", errb.String(), "nginx (detected) edge ", "detected: proxy edge: nginx (from 20 lines)", "django-json  django ")
	// Flags override the file.
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"replay", "--config", cfg, "--quiet", "--identity", "subject", "--rules-mode", "replace"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "--rules-mode replace needs") {
		t.Errorf("flag over file: exit %d, %s", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"replay", "--config", cfg, "--quiet", "--privacy", "omit"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if out.String() == want || strings.Contains(out.String(), `"user.name":["`) {
		t.Errorf("--privacy omit over the file did not change the alerts")
	}
	// The file's outputs: a file output gets the same alerts.
	withOut := filepath.Join(dir, "out.yml")
	b, _ := os.ReadFile(cfg)
	writeFile(t, withOut, string(b)+"outputs:\n  - {type: file, path: alerts.jsonl}\n")
	out.Reset()
	if code := run(context.Background(), []string{"replay", "--config", withOut, "--quiet"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if got, err := os.ReadFile(filepath.Join(dir, "alerts.jsonl")); err != nil || string(got) != want || out.Len() != 0 {
		t.Errorf("file output: %v, %d bytes (want %d), %d bytes on stdout", err, len(got), len(want), out.Len())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"replay", "--config", cfg, "--proxy-format", "envoy"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "--proxy-format applies to the --proxy files") {
		t.Errorf("--proxy-format without --proxy: exit %d, %s", code, errb.String())
	}
}

func TestReplayConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, "sources:\n  - kind: proxy\n    paths: [a.log]\n    colour: blue\n")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"replay", "--config", cfg}, &out, &errb); code != 1 || !strings.Contains(errb.String(), `sw.yml:4: sources[0]: unknown key "colour" (known: `) {
		t.Errorf("exit %d, %s", code, errb.String())
	}
	writeFile(t, cfg, "join: {join_window: 5s}\n")
	errb.Reset()
	if code := run(context.Background(), []string{"replay", "--config", cfg}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no log sources") {
		t.Errorf("exit %d, %s", code, errb.String())
	}
}

// ALB sources join access and connection logs; the summary shows the join,
// and django-axes sources their masked values and ambiguous lines.
func TestReplayConfigALBAndAxes(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, `sources:
  - name: lb
    kind: alb
    conn_paths: [`+abs(t, "../../ingest/alb/testdata/conn_log.log")+`]
    access_paths: [`+abs(t, "../../ingest/alb/testdata/access.log")+`]
  - name: axes
    kind: app
    format: django-axes
    envelope: auto
    paths: [axes.log]
`)
	writeFile(t, filepath.Join(dir, "axes.log"), `{"log":"AXES: New login failure by {username: \"********************\", ip_address: \"********************\", user_agent: \"curl/8.5.0\", path_info: \"/accounts/login/\"}. Creating new record in the cache.\n","stream":"stderr","time":"2026-12-04T09:00:02.000000000Z"}
{"log":"AXES: New login failure by {username: \"bob\", ip_address: \"203.0.113.9\", user_agent: \"curl/8.5.0\", path_info: \"/accounts/login/\"}. Creating new record in the cache.\n","stream":"stderr","time":"2026-12-04T09:00:03.000000000Z"}
{"log":"AXES: New login failure by {username: \"carol\", ip_address: \"203.0.113.9\", user_agent: \"x\", ip_address: \"198.51.100.1\", path_info: \"/accounts/login/\"}. Creating new record in the cache.\n","stream":"stderr","time":"2026-12-04T09:00:04.000000000Z"}
`)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"replay", "--config", cfg}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s := errb.String()
	checkContains(t, "summary", s, "alb lb: 5 joined to a connection, 1 unjoined, 2 without conn_trace_id", "connection logs ", "django-axes+log (detected) axes", "django-axes+log axes: 1 line with masked values", "django-axes+log axes: 1 line with an ambiguous client string (username or address left empty", "detected: app axes: django-axes in a log envelope")
}

// Traefik sources count the certificate headers they ignore.
func TestReplayConfigTraefikIgnoredHeaders(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, `sources:
  - name: edge
    kind: proxy
    format: traefik
    paths: [`+abs(t, "../../ingest/traefik/testdata/access.log")+`]
`)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"replay", "--config", cfg}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	checkContains(t, "summary", errb.String(), "traefik edge: 2 lines with certificate headers ignored")
}

// A format found inside an envelope by --proxy-format auto is read with
// that envelope, though the flags name none.
func TestReplayAutoFormatInEnvelope(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../samples/data/nginx-access.log")
	if err != nil {
		t.Fatal(err)
	}
	var docker bytes.Buffer
	for _, l := range strings.SplitAfter(string(src), "\n") {
		if l == "" {
			continue
		}
		b, err := json.Marshal(map[string]string{"log": l, "stream": "stdout"})
		if err != nil {
			t.Fatal(err)
		}
		docker.Write(append(b, '\n'))
	}
	proxy := filepath.Join(dir, "docker.log")
	writeFile(t, proxy, docker.String())
	var want, out, errb bytes.Buffer
	if code := run(context.Background(), []string{"replay", "--quiet", "--proxy", "../../samples/data/nginx-access.log", "--app", "../../samples/data/django-auth.log"}, &want, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if code := run(context.Background(), []string{"replay", "--proxy-format", "auto", "--proxy", proxy, "--app", "../../samples/data/django-auth.log"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	checkContains(t, "summary", errb.String(), "nginx in a log envelope", " 0 rejected (0 too long)")
	if out.String() != want.String() {
		t.Errorf("alerts from the enveloped log differ from the bare log's (%d and %d bytes)", out.Len(), want.Len())
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	writeFile(t, good, `sources:
  - name: edge
    kind: proxy
    paths: [`+abs(t, "../../samples/data/nginx-access.log")+`]
  - name: django
    kind: app
    format: auto
    paths: [`+abs(t, "../../samples/data/django-auth.log")+`]
`)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"config", "check", good}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	checkContains(t, "output", out.String(),
		"good.yml: 2 sources",
		"source edge (kind proxy, line 2)",
		`nginx-access.log:3: @timestamp=2026-12-04T00:05:08Z http.request.id="ea69c0e28f8b9fbc15dc0928945f74ee" source.ip="198.51.100.10" tls.client.subject="CN=alice.dubois,OU=Devices,O=Example Corp,C=US"`,
		"format: django-json (detected: django-json)",
		`django-auth.log:1: @timestamp=2026-12-04T00:24:54.132545Z http.request.id="c8d16e90f76abe74cde283cc59528467" source.ip="10.0.5.10" user.name="wendy.ivanova" event.outcome="success"`,
	)
	if n := strings.Count(out.String(), "nginx-access.log:"); n != 5 {
		t.Errorf("%d proxy lines shown, want 5", n)
	}

	// A source whose lines its format cannot read, and one with no file.
	bad := filepath.Join(dir, "bad.yml")
	writeFile(t, filepath.Join(dir, "envoy.log"), "not an envoy line\n")
	writeFile(t, bad, "sources:\n  - {name: e, kind: proxy, format: envoy, paths: [envoy.log]}\n  - {name: m, kind: app, paths: [missing.log]}\n"+
		"  - {name: lb, kind: alb, conn_paths: ["+abs(t, "../../ingest/alb/testdata/conn_log.log")+"], access_paths: ["+abs(t, "../../ingest/alb/testdata/access.log")+"]}\n")
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"config", "check", bad}, &out, &errb); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	checkContains(t, "output", out.String()+errb.String(), `envoy.log:1: error: column 1: expected "[" before %START_TIME%`, `missing.log" does not exist`,
		`source lb (kind alb, line 4)`, `access record 1: @timestamp=2026-12-04T09:00:01.123456Z http.request.id="1-6751a0b1-1d84f3d73c47ec4e58577259" source.ip="203.0.113.7" source.port="52344" tls.client.subject="CN=svc-batch-01,O=Example Corp,C=US"`,
		`conn_log.log:6:83: expected "leaf_client_cert_subject" in quotes`, "alb lb: 4 joined to a connection, 1 unjoined", "3 problems")
	// An output routed to a rule that is not in force would never receive anything.
	routed := filepath.Join(dir, "routed.yml")
	writeFile(t, routed, "sources:\n  - {name: edge, kind: proxy, paths: ["+abs(t, "../../samples/data/nginx-access.log")+"]}\n"+
		"outputs:\n  - {type: stdout, rules: [cert-identity-spray, spray.distinct_users]}\n")
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"config", "check", routed}, &out, &errb); code != 1 ||
		!strings.Contains(out.String(), `outputs[0] (stdout-0): routes rule "spray.distinct_users"`) || strings.Contains(out.String(), `"cert-identity-spray", which`) {
		t.Errorf("unknown routed rule: exit %d:\n%s%s", code, out.String(), errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"config", "check", "-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "usage: spraywatch config check [--serve] FILE") {
		t.Errorf("config check -h: exit %d: %s", code, errb.String())
	}
	if code := run(context.Background(), []string{"config", "check"}, &out, &errb); code != 2 {
		t.Errorf("no file: exit %d, want 2", code)
	}
	if code := run(context.Background(), []string{"config", "check", filepath.Join(dir, "nope.yml")}, &out, &errb); code != 1 {
		t.Errorf("missing config: exit %d, want 1", code)
	}
}

func TestReplayAutoFormat(t *testing.T) {
	var out, errb bytes.Buffer
	args := []string{"replay", "--proxy-format", "auto", "--app-format", "auto", "--identity", "sha1",
		"--proxy", "../../crossformat/testdata/envoy.log", "--app", "../../crossformat/testdata/django.log"}
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	checkContains(t, "summary", errb.String(), "proxy envoy-json (detected) ../../crossformat/testdata/envoy.log: 221 lines, 221 parsed",
		"detected: proxy ../../crossformat/testdata/envoy.log: envoy-json (from 20 lines)", "detected: app ../../crossformat/testdata/django.log: django-json")
	if !strings.Contains(out.String(), `"rule":"cert-identity-spray"`) {
		t.Error("no spray alert")
	}

	bad := filepath.Join(t.TempDir(), "bad.log")
	writeFile(t, bad, "this is no proxy line\n")
	errb.Reset()
	if code := run(context.Background(), []string{"replay", "--proxy-format", "auto", "--proxy", bad}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "no known proxy log format reads the first lines") || !strings.Contains(errb.String(), "haproxy: reads 0 of 1 lines") {
		t.Errorf("exit %d: %s", code, errb.String())
	}
	// Nothing to look at: the default format.
	empty := filepath.Join(t.TempDir(), "empty.log")
	writeFile(t, empty, "")
	errb.Reset()
	if code := run(context.Background(), []string{"replay", "--proxy-format", "auto", "--proxy", empty}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "proxy nginx ") {
		t.Errorf("exit %d: %s", code, errb.String())
	}
}

// TestConfigCheckAgreesWithReplay checks that config check fails for the
// outputs replay and serve refuse, and replay and serve for those config
// check reports.
func TestConfigCheckAgreesWithReplay(t *testing.T) {
	dir := t.TempDir()
	sources := "sources:\n  - {name: edge, kind: proxy, paths: [" + abs(t, "../../samples/data/nginx-access.log") + "]}\n" +
		"  - {name: app, kind: app, paths: [" + abs(t, "../../samples/data/django-auth.log") + "]}\n"
	for _, tt := range []struct {
		name, outputs, want string
	}{
		{"min_severity", "  - {type: stdout, min_severity: urgent}\n", `unknown min_severity "urgent"`},
		{"webhook without spool_dir", "  - {type: webhook, url: \"http://127.0.0.1:1/\"}\n", "webhook: spool_dir is required"},
		{"syslog network", "  - {type: syslog, network: carrier-pigeon, address: \"127.0.0.1:514\"}\n", `syslog: unknown network "carrier-pigeon"`},
		{"unknown routed rule", "  - {type: stdout, rules: [no-such-rule]}\n", `outputs[0] (stdout-0): routes rule "no-such-rule"`},
		{"duplicate names", "  - {type: stdout, name: a}\n  - {type: file, name: a, path: " + filepath.Join(dir, "a.jsonl") + "}\n", `outputs[1]: name "a" is also the name of outputs[0]`},
		{"name taking a default name", "  - {type: stdout}\n  - {type: stdout, name: stdout-0}\n", `outputs[1]: name "stdout-0" is also the name of outputs[0]`},
	} {
		cfg := filepath.Join(dir, "sw.yml")
		writeFile(t, cfg, sources+"outputs:\n"+tt.outputs)
		for _, args := range [][]string{{"config", "check", cfg}, {"replay", "--quiet", "--config", cfg}, {"config", "check", "--serve", cfg}, {"serve", "--listen", "", "--config", cfg}} {
			var out, errb bytes.Buffer
			if code := run(context.Background(), args, &out, &errb); code != 1 || !strings.Contains(out.String()+errb.String(), tt.want) {
				t.Errorf("%s: %s: exit %d, want 1 and %q:\n%s%s", tt.name, args[0], code, tt.want, out.String(), errb.String())
			}
		}
	}
}

// TestRequestIDWarning: a proxy format without a request id cannot join
// logins to the application's events; replay and config check say so.
func TestRequestIDWarning(t *testing.T) {
	dir := t.TempDir()
	noRID := filepath.Join(dir, "norid.conf")
	writeFile(t, noRID, `log_format x '$remote_addr [$time_local] "$request" $status';`)
	log := filepath.Join(dir, "access.log")
	writeFile(t, log, "203.0.113.7 [04/Dec/2026:09:00:01 +0000] \"POST /accounts/login/ HTTP/1.1\" 200\n")
	cfg := filepath.Join(dir, "c.yml")
	writeFile(t, cfg, "sources:\n  - {name: edge, kind: proxy, definition_file: "+noRID+", paths: ["+log+"]}\n")
	sample := abs(t, "../../samples/data/nginx-access.log")
	const warning = "the nginx format has no request id (http.request.id): proxy lines cannot be joined to application log events"
	tests := []struct {
		name string
		args []string
		out  string // where the warning goes: "stdout", "stderr", or "" for none
	}{
		{"replay", []string{"replay", "--proxy", log, "--log-format", noRID}, "stderr"},
		{"replay quiet", []string{"replay", "--quiet", "--proxy", log, "--log-format", noRID}, "stderr"},
		{"replay config", []string{"replay", "--config", cfg}, "stderr"},
		{"replay reference format", []string{"replay", "--proxy", sample}, ""},
		{"config check", []string{"config", "check", cfg}, "stdout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tt.args, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
			}
			got := map[string]string{"stdout": out.String(), "stderr": errb.String()}
			for where, text := range got {
				if has := strings.Contains(text, warning); has != (where == tt.out) {
					t.Errorf("%s has the warning: %v, want %v:\n%s", where, has, where == tt.out, text)
				}
			}
		})
	}
}

// A replay whose output drops alerts (here: its rotation fails) logs it
// and fails, though the replay itself went through. After the failed
// rotation the file output opens its file again for each alert: those
// that still fit in it are written, the others dropped.
func TestReplayOutputDropsFail(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "alerts.jsonl.1", "kept"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, `sources:
  - kind: proxy
    paths: [`+abs(t, "../../samples/data/nginx-access.log")+`]
  - kind: app
    paths: [`+abs(t, "../../samples/data/django-auth.log")+`]
outputs:
  - type: file
    path: `+filepath.Join(dir, "alerts.jsonl")+`
    max_bytes: 3000
    keep: 1
`)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"replay", "--quiet", "--config", cfg}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errb.String())
	}
	checkContains(t, "stderr", errb.String(), `msg="alert output dropped alerts" output=file-0 type=file dropped=1 reason="not taken" err="rotating `,
		"\nspraywatch replay: output file-0 (file): 45 alerts not delivered (2 delivered, 45 dropped); last failure: rotating ")
}

// config check --serve checks a file as serve reads it: following the
// sources' files, or, when none has paths, reading Kafka with their
// formats. The settings serve ignores are noted, not counted.
func TestConfigCheckServe(t *testing.T) {
	dir := t.TempDir()
	sample := abs(t, "../../samples/data/nginx-access.log")
	for _, tt := range []struct {
		name, yml string
		problems  int
		want      []string
	}{
		{"following files", "sources:\n  - {name: edge, kind: proxy, paths: [" + sample + "]}\n  - {name: django, kind: app, paths: [" + abs(t, "../../samples/data/django-auth.log") + "]}\nreplay:\n  lanes: 2\n", 0, []string{
			"sw.yml: 2 sources, checked for serve following files",
			"note: " + filepath.Join(dir, "sw.yml") + ":5: replay.lanes applies to replay only: serve following files ignores it",
			`django-auth.log:1: @timestamp=2026-12-04T00:24:54.132545Z`}},
		{"reading Kafka", "sources:\n  - name: portal\n    kind: app\n" + portalMapping, 0, []string{
			"sw.yml: 1 sources, checked for serve reading Kafka",
			"note: no proxy source: serve reads the proxy topic with --proxy-format (default nginx)",
			"format: django-json+event.original",
			"no paths: serve reads the app topic with this format (no lines checked)"}},
		{"alb and two proxies", "sources:\n  - {name: a, kind: proxy, paths: [" + sample + "]}\n  - {name: b, kind: proxy, paths: [" + sample + "]}\n  - {name: lb, kind: alb, access_paths: [x.log]}\n", 3, []string{
			"sw.yml:3: source b: serve reads a single proxy source, and source a is one already",
			"sw.yml:4: source lb: kind alb is read by replay only",
			"serve following files needs an app source with paths"}},
		{"auto in Kafka", "sources:\n  - {name: edge, kind: proxy, format: auto}\n", 1, []string{
			"sw.yml:2: source edge: format auto samples the source's files",
			"format: not compiled (auto detects from files)"}},
		// serve follows a path that matches no file yet, waiting for it:
		// a note, no problem (replay needs the file: see TestConfigCheck).
		{"logs not written yet", "sources:\n  - {name: edge, kind: proxy, paths: [" + filepath.Join(dir, "logs", "access.log") + "]}\n  - {name: django, kind: app, paths: [" + filepath.Join(dir, "logs", "auth*.log") + "]}\n", 0, []string{
			"note: " + filepath.Join(dir, "logs", "access.log") + " matches no file yet: serve follows it all the same, waiting for it (until it appears, every login is app_only)",
			"note: " + filepath.Join(dir, "logs", "auth*.log") + " matches no file yet: serve follows it all the same, waiting for it (until it appears, every login is proxy_only)",
			"no file yet: no lines checked"}},
		{"one log not written yet", "sources:\n  - {name: edge, kind: proxy, paths: [" + sample + ", " + filepath.Join(dir, "access.log.new") + "]}\n  - {name: django, kind: app, paths: [" + filepath.Join(dir, "auth.log") + "]}\n", 0, []string{
			"note: " + filepath.Join(dir, "access.log.new") + " matches no file yet",
			"nginx-access.log:1: @timestamp=2026-12-04T00:00:00Z",
			"note: " + filepath.Join(dir, "auth.log") + " matches no file yet"}},
		{"a directory", "sources:\n  - {name: edge, kind: proxy, paths: [" + dir + "]}\n  - {name: django, kind: app, paths: [" + filepath.Join(dir, "auth.log") + "]}\n", 1, []string{
			"error: file \"" + dir + "\" is a directory"}},
		// The replay files serve ignores are not checked: their missing
		// directories are no problem.
		{"replay files in Kafka", "sources:\n  - name: portal\n    kind: app\n" + portalMapping + "replay:\n  report: /nonexistent/dir/r.html\n  cpu_profile: /nonexistent/dir/cpu.pprof\n", 0, []string{
			"note: " + filepath.Join(dir, "sw.yml") + ":18: replay.report applies to replay only: serve reading Kafka ignores it",
			"note: " + filepath.Join(dir, "sw.yml") + ":19: replay.cpu_profile applies to replay only: serve reading Kafka ignores it"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := filepath.Join(dir, "sw.yml")
			writeFile(t, cfg, tt.yml)
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"config", "check", "--serve", cfg}, &out, &errb)
			if tt.problems == 0 && code != 0 {
				t.Errorf("exit %d: %s%s", code, out.String(), errb.String())
			}
			if tt.problems > 0 && (code != 1 || !strings.Contains(errb.String(), plural(tt.problems, "problem"))) {
				t.Errorf("exit %d, want 1 with %d problems: %s%s", code, tt.problems, out.String(), errb.String())
			}
			checkContains(t, "output", out.String(), tt.want...)
			if tt.problems == 0 && strings.Contains(out.String(), "error:") {
				t.Errorf("no problem expected: %s", out.String())
			}
		})
	}
	// Without --serve a file for Kafka lacks paths, and the check says
	// what it may be for.
	cfg := filepath.Join(dir, "kafka.yml")
	writeFile(t, cfg, "sources:\n  - {name: edge, kind: proxy, format: envoy}\n")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"config", "check", cfg}, &out, &errb); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	checkContains(t, "output", out.String(), "kafka.yml:2: source edge: paths is required", "check the file with config check --serve")
}

// TestNginxJSONFormatName: the format name the summary prints for an
// escape=json nginx format is accepted on the command line and in a
// configuration file.
func TestNginxJSONFormatName(t *testing.T) {
	conf, log := abs(t, "../../ingest/nginx/testdata/json.conf"), abs(t, "../../ingest/nginx/testdata/json.log")
	app := abs(t, "../../samples/data/django-auth.log")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"replay", "--proxy", log, "--proxy-format", "nginx-json", "--log-format", conf, "--app", app}, &out, &errb); code != 0 {
		t.Fatalf("replay: exit %d: %s", code, errb.String())
	}
	checkContains(t, "summary", errb.String(), "proxy nginx-json   "+log+": 8 lines, 5 parsed")
	cfg := filepath.Join(t.TempDir(), "sw.yml")
	writeFile(t, cfg, "sources:\n  - {name: edge, kind: proxy, format: nginx-json, definition_file: "+conf+", paths: ["+log+"]}\n")
	out.Reset()
	errb.Reset()
	run(context.Background(), []string{"config", "check", cfg}, &out, &errb)
	checkContains(t, "config check", out.String(), "format: nginx-json\n", log+":1: @timestamp=")
	if strings.Contains(out.String()+errb.String(), "unknown proxy format") {
		t.Errorf("nginx-json refused:\n%s%s", out.String(), errb.String())
	}
}

// TestConfigCheckWrites: config check reports an output file that cannot
// be created, at its line, and counts the problems in words.
func TestConfigCheckWrites(t *testing.T) {
	dir := t.TempDir()
	sources := "sources:\n  - {name: edge, kind: proxy, paths: [" + abs(t, "../../samples/data/nginx-access.log") + "]}\n"
	for _, tt := range []struct {
		name, yml string
		code      int
		wants     []string
	}{
		{"fine", "outputs:\n  - {type: file, path: alerts.jsonl}\n", 0, []string{"outputs: file (not opened by check)"}},
		{"one", "outputs:\n  - {type: file, path: nope/alerts.jsonl}\n", 1, []string{
			"sw.yml:4: outputs[0] (file-0): path " + filepath.Join(dir, "nope", "alerts.jsonl") + ": directory " + filepath.Join(dir, "nope") + " does not exist",
			"sw.yml: 1 problem\n"}},
		{"two", "outputs:\n  - {type: file, path: nope/alerts.jsonl}\nreplay:\n  report: nope/r.html\n", 1, []string{"sw.yml:6: replay.report", "sw.yml: 2 problems\n"}},
	} {
		cfg := filepath.Join(dir, "sw.yml")
		writeFile(t, cfg, sources+tt.yml)
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"config", "check", cfg}, &out, &errb); code != tt.code {
			t.Errorf("%s: exit %d, want %d:\n%s%s", tt.name, code, tt.code, out.String(), errb.String())
		}
		checkContains(t, tt.name, out.String()+errb.String(), tt.wants...)
	}
}

// TestConfigCheckLayout: config check prints each error under the line
// of what it is about: a replay setting's file under the file's line, an
// output's route and its file under the outputs line.
func TestConfigCheckLayout(t *testing.T) {
	dir := t.TempDir()
	cfg, log := filepath.Join(dir, "sw.yml"), filepath.Join(dir, "empty.log")
	writeFile(t, log, "")
	writeFile(t, cfg, "sources:\n  - {name: edge, kind: proxy, paths: ["+log+"]}\n"+
		"outputs:\n  - {type: stdout}\n  - {type: file, name: archive, path: nope/alerts.jsonl, rules: [no-such-rule]}\n"+
		"replay:\n  report: nope/r.html\n")
	rs, err := loadRules(nil, "extend")
	if err != nil {
		t.Fatal(err)
	}
	nope := filepath.Join(dir, "nope")
	want := cfg + ": 1 sources, checked for replay\n" +
		"  error: " + cfg + ":7: replay.report " + filepath.Join(nope, "r.html") + ": directory " + nope + " does not exist\n" +
		"rules (extend): " + rules.IDs(rs) + "\n" +
		"outputs: stdout, file (not opened by check)\n" +
		`  error: outputs[1] (archive): routes rule "no-such-rule", which is not among the rules in force, so this output would never receive its alerts` + "\n" +
		"  error: " + cfg + ":5: outputs[1] (archive): path " + filepath.Join(nope, "alerts.jsonl") + ": directory " + nope + " does not exist\n" +
		"\n" +
		"source edge (kind proxy, line 2)\n" +
		"  format: nginx\n" +
		"  files: " + log + "\n" +
		"  " + log + ": no lines yet\n"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"config", "check", cfg}, &out, &errb); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if out.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), want)
	}
	if got, want := errb.String(), "spraywatch config: "+cfg+": 3 problems\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

// TestReplayFileGivenTwice: overlapping patterns naming the proxy log
// twice give the alerts of one reading, with a warning; the same file as
// the proxy's and the app's log is refused.
func TestReplayFileGivenTwice(t *testing.T) {
	proxy, app := "../../samples/data/nginx-access.log", "../../samples/data/django-auth.log"
	var want, out, errb bytes.Buffer
	if code := run(context.Background(), []string{"replay", "--quiet", "--proxy", proxy, "--app", app}, &want, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"replay", "--proxy", proxy, "--proxy", "../../samples/data/nginx-*.log", "--app", app}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	checkContains(t, "warning", errb.String(), proxy+" is given twice: read once", "0 duplicate ids")
	if out.String() != want.String() {
		t.Errorf("alerts with the proxy log named twice differ from one reading's (%d and %d bytes)", out.Len(), want.Len())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"replay", "--proxy", proxy, "--app", app, "--app", "../../samples/data/nginx-access.log"}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "is read by the proxy source and by the app source") {
		t.Errorf("exit %d: %s, want the shared file refused", code, errb.String())
	}
	// A copy is another file: it is read, and the summary says what its
	// request ids, all seen twice, suggest.
	b, err := os.ReadFile(proxy)
	if err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(t.TempDir(), "copy.log")
	writeFile(t, copied, string(b))
	errb.Reset()
	out.Reset()
	if code := run(context.Background(), []string{"replay", "--proxy", proxy, "--proxy", copied, "--app", app}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	checkContains(t, "summary", errb.String(), "2077 duplicate ids", "hint: 2077 request ids came twice on one side within the join window: is a log read twice (a copy of a file under another name)")
}

// TestReplayNewestFirst: logs written newest first (a search's export)
// are named in a hint that says how to replay them.
func TestReplayNewestFirst(t *testing.T) {
	dir := t.TempDir()
	reversed := func(src, name string) string {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		slices.Reverse(lines)
		p := filepath.Join(dir, name)
		writeFile(t, p, strings.Join(lines, "\n")+"\n")
		return p
	}
	proxy := reversed("../../samples/data/nginx-access.log", "proxy.log")
	app := reversed("../../samples/data/django-auth.log", "app.log")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"replay", "--proxy", proxy, "--app", app}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, p := range []string{proxy, app} {
		checkContains(t, "summary", errb.String(), "hint: "+p+": its times go back from record to record: it is written newest first")
	}
}
