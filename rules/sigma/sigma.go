// Package sigma converts Sigma correlation rules of type value_count and
// event_count, with the simple detection of the base rule they reference,
// into spraywatch rules.
//
// A value_count correlation becomes a distinct rule, an event_count
// correlation a count rule: group-by becomes group_by, timespan the window,
// a gte (or gt) condition the threshold, and the base rule's selection (and
// an optional negated filter) the match block. Field names are mapped to
// ECS through Fields. Whatever cannot be expressed exactly is reported as a
// Problem and the rule is not emitted: nothing is guessed.
package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// Source is one Sigma file: one or more YAML documents.
type Source struct {
	Name string
	Data []byte
}

// Problem is something in a Sigma rule spraywatch cannot express.
type Problem struct {
	File string
	Line int
	Rule string // the correlation rule's title or id
	Msg  string
}

func (p Problem) String() string {
	pos := p.File
	if p.Line > 0 {
		pos += ":" + strconv.Itoa(p.Line)
	}
	if p.Rule != "" {
		return pos + ": " + p.Rule + ": " + p.Msg
	}
	return pos + ": " + p.Msg
}

// Converted is one correlation rule converted in full.
type Converted struct {
	Spec  rules.Spec
	File  string
	Title string
	Sigma string // the correlation rule's id or name
	Base  string // the base rule's id or name
}

// Result holds the converted rules and the problems, in input order.
type Result struct {
	Rules    []Converted
	Problems []Problem
}

type document struct {
	file  string
	node  *yaml.Node
	Title string       `yaml:"title"`
	ID    string       `yaml:"id"`
	Name  string       `yaml:"name"`
	Level string       `yaml:"level"`
	Tags  []string     `yaml:"tags"`
	Corr  *correlation `yaml:"correlation"`
	Det   yaml.Node    `yaml:"detection"`
}

type correlation struct {
	Type      string    `yaml:"type"`
	Rules     []string  `yaml:"rules"`
	GroupBy   []string  `yaml:"group-by"`
	Timespan  string    `yaml:"timespan"`
	Condition yaml.Node `yaml:"condition"`
	Field     string    `yaml:"field"` // older drafts
	Aliases   yaml.Node `yaml:"aliases"`
}

// Convert reads the sources and converts every correlation rule in them.
// Base rules are looked up by id or name across all sources. The error
// reports YAML that cannot be read at all.
func Convert(srcs []Source) (*Result, error) {
	var docs []*document
	for _, s := range srcs {
		dec := yaml.NewDecoder(bytes.NewReader(s.Data))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.Name, err)
			}
			if len(n.Content) == 0 {
				continue
			}
			d := &document{file: s.Name, node: n.Content[0]}
			if err := n.Decode(d); err != nil {
				return nil, fmt.Errorf("%s: line %d: %w", s.Name, n.Content[0].Line, err)
			}
			docs = append(docs, d)
		}
	}
	byRef := map[string]*document{}
	corrs := map[string]bool{}
	for _, d := range docs {
		if d.Corr != nil {
			corrs[d.ID], corrs[d.Name] = true, true
			continue
		}
		if d.ID != "" {
			byRef[d.ID] = d
		}
		if d.Name != "" {
			byRef[d.Name] = d
		}
	}
	delete(corrs, "")
	res := &Result{}
	found := false
	ids := map[string]*document{}
	for _, d := range docs {
		if d.Corr == nil {
			continue
		}
		found = true
		c := &converter{doc: d, corrs: corrs}
		spec, base := c.convert(byRef)
		if prev, ok := ids[spec.ID]; ok {
			// Two rules with one id make a file the loader rejects.
			c.fail(c.idNode(), "its spraywatch id %q is also that of %q at %s:%d: give the rules different names", spec.ID, prev.Title, prev.file, prev.node.Line)
		}
		if len(c.problems) > 0 {
			res.Problems = append(res.Problems, c.problems...)
			continue
		}
		ids[spec.ID] = d
		res.Rules = append(res.Rules, Converted{Spec: spec, File: d.file, Title: d.Title, Sigma: firstOf(d.Name, d.ID), Base: base})
	}
	if !found {
		return nil, errors.New("no Sigma correlation rule (a document with a `correlation:` section) in the input")
	}
	return res, nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

type converter struct {
	doc      *document
	corrs    map[string]bool // the ids and names of the correlation rules
	problems []Problem
}

func (c *converter) fail(n *yaml.Node, format string, args ...any) {
	p := Problem{File: c.doc.file, Rule: firstOf(c.doc.Title, c.doc.Name, c.doc.ID), Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line = n.Line
	} else if c.doc.node != nil {
		p.Line = c.doc.node.Line
	}
	c.problems = append(c.problems, p)
}

// at returns the node of a key path under the document, for positions.
func (c *converter) at(keys ...string) *yaml.Node {
	n := c.doc.node
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

var levels = map[string]string{
	"informational": "low", "low": "low", "medium": "medium", "high": "high", "critical": "critical",
}

var idChars = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

func (c *converter) convert(byRef map[string]*document) (rules.Spec, string) {
	d, corr := c.doc, c.doc.Corr
	var s rules.Spec
	s.ID = d.Name
	if !idChars.MatchString(s.ID) {
		s.ID = d.ID
	}
	if !idChars.MatchString(s.ID) {
		s.ID = slug(d.Title)
	}
	if s.ID == "" {
		c.fail(nil, "the rule has no name, id or title to take a spraywatch id from")
	}
	s.Description = d.Title
	if d.Level != "" {
		lv, ok := levels[d.Level]
		if !ok {
			c.fail(c.at("level"), "level %q: expected informational, low, medium, high or critical", d.Level)
		}
		s.Severity = lv
	}
	s.Technique = technique(d.Tags)

	switch corr.Type {
	case "value_count":
		s.Type = "distinct"
	case "event_count":
		s.Type = "count"
	case "":
		c.fail(c.at("correlation"), "correlation: type is missing")
	default:
		c.fail(c.at("correlation", "type"), "correlation type %q: only value_count and event_count can be converted", corr.Type)
	}
	if corr.Aliases.Kind != 0 {
		c.fail(&corr.Aliases, "aliases: field aliases across several base rules are not supported")
	}
	if len(corr.GroupBy) == 0 {
		c.fail(c.at("correlation"), "group-by is empty: a spraywatch rule counts per group, so at least one group-by field is needed")
	}
	for i, g := range corr.GroupBy {
		f, ok := MapField(g)
		if !ok {
			c.fail(c.at("correlation", "group-by").Content[i], "group-by field %q has no ECS mapping", g)
			continue
		}
		s.GroupBy = append(s.GroupBy, f)
	}
	w, err := timespan(corr.Timespan)
	if err != nil {
		c.fail(c.at("correlation", "timespan"), "timespan: %v", err)
	}
	s.Window = rules.Duration(w)
	field := c.condition(&s)
	if s.Type == "distinct" {
		switch {
		case field == "":
			c.fail(c.at("correlation", "condition"), "value_count needs the field whose distinct values are counted (condition.field)")
		default:
			f, ok := MapField(field)
			if !ok {
				c.fail(c.at("correlation", "condition"), "value_count field %q has no ECS mapping", field)
			}
			s.Distinct = f
		}
	} else if field != "" {
		c.fail(c.at("correlation", "condition"), "field %q: only value_count counts a field's values", field)
	}

	// The base rule.
	var baseName string
	switch len(corr.Rules) {
	case 0:
		c.fail(c.at("correlation"), "rules: the correlation names no base rule")
	case 1:
		base, ok := byRef[corr.Rules[0]]
		if !ok && c.corrs[corr.Rules[0]] {
			c.fail(c.at("correlation", "rules"), "base rule %q is a correlation rule: correlations of correlations cannot be converted", corr.Rules[0])
			break
		}
		if !ok {
			c.fail(c.at("correlation", "rules"), "base rule %q is not in the input files (give its file too)", corr.Rules[0])
			break
		}
		baseName = firstOf(base.Name, base.ID, base.Title)
		bc := &converter{doc: base}
		s.Match = bc.detection()
		for _, p := range bc.problems {
			p.Rule = c.problemsRule() + " (base rule " + baseName + ")"
			c.problems = append(c.problems, p)
		}
		if s.Technique == "" {
			s.Technique = technique(base.Tags)
		}
	default:
		c.fail(c.at("correlation", "rules"), "rules: %d base rules; a spraywatch rule has one filter, so only one base rule can be converted", len(corr.Rules))
	}
	if len(c.problems) == 0 {
		if _, err := rules.Compile(s); err != nil {
			at := (*yaml.Node)(nil)
			switch msg := err.Error(); {
			case strings.HasPrefix(msg, "window:"):
				at = c.at("correlation", "timespan")
			case strings.HasPrefix(msg, "threshold:"):
				at = c.at("correlation", "condition")
			}
			c.fail(at, "the converted rule does not compile: %v", err)
		}
	}
	return s, baseName
}

// idNode is the node the rule's spraywatch id comes from.
func (c *converter) idNode() *yaml.Node {
	for _, k := range []string{"name", "id", "title"} {
		if n := c.at(k); n != nil {
			return n
		}
	}
	return nil
}

func (c *converter) problemsRule() string { return firstOf(c.doc.Title, c.doc.Name, c.doc.ID) }

// technique returns the first ATT&CK technique tag spraywatch knows.
func technique(tags []string) string {
	for _, t := range tags {
		t = strings.ToLower(t)
		if !strings.HasPrefix(t, "attack.t") {
			continue
		}
		id := strings.ToUpper(strings.TrimPrefix(t, "attack."))
		probe := rules.Spec{ID: "x", GroupBy: []string{"source.ip"}, Window: rules.Duration(time.Minute), Threshold: 1, Technique: id}
		if _, err := rules.Compile(probe); err == nil {
			return id
		}
	}
	return ""
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

var timespanRE = regexp.MustCompile(`^(\d+)([smhd])$`)

func timespan(s string) (time.Duration, error) {
	m := timespanRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q: expected a number and s, m, h or d, such as 10m", s)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q: expected a positive number", s)
	}
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit, nil
}

// condition reads the correlation condition into the threshold and returns
// the value_count field (inside condition in Sigma 2.x, directly under
// correlation in older drafts).
func (c *converter) condition(s *rules.Spec) string {
	corr := c.doc.Corr
	n := &corr.Condition
	field := corr.Field
	if n.Kind != yaml.MappingNode {
		c.fail(c.at("correlation"), "condition: expected a mapping such as {gte: 10}")
		return field
	}
	got := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "field":
			if field != "" && field != v.Value {
				c.fail(k, "field is given twice (%q under correlation, %q in condition)", field, v.Value)
			}
			field = v.Value
		case "gte", "gt":
			if got {
				c.fail(k, "condition: more than one lower bound")
			}
			got = true
			t, err := strconv.Atoi(v.Value)
			if err != nil && errors.Is(err, strconv.ErrRange) && t > 0 || err == nil && t >= rules.MaxThreshold {
				if k.Value == "gte" && t == rules.MaxThreshold {
					s.Threshold = t
					continue
				}
				c.fail(v, "condition %s: %s is above spraywatch's threshold limit (%d)", k.Value, v.Value, rules.MaxThreshold)
				continue
			}
			if err != nil || t < 0 {
				c.fail(v, "condition %s: %q is not a whole number", k.Value, v.Value)
				continue
			}
			if k.Value == "gt" {
				t++
			}
			s.Threshold = t
		case "lt", "lte", "eq", "neq":
			c.fail(k, "condition %s: spraywatch rules fire when the count reaches a threshold; an upper bound or an equality cannot be expressed", k.Value)
		default:
			c.fail(k, "condition: unknown key %q", k.Value)
		}
	}
	if !got && len(c.problems) == 0 {
		c.fail(n, "condition: a gte or gt threshold is needed")
	}
	return field
}

// detection converts a base rule's detection into a match block.
func (c *converter) detection() map[string]rules.Condition {
	det := &c.doc.Det
	if det.Kind != yaml.MappingNode {
		c.fail(c.at("detection"), "detection: expected a mapping of selections and a condition")
		return nil
	}
	sels := map[string]*yaml.Node{}
	var cond *yaml.Node
	for i := 0; i+1 < len(det.Content); i += 2 {
		k, v := det.Content[i], det.Content[i+1]
		if k.Value == "condition" {
			cond = v
			continue
		}
		sels[k.Value] = v
	}
	if cond == nil || cond.Kind != yaml.ScalarNode {
		c.fail(det, "detection: condition: expected one expression such as `selection and not filter`")
		return nil
	}
	// selection (and [not] selection)*
	toks := strings.Fields(cond.Value)
	match := map[string]rules.Condition{}
	for i := 0; i < len(toks); {
		if i > 0 {
			if toks[i] != "and" {
				c.fail(cond, "condition %q: only `selection`, `and` and `and not` can be converted (found %q)", cond.Value, toks[i])
				return nil
			}
			i++
		}
		neg := false
		if i < len(toks) && toks[i] == "not" {
			neg = true
			i++
		}
		if i >= len(toks) {
			c.fail(cond, "condition %q: ends early", cond.Value)
			return nil
		}
		name := toks[i]
		i++
		sel, ok := sels[name]
		if !ok {
			c.fail(cond, "condition %q: %q is not a selection of this detection (wildcards, `1 of`, `all of` and parentheses are not supported)", cond.Value, name)
			return nil
		}
		c.selection(name, sel, neg, match)
	}
	return match
}

func (c *converter) selection(name string, n *yaml.Node, neg bool, match map[string]rules.Condition) {
	if n.Kind == yaml.SequenceNode && len(n.Content) == 1 && n.Content[0].Kind == yaml.MappingNode {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		c.fail(n, "selection %s: only a mapping of field tests can be converted (a list of mappings is an OR, a list of keywords a full-text search)", name)
		return
	}
	if neg && len(n.Content) != 2 {
		c.fail(n, "selection %s: `not` over several fields is an OR of negations, which a match block cannot express; use one field", name)
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		parts := strings.Split(k.Value, "|")
		ecs, ok := MapField(parts[0])
		if !ok {
			c.fail(k, "field %q has no ECS mapping", parts[0])
			continue
		}
		cond, ok := c.fieldTest(k, ecs, parts[1:], v)
		if !ok {
			continue
		}
		if neg {
			inner := cond
			cond = rules.Condition{Not: &inner}
		}
		if _, err := rules.CompileFilter(map[string]rules.Condition{ecs: cond}); err != nil {
			c.fail(k, "%v", err)
			continue
		}
		if old, ok := match[ecs]; ok {
			merged, ok := mergeConditions(old, cond)
			if !ok {
				c.fail(k, "field %s is tested twice in ways one condition cannot hold", ecs)
				continue
			}
			cond = merged
		}
		match[ecs] = cond
	}
}

// fieldTest converts one "field|modifiers: values" entry.
func (c *converter) fieldTest(k *yaml.Node, ecs string, mods []string, v *yaml.Node) (rules.Condition, bool) {
	var vals []string
	null := false
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			null = true
		} else {
			vals = []string{v.Value}
		}
	case yaml.SequenceNode:
		for _, e := range v.Content {
			if e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
				c.fail(e, "%s: only plain values can be converted", k.Value)
				return rules.Condition{}, false
			}
			vals = append(vals, e.Value)
		}
		if len(vals) == 0 {
			c.fail(v, "%s: the list is empty", k.Value)
			return rules.Condition{}, false
		}
	default:
		c.fail(v, "%s: expected a value or a list of values", k.Value)
		return rules.Condition{}, false
	}
	op, cased, reFlags := "", false, ""
	for _, m := range mods {
		switch m {
		case "contains", "startswith", "endswith", "re", "cidr", "exists":
			if op != "" {
				c.fail(k, "%s: modifiers %s and %s together are not supported", k.Value, op, m)
				return rules.Condition{}, false
			}
			op = m
		case "cased":
			cased = true
		case "i", "m", "s":
			reFlags += m
		case "all":
			if len(vals) > 1 {
				c.fail(k, "%s: |all (every value at once) cannot be expressed on one field", k.Value)
				return rules.Condition{}, false
			}
		default:
			c.fail(k, "%s: modifier |%s is not supported", k.Value, m)
			return rules.Condition{}, false
		}
	}
	if reFlags != "" && op != "re" {
		c.fail(k, "%s: regex flags need |re", k.Value)
		return rules.Condition{}, false
	}
	f, _ := event.LookupField(ecs)
	canon, hasCanon := canonicalCase[f]
	if f == event.TLSSHA1 || f == event.TLSSHA256 {
		canon = func(s string) string { return strings.ReplaceAll(strings.ToLower(s), ":", "") }
	}
	if _, derived := rules.LookupKey(ecs); derived && ecs != f.String() {
		c.fail(k, "%s: %s is a derived key; match blocks test event fields", k.Value, ecs)
		return rules.Condition{}, false
	}
	// Sigma compares strings without regard to case unless |cased.
	insensitive := !cased && !hasCanon && anyLetter(vals)
	if hasCanon && !cased {
		for i := range vals {
			vals[i] = canon(vals[i])
		}
	}
	if null && op != "" && op != "exists" {
		c.fail(v, "%s: null (the field is absent) takes no |%s", k.Value, op)
		return rules.Condition{}, false
	}
	// Wildcards and escapes are Sigma's in plain, |contains, |startswith
	// and |endswith values; |re, |cidr and |exists values are taken as
	// written.
	pvals := make([]pattern, len(vals))
	anyWild := false
	lits := make([]string, len(vals))
	for i, s := range vals {
		pvals[i] = sigmaPattern(s)
		anyWild = anyWild || pvals[i].wild
		lits[i] = pvals[i].lit
	}
	quoted := func(anchorStart, anchorEnd bool) string {
		alts := make([]string, len(pvals))
		for i, p := range pvals {
			alts[i] = p.re
		}
		re := strings.Join(alts, "|")
		if len(alts) > 1 {
			re = "(?:" + re + ")"
		}
		if anchorStart {
			re = "^" + re
		}
		if anchorEnd {
			re += "$"
		}
		// Sigma's wildcards stand for any characters, line breaks too.
		switch {
		case insensitive && anyWild:
			re = "(?is)" + re
		case insensitive:
			re = "(?i)" + re
		case anyWild:
			re = "(?s)" + re
		}
		return re
	}
	switch op {
	case "":
		if null {
			f := false
			return rules.Condition{Exists: &f}, true
		}
		if anyWild || insensitive {
			return rules.Condition{Regex: quoted(true, true)}, true
		}
		if len(lits) == 1 {
			return rules.Condition{Equals: &lits[0]}, true
		}
		return rules.Condition{In: lits}, true
	case "exists":
		if len(vals) != 1 || (vals[0] != "true" && vals[0] != "false") {
			c.fail(v, "%s: expected true or false", k.Value)
			return rules.Condition{}, false
		}
		b := vals[0] == "true"
		return rules.Condition{Exists: &b}, true
	case "contains":
		return rules.Condition{Regex: quoted(false, false)}, true
	case "startswith":
		if insensitive || anyWild {
			return rules.Condition{Regex: quoted(true, false)}, true
		}
		return rules.Condition{Prefix: lits}, true
	case "endswith":
		return rules.Condition{Regex: quoted(false, true)}, true
	case "re":
		alts := make([]string, len(vals))
		for i, s := range vals {
			alts[i] = s
			if len(vals) > 1 {
				alts[i] = "(?:" + s + ")"
			}
		}
		re := strings.Join(alts, "|")
		if reFlags != "" {
			re = "(?" + reFlags + ")" + re
		}
		return rules.Condition{Regex: re}, true
	case "cidr":
		return rules.Condition{CIDR: vals}, true
	}
	return rules.Condition{}, false
}

func anyLetter(vals []string) bool {
	for _, s := range vals {
		for _, r := range s {
			if strings.ToLower(string(r)) != strings.ToUpper(string(r)) {
				return true
			}
		}
	}
	return false
}

// pattern is a Sigma string value: re is its regular expression (the
// wildcards * and ? as .* and ., to be matched with the s flag, the rest
// quoted), lit its text with
// escapes removed, and wild whether it holds an unescaped wildcard.
type pattern struct {
	re, lit string
	wild    bool
}

// sigmaPattern reads a Sigma value: * and ? are wildcards, and a
// backslash before *, ? or a backslash makes that character literal; any
// other backslash is itself.
func sigmaPattern(s string) pattern {
	var re, lit strings.Builder
	var p pattern
	for j := 0; j < len(s); j++ {
		switch ch := s[j]; {
		case ch == '\\' && j+1 < len(s) && strings.IndexByte(`*?\`, s[j+1]) >= 0:
			re.WriteString(regexp.QuoteMeta(s[j+1 : j+2]))
			lit.WriteByte(s[j+1])
			j++
		case ch == '*':
			re.WriteString(".*")
			p.wild = true
		case ch == '?':
			re.WriteString(".")
			p.wild = true
		default:
			re.WriteString(regexp.QuoteMeta(s[j : j+1]))
			lit.WriteByte(ch)
		}
	}
	p.re, p.lit = re.String(), lit.String()
	return p
}

// mergeConditions ANDs two conditions on one field when no test slot is
// used by both.
func mergeConditions(a, b rules.Condition) (rules.Condition, bool) {
	clash := a.Equals != nil && b.Equals != nil || a.In != nil && b.In != nil ||
		a.Prefix != nil && b.Prefix != nil || a.Regex != "" && b.Regex != "" ||
		a.CIDR != nil && b.CIDR != nil || a.Exists != nil && b.Exists != nil || a.Not != nil && b.Not != nil
	if clash {
		return a, false
	}
	if b.Equals != nil {
		a.Equals = b.Equals
	}
	if b.In != nil {
		a.In = b.In
	}
	if b.Prefix != nil {
		a.Prefix = b.Prefix
	}
	if b.Regex != "" {
		a.Regex = b.Regex
	}
	if b.CIDR != nil {
		a.CIDR = b.CIDR
	}
	if b.Exists != nil {
		a.Exists = b.Exists
	}
	if b.Not != nil {
		a.Not = b.Not
	}
	return a, true
}
