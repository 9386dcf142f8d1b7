package report

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/rules"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testRules = `
rules:
  - id: cert-spray
    description: One certificate tried many usernames
    severity: high
    match:
      spraywatch.identity: {exists: true}
      event.outcome: [failure, success]
    group_by: [spraywatch.identity]
    distinct: user.name
    window: 10m
    threshold: 10
    technique: T1110.003
  - id: source-burst
    description: Many attempts from one address
    severity: medium
    match:
      event.outcome: failure
    group_by: [source.ip]
    window: 10m
    threshold: 1000
    technique: T1110
`

const evilUser = `<script>alert(1)</script>`

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC).UnixNano()

func authEvent(t int64, identity, subject, ip, user, outcome string, n int) *event.Event {
	ev := &event.Event{Time: t}
	ev.Values[event.Identity] = identity
	ev.Values[event.TLSSubject] = subject
	ev.Values[event.TLSSHA1] = strings.TrimPrefix(identity, "sha1:")
	ev.Values[event.SourceIP] = ip
	ev.Values[event.UserName] = user
	ev.Values[event.Outcome] = outcome
	ev.Values[event.URLPath] = "/accounts/login/"
	ev.Values[event.Method] = "POST"
	ev.Values[event.RequestID] = fmt.Sprintf("req%04d", n)
	ev.Values[event.Join] = event.JoinMatched
	return ev
}

const (
	sprayID  = "sha1:0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819"
	normalID = "sha1:aaaa6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819"
)

// scenario runs a real engine over a fixed morning: one certificate logs
// in normally every few minutes, another sprays 30 usernames (one of them
// a script tag) in five minutes and one of them works.
func scenario(t *testing.T, o Options, background ...bool) (*Collector, Run) {
	t.Helper()
	rs, err := rules.Parse("test", []byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	o.Rules = rs
	c := New(o)
	if len(background) > 0 && background[0] {
		c.Background()
	}
	eng, err := detect.NewEngine(detect.Config{Rules: rs, OnEvent: c.Observe, Sink: c.Sink(nil)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n := 0
	add := func(ev *event.Event) {
		n++
		if err := eng.AddEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	spray := 0
	for s := int64(0); s < 3*3600; s += 10 {
		tm := t0 + s*int64(time.Second)
		if s%300 == 0 {
			add(authEvent(tm, normalID, "CN=jane.doe,O=Example", "198.51.100.4", "jane.doe", event.OutcomeSuccess, n))
		}
		if s >= 3600 && s < 3600+300 && spray < 30 {
			u := fmt.Sprintf("user%02d", spray)
			if spray == 7 {
				u = evilUser
			}
			out := event.OutcomeFailure
			if spray == 29 {
				out = event.OutcomeSuccess
			}
			add(authEvent(tm, sprayID, "CN=kiosk-7,O=Example", "203.0.113.7", u, out, n))
			spray++
		}
	}
	if err := eng.Advance(ctx, t0+4*int64(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := eng.Close(ctx); err != nil {
		t.Fatal(err)
	}
	src := &ingest.Stats{Name: "proxy.log", Kind: event.Proxy, Format: "nginx"}
	src.Lines.Add(1234)
	src.Parsed.Add(1230)
	src.Reject(fmt.Errorf("proxy.log:17: expected a quoted request, found %q", evilUser))
	return c, Run{Sources: []*ingest.Stats{src}, Join: eng.JoinStats(), Engine: eng.Stats(), RuleStats: eng.RuleStats()}
}

func render(t *testing.T, c *Collector, run Run) string {
	t.Helper()
	var b bytes.Buffer
	if err := c.WriteHTML(&b, run); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var externalRef = regexp.MustCompile(`(?i)(src|href|xlink:href|action)\s*=\s*["']?\s*(https?:)?//|url\(\s*["']?(https?:)?//|@import`)

func TestReportGolden(t *testing.T) {
	c, run := scenario(t, Options{})
	got := render(t, c, run)
	golden := filepath.Join("testdata", "scenario.golden.html")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("report differs from %s (rerun with -update after an intended change and review the diff)", golden)
	}
	// Same input, same bytes.
	c2, run2 := scenario(t, Options{})
	if again := render(t, c2, run2); again != got {
		t.Error("two reports of the same input differ")
	}
}

func TestReportStructure(t *testing.T) {
	c, run := scenario(t, Options{})
	html := render(t, c, run)
	if len(c.order) != 1 {
		t.Fatalf("incidents = %d, want 1 (cert-spray for the spraying certificate)", len(c.order))
	}
	inc := c.order[0]
	for _, s := range []string{
		`id="inputs"`, `id="join"`, `id="rules"`, `id="overview"`, `id="overview-chart"`,
		`id="incident-table"`, `id="inc-` + inc.id + `"`, `href="#inc-` + inc.id + `"`,
		`id="chart-` + inc.id + `"`, `id="render-status"`,
		"2026-12-04 10:00:00Z", // event-time span
		">proxy.log<", ">1234<", ">1230<",
		"cert-spray", "source-burst", "CN=kiosk-7,O=Example", "sha1:0d5f6c1e2a3b",
		"203.0.113.7", "/accounts/login/", "T1110.003 Password Spraying",
	} {
		if !strings.Contains(html, s) {
			t.Errorf("report lacks %q", s)
		}
	}
	// Every request id of the firing record is in the evidence table.
	if len(inc.first.Sample.RequestIDs) == 0 {
		t.Fatal("the firing alert has no request ids")
	}
	for _, id := range inc.first.Sample.RequestIDs {
		if !strings.Contains(html, `<td class="mono">`+id+`</td>`) {
			t.Errorf("evidence request id %s missing", id)
		}
	}
	// Counts: the incidents row carries the latest alert's figures.
	a := inc.latest
	row := fmt.Sprintf(`<td class="n" data-v="%d">%d</td><td class="n" data-v="%d">%d</td><td class="n" data-v="%d">%d</td>`,
		a.Count.DistinctUsers, a.Count.DistinctUsers, a.Count.Failures, a.Count.Failures, a.Count.Successes, a.Count.Successes)
	if !strings.Contains(html, row) {
		t.Errorf("incident row lacks the counts %+v", a.Count)
	}
	// The group's totals: 29 failures and one success by the sprayer.
	if !strings.Contains(html, "all 30 events of the group in the run: 29 failures, 1 successes") {
		t.Error("group totals wrong or missing")
	}
	if got := strings.Count(html, `<tr><td class="mono">user`); got != DefaultTopN-1 {
		// 30 usernames with one attempt each: TopN listed, one of them the script tag.
		t.Errorf("username rows = %d, want %d plain ones besides the script tag", got, DefaultTopN-1)
	}
	// Escaping: the script-tag username is text, never markup.
	if strings.Contains(html, evilUser) {
		t.Error("a username reached the page unescaped")
	}
	if !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the script-tag username is not shown as text")
	}
	if n := strings.Count(html, "<script"); n != 1 {
		t.Errorf("%d script elements, want the report's own one", n)
	}
	if m := externalRef.FindString(html); m != "" {
		t.Errorf("report refers to an external resource: %q", m)
	}
}

func TestReportPrivacy(t *testing.T) {
	key := []byte("s3cret")
	c, run := scenario(t, Options{Privacy: alert.Privacy{Mode: alert.PrivacyHMAC, Key: key}})
	html := render(t, c, run)
	m := hmac.New(sha256.New, key)
	m.Write([]byte("user03"))
	want := "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
	if !strings.Contains(html, want) {
		t.Errorf("hmac mode: %s missing", want)
	}
	for _, plain := range []string{"user03", "&lt;script&gt;alert(1)"} {
		if strings.Contains(html, plain) {
			t.Errorf("hmac mode: plain username %q in the report", plain)
		}
	}
	c, run = scenario(t, Options{Privacy: alert.Privacy{Mode: alert.PrivacyOmit}})
	html = render(t, c, run)
	if strings.Contains(html, "user03") || strings.Contains(html, "hmac-sha256:") {
		t.Error("omit mode: usernames in the report")
	}
	if !strings.Contains(html, "omitted (privacy mode)") {
		t.Error("omit mode: no note where the usernames were")
	}
}

var svgNode = regexp.MustCompile(`<(rect|circle|path|polyline|text|line|g|a)[ >]`)

// TestMonthIsBucketed feeds a month of events from 200 certificates (one
// attempt every 30 s each half hour) and checks the collector's memory and
// the charts' nodes stay bounded.
func TestMonthIsBucketed(t *testing.T) {
	rs, err := rules.Parse("test", []byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{Rules: rs, MaxGroups: 64})
	start := t0
	n := 0
	for d := int64(0); d < 30*24*3600; d += 30 {
		id := fmt.Sprintf("sha1:%040x", (d/1800)%200)
		out := event.OutcomeSuccess
		if d%90 == 0 {
			out = event.OutcomeFailure
		}
		c.Observe(authEvent(start+d*int64(time.Second), id, "CN=x", fmt.Sprintf("10.0.%d.%d", d%7, d%250), fmt.Sprintf("u%d", d%500), out, n))
		n++
	}
	// An incident in the middle of the month, through the sink.
	a := &alert.Alert{Schema: alert.Schema, ID: "abc-1", IncidentID: "abc", Sequence: 1, Rule: "cert-spray", Severity: "high",
		Status: alert.StatusFiring, Group: map[string]string{"spraywatch.identity": fmt.Sprintf("sha1:%040x", 3)},
		FirstSeen: time.Unix(0, start+15*24*int64(time.Hour)).UTC().Format(time.RFC3339Nano),
		LastSeen:  time.Unix(0, start+15*24*int64(time.Hour)+int64(time.Minute)).UTC().Format(time.RFC3339Nano),
		Window:    "10m", Threshold: 10, Observed: 12, Measure: "user.name"}
	if err := c.Sink(nil).Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if len(c.total.pts) > maxBuckets {
		t.Errorf("total series holds %d buckets, want <= %d", len(c.total.pts), maxBuckets)
	}
	for _, sg := range c.sigs {
		if l := len(sg.groups); l > 64+sg.pins {
			t.Errorf("%s: %d groups tracked, want <= 64", sg.name, l)
		}
		for _, g := range sg.values() {
			if len(g.s.pts) > maxBuckets || len(g.users.vals) > 2*DefaultTopN+16 {
				t.Errorf("%s %s: %d buckets, %d usernames kept", sg.name, g.key, len(g.s.pts), len(g.users.vals))
			}
		}
	}
	html := render(t, c, Run{})
	charts := regexp.MustCompile(`(?s)<svg class="chart".*?</svg>`).FindAllString(html, -1)
	if len(charts) != 2 {
		t.Fatalf("%d charts, want overview + 1 incident", len(charts))
	}
	for _, ch := range charts {
		nodes := len(svgNode.FindAllString(ch, -1))
		// bars (stacked: up to 3 per column), at most 5 lines, ticks, marks.
		if limit := 3*maxCols + 100; nodes > limit || nodes < 10 {
			t.Errorf("chart has %d nodes, want 10..%d (%d events in the month)", nodes, limit, n)
		}
	}
	if !strings.Contains(html, "Nov") && !strings.Contains(html, "Dec") && !strings.Contains(html, "Jan") {
		t.Error("month-long axis lacks dated ticks")
	}
}

func TestSeriesLateAndCoarsen(t *testing.T) {
	var s series
	w := int64(time.Minute)
	for _, m := range []int64{0, 1, 3, 2, 1, 5, 0} { // minutes, some late
		s.add(m*w, failure, w)
	}
	want := []bucket{{0, 2, 0, 0}, {1, 2, 0, 0}, {2, 1, 0, 0}, {3, 1, 0, 0}, {5, 1, 0, 0}}
	if fmt.Sprint(s.pts) != fmt.Sprint(want) {
		t.Fatalf("buckets %v, want %v", s.pts, want)
	}
	s.add(4*w, success, 2*w) // width doubles
	want = []bucket{{0, 4, 0, 0}, {1, 2, 0, 0}, {2, 1, 1, 0}}
	if fmt.Sprint(s.pts) != fmt.Sprint(want) {
		t.Fatalf("after coarsening %v, want %v", s.pts, want)
	}
}

func TestCounterBounded(t *testing.T) {
	var c counter
	var in interner
	for i := 0; i < 1000; i++ {
		c.add("hot", 8, &in)
		c.add(fmt.Sprintf("cold%d", i), 8, &in)
	}
	if len(c.vals) > 8 {
		t.Fatalf("counter holds %d values, cap 8", len(c.vals))
	}
	if n := c.count("hot"); n < 1000-c.under || n > 1000 {
		t.Errorf("hot = %d, want within [%d, 1000]", n, 1000-c.under)
	}
}

// TestBackgroundSameReport: counting on a goroutine of its own gives the
// same report as counting on the engine's (run with -race).
func TestBackgroundSameReport(t *testing.T) {
	c, run := scenario(t, Options{})
	want := render(t, c, run)
	c, run = scenario(t, Options{}, true)
	if got := render(t, c, run); got != want {
		t.Error("background counting changed the report")
	}
	if c.events == 0 || len(c.order) != 1 {
		t.Errorf("background collector counted %d events, %d incidents", c.events, len(c.order))
	}
	// Many batches, an alert in the middle of them.
	feed := func(c *Collector) string {
		sk := c.Sink(nil)
		for i := 0; i < 5000; i++ {
			c.Observe(authEvent(t0+int64(i)*int64(time.Second), fmt.Sprintf("sha1:%040x", i%7), "CN=x", "10.0.0.1", fmt.Sprintf("u%d", i%300), event.OutcomeFailure, i))
			if i == 2500 {
				a := &alert.Alert{ID: "x-1", IncidentID: "x", Sequence: 1, Rule: "cert-spray", Severity: "high", Status: alert.StatusFiring,
					Group: map[string]string{"spraywatch.identity": fmt.Sprintf("sha1:%040x", 3)}, Window: "10m", Threshold: 10, Observed: 11,
					FirstSeen: time.Unix(0, t0+2000*int64(time.Second)).UTC().Format(time.RFC3339Nano),
					LastSeen:  time.Unix(0, t0+2500*int64(time.Second)).UTC().Format(time.RFC3339Nano)}
				if err := sk.Send(context.Background(), a); err != nil {
					t.Fatal(err)
				}
			}
		}
		return render(t, c, Run{})
	}
	rs, err := rules.Parse("test", []byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	sync := feed(New(Options{Rules: rs}))
	bg := New(Options{Rules: rs})
	bg.Background()
	if feed(bg) != sync {
		t.Error("background counting of 5000 events changed the report")
	}
}

// TestReportDamaged checks that the inputs list a source's damaged files
// with where their data ends.
func TestReportDamaged(t *testing.T) {
	c, run := scenario(t, Options{})
	run.Sources[0].Damage(&ingest.DamagedError{Source: "proxy.log.1.gz", Line: 812, Err: io.ErrUnexpectedEOF})
	html := render(t, c, run)
	want := `<td colspan="8" class="mono">damaged: proxy.log.1.gz: the compressed data ends early after line 812 (unexpected EOF): the lines after it are lost</td>`
	if !strings.Contains(html, want) {
		t.Errorf("report lacks %s", want)
	}
}
