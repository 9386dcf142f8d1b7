package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// checkLive compares the alerts spraywatch serve wrote while following a
// proxy log and Django's log (LIVE) with spraywatch replay of the same
// files after they were complete (RUN).
//
// The comparison is of sets of alert JSON lines, byte for byte: every line
// serve wrote must be a line replay wrote. Replay's lines that serve did not
// write must be explained by the one difference between the two: at the end
// of its input replay flushes the correlator, so Django lines that never met
// a proxy line become app_only events then; serve, stopped by SIGTERM, keeps
// them pending (a restart rebuilds them from the saved span). So a missing
// alert must be built only from such never-joined requests, and serve's
// metrics must show exactly those requests still pending and none resolved
// as app_only or proxy_only.
func checkLive(c *checker, dir, live, run, manName string, certs map[string]cert) {
	out := filepath.Join(dir, "out")
	name := run + " live (" + live + ")"
	var m manifest
	if err := readJSON(filepath.Join(out, manName+".manifest.json"), &m); err != nil {
		c.check(name+": traffic manifest", false, "%v", err)
		return
	}
	waitRC := strings.TrimSpace(readString(filepath.Join(out, live+".wait")))
	c.check(name+": spraywatch serve read and released every line of both logs before the deadline", waitRC == "0",
		"%s", strings.TrimSpace(readString(filepath.Join(out, live+".wait.err"))))
	rc := strings.TrimSpace(readString(filepath.Join(out, live+".rc")))
	c.check(name+": spraywatch serve stopped on SIGTERM with exit status 0", rc == "0",
		"exit status %q; %s", rc, firstLines([]byte(readString(filepath.Join(out, live+".err"))), 5))

	liveLines, err := readLines(filepath.Join(out, live+".alerts.jsonl"))
	if !c.checkOK(name+": live alerts readable", err == nil, "%v", err) {
		return
	}
	before, err := readLines(filepath.Join(out, live+".before-term.jsonl"))
	c.check(name+": serve had written all its alerts while following, before SIGTERM",
		err == nil && slices.Equal(before, liveLines), "%v; %d alerts before SIGTERM, %d after", err, len(before), len(liveLines))
	replayLines, err := readLines(filepath.Join(out, run+".alerts.jsonl"))
	if !c.checkOK(name+": replay alerts readable", err == nil, "%v", err) {
		return
	}
	replaySet := map[string]bool{}
	for _, l := range replayLines {
		replaySet[l] = true
	}
	liveSet := map[string]bool{}
	var extra, dup []string
	for _, l := range liveLines {
		if liveSet[l] {
			dup = append(dup, alertID(l))
		}
		liveSet[l] = true
		if !replaySet[l] {
			extra = append(extra, alertID(l)+" "+l[:min(len(l), 300)])
		}
	}
	c.check(name+": every alert serve wrote live is byte-identical to one of replay's, none twice",
		len(extra) == 0 && len(dup) == 0 && len(liveLines) > 0,
		"%d live alerts; not in replay: %s; written twice: %s", len(liveLines), strings.Join(extra, " | "), strings.Join(dup, ", "))

	// Replay's alerts serve did not write: only those of never-joined requests.
	proxyLog := strings.TrimSpace(readString(filepath.Join(out, run+".proxylog")))
	appLog := strings.TrimSpace(readString(filepath.Join(out, run+".applog")))
	unjoined, err := unjoinedIDs(proxyLog, appLog)
	if !c.checkOK(name+": logs readable", err == nil, "%v", err) {
		return
	}
	var missing, unexplained []string
	for _, l := range replayLines {
		if liveSet[l] {
			continue
		}
		var a alertRecord
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			unexplained = append(unexplained, err.Error())
			continue
		}
		missing = append(missing, a.Rule+" "+alertID(l))
		ids, _ := a.Sample["http.request.id"].([]any)
		_, truncated := a.Sample["http.request.id_truncated"]
		ok := len(ids) > 0 && !truncated
		for _, id := range ids {
			s, _ := id.(string)
			if !unjoined[s] {
				ok = false
			}
		}
		if !ok {
			unexplained = append(unexplained, fmt.Sprintf("%s %s (request ids %v)", a.Rule, alertID(l), ids))
		}
	}
	metricsPage, err := os.ReadFile(filepath.Join(out, live+".metrics"))
	ms, perr := parseMetrics(bytes.NewReader(metricsPage))
	if err == nil {
		err = perr
	}
	outcome := func(o string) int {
		return int(sum(ms, "spraywatch_join_outcomes_total", map[string]string{"outcome": o}))
	}
	pending := int(sum(ms, "spraywatch_join_pending_records", nil))
	c.check(name+fmt.Sprintf(": replay's alerts missing live are only those of the %d never-joined requests still pending at serve's stop (%d missing)", len(unjoined), len(missing)),
		err == nil && len(unexplained) == 0 && pending == len(unjoined) && outcome("app_only") == 0 && outcome("proxy_only") == 0,
		"metrics: %v; live pending %d, app_only %d, proxy_only %d (want %d, 0, 0); not explained: %s",
		err, pending, outcome("app_only"), outcome("proxy_only"), len(unjoined), strings.Join(unexplained, "; "))

	alerts, err := readAlerts(filepath.Join(out, live+".alerts.jsonl"))
	if !c.checkOK(name+": live alerts parse", err == nil, "%v", err) {
		return
	}
	summary, _ := os.ReadFile(filepath.Join(out, run+".summary"))
	checkAlerts(c, name, alerts, &m, certs, rulesOf(summary), false)
}

// unjoinedIDs returns the request ids of the Django auth lines that no
// proxy log line carries.
func unjoinedIDs(proxyLog, appLog string) (map[string]bool, error) {
	auth, err := readAuth(appLog)
	if err != nil {
		return nil, err
	}
	plines, err := readLines(proxyLog)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, a := range auth {
		found := false
		for _, l := range plines {
			if strings.Contains(l, a.RequestID) {
				found = true
				break
			}
		}
		if !found {
			out[a.RequestID] = true
		}
	}
	return out, nil
}

// alertID returns the id of an alert JSON line.
func alertID(line string) string {
	var a struct {
		ID string `json:"id"`
	}
	if json.Unmarshal([]byte(line), &a) != nil || a.ID == "" {
		return "(no id)"
	}
	return a.ID
}
