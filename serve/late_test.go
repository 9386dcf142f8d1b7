package serve

import (
	"fmt"
	"log/slog"
	"path/filepath"
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
	pf, af := formatsFor(t)
	var logs lockedBuffer
	r := startFollower(t, FilesConfig{
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
		Logger:         slog.New(slog.NewTextHandler(&logs, nil)),
	})
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
