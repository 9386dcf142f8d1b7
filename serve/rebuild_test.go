package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/rules"
)

// longRule fires on a certificate trying five usernames in five minutes:
// the span a restart reads again is about six minutes (window, join
// window, lateness), much less than the campaign below.
const longRule = `
rules:
  - id: long-spray
    severity: high
    match: {event.outcome: failure, identity: {exists: true}}
    group_by: [identity]
    distinct: user.name
    window: 5m
    threshold: 5
    cooldown: 10m
    resolve_after: 2m
`

// campaignStart is when the long campaign begins.
var campaignStart = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

// longCampaign returns proxy and app lines: a certificate trying a new
// username every 15 s for an hour from campaignStart (one incident, firing
// from its fifth attempt, resolving about six minutes after the last),
// and a user logging in every 30 s from ten minutes before to 100 minutes
// after, so that both logs move on. restart is where the lines are split
// in two: the records before it and those from it on.
func longCampaign(restart time.Duration) (proxy1, proxy2, app1, app2 [][]byte) {
	var kiosk []kioskLogin
	for at := time.Duration(0); at <= time.Hour; at += 15 * time.Second {
		kiosk = append(kiosk, kioskLogin{at: at, user: fmt.Sprintf("user%03d", len(kiosk)), failed: true})
	}
	return campaignLines(kiosk, restart)
}

// kioskLogin is a login through the campaign's certificate, at an offset
// from campaignStart.
type kioskLogin struct {
	at     time.Duration
	user   string
	failed bool
	other  bool // through a second certificate, kiosk-14
}

// campaignLines returns the proxy and app lines of the kiosk's logins and
// of a user logging in every 30 s from ten minutes before campaignStart to
// 100 minutes after, split at restart as longCampaign's are.
func campaignLines(kiosk []kioskLogin, restart time.Duration) (proxy1, proxy2, app1, app2 [][]byte) {
	var user []time.Duration
	for at := -10 * time.Minute; at < 100*time.Minute; at += 30 * time.Second {
		user = append(user, at+7*time.Second)
	}
	return campaignLinesWith(kiosk, user, restart)
}

// campaignLinesWith is campaignLines with the user's logins at the offsets
// user from campaignStart.
func campaignLinesWith(kiosk []kioskLogin, user []time.Duration, restart time.Duration) (proxy1, proxy2, app1, app2 [][]byte) {
	type login struct {
		at     time.Time
		ip, cn string
		user   string
		failed bool
		fp     string
	}
	var ls []login
	for _, at := range user {
		ls = append(ls, login{at: campaignStart.Add(at), ip: "10.0.5.20", cn: "laptop-007", user: "alice", fp: "aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11"})
	}
	for _, k := range kiosk {
		l := login{at: campaignStart.Add(k.at), ip: "10.0.6.66", cn: "kiosk-13", user: k.user, failed: k.failed, fp: "bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22"}
		if k.other {
			l.ip, l.cn, l.fp = "10.0.6.67", "kiosk-14", "cc33cc33cc33cc33cc33cc33cc33cc33cc33cc33"
		}
		ls = append(ls, l)
	}
	slices.SortStableFunc(ls, func(a, b login) int { return a.at.Compare(b.at) })
	for i, l := range ls {
		rid := fmt.Sprintf("%032x", i+1)
		status, ev, level := 302, "login_succeeded", "info"
		if l.failed {
			status, ev, level = 200, "login_failed", "warning"
		}
		p := fmt.Appendf(nil, `%s - - [%s] "POST /accounts/login/ HTTP/1.1" %d 0 "-" "python-httpx/0.27.2" rid=%s verify=SUCCESS fp=%s serial=0A dn="CN=%s,O=Example Corp" idn="CN=Example CA,O=Example Corp" rt=0.050`,
			l.ip, l.at.Format("02/Jan/2006:15:04:05 -0700"), status, rid, l.fp, l.cn)
		a := fmt.Appendf(nil, `{"timestamp":"%s","level":"%s","logger":"accounts.auth","event":"%s","request_id":"%s","username":"%s","ip":"%s"}`,
			l.at.Add(20*time.Millisecond).Format(time.RFC3339Nano), level, ev, rid, l.user, l.ip)
		if l.at.Before(campaignStart.Add(restart)) {
			proxy1, app1 = append(proxy1, p), append(app1, a)
		} else {
			proxy2, app2 = append(proxy2, p), append(app2, a)
		}
	}
	return proxy1, proxy2, app1, app2
}

// unresolvedRule is longRule counting only the usernames that did not
// log in: a success of a sprayed username before a restart's first event
// changes what a rebuild counts.
const unresolvedRule = `
rules:
  - id: unresolved-spray
    severity: high
    match: {event.outcome: [failure, success], identity: {exists: true}}
    group_by: [identity]
    distinct: user.name
    unresolved: true
    window: 5m
    threshold: 5
    cooldown: 10m
    resolve_after: 2m
`

// unresolvedCampaign returns unresolvedRule and a campaign whose incident
// a Kafka restart rebuilds whole only if it reads from a window before the
// incident's first event (follow mode's checkpoints, coarser, reach that
// far anyway). The kiosk logs in as usera at
// 0:00 and fails as usera at 1:30 (resolved while the success is in the
// window), as userb..usere from 2:10 to 2:40 (four unresolved), then as a
// new username every 15 s from 7:00 on: the incident fires at 7:00 with
// its first event at 2:10, once the success and usera's failure have left
// the window. A rebuild from 2:10 less the join window and the lateness
// (1:05), as before, misses the success but reads usera's failure, fires
// at 2:40 with its first event at 1:30, under another id.
func unresolvedCampaign(t testing.TB) (rs []*rules.Rule, proxy1, proxy2, app1, app2 [][]byte) {
	t.Helper()
	rs, err := rules.Parse("unresolved", []byte(unresolvedRule))
	if err != nil {
		t.Fatal(err)
	}
	kiosk := []kioskLogin{{at: 0, user: "usera", failed: false}, {at: 90 * time.Second, user: "usera", failed: true}}
	for i, u := range []string{"userb", "userc", "userd", "usere"} {
		kiosk = append(kiosk, kioskLogin{at: 130*time.Second + time.Duration(i)*10*time.Second, user: u, failed: true})
	}
	for at := 7 * time.Minute; at <= time.Hour; at += 15 * time.Second {
		kiosk = append(kiosk, kioskLogin{at: at, user: fmt.Sprintf("user%03d", len(kiosk)), failed: true})
	}
	proxy1, proxy2, app1, app2 = campaignLines(kiosk, 30*time.Minute)
	return rs, proxy1, proxy2, app1, app2
}

func longRules(t testing.TB) []*rules.Rule {
	t.Helper()
	rs, err := rules.Parse("long", []byte(longRule))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// restartConfig returns the follow mode configuration of the restart
// tests, with quick polls and commits, and the paths of the proxy and app
// files it follows, in a new directory that also holds the state.
func restartConfig(t *testing.T, rs []*rules.Rule, pf, af ingest.Format) (cfg FilesConfig, proxyPath, appPath string) {
	dir := t.TempDir()
	proxyPath, appPath = filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	return FilesConfig{
		ProxyFiles:     []string{proxyPath},
		AppFiles:       []string{appPath},
		ProxyFormat:    pf,
		AppFormat:      af,
		StateDir:       filepath.Join(dir, "state"),
		Engine:         detect.Config{Rules: rs},
		IdleTimeout:    2 * time.Second,
		CommitInterval: 20 * time.Millisecond,
		PollInterval:   20 * time.Millisecond,
		Logger:         testLogger(t),
	}, proxyPath, appPath
}

// replayLines runs replay over the lines with rs and returns its alerts.
func replayLines(t testing.TB, rs []*rules.Rule, proxy, app [][]byte) []string {
	t.Helper()
	dir := t.TempDir()
	pp, ap := filepath.Join(dir, "p.log"), filepath.Join(dir, "a.log")
	appendFile(t.(*testing.T), pp, proxy)
	appendFile(t.(*testing.T), ap, app)
	return replayRules(t, rs, []string{pp}, []string{ap})
}

// record is the part of an alert line the restart tests look at.
type record struct {
	Incident string `json:"incident_id"`
	Status   string `json:"status"`
	Seq      int    `json:"sequence"`
}

func records(t *testing.T, lines []string) []record {
	t.Helper()
	var out []record
	for _, l := range lines {
		var r record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// checkContinued checks the alerts of the runs before and after a restart
// in the middle of the long campaign's incident. whole: the second run
// continues the first run's incident (same id, its remaining records, one
// "resolved" record) and together they are replay's alerts, once each.
// Otherwise (the incident began before the longest rebuild) the second
// run opens an incident of its own, whose records it emits, and the first
// incident gets no "resolved" record: what a restart did before incidents
// were rebuilt.
func checkContinued(t *testing.T, want, first, second []string, whole bool) {
	t.Helper()
	a, b := records(t, first), records(t, second)
	if len(a) == 0 || a[0].Status != alert.StatusFiring {
		t.Fatalf("first run: %+v, want the incident's firing record first", a)
	}
	id := a[0].Incident
	for _, r := range a {
		if r.Incident != id || r.Status == alert.StatusResolved {
			t.Fatalf("first run: %+v, want the records of one firing incident", a)
		}
	}
	resolved := func(id string) int {
		n := 0
		for _, r := range b {
			if r.Incident == id && r.Status == alert.StatusResolved {
				n++
			}
		}
		return n
	}
	if !whole {
		if n := resolved(id); n != 0 {
			t.Errorf("second run resolved the first run's incident %d times: it was rebuilt whole", n)
		}
		if len(b) == 0 || b[len(b)-1].Incident == id || b[len(b)-1].Status != alert.StatusResolved {
			t.Errorf("second run: %+v, want another incident's records ending with its resolution", b)
		}
		return
	}
	checkOnceEach(t, append(slices.Clone(first), second...), want)
	for _, r := range b {
		if r.Incident != id {
			t.Errorf("second run: record %+v of another incident than %s", r, id)
		}
	}
	if n := resolved(id); n != 1 {
		t.Errorf("second run: %d resolved records of incident %s, want 1", n, id)
	}
	if b[0].Seq != a[len(a)-1].Seq+1 {
		t.Errorf("second run starts at record %d of the incident, the first ended at %d", b[0].Seq, a[len(a)-1].Seq)
	}
}

// rebuildCases: the default longest rebuild covers the incident, which
// began 30 minutes before the restart; ten minutes do not (more than the
// six minutes of the windows' span).
var rebuildCases = []struct {
	name       string
	maxRebuild time.Duration
	whole      bool
}{
	{"default", 0, true},
	{"bounded", 10 * time.Minute, false},
}

// TestFollowRestartRebuildsIncident follows the long campaign's logs,
// stops half an hour into its incident and restarts with the same state
// directory: the second run continues the same incident and resolves it
// once; with a longest rebuild shorter than the incident, the incident is
// counted as not rebuilt and the second run opens another.
func TestFollowRestartRebuildsIncident(t *testing.T) {
	pf, af := formatsFor(t)
	cases := append(slices.Clone(rebuildCases), struct {
		name       string
		maxRebuild time.Duration
		whole      bool
	}{"unresolved usernames", 0, true})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := longRules(t)
			p1, p2, a1, a2 := longCampaign(30 * time.Minute)
			if c.name == "unresolved usernames" {
				rs, p1, p2, a1, a2 = unresolvedCampaign(t)
			}
			want := replayLines(t, rs, slices.Concat(p1, p2), slices.Concat(a1, a2))
			if got := records(t, want); len(got) < 3 {
				t.Fatalf("replay: %+v, want an incident with several records", got)
			}
			cfg, proxyPath, appPath := restartConfig(t, rs, pf, af)
			cfg.MaxRebuild = c.maxRebuild
			first, second := &collector{}, &collector{}
			cfg.Sink = first
			r1 := startFollower(t, cfg)
			// In pieces, so that checkpoints are taken all along.
			for i := range 4 {
				appendFile(t, proxyPath, p1[i*len(p1)/4:(i+1)*len(p1)/4])
				appendFile(t, appPath, a1[i*len(a1)/4:(i+1)*len(a1)/4])
				waitFor(t, 40*time.Second, "the lines processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
			}
			r1.shutdown(t)
			if n := r1.f.Stats().Unrebuilt.Load(); (n == 0) != c.whole {
				t.Errorf("first run: %d incidents counted as not rebuilt", n)
			}
			t.Logf("first run: rewind %s", time.Duration(r1.f.Stats().Rewind.Load()))

			cfg.Sink = second
			r2 := resume(t, cfg, proxyPath, appPath, p2, a2)
			if r2.f.Stats().Muted.Load() == 0 {
				t.Error("the second run muted nothing: nothing was read again")
			}
			checkContinued(t, want, first.snapshot(), second.snapshot(), c.whole)
		})
	}
}

// produceTimed writes lines to a one-partition topic with their event
// times as the message timestamps, as a shipper stamping messages with
// their ingest time does (the rebuild rewinds by timestamp).
func produceTimed(t *testing.T, c *kfake.Cluster, topic string, f ingest.Format, lines [][]byte) {
	t.Helper()
	produceLagged(t, c, topic, f, lines, 0)
}

// produceLagged is produceTimed with the message timestamps lag after the
// event times, as a shipper that stamps messages when it sends them.
func produceLagged(t *testing.T, c *kfake.Cluster, topic string, f ingest.Format, lines [][]byte, lag time.Duration) {
	t.Helper()
	w := kafkaWriter(c, topic)
	defer w.Close()
	p := f.NewParser()
	var r event.Record
	msgs := make([]kafkago.Message, len(lines))
	for i, l := range lines {
		if err := p.Parse(l, &r); err != nil {
			t.Fatal(err)
		}
		msgs[i] = kafkago.Message{Value: l, Time: time.Unix(0, r.Time).Add(lag)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("producing to %s: %v", topic, err)
	}
}

// TestKafkaRestartRebuildsIncident is TestFollowRestartRebuildsIncident
// over Kafka: the first server commits, with each offset, how far before
// it a restart must rewind; the second reads the rewind back and rebuilds
// the incident whole (or, beyond the longest rebuild, does not), also when
// the broker fails its first fetches of the rewinds.
func TestKafkaRestartRebuildsIncident(t *testing.T) {
	t.Parallel()
	type kafkaCase struct {
		name       string
		maxRebuild time.Duration
		whole      bool
		// fetchFailures is how many times the broker fails the second
		// server's fetch of the rewinds: it tries again.
		fetchFailures int
		// unresolved runs unresolvedCampaign instead of the long one.
		unresolved bool
	}
	var cases []kafkaCase
	for _, c := range rebuildCases {
		cases = append(cases, kafkaCase{name: c.name, maxRebuild: c.maxRebuild, whole: c.whole})
	}
	cases = append(cases, kafkaCase{name: "metadata fetch fails twice", whole: true, fetchFailures: 2},
		kafkaCase{name: "unresolved usernames", whole: true, unresolved: true})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := longRules(t)
			p1, p2, a1, a2 := longCampaign(30 * time.Minute)
			if c.unresolved {
				rs, p1, p2, a1, a2 = unresolvedCampaign(t)
			}
			want := replayLines(t, rs, slices.Concat(p1, p2), slices.Concat(a1, a2))
			first, second, r2 := kafkaRestart(t, rs, p1, p2, a1, a2, 0, func(cfg *Config) { cfg.MaxRebuild = c.maxRebuild },
				func(cl *kfake.Cluster, r1 *running) {
					if n := r1.s.Stats().Unrebuilt.Load(); (n == 0) != c.whole {
						t.Errorf("first server: %d incidents counted as not rebuilt", n)
					}
					t.Logf("first server: rewind %s", time.Duration(r1.s.Stats().Rewind.Load()))
					if c.fetchFailures > 0 {
						failRewindFetch(cl, c.fetchFailures)
					}
				})
			if r2.s.Stats().Muted.Load() == 0 {
				t.Error("the second server muted nothing: nothing was read again")
			}
			checkContinued(t, want, first, second, c.whole)
		})
	}
}

// committedTo reports whether the offsets s committed on the partitions of
// the proxy and app topics it owns add up to proxy and app. The alerts of
// the records before a committed offset were handed to the sink before it
// was committed.
func committedTo(s *Server, proxy, app int) func() bool {
	return func() bool {
		got := map[string]int64{}
		for _, p := range s.Partitions() {
			got[p.Topic] += max(p.Committed, 0)
		}
		return got["proxy"] == int64(proxy) && got["app"] == int64(app)
	}
}

// kafkaRestart produces p1 and a1 to a new broker, runs a server with
// rules rs until it committed what of them it releases (see releasable),
// stops it, produces p2 and a2 and closes the input, and runs a second
// server until it committed everything. It returns the alerts of
// each and the second server, stopped. The message timestamps are lag
// after the event times. tune, if not nil, adjusts both servers'
// configuration; stopped, if not nil, runs once the first server stopped.
func kafkaRestart(t *testing.T, rs []*rules.Rule, p1, p2, a1, a2 [][]byte, lag time.Duration, tune func(*Config), stopped func(*kfake.Cluster, *running)) (first, second []string, r2 *running) {
	t.Helper()
	pf, af := formatsFor(t)
	cl := cluster(t, 1)
	produceLagged(t, cl, "proxy", pf, p1, lag)
	produceLagged(t, cl, "app", af, a1, lag)
	c1, c2 := &collector{}, &collector{}
	cfg := serverConfig(t, cl, "restart", c1)
	cfg.Engine.Rules = rs
	cfg.CommitInterval = 20 * time.Millisecond
	if tune != nil {
		tune(&cfg)
	}
	r1 := start(t, cfg)
	np, na := releasable(t, p1, a1)
	waitFor(t, patience, "the first part released and committed", committedTo(r1.s, np, na))
	r1.shutdown(t)
	produceLagged(t, cl, "proxy", pf, p2, lag)
	produceLagged(t, cl, "app", af, a2, lag)
	closeInput(t, cl, 1, 1, newestTime(t, p2, a2))
	if stopped != nil {
		stopped(cl, r1)
	}
	cfg.Sink = c2
	r2 = start(t, cfg)
	waitFor(t, patience, "everything released and committed", committedTo(r2.s, len(p1)+len(p2)+1, len(a1)+len(a2)))
	r2.shutdown(t)
	return c1.snapshot(), c2.snapshot(), r2
}

// followRestart follows the kiosk's logins and the user's with rules rs
// and a longest rebuild of maxRebuild, the lines before 30:00 appended a
// minute of event time at a time, each processed (and positions saved)
// before the next, so that a restart resumes the files at the end of a
// minute; then it stops, and follows the rest in a second run. It returns
// the alerts and the runs, stopped. maxRebuild is short enough that every
// commit keeps its positions (a checkpoint a minute of event time is
// more than the default longest rebuild thins to).
func followRestart(t *testing.T, rs []*rules.Rule, kiosk []kioskLogin, maxRebuild time.Duration) (first, second []string, r1, r2 *runningFollower) {
	t.Helper()
	return followRestartLines(t, rs, func(restart time.Duration) (p1, p2, a1, a2 [][]byte) { return campaignLines(kiosk, restart) }, maxRebuild)
}

// followRestartLines is followRestart with the lines split returns,
// before and from restart.
func followRestartLines(t *testing.T, rs []*rules.Rule, split func(restart time.Duration) (p1, p2, a1, a2 [][]byte), maxRebuild time.Duration) (first, second []string, r1, r2 *runningFollower) {
	t.Helper()
	pf, af := formatsFor(t)
	cfg, proxyPath, appPath := restartConfig(t, rs, pf, af)
	cfg.MaxRebuild = maxRebuild
	cfg.IdleTimeout = 300 * time.Millisecond
	c1, c2 := &collector{}, &collector{}
	cfg.Sink = c1
	r1 = startFollower(t, cfg)
	var np, na int
	for cut := time.Duration(0); cut <= 30*time.Minute; cut += time.Minute {
		p, _, a, _ := split(cut)
		appendFile(t, proxyPath, p[np:])
		appendFile(t, appPath, a[na:])
		np, na = len(p), len(a)
		waitFor(t, 40*time.Second, "the lines processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
	}
	r1.shutdown(t)
	_, p2, _, a2 := split(30 * time.Minute)
	cfg.Sink = c2
	r2 = resume(t, cfg, proxyPath, appPath, p2, a2)
	return c1.snapshot(), c2.snapshot(), r1, r2
}

// successBeforeRebuild returns unresolvedRule, the kiosk's logins of the
// restart tests that hold it back, and replay's alerts over them: the
// kiosk logs in as usera at success, fails as usera at fail and as
// userb..usere from others on, 10 s apart, then tries a new username every
// 15 s from 30:10 to 40:00 (one incident, firing at 31:10).
func successBeforeRebuild(t *testing.T, success, fail, others time.Duration) ([]*rules.Rule, []kioskLogin, []string) {
	t.Helper()
	rs, err := rules.Parse("unresolved", []byte(unresolvedRule))
	if err != nil {
		t.Fatal(err)
	}
	kiosk := []kioskLogin{{at: success, user: "usera"}, {at: fail, user: "usera", failed: true}}
	for i, u := range []string{"userb", "userc", "userd", "usere"} {
		kiosk = append(kiosk, kioskLogin{at: others + time.Duration(i)*10*time.Second, user: u, failed: true})
	}
	for at := 30*time.Minute + 10*time.Second; at <= 40*time.Minute; at += 15 * time.Second {
		kiosk = append(kiosk, kioskLogin{at: at, user: fmt.Sprintf("user%03d", len(kiosk)), failed: true})
	}
	p1, p2, a1, a2 := campaignLines(kiosk, 30*time.Minute)
	want := replayLines(t, rs, slices.Concat(p1, p2), slices.Concat(a1, a2))
	if got := records(t, want); len(got) < 2 || got[0].Status != alert.StatusFiring {
		t.Fatalf("replay: %+v, want an incident", got)
	}
	return rs, kiosk, want
}

// TestKafkaRestartHoldsUnresolved restarts a server 30 minutes into
// unresolvedRule's input, with no incident firing: the second server reads
// again the windows' span (six minutes and five seconds) before the last
// record, at 29:37, from 23:32 on. The kiosk logs in as usera at 23:20,
// just before that, fails as usera at 23:40 and as userb..usere from 23:50
// to 24:20 (four unresolved while the success is in the window), then
// tries a new username every 15 s from 30:10: one incident, firing at
// 31:10. A rebuild that counts usera unresolved opens an incident at
// 24:20, muted, whose "resolved" record comes after the restart and whose
// cooldown keeps the real one closed;
// held back until its windows are whole (detect.Engine.MissingBefore), it
// emits after the restart what a replay of everything emits.
func TestKafkaRestartHoldsUnresolved(t *testing.T) {
	t.Parallel()
	rs, kiosk, want := successBeforeRebuild(t, 23*time.Minute+20*time.Second, 23*time.Minute+40*time.Second, 23*time.Minute+50*time.Second)
	p1, p2, a1, a2 := campaignLines(kiosk, 30*time.Minute)
	first, second, r2 := kafkaRestart(t, rs, p1, p2, a1, a2, 0, nil, nil)
	if len(first) != 0 {
		t.Fatalf("first server: %d alerts, want none", len(first))
	}
	if n, after := r2.s.Stats().Records.Load(), int64(len(p2)+len(a2)); n <= after {
		t.Errorf("the second server processed %d records, those after the restart are %d: nothing was read again", n, after)
	}
	checkOnceEach(t, second, want)
}

// TestFollowRestartHoldsUnresolved is TestKafkaRestartHoldsUnresolved in
// follow mode. The lines before the restart are appended a minute of
// event time at a time, so that positions are saved after each minute:
// the restart resumes the files after the minute that ends with the
// kiosk's success (22:50), the latest saved before the windows' span
// (six minutes and five seconds before 29:37), and reads usera's failure
// (23:05) and userb..usere (23:15 to 23:45) again without the success.
func TestFollowRestartHoldsUnresolved(t *testing.T) {
	rs, kiosk, want := successBeforeRebuild(t, 22*time.Minute+50*time.Second, 23*time.Minute+5*time.Second, 23*time.Minute+15*time.Second)
	first, second, _, r2 := followRestart(t, rs, kiosk, 10*time.Minute)
	if len(first) != 0 {
		t.Fatalf("first run: %d alerts, want none", len(first))
	}
	if n := r2.f.srcs[0].Counters().Resumed.Load(); n == 0 {
		t.Error("the second run resumed no file at a saved position")
	}
	checkOnceEach(t, second, want)
}

// twoGroups returns the logins of TestKafkaRestartTwoGroups.
func twoGroups() []kioskLogin {
	var kiosk []kioskLogin
	add := func(from, to time.Duration, other bool) {
		for at := from; at <= to; at += 15 * time.Second {
			kiosk = append(kiosk, kioskLogin{at: at, user: fmt.Sprintf("user%03d", len(kiosk)), failed: true, other: other})
		}
	}
	add(0, time.Minute, false)
	add(9*time.Minute, 12*time.Minute, false)
	add(22*time.Minute+30*time.Second, 40*time.Minute, false)
	add(10*time.Minute, time.Hour, true)
	return kiosk
}

// TestFollowRestartTwoGroups is TestKafkaRestartTwoGroups in follow mode,
// the lines appended a minute at a time so that the restart resumes the
// files at the end of the minute before 8:55 (see
// TestFollowRestartHoldsUnresolved).
func TestFollowRestartTwoGroups(t *testing.T) {
	rs := longRules(t)
	kiosk := twoGroups()
	p1, p2, a1, a2 := campaignLines(kiosk, 30*time.Minute)
	want := replayLines(t, rs, slices.Concat(p1, p2), slices.Concat(a1, a2))
	// kiosk-14's incident began 20 minutes before the restart.
	first, second, r1, r2 := followRestart(t, rs, kiosk, 30*time.Minute)
	if n := r1.f.Stats().Unrebuilt.Load(); n != 0 {
		t.Fatalf("first run: %d incidents counted as not rebuilt", n)
	}
	if r2.f.Stats().Muted.Load() == 0 {
		t.Error("the second run muted nothing: nothing was read again")
	}
	checkOnceEach(t, append(first, second...), want)
}

// TestKafkaRestartTwoGroups restarts a server 30 minutes into the input
// while kiosk-14's incident, begun at 10:00, is firing: the second server
// reads again from 8:55, which cuts through kiosk-13's history. kiosk-13
// fired at 1:00 (its cooldown lasting to 17:00), tried usernames again from
// 9:00 to 12:00 (kept closed by that cooldown), and from 22:30 on: an
// incident firing at 23:30, first event 22:30, going on after the restart.
// Read from 8:55 without what came before, kiosk-13 opens an incident at
// 10:00, muted, whose cooldown lasts to 28:00 and holds the real one back
// until then, when it opens under another id (first event 23:00). Told
// the rebuild state committed with the offsets (detect.Engine.Rebuilding),
// the second server holds kiosk-13 back until 22:30, where it was quiet
// before the restart, and goes on with the same incident.
func TestKafkaRestartTwoGroups(t *testing.T) {
	t.Parallel()
	rs := longRules(t)
	kiosk := twoGroups()
	p1, p2, a1, a2 := campaignLines(kiosk, 30*time.Minute)
	want := replayLines(t, rs, slices.Concat(p1, p2), slices.Concat(a1, a2))
	first, second, r2 := kafkaRestart(t, rs, p1, p2, a1, a2, 0, nil, nil)
	if r2.s.Stats().Muted.Load() == 0 {
		t.Error("the second server muted nothing: nothing was read again")
	}
	checkOnceEach(t, append(first, second...), want)
}

// shortBurst returns eight failed logins through the kiosk 10 s apart
// from burst on, and the user's logins once ten minutes before
// campaignStart and every 30 s for ten minutes from restart: nothing
// between, so that what a restart at restart reads again begins well
// before its first record. They make one unresolvedRule incident, firing
// at the restart and resolving after it.
func shortBurst(burst, restart time.Duration) ([]kioskLogin, []time.Duration) {
	var kiosk []kioskLogin
	for i := range 8 {
		kiosk = append(kiosk, kioskLogin{at: burst + time.Duration(i)*10*time.Second, user: fmt.Sprintf("user%03d", i), failed: true})
	}
	user := []time.Duration{-10 * time.Minute}
	for at := restart; at <= restart+10*time.Minute; at += 30 * time.Second {
		user = append(user, at)
	}
	return kiosk, user
}

// TestKafkaRestartShortBurst restarts during a short burst after a quiet
// hour: the second server reads again from the incident's first event
// less a window, long before its first record, and rebuilds the incident
// whole. Held back for a window from its first record instead, it did not
// reopen it, and the incident got no "resolved" record.
//
// The messages' timestamps are also lagged five minutes behind the event
// times, as a shipper's: the hold starts at the event time the commit
// decided to read again from, not at a message timestamp.
func TestKafkaRestartShortBurst(t *testing.T) {
	t.Parallel()
	rs, err := rules.Parse("unresolved", []byte(unresolvedRule))
	if err != nil {
		t.Fatal(err)
	}
	kiosk, user := shortBurst(0, 3*time.Minute)
	p1, p2, a1, a2 := campaignLinesWith(kiosk, user, 3*time.Minute)
	want := replayLines(t, rs, slices.Concat(p1, p2), slices.Concat(a1, a2))
	for _, lag := range []time.Duration{0, 5 * time.Minute} {
		t.Run(fmt.Sprint("lag ", lag), func(t *testing.T) {
			first, second, _ := kafkaRestart(t, rs, p1, p2, a1, a2, lag, nil, nil)
			checkContinued(t, want, first, second, true)
		})
	}
}

// TestFollowRestartShortBurst is TestKafkaRestartShortBurst in follow
// mode, the burst at 25:00 and the restart at 30:00: the positions saved
// last are those after the user's login ten minutes before campaignStart.
func TestFollowRestartShortBurst(t *testing.T) {
	rs, err := rules.Parse("unresolved", []byte(unresolvedRule))
	if err != nil {
		t.Fatal(err)
	}
	kiosk, user := shortBurst(25*time.Minute, 30*time.Minute)
	split := func(restart time.Duration) (p1, p2, a1, a2 [][]byte) { return campaignLinesWith(kiosk, user, restart) }
	p1, p2, a1, a2 := split(30 * time.Minute)
	want := replayLines(t, rs, slices.Concat(p1, p2), slices.Concat(a1, a2))
	first, second, _, _ := followRestartLines(t, rs, split, 10*time.Minute)
	checkContinued(t, want, first, second, true)
}

// TestKafkaReloadRebuildsIncident reloads the rules half an hour into the
// long campaign's incident: the pipeline rebuilt with them rewinds as far
// as the last commit said, so the incident goes on under its id and
// resolves once.
func TestKafkaReloadRebuildsIncident(t *testing.T) {
	t.Parallel()
	rs := longRules(t)
	p1, p2, a1, a2 := longCampaign(30 * time.Minute)
	want := replayLines(t, rs, slices.Concat(p1, p2), slices.Concat(a1, a2))
	pf, af := formatsFor(t)
	cl := cluster(t, 1)
	produceTimed(t, cl, "proxy", pf, p1)
	produceTimed(t, cl, "app", af, a1)
	got := &collector{}
	cfg := serverConfig(t, cl, "reload", got)
	cfg.Engine.Rules = rs
	cfg.CommitInterval = 20 * time.Millisecond
	r := start(t, cfg)
	np, na := releasable(t, p1, a1)
	waitFor(t, patience, "the first half released and committed", committedTo(r.s, np, na))
	before := len(got.snapshot())
	if err := r.s.ReloadRules(longRules(t)); err != nil {
		t.Fatal(err)
	}
	// Rebuilds counts the new pipeline when it starts, Muted its first
	// alert read again; Ready is then false until the rebuild's end.
	waitFor(t, patience, "the rebuild", func() bool {
		return r.s.Stats().Rebuilds.Load() >= 2 && r.s.Stats().Muted.Load() > 0 && r.s.Ready()
	})
	produceTimed(t, cl, "proxy", pf, p2)
	produceTimed(t, cl, "app", af, a2)
	closeInput(t, cl, 1, 1, newestTime(t, p2, a2))
	waitFor(t, patience, "everything released and committed", committedTo(r.s, len(p1)+len(p2)+1, len(a1)+len(a2)))
	r.shutdown(t)
	all := got.snapshot()
	checkContinued(t, want, all[:before], all[before:], true)
}

// TestParseRewind reads back the rewinds and rebuild states formatRewind
// writes, a rewind without a state from an older version's metadata or a
// malformed state, and nothing from other metadata.
func TestParseRewind(t *testing.T) {
	st := &rebuildState{since: 1_764_000_000_000_000_000, from: 1_763_999_000_000_000_000, needs: []detect.RebuildNeed{
		{Group: 0xfedcba9876543210, From: 1_764_000_000_000_000_000 - int64(30*time.Minute)},
		{Group: 1, From: 1_764_000_000_000_000_000 - 1},
	}}
	many := &rebuildState{since: 5, from: -int64(DefaultMaxRebuild)}
	for i := range maxSavedNeeds + 1 {
		many.needs = append(many.needs, detect.RebuildNeed{Group: math.MaxUint64 - uint64(i), From: -int64(DefaultMaxRebuild)})
	}
	if m := formatRewind(DefaultMaxRebuild, &rebuildState{since: math.MaxInt64, from: math.MinInt64, needs: many.needs[:maxSavedNeeds]}); len(m) > 4096 {
		t.Errorf("metadata of %d needs: %d bytes, more than a broker keeps by default", maxSavedNeeds, len(m))
	}
	for _, c := range []struct {
		meta  string
		want  time.Duration
		state *rebuildState
		ok    bool
	}{
		{formatRewind(0, nil), 0, nil, true},
		{formatRewind(30*time.Minute+50*time.Second, nil), 30*time.Minute + 50*time.Second, nil, true},
		{formatRewind(DefaultMaxRebuild, nil), DefaultMaxRebuild, nil, true},
		{formatRewind(time.Hour, st), time.Hour, st, true},
		{formatRewind(time.Hour, &rebuildState{since: -7, from: -9}), time.Hour, &rebuildState{since: -7, from: -9}, true},
		{formatRewind(time.Hour, many), time.Hour, nil, true}, // too many to keep
		{"spraywatch.rewind=3600000000000;since=x;from=1;needs=", time.Hour, nil, true},
		{"spraywatch.rewind=3600000000000;since=5;from=y;needs=", time.Hour, nil, true},
		{"spraywatch.rewind=3600000000000;since=5;from=1;needs=AAAA", time.Hour, nil, true},
		{"spraywatch.rewind=3600000000000;since=5;needs=", time.Hour, nil, true},
		{"spraywatch.rewind=3600000000000;since=5", time.Hour, nil, true},
		{"", 0, nil, false},
		{"spraywatch.rewind=", 0, nil, false},
		{"spraywatch.rewind=-5", 0, nil, false},
		{"spraywatch.rewind=1h", 0, nil, false},
		{"other client's metadata", 0, nil, false},
	} {
		got, state, ok := parseRewind(c.meta)
		if got != c.want || ok != c.ok || !reflect.DeepEqual(state, c.state) {
			t.Errorf("parseRewind(%q) = %v, %+v, %v; want %v, %+v, %v", c.meta, got, state, ok, c.want, c.state, c.ok)
		}
	}
}

// splitAt splits lines (in time order) at the given event times.
func splitAt(t *testing.T, lines [][]byte, f ingest.Format, at ...time.Time) [][][]byte {
	t.Helper()
	p := f.NewParser()
	var r event.Record
	var out [][][]byte
	i := 0
	for _, a := range at {
		j := i
		for ; j < len(lines); j++ {
			if err := p.Parse(lines[j], &r); err != nil {
				t.Fatal(err)
			}
			if r.Time >= a.UnixNano() {
				break
			}
		}
		out = append(out, lines[i:j])
		i = j
	}
	return append(out, lines[i:])
}

// TestFollowRestartAfterTwoRotations rotates the files twice during the
// long campaign's incident, then restarts: the positions the incident
// needs (a minute before its first event) are in the first files, and the
// second files, opened and closed since, have no position of the records
// processed saved; a restart finds them by where their reading started
// (saved with their first line), reads them again and rebuilds the
// incident whole.
func TestFollowRestartAfterTwoRotations(t *testing.T) {
	rs := longRules(t)
	p1, p2, a1, a2 := longCampaign(30 * time.Minute)
	want := replayLines(t, rs, slices.Concat(p1, p2), slices.Concat(a1, a2))
	pf, af := formatsFor(t)
	// The first files end at 09:59, the second ones at 10:15. The rewind
	// the incident needs reaches its first event (10:00) less the join
	// window and the lateness: before 09:59, in the first files.
	cuts := []time.Time{campaignStart.Add(-time.Minute), campaignStart.Add(-15 * time.Second), campaignStart.Add(15 * time.Minute)}
	pp, ap := splitAt(t, p1, pf, cuts...), splitAt(t, a1, af, cuts...)
	cfg, proxyPath, appPath := restartConfig(t, rs, pf, af)
	cfg.RotateWait = 100 * time.Millisecond
	// Checkpoints a few seconds of event time apart, so that one is taken
	// after the second files' first lines (09:59:07), before the
	// incident's first event.
	cfg.MaxRebuild = time.Hour
	first, second := &collector{}, &collector{}
	cfg.Sink = first
	r1 := startFollower(t, cfg)
	rotated := 0
	for i := range pp {
		if i == 1 || i == 3 {
			rotated++
			for _, p := range []string{proxyPath, appPath} {
				if err := os.Rename(p, fmt.Sprintf("%s.%d", p, rotated)); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, 20*time.Second, "the rotated files closed", func() bool {
				return r1.f.srcs[0].Counters().Rotated.Load() >= int64(rotated) && r1.f.srcs[1].Counters().Rotated.Load() >= int64(rotated)
			})
		}
		appendFile(t, proxyPath, pp[i])
		appendFile(t, appPath, ap[i])
		waitFor(t, 40*time.Second, "the lines processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
		c := r1.f.Stats().Commits.Load()
		waitFor(t, 10*time.Second, "a checkpoint", func() bool { return r1.f.Stats().Commits.Load() >= c+2 })
	}
	r1.shutdown(t)
	if n := r1.f.Stats().Unrebuilt.Load(); n != 0 {
		t.Errorf("first run: %d incidents counted as not rebuilt", n)
	}

	cfg.Sink = second
	resume(t, cfg, proxyPath, appPath, p2, a2)
	checkContinued(t, want, first.snapshot(), second.snapshot(), true)
}

// failRewindFetch makes the broker answer the next n offset fetches that
// read metadata back (the server's, not the consumer group's own: kafka-go
// fetches a group's offsets with version 1) with a retriable error, as a
// coordinator still loading its offsets does after a restart.
func failRewindFetch(cl *kfake.Cluster, n int) {
	left := n
	cl.ControlKey(kmsg.OffsetFetch.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		r := req.(*kmsg.OffsetFetchRequest)
		if r.Version < 2 || left == 0 {
			cl.KeepControl()
			return nil, nil, false
		}
		left--
		if left > 0 {
			cl.KeepControl()
		}
		resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
		resp.ErrorCode = kerr.CoordinatorLoadInProgress.Code
		return resp, nil, true
	})
}

// TestReloadCountsUnrebuiltOnce follows the long campaign with a longest
// rebuild shorter than its incident, which is then counted as not
// rebuilt, and reloads the rules twice while the campaign goes on: each
// incident is counted (and warned about) once, not again by the
// pipelines rebuilt with the reloaded rules. (A rebuild that cannot reach
// an incident's first event opens another incident, with its own id,
// which is counted in its turn.)
func TestReloadCountsUnrebuiltOnce(t *testing.T) {
	rs := longRules(t)
	p1, p2, a1, a2 := longCampaign(30 * time.Minute)
	pf, af := formatsFor(t)
	cfg, proxyPath, appPath := restartConfig(t, rs, pf, af)
	cfg.MaxRebuild = 10 * time.Minute
	cfg.Sink = &collector{}
	warned := &warnings{}
	cfg.Logger = slog.New(warned)
	r := startFollower(t, cfg)
	defer r.shutdown(t)
	for i := range 4 {
		appendFile(t, proxyPath, p1[i*len(p1)/4:(i+1)*len(p1)/4])
		appendFile(t, appPath, a1[i*len(a1)/4:(i+1)*len(a1)/4])
		waitFor(t, 40*time.Second, "the lines processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
	}
	waitFor(t, 20*time.Second, "the incident counted as not rebuilt", func() bool { return r.f.Stats().Unrebuilt.Load() > 0 })
	for reload := range 2 {
		if err := r.f.ReloadRules(longRules(t)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "the rebuild", func() bool { return r.f.Stats().Rebuilds.Load() >= int64(reload+2) && r.f.Ready() })
		// Lines of the second half, so that positions are committed
		// again while the campaign goes on.
		appendFile(t, proxyPath, p2[reload*len(p2)/8:(reload+1)*len(p2)/8])
		appendFile(t, appPath, a2[reload*len(a2)/8:(reload+1)*len(a2)/8])
		waitFor(t, 40*time.Second, "the lines processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
	}
	ids := warned.incidents()
	if len(ids) == 0 {
		t.Fatal("no incident warned about as not rebuilt")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("incident %s warned about as not rebuilt more than once (all: %v)", id, ids)
		}
		seen[id] = true
	}
	if n := r.f.Stats().Unrebuilt.Load(); n != int64(len(ids)) {
		t.Errorf("%d incidents counted as not rebuilt, %d warned about", n, len(ids))
	}
}

// warnings is a slog handler keeping the incident ids of the warnings
// about incidents beyond the longest rebuild.
type warnings struct {
	mu  sync.Mutex
	ids []string
}

func (w *warnings) Enabled(context.Context, slog.Level) bool { return true }

func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	if r.Level != slog.LevelWarn || !strings.Contains(r.Message, "before the longest rebuild") {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "incident" {
			w.mu.Lock()
			w.ids = append(w.ids, a.Value.String())
			w.mu.Unlock()
		}
		return true
	})
	return nil
}

func (w *warnings) WithAttrs([]slog.Attr) slog.Handler { return w }

func (w *warnings) WithGroup(string) slog.Handler { return w }

func (w *warnings) incidents() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.ids)
}
