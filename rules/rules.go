// Package rules reads spraywatch's declarative YAML detection rules and
// compiles them once into filters, group keys and thresholds.
package rules

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/internal/yamlerr"
	"github.com/spraywatch/spraywatch/internal/yamlnum"
)

//go:embed default.yml
var defaultPack []byte

// DefaultPack returns the text of the embedded default rule pack.
func DefaultPack() []byte { return append([]byte(nil), defaultPack...) }

// File is a rules file.
type File struct {
	Rules []Spec `yaml:"rules"`
	// Suppressions apply to the rules they name (all rules when they name
	// none), including default-pack rules when the file extends the pack.
	Suppressions []Suppression `yaml:"suppressions,omitempty"`
}

// Spec is one rule as written in YAML.
type Spec struct {
	ID           string               `yaml:"id"`
	Description  string               `yaml:"description"`
	Severity     string               `yaml:"severity"`
	Match        map[string]Condition `yaml:"match"`
	GroupBy      []string             `yaml:"group_by"`
	Distinct     string               `yaml:"distinct"`
	Window       Duration             `yaml:"window"`
	Threshold    int                  `yaml:"threshold"`
	Cooldown     *Duration            `yaml:"cooldown"`      // nil: the window; 0s: none
	ResolveAfter *Duration            `yaml:"resolve_after"` // nil: DefaultResolveAfter; 0s: at once
	Technique    string               `yaml:"technique"`
	Disabled     bool                 `yaml:"disabled"`

	// Type is distinct, count, ratio, sequence or baseline; empty means
	// distinct when Distinct is set and count otherwise.
	Type string `yaml:"type,omitempty"`
	// Unresolved counts only distinct values whose events in the window
	// are all failures: a username that later logged in successfully (a
	// typo, then the right password) stops counting.
	Unresolved bool `yaml:"unresolved,omitempty"`
	// MinEvents is a second condition: the window must also hold at least
	// this many events.
	MinEvents int `yaml:"min_events,omitempty"`
	// MaxSuccessUsers, when set, keeps the rule quiet while more than this
	// many distinct usernames logged in successfully in the group's window:
	// the mark of a shared certificate (a gateway, a kiosk).
	MaxSuccessUsers int `yaml:"max_success_users,omitempty"`
	// Ratio (ratio rules): the failure share, in (0, 1], at or above which
	// the rule fires once the window holds MinAttempts attempts.
	Ratio       float64 `yaml:"ratio,omitempty"`
	MinAttempts int     `yaml:"min_attempts,omitempty"`
	// Baseline (baseline rules): how the group's history is learned.
	Baseline *BaselineSpec `yaml:"baseline,omitempty"`
	// Suppress lists matches the rule ignores (counted as suppressed).
	Suppress []Suppression `yaml:"suppress,omitempty"`
	// IdentityMap names a file mapping certificate identities to the
	// usernames they may log in as; the rule then only sees events whose
	// username the map does not allow for the event's certificate.
	IdentityMap string `yaml:"identity_map,omitempty"`
}

// Duration is a time.Duration written as "10m", "12h", "90s".
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &durationError{node: n, msg: "expected a duration such as 10m, not " + yamlerr.Describe(n)}
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		msg := "expected a duration such as 10m, not " + yamlerr.Describe(n)
		if tag := n.ShortTag(); tag == "!!int" || tag == "!!float" {
			msg += fmt.Sprintf(" (a number needs a unit, as in %sm)", n.Value)
		}
		return &durationError{node: n, msg: msg}
	}
	*d = Duration(v)
	return nil
}

// durationError is a value Duration cannot read. It keeps the value's
// node, so that lint names the key it is under and its column; its text
// names the line, as the decoder's own errors do.
type durationError struct {
	node *yaml.Node
	msg  string
}

func (e *durationError) Error() string { return fmt.Sprintf("line %d: %s", e.node.Line, e.msg) }

// MarshalYAML writes the duration back as text.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Rule is a compiled rule.
type Rule struct {
	ID          string
	Description string
	Severity    string
	Type        Type
	Filter      Filter
	GroupBy     []Key
	Distinct    Key
	HasDistinct bool
	Unresolved  bool
	MinEvents   int
	// MaxSuccessUsers: 0 means no limit.
	MaxSuccessUsers int
	Ratio           float64
	MinAttempts     int
	Baseline        Baseline
	Suppress        []*Suppressor
	IdentityMap     *IdentityMap
	Window          time.Duration
	Threshold       int
	Cooldown        time.Duration
	ResolveAfter    time.Duration
	Technique       alert.Technique
	Spec            Spec
}

// Measure names what the rule counts: the distinct field, the failure
// ratio, or "events".
func (r *Rule) Measure() string {
	switch {
	case r.Type == TypeRatio:
		return "failure_ratio"
	case r.HasDistinct:
		return r.Distinct.String()
	}
	return "events"
}

// Uses reports whether the rule reads the derived key d (in group_by or
// distinct), so the engine derives it only when some rule needs it.
func (r *Rule) Uses(d Derived) bool {
	for _, k := range r.GroupBy {
		if k.Derived == d {
			return true
		}
	}
	return r.HasDistinct && r.Distinct.Derived == d
}

// MatchesJoin reports whether the rule's match block tests spraywatch.join
// and passes an event whose join is value. With one of the two logs
// missing every login has the same join (app_only without proxy logs,
// proxy_only without application logs): a rule that matches on it would
// fire on every login (proxy-bypass on app_only), and one that requires
// another join value could never fire.
func (r *Rule) MatchesJoin(value string) bool {
	c, ok := r.Spec.Match[event.Join.String()]
	if !ok {
		return false
	}
	f, err := CompileFilter(map[string]Condition{event.Join.String(): c})
	if err != nil {
		return false
	}
	var e event.Event
	e.Values[event.Join] = value
	return f.Match(&e)
}

// DefaultResolveAfter is how long a rule's window must stay below its
// threshold before the incident resolves, unless the rule says otherwise.
const DefaultResolveAfter = 5 * time.Minute

// Limits on rule values that keep state bounded and thresholds meaningful.
const (
	MaxWindow    = 7 * 24 * time.Hour
	MaxThreshold = 1_000_000
)

var techniques = map[string]string{
	"T1110":     "Brute Force",
	"T1110.001": "Password Guessing",
	"T1110.002": "Password Cracking",
	"T1110.003": "Password Spraying",
	"T1110.004": "Credential Stuffing",
	"T1078":     "Valid Accounts",
	"T1589":     "Gather Victim Identity Information",
}

// checkID reports an empty id or one with characters other than letters,
// digits, '-', '_' and '.'.
func checkID(id string) error {
	if id == "" {
		return errors.New("id is required")
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("id %q: use letters, digits, '-', '_' and '.' only", id)
		}
	}
	return nil
}

// Compile checks a spec and compiles it.
func Compile(s Spec) (*Rule, error) {
	if err := checkID(s.ID); err != nil {
		return nil, err
	}
	r := &Rule{ID: s.ID, Description: s.Description, Severity: s.Severity, Spec: s}
	if r.Severity == "" {
		r.Severity = alert.SeverityMedium
	}
	if alert.SeverityRank(r.Severity) == 0 {
		return nil, fmt.Errorf("severity %q: expected low, medium, high or critical", s.Severity)
	}
	var err error
	if r.Filter, err = CompileFilter(s.Match); err != nil {
		return nil, err
	}
	if len(s.GroupBy) == 0 {
		return nil, errors.New("group_by: at least one field is required")
	}
	for _, g := range s.GroupBy {
		k, ok := LookupKey(g)
		if !ok {
			return nil, fmt.Errorf("group_by: unknown field %q", g)
		}
		r.GroupBy = append(r.GroupBy, k)
	}
	if s.Distinct != "" {
		k, ok := LookupKey(s.Distinct)
		if !ok {
			return nil, fmt.Errorf("distinct: unknown field %q", s.Distinct)
		}
		r.Distinct, r.HasDistinct = k, true
	}
	if err := compileType(r, s); err != nil {
		return nil, err
	}
	r.Window = time.Duration(s.Window)
	switch {
	case r.Window <= 0:
		return nil, errors.New("window: a positive duration is required, such as 10m")
	case r.Window > MaxWindow:
		return nil, fmt.Errorf("window: %s is longer than the %s limit", r.Window, MaxWindow)
	}
	r.Threshold = s.Threshold
	switch {
	case r.Type == TypeRatio && r.Threshold == 0:
		r.Threshold = r.MinAttempts
	case r.Type == TypeBaseline && r.Threshold == 0:
		// A baseline rule fires above its learned level, never at or
		// below its floor: the threshold is not its condition.
		r.Threshold = r.Baseline.Floor
	}
	switch {
	case r.Threshold <= 0:
		return nil, errors.New("threshold: must be at least 1 (a zero threshold would fire on every event)")
	case r.Threshold > MaxThreshold:
		return nil, fmt.Errorf("threshold: %d is above the %d limit", r.Threshold, MaxThreshold)
	}
	r.Cooldown, r.ResolveAfter = r.Window, DefaultResolveAfter
	if s.Cooldown != nil {
		r.Cooldown = time.Duration(*s.Cooldown)
	}
	if r.Cooldown < 0 {
		return nil, errors.New("cooldown: must not be negative")
	}
	if s.ResolveAfter != nil {
		r.ResolveAfter = time.Duration(*s.ResolveAfter)
	}
	if r.ResolveAfter < 0 {
		return nil, errors.New("resolve_after: must not be negative")
	}
	if r.Cooldown > MaxWindow || r.ResolveAfter > MaxWindow {
		return nil, fmt.Errorf("cooldown and resolve_after: must not exceed %s", MaxWindow)
	}
	tech := s.Technique
	if tech == "" {
		tech = "T1110.003"
	}
	name, ok := techniques[tech]
	if !ok {
		return nil, fmt.Errorf("technique %q: expected an ATT&CK id such as T1110.003", tech)
	}
	r.Technique = alert.Technique{ID: tech, Name: name}
	for i, sp := range s.Suppress {
		sup, err := CompileSuppression(sp)
		if err != nil {
			return nil, fmt.Errorf("suppress #%d: %w", i+1, err)
		}
		r.Suppress = append(r.Suppress, sup)
	}
	if s.IdentityMap != "" {
		m, err := LoadIdentityMap(s.IdentityMap)
		if err != nil {
			return nil, fmt.Errorf("identity_map: %w", err)
		}
		r.IdentityMap = m
	}
	return r, nil
}

// Parse reads a rules file. name is used in errors and to resolve relative
// identity_map paths. Unknown keys are errors. Disabled rules are left
// out. The file's suppressions are attached to its rules; one naming a
// rule the file does not have is an error.
func Parse(name string, data []byte) ([]*Rule, error) {
	f, err := parse(name, data)
	if err != nil {
		return nil, err
	}
	if len(f.rules) == 0 && len(f.disabled) == 0 && len(f.sups) > 0 {
		return nil, fmt.Errorf("%s: no rules, only suppressions (Load applies them to the other files' rules and the default pack)", name)
	}
	known := map[string]bool{}
	f.addIDs(known)
	if err := checkSuppressions(name, f.sups, known); err != nil {
		return nil, err
	}
	applySuppressions(f.rules, f.sups)
	return f.rules, nil
}

// parsedFile is a rules file as parse reads it.
type parsedFile struct {
	rules []*Rule
	// disabled lists the ids of the rules written with disabled: true.
	// Only their ids are checked: a disabled rule with a default rule's
	// id switches that rule off, so {id: ..., disabled: true} is enough.
	disabled []string
	sups     []*Suppressor
}

// addIDs adds the ids of f's rules, disabled ones included, to ids.
func (f parsedFile) addIDs(ids map[string]bool) {
	for _, r := range f.rules {
		ids[r.ID] = true
	}
	for _, id := range f.disabled {
		ids[id] = true
	}
}

func parse(name string, data []byte) (parsedFile, error) {
	if err := loadErrors(name, data); err != nil {
		return parsedFile{}, err
	}
	// Lint found nothing the loader rejects; what follows reports the
	// rest, should the two ever disagree.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return parsedFile{}, fmt.Errorf("%s: no rules", name)
		}
		return parsedFile{}, yamlerr.FileError(name, yamlerr.Messages(err))
	}
	if err := checkInts(data); err != nil {
		return parsedFile{}, yamlerr.FileError(name, yamlerr.Messages(err))
	}
	if len(f.Rules) == 0 && len(f.Suppressions) == 0 {
		return parsedFile{}, fmt.Errorf("%s: no rules (expected a top-level `rules:` list)", name)
	}
	var out parsedFile
	seen := map[string]bool{}
	for i, s := range f.Rules {
		r, err := compileSpec(name, s)
		if err != nil {
			id := s.ID
			if id == "" {
				id = fmt.Sprintf("#%d", i+1)
			}
			return parsedFile{}, fmt.Errorf("%s: rule %s: %w", name, id, err)
		}
		if seen[s.ID] {
			return parsedFile{}, fmt.Errorf("%s: rule %s: duplicate id", name, s.ID)
		}
		seen[s.ID] = true
		if r == nil {
			out.disabled = append(out.disabled, s.ID)
			continue
		}
		out.rules = append(out.rules, r)
	}
	for i, sp := range f.Suppressions {
		sup, err := CompileSuppression(sp)
		if err != nil {
			return parsedFile{}, fmt.Errorf("%s: suppressions #%d: %w", name, i+1, err)
		}
		out.sups = append(out.sups, sup)
	}
	return out, nil
}

// checkInts reports numbers such as 2.5 written for integer keys, which
// the decoder would truncate.
func checkInts(data []byte) error {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return err
	}
	return yamlnum.CheckInts(&n, reflect.TypeFor[File]())
}

// compileSpec compiles a spec of file name; for a disabled spec it checks
// only the id and returns a nil rule.
func compileSpec(name string, s Spec) (*Rule, error) {
	if s.Disabled {
		return nil, checkID(s.ID)
	}
	if s.IdentityMap != "" && !filepath.IsAbs(s.IdentityMap) {
		s.IdentityMap = filepath.Join(filepath.Dir(name), s.IdentityMap)
	}
	return Compile(s)
}

// Default returns the compiled default pack.
func Default() []*Rule { return defaultFile().rules }

// defaultFile parses the embedded default pack and attaches its
// suppressions.
func defaultFile() parsedFile {
	const name = "default pack"
	f, err := parse(name, defaultPack)
	if err == nil {
		known := map[string]bool{}
		f.addIDs(known)
		err = checkSuppressions(name, f.sups, known)
	}
	if err != nil {
		panic("rules: embedded default pack does not compile: " + err.Error())
	}
	applySuppressions(f.rules, f.sups)
	return f
}

// Load reads rules from files. With extend, the files' rules are added to
// the default pack (a file rule with a default rule's id replaces it, and
// a disabled one switches it off); otherwise they replace the pack. A
// later file's rule replaces an earlier file's rule with the same id.
//
// The files' top-level suppressions are applied once all files are read,
// so the order of the files does not matter to them. A suppression naming
// a rule that no file (nor, when extending, the default pack) has is an
// error, disabled rules included.
func Load(paths []string, extend bool) ([]*Rule, error) {
	var base []*Rule
	known := map[string]bool{}
	if extend || len(paths) == 0 {
		d := defaultFile()
		base = d.rules
		d.addIDs(known)
	}
	type fileSups struct {
		name string
		sups []*Suppressor
	}
	var pending []fileSups
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading rules: %w", err)
		}
		f, err := parse(p, data)
		if err != nil {
			return nil, err
		}
		if len(f.rules) == 0 && len(f.disabled) == 0 && len(f.sups) > 0 && !extend {
			return nil, fmt.Errorf("%s: no rules, only suppressions: they apply to the default pack, which replace mode does not load", p)
		}
		base = merge(base, f)
		f.addIDs(known)
		pending = append(pending, fileSups{p, f.sups})
	}
	for _, fs := range pending {
		if err := checkSuppressions(fs.name, fs.sups, known); err != nil {
			return nil, err
		}
		applySuppressions(base, fs.sups)
	}
	return base, nil
}

// merge adds f's rules to base, replacing those with the same id, and
// removes the rules f disables.
func merge(base []*Rule, f parsedFile) []*Rule {
	off := map[string]bool{}
	for _, id := range f.disabled {
		off[id] = true
	}
	base = slices.DeleteFunc(base, func(r *Rule) bool { return off[r.ID] })
	idx := map[string]int{}
	for i, r := range base {
		idx[r.ID] = i
	}
	for _, r := range f.rules {
		if i, ok := idx[r.ID]; ok {
			base[i] = r
			continue
		}
		idx[r.ID] = len(base)
		base = append(base, r)
	}
	return base
}

// IDs lists rule ids, for summaries.
func IDs(rs []*Rule) string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return strings.Join(ids, ", ")
}
