// Package ruletest runs unit tests of detection rules, in the spirit of
// promtool's rule tests: a YAML file names rule files and test cases, each
// case feeds events (or raw proxy and application log lines) through the
// real detection engine and compares the alerts with the expected ones.
//
//	rule_files: [default]            # "default" is the embedded pack
//	tests:
//	  - name: fast spray from one certificate
//	    rules: [cert-identity-spray]  # compare only these rules' alerts
//	    input:
//	      events:
//	        - "@timestamp": 2026-12-04T10:00:00Z
//	          spraywatch.identity: sha1:aa
//	          user.name: "user{i}"
//	          event.outcome: failure
//	          repeat: 12               # 12 events, 5 s apart, {i} = 0..11
//	          every: 5s
//	    alerts:
//	      - {rule: cert-identity-spray, status: firing, observed: 10}
package ruletest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/formats"
	"github.com/spraywatch/spraywatch/internal/yamlerr"
	"github.com/spraywatch/spraywatch/rules"
)

// DefaultPack is the rule_files entry that names the embedded default pack.
const DefaultPack = "default"

// File is a rule test file.
type File struct {
	// RuleFiles are rules files, relative to the test file, or "default".
	// Later files add rules and replace rules with the same id.
	RuleFiles []string `yaml:"rule_files"`
	Tests     []Case   `yaml:"tests"`
}

// Case is one test case.
type Case struct {
	Name string `yaml:"name"`
	// Rules limits the comparison to these rules' alerts; empty compares
	// every alert.
	Rules      []string    `yaml:"rules,omitempty"`
	Correlator *Correlator `yaml:"correlator,omitempty"`
	Input      Input       `yaml:"input"`
	// Until advances event time to this instant after the input, so that
	// incidents whose window emptied resolve.
	Until string `yaml:"until,omitempty"`
	// Alerts are the expected alerts, in order. Each is matched as a
	// subset of the alert's JSON form: only the keys written are compared.
	Alerts []map[string]any `yaml:"alerts"`
}

// Correlator overrides the join settings for line input.
type Correlator struct {
	JoinWindow   string   `yaml:"join_window,omitempty"`
	Identity     []string `yaml:"identity,omitempty"`
	LoginPaths   []string `yaml:"login_paths,omitempty"`
	LoginMethods []string `yaml:"login_methods,omitempty"`
}

// Input is either authentication events (already joined) or log lines.
type Input struct {
	// Events are ECS field maps with "@timestamp" (RFC 3339). An entry
	// with repeat: N and every: D stands for N events D apart, with {i}
	// in values replaced by 0..N-1.
	Events []map[string]string `yaml:"events,omitempty"`
	// Proxy and App are log lines in ProxyFormat and AppFormat; they are
	// joined by request id as in a replay.
	Proxy        string `yaml:"proxy,omitempty"`
	ProxyFormat  string `yaml:"proxy_format,omitempty"`
	LogFormat    string `yaml:"log_format,omitempty"`
	App          string `yaml:"app,omitempty"`
	AppFormat    string `yaml:"app_format,omitempty"`
	AppFormatDef string `yaml:"app_format_def,omitempty"`
}

// Result is the outcome of one case.
type Result struct {
	Name     string
	Line     int           // the line of the case in its file (0: unknown)
	Failures []string      // empty when the case passed
	Alerts   []alert.Alert // every alert the case produced
}

// FileResult is the outcome of a test file.
type FileResult struct {
	File  string
	Cases []Result
}

// Failed reports whether any case failed.
func (r *FileResult) Failed() bool {
	for _, c := range r.Cases {
		if len(c.Failures) > 0 {
			return true
		}
	}
	return false
}

// Write prints the results: one line per case, the failures indented.
func (r *FileResult) Write(w io.Writer) {
	fmt.Fprintf(w, "Unit testing: %s\n", r.File)
	for _, c := range r.Cases {
		if len(c.Failures) == 0 {
			fmt.Fprintf(w, "  PASS %s\n", c.Name)
			continue
		}
		if c.Line > 0 {
			fmt.Fprintf(w, "  FAIL %s (%s:%d)\n", c.Name, r.File, c.Line)
		} else {
			fmt.Fprintf(w, "  FAIL %s\n", c.Name)
		}
		for _, f := range c.Failures {
			fmt.Fprintf(w, "    %s\n", strings.ReplaceAll(f, "\n", "\n    "))
		}
	}
}

// RunFile reads and runs a test file. The error reports a file that cannot
// be read or loaded; failing cases are in the result.
func RunFile(ctx context.Context, path string) (*FileResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading rule tests: %w", err)
	}
	return Run(ctx, path, data)
}

// Run runs a test file's contents; name locates the rule files.
func Run(ctx context.Context, name string, data []byte) (*FileResult, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlerr.FileError(name, yamlerr.Messages(err))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty test file", name)
		}
		return nil, yamlerr.FileError(name, yamlerr.Explain(&root, reflect.TypeFor[File](), err))
	}
	if len(f.RuleFiles) == 0 {
		return nil, fmt.Errorf("%s: rule_files: name at least one rules file, or %q", name, DefaultPack)
	}
	if len(f.Tests) == 0 {
		return nil, fmt.Errorf("%s: tests: no test cases", name)
	}
	var paths []string
	extend := false
	for _, p := range f.RuleFiles {
		if p == DefaultPack {
			extend = true
			continue
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(name), p)
		}
		paths = append(paths, p)
	}
	res := &FileResult{File: name}
	lines := caseLines(&root, f.Tests)
	for i, c := range f.Tests {
		if c.Name == "" {
			c.Name = fmt.Sprintf("#%d", i+1)
		}
		// Rules are compiled for each case: they carry no state, but a
		// case must not see another's suppressions applied twice.
		rs, err := rules.Load(paths, extend)
		if err != nil {
			return nil, fmt.Errorf("%s: loading rule_files: %w", name, err)
		}
		res.Cases = append(res.Cases, runCase(ctx, rs, c, lines[i]))
	}
	return res, nil
}

// caseAt is where a case and its input events are in the test file.
type caseAt struct {
	line   int
	events []int
}

// caseLines returns where each of the tests of the test file root and
// their input events are.
func caseLines(root *yaml.Node, tests []Case) []caseAt {
	lines := map[string]int{}
	for _, v := range yamlerr.Walk(root, reflect.TypeFor[File]()) {
		lines[v.Path] = v.Node.Line
	}
	out := make([]caseAt, len(tests))
	for i, c := range tests {
		path := fmt.Sprintf("tests[%d]", i)
		out[i].line = lines[path]
		for j := range c.Input.Events {
			out[i].events = append(out[i].events, lines[fmt.Sprintf("%s: input: events[%d]", path, j)])
		}
	}
	return out
}

type collect struct{ alerts []alert.Alert }

func (c *collect) Send(_ context.Context, a *alert.Alert) error {
	c.alerts = append(c.alerts, *a)
	return nil
}

func (c *collect) Close() error { return nil }

func runCase(ctx context.Context, rs []*rules.Rule, c Case, at caseAt) Result {
	res := Result{Name: c.Name, Line: at.line}
	fail := func(format string, args ...any) Result {
		res.Failures = append(res.Failures, fmt.Sprintf(format, args...))
		return res
	}
	known := map[string]bool{}
	for _, r := range rs {
		known[r.ID] = true
	}
	for _, id := range c.Rules {
		if !known[id] {
			return fail("rules: %q is not among the loaded rules (%s)", id, rules.IDs(rs))
		}
	}
	for i, a := range c.Alerts {
		if id, ok := a["rule"].(string); ok && !known[id] {
			return fail("alerts[%d]: rule %q is not among the loaded rules", i, id)
		}
	}
	cc, err := correlatorConfig(c.Correlator)
	if err != nil {
		return fail("correlator: %v", err)
	}
	sink := &collect{}
	eng, err := detect.NewEngine(detect.Config{Correlator: cc, Rules: rs, Sink: sink})
	if err != nil {
		return fail("starting the engine: %v", err)
	}
	hasLines := c.Input.Proxy != "" || c.Input.App != ""
	switch {
	case len(c.Input.Events) > 0 && hasLines:
		return fail("input: give events or log lines, not both")
	case len(c.Input.Events) > 0:
		evs, err := buildEvents(c.Input.Events, at.events)
		if err != nil {
			return fail("input: %v", err)
		}
		for _, ev := range evs {
			if err := eng.AddEvent(ctx, ev); err != nil {
				return fail("engine: %v", err)
			}
		}
	case hasLines:
		recs, err := readLines(c.Input)
		if err != nil {
			return fail("input: %v", err)
		}
		for i := range recs {
			if err := eng.Add(ctx, &recs[i]); err != nil {
				return fail("engine: %v", err)
			}
		}
	default:
		return fail("input: no events and no log lines")
	}
	if err := eng.Close(ctx); err != nil {
		return fail("engine: %v", err)
	}
	if c.Until != "" {
		t, err := parseTime(c.Until)
		if err != nil {
			return fail("until: %v", err)
		}
		if err := eng.Advance(ctx, t); err != nil {
			return fail("engine: %v", err)
		}
	}
	res.Alerts = sink.alerts
	got := res.Alerts
	if len(c.Rules) > 0 {
		got = nil
		for _, a := range res.Alerts {
			if containsStr(c.Rules, a.Rule) {
				got = append(got, a)
			}
		}
	}
	res.Failures = compare(c.Alerts, got)
	return res
}

func containsStr(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func correlatorConfig(c *Correlator) (detect.CorrelatorConfig, error) {
	var cc detect.CorrelatorConfig
	if c == nil {
		return cc, nil
	}
	if c.JoinWindow != "" {
		d, err := time.ParseDuration(c.JoinWindow)
		if err != nil {
			return cc, fmt.Errorf("join_window: %w", err)
		}
		cc.JoinWindow = d
	}
	cc.Identity, cc.LoginPaths, cc.LoginMethods = c.Identity, c.LoginPaths, c.LoginMethods
	return cc, nil
}

func parseTime(s string) (int64, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("%q: expected an RFC 3339 time such as 2026-12-04T10:00:00Z", s)
	}
	return t.UnixNano(), nil
}

// buildEvents expands the input entries in, found in the test file at
// the lines given (if known, for errors), into events sorted by time
// (stable).
func buildEvents(in []map[string]string, lines []int) ([]*event.Event, error) {
	var out []*event.Event
	for i, m := range in {
		entry := fmt.Sprintf("events[%d]", i)
		if i < len(lines) && lines[i] > 0 {
			entry = fmt.Sprintf("events[%d] (line %d)", i, lines[i])
		}
		ts, ok := m[event.TimestampName]
		if !ok {
			return nil, fmt.Errorf("%s: %s is required", entry, event.TimestampName)
		}
		start, err := parseTime(ts)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %v", entry, event.TimestampName, err)
		}
		n, every := 1, time.Duration(0)
		if s, ok := m["repeat"]; ok {
			if n, err = strconv.Atoi(s); err != nil || n < 1 || n > 100_000 {
				return nil, fmt.Errorf("%s: repeat: %q is not a count from 1 to 100000", entry, s)
			}
		}
		if s, ok := m["every"]; ok {
			if every, err = time.ParseDuration(s); err != nil || every < 0 {
				return nil, fmt.Errorf("%s: every: %q is not a duration such as 5s", entry, s)
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for j := range n {
			ev := &event.Event{Time: start + int64(j)*int64(every)}
			for _, k := range keys {
				switch k {
				case event.TimestampName, "repeat", "every":
					continue
				}
				f, ok := event.LookupField(k)
				if !ok {
					return nil, fmt.Errorf("%s: unknown field %q (known: %s)", entry, k, strings.Join(event.FieldNames(), ", "))
				}
				ev.Values[f] = strings.ReplaceAll(m[k], "{i}", strconv.Itoa(j))
			}
			out = append(out, ev)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Time < out[b].Time })
	return out, nil
}

// readLines parses both logs and merges the records in time order, proxy
// lines first on ties, as a replay of the two files would.
func readLines(in Input) ([]event.Record, error) {
	pname, aname := in.ProxyFormat, in.AppFormat
	if pname == "" {
		pname = "nginx"
	}
	if aname == "" {
		aname = "django-json"
	}
	var proxy, app []event.Record
	if in.Proxy != "" {
		f, err := formats.Proxy(pname, in.LogFormat)
		if err != nil {
			return nil, err
		}
		if proxy, err = parseLines("proxy", event.Proxy, f, in.Proxy); err != nil {
			return nil, err
		}
	}
	if in.App != "" {
		f, err := formats.App(aname, in.AppFormatDef)
		if err != nil {
			return nil, err
		}
		if app, err = parseLines("app", event.App, f, in.App); err != nil {
			return nil, err
		}
	}
	out := make([]event.Record, 0, len(proxy)+len(app))
	i, j := 0, 0
	for i < len(proxy) || j < len(app) {
		if j >= len(app) || i < len(proxy) && proxy[i].Time <= app[j].Time {
			out = append(out, proxy[i])
			i++
		} else {
			out = append(out, app[j])
			j++
		}
	}
	return out, nil
}

func parseLines(what string, kind event.Kind, f ingest.Format, text string) ([]event.Record, error) {
	p := f.NewParser()
	var out []event.Record
	for n, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var r event.Record
		err := p.Parse([]byte(line), &r)
		if errors.Is(err, ingest.ErrIgnore) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s line %d (%s): %w", what, n+1, f.Name(), err)
		}
		// The record's values are views into the parser's scratch space:
		// copy them before the next line.
		r.Kind = kind
		for k, v := range r.Values {
			if v != nil {
				r.Values[k] = append([]byte(nil), v...)
			}
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Time < out[b].Time })
	return out, nil
}

// compare matches expected alerts with the alerts produced, in order.
func compare(want []map[string]any, got []alert.Alert) []string {
	var fails []string
	n := min(len(want), len(got))
	for i := range n {
		act, err := asMap(&got[i])
		if err != nil {
			return []string{err.Error()}
		}
		var diffs []string
		subset("", want[i], act, &diffs)
		if len(diffs) > 0 {
			fails = append(fails, fmt.Sprintf("alert %d (%s):\n  %s", i+1, oneLine(&got[i]), strings.Join(diffs, "\n  ")))
		}
	}
	if len(want) != len(got) {
		var b strings.Builder
		fmt.Fprintf(&b, "want %d alert(s), got %d", len(want), len(got))
		for i := n; i < len(got); i++ {
			fmt.Fprintf(&b, "\n  unexpected alert %d: %s", i+1, oneLine(&got[i]))
		}
		for i := n; i < len(want); i++ {
			fmt.Fprintf(&b, "\n  missing alert %d: %s", i+1, wantLine(want[i]))
		}
		fails = append(fails, b.String())
	}
	return fails
}

func asMap(a *alert.Alert) (map[string]any, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encoding an alert: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decoding an alert: %w", err)
	}
	return m, nil
}

// subset compares the expected value w with the actual JSON value g: maps
// by the expected keys, lists element by element (same length), numbers
// numerically, times as instants, the rest by type and value (a quoted
// number is text).
func subset(path string, w, g any, diffs *[]string) {
	switch wv := w.(type) {
	case map[string]any:
		gm, ok := g.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: want a mapping, got %s", path, show(g)))
			return
		}
		keys := make([]string, 0, len(wv))
		for k := range wv {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			gv, ok := gm[k]
			if !ok {
				if wv[k] == nil {
					continue
				}
				*diffs = append(*diffs, fmt.Sprintf("%s: want %s, got nothing", p, show(wv[k])))
				continue
			}
			subset(p, wv[k], gv, diffs)
		}
	case []any:
		gl, ok := g.([]any)
		if !ok || len(gl) != len(wv) {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %s, got %s", path, show(w), show(g)))
			return
		}
		for i := range wv {
			subset(fmt.Sprintf("%s[%d]", path, i), wv[i], gl[i], diffs)
		}
	default:
		if !scalarEqual(w, g) {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %s, got %s", path, show(w), show(g)))
		}
	}
}

func scalarEqual(w, g any) bool {
	if wf, ok := number(w); ok {
		gf, ok := number(g)
		return ok && math.Abs(wf-gf) < 1e-9
	}
	if wt, ok := w.(time.Time); ok {
		gs, _ := g.(string)
		gt, err := time.Parse(time.RFC3339Nano, gs)
		return err == nil && gt.Equal(wt)
	}
	if _, ok := number(g); ok {
		return false // a quoted number is text, not the number
	}
	if wb, ok := w.(bool); ok {
		gb, ok := g.(bool)
		return ok && wb == gb
	}
	ws, ok1 := w.(string)
	gs, ok2 := g.(string)
	if !ok1 || !ok2 {
		return w == nil && g == nil
	}
	if ws == gs {
		return true
	}
	wt, err1 := time.Parse(time.RFC3339Nano, ws)
	gt, err2 := time.Parse(time.RFC3339Nano, gs)
	return err1 == nil && err2 == nil && wt.Equal(gt)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func show(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.Format(time.RFC3339Nano)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func oneLine(a *alert.Alert) string {
	g := make([]string, 0, len(a.Group))
	for k, v := range a.Group {
		g = append(g, k+"="+v)
	}
	sort.Strings(g)
	return fmt.Sprintf("rule=%s status=%s group={%s} observed=%s threshold=%s first_seen=%s last_seen=%s",
		a.Rule, a.Status, strings.Join(g, ","), strconv.FormatFloat(a.Observed, 'f', -1, 64),
		strconv.FormatFloat(a.Threshold, 'f', -1, 64), a.FirstSeen, a.LastSeen)
}

func wantLine(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + show(m[k])
	}
	return strings.Join(parts, " ")
}
