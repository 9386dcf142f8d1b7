package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
)

// receivers collects what the network outputs deliver: webhook and
// Alertmanager posts by path, and syslog over TCP.
type receivers struct {
	mu   sync.Mutex
	got  map[string]*bytes.Buffer
	http *httptest.Server
	tcp  net.Listener
	wg   sync.WaitGroup
}

func newReceivers(t *testing.T) *receivers {
	t.Helper()
	r := &receivers{got: map[string]*bytes.Buffer{}}
	r.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.add(req.URL.Path, b)
	}))
	t.Cleanup(r.http.Close)
	var err error
	if r.tcp, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.tcp.Close(); r.wg.Wait() })
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := r.tcp.Accept()
			if err != nil {
				return
			}
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				defer c.Close()
				b, _ := io.ReadAll(c)
				r.add("syslog", b)
			}()
		}
	}()
	return r
}

func (r *receivers) add(what string, b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got[what] == nil {
		r.got[what] = new(bytes.Buffer)
	}
	r.got[what].Write(b)
	r.got[what].WriteByte('\n')
}

// take returns what was received since the last call, and forgets it.
func (r *receivers) take() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	for k, b := range r.got {
		out[k] = b.String()
	}
	r.got = map[string]*bytes.Buffer{}
	return out
}

// privacyRun replays the sample day with the default pack and two rules
// grouped by username, in one privacy mode, through every output that
// needs no broker and with the HTML report; it returns each output's bytes.
func privacyRun(t *testing.T, recv *receivers, mode, keyFile string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, `outputs:
  - {type: file, path: alerts.jsonl}
  - {type: webhook, name: json-hook, url: "`+recv.http.URL+`/json", spool_dir: spool-json}
  - {type: webhook, name: slack-hook, format: slack, url: "`+recv.http.URL+`/slack", spool_dir: spool-slack}
  - {type: alertmanager, url: "`+recv.http.URL+`/am"}
  - {type: syslog, network: tcp, address: "`+recv.tcp.Addr().String()+`"}
privacy:
  mode: `+mode+`
  key_file: `+keyFile+`
`)
	report := filepath.Join(dir, "report.html")
	stdout, stderr := replaySamples(t, "--config", cfg, "--rules", "testdata/user-grouped.yml", "--report", report)
	outs := map[string]string{"stdout": stdout, "stderr": stderr}
	for name, path := range map[string]string{"file": filepath.Join(dir, "alerts.jsonl"), "report": report} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		outs[name] = string(b)
	}
	for k, v := range recv.take() {
		outs[k] = v
	}
	for _, k := range []string{"/json", "/slack", "/am/api/v2/alerts", "syslog"} {
		if outs[k] == "" {
			t.Fatalf("%s mode: nothing reached %s", mode, k)
		}
	}
	return outs
}

var cnName = regexp.MustCompile(`CN=([^,"\\]+)`)

// TestReplayPrivacyEveryOutput replays the sample day in each privacy
// mode. In hmac and omit mode no username the plain run shows (in a sample,
// an account or a group) may appear in any output: the alert file, webhooks
// (JSON and Slack), Alertmanager, syslog/CEF, the HTML report, and what the
// command writes on stdout and stderr. The group and the account show the
// pseudonyms hmac gives, and the incidents keep their ids. Plain mode writes
// the alerts of the golden file.
func TestReplayPrivacyEveryOutput(t *testing.T) {
	recv := newReceivers(t)
	keyFile := filepath.Join(t.TempDir(), "key")
	writeFile(t, keyFile, "the key\n")
	hm, err := alert.NewPrivacy(alert.PrivacyHMAC, keyFile)
	if err != nil {
		t.Fatal(err)
	}

	plain := privacyRun(t, recv, alert.PrivacyPlain, keyFile)
	// Plain mode: the default pack's alerts are the golden file's, byte
	// for byte.
	golden, err := os.ReadFile(filepath.Join("testdata", "samples.alerts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var pack strings.Builder
	users := map[string]bool{}
	subjects := map[string]bool{}
	accounts := map[string]string{} // by incident
	groups := map[string]string{}   // user.name group value by incident
	sc := bufio.NewScanner(strings.NewReader(plain["file"]))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var a alert.Alert
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(a.Rule, "per-") {
			pack.Write(sc.Bytes())
			pack.WriteByte('\n')
		}
		for _, u := range a.Sample.UserNames {
			users[u] = true
		}
		if a.Account != "" {
			users[a.Account] = true
			accounts[a.IncidentID] = a.Account
		}
		if u, ok := a.Group[alert.UserNameKey]; ok {
			users[u] = true
			groups[a.IncidentID] = u
		}
		if a.Identity != nil {
			for _, m := range cnName.FindAllStringSubmatch(a.Identity.Subject, -1) {
				subjects[m[1]] = true
			}
		}
	}
	if pack.String() != string(golden) {
		t.Errorf("plain mode: the default pack's alerts differ from testdata/samples.alerts.jsonl")
	}
	// The usernames to look for: those the plain run shows that are
	// distinctive enough to be searched as text (a dot, or helpdesk) and
	// are not also a certificate's common name (certificate subjects are
	// not usernames and are shown as logged).
	var watch []string
	for u := range users {
		if (strings.Contains(u, ".") || u == "helpdesk") && len(u) >= 6 && !subjects[u] {
			watch = append(watch, u)
		}
	}
	for _, must := range []string{"kate.moreau", "helpdesk"} {
		if !users[must] || subjects[must] {
			t.Fatalf("the sample day no longer shows %s as a username only: the test needs another", must)
		}
	}
	if len(accounts) == 0 || len(groups) == 0 {
		t.Fatalf("no account (%d) or user.name group (%d) in the plain run", len(accounts), len(groups))
	}
	// The check finds what it looks for: plain mode shows them everywhere.
	for out, text := range plain {
		if out == "stderr" || out == "stdout" {
			continue
		}
		for _, u := range []string{"kate.moreau", "helpdesk"} {
			if !strings.Contains(text, u) {
				t.Errorf("plain mode: %s lacks %s", out, u)
			}
		}
	}

	for _, mode := range []string{alert.PrivacyHMAC, alert.PrivacyOmit} {
		t.Run(mode, func(t *testing.T) {
			outs := privacyRun(t, recv, mode, keyFile)
			for out, text := range outs {
				for _, u := range watch {
					if i := strings.Index(text, u); i >= 0 {
						t.Errorf("%s: username %q in clear: ...%s...", out, u, text[max(0, i-80):min(len(text), i+len(u)+20)])
					}
				}
			}
			// The same incidents, ids and all: the ids do not depend on
			// the mode.
			var n int
			sc := bufio.NewScanner(strings.NewReader(outs["file"]))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var a alert.Alert
				if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
					t.Fatal(err)
				}
				n++
				want := map[string]string{}
				if u, ok := groups[a.IncidentID]; ok {
					want["group"] = ""
					if mode == alert.PrivacyHMAC {
						want["group"] = hm.Username(u)
					}
					if got := a.Group[alert.UserNameKey]; got != want["group"] {
						t.Errorf("%s: group user.name = %q, want %q", a.ID, got, want["group"])
					}
					if !strings.Contains(a.Summary, "user.name="+want["group"]) {
						t.Errorf("%s: summary lacks the group as shown: %s", a.ID, a.Summary)
					}
				}
				if u, ok := accounts[a.IncidentID]; ok {
					want := ""
					if mode == alert.PrivacyHMAC {
						want = hm.Username(u)
						if !strings.Contains(a.Summary, "then logged in as "+strconv.Quote(want)) {
							t.Errorf("%s: summary lacks the account's pseudonym: %s", a.ID, a.Summary)
						}
					}
					if a.Account != want {
						t.Errorf("%s: account = %q, want %q", a.ID, a.Account, want)
					}
				}
			}
			if want := strings.Count(plain["file"], "\n"); n != want {
				t.Errorf("%d alerts, want %d as in plain mode", n, want)
			}
		})
	}
}

// scrapeTopIdentities runs serve with args and --listen on a free port
// until its /metrics shows top-identity series (or a minute passed), stops
// it and returns the identity labels of those series.
func scrapeTopIdentities(t *testing.T, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--idle-timeout", "1s"}, args...)
	go func() { done <- run(ctx, args, &stdout, &stderr) }()
	listening := regexp.MustCompile(`msg="serving /healthz, /readyz, /metrics" addr=(\S+)`)
	series := regexp.MustCompile(`(?m)^spraywatch_top_identity_failed_usernames\{identity="((?:[^"\\]|\\.)*)"`)
	var ids []string
	deadline := time.After(time.Minute)
	for len(ids) == 0 {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		case <-deadline:
			t.Fatalf("no top-identity series within a minute: %s", stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
		m := listening.FindStringSubmatch(stderr.String())
		if m == nil {
			continue
		}
		resp, err := http.Get("http://" + m[1] + "/metrics")
		if err != nil {
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			continue
		}
		for _, m := range series.FindAllStringSubmatch(string(body), -1) {
			id, err := strconv.Unquote(`"` + m[1] + `"`) // the exposition format escapes as Go does
			if err != nil {
				t.Fatalf("label %s: %v", m[1], err)
			}
			ids = append(ids, id)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, stderr.String())
	}
	return ids
}

// TestServeMetricsPrivacy runs serve with the top-identities rule grouped
// by username in each privacy mode, set in the configuration file: the
// gauge's identity label shows a username as the alerts do, in clear only
// in plain mode.
func TestServeMetricsPrivacy(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	writeFile(t, keyFile, "the key\n")
	hm, err := alert.NewPrivacy(alert.PrivacyHMAC, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	// The sample day's usernames, in clear and as hmac shows them.
	users, pseudonyms := map[string]bool{}, map[string]bool{}
	for _, l := range fileLines(t, sampleApp) {
		var d struct{ Username string }
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatal(err)
		}
		if d.Username != "" {
			users[d.Username] = true
			pseudonyms[hm.Username(d.Username)] = true
		}
	}
	rulesFile := filepath.Join(dir, "per-user.yml")
	writeFile(t, rulesFile, `rules:
  - id: cert-identity-spray
    description: One username failed many times
    severity: high
    type: count
    match: {event.outcome: failure}
    group_by: [user.name]
    window: 30h
    threshold: 3
`)
	for _, tt := range []struct {
		mode string
		ok   func(identity string) bool // whether the label is as the mode shows a username
	}{
		{alert.PrivacyPlain, func(id string) bool { return users[id] }},
		{alert.PrivacyHMAC, func(id string) bool { return pseudonyms[id] }},
		{alert.PrivacyOmit, func(id string) bool { return id == "" }},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "sw.yml")
			writeFile(t, cfg, `sources:
  - {kind: proxy, paths: [`+abs(t, sampleProxy)+`]}
  - {kind: app, paths: [`+abs(t, sampleApp)+`]}
outputs:
  - {type: file, path: alerts.jsonl}
privacy:
  mode: `+tt.mode+`
  key_file: `+keyFile+`
`)
			for _, id := range scrapeTopIdentities(t, "--config", cfg, "--rules", rulesFile) {
				if !tt.ok(id) {
					t.Errorf("privacy mode %s: /metrics shows the identity %q", tt.mode, id)
				}
			}
		})
	}
}
