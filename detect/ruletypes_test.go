package detect

import (
	"context"
	"fmt"
	"hash/maphash"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// ev builds an authentication event at sec seconds.
func ev(sec float64, kv ...string) *event.Event {
	e := &event.Event{Time: int64(sec * float64(time.Second))}
	for i := 0; i+1 < len(kv); i += 2 {
		f, ok := event.LookupField(kv[i])
		if !ok {
			panic("unknown field " + kv[i])
		}
		e.Values[f] = kv[i+1]
	}
	return e
}

// login is an event from certificate cert for user with outcome.
func login(sec float64, cert, user, outcome string) *event.Event {
	return ev(sec, "spraywatch.identity", "sha1:"+cert, "tls.client.hash.sha1", cert, "user.name", user,
		"event.outcome", outcome, "source.ip", "198.51.100.4", "http.request.id", fmt.Sprintf("r%.0f", sec*1000))
}

func runEvents(t testing.TB, rs []*rules.Rule, evs []*event.Event) ([]alert.Alert, *Engine) {
	t.Helper()
	sink := &captureSink{}
	e, err := NewEngine(Config{Rules: rs, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, x := range evs {
		if err := e.AddEvent(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return sink.alerts, e
}

// firing lists "rule observed [account] [classification]" for firing and
// updated records.
func firing(as []alert.Alert) string {
	var out []string
	for _, a := range as {
		if a.Status == alert.StatusResolved {
			continue
		}
		s := fmt.Sprintf("%s/%s=%g", a.Rule, a.Status, a.Observed)
		if a.Account != "" {
			s += " account=" + a.Account
		}
		if a.Classification != nil {
			s += " " + a.Classification.Kind
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

// spray returns n failed logins from cert, one user each, every step seconds.
func spray(from float64, step float64, cert string, n int, prefix string) []*event.Event {
	var out []*event.Event
	for i := range n {
		out = append(out, login(from+float64(i)*step, cert, fmt.Sprintf("%s%02d", prefix, i), "failure"))
	}
	return out
}

func cat(parts ...[]*event.Event) []*event.Event {
	var out []*event.Event
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestRuleTypes(t *testing.T) {
	typos := []*event.Event{ // five people mistype once, then log in
		login(1, "aa", "u1", "failure"), login(2, "aa", "u1", "success"),
		login(3, "aa", "u2", "failure"), login(4, "aa", "u2", "success"),
		login(5, "aa", "u3", "failure"), login(6, "aa", "u3", "success"),
		login(7, "aa", "u4", "failure"), login(8, "aa", "u4", "success"),
		login(9, "aa", "u5", "failure"), login(10, "aa", "u5", "success"),
	}
	tests := []struct {
		name string
		rule string
		evs  []*event.Event
		want string
	}{
		{"distinct fires at threshold", `{id: d, group_by: [identity], distinct: user.name, window: 1m, threshold: 4, match: {event.outcome: failure}}`,
			spray(0, 1, "aa", 4, "x"), "d/firing=4 mixed"},
		{"distinct below threshold", `{id: d, group_by: [identity], distinct: user.name, window: 1m, threshold: 5, match: {event.outcome: failure}}`,
			spray(0, 1, "aa", 4, "x"), ""},
		{"distinct counts typos", `{id: d, group_by: [identity], distinct: user.name, window: 1m, threshold: 5}`,
			typos, "d/firing=5 credential_stuffing"},
		{"unresolved ignores typos", `{id: d, group_by: [identity], distinct: user.name, unresolved: true, window: 1m, threshold: 5}`,
			typos, ""},
		{"unresolved counts sprays", `{id: d, group_by: [identity], distinct: user.name, unresolved: true, window: 1m, threshold: 5}`,
			cat(typos, spray(11, 1, "aa", 5, "x")), "d/firing=5 credential_stuffing"},
		{"unresolved forgives mistyped usernames", `{id: d, group_by: [identity], distinct: user.name, unresolved: true, window: 1m, threshold: 3}`,
			[]*event.Event{
				login(1, "aa", "alcie", "failure"), login(2, "aa", "alice", "success"), // swapped
				login(3, "aa", "boob", "failure"), login(4, "aa", "bob", "success"), // doubled
				login(5, "aa", "carl", "failure"), login(6, "aa", "carol", "success"), // dropped
				login(7, "aa", "dave", "failure"), login(8, "aa", "erin", "success"), // not a typo of erin
			}, ""},
		{"unresolved still counts non-typos", `{id: d, group_by: [identity], distinct: user.name, unresolved: true, window: 1m, threshold: 2}`,
			[]*event.Event{
				login(1, "aa", "alcie", "failure"), login(2, "aa", "alice", "success"),
				login(7, "aa", "dave", "failure"), login(8, "aa", "erin", "failure"),
			}, "d/firing=2 mixed"},
		{"min_events holds back", `{id: d, group_by: [identity], distinct: user.name, window: 1m, threshold: 2, min_events: 6}`,
			spray(0, 1, "aa", 5, "x"), ""},
		{"count", `{id: c, type: count, group_by: [identity], window: 1m, threshold: 6}`,
			[]*event.Event{login(0, "aa", "bob", "failure"), login(1, "aa", "bob", "failure"), login(2, "aa", "bob", "failure"),
				login(3, "aa", "bob", "failure"), login(4, "aa", "bob", "failure"), login(5, "aa", "bob", "failure")},
			"c/firing=6 brute_force"},
		{"ratio fires", `{id: r, type: ratio, ratio: 0.8, min_attempts: 5, group_by: [identity], window: 1m}`,
			spray(0, 1, "aa", 5, "x"), "r/firing=1 credential_stuffing"},
		{"ratio quiet on typos", `{id: r, type: ratio, ratio: 0.8, min_attempts: 5, group_by: [identity], window: 1m}`,
			typos, ""},
		{"ratio needs attempts", `{id: r, type: ratio, ratio: 0.5, min_attempts: 10, group_by: [identity], window: 1m}`,
			spray(0, 1, "aa", 9, "x"), ""},
		{"sequence names the account", `{id: s, type: sequence, group_by: [identity], distinct: user.name, window: 5m, threshold: 4}`,
			cat(spray(0, 1, "aa", 6, "x"), []*event.Event{login(30, "aa", "x02", "failure"), login(31, "aa", "x03", "success")}),
			"s/firing=5 account=x03 password_spraying"},
		{"sequence ignores the owner's own login", `{id: s, type: sequence, group_by: [identity], distinct: user.name, window: 5m, threshold: 4}`,
			cat(spray(0, 1, "aa", 6, "x"), []*event.Event{login(30, "aa", "owner", "success")}), ""},
		{"sequence needs failures first", `{id: s, type: sequence, group_by: [identity], distinct: user.name, window: 5m, threshold: 4}`,
			cat(spray(0, 1, "aa", 3, "x"), []*event.Event{login(30, "aa", "x01", "success")}), ""},
		{"sequence quiet on shared certificates", `{id: s, type: sequence, group_by: [identity], distinct: user.name, window: 5m, threshold: 2, max_success_users: 3}`,
			cat(typos, spray(11, 1, "aa", 4, "x"), []*event.Event{login(30, "aa", "x01", "success")}), ""},
		{"subnet groups several certificates", `{id: n, group_by: [source.subnet], distinct: user.name, window: 1m, threshold: 6}`,
			[]*event.Event{
				ev(0, "source.ip", "192.0.2.1", "user.name", "a"), ev(1, "source.ip", "192.0.2.2", "user.name", "b"),
				ev(2, "source.ip", "192.0.2.3", "user.name", "c"), ev(3, "source.ip", "192.0.2.200", "user.name", "d"),
				ev(4, "source.ip", "192.0.3.1", "user.name", "e"), ev(5, "source.ip", "192.0.2.9", "user.name", "f"),
				ev(6, "source.ip", "192.0.2.10", "user.name", "g"),
			}, "n/firing=6 mixed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := testRule(t, "rules:\n  - "+tt.rule+"\n")
			as, _ := runEvents(t, rs, tt.evs)
			if got := firing(as); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestBaselineLearnsGroupLevel(t *testing.T) {
	rule := testRule(t, `rules:
  - {id: b, type: baseline, group_by: [identity], distinct: user.name, window: 10m, threshold: 1,
     baseline: {sigma: 3, floor: 4, half_life: 2h, warmup: 1h}}
`)
	// A gateway with 8 distinct users every 10 minutes for 3 hours: its
	// normal level. Then 8 again (quiet), then 30 (fires).
	var evs []*event.Event
	for w := range 18 {
		for u := range 8 {
			evs = append(evs, login(float64(w*600+u*60), "gw", fmt.Sprintf("p%d", (w*8+u)%40), "success"))
		}
	}
	quiet := evs
	as, _ := runEvents(t, rule, quiet)
	if got := firing(as); got != "" {
		t.Fatalf("normal level fired: %s", got)
	}
	attack := spray(18*600, 10, "gw", 30, "x")
	as, _ = runEvents(t, rule, cat(quiet, attack))
	if len(as) == 0 || as[0].Reason == nil || as[0].Reason.BaselineMean == nil {
		t.Fatalf("spray above the baseline did not fire with a baseline reason: %+v", as)
	}
	r := as[0].Reason
	if *r.BaselineMean < 7 || *r.BaselineMean > 9 || as[0].Threshold < 8 || r.BaselineSamples < 6 {
		t.Errorf("baseline mean %v spread %v threshold %v samples %d", *r.BaselineMean, *r.BaselineSpread, as[0].Threshold, r.BaselineSamples)
	}
	// Before warm-up, even a spray stays quiet.
	as, _ = runEvents(t, rule, spray(0, 10, "gw", 30, "x"))
	if got := firing(as); got != "" {
		t.Errorf("fired before warm-up: %s", got)
	}
}

func TestLongWindowValueSet(t *testing.T) {
	rule := testRule(t, `rules:
  - {id: slow, group_by: [identity], distinct: user.name, unresolved: true, window: 12h, threshold: 50}
`)
	// One new username every 5 minutes: 50 after 4h05m.
	as, eng := runEvents(t, rule, spray(0, 300, "aa", 60, "u"))
	if got := firing(as); !strings.HasPrefix(got, "slow/firing=50") {
		t.Fatalf("got %q", got)
	}
	if want := formatTime(int64(49 * 300 * time.Second)); as[0].LastSeen != want {
		t.Errorf("fired at %s, want %s", as[0].LastSeen, want)
	}
	if as[0].Count.DistinctUsers != 50 || len(as[0].Sample.UserNames) == 0 {
		t.Errorf("counts %+v sample %v", as[0].Count, as[0].Sample.UserNames)
	}
	_ = eng
	// Values expire after the window: 10 users, 13 h gap, 45 users -> no alert.
	evs := cat(spray(0, 60, "bb", 10, "a"), spray(13*3600, 60, "bb", 45, "b"))
	as, _ = runEvents(t, rule, evs)
	if got := firing(as); got != "" {
		t.Errorf("expired values still counted: %s", got)
	}
}

func TestValueSetExpiry(t *testing.T) {
	s := newValueSet(maphash.MakeSeed())
	const L = int64(100)
	for i, v := range []string{"a", "b", "c"} {
		s.add(entry{t: int64(i * 10), outcome: outcomeFailure}, hashString(s.seed, v), L, 1000)
	}
	s.add(entry{t: 50, outcome: outcomeFailure}, hashString(s.seed, "a"), L, 1000) // a seen again
	var left []int64
	for now := int64(0); now <= 200; now += 5 {
		for {
			at, ok := s.expire(now, L)
			if !ok {
				break
			}
			left = append(left, at)
		}
	}
	if fmt.Sprint(left) != "[110 120 150]" || s.value(measureDistinct) != 0 || s.events != 0 {
		t.Errorf("left %v, %d values, %d events", left, s.value(measureDistinct), s.events)
	}
	// The cap forgets the value queued longest ago.
	for i := range 5 {
		s.add(entry{t: 300 + int64(i), outcome: outcomeFailure}, hashString(s.seed, fmt.Sprint(i)), L, 3)
	}
	if s.value(measureDistinct) != 3 || s.value(measureUnresolved) != 3 {
		t.Errorf("cap: %d values", s.value(measureDistinct))
	}
}

func TestSuppressionsCounted(t *testing.T) {
	rs := testRule(t, `rules:
  - id: d
    group_by: [identity]
    distinct: user.name
    window: 1m
    threshold: 3
    suppress:
      - reason: load test certificate
        match: {tls.client.hash.sha1: lt}
        expires: "1970-01-01T00:01:00Z"
suppressions:
  - reason: gateway health-check account
    match: {user.name: healthcheck}
`)
	evs := cat(spray(0, 1, "lt", 5, "x"), // suppressed
		[]*event.Event{login(2, "aa", "healthcheck", "failure"), login(3, "aa", "healthcheck", "failure")},
		spray(70, 1, "lt", 5, "y")) // after expiry: counted
	as, eng := runEvents(t, rs, evs)
	if got := firing(as); got != "d/firing=3 credential_stuffing; d/firing=3 credential_stuffing" && !strings.HasPrefix(got, "d/firing=3") {
		t.Errorf("got %q", got)
	}
	for _, a := range as {
		if a.Status == alert.StatusFiring && a.FirstSeen < formatTime(int64(60*time.Second)) {
			t.Errorf("suppressed events fired: %+v", a)
		}
	}
	if n := eng.RuleStats()[0].Suppressed.Load(); n != 7 {
		t.Errorf("suppressed %d, want 7", n)
	}
}

func TestIdentityMapMismatch(t *testing.T) {
	dir := t.TempDir()
	if err := writeFile(dir+"/map.yml", "identities:\n  \"CN=alice\": [alice]\n  \"CN=gw\": service\n"); err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Parse(dir+"/r.yml", []byte("rules:\n  - {id: m, group_by: [tls.client.subject], distinct: user.name, window: 1h, threshold: 2, identity_map: map.yml}\n"))
	if err != nil {
		t.Fatal(err)
	}
	mk := func(sec float64, subj, user string) *event.Event {
		return ev(sec, "tls.client.subject", subj, "user.name", user, "event.outcome", "success")
	}
	as, _ := runEvents(t, rs, []*event.Event{
		mk(0, "CN=alice", "alice"), mk(1, "CN=gw", "bob"), mk(2, "CN=gw", "carol"), mk(3, "CN=unknown", "x"), mk(4, "CN=unknown", "y"),
		mk(5, "CN=alice", "bob"), mk(6, "CN=alice", "carol"),
	})
	if got := firing(as); !strings.HasPrefix(got, "m/firing=2") || as[0].Group["tls.client.subject"] != "CN=alice" {
		t.Errorf("got %q %v", got, as)
	}
}

func TestResponseClassEnumeration(t *testing.T) {
	rs := testRule(t, `rules:
  - {id: enum, group_by: [source.ip], distinct: spraywatch.response_class, window: 10m, threshold: 2, min_events: 6, match: {event.outcome: failure}}
`)
	mk := func(sec float64, user, status, bytes string) *event.Event {
		return ev(sec, "source.ip", "192.0.2.5", "user.name", user, "event.outcome", "failure",
			"http.response.status_code", status, "http.response.body.bytes", bytes)
	}
	same := []*event.Event{mk(0, "a", "200", "4450"), mk(1, "b", "200", "4500"), mk(2, "c", "200", "4620"),
		mk(3, "d", "200", "4480"), mk(4, "e", "200", "4550"), mk(5, "f", "200", "4600")}
	if as, _ := runEvents(t, rs, same); firing(as) != "" {
		t.Errorf("one response shape fired: %s", firing(as))
	}
	differ := append(same, mk(6, "ghost", "200", "2100"))
	if as, _ := runEvents(t, rs, differ); !strings.HasPrefix(firing(as), "enum/firing=2") {
		t.Errorf("two response shapes did not fire: %q", firing(as))
	}
}

func TestWarmupSpan(t *testing.T) {
	rs := testRule(t, `rules:
  - {id: a, group_by: [identity], distinct: user.name, window: 10m, threshold: 3}
  - {id: b, type: baseline, group_by: [identity], distinct: user.name, window: 10m, threshold: 1, baseline: {sigma: 3, floor: 4, warmup: 3h}}
`)
	e, err := NewEngine(Config{Rules: rs, Sink: &captureSink{}})
	if err != nil {
		t.Fatal(err)
	}
	if e.MaxWindow() != 10*time.Minute || e.WarmupSpan() != 3*time.Hour+10*time.Minute { // the warm-up, and the window before the first sample
		t.Errorf("max window %s, warm-up span %s", e.MaxWindow(), e.WarmupSpan())
	}
}

// TestBaselineSamples checks what a baseline learns: at each window
// boundary, the window as it was then (not as of the last event before
// it), and only from the first whole window after the group's first
// event, so that the warm-up spans at least warmup of its history.
func TestBaselineSamples(t *testing.T) {
	rule := testRule(t, `rules:
  - {id: b, type: baseline, group_by: [identity], distinct: user.name, window: 10m, threshold: 1,
     baseline: {sigma: 1, floor: 1, half_life: 10m, warmup: 30m}}
`)
	// At 600 s the window (0, 600] holds u1 and u2; at 1200 s u3; at
	// 1800 s u4 and u5. With a weight of 0.5 a sample: mean 1.75,
	// variance 0.1875, threshold 2.18.
	quiet := []*event.Event{
		login(0, "gw", "u0", "failure"), login(550, "gw", "u1", "failure"), login(590, "gw", "u2", "failure"),
		login(1150, "gw", "u3", "failure"), login(1700, "gw", "u4", "failure"), login(1750, "gw", "u5", "failure"),
	}
	as, _ := runEvents(t, rule, cat(quiet, spray(1900, 1, "gw", 3, "a")))
	if len(as) == 0 || as[0].Reason == nil || as[0].Reason.BaselineMean == nil {
		t.Fatalf("no firing with a baseline reason: %+v", as)
	}
	r := as[0].Reason
	if *r.BaselineMean != 1.75 || r.BaselineSamples != 3 || as[0].Observed != 3 || as[0].LastSeen != formatTime(1900*int64(time.Second)) {
		t.Errorf("fired at %s observed %v with mean %v from %d samples, want at 1900 s, 3, mean 1.75 from 3 samples",
			as[0].LastSeen, as[0].Observed, *r.BaselineMean, r.BaselineSamples)
	}

	// First seen at 599 s: its samples are at 1200, 1800 and 2400 s. A
	// spray at 1810 s, after 20 minutes, is before the warm-up ends.
	early := []*event.Event{login(599, "gw", "u0", "failure"), login(1000, "gw", "u1", "failure"), login(1500, "gw", "u2", "failure")}
	as, _ = runEvents(t, rule, cat(early, spray(1810, 1, "gw", 6, "a")))
	if got := firing(as); got != "" {
		t.Errorf("fired 20 minutes into a 30-minute warm-up: %s", got)
	}
	as, _ = runEvents(t, rule, cat(early, []*event.Event{login(2100, "gw", "u3", "failure")}, spray(2410, 1, "gw", 6, "a")))
	if got := firing(as); !strings.HasPrefix(got, "b/firing") {
		t.Errorf("no firing after the warm-up: %q", got)
	}
}

// TestBaselineHistoryOwnEvents checks that a baseline group's history
// depends on its own events only: not on another certificate's record
// moving time on (a sweep resolving its incident first), nor on
// boundaries passed while its incident fired, which it does not learn.
func TestBaselineHistoryOwnEvents(t *testing.T) {
	rule := testRule(t, `rules:
  - {id: b, type: baseline, group_by: [spraywatch.identity], distinct: user.name, window: 60s, threshold: 1,
     resolve_after: 10s, cooldown: 0s, baseline: {sigma: 1, floor: 2, half_life: 1m, warmup: 2m}}
`)
	history := func(extra ...*event.Event) string {
		evs := cat([]*event.Event{
			login(0, "gw", "u0", "failure"), login(30, "gw", "u1", "failure"),
			login(90, "gw", "u2", "failure"), login(150, "gw", "u3", "failure"),
		}, spray(170.3, 1, "gw", 4, "s"), extra)
		as, e := runEvents(t, rule, evs)
		var b strings.Builder
		for _, a := range as {
			fmt.Fprintf(&b, "%s %s; ", a.Status, a.ResolvedAt)
		}
		e.rules[0].groups.each(func(_ int32, g *group) {
			if g.key == "sha1:gw" {
				fmt.Fprintf(&b, "samples %d mean %.4f", g.hist.n, g.hist.mean)
			}
		})
		return b.String()
	}
	alone := history(login(301.5, "gw", "u8", "failure"))
	other := history(login(301.2, "zz", "y", "failure"), login(301.5, "gw", "u8", "failure"))
	if alone != other {
		t.Errorf("history with the group's events alone: %s\nwith another certificate's record: %s", alone, other)
	}
	// Samples at 60 s (u1), 120 s (u2) and 300 s (nothing); 180 s and
	// 240 s came while the incident fired (it resolved at 241.3 s).
	if want := "samples 3 mean 0.5000"; !strings.HasSuffix(alone, want) {
		t.Errorf("history %s, want %s", alone, want)
	}
}

// TestBaselineKeepsIdleGroups checks that a baseline rule keeps an idle
// group's history (idle windows count as zero) whatever other groups
// there are: B, seen once and then idle, is out of warm-up at 400 s with
// or without an older idle group A.
func TestBaselineKeepsIdleGroups(t *testing.T) {
	rule := testRule(t, `rules:
  - {id: b, type: baseline, group_by: [spraywatch.identity], distinct: user.name, window: 60s, threshold: 1,
     baseline: {sigma: 1, floor: 2, half_life: 1m, warmup: 2m}}
`)
	run := func(withA bool) string {
		var evs []*event.Event
		if withA {
			evs = append(evs, login(0, "aa", "x", "failure"), login(70, "aa", "y", "failure"))
		}
		evs = append(evs, login(100, "bb", "u0", "failure"))
		for s := 110.0; s < 400; s += 10 {
			evs = append(evs, login(s, "zz", fmt.Sprint("z", s), "failure"))
		}
		as, _ := runEvents(t, rule, cat(evs, spray(400, 1, "bb", 5, "s")))
		var out []string
		for _, a := range as {
			if a.Group["spraywatch.identity"] == "sha1:bb" {
				out = append(out, a.Status)
			}
		}
		return strings.Join(out, " ")
	}
	if without, with := run(false), run(true); without != "firing updated" || with != without {
		t.Errorf("B's alerts %q alone, %q with A: want firing updated", without, with)
	}
}

// TestBaselineWarmupNotMultiple checks that a baseline rule fires only
// after at least warmup of the group's history when warmup is not a
// multiple of the window: first seen at 0 s, samples come at 600 s,
// 1200 s, 1800 s ..., and a 25-minute warm-up needs three of them.
func TestBaselineWarmupNotMultiple(t *testing.T) {
	const rule = `rules:
  - {id: b, type: baseline, group_by: [identity], distinct: user.name, window: 10m, threshold: 1,
     baseline: {sigma: 1, floor: 2, warmup: %s}}
`
	history := []*event.Event{login(0, "gw", "u0", "failure"), login(1000, "gw", "u1", "failure")}
	tests := []struct {
		warmup string
		at     float64 // when the spray starts, seconds
		fires  bool
	}{
		{"20m", 1210, true},  // two samples, 20 minutes
		{"25m", 1210, false}, // 20 minutes of history: before the warm-up
		{"25m", 1810, true},  // three samples, 30 minutes
		{"5m", 610, true},    // shorter than the window: one sample
		{"10m", 610, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("warmup %s spray at %gs", tt.warmup, tt.at), func(t *testing.T) {
			rs := testRule(t, fmt.Sprintf(rule, tt.warmup))
			as, _ := runEvents(t, rs, cat(history, spray(tt.at, 1, "gw", 5, "a")))
			if got := firing(as) != ""; got != tt.fires {
				t.Errorf("fired %v (%s), want %v", got, firing(as), tt.fires)
			}
		})
	}
}

// TestDocumentedEdges pins edges docs/rules.md states: the window's ends
// and late events, the default cooldown, and which slips count as typos.
func TestDocumentedEdges(t *testing.T) {
	long := strings.Repeat("x", 60) + "alice"
	tests := []struct {
		name string
		rule string
		evs  []*event.Event
		want string
		late int64
	}{
		{"an event a window older than the newest is late", `{id: c, group_by: [identity], window: 10s, threshold: 2}`,
			[]*event.Event{login(100, "aa", "a", "failure"), login(90, "aa", "b", "failure")}, "", 1},
		{"an event just inside the window counts", `{id: c, group_by: [identity], window: 10s, threshold: 2}`,
			[]*event.Event{login(100, "aa", "a", "failure"), login(90.001, "aa", "b", "failure")}, "c/firing=2 mixed", 0},
		{"a long window's late event", `{id: l, group_by: [identity], distinct: user.name, window: 2h, threshold: 2}`,
			[]*event.Event{login(7200, "aa", "a", "failure"), login(0, "aa", "b", "failure")}, "", 1},
		{"a long window's event just inside", `{id: l, group_by: [identity], distinct: user.name, window: 2h, threshold: 2}`,
			[]*event.Event{login(7200, "aa", "a", "failure"), login(0.001, "aa", "b", "failure")}, "l/firing=2 mixed", 0},
		{"a long window's value leaves a window after it was last seen", `{id: l, group_by: [identity], distinct: user.name, window: 2h, threshold: 2}`,
			[]*event.Event{login(0, "aa", "a", "failure"), login(7200, "aa", "b", "failure")}, "", 0},
		// Resolved at 55 s (below at 50 s, resolve_after 5 s): with no
		// cooldown set it is the window's 50 s, so the spray at 70 s opens
		// nothing, and the one at 130 s, its events gone, an incident.
		{"cooldown unset is the window", `{id: d, group_by: [identity], distinct: user.name, window: 50s, threshold: 2, resolve_after: 5s}`,
			cat(spray(0, 6, "aa", 2, "a"), spray(70, 1, "aa", 2, "b"), spray(130, 1, "aa", 2, "c")), "d/firing=2 mixed; d/firing=2 mixed", 0},
		// cooldown: 0s is none: the spray at 70 s opens an incident too.
		{"cooldown 0s is none", `{id: d, group_by: [identity], distinct: user.name, window: 50s, threshold: 2, resolve_after: 5s, cooldown: 0s}`,
			cat(spray(0, 6, "aa", 2, "a"), spray(70, 1, "aa", 2, "b"), spray(130, 1, "aa", 2, "c")), "d/firing=2 mixed; d/firing=2 mixed; d/firing=2 mixed", 0},
		// max_success_users counts the account the sprayed password opened.
		{"max_success_users: two others and the account", `{id: s, type: sequence, group_by: [identity], distinct: user.name, window: 5m, threshold: 2, max_success_users: 3}`,
			cat([]*event.Event{login(0, "aa", "s1", "success"), login(1, "aa", "s2", "success")}, spray(10, 1, "aa", 4, "x"), []*event.Event{login(30, "aa", "x01", "success")}),
			"s/firing=3 account=x01 mixed", 0},
		{"max_success_users: three others and the account", `{id: s, type: sequence, group_by: [identity], distinct: user.name, window: 5m, threshold: 2, max_success_users: 3}`,
			cat([]*event.Event{login(0, "aa", "s1", "success"), login(1, "aa", "s2", "success"), login(2, "aa", "s3", "success")}, spray(10, 1, "aa", 4, "x"), []*event.Event{login(30, "aa", "x01", "success")}),
			"", 0},
		{"a dropped ASCII letter is a typo", `{id: d, group_by: [identity], distinct: user.name, unresolved: true, window: 1m, threshold: 2}`,
			[]*event.Event{login(0, "aa", "jse", "failure"), login(1, "aa", "jose", "success"), login(2, "aa", "zz", "failure")}, "", 0},
		{"a dropped non-ASCII letter is not", `{id: d, group_by: [identity], distinct: user.name, unresolved: true, window: 1m, threshold: 2}`,
			[]*event.Event{login(0, "aa", "jos", "failure"), login(1, "aa", "josé", "success"), login(2, "aa", "zz", "failure")}, "d/firing=2 mixed", 0},
		{"a swap with a non-ASCII letter is not", `{id: d, group_by: [identity], distinct: user.name, unresolved: true, window: 1m, threshold: 2}`,
			[]*event.Event{login(0, "aa", "joés", "failure"), login(1, "aa", "josé", "success"), login(2, "aa", "zz", "failure")}, "d/firing=2 mixed", 0},
		{"a swap in a 64-byte username is a typo", `{id: d, group_by: [identity], distinct: user.name, unresolved: true, window: 1m, threshold: 2}`,
			[]*event.Event{login(0, "aa", long[1:len(long)-2]+"ce", "failure"), login(1, "aa", long[1:len(long)-2]+"ec", "success"), login(2, "aa", "zz", "failure")}, "", 0},
		{"a swap in a 65-byte username is not", `{id: d, group_by: [identity], distinct: user.name, unresolved: true, window: 1m, threshold: 2}`,
			[]*event.Event{login(0, "aa", long[:len(long)-2]+"ce", "failure"), login(1, "aa", long[:len(long)-2]+"ec", "success"), login(2, "aa", "zz", "failure")}, "d/firing=2 mixed", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, e := runEvents(t, testRule(t, "rules:\n  - "+tt.rule+"\n"), tt.evs)
			if got := firing(as); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if n := e.Stats().Late.Load(); n != tt.late {
				t.Errorf("late %d, want %d", n, tt.late)
			}
		})
	}
}
