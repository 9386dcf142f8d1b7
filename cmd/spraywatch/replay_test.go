package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func replaySamples(t *testing.T, extra ...string) (stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	args := append([]string{"replay", "--proxy", "../../samples/data/nginx-access.log", "--app", "../../samples/data/django-auth.log"}, extra...)
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("replay exited %d: %s", code, errb.String())
	}
	return out.String(), errb.String()
}

// TestReplaySamplesGolden pins the alerts of the bundled sample day. Run
// `go test ./cmd/spraywatch -update` after an intended change and review
// the diff.
func TestReplaySamplesGolden(t *testing.T) {
	got, summary := replaySamples(t)
	golden := filepath.Join("testdata", "samples.alerts.jsonl")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("alerts differ from %s (rerun with -update after an intended change)\n got %d bytes, want %d", golden, len(got), len(want))
	}
	for _, s := range []string{"0 rejected", "join: ", "matched", "alerts: "} {
		if !strings.Contains(summary, s) {
			t.Errorf("summary lacks %q:\n%s", s, summary)
		}
	}
	// A healthy day: no record comes after its partner expired.
	for _, s := range []string{"late partners", "hint:"} {
		if strings.Contains(summary, s) {
			t.Errorf("summary holds %q:\n%s", s, summary)
		}
	}
}

// TestReplayDeterministic replays the samples twice, once through a file
// output: the bytes must be identical.
func TestReplayDeterministic(t *testing.T) {
	first, _ := replaySamples(t, "--quiet")
	out := filepath.Join(t.TempDir(), "alerts.jsonl")
	replaySamples(t, "--quiet", "--out", out)
	second, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if first == "" || first != string(second) {
		t.Fatalf("two replays differ or are empty (%d vs %d bytes)", len(first), len(second))
	}
}

// TestReplayParallelSettings replays the samples on one goroutine and with
// several parse workers and rule lanes: the alerts must be the same bytes.
func TestReplayParallelSettings(t *testing.T) {
	one, _ := replaySamples(t, "--quiet", "--parallel=false", "--lanes", "1")
	many, _ := replaySamples(t, "--quiet", "--parse-workers", "3", "--lanes", "4")
	if one == "" || one != many {
		t.Fatalf("one goroutine and several differ or are empty (%d vs %d bytes)", len(one), len(many))
	}
}

func TestReplayErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.log")
	os.WriteFile(bad, []byte("this is not an nginx line\n"), 0o644)
	hold := filepath.Join(dir, "hold.yml")
	os.WriteFile(hold, []byte("replay:\n  metrics_hold: 3s\n"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no inputs", []string{"replay"}, 2, "usage"},
		{"bad log_format", []string{"replay", "--proxy", bad, "--log-format", "log_format x '$remote_addr \"$request';"}, 1, "compiling proxy format nginx"},
		{"missing file", []string{"replay", "--proxy", filepath.Join(dir, "nope.log")}, 1, "nope.log"},
		{"missing log_format file", []string{"replay", "--proxy", bad, "--log-format", filepath.Join(dir, "fmt.conf")}, 1, "--log-format: reading the definition file: open " + filepath.Join(dir, "fmt.conf")},
		{"missing app definition file", []string{"replay", "--app", bad, "--app-format", "python-logging", "--app-format-def", "def.yml"}, 1, "--app-format-def: reading the definition file: open def.yml"},
		{"glob without match", []string{"replay", "--proxy", filepath.Join(dir, "*.gz")}, 1, "matches no file"},
		{"strict stops at a bad line", []string{"replay", "--proxy", bad, "--strict"}, 1, "bad.log:1"},
		{"empty login paths", []string{"replay", "--proxy", bad, "--login-paths="}, 2, "--login-paths is empty"},
		{"empty identity", []string{"replay", "--proxy", bad, "--identity", " , "}, 2, "--identity is empty"},
		{"metrics hold in the file alone", []string{"replay", "--config", hold, "--proxy", bad}, 1, "--metrics-hold (replay.metrics_hold) needs --metrics-listen"},
		{"unknown command", []string{"nope"}, 2, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errb)
			if code != tt.code || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d containing %q", code, errb.String(), tt.code, tt.want)
			}
		})
	}
	// Not strict: the bad line is counted and reported with its position,
	// and the replay goes on.
	sample, err := os.ReadFile("../../samples/data/nginx-access.log")
	if err != nil {
		t.Fatal(err)
	}
	mixed := filepath.Join(dir, "mixed.log")
	writeFile(t, mixed, string(sample[:bytes.IndexByte(sample, '\n')+1])+"this is not an nginx line\n")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"replay", "--proxy", mixed}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "1 rejected") || !strings.Contains(errb.String(), "mixed.log:2") {
		t.Errorf("summary does not report the rejected line:\n%s", errb.String())
	}
}

// TestReplayNothingRead: a replay fails, after its summary, when a source
// had lines and every one was rejected, naming the source, the format and
// the first error; lines ignored as of no interest are read.
func TestReplayNothingRead(t *testing.T) {
	dir := t.TempDir()
	proxy, app := "../../samples/data/nginx-access.log", "../../samples/data/django-auth.log"
	ignored := filepath.Join(dir, "logouts.log")
	writeFile(t, ignored, `{"timestamp":"2026-12-04T09:00:01Z","event":"logout","request_id":"r1","username":"alice","ip":"10.0.0.1"}`+"\n")
	empty := filepath.Join(dir, "empty.log")
	writeFile(t, empty, "")
	oneBad := filepath.Join(dir, "bad.log")
	writeFile(t, oneBad, "not a JSON line\n")
	for _, tt := range []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"files swapped", []string{"--proxy", app, "--app", proxy}, 1, []string{
			"spraywatch replay summary",
			"proxy log " + app + `: no line could be read (2345 lines, all rejected by format nginx; the first: ` + app + `:1:1: expected " - " after $remote_addr): check that it is a proxy log written in that format (--proxy-format`,
			"app log " + proxy + ": no line could be read (10191 lines, all rejected by format django-json; the first: " + proxy + ":1:1: expected '{' to start a JSON object): check that it is an application log",
		}},
		{"lines too long", []string{"--proxy", proxy, "--app", app, "--max-line-bytes", "10"}, 1, []string{
			"proxy log " + proxy + ": no line could be read (10191 lines, all rejected by format nginx; the first: " + proxy + ":1: line longer than 10 bytes skipped): every line is longer than --max-line-bytes",
		}},
		{"one bad line", []string{"--proxy", proxy, "--app", oneBad}, 1, []string{"app log " + oneBad + ": no line could be read (1 line, all rejected by format django-json; the first: " + oneBad + ":1:1: "}},
		{"lines ignored", []string{"--proxy", proxy, "--app", ignored}, 0, []string{"1 ignored"}},
		{"no lines", []string{"--proxy", proxy, "--app", empty}, 0, []string{"0 lines"}},
		{"the samples", []string{"--proxy", proxy, "--app", app}, 0, []string{"0 rejected"}},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"replay"}, tt.args...), &out, &errb)
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d: %s", tt.name, code, tt.code, errb.String())
		}
		checkContains(t, tt.name, errb.String(), tt.wants...)
		if tt.code == 0 && strings.Contains(errb.String(), "no line could be read") {
			t.Errorf("%s: %s", tt.name, errb.String())
		}
	}
}

// TestReplayCheckAllLines replays the samples with malformed lines added
// to the proxy log: a non-login line with a bad value after its request
// id, which a replay skims (counted so) and --check-all-lines (or the
// config key replay.check_all_lines) rejects, and a line with a bad time,
// which both reject. The alerts are the same whichever way.
func TestReplayCheckAllLines(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("../../samples/data/nginx-access.log")
	if err != nil {
		t.Fatal(err)
	}
	n := bytes.Count(data, []byte("\n"))
	const (
		badTail = `10.20.1.39 - - [04/Dec/2026:23:57:58 +0000] "GET /favicon.ico HTTP/1.1" 304 0 "-" "curl" rid=ffffffffffffffffffffffffffffff01 verify=SUCCESS fp=not-a-fingerprint serial=1865A010E155EC3F dn="CN=x" idn="CN=y" rt=0.002`
		badTime = `10.20.1.39 - - [04/Dec/2026:23:61:58 +0000] "GET /favicon.ico HTTP/1.1" 304 0 "-" "curl" rid=ffffffffffffffffffffffffffffff02 verify=SUCCESS fp=- serial=- dn="-" idn="-" rt=0.002`
	)
	proxy := filepath.Join(dir, "access.log")
	if err := os.WriteFile(proxy, append(data, badTail+"\n"+badTime+"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "spraywatch.yml")
	if err := os.WriteFile(cfg, []byte("replay:\n  check_all_lines: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	replay := func(extra ...string) (alerts, proxyLine string, summary string) {
		t.Helper()
		var out, errb bytes.Buffer
		args := append([]string{"replay", "--proxy", proxy, "--app", "../../samples/data/django-auth.log"}, extra...)
		if code := run(context.Background(), args, &out, &errb); code != 0 {
			t.Fatalf("replay %q exited %d: %s", extra, code, errb.String())
		}
		for _, l := range strings.Split(errb.String(), "\n") {
			if strings.Contains(l, "access.log: ") {
				proxyLine = l
			}
		}
		return out.String(), proxyLine, errb.String()
	}
	lines := n + 2
	lazy := fmt.Sprintf("%d lines, %d parsed (", lines, lines-1)
	exact := fmt.Sprintf("%d lines, %d parsed, 0 ignored, 2 rejected", lines, lines-2)
	timeErr := fmt.Sprintf("access.log:%d:", n+2)
	tailErr := fmt.Sprintf("access.log:%d:", n+1)
	want, _, _ := replay("--quiet")
	if want == "" {
		t.Fatal("no alerts")
	}
	for _, c := range []struct {
		name   string
		args   []string
		counts string
		errs   []string // rejected lines named in the summary
	}{
		{"lazy", nil, lazy, []string{timeErr}},
		{"lazy, one goroutine", []string{"--parallel=false"}, lazy, []string{timeErr}},
		{"check all lines", []string{"--check-all-lines"}, exact, []string{tailErr, timeErr}},
		{"check all lines, one goroutine", []string{"--check-all-lines", "--parallel=false"}, exact, []string{tailErr, timeErr}},
		{"config key", []string{"--config", cfg}, exact, []string{tailErr, timeErr}},
		{"flag over the config key", []string{"--config", cfg, "--check-all-lines=false"}, lazy, []string{timeErr}},
	} {
		t.Run(c.name, func(t *testing.T) {
			alerts, line, summary := replay(c.args...)
			if alerts != want {
				t.Errorf("alerts differ (%d bytes, want %d)", len(alerts), len(want))
			}
			if !strings.Contains(line, c.counts) {
				t.Errorf("proxy summary %q, want %q in it", line, c.counts)
			}
			if c.counts == lazy && (!strings.Contains(line, " skimmed), 0 ignored, 1 rejected") || strings.Contains(line, "(0 skimmed)")) {
				t.Errorf("proxy summary %q: want lines skimmed and 1 rejected", line)
			}
			if c.counts == exact && strings.Contains(line, "skimmed") {
				t.Errorf("proxy summary %q: no line is skimmed when every line is checked", line)
			}
			var named int
			for _, l := range strings.Split(summary, "\n") {
				if strings.Contains(l, "rejected: ") {
					named++
				}
			}
			for _, e := range c.errs {
				if !strings.Contains(summary, "rejected: "+proxy[:len(proxy)-len("access.log")]+e) {
					t.Errorf("summary does not name rejected line %s:\n%s", e, summary)
				}
			}
			if named != len(c.errs) {
				t.Errorf("%d rejected lines named, want %d:\n%s", named, len(c.errs), summary)
			}
		})
	}
	// --strict stops at the first line that does not parse: it checks
	// every line, so the bad tail stops it, not the bad time after it.
	var out, errb bytes.Buffer
	args := []string{"replay", "--strict", "--proxy", proxy, "--app", "../../samples/data/django-auth.log"}
	if code := run(context.Background(), args, &out, &errb); code == 0 || !strings.Contains(errb.String(), tailErr) {
		t.Errorf("--strict: exit %d, want an error naming %s:\n%s", code, tailErr, errb.String())
	}
}

// TestReplayChecksFilesFirst: a file name that does not exist or names a
// directory stops the replay before any file is read, as a pattern that
// matches no file does, with no summary.
func TestReplayChecksFilesFirst(t *testing.T) {
	dir := t.TempDir()
	proxy, app := "../../samples/data/nginx-access.log", "../../samples/data/django-auth.log"
	missing := filepath.Join(dir, "nope.log")
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, "sources:\n  - {name: edge, kind: proxy, paths: ["+abs(t, proxy)+"]}\n  - {name: django, kind: app, paths: [nope.log]}\n")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"missing app file", []string{"--proxy", proxy, "--app", missing}, `source ` + missing + `: file "` + missing + `" does not exist`},
		{"missing proxy file", []string{"--proxy", missing, "--app", app}, `file "` + missing + `" does not exist`},
		{"second file missing", []string{"--proxy", proxy, "--proxy", missing, "--app", app}, `file "` + missing + `" does not exist`},
		{"directory", []string{"--proxy", dir, "--app", app}, `file "` + dir + `" is a directory, not a log file (a pattern such as ` + filepath.Join(dir, "*.log") + ` reads the files in it)`},
		{"auto format, missing file", []string{"--proxy", proxy, "--app", missing, "--app-format", "auto"}, `file "` + missing + `" does not exist`},
		{"configuration file", []string{"--config", cfg}, `source django: file "` + filepath.Join(dir, "nope.log") + `" does not exist`},
		{"pattern", []string{"--proxy", proxy, "--app", filepath.Join(dir, "*.log")}, "matches no file"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"replay"}, tt.args...), &out, &errb)
		if code != 1 || !strings.Contains(errb.String(), tt.want) || strings.Contains(errb.String(), "summary") || out.Len() > 0 {
			t.Errorf("%s: exit %d, stderr %q; want exit 1 with %q and no summary", tt.name, code, errb.String(), tt.want)
		}
	}
}

// TestReplayOneSided: a replay without proxy logs, or without application
// logs, or whose logs of one kind are all empty files, warns of what
// follows and does not evaluate the rules matching the join every login
// then has (proxy-bypass without proxy logs), which would fire on every
// login. A proxy log whose lines are all rejected is known only once read:
// the replay then says which alerts come from that alone.
func TestReplayOneSided(t *testing.T) {
	proxy, app := "../../samples/data/nginx-access.log", "../../samples/data/django-auth.log"
	only := filepath.Join("testdata", "only-proxy-bypass.yml")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, "sources:\n  - {name: django, kind: app, paths: ["+abs(t, app)+"]}\n")
	empty, empty2, rejected := filepath.Join(dir, "empty.log"), filepath.Join(dir, "empty2.log"), filepath.Join(dir, "rejected.log")
	writeFile(t, empty, "")
	writeFile(t, empty2, "")
	writeFile(t, rejected, "GET / x\n")
	emptyCfg := filepath.Join(dir, "empty.yml")
	writeFile(t, emptyCfg, "sources:\n  - {name: edge, kind: proxy, paths: ["+empty+"]}\n  - {name: django, kind: app, paths: ["+abs(t, app)+"]}\n")
	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		wants  []string
		absent string
		alerts bool
	}{
		{"no proxy log", []string{"--app", app}, 0, []string{
			"spraywatch replay: warning: no proxy log is read (--proxy, or a source of kind proxy or alb): no login can be joined to its proxy record, so every login is app_only; the rules matching spraywatch.join app_only are not evaluated, as they would fire on every login: proxy-bypass\n",
			"  rules: cert-identity-spray, cert-identity-slow-spray, subnet-distributed-spray, successful-spray, shared-cert-spray-baseline, no-cert-source-spray, cert-verify-failures, username-enumeration\n    not evaluated (no proxy log): proxy-bypass\n",
		}, "proxy-bypass (high)", false},
		{"no proxy source in a configuration file", []string{"--config", cfg}, 0, []string{"warning: no proxy log is read", "not evaluated (no proxy log): proxy-bypass"}, "proxy-bypass (high)", false},
		{"no application log", []string{"--proxy", proxy}, 0, []string{
			"spraywatch replay: warning: no application log is read (--app, or a source of kind app): no login can be joined to its application event (username, outcome), so every login is proxy_only\n",
		}, "not evaluated", false},
		{"only rules that cannot be evaluated", []string{"--app", app, "--rules-mode", "replace", "--rules", only}, 1, []string{
			"spraywatch replay: no rule can be evaluated: every rule in force matches spraywatch.join app_only, which every login has when no proxy log is read (proxy-bypass)",
		}, "summary", false},
		{"both logs", []string{"--proxy", proxy, "--app", app}, 0, []string{"proxy-bypass (high): 5 alert records"}, "warning", true},
		{"empty proxy log", []string{"--proxy", empty, "--app", app}, 0, []string{
			"spraywatch replay: warning: the proxy log is empty (" + empty + "): no login can be joined to its proxy record, so every login is app_only; the rules matching spraywatch.join app_only are not evaluated, as they would fire on every login: proxy-bypass\n",
			"    not evaluated (proxy log empty): proxy-bypass\n",
		}, "proxy-bypass (high)", false},
		{"empty proxy logs", []string{"--proxy", empty, "--proxy", empty2, "--app", app}, 0, []string{
			"spraywatch replay: warning: the proxy logs are empty (" + empty + ", " + empty2 + "): no login can be joined",
			"    not evaluated (proxy log empty): proxy-bypass\n",
		}, "proxy-bypass (high)", false},
		{"empty proxy source in a configuration file", []string{"--config", emptyCfg}, 0, []string{"warning: the proxy log is empty (" + empty + ")", "not evaluated (proxy log empty): proxy-bypass"}, "proxy-bypass (high)", false},
		{"an empty proxy log and another", []string{"--proxy", empty, "--proxy", proxy, "--app", app}, 0, []string{"proxy-bypass (high): 5 alert records"}, "warning", true},
		{"empty application log", []string{"--proxy", proxy, "--app", empty}, 0, []string{
			"spraywatch replay: warning: the app log is empty (" + empty + "): no login can be joined to its application event (username, outcome), so every login is proxy_only\n",
		}, "not evaluated", false},
		{"only rules that cannot be evaluated, empty proxy log", []string{"--proxy", empty, "--app", app, "--rules-mode", "replace", "--rules", only}, 1, []string{
			"spraywatch replay: no rule can be evaluated: every rule in force matches spraywatch.join app_only, which every login has when the proxy log is empty (proxy-bypass)",
		}, "summary", false},
		{"proxy lines all rejected", []string{"--proxy", rejected, "--app", app}, 1, []string{
			"spraywatch replay: warning: the proxy log had 1 line, all rejected, so every login was app_only: the 80 alert records of proxy-bypass, which match spraywatch.join app_only, come from that alone\n",
			"spraywatch replay: proxy log " + rejected + ": no line could be read",
		}, "not evaluated", true},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"replay"}, tt.args...), &out, &errb)
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d: %s", tt.name, code, tt.code, errb.String())
		}
		checkContains(t, tt.name, errb.String(), tt.wants...)
		if strings.Contains(errb.String(), tt.absent) {
			t.Errorf("%s: stderr holds %q:\n%s", tt.name, tt.absent, errb.String())
		}
		if (out.Len() > 0) != tt.alerts {
			t.Errorf("%s: %d bytes of alerts, want alerts %v", tt.name, out.Len(), tt.alerts)
		}
	}
}
