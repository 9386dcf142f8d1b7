package hostile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// background returns an hour of ordinary traffic around the campaign: a
// login every 20 seconds from employees' own certificates, all succeeding.
func background() (proxy, app []string, at []time.Time) {
	for i := 0; i < 180; i++ {
		ts := t0.Add(time.Duration(i) * 20 * time.Second)
		id := rid(0x77, i)
		user := "employee" + string(rune('a'+i%26))
		app = append(app, appLine(ts, "login_succeeded", id, user, "10.2.0.1"))
		proxy = append(proxy, proxyLine(ts, "10.2.0.1", "POST /accounts/login/ HTTP/1.1", id, fingerprint(1000+i%26), "CN="+user, "Mozilla/5.0"))
		at = append(at, ts)
	}
	return
}

// timeFiles writes both logs: background and campaign, with the extra
// lines inserted after the given index of the merged app / proxy lines.
func timeFiles(t *testing.T, extraProxy, extraApp map[int]string) (string, string) {
	dir := t.TempDir()
	pp, ap := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	bp, ba, bat := background()
	sp, sa := spray.lines()
	var sat []time.Time
	for i := range sp {
		sat = append(sat, spray.start.Add(time.Duration(i)*10*time.Second))
	}
	write := func(path string, base, camp []string, extra map[int]string) {
		var merged []string
		interleave(func(s string) { merged = append(merged, s) }, base, bat, camp, sat)
		writeFile(t, path, func(emit func(string)) {
			for i, l := range merged {
				emit(l)
				if x, ok := extra[i]; ok {
					emit(x)
				}
			}
		})
	}
	write(pp, bp, sp, extraProxy)
	write(ap, ba, sa, extraApp)
	return pp, ap
}

// TestTimeOutliers puts lone records far in the future and far in the
// past into both logs, at the start and in the middle. A lone future
// record would otherwise hold its source back in the merge (everything
// after it waits for the other sources to reach 2099) and carry the
// watermark away; it is rejected with its reason. A far-past record is
// processed where it is and moves nothing. The alerts are those of the
// same logs without the outliers.
func TestTimeOutliers(t *testing.T) {
	future := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	past := time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC)
	cleanP, cleanA := timeFiles(t, nil, nil)
	clean := replayFiles(t, []string{cleanP}, []string{cleanA}, options{})
	clean.sprayReported(t, spray)

	for _, tc := range []struct {
		name         string
		proxy, app   map[int]string
		first        string // a line put before the nginx log's first
		wantRejected int64
	}{
		{"future in the middle", map[int]string{
			40: proxyLine(future, "10.3.0.1", "POST /accounts/login/ HTTP/1.1", rid(0xf1, 1), fingerprint(5), "CN=clock", "x"),
		}, map[int]string{
			41: appLine(future, "login_failed", rid(0xf1, 2), "future", "10.3.0.1"),
		}, "", 2},
		{"future first line", nil, nil,
			proxyLine(future, "10.3.0.3", "POST /accounts/login/ HTTP/1.1", rid(0xf3, 1), fingerprint(6), "CN=clock", "x"), 1},
		{"past in the middle", map[int]string{
			50: proxyLine(past, "10.3.0.2", "GET /index.html HTTP/1.1", rid(0xf2, 1), "", "", "x"),
		}, map[int]string{
			60: appLine(past, "logout", rid(0xf2, 2), "old", "10.3.0.2"),
		}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pp, ap := timeFiles(t, tc.proxy, tc.app)
			if tc.first != "" {
				prepend(t, pp, tc.first)
			}
			if tc.wantRejected > 0 {
				// Without the check the outlier does its damage.
				off := replayFiles(t, []string{pp}, []string{ap}, options{maxJump: -1})
				if bytes.Equal(off.out, clean.out) && off.engine.Watermark.Load() < future.UnixNano() {
					t.Errorf("the outlier changes nothing even unchecked: the case tests nothing")
				}
			}
			r := replayFiles(t, []string{pp}, []string{ap}, options{})
			r.accounted(t)
			r.sprayReported(t, spray)
			if got := r.merge.AheadRejected.Load(); got != tc.wantRejected {
				t.Errorf("%d records rejected as far ahead, want %d", got, tc.wantRejected)
			}
			var reasons []string
			for _, s := range r.sources {
				for _, e := range s.Errors() {
					reasons = append(reasons, e.Error())
				}
			}
			if tc.wantRejected > 0 && !strings.Contains(strings.Join(reasons, "\n"), "2099-01-01T00:00:00Z") {
				t.Errorf("no reason names the outlier's time: %q", reasons)
			}
			if !bytes.Equal(r.out, clean.out) {
				t.Errorf("alerts differ from the replay without outliers:\n%s\nwant\n%s", r.out, clean.out)
			}
			if w := r.engine.Watermark.Load(); w >= future.UnixNano() {
				t.Errorf("watermark carried to %s", time.Unix(0, w).UTC())
			}
		})
	}
}

// TestTimeGapAccepted: a real gap in the traffic (the next records follow
// the jump) is not an outlier: both days are processed.
func TestTimeGapAccepted(t *testing.T) {
	dir := t.TempDir()
	pp, ap := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	later := campaign{fp: "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b", start: spray.start.Add(36 * time.Hour)}
	p1, a1 := spray.lines()
	p2, a2 := later.lines()
	writeFile(t, pp, func(emit func(string)) {
		for _, l := range append(p1, p2...) {
			emit(l)
		}
	})
	writeFile(t, ap, func(emit func(string)) {
		for _, l := range append(a1, a2...) {
			emit(l)
		}
	})
	r := replayFiles(t, []string{pp}, []string{ap}, options{})
	r.accounted(t)
	r.sprayReported(t, spray)
	r.sprayReported(t, later)
	if n := r.merge.AheadRejected.Load(); n != 0 {
		t.Errorf("%d records rejected across a real gap", n)
	}
}

func prepend(t *testing.T, path, line string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append([]byte(line+"\n"), b...), 0o644); err != nil {
		t.Fatal(err)
	}
}
