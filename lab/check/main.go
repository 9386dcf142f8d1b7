// Command labcheck checks what `make lab` produced: for each replay of a
// real proxy log with Django's auth log, that spraywatch raised the alerts
// the traffic called for and no others, and that every Django line joined
// exactly one proxy line. It prints one PASS or FAIL line per check and
// ends with "lab: N passed, M failed"; it exits 1 when a check failed.
//
// Inputs, under -dir (written by lab/run.sh and lab/driver.py):
//
//	certs/certs.tsv           name, subject, sha1, sha256 of each client certificate
//	out/NAME.manifest.json    what the traffic driver did through proxy NAME
//	out/RUN.rc, RUN.summary   spraywatch replay's exit status and stderr summary
//	out/RUN.alerts.jsonl      its alerts
//	out/RUN.proxylog, .applog the paths of the replayed logs
//	out/LIVE.alerts.jsonl     alerts spraywatch serve wrote while following the logs
//	out/LIVE.rc, LIVE.wait    serve's exit status after SIGTERM; the consumption wait's result
//	out/LIVE.metrics          serve's /metrics once it had consumed the logs
//	out/LIVE.before-term.jsonl its alerts file just before SIGTERM
//
// With -wait-ready or -wait-consumed it instead waits for a running
// spraywatch serve (see wait.go) and exits 0 when it is ready or has
// consumed the files, 1 at the deadline.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

type manifest struct {
	ProxiedPosts     int              `json:"proxied_posts"`
	DirectPosts      int              `json:"direct_posts"`
	BenignUsers      []string         `json:"benign_users"`
	BenignCerts      []string         `json:"benign_certs"`
	StolenCert       string           `json:"stolen_cert"`
	SpraySuccessUser string           `json:"spray_success_user"`
	NocertUsers      []string         `json:"nocert_users"`
	WeirdUsers       []string         `json:"weird_users"`
	BypassIP         string           `json:"bypass_ip"`
	NocertIP         string           `json:"nocert_ip"`
	Unexpected       []map[string]any `json:"unexpected_outcomes"`
}

type cert struct{ name, subject, sha1, sha256 string }

type alertRecord struct {
	Rule     string              `json:"rule"`
	Status   string              `json:"status"`
	Group    map[string]string   `json:"group"`
	Identity map[string]string   `json:"identity"`
	Sample   map[string]any      `json:"sample"`
	Count    map[string]int      `json:"count"`
	Summary  string              `json:"summary"`
	extra    map[string][]string // sample string lists
}

type authLine struct {
	Event     string `json:"event"`
	RequestID string `json:"request_id"`
	Username  string `json:"username"`
}

type checker struct{ passed, failed int }

func (c *checker) check(name string, ok bool, format string, args ...any) {
	if ok {
		c.passed++
		fmt.Printf("PASS %s\n", name)
		return
	}
	c.failed++
	fmt.Printf("FAIL %s: %s\n", name, fmt.Sprintf(format, args...))
}

func (c *checker) skip(name, why string) { fmt.Printf("SKIP %s: %s\n", name, why) }

func main() {
	dir := flag.String("dir", "", "the lab's temporary directory")
	runs := flag.String("runs", "", "comma-separated RUN:MANIFEST pairs")
	driverOK := flag.Bool("driver-ok", true, "the traffic driver saw every expected login outcome")
	lives := flag.String("live", "", "comma-separated LIVE:RUN:MANIFEST triples: serve's alerts LIVE compared with replay RUN")
	readyAddr := flag.String("wait-ready", "", "wait until the serve listening on this `address` is ready, then exit")
	consumedAddr := flag.String("wait-consumed", "", "wait until the serve listening on this `address` has consumed -proxy-file and -app-file")
	proxyFile := flag.String("proxy-file", "", "with -wait-consumed: the followed proxy log")
	appFile := flag.String("app-file", "", "with -wait-consumed: the followed app log")
	metricsOut := flag.String("metrics-out", "", "with -wait-consumed: write the final metrics page here")
	timeout := flag.Duration("timeout", 60*time.Second, "deadline of -wait-ready and -wait-consumed")
	flag.Parse()
	if *readyAddr != "" || *consumedAddr != "" {
		var err error
		if *readyAddr != "" {
			err = waitReady(*readyAddr, *timeout)
		} else {
			err = waitConsumed(*consumedAddr, *proxyFile, *appFile, *metricsOut, *timeout)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "labcheck:", err)
			os.Exit(1)
		}
		return
	}
	if *dir == "" || *runs == "" {
		fmt.Fprintln(os.Stderr, "usage: labcheck -dir DIR -runs RUN:MANIFEST,...")
		os.Exit(2)
	}
	c := &checker{}
	certs, err := readCerts(filepath.Join(*dir, "certs", "certs.tsv"))
	c.check("certificates", err == nil && len(certs) > 0, "%v", err)
	c.check("traffic driver: every login had the expected outcome", *driverOK, "see the driver's messages above")
	for _, rm := range strings.Split(*runs, ",") {
		run, man, _ := strings.Cut(rm, ":")
		checkRun(c, *dir, run, man, certs)
	}
	if *lives != "" {
		for _, t := range strings.Split(*lives, ",") {
			f := strings.SplitN(t, ":", 3)
			if len(f) != 3 {
				c.check("live "+t, false, "want LIVE:RUN:MANIFEST")
				continue
			}
			checkLive(c, *dir, f[0], f[1], f[2], certs)
		}
	}
	fmt.Printf("lab: %d passed, %d failed\n", c.passed, c.failed)
	if c.failed > 0 {
		os.Exit(1)
	}
}

func checkRun(c *checker, dir, run, manName string, certs map[string]cert) {
	out := filepath.Join(dir, "out")
	var m manifest
	if err := readJSON(filepath.Join(out, manName+".manifest.json"), &m); err != nil {
		c.check(run+": traffic manifest", false, "%v", err)
		return
	}
	rcText, _ := os.ReadFile(filepath.Join(out, run+".rc"))
	summary, _ := os.ReadFile(filepath.Join(out, run+".summary"))
	rc := strings.TrimSpace(string(rcText))
	if !c.checkOK(run+": spraywatch replay exits 0", rc == "0", "exit status %q: %s", rc, firstLines(summary, 3)) {
		return
	}

	// Every line of both logs parsed (the replay checks every line in
	// full: no "(N skimmed)").
	src := regexp.MustCompile(`(?m)^\s+(proxy|app)\s+(\S+)\s+.*: (\d+) lines, (\d+) parsed(?: \((\d+) skimmed\))?, (\d+) ignored, (\d+) rejected`)
	srcs := src.FindAllSubmatch(summary, -1)
	var bad []string
	kinds := map[string]int{}
	for _, s := range srcs {
		kinds[string(s[1])]++
		lines, _ := strconv.Atoi(string(s[3]))
		if string(s[7]) != "0" || len(s[5]) > 0 || lines == 0 {
			bad = append(bad, string(bytes.TrimSpace(s[0])))
		}
	}
	c.check(run+": every proxy and Django line parsed", len(bad) == 0 && kinds["proxy"] == 1 && kinds["app"] == 1,
		"%d proxy and %d app sources in the summary; %s", kinds["proxy"], kinds["app"], strings.Join(bad, "; "))

	// The Django log: one line per login attempt, ids unique, the
	// client's own X-Request-ID never taken.
	appLog := strings.TrimSpace(readString(filepath.Join(out, run+".applog")))
	proxyLog := strings.TrimSpace(readString(filepath.Join(out, run+".proxylog")))
	auth, err := readAuth(appLog)
	if !c.checkOK(run+": Django auth log readable", err == nil, "%v", err) {
		return
	}
	seen := map[string]int{}
	local, proxied := 0, 0
	for _, a := range auth {
		seen[a.RequestID]++
		if strings.HasPrefix(a.RequestID, "local-") {
			local++
		} else {
			proxied++
		}
	}
	var dups []string
	for id, n := range seen {
		if n > 1 {
			dups = append(dups, fmt.Sprintf("%s x%d", id, n))
		}
	}
	c.check(run+": Django logged one line per login attempt", len(auth) == m.ProxiedPosts+m.DirectPosts,
		"%d auth lines, %d attempts (%d proxied, %d direct)", len(auth), m.ProxiedPosts+m.DirectPosts, m.ProxiedPosts, m.DirectPosts)
	c.check(run+": spoofed X-Request-ID never reused (ids unique in the Django log)", len(dups) == 0, "repeated: %s", strings.Join(dups, ", "))
	c.check(run+": requests bypassing the proxy got local ids", local == m.DirectPosts && proxied == m.ProxiedPosts,
		"%d local ids (want %d), %d proxy ids (want %d)", local, m.DirectPosts, proxied, m.ProxiedPosts)

	// Each proxy id in the Django log is on exactly one proxy log line.
	plines, err := readLines(proxyLog)
	if !c.checkOK(run+": proxy log readable", err == nil && len(plines) > 0, "%v (%d lines)", err, len(plines)) {
		return
	}
	var notOne []string
	for _, a := range auth {
		if strings.HasPrefix(a.RequestID, "local-") {
			continue
		}
		n := 0
		for _, l := range plines {
			if strings.Contains(l, a.RequestID) {
				n++
			}
		}
		if n != 1 {
			notOne = append(notOne, fmt.Sprintf("%s on %d lines", a.RequestID, n))
		}
	}
	c.check(run+": every proxied Django line has exactly one proxy line", len(notOne) == 0, "%s", strings.Join(notOne, "; "))

	// spraywatch's own join counts agree.
	jm := regexp.MustCompile(`join: (\d+) matched, (\d+) app_only, (\d+) proxy_only, (\d+) duplicate ids`).FindSubmatch(summary)
	if c.checkOK(run+": join counts in the summary", jm != nil, "no join line in the summary") {
		matched, appOnly, proxyOnly, dupIDs := atoi(jm[1]), atoi(jm[2]), atoi(jm[3]), atoi(jm[4])
		c.check(run+": joined = proxied logins, app_only = bypassing logins, no proxy_only, no duplicate ids",
			matched == m.ProxiedPosts && appOnly == m.DirectPosts && proxyOnly == 0 && dupIDs == 0,
			"matched %d (want %d), app_only %d (want %d), proxy_only %d, duplicate ids %d",
			matched, m.ProxiedPosts, appOnly, m.DirectPosts, proxyOnly, dupIDs)
	}

	// Alerts.
	alerts, err := readAlerts(filepath.Join(out, run+".alerts.jsonl"))
	if !c.checkOK(run+": alerts readable", err == nil, "%v", err) {
		return
	}
	hasRule := rulesOf(summary)
	checkAlerts(c, run, alerts, &m, certs, hasRule, true)
}

// rulesOf returns whether a rule is in the pack named by a replay summary's
// "rules:" line (every rule, when the line is missing).
func rulesOf(summary []byte) func(string) bool {
	rulesLine := regexp.MustCompile(`(?m)^\s+rules: (.*)$`).FindSubmatch(summary)
	return func(id string) bool {
		if rulesLine == nil {
			return true
		}
		for _, r := range strings.Split(string(rulesLine[1]), ",") {
			if strings.TrimSpace(r) == id {
				return true
			}
		}
		return false
	}
}

// checkAlerts checks the alerts the traffic calls for (proxy-bypass only
// when bypass is set) and that none names a benign user or certificate.
func checkAlerts(c *checker, run string, alerts []alertRecord, mp *manifest, certs map[string]cert, hasRule func(string) bool, bypass bool) {
	m := *mp
	stolen := certs[m.StolenCert]
	find := func(rule string, match func(a *alertRecord) bool) *alertRecord {
		for i := range alerts {
			if alerts[i].Rule == rule && match(&alerts[i]) {
				return &alerts[i]
			}
		}
		return nil
	}
	byCert := func(ct cert) func(a *alertRecord) bool {
		return func(a *alertRecord) bool { return belongsTo(a, ct) }
	}
	got := ruleList(alerts)

	name := run + ": cert-identity-spray for the stolen certificate (" + stolen.subject + ")"
	c.check(name, find("cert-identity-spray", byCert(stolen)) != nil, "alerts: %s", got)

	name = run + ": successful-spray for the stolen certificate"
	if hasRule("successful-spray") {
		a := find("successful-spray", byCert(stolen))
		c.check(name, a != nil && a.Count["successes"] >= 1, "alerts: %s", got)
	} else {
		c.skip(name, "no such rule in the pack")
	}

	name = run + ": no-cert-source-spray for " + m.NocertIP + ", usernames as sent"
	a := find("no-cert-source-spray", func(a *alertRecord) bool { return a.Group["source.ip"] == m.NocertIP })
	if c.checkOK(name, a != nil, "alerts: %s", got) {
		users := a.extra["user.name"]
		var missing []string
		for _, u := range m.WeirdUsers {
			if !contains(users, u) {
				missing = append(missing, strconv.Quote(u))
			}
		}
		var foreign []string
		for _, u := range users {
			if !contains(m.NocertUsers, u) {
				foreign = append(foreign, strconv.Quote(u))
			}
		}
		c.check(run+": no-cert alert names the unicode, quote and newline usernames exactly and only the sprayed ones",
			len(missing) == 0 && len(foreign) == 0, "missing %v, not sprayed %v; sample %q", missing, foreign, users)
	}

	name = run + ": proxy-bypass for " + m.BypassIP
	if bypass {
		if hasRule("proxy-bypass") {
			c.check(name, find("proxy-bypass", func(a *alertRecord) bool { return a.Group["source.ip"] == m.BypassIP }) != nil, "alerts: %s", got)
		} else {
			c.skip(name, "no such rule in the pack")
		}
	}

	var benign []string
	note := func(s string) {
		if !contains(benign, s) {
			benign = append(benign, s)
		}
	}
	for _, al := range alerts {
		for _, n := range m.BenignCerts {
			if belongsTo(&al, certs[n]) {
				note(al.Rule + " on " + n + "'s certificate")
			}
		}
		for _, u := range al.extra["user.name"] {
			if contains(m.BenignUsers, u) {
				note(al.Rule + " naming " + strconv.Quote(u))
			}
		}
	}
	c.check(run+": no alert for the benign users and certificates", len(benign) == 0, "%s", strings.Join(benign, "; "))
}

// belongsTo says whether the alert is about certificate ct: its group or
// identity holds ct's fingerprint.
func belongsTo(a *alertRecord, ct cert) bool {
	if ct.sha1 == "" {
		return false
	}
	for _, m := range []map[string]string{a.Group, a.Identity} {
		for _, v := range m {
			v = strings.ToLower(v)
			if strings.Contains(v, ct.sha1) || strings.Contains(v, ct.sha256) {
				return true
			}
		}
	}
	return false
}

func (c *checker) checkOK(name string, ok bool, format string, args ...any) bool {
	c.check(name, ok, format, args...)
	return ok
}

func ruleList(alerts []alertRecord) string {
	var s []string
	for _, a := range alerts {
		g, _ := json.Marshal(a.Group)
		s = append(s, a.Rule+" "+a.Status+" "+string(g))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "; ")
}

func readCerts(path string) (map[string]cert, error) {
	lines, err := readLines(path)
	if err != nil {
		return nil, err
	}
	out := map[string]cert{}
	for i, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) != 4 {
			return nil, fmt.Errorf("%s:%d: expected 4 tab-separated fields", path, i+1)
		}
		out[f[0]] = cert{f[0], f[1], f[2], f[3]}
	}
	return out, nil
}

func readAuth(path string) ([]authLine, error) {
	lines, err := readLines(path)
	if err != nil {
		return nil, err
	}
	var out []authLine
	for i, l := range lines {
		var a authLine
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
		}
		if strings.HasPrefix(a.Event, "login_") {
			out = append(out, a)
		}
	}
	return out, nil
}

func readAlerts(path string) ([]alertRecord, error) {
	lines, err := readLines(path)
	if err != nil {
		return nil, err
	}
	out := make([]alertRecord, 0, len(lines))
	for i, l := range lines {
		var a alertRecord
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
		}
		a.extra = map[string][]string{}
		for k, v := range a.Sample {
			if list, ok := v.([]any); ok {
				for _, x := range list {
					if s, ok := x.(string); ok {
						a.extra[k] = append(a.extra[k], s)
					}
				}
			}
		}
		out = append(out, a)
	}
	return out, nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); l != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func readString(path string) string { b, _ := os.ReadFile(path); return string(b) }

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(strings.TrimSpace(string(b)), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}

func atoi(b []byte) int { n, _ := strconv.Atoi(string(b)); return n }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
