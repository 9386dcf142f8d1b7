package serve

import (
	"bytes"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/rules"
)

// shiftedLogins returns n login requests from the i-th on, two minutes
// apart from base: nginx lines, and django-json lines logged shift after
// them.
func shiftedLogins(base time.Time, from, n int, shift time.Duration) (proxy, app [][]byte) {
	for i := from; i < from+n; i++ {
		at := base.Add(time.Duration(i) * 2 * time.Minute)
		proxy = append(proxy, fmt.Appendf(nil, `203.0.113.9 - - [%s] "POST /accounts/login/ HTTP/1.1" 200 512 "-" "python-requests/2.32" rid=%032x verify=SUCCESS fp=2156d39af35a596319c9993f0fd5250629c81a35 serial=2FAA92679BBD28FA dn="CN=device-9,O=Example Corp" idn="CN=Example Device CA,O=Example Corp" rt=0.210`,
			at.Format("02/Jan/2006:15:04:05 -0700"), i+1))
		app = append(app, fmt.Appendf(nil, `{"timestamp":"%s","level":"warning","logger":"accounts.auth","event":"login_failed","request_id":"%032x","username":"user%02d","ip":"203.0.113.9"}`,
			at.Add(200*time.Millisecond+shift).Format("2006-01-02T15:04:05.000000Z07:00"), i+1, i))
	}
	return proxy, app
}

// followLogins starts a follower of the files proxyPath and appPath in
// dir with the default rules, polling often, logging to logs.
func followLogins(t *testing.T, dir, proxyPath, appPath string, logs *lockedBuffer) *runningFollower {
	t.Helper()
	pf, af := formatsFor(t)
	return startFollower(t, FilesConfig{
		ProxyFiles:     []string{proxyPath},
		AppFiles:       []string{appPath},
		ProxyFormat:    pf,
		AppFormat:      af,
		StateDir:       filepath.Join(dir, "state"),
		Engine:         detect.Config{Rules: rules.Default()},
		Sink:           &collector{},
		IdleTimeout:    100 * time.Millisecond,
		CommitInterval: 20 * time.Millisecond,
		PollInterval:   20 * time.Millisecond,
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
	})
}

// TestFollowLateWarning follows files whose application lines are logged
// an hour after their proxy lines: the log warns once, with the hint of
// the replay summary, however many more come late.
func TestFollowLateWarning(t *testing.T) {
	dir := t.TempDir()
	proxyPath, appPath := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	base := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	proxy, app := shiftedLogins(base, 0, 12, time.Hour)
	appendFile(t, proxyPath, proxy)
	appendFile(t, appPath, app)
	var logs lockedBuffer
	r := followLogins(t, dir, proxyPath, appPath, &logs)
	const hint = "12 app records were logged a median 1h0m0s after their proxy records, past the 1m0s join window: do both logs give times in the same zone?"
	waitFor(t, 60*time.Second, "the warning", func() bool { return strings.Contains(logs.String(), hint) })
	// Twelve more, a day later: counted, not warned of again.
	proxy, app = shiftedLogins(base.Add(24*time.Hour), 12, 12, time.Hour)
	appendFile(t, proxyPath, proxy)
	appendFile(t, appPath, app)
	waitFor(t, 60*time.Second, "the late records counted", func() bool {
		return r.f.EngineCounts().Join.LateApp == 24
	})
	r.shutdown(t)
	out := logs.String()
	if n := strings.Count(out, "join window: do both logs"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, `level=WARN msg="`+hint) || !strings.Contains(out, "metric=spraywatch_join_late_partners_total") {
		t.Errorf("log lacks the warning:\n%s", out)
	}
}

// TestFollowDuplicateWarning follows files whose requests each make one
// login attempt or several (as a batch endpoint does): the log warns once
// of the request ids that came twice, with the hint of the replay
// summary, when they are at least 10 and a tenth of the records, and not
// otherwise.
func TestFollowDuplicateWarning(t *testing.T) {
	tests := []struct {
		name     string
		attempts int // app lines of each request
		warn     bool
	}{
		{name: "one attempt a request", attempts: 1},
		{name: "two attempts a request", attempts: 2, warn: true},
	}
	const n = 12 // requests appended at a time
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			proxyPath, appPath := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
			base := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
			add := func(from int) {
				t.Helper()
				proxy, app := shiftedLogins(base, from, n, 0)
				var attempts [][]byte
				for _, l := range app {
					for i := range tt.attempts {
						attempts = append(attempts, bytes.Replace(l, []byte(`"username":"user`), fmt.Appendf(nil, `"username":"try%d-user`, i), 1))
					}
				}
				appendFile(t, proxyPath, proxy)
				appendFile(t, appPath, attempts)
			}
			add(0)
			var logs lockedBuffer
			r := followLogins(t, dir, proxyPath, appPath, &logs)
			matched := func(want int64) func() bool {
				return func() bool { return r.f.EngineCounts().Join.Matched == want }
			}
			waitFor(t, 60*time.Second, "the first requests joined", matched(int64(n*tt.attempts)))
			// As many more, later: counted, not warned of again.
			add(30)
			waitFor(t, 60*time.Second, "the later requests joined", matched(int64(2*n*tt.attempts)))
			r.shutdown(t)
			if got, want := r.f.EngineCounts().Join.Duplicates, int64(2*n*(tt.attempts-1)); got != want {
				t.Errorf("%d duplicates, want %d", got, want)
			}
			out := logs.String()
			warnings := duplicateWarnings.FindAllStringSubmatch(out, -1)
			if !tt.warn {
				if len(warnings) != 0 {
					t.Errorf("warned of duplicates:\n%s", out)
				}
				return
			}
			if len(warnings) != 1 {
				t.Fatalf("warned %d times, want once:\n%s", len(warnings), out)
			}
			// The count in the hint is the attribute's, at least the
			// hint's threshold and at most the duplicates of the first
			// requests.
			w := warnings[0]
			if d, err := strconv.Atoi(w[1]); err != nil || w[2] != w[1] || d < 10 || d > n*(tt.attempts-1) {
				t.Errorf("warning %q: hint of %s duplicates, attribute %s", w[0], w[1], w[2])
			}
		})
	}
}

// duplicateWarnings matches the warning of request ids that came twice,
// with the counts of its hint and of its duplicates attribute.
var duplicateWarnings = regexp.MustCompile(`level=WARN msg="(\d+) request ids came twice on one side within the join window: is a log read twice[^"]*\(see docs/config.md\)" duplicates=(\d+) metric="spraywatch_join_outcomes_total{outcome=\\"duplicate\\"}"`)
