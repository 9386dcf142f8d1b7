package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReplayLateHint replays twelve login requests whose application
// lines are logged an hour after (or before) their proxy lines: nothing
// joins, and the summary says why. Times in another zone that say so join.
func TestReplayLateHint(t *testing.T) {
	const n = 12
	base := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	var proxy strings.Builder
	for i := range n {
		at := base.Add(time.Duration(i) * 2 * time.Minute)
		fmt.Fprintf(&proxy, `203.0.113.9 - - [%s] "POST /accounts/login/ HTTP/1.1" 200 512 "-" "python-requests/2.32" rid=%032x verify=SUCCESS fp=2156d39af35a596319c9993f0fd5250629c81a35 serial=2FAA92679BBD28FA dn="CN=device-9,O=Example Corp" idn="CN=Example Device CA,O=Example Corp" rt=0.210`+"\n",
			at.Format("02/Jan/2006:15:04:05 -0700"), i+1)
	}
	app := func(shift time.Duration, zone *time.Location) string {
		var b strings.Builder
		for i := range n {
			at := base.Add(time.Duration(i)*2*time.Minute + 200*time.Millisecond + shift).In(zone)
			fmt.Fprintf(&b, `{"timestamp":"%s","level":"warning","logger":"accounts.auth","event":"login_failed","request_id":"%032x","username":"user%02d","ip":"203.0.113.9"}`+"\n",
				at.Format("2006-01-02T15:04:05.000000Z07:00"), i+1, i)
		}
		return b.String()
	}
	dir := t.TempDir()
	proxyLog := filepath.Join(dir, "nginx.log")
	writeFile(t, proxyLog, proxy.String())
	const hint = "past the 1m0s join window: do both logs give times in the same zone? (a time without one is read as UTC; see docs/config.md)\n"
	for _, tt := range []struct {
		name   string
		app    string
		wants  []string
		absent []string
	}{
		{"an hour late", app(time.Hour, time.UTC), []string{
			"  join: 0 matched, 12 app_only, 12 proxy_only, 0 duplicate ids, 0 evicted\n" +
				"    late partners: 12 app records after their proxy record expired as proxy_only (median 1h0m0.2s later)\n" +
				"  hint: 12 app records were logged a median 1h0m0s after their proxy records, " + hint,
		}, nil},
		{"an hour early", app(-time.Hour, time.UTC), []string{
			"  join: 0 matched, 12 app_only, 12 proxy_only, 0 duplicate ids, 0 evicted\n" +
				"    late partners: 12 proxy records after their app record expired as app_only (median 59m59.8s later)\n" +
				"  hint: 12 app records were logged a median 1h0m0s before their proxy records, " + hint,
		}, nil},
		{"another zone, given", app(0, time.FixedZone("CET", 3600)), []string{
			"  join: 12 matched, 0 app_only, 0 proxy_only, 0 duplicate ids, 0 evicted\n  events: ",
		}, []string{"late partners", "hint:"}},
	} {
		appLog := filepath.Join(dir, "django.log")
		writeFile(t, appLog, tt.app)
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"replay", "--proxy", proxyLog, "--app", appLog}, &out, &errb); code != 0 {
			t.Fatalf("%s: exit %d: %s", tt.name, code, errb.String())
		}
		checkContains(t, tt.name, errb.String(), tt.wants...)
		for _, a := range tt.absent {
			if strings.Contains(errb.String(), a) {
				t.Errorf("%s: summary holds %q:\n%s", tt.name, a, errb.String())
			}
		}
	}
}
