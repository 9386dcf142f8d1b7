package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
)

// family is what a registry exposes of one metric: its type, label names
// and the values of each label.
type family struct {
	typ    string
	labels map[string]map[string]bool
}

// exposedFamilies builds the registries as replay and serve do (New, then
// Handler, which registers promhttp's own counter), with every part
// reporting (sources, an engine with late join partners and a ranking,
// sinks, Kafka partitions, a streaming server, followed files), and returns what they
// gather, by metric name.
func exposedFamilies(t *testing.T) map[string]*family {
	t.Helper()
	c := campaign(t, "fast_spray-1")
	r, _ := replayed(context.Background(), t, c.End)
	am, err := alert.NewAlertmanager(context.Background(), alert.AlertmanagerOptions{Name: "am", URL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { am.Close() })
	sinks := func() []*alert.SinkStats { return append(SinkStats(r.sink), am.Stats()) }
	replayCfg := r.config()
	replayCfg.Sinks = sinks
	serveCfg := Config{
		Sources: replayCfg.Sources,
		Engine:  func() *detect.Engine { return r.engine },
		Counts:  r.engine.Counts,
		Sinks:   sinks,
		Kafka:   partitions{{Topic: "mtls", Partition: 0, Committed: 7, Lag: 3}},
		Stream:  stream{Commits: 1},
		Files: func() []FileStats {
			return []FileStats{
				{Source: "file:proxy", Kind: "proxy", Format: "nginx", Opened: 3, Rotated: 1, StateWrites: 2},
				{Source: "file:app", Kind: "app", Format: "django", Opened: 2, Truncated: 1, Copies: 1, CopiedBytes: 512, Lost: 1, Skipped: 1},
			}
		},
		Command: "serve",
	}
	var regs []*Metrics
	for _, cfg := range []Config{replayCfg, serveCfg} {
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m.Handler()
		m.TopK().Refresh(r.engine) // the campaign's ranking, before the late records below empty its window
		m.Observe(time.Millisecond)
		regs = append(regs, m)
	}
	// Login requests whose app records come an hour late: late partners.
	at := c.End.Add(time.Minute).UnixNano()
	for i, kind := range []event.Kind{event.Proxy, event.App} {
		rec := &event.Record{Kind: kind, Time: at + int64(i)*int64(time.Hour)}
		rec.Values[event.RequestID] = []byte("late-partner")
		if kind == event.Proxy {
			rec.Values[event.URLPath] = []byte("/accounts/login/")
		} else {
			rec.Values[event.UserName], rec.Values[event.Outcome] = []byte("alice"), []byte("failure")
		}
		if err := r.engine.Add(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]*family{}
	for _, m := range regs {
		mfs, err := m.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			f := out[mf.GetName()]
			if f == nil {
				f = &family{typ: strings.ToLower(mf.GetType().String()), labels: map[string]map[string]bool{}}
				out[mf.GetName()] = f
			}
			for _, s := range mf.GetMetric() {
				for _, l := range s.GetLabel() {
					if f.labels[l.GetName()] == nil {
						f.labels[l.GetName()] = map[string]bool{}
					}
					f.labels[l.GetName()][l.GetValue()] = true
				}
			}
		}
	}
	// Every metric the collector describes must have come out: a part
	// left silent above would leave a metric unchecked.
	ch := make(chan *prometheus.Desc, len(allDescs))
	newCollector(Config{}, nil).Describe(ch)
	close(ch)
	for d := range ch {
		if n := metricName.FindString(d.String()); out[n] == nil {
			t.Errorf("%s is described but not gathered: make the test's configuration report it", n)
		}
	}
	return out
}

// enumerated are the labels whose values are a fixed list the docs give.
var enumerated = map[string]bool{"outcome": true, "reason": true, "kind": true, "op": true, "type": true, "command": true, "cause": true}

var codeSpan = regexp.MustCompile("`([^`]+)`")

func spans(s string) []string {
	var out []string
	for _, m := range codeSpan.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// docMetric is a row of a metrics table of docs/monitoring.md.
type docMetric struct {
	typ     string
	labels  []string
	section string // the text of its ### section
}

// documentedMetrics parses the tables of docs/monitoring.md's Metrics
// section: | `name` | type | `label`, ... | meaning |.
func documentedMetrics(t *testing.T, doc string) map[string]docMetric {
	t.Helper()
	start, end := strings.Index(doc, "\n## Metrics\n"), strings.Index(doc, "\n## Grafana dashboard\n")
	if start < 0 || end < start {
		t.Fatal("docs/monitoring.md: no Metrics section before the Grafana dashboard's")
	}
	out := map[string]docMetric{}
	for _, sec := range strings.Split(doc[start:end], "\n### ")[1:] {
		for _, line := range strings.Split(sec, "\n") {
			if !strings.HasPrefix(line, "| `spraywatch_") {
				continue
			}
			cells := strings.Split(line, "|")[1:]
			if len(cells) < 5 {
				t.Errorf("docs/monitoring.md: row %q: want | metric | type | labels | meaning |", line)
				continue
			}
			name := strings.Trim(strings.TrimSpace(cells[0]), "`")
			if _, dup := out[name]; dup {
				t.Errorf("docs/monitoring.md documents %s twice", name)
			}
			out[name] = docMetric{typ: strings.TrimSpace(cells[1]), labels: spans(cells[2]), section: sec}
		}
	}
	return out
}

// TestMetricsDocumented checks docs/monitoring.md against the registries:
// every metric gathered is documented with its type, its label names and
// the values of its enumerated labels, and every metric documented is
// gathered.
func TestMetricsDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "monitoring.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	docs := documentedMetrics(t, doc)
	fams := exposedFamilies(t)
	for name, f := range fams {
		switch {
		case strings.HasPrefix(name, "go_"), strings.HasPrefix(name, "process_"):
			if prefix, _, _ := strings.Cut(name, "_"); !strings.Contains(doc, "`"+prefix+"_*`") {
				t.Errorf("docs/monitoring.md does not mention the %s_* metrics (%s)", prefix, name)
			}
			continue
		case !strings.HasPrefix(name, Namespace+"_"):
			if !strings.Contains(doc, "`"+name+"`") {
				t.Errorf("docs/monitoring.md does not document %s", name)
			}
			for l, vals := range f.labels {
				for v := range vals {
					if enumerated[l] && !strings.Contains(doc, "`"+v+"`") {
						t.Errorf("docs/monitoring.md: %s{%s=%q} not documented", name, l, v)
					}
				}
			}
			continue
		}
		d, ok := docs[name]
		if !ok {
			t.Errorf("docs/monitoring.md has no table row for %s", name)
			continue
		}
		if d.typ != f.typ {
			t.Errorf("docs/monitoring.md: %s is a %s, documented as a %s", name, f.typ, d.typ)
		}
		var labels []string
		for l := range f.labels {
			labels = append(labels, l)
		}
		slices.Sort(labels)
		documented := slices.Sorted(slices.Values(d.labels))
		if !slices.Equal(labels, documented) {
			t.Errorf("docs/monitoring.md: %s has labels %v, documented %v", name, labels, documented)
		}
		sectionSpans := spans(d.section)
		for l, vals := range f.labels {
			if !enumerated[l] {
				continue
			}
			for v := range vals {
				if !slices.Contains(sectionSpans, v) {
					t.Errorf("docs/monitoring.md: %s{%s=%q} is not documented in its section", name, l, v)
				}
			}
		}
	}
	for name := range docs {
		if fams[name] == nil {
			t.Errorf("docs/monitoring.md documents %s, which no registry exposes", name)
		}
	}
	if len(docs) < len(allDescs) {
		t.Errorf("%d metrics documented, fewer than the %d described", len(docs), len(allDescs))
	}
}

var (
	promSelector = regexp.MustCompile(`\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}`)
	promMatcher  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	promLegend   = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
	promMetric   = regexp.MustCompile(`\b(?:spraywatch|go|process|up)(?:_[a-z0-9_]*)?\b`)
)

// checkPromQL reports the label names expr (and its legend) uses that
// none of the metrics it names has, and the values it compares an
// enumerated label with that the metric never takes.
func checkPromQL(fams map[string]*family, expr, legend string) []string {
	var errs []string
	// The labels of a metric name as queried (histogram series too).
	labelsOf := func(n string) (map[string]map[string]bool, bool) {
		if n == "up" {
			return map[string]map[string]bool{}, true
		}
		for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
			base, ok := strings.CutSuffix(n, suffix)
			if f := fams[base]; ok && f != nil && (suffix == "" || f.typ == "histogram") {
				ls := f.labels
				if suffix == "_bucket" {
					ls = map[string]map[string]bool{"le": nil}
					for l, v := range f.labels {
						ls[l] = v
					}
				}
				return ls, true
			}
		}
		return nil, false
	}
	target := map[string]bool{"job": true, "instance": true} // every series has them
	union := map[string]bool{"job": true, "instance": true}
	for _, n := range promMetric.FindAllString(expr, -1) {
		if ls, ok := labelsOf(n); ok {
			for l := range ls {
				union[l] = true
			}
		}
	}
	for _, m := range promSelector.FindAllStringSubmatch(expr, -1) {
		ls, ok := labelsOf(m[1])
		if !ok {
			errs = append(errs, fmt.Sprintf("%s is not a metric exposed", m[1]))
			continue
		}
		for _, mm := range promMatcher.FindAllStringSubmatch(m[2], -1) {
			l, op, v := mm[1], mm[2], mm[3]
			if target[l] {
				continue
			}
			vals, ok := ls[l]
			if !ok {
				errs = append(errs, fmt.Sprintf("%s has no label %s", m[1], l))
				continue
			}
			if enumerated[l] && (op == "=" || op == "!=") && !vals[v] {
				errs = append(errs, fmt.Sprintf("%s{%s=%q}: %s never takes that value", m[1], l, v, l))
			}
		}
	}
	for _, m := range promGrouping.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !union[l] {
				errs = append(errs, fmt.Sprintf("groups by %s, a label of none of its metrics", l))
			}
		}
	}
	for _, m := range promLegend.FindAllStringSubmatch(legend, -1) {
		if !union[m[1]] {
			errs = append(errs, fmt.Sprintf("legend %q names %s, a label of none of its metrics", legend, m[1]))
		}
	}
	return errs
}

// TestQueriesUseExposedLabels checks the PromQL of the dashboard, of the
// shipped alerting rules and of docs/monitoring.md: the label names they
// select, group or show by, and the enumerated label values they compare
// with, exist on the metrics they query.
func TestQueriesUseExposedLabels(t *testing.T) {
	fams := exposedFamilies(t)
	root := repoRoot(t)
	n := 0
	check := func(where, expr, legend string) {
		t.Helper()
		n++
		for _, e := range checkPromQL(fams, expr, legend) {
			t.Errorf("%s: %s\n\t%s", where, e, expr)
		}
	}
	var raw struct {
		Panels []json.RawMessage `json:"panels"`
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "dashboards", "spraywatch.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr, LegendFormat string
	}
	type rawPanel struct {
		Title   string
		Targets []target
		Panels  []json.RawMessage
	}
	var walk func([]json.RawMessage)
	walk = func(ps []json.RawMessage) {
		for _, p := range ps {
			var rp rawPanel
			if err := json.Unmarshal(p, &rp); err != nil {
				t.Fatal(err)
			}
			for _, tg := range rp.Targets {
				check("dashboard panel "+rp.Title, tg.Expr, tg.LegendFormat)
			}
			walk(rp.Panels)
		}
	}
	walk(raw.Panels)

	var rf struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	b, err = os.ReadFile(filepath.Join(root, "deploy", "prometheus", "rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			check("rule "+r.Alert, r.Expr, "")
		}
	}

	// The doc's expressions: code spans that call a function or select.
	b, err = os.ReadFile(filepath.Join(root, "docs", "monitoring.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range spans(string(b)) {
		if strings.Contains(s, "spraywatch_") && strings.ContainsAny(s, "({[") {
			check("docs/monitoring.md", s, "")
		}
	}
	if n < 50 {
		t.Errorf("only %d expressions checked", n)
	}
}
