package main

import (
	"bufio"
	"bytes"
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
