// Package evaluate measures detection quality: it generates a labelled
// corpus with package samples, replays it through the engine with a rule
// set, and reports for every labelled campaign whether it was detected and
// how long after its start, and which alerts were false.
package evaluate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/formats"
	"github.com/spraywatch/spraywatch/replay"
	"github.com/spraywatch/spraywatch/rules"
	"github.com/spraywatch/spraywatch/samples"
)

// Config selects the corpus and the rules.
type Config struct {
	// Samples is the corpus; its Seed varies the draw.
	Samples samples.Config
	// Rules to evaluate; nil means the default pack.
	Rules []*rules.Rule
	// Dir holds the generated logs; empty means a temporary directory,
	// removed afterwards.
	Dir string
}

// Targets the default pack is held to.
const (
	// FastSprayDelay is the longest acceptable delay from a fast spray's
	// first attempt to its first alert, in event time.
	FastSprayDelay = 2 * time.Minute
)

// Campaign is the outcome for one labelled campaign or hard negative.
type Campaign struct {
	samples.Campaign
	// Detected: an alert was attributed to the campaign. For a hard
	// negative this is a false alert.
	Detected bool
	// Delay from the campaign's first line to the event that fired its
	// first alert.
	Delay time.Duration
	// Rule that fired first, and the incidents attributed to the campaign.
	Rule      string
	Incidents int
	// Rules lists every rule with an incident attributed to the campaign.
	Rules []string
}

// FalseAlert is an incident that belongs to no attack campaign.
type FalseAlert struct {
	Rule     string
	Group    string
	At       string
	Negative string // the hard negative it fell on, if any
}

// Result is one evaluation.
type Result struct {
	Seed      int64
	Campaigns []Campaign
	False     []FalseAlert
	Incidents int // incidents opened (firing records)
	Records   int // alert records of every status
	Events    int64

	alerts []alert.Alert // every alert record, in the order sent
}

// Run generates the corpus and replays it.
func Run(ctx context.Context, c Config) (*Result, error) {
	dir := c.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "spraywatch-eval-")
		if err != nil {
			return nil, fmt.Errorf("evaluating: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	proxyPath, appPath := filepath.Join(dir, "nginx-access.log"), filepath.Join(dir, "django-auth.log")
	labels, err := generate(c.Samples, proxyPath, appPath)
	if err != nil {
		return nil, err
	}
	res, err := replayCorpus(ctx, c.Rules, labels, proxyPath, appPath)
	if err != nil {
		return nil, err
	}
	res.Seed = c.Samples.Seed
	return res, nil
}

// replayCorpus replays the corpus of labels in proxyPath and appPath
// through the rules (nil: the default pack) and scores the alerts. A
// corpus file whose data is damaged (see ingest.DamagedError), or with a
// line rejected or too long, fails the evaluation: scored on the lines
// read, the campaigns in the others would be missed and the false alerts
// undercounted.
func replayCorpus(ctx context.Context, rs []*rules.Rule, labels []samples.Campaign, proxyPath, appPath string) (*Result, error) {
	return replayWatched(ctx, rs, labels, proxyPath, appPath, nil)
}

// replayWatched is replayCorpus that also shows onEvent, unless nil, every
// authentication event, and keeps the alerts in the result.
func replayWatched(ctx context.Context, rs []*rules.Rule, labels []samples.Campaign, proxyPath, appPath string, onEvent func(*event.Event)) (*Result, error) {
	if rs == nil {
		rs = rules.Default()
	}
	proxyFmt, err := formats.Proxy("nginx", "")
	if err != nil {
		return nil, err
	}
	appFmt, err := formats.App("django-json", "")
	if err != nil {
		return nil, err
	}
	sources := []ingest.Source{
		ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.Proxy, Paths: []string{proxyPath}, Parser: proxyFmt.NewParser(), Format: proxyFmt.Name()}),
		ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.App, Paths: []string{appPath}, Parser: appFmt.NewParser(), Format: appFmt.Name()}),
	}
	at := newAttributor(labels)
	sink := &collector{}
	observe := at.observe
	if onEvent != nil {
		observe = func(ev *event.Event) {
			at.observe(ev)
			onEvent(ev)
		}
	}
	eng, err := detect.NewEngine(detect.Config{Rules: rs, Sink: sink, OnEvent: observe})
	if err != nil {
		return nil, err
	}
	if err := replay.Run(ctx, sources, eng); err != nil {
		return nil, fmt.Errorf("evaluating: replaying: %w", err)
	}
	if err := errors.Join(damaged(sources), rejected(sources)); err != nil {
		return nil, fmt.Errorf("evaluating: the corpus was not read whole: %w", err)
	}
	res := at.score(sink.alerts)
	res.Events = eng.Stats().Events.Load()
	res.alerts = sink.alerts
	return res, nil
}

// damaged returns the damage of the sources' damaged files, nil for none.
func damaged(sources []ingest.Source) error {
	var errs []error
	for _, src := range sources {
		st := src.Stats()
		kept := st.Damages()
		errs = append(errs, kept...)
		if n := st.Damaged.Load() - int64(len(kept)); n > 0 {
			errs = append(errs, fmt.Errorf("%d damaged files of %s not listed", n, st.Name))
		}
	}
	return errors.Join(errs...)
}

// rejected returns, for each source with lines rejected (too long among
// them), how many and the first one's error; nil for none.
func rejected(sources []ingest.Source) error {
	var errs []error
	for _, src := range sources {
		st := src.Stats()
		n := st.Rejected.Load()
		if n == 0 {
			continue
		}
		first := "none kept"
		if e := st.Errors(); len(e) > 0 {
			first = e[0].Error()
		}
		lines := "lines"
		if n == 1 {
			lines = "line"
		}
		errs = append(errs, fmt.Errorf("%s: %d %s rejected (%d too long), the first: %s", st.Name, n, lines, st.TooLong.Load(), first))
	}
	return errors.Join(errs...)
}

func generate(c samples.Config, proxyPath, appPath string) ([]samples.Campaign, error) {
	pf, err := os.Create(proxyPath)
	if err != nil {
		return nil, fmt.Errorf("evaluating: %w", err)
	}
	defer pf.Close()
	af, err := os.Create(appPath)
	if err != nil {
		return nil, fmt.Errorf("evaluating: %w", err)
	}
	defer af.Close()
	labels, _, err := samples.Generate(c, pf, af)
	if err != nil {
		return nil, fmt.Errorf("evaluating: %w", err)
	}
	if err := pf.Close(); err != nil {
		return nil, fmt.Errorf("evaluating: %w", err)
	}
	if err := af.Close(); err != nil {
		return nil, fmt.Errorf("evaluating: %w", err)
	}
	return labels, nil
}

// collector is the sink that keeps every alert for scoring.
type collector struct{ alerts []alert.Alert }

func (c *collector) Send(_ context.Context, a *alert.Alert) error {
	c.alerts = append(c.alerts, *a)
	return nil
}

func (c *collector) Close() error { return nil }

// slack widens a campaign's time range when attributing: events are joined
// up to a join window late and incidents open on the window's first event.
const slack = 2 * time.Minute

// attributor links events, and through their request ids alerts, to
// campaigns: an event belongs to a campaign when it carries one of the
// campaign's identities (certificate fingerprint or source address) within
// the campaign's time range.
type attributor struct {
	labels []samples.Campaign
	byRID  map[string]int // request id -> label index
}

func newAttributor(labels []samples.Campaign) *attributor {
	return &attributor{labels: labels, byRID: make(map[string]int)}
}

func (a *attributor) observe(ev *event.Event) {
	rid := ev.Values[event.RequestID]
	if rid == "" {
		return
	}
	if i := a.match(ev.Time, identities(ev.Values[event.Identity], ev.Values[event.TLSSHA1], ev.Values[event.SourceIP])); i >= 0 {
		a.byRID[strings.Clone(rid)] = i
	}
}

func identities(vals ...string) []string {
	var out []string
	for _, v := range vals {
		if v == "" {
			continue
		}
		if _, after, ok := strings.Cut(v, ":"); ok && !strings.Contains(after, ":") && len(after) >= 40 {
			v = after // "sha1:<hex>" -> "<hex>"
		}
		out = append(out, strings.ToLower(v))
	}
	return out
}

// match returns the label (attack campaigns first) with one of ids whose
// time range contains t, or -1.
func (a *attributor) match(t int64, ids []string) int {
	best := -1
	for i, l := range a.labels {
		if t < l.Start.Add(-slack).UnixNano() || t > l.End.Add(slack).UnixNano() {
			continue
		}
		for _, id := range l.Identities {
			for _, v := range ids {
				if strings.EqualFold(id, v) {
					if !l.Negative {
						return i
					}
					if best < 0 {
						best = i
					}
				}
			}
		}
	}
	return best
}

// attribute finds the label an alert belongs to: by the identity it is
// grouped on, else by the majority of its evidence's request ids.
func (a *attributor) attribute(al *alert.Alert) int {
	first, err1 := time.Parse(time.RFC3339Nano, al.FirstSeen)
	last, err2 := time.Parse(time.RFC3339Nano, al.LastSeen)
	if err1 != nil || err2 != nil {
		return -1
	}
	var ids []string
	for _, v := range al.Group {
		ids = append(ids, identities(v)...)
	}
	if al.Identity != nil {
		ids = append(ids, identities(al.Identity.SHA1)...)
	}
	if i := a.match(last.UnixNano(), ids); i >= 0 {
		return i
	}
	if i := a.match(first.UnixNano(), ids); i >= 0 {
		return i
	}
	votes := map[int]int{}
	for _, rid := range al.Sample.RequestIDs {
		if i, ok := a.byRID[rid]; ok {
			votes[i]++
		}
	}
	best, n := -1, 0
	for i, v := range votes {
		if v > n || v == n && i < best {
			best, n = i, v
		}
	}
	if n*2 < len(al.Sample.RequestIDs) {
		return -1
	}
	return best
}

func (a *attributor) score(alerts []alert.Alert) *Result {
	res := &Result{Records: len(alerts)}
	for _, l := range a.labels {
		res.Campaigns = append(res.Campaigns, Campaign{Campaign: l})
	}
	for i := range alerts {
		al := &alerts[i]
		if al.Status != alert.StatusFiring {
			continue
		}
		res.Incidents++
		li := a.attribute(al)
		if li >= 0 && !a.labels[li].Negative {
			c := &res.Campaigns[li]
			c.Incidents++
			c.addRule(al.Rule)
			at, _ := time.Parse(time.RFC3339Nano, al.LastSeen)
			d := max(at.Sub(c.Start), 0)
			if !c.Detected || d < c.Delay {
				c.Detected, c.Delay, c.Rule = true, d, al.Rule
			}
			continue
		}
		fa := FalseAlert{Rule: al.Rule, Group: groupString(al.Group), At: al.LastSeen}
		if li >= 0 {
			c := &res.Campaigns[li]
			c.Detected = true
			c.Incidents++
			c.addRule(al.Rule)
			if c.Rule == "" {
				c.Rule = al.Rule
			}
			fa.Negative = c.ID
		}
		res.False = append(res.False, fa)
	}
	return res
}

func (c *Campaign) addRule(r string) {
	i := sort.SearchStrings(c.Rules, r)
	if i < len(c.Rules) && c.Rules[i] == r {
		return
	}
	c.Rules = append(c.Rules, "")
	copy(c.Rules[i+1:], c.Rules[i:])
	c.Rules[i] = r
}

func groupString(g map[string]string) string {
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(k + "=" + g[k])
	}
	return b.String()
}

// Failures lists the targets the result misses: an undetected attack, an
// alert on a hard negative or on nothing, a fast spray detected too late.
func (r *Result) Failures() []string {
	var out []string
	for _, c := range r.Campaigns {
		switch {
		case !c.Negative && !c.Detected:
			out = append(out, fmt.Sprintf("seed %d: %s not detected", r.Seed, c.ID))
		case c.Negative && c.Detected:
			out = append(out, fmt.Sprintf("seed %d: %d alert(s) on hard negative %s (first by %s)", r.Seed, c.Incidents, c.ID, c.Rule))
		case c.Kind == samples.KindFastSpray && c.Delay > FastSprayDelay:
			out = append(out, fmt.Sprintf("seed %d: %s detected after %s (target %s)", r.Seed, c.ID, c.Delay, FastSprayDelay))
		}
	}
	for _, f := range r.False {
		if f.Negative == "" {
			out = append(out, fmt.Sprintf("seed %d: false alert %s on %s at %s", r.Seed, f.Rule, f.Group, f.At))
		}
	}
	return out
}

// WriteTable prints the result as a table.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "seed %d: %d events, %d incidents, %d alert records\n", r.Seed, r.Events, r.Incidents, r.Records)
	fmt.Fprintln(tw, "campaign\tkind\tstart\tdetected\tdelay\tfirst rule\tincidents\tall rules")
	for _, c := range r.Campaigns {
		det, delay := "no", "-"
		switch {
		case c.Negative && !c.Detected:
			det = "silent (ok)"
		case c.Negative:
			det = "FALSE ALERT"
		case c.Detected:
			det, delay = "yes", c.Delay.Round(time.Second).String()
		default:
			det = "MISSED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", c.ID, c.Kind, c.Start.Format("15:04:05"), det, delay, orDash(c.Rule), c.Incidents, orDash(strings.Join(c.Rules, ",")))
	}
	fmt.Fprintf(tw, "false alerts: %d\n", len(r.False))
	for _, f := range r.False {
		on := "no campaign"
		if f.Negative != "" {
			on = "hard negative " + f.Negative
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.At, f.Rule, f.Group, on)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
