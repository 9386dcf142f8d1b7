package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spraywatch/spraywatch/internal/proctest"
)

// needPrometheus returns the paths of prometheus and promtool, installing
// Debian's prometheus package with the project's script when missing.
func needPrometheus(t *testing.T) (prom, promtool string) {
	t.Helper()
	if _, err := exec.LookPath("promtool"); err != nil {
		script := filepath.Join(repoRoot(t), "scripts", "ensure-debian-packages.sh")
		out, err := exec.Command(script, "prometheus").CombinedOutput()
		if err != nil {
			t.Skipf("prometheus is not installed and %s prometheus failed: %v\n%s", script, err, out)
		}
	}
	var err error
	if prom, err = exec.LookPath("prometheus"); err != nil {
		t.Skipf("prometheus not found after installing it: %v", err)
	}
	if promtool, err = exec.LookPath("promtool"); err != nil {
		t.Skipf("promtool not found after installing prometheus: %v", err)
	}
	return prom, promtool
}

func TestShippedPrometheusFiles(t *testing.T) {
	_, promtool := needPrometheus(t)
	dir := filepath.Join(repoRoot(t), "deploy", "prometheus")
	for _, args := range [][]string{
		{"check", "config", "prometheus.yml"},
		{"check", "rules", "rules.yml"},
		{"test", "rules", "rules_test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// promQuery is the part of a Prometheus API answer the test reads.
type promQuery struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	} `json:"data"`
}

func query(ctx context.Context, base, expr string) (promQuery, error) {
	var q promQuery
	u := base + "/api/v1/query?" + url.Values{"query": {expr}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return q, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return q, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&q); err != nil {
		return q, fmt.Errorf("decoding the answer (HTTP %d): %w", resp.StatusCode, err)
	}
	return q, nil
}

// poll calls f every 250 ms until it returns nil or the deadline passes.
func poll(ctx context.Context, what string, f func() error) error {
	var err error
	for {
		if err = f(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last: %v)", what, ctx.Err(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// grafanaVars replaces Grafana's built-in variables and the dashboard's
// own as a user would see them: every job selected (job, the regular
// expression Grafana makes of the variable's values), every instance.
func grafanaVars(job string) *strings.Replacer {
	return strings.NewReplacer(
		"$__rate_interval", "1m",
		"$__interval", "1s",
		"$__range", "5m",
		"${job}", job,
		"$job", job,
		"${instance}", ".*",
		"$instance", ".*",
	)
}

// scrapeJob is the job name the test's Prometheus scrapes spraywatch
// under: not the shipped configuration's, which nothing may hard-code.
const scrapeJob = "spraywatch-replay"

// serveOnly marks expressions over metrics only `serve` has (Kafka
// partitions, followed files, processing latency): a replay leaves them
// empty.
func serveOnly(expr string) bool {
	return strings.Contains(expr, "spraywatch_kafka_") || strings.Contains(expr, "spraywatch_stream_") ||
		strings.Contains(expr, "spraywatch_follow_") || strings.Contains(expr, "spraywatch_processing_latency")
}

// TestDashboardAndRulesAgainstPrometheus replays the samples in-process
// up to the end of a spraying campaign, serves the metrics on a loopback
// port, lets the real Prometheus scrape them every second, and runs every
// PromQL expression of the dashboard and of the alerting rules.
func TestDashboardAndRulesAgainstPrometheus(t *testing.T) {
	prom, _ := needPrometheus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()

	c := campaign(t, "fast_spray-1")
	r, m := replayed(ctx, t, c.End)
	m.TopK().Refresh(r.engine) // the replay stopped: rank its final state
	srv, err := Listen("127.0.0.1:0", m.Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	dir := t.TempDir()
	rulesFile := filepath.Join(repoRoot(t), "deploy", "prometheus", "rules.yml")
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: [%q]
`, rulesFile, scrapeJob, srv.Addr())
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	listen := freePort(t)
	cmd := exec.Command(prom, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen, "--log.level=warn")
	proctest.Start(t, "prometheus", cmd)
	base := "http://" + listen

	// Enough scrapes for rate() over the dashboard's intervals.
	err = poll(ctx, "waiting for three scrapes", func() error {
		q, err := query(ctx, base, `count_over_time(spraywatch_build_info{job="`+scrapeJob+`"}[1m]) >= 3`)
		if err != nil {
			return err
		}
		if len(q.Data.Result) == 0 {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The dashboard's job and instance variables list the scraped job and
	// instance.
	labelValues := func(label, match string) []string {
		t.Helper()
		resp, err := http.Get(base + "/api/v1/label/" + label + "/values?" + url.Values{"match[]": {match}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var labels struct{ Data []string }
		if err := json.NewDecoder(resp.Body).Decode(&labels); err != nil {
			t.Fatal(err)
		}
		return labels.Data
	}
	jobs := labelValues("job", "spraywatch_build_info")
	if fmt.Sprint(jobs) != "["+scrapeJob+"]" {
		t.Errorf("job variable values %v, want [%s]", jobs, scrapeJob)
	}
	if got := labelValues("instance", `spraywatch_build_info{job=~"`+strings.Join(jobs, "|")+`"}`); fmt.Sprint(got) != "["+srv.Addr()+"]" {
		t.Errorf("instance variable values %v, want [%s]", got, srv.Addr())
	}
	vars := grafanaVars("(" + strings.Join(jobs, "|") + ")")

	d := loadDashboard(t)
	checked := 0
	for _, p := range d.allPanels() {
		if p.Type == "row" {
			continue
		}
		for _, tg := range p.Targets {
			expr := vars.Replace(tg.Expr)
			q, err := query(ctx, base, expr)
			if err != nil {
				t.Fatalf("panel %q: %v", p.Title, err)
			}
			if q.Status != "success" {
				t.Errorf("panel %q, query %s: %s: %s", p.Title, expr, q.ErrorType, q.Error)
				continue
			}
			checked++
			if len(q.Data.Result) == 0 && !serveOnly(expr) {
				t.Errorf("panel %q, query %s: no data", p.Title, expr)
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d dashboard queries checked", checked)
	}

	// The top-identities panel shows the campaign's certificate.
	q, err := query(ctx, base, `topk(1, spraywatch_top_identity_failed_usernames)`)
	if err != nil || len(q.Data.Result) != 1 {
		t.Fatalf("top identity: %v %+v", err, q)
	}
	top, _ := r.engine.TopGroups(DefaultTopRule, 1, nil)
	if len(top) != 1 || !strings.Contains(string(q.Data.Result[0]), `"identity":"`+top[0].Values[0]+`"`) {
		t.Errorf("Prometheus' top identity %s, engine's %+v", q.Data.Result[0], top)
	}

	// Every alerting rule parses and evaluates in Prometheus.
	var rf struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	nrules := 0
	for _, g := range rf.Groups {
		for _, rule := range g.Rules {
			nrules++
			q, err := query(ctx, base, rule.Expr)
			if err != nil {
				t.Fatal(err)
			}
			if q.Status != "success" {
				t.Errorf("rule %s: %s: %s", rule.Alert, q.ErrorType, q.Error)
			}
		}
	}
	if nrules < 5 {
		t.Errorf("only %d rules in %s", nrules, rulesFile)
	}
	err = poll(ctx, "waiting for the rules to be evaluated", func() error {
		resp, err := http.Get(base + "/api/v1/rules")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var rr struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name, Health, LastError string
					}
				}
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&rr); err != nil {
			return err
		}
		n := 0
		for _, g := range rr.Data.Groups {
			for _, rule := range g.Rules {
				if rule.Health != "ok" {
					return fmt.Errorf("rule %s: health %q %s", rule.Name, rule.Health, rule.LastError)
				}
				n++
			}
		}
		if n != nrules {
			return fmt.Errorf("%d rules loaded, want %d", n, nrules)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	// Nothing is wrong with this run: no health alert fires.
	if q, err := query(ctx, base, `ALERTS{alertstate="firing"}`); err != nil || len(q.Data.Result) != 0 {
		t.Errorf("alerts firing over a healthy replay: %v %s", err, q.Data.Result)
	}
}
