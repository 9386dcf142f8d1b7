package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/rules"
)

//go:embed report.html.tmpl
var pageText string

var pageTmpl = template.Must(template.New("report").Parse(pageText))

// Run is what the replay counted, for the report's header. Any field may
// be nil.
type Run struct {
	Sources   []*ingest.Stats
	Join      *detect.JoinStats
	Engine    *detect.Stats
	RuleStats []*detect.RuleStats
}

// user renders a username as the privacy mode says.
func (c *Collector) user(u string) string {
	if c.opt.Privacy.Mode == alert.PrivacyOmit {
		return "(omitted)"
	}
	return c.opt.Privacy.Username(u)
}

type page struct {
	Title       string
	GeneratedAt string
	From, To    string
	Events      int64
	Failures    int64
	Successes   int64
	Alerts      int
	Privacy     string
	Sources     []sourceRow
	Join        *joinRow
	Engine      *engineRow
	Rules       []ruleRow
	Incidents   []*incView
	Dropped     int
	Overview    template.HTML
	Lines       []legendRow
	NoUsers     bool
}

type sourceRow struct {
	Name, Kind, Format                        string
	Lines, Parsed, Ignored, Rejected, TooLong int64
	Errors                                    []string
	Damaged                                   []string // files whose data ends early at damage
}

type joinRow struct {
	Matched, AppOnly, ProxyOnly, Duplicates, Evicted, Unrelated int64
	// Late says how many records came after their partner had expired
	// unmatched, "" if none; Hints are detect.JoinStats.LateHints and
	// DuplicateHint.
	Late  string
	Hints []string
}

type engineRow struct {
	Events, Late, Dropped, GroupsEvicted, Alerts, Open, Suppressed int64
}

type ruleRow struct {
	ID, Type, Severity, Window, GroupBy, Measure, Description string
	Threshold                                                 int
	Matched, Alerts                                           int64
	HasStats                                                  bool
}

type legendRow struct{ Colour, Label string }

type countRow struct {
	Value  string
	Count  int64
	Approx bool
}

type incView struct {
	Anchor, ID                   string
	Severity                     string
	SevRank                      int
	Rule, Description            string
	Subject, Fingerprint, Group  string
	FirstSeen, LastSeen          string
	Resolved                     string
	Window                       string
	DistinctUsers                int
	Events, Failures, Successes  int
	Class, ClassBasis            string
	Status                       string
	Records                      int
	Threshold, Peak              string
	Measure                      string
	Reason                       *alert.Reason
	Baseline                     string
	Account                      string
	Technique                    string
	Summary                      string
	Chart                        template.HTML
	Users, IPs, Paths            []countRow
	UsersMore, IPsMore, PathMore int
	Approx                       bool
	Tracked                      bool
	GroupEvents                  int64
	GroupFails, GroupSuccs       int64
	Evidence                     []string
	Raw                          string
	FirstShort, LastShort        string
	firstT                       int64
}

// WriteHTML writes the report once the run is over (after waiting for
// background counting).
func (c *Collector) WriteHTML(w io.Writer, run Run) error {
	c.Wait()
	p := c.build(run)
	if err := pageTmpl.Execute(w, p); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

func (c *Collector) build(run Run) *page {
	p := &page{Title: c.opt.Title, Events: c.events, Failures: c.fails, Successes: c.succs,
		Alerts: c.alerts, Privacy: c.opt.Privacy.Mode, Dropped: c.dropped, NoUsers: c.opt.Privacy.Mode == alert.PrivacyOmit}
	if !c.opt.GeneratedAt.IsZero() {
		p.GeneratedAt = c.opt.GeneratedAt.UTC().Format(time.RFC3339)
	}
	if c.events > 0 {
		p.From, p.To = fmtTime(c.first), fmtTime(c.last)
	}
	for _, s := range run.Sources {
		if s == nil {
			continue
		}
		r := sourceRow{Name: s.Name, Kind: s.Kind.String(), Format: s.Format, Lines: s.Lines.Load(),
			Parsed: s.Records(), Ignored: s.Ignored.Load(), Rejected: s.Rejected.Load(), TooLong: s.TooLong.Load()}
		for _, e := range s.Errors() {
			// Rejected lines are quoted in their errors, usernames included.
			if c.opt.Privacy.Mode != alert.PrivacyPlain {
				r.Errors = append(r.Errors, "(text withheld: privacy mode "+c.opt.Privacy.Mode+")")
				continue
			}
			r.Errors = append(r.Errors, e.Error())
		}
		// A damaged file's error holds its name and a line number, no
		// line's text.
		for _, e := range s.Damages() {
			r.Damaged = append(r.Damaged, e.Error())
		}
		p.Sources = append(p.Sources, r)
	}
	if j := run.Join; j != nil {
		p.Join = &joinRow{Matched: j.Matched.Load(), AppOnly: j.AppOnly.Load(), ProxyOnly: j.ProxyOnly.Load(),
			Duplicates: j.Duplicates.Load(), Evicted: j.Evicted.Load(), Unrelated: j.Unrelated.Load(),
			Late: lateText(j), Hints: j.LateHints()}
		if h := j.DuplicateHint(); h != "" {
			p.Join.Hints = append(p.Join.Hints, h)
		}
	}
	if e := run.Engine; e != nil {
		p.Engine = &engineRow{Events: e.Events.Load(), Late: e.Late.Load(), Dropped: e.EventsDropped.Load(),
			GroupsEvicted: e.GroupsEvicted.Load(), Alerts: e.Alerts.Load(), Open: e.Open.Load(), Suppressed: e.Suppressed.Load()}
	}
	stats := map[string]*detect.RuleStats{}
	for _, rs := range run.RuleStats {
		stats[rs.Rule] = rs
	}
	ruleByID := map[string]*rules.Rule{}
	for _, r := range c.opt.Rules {
		ruleByID[r.ID] = r
		row := ruleRow{ID: r.ID, Type: r.Type.String(), Severity: r.Severity, Window: fmtDur(r.Window),
			GroupBy: sigName(r.GroupBy), Measure: r.Measure(), Description: r.Description, Threshold: r.Threshold}
		if rs := stats[r.ID]; rs != nil {
			row.HasStats, row.Matched, row.Alerts = true, rs.Matched.Load(), rs.Alerts.Load()
		}
		p.Rules = append(p.Rules, row)
	}

	for _, inc := range c.order {
		p.Incidents = append(p.Incidents, c.incidentView(inc, ruleByID[inc.first.Rule]))
	}
	sort.SliceStable(p.Incidents, func(i, j int) bool {
		a, b := p.Incidents[i], p.Incidents[j]
		if a.SevRank != b.SevRank {
			return a.SevRank > b.SevRank
		}
		if a.FirstSeen != b.FirstSeen {
			return a.FirstSeen < b.FirstSeen
		}
		return a.ID < b.ID
	})
	if c.events > 0 {
		p.Overview, p.Lines = c.overviewChart(p.Incidents)
	}
	return p
}

func (c *Collector) incidentView(inc *incident, r *rules.Rule) *incView {
	a := &inc.latest
	if a.ID == "" {
		a = &inc.first
	}
	v := &incView{Anchor: "inc-" + inc.id, ID: inc.id, Severity: a.Severity, SevRank: alert.SeverityRank(a.Severity),
		Rule: a.Rule, Description: a.Description, FirstSeen: shortTime(inc.first.FirstSeen), LastSeen: shortTime(a.LastSeen),
		Resolved: shortTime(inc.resolved), Window: a.Window, DistinctUsers: a.Count.DistinctUsers, Events: a.Count.Events,
		Failures: a.Count.Failures, Successes: a.Count.Successes, Status: inc.status, Records: inc.records,
		Threshold: num(a.Threshold), Peak: num(inc.peak), Measure: a.Measure, Reason: a.Reason,
		Technique: strings.TrimSpace(a.Threat.Technique.ID + " " + a.Threat.Technique.Name)}
	if a.Account != "" {
		v.Account = c.user(a.Account)
	}
	v.Summary = c.redact(a).Summary
	if a.Classification != nil {
		v.Class, v.ClassBasis = a.Classification.Kind, a.Classification.Basis
	}
	if rs := a.Reason; rs != nil && rs.BaselineMean != nil {
		v.Baseline = "mean " + num(*rs.BaselineMean)
		if rs.BaselineSpread != nil {
			v.Baseline += ", spread " + num(*rs.BaselineSpread)
		}
		v.Baseline += fmt.Sprintf(" over %d windows", rs.BaselineSamples)
		if rs.Sigma > 0 {
			v.Baseline += fmt.Sprintf("; fires above mean + %s x spread", num(rs.Sigma))
		}
		if rs.Floor > 0 {
			v.Baseline += fmt.Sprintf(", never below %d", rs.Floor)
		}
	}
	// Identity: subject and a short fingerprint.
	if id := a.Identity; id != nil {
		v.Subject = id.Subject
		switch {
		case id.SHA256 != "":
			v.Fingerprint = "sha256:" + short(id.SHA256)
		case id.SHA1 != "":
			v.Fingerprint = "sha1:" + short(id.SHA1)
		case id.Serial != "":
			v.Fingerprint = "serial:" + short(id.Serial)
		}
	}
	keys := make([]string, 0, len(a.Group))
	for k := range a.Group {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		val := a.Group[k]
		if k == event.UserName.String() {
			val = c.user(val)
		}
		if k == event.Identity.String() && v.Fingerprint == "" {
			v.Fingerprint = shortIdentity(val)
		}
		parts = append(parts, k+"="+val)
	}
	v.Group = strings.Join(parts, " ")
	// Evidence: the first request ids of the window that fired.
	v.Evidence = inc.first.Sample.RequestIDs
	v.firstT = parseTime(inc.first.FirstSeen)
	v.FirstShort, v.LastShort = tableTime(inc.first.FirstSeen), tableTime(a.LastSeen)
	v.Raw = string(inc.raw)

	if len(inc.groups) > 0 && r != nil {
		g := inc.groups[0]
		g.s.coarsen(c.width)
		v.Tracked = true
		v.GroupEvents, v.GroupFails, v.GroupSuccs = g.events, g.fails, g.succs
		t0 := parseTime(inc.first.FirstSeen) - int64(r.Window)
		t1 := t0
		for _, pt := range inc.points {
			if pt.t > t1 {
				t1 = pt.t
			}
		}
		t1 += int64(r.Window) / 2
		if t0 < c.first {
			t0 = c.first
		}
		if t1 > c.last {
			t1 = c.last
		}
		if t1 <= t0 {
			t1 = t0 + int64(r.Window)
		}
		v.Chart = timeline("chart-"+inc.id, &g.s, t0, t1, a.Threshold, a.Measure, inc.points)
		var approx bool
		v.Users, v.UsersMore, approx = c.top(&g.users, true)
		v.Approx = v.Approx || approx
		v.IPs, v.IPsMore, approx = c.top(&g.ips, false)
		v.Approx = v.Approx || approx
		v.Paths, v.PathMore, approx = c.top(&g.paths, false)
		v.Approx = v.Approx || approx
	}
	return v
}

// top returns the TopN most frequent values, most frequent first, and how
// many more distinct values are held.
func (c *Collector) top(ct *counter, users bool) ([]countRow, int, bool) {
	rows := make([]countRow, 0, len(ct.vals))
	for _, e := range ct.vals {
		rows = append(rows, countRow{Value: e.v, Count: e.n, Approx: ct.under > 0})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Count != rows[j].Count {
			return rows[i].Count > rows[j].Count
		}
		return rows[i].Value < rows[j].Value
	})
	more := 0
	if len(rows) > c.opt.TopN {
		more = len(rows) - c.opt.TopN
		rows = rows[:c.opt.TopN]
	}
	if users {
		if c.opt.Privacy.Mode == alert.PrivacyOmit {
			return nil, 0, ct.under > 0
		}
		for i := range rows {
			rows[i].Value = c.user(rows[i].Value)
		}
	}
	return rows, more, ct.under > 0
}

func short(h string) string {
	h = strings.ReplaceAll(h, ":", "")
	if len(h) > 12 {
		return strings.ToLower(h[:12])
	}
	return strings.ToLower(h)
}

// shortIdentity shortens "sha1:0d5f6c..." to "sha1:0d5f6c1e2a3b".
func shortIdentity(s string) string {
	if i := strings.IndexByte(s, ':'); i > 0 && len(s)-i-1 > 12 {
		return s[:i+1] + s[i+1:i+13]
	}
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// overviewChart draws failures over time for the top identities.
func (c *Collector) overviewChart(incs []*incView) (template.HTML, []legendRow) {
	c.total.coarsen(c.width)
	var lines []overviewLine
	var legend []legendRow
	if sg := c.bySig[event.Identity.String()]; sg != nil {
		gs := sg.values()
		sort.Slice(gs, func(i, j int) bool {
			if gs[i].fails != gs[j].fails {
				return gs[i].fails > gs[j].fails
			}
			return gs[i].key < gs[j].key
		})
		for i, g := range gs {
			if i == 5 || g.fails == 0 {
				break
			}
			g.s.coarsen(c.width)
			label := fmt.Sprintf("%s (%d failures)", shortIdentity(g.key), g.fails)
			lines = append(lines, overviewLine{label: label, s: &g.s})
			legend = append(legend, legendRow{Colour: lineColours[i%len(lineColours)], Label: label})
		}
	}
	var marks []overviewMark
	for _, v := range incs {
		if len(marks) == 200 {
			break
		}
		t := v.firstT
		if t == 0 {
			continue
		}
		marks = append(marks, overviewMark{t: t, severity: v.Severity, anchor: v.Anchor,
			label: fmt.Sprintf("%s %s %s", v.FirstSeen, v.Rule, v.Group)})
	}
	sort.SliceStable(marks, func(i, j int) bool { return marks[i].t < marks[j].t })
	return overview(c.total, c.first, c.last, lines, marks), legend
}

// tableTime shows an alert time compactly for the incidents table.
func tableTime(s string) string {
	if t := parseTime(s); t != 0 {
		return time.Unix(0, t).UTC().Format("01-02 15:04:05")
	}
	return s
}

// lateText says how many records of each kind came after their partner
// had expired unmatched, and the median gap; "" if none did.
func lateText(j *detect.JoinStats) string {
	var parts []string
	for _, k := range []struct {
		n             int64
		kind, partner event.Kind
	}{{j.LateApp.Load(), event.App, event.Proxy}, {j.LateProxy.Load(), event.Proxy, event.App}} {
		if k.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s records after their %s record had expired unmatched (median %s later)",
				k.n, k.kind, k.partner, j.LateGap(k.kind).Round(time.Millisecond)))
		}
	}
	return strings.Join(parts, ", ")
}
