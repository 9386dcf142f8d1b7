package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/internal/yamlerr"
	"github.com/spraywatch/spraywatch/internal/yamlnum"
)

// Level is how serious a lint finding is.
type Level uint8

// Lint levels: errors make a file unusable or a rule unable to fire;
// warnings are very likely mistakes; notes are worth a look.
const (
	LevelError Level = iota + 1
	LevelWarning
	LevelNote
)

func (l Level) String() string {
	switch l {
	case LevelError:
		return "error"
	case LevelWarning:
		return "warning"
	}
	return "note"
}

// Finding is one problem lint found, with its position in the file.
type Finding struct {
	File   string
	Line   int // 1-based; 0 when unknown
	Column int
	Rule   string // rule id, when the finding is about one rule
	Level  Level
	Msg    string
}

func (f Finding) String() string {
	return f.pos() + ": " + f.Level.String() + ": " + f.msg()
}

// pos is file:line:column, as much of it as is known.
func (f Finding) pos() string {
	pos := f.File
	if f.Line > 0 {
		pos += ":" + strconv.Itoa(f.Line)
		if f.Column > 0 {
			pos += ":" + strconv.Itoa(f.Column)
		}
	}
	return pos
}

// msg is the message with the rule it is about.
func (f Finding) msg() string {
	if f.Rule != "" {
		return "rule " + f.Rule + ": " + f.Msg
	}
	return f.Msg
}

// loadErrors lints one file as the loader reads it and returns its errors,
// each at its line as lint reports it; nil when there are none.
func loadErrors(name string, data []byte) error {
	fs, _ := lint(name, data, LintOptions{load: true})
	sortFindings(fs)
	var errs []error
	for _, f := range fs {
		if f.Level == LevelError {
			errs = append(errs, errors.New(f.pos()+": "+f.msg()))
		}
	}
	return errors.Join(errs...)
}

// LintOptions holds what lint knows about the engine the rules run in.
type LintOptions struct {
	// MaxGroupEvents is the number of events one group's window keeps
	// (detect.DefaultMaxGroupEvents unless configured); 0 skips the checks
	// that need it.
	MaxGroupEvents int
	// Extend: the files extend the default pack, so an id that a default
	// rule has is a replacement (noted), not a mistake.
	Extend bool
	// Now is the time expired suppressions are judged against; zero skips
	// the check.
	Now time.Time

	// load: only the checks the loader makes, so that it reports its
	// errors as lint does: no semantics, and no judging of a file of
	// suppressions only, which the loader leaves to its caller.
	load bool
}

// LongWindow is the window from which a distinct rule with threshold 1 is
// reported: it fires on the first event of every group and stays open for
// hours.
const LongWindow = time.Hour

// LintFiles lints rules files: each on its own (see Lint), then ids
// duplicated across files and suppressions naming unknown rules: an error
// for a file's top-level suppressions, which the loader rejects, and a
// warning for a rule's own, whose rules key the loader does not read.
func LintFiles(paths []string, opt LintOptions) ([]Finding, error) {
	var out []Finding
	type where struct {
		file string
		line int
	}
	ids := map[string]where{}
	// defaults: the default rules a file can replace or switch off;
	// known: the ids a suppression may name, disabled rules included.
	var defaults map[string]bool
	known := map[string]bool{}
	if opt.Extend {
		defaults = map[string]bool{}
		d := defaultFile()
		for _, r := range d.rules {
			defaults[r.ID] = true
		}
		d.addIDs(known)
	}
	var refs []ruleRef
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading rules: %w", err)
		}
		fs, l := lint(p, data, opt)
		out = append(out, fs...)
		for _, r := range l.rules {
			if w, ok := ids[r.id]; ok && w.file != p {
				out = append(out, Finding{File: p, Line: r.line, Column: r.column, Rule: r.id, Level: LevelError,
					Msg: fmt.Sprintf("duplicate id: also defined at %s:%d (the later file replaces it when loaded)", w.file, w.line)})
				continue
			}
			ids[r.id] = where{p, r.line}
			switch {
			case defaults[r.id] && r.disabled:
				out = append(out, Finding{File: p, Line: r.line, Column: r.column, Rule: r.id, Level: LevelNote,
					Msg: "disabled: switches off the default pack rule with the same id"})
			case defaults[r.id]:
				out = append(out, Finding{File: p, Line: r.line, Column: r.column, Rule: r.id, Level: LevelNote,
					Msg: "replaces the default pack rule with the same id"})
			}
		}
		refs = append(refs, l.refs...)
	}
	for _, ref := range refs {
		if _, ok := ids[ref.id]; ok || known[ref.id] {
			continue
		}
		if ref.top {
			out = append(out, Finding{File: ref.file, Line: ref.line, Column: ref.column, Level: LevelError,
				Msg: fmt.Sprintf("suppression names rule %q, which none of the files defines (nor the default pack, when extended)", ref.id)})
			continue
		}
		out = append(out, Finding{File: ref.file, Line: ref.line, Column: ref.column, Rule: ref.rule, Level: LevelWarning,
			Msg: fmt.Sprintf("suppression names rule %q, which none of the files defines; a rule's own suppressions apply to it whatever they name", ref.id)})
	}
	sortFindings(out)
	return out, nil
}

// Lint checks one rules file: YAML syntax, unknown keys, values Compile
// rejects (each at its line), then filters that can never match and
// thresholds that can never be reached.
func Lint(name string, data []byte, opt LintOptions) []Finding {
	fs, _ := lint(name, data, opt)
	sortFindings(fs)
	return fs
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Level == LevelError {
			return true
		}
	}
	return false
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].File != fs[j].File {
			return false // keep file order
		}
		return fs[i].Line < fs[j].Line
	})
}

type ruleRef struct {
	file, id     string
	line, column int
	rule         string // the rule whose own suppression names id
	disabled     bool   // a rule written with disabled: true
	top          bool   // named by a top-level suppression
}

type lintedFile struct {
	rules []ruleRef
	refs  []ruleRef // suppressions' rule names
}

type linter struct {
	name string
	opt  LintOptions
	out  []Finding
}

func (l *linter) add(n *yaml.Node, rule string, lvl Level, format string, args ...any) {
	f := Finding{File: l.name, Rule: rule, Level: lvl, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		f.Line, f.Column = n.Line, n.Column
	}
	l.out = append(l.out, f)
}

func lint(name string, data []byte, opt LintOptions) ([]Finding, lintedFile) {
	l := &linter{name: name, opt: opt}
	var lf lintedFile
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.add(nil, "", LevelError, "no rules (expected a top-level `rules:` list)")
			return l.out, lf
		}
		l.decodeError(nil, nil, "", err)
		return l.out, lf
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		l.add(root, "", LevelError, "expected a mapping with a `rules:` list")
		return l.out, lf
	}
	var rulesNode *yaml.Node
	hasSups := false
	top := pairs(root)
	for i := 0; i+1 < len(top); i += 2 {
		k, v := top[i], deref(top[i+1])
		switch k.Value {
		case "rules":
			rulesNode = v
		case "suppressions":
			hasSups = v.Kind == yaml.SequenceNode && len(v.Content) > 0
			lf.refs = append(lf.refs, l.suppressions(v, "")...)
		default:
			l.add(k, "", LevelError, "unknown key %q (expected rules, suppressions)", k.Value)
		}
	}
	if noRules(rulesNode) && hasSups {
		// A file of suppressions only: they apply to the default pack
		// (and to the other files' rules).
		if !opt.Extend && !opt.load {
			l.add(root, "", LevelError, "no rules, only suppressions: they apply to the default pack, which is not extended")
		}
		return l.out, lf
	}
	if rulesNode == nil || rulesNode.Kind != yaml.SequenceNode || len(rulesNode.Content) == 0 {
		at := root
		if rulesNode != nil {
			at = rulesNode
		}
		l.add(at, "", LevelError, "no rules (expected a top-level `rules:` list)")
		return l.out, lf
	}
	seen := map[string]int{}
	for i, rn := range rulesNode.Content {
		rn = deref(rn)
		id, disabled := l.rule(rn, i, &lf)
		if id == "" {
			continue
		}
		if line, ok := seen[id]; ok {
			l.add(rn, id, LevelError, "duplicate id: also defined at line %d", line)
			continue
		}
		seen[id] = rn.Line
		lf.rules = append(lf.rules, ruleRef{file: name, id: id, line: rn.Line, column: rn.Column, disabled: disabled})
	}
	return l.out, lf
}

// knownKeys lists the YAML keys of a struct type.
func knownKeys(t reflect.Type) map[string]bool {
	m := map[string]bool{}
	for _, k := range yamlerr.Keys(t) {
		m[k] = true
	}
	return m
}

func keyList(m map[string]bool) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

var (
	specKeys        = knownKeys(reflect.TypeFor[Spec]())
	conditionKeys   = knownKeys(reflect.TypeFor[Condition]())
	baselineKeys    = knownKeys(reflect.TypeFor[BaselineSpec]())
	suppressionKeys = knownKeys(reflect.TypeFor[Suppression]())
)

// noRules reports whether a rules: value (nil when the key is absent)
// holds no rules, as the loader sees it.
func noRules(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.SequenceNode && len(n.Content) == 0 ||
		n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// pairs returns the keys and values of mapping m, alternating as in
// m.Content, with the mappings merged in by `<<` keys (a YAML anchor and
// alias) expanded: m's own keys first, so that keyNode finds the key the
// decoder uses. It returns nil for other nodes.
func pairs(m *yaml.Node) []*yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var own, merged []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!merge" {
			own = append(own, k, v)
			continue
		}
		for _, src := range mergeSources(v) {
			merged = append(merged, pairs(src)...)
		}
	}
	if merged == nil {
		return m.Content
	}
	return append(own, merged...)
}

// mergeSources returns the mappings a `<<` value names: one alias or a
// list of them. Other values are left to the decoder to reject.
func mergeSources(v *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	switch v.Kind {
	case yaml.AliasNode:
		out = append(out, v.Alias)
	case yaml.MappingNode:
		out = append(out, v)
	case yaml.SequenceNode:
		for _, c := range v.Content {
			if c.Kind == yaml.AliasNode {
				out = append(out, c.Alias)
			}
		}
	}
	return out
}

// keyNode returns the key and value nodes of key in mapping m; an alias
// value is returned as the node it names.
func keyNode(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	kv := pairs(m)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i].Value == key {
			return kv[i], deref(kv[i+1])
		}
	}
	return nil, nil
}

// deref returns the node an alias names, and any other node itself.
func deref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// unknown reports keys of mapping n not in known; it returns false when n
// is not a mapping.
func (l *linter) unknown(n *yaml.Node, known map[string]bool, rule, what string) bool {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		l.add(n, rule, LevelError, "%s: expected a mapping", what)
		return false
	}
	kv := pairs(n)
	for i := 0; i+1 < len(kv); i += 2 {
		if k := kv[i]; !known[k.Value] {
			l.add(k, rule, LevelError, "%s: unknown key %q (known: %s)", what, k.Value, keyList(known))
		}
	}
	return true
}

func (l *linter) conditionKeys(n *yaml.Node, rule, field string) {
	if n = deref(n); n.Kind != yaml.MappingNode {
		return
	}
	l.unknown(n, conditionKeys, rule, "match: "+field)
	if _, v := keyNode(n, "not"); v != nil {
		l.conditionKeys(v, rule, field+": not")
	}
}

func (l *linter) suppressions(n *yaml.Node, rule string) []ruleRef {
	if n.Kind != yaml.SequenceNode {
		l.add(n, rule, LevelError, "suppressions: expected a list")
		return nil
	}
	var refs []ruleRef
	for i, sn := range n.Content {
		if !l.unknown(sn, suppressionKeys, rule, fmt.Sprintf("suppression #%d", i+1)) {
			continue
		}
		if _, m := keyNode(sn, "match"); m != nil && m.Kind == yaml.MappingNode {
			kv := pairs(m)
			for j := 1; j < len(kv); j += 2 {
				l.conditionKeys(kv[j], rule, kv[j-1].Value)
			}
		}
		var s Suppression
		if err := sn.Decode(&s); err != nil {
			before := len(l.out)
			l.decodeError(sn, reflect.TypeFor[Suppression](), rule, err)
			for j := before; j < len(l.out); j++ {
				l.out[j].Msg = fmt.Sprintf("suppression #%d: %s", i+1, l.out[j].Msg)
			}
			continue
		}
		if _, err := CompileSuppression(s); err != nil {
			l.add(sn, rule, LevelError, "suppression #%d: %v", i+1, err)
			continue
		}
		if !l.opt.Now.IsZero() && s.Expires != "" {
			if t, err := time.Parse(time.RFC3339, s.Expires); err == nil && t.Before(l.opt.Now) {
				k, _ := keyNode(sn, "expires")
				l.add(k, rule, LevelWarning, "suppression #%d (%s) expired on %s", i+1, s.Reason, s.Expires)
			}
		}
		_, rn := keyNode(sn, "rules")
		for j, id := range s.Rules {
			at := sn
			if rn != nil && j < len(rn.Content) {
				at = rn.Content[j]
			}
			refs = append(refs, ruleRef{file: l.name, id: id, line: at.Line, column: at.Column, rule: rule, top: rule == ""})
		}
	}
	return refs
}

// decodeError adds an error from the YAML decoder, one finding per
// problem, at the line the decoder names or else at n.
func (l *linter) decodeError(n *yaml.Node, t reflect.Type, rule string, err error) {
	var de *durationError
	if errors.As(err, &de) {
		f := Finding{File: l.name, Rule: rule, Level: LevelError, Line: de.node.Line, Column: de.node.Column, Msg: de.msg}
		if path, k := keyOf(n, de.node); k != nil {
			f.Line, f.Column, f.Msg = k.Line, k.Column, path+": "+de.msg
		}
		l.out = append(l.out, f)
		return
	}
	ms := yamlerr.Messages(err)
	if n != nil && t != nil {
		ms = yamlerr.Explain(n, t, err) // the key and the whole value
	}
	for _, m := range ms {
		m.FindKey(n)
		f := Finding{File: l.name, Rule: rule, Level: LevelError, Line: m.Line, Msg: m.String()}
		if f.Line == 0 && n != nil {
			f.Line = n.Line
		}
		if m.Key == "" && strings.HasPrefix(m.Msg, "expected ") {
			// A list or mapping where a value of another type belongs:
			// the decoder names no value to find it by, but one key alone
			// may start such a value on the line.
			var keys []string
			eachKey(n, func(p string, k, v *yaml.Node) bool {
				if v = deref(v); k.Line == m.Line && v.Line == m.Line && v.Kind != yaml.ScalarNode {
					keys = append(keys, p)
				}
				return true
			})
			if len(keys) == 1 {
				m.Key = keys[0]
				f.Msg = m.String()
			}
		}
		if m.Key != "" {
			if k := keyAt(n, m.Key, m.Line); k != nil {
				f.Line, f.Column = k.Line, k.Column
			}
		}
		l.out = append(l.out, f)
	}
}

// keyOf returns the path of keys ("baseline: warmup") to value node v
// within n, and the key v is under; nil when v is not a value of a
// mapping in n.
func keyOf(n, v *yaml.Node) (string, *yaml.Node) {
	var path string
	var key *yaml.Node
	eachKey(n, func(p string, k, c *yaml.Node) bool {
		if c == v || deref(c) == v {
			path, key = p, k
			return false
		}
		return true
	})
	return path, key
}

// keyAt returns the key at path (as yamlerr writes paths) within n whose
// value starts on line; nil when there is none or more than one.
func keyAt(n *yaml.Node, path string, line int) *yaml.Node {
	var found []*yaml.Node
	eachKey(n, func(p string, k, c *yaml.Node) bool {
		if p == path && deref(c).Line == line {
			found = append(found, k)
		}
		return true
	})
	if len(found) != 1 {
		return nil
	}
	return found[0]
}

// eachKey calls fn with the path, key and value of every mapping entry
// within n, merged entries included, in document order, until fn returns
// false.
func eachKey(n *yaml.Node, fn func(path string, k, v *yaml.Node) bool) {
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node, path string) bool
	walk = func(n *yaml.Node, path string) bool {
		if n = deref(n); n == nil || seen[n] {
			return true
		}
		seen[n] = true
		switch n.Kind {
		case yaml.MappingNode:
			kv := pairs(n)
			for i := 0; i+1 < len(kv); i += 2 {
				k, c := kv[i], kv[i+1]
				p := k.Value
				if path != "" {
					p = path + ": " + p
				}
				if !fn(p, k, c) || !walk(c, p) {
					return false
				}
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				if !walk(c, path) {
					return false
				}
			}
		}
		return true
	}
	walk(n, "")
}

// compileKeys maps the key an error from Compile starts with to the key
// whose line it is reported at.
var compileKeys = []string{"id", "severity", "match", "group_by", "distinct", "window", "threshold",
	"cooldown", "resolve_after", "technique", "suppress", "identity_map", "type", "unresolved",
	"min_events", "max_success_users", "ratio", "min_attempts", "baseline"}

// rule lints one rule and returns its id (a label such as "#2" when it
// has none) and whether it is disabled. A disabled rule is checked as the
// loader checks it: its keys, value types and id, not its other values.
func (l *linter) rule(rn *yaml.Node, i int, lf *lintedFile) (string, bool) {
	label := fmt.Sprintf("#%d", i+1)
	if _, v := keyNode(rn, "id"); v != nil && v.Kind == yaml.ScalarNode && v.Value != "" {
		label = v.Value
	}
	before := len(l.out)
	if !l.unknown(rn, specKeys, label, "rule") {
		return "", false
	}
	if _, m := keyNode(rn, "match"); m != nil && m.Kind == yaml.MappingNode {
		kv := pairs(m)
		for j := 1; j < len(kv); j += 2 {
			l.conditionKeys(kv[j], label, kv[j-1].Value)
		}
	}
	if _, b := keyNode(rn, "baseline"); b != nil && b.Kind == yaml.MappingNode {
		l.unknown(b, baselineKeys, label, "baseline")
	}
	if _, s := keyNode(rn, "suppress"); s != nil {
		lf.refs = append(lf.refs, l.suppressions(s, label)...)
	}
	if HasErrors(l.out[before:]) {
		return label, false // unknown keys: decoding would report them again
	}
	var s Spec
	if err := rn.Decode(&s); err != nil {
		l.decodeError(rn, reflect.TypeFor[Spec](), label, err)
		return label, false
	}
	if err := yamlnum.CheckInts(rn, reflect.TypeFor[Spec]()); err != nil {
		l.decodeError(rn, reflect.TypeFor[Spec](), label, err)
		return label, false
	}
	if s.Disabled {
		if err := checkID(s.ID); err != nil {
			at := rn
			if k, _ := keyNode(rn, "id"); k != nil {
				at = k
			}
			l.add(at, label, LevelError, "%s", err)
		}
		return label, true
	}
	if s.IdentityMap != "" && !filepath.IsAbs(s.IdentityMap) {
		s.IdentityMap = filepath.Join(filepath.Dir(l.name), s.IdentityMap)
	}
	r, err := Compile(s)
	if err != nil {
		at := rn
		msg := err.Error()
		for _, k := range compileKeys {
			if strings.HasPrefix(msg, k+":") || strings.HasPrefix(msg, k+" ") {
				if kn, _ := keyNode(rn, k); kn != nil {
					at = kn
				}
				break
			}
		}
		l.add(at, label, LevelError, "%s", msg)
		return label, false
	}
	if !l.opt.load {
		l.semantics(rn, r)
	}
	return r.ID, false
}

// fieldFacts is what a rule's match block says about one field's value.
type fieldFacts struct {
	empty    bool     // the value must be empty
	nonEmpty bool     // the value must not be empty
	values   []string // when set, the value must be one of these
	line     *yaml.Node
}

func facts(r *Rule, rn *yaml.Node) map[event.Field]*fieldFacts {
	_, mn := keyNode(rn, "match")
	out := map[event.Field]*fieldFacts{}
	for name, c := range r.Spec.Match {
		f, ok := event.LookupField(name)
		if !ok {
			continue
		}
		ff := out[f]
		if ff == nil {
			ff = &fieldFacts{}
			out[f] = ff
		}
		ff.line, _ = keyNode(mn, name)
		if c.Equals != nil {
			ff.values = intersect(ff.values, []string{*c.Equals})
		}
		if c.In != nil {
			ff.values = intersect(ff.values, c.In)
		}
		if c.Exists != nil {
			if *c.Exists {
				ff.nonEmpty = true
			} else {
				ff.empty = true
			}
		}
		if len(c.CIDR) > 0 || len(c.Prefix) > 0 && !containsStr(c.Prefix, "") {
			ff.nonEmpty = true
		}
		if c.Regex != "" {
			if re, err := regexp.Compile(c.Regex); err == nil && !re.MatchString("") {
				ff.nonEmpty = true
			}
		}
		if c.Not != nil {
			n := c.Not
			switch {
			case n.Exists != nil && *n.Exists:
				ff.empty = true
			case n.Exists != nil && !*n.Exists:
				ff.nonEmpty = true
			case n.Equals != nil && ff.values != nil:
				ff.values = remove(ff.values, []string{*n.Equals})
			case n.In != nil && ff.values != nil:
				ff.values = remove(ff.values, n.In)
			}
			if n.Equals != nil && *n.Equals == "" || n.In != nil && containsStr(n.In, "") {
				ff.nonEmpty = true
			}
		}
		// equals/in with prefix on the same field.
		if ff.values != nil && len(c.Prefix) > 0 {
			var keep []string
			for _, v := range ff.values {
				for _, p := range c.Prefix {
					if strings.HasPrefix(v, p) {
						keep = append(keep, v)
						break
					}
				}
			}
			ff.values = nonNil(keep)
		}
		if ff.values != nil && c.Regex != "" {
			if re, err := regexp.Compile(c.Regex); err == nil {
				var keep []string
				for _, v := range ff.values {
					if re.MatchString(v) {
						keep = append(keep, v)
					}
				}
				ff.values = nonNil(keep)
			}
		}
		if ff.values != nil {
			if ff.empty {
				ff.values = intersect(ff.values, []string{""})
			}
			if ff.nonEmpty {
				ff.values = remove(ff.values, []string{""})
			}
			if len(ff.values) == 1 && ff.values[0] == "" {
				ff.empty = true
			}
		}
	}
	return out
}

func containsStr(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// intersect: a nil have means "any value".
func intersect(have, with []string) []string {
	if have == nil {
		return nonNil(append([]string(nil), with...))
	}
	var out []string
	for _, v := range have {
		if containsStr(with, v) {
			out = append(out, v)
		}
	}
	return nonNil(out)
}

func remove(have, drop []string) []string {
	var out []string
	for _, v := range have {
		if !containsStr(drop, v) {
			out = append(out, v)
		}
	}
	return nonNil(out)
}

// keyFields lists the event fields a key reads.
func keyFields(k Key) []event.Field {
	switch k.Derived {
	case DerivedSubnet:
		return []event.Field{event.SourceIP}
	case DerivedResponseClass:
		return []event.Field{event.Status}
	}
	return []event.Field{k.Field}
}

// knownValues are the values some fields can take at most.
var knownValues = map[event.Field][]string{
	event.Outcome: {event.OutcomeSuccess, event.OutcomeFailure, event.OutcomeUnknown},
	event.Join:    {event.JoinMatched, event.JoinAppOnly, event.JoinProxyOnly, event.JoinEvicted},
}

func (l *linter) semantics(rn *yaml.Node, r *Rule) {
	id := r.ID
	ff := facts(r, rn)
	at := func(key string) *yaml.Node {
		if k, _ := keyNode(rn, key); k != nil {
			return k
		}
		return rn
	}
	never := false
	for f, x := range ff {
		switch {
		case x.values != nil && len(x.values) == 0:
			l.add(x.line, id, LevelError, "match: the tests on %s contradict each other, so no event can match", f)
			never = true
		case x.empty && x.nonEmpty:
			l.add(x.line, id, LevelError, "match: %s must be both empty and present, so no event can match", f)
			never = true
		}
	}
	if never {
		return
	}
	forcedEmpty := func(k Key) bool {
		for _, f := range keyFields(k) {
			if x := ff[f]; x != nil && x.empty {
				return true
			}
		}
		return false
	}
	allEmpty := true
	for _, k := range r.GroupBy {
		if !forcedEmpty(k) {
			allEmpty = false
		}
	}
	if allEmpty {
		l.add(at("group_by"), id, LevelError, "group_by: the match block forces every group_by field empty, and events without a group are not counted: the rule can never fire")
	}
	if r.HasDistinct && forcedEmpty(r.Distinct) {
		l.add(at("distinct"), id, LevelError, "distinct: the match block forces %s empty, and empty values are not counted: the rule can never fire", r.Distinct)
	}
	// Outcomes the filter lets through.
	outcomes := knownValues[event.Outcome]
	if x := ff[event.Outcome]; x != nil && x.values != nil {
		outcomes = intersect(outcomes, x.values)
	}
	if x := ff[event.Outcome]; x != nil && x.empty {
		outcomes = nil
	}
	fail, succ := containsStr(outcomes, event.OutcomeFailure), containsStr(outcomes, event.OutcomeSuccess)
	switch {
	case r.Unresolved && !fail:
		l.add(at("unresolved"), id, LevelError, "unresolved: counts usernames whose attempts all failed, but the match block lets no failure through: the rule can never fire")
	case r.Type == TypeRatio && !fail:
		l.add(at("match"), id, LevelError, "ratio: the match block lets no failure through, so the failure ratio is always 0")
	case r.Type == TypeRatio && !succ:
		l.add(at("match"), id, LevelNote, "ratio: the match block lets only failures through, so the ratio is always 1 and the rule is a count of %d attempts", r.MinAttempts)
	case r.Type == TypeSequence && (!fail || !succ):
		l.add(at("match"), id, LevelError, "sequence: needs failures then a success, but the match block filters out %s", map[bool]string{true: "failures", false: "successes"}[!fail])
	}
	// Thresholds that cannot be reached.
	if r.HasDistinct && r.Distinct.Derived == NotDerived && (r.Type == TypeDistinct || r.Type == TypeSequence) {
		possible := -1
		if x := ff[r.Distinct.Field]; x != nil && x.values != nil {
			possible = len(x.values)
		} else if kv, ok := knownValues[r.Distinct.Field]; ok {
			possible = len(kv)
		}
		if possible >= 0 && r.Threshold > possible {
			l.add(at("threshold"), id, LevelError, "threshold: %d distinct values of %s are needed, but only %d can pass the filter: the rule can never fire", r.Threshold, r.Distinct, possible)
		}
	}
	if m := l.opt.MaxGroupEvents; m > 0 {
		need := 0
		what := ""
		switch r.Type {
		case TypeCount:
			need, what = r.Threshold, "threshold"
		case TypeDistinct, TypeSequence:
			if r.Spec.Window <= Duration(LongWindow) || r.Unresolved {
				need, what = r.Threshold, "threshold"
			}
		case TypeRatio:
			need, what = r.MinAttempts, "min_attempts"
		}
		if need > m {
			l.add(at(what), id, LevelError, "%s: %d events are needed in one group's window, but a window keeps at most %d: the rule can never fire", what, need, m)
		}
		if r.MinEvents > m {
			l.add(at("min_events"), id, LevelError, "min_events: %d is more than the %d events a window keeps: the rule can never fire", r.MinEvents, m)
		}
	}
	if r.HasDistinct && r.Type == TypeDistinct && r.MinEvents > 0 && r.MinEvents <= r.Threshold {
		l.add(at("min_events"), id, LevelNote, "min_events: %d adds nothing: %d distinct values already take at least %d events", r.MinEvents, r.Threshold, r.Threshold)
	}
	if r.Threshold == 1 && r.Type == TypeDistinct && r.Window >= LongWindow {
		l.add(at("threshold"), id, LevelWarning, "threshold 1 with a %s window: every group fires on its first event and stays open for %s", shortDur(r.Window), shortDur(r.Window))
	} else if r.Threshold == 1 && (r.Type == TypeDistinct || r.Type == TypeCount) && r.IdentityMap == nil {
		l.add(at("threshold"), id, LevelNote, "threshold 1: every matching event opens an incident")
	}
	switch {
	case r.Spec.Cooldown != nil && r.Cooldown == 0:
		l.add(at("cooldown"), id, LevelNote, "cooldown 0s is none: a group's next incident may open as soon as one resolves, its campaign still in the %s window", shortDur(r.Window))
	case r.Spec.Cooldown != nil && r.Cooldown < r.Window:
		l.add(at("cooldown"), id, LevelNote, "cooldown %s is shorter than the %s window: a campaign still in the window can open a new incident", shortDur(r.Cooldown), shortDur(r.Window))
	}
	if len(r.Spec.Match) == 0 {
		l.add(rn, id, LevelWarning, "no match block: the rule sees every event, successes and non-login requests included")
	}
}

// shortDur writes 10m rather than 10m0s.
func shortDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
