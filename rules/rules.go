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
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
)

//go:embed default.yml
var defaultPack []byte

// DefaultPack returns the text of the embedded default rule pack.
func DefaultPack() []byte { return append([]byte(nil), defaultPack...) }

// File is a rules file.
type File struct {
	Rules []Spec `yaml:"rules"`
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
	Cooldown     Duration             `yaml:"cooldown"`
	ResolveAfter Duration             `yaml:"resolve_after"`
	Technique    string               `yaml:"technique"`
	Disabled     bool                 `yaml:"disabled"`
}

// Duration is a time.Duration written as "10m", "12h", "90s".
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a duration such as 10m", n.Line)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: expected a duration such as 10m: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration back as text.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Rule is a compiled rule.
type Rule struct {
	ID           string
	Description  string
	Severity     string
	Filter       Filter
	GroupBy      []event.Field
	Distinct     event.Field
	HasDistinct  bool
	Window       time.Duration
	Threshold    int
	Cooldown     time.Duration
	ResolveAfter time.Duration
	Technique    alert.Technique
	Spec         Spec
}

// Measure names what the rule counts: the distinct field, or "events".
func (r *Rule) Measure() string {
	if r.HasDistinct {
		return r.Distinct.String()
	}
	return "events"
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

// Compile checks a spec and compiles it.
func Compile(s Spec) (*Rule, error) {
	if s.ID == "" {
		return nil, errors.New("id is required")
	}
	for _, c := range s.ID {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return nil, fmt.Errorf("id %q: use letters, digits, '-', '_' and '.' only", s.ID)
		}
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
		f, ok := event.LookupField(g)
		if !ok {
			return nil, fmt.Errorf("group_by: unknown field %q", g)
		}
		r.GroupBy = append(r.GroupBy, f)
	}
	if s.Distinct != "" {
		f, ok := event.LookupField(s.Distinct)
		if !ok {
			return nil, fmt.Errorf("distinct: unknown field %q", s.Distinct)
		}
		r.Distinct, r.HasDistinct = f, true
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
	case r.Threshold <= 0:
		return nil, errors.New("threshold: must be at least 1 (a zero threshold would fire on every event)")
	case r.Threshold > MaxThreshold:
		return nil, fmt.Errorf("threshold: %d is above the %d limit", r.Threshold, MaxThreshold)
	}
	r.Cooldown = time.Duration(s.Cooldown)
	if r.Cooldown < 0 {
		return nil, errors.New("cooldown: must not be negative")
	}
	if r.Cooldown == 0 {
		r.Cooldown = r.Window
	}
	r.ResolveAfter = time.Duration(s.ResolveAfter)
	if r.ResolveAfter < 0 {
		return nil, errors.New("resolve_after: must not be negative")
	}
	if r.ResolveAfter == 0 {
		r.ResolveAfter = DefaultResolveAfter
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
	return r, nil
}

// Parse reads a rules file. name is used in errors. Unknown keys are errors.
func Parse(name string, data []byte) ([]*Rule, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: no rules", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(f.Rules) == 0 {
		return nil, fmt.Errorf("%s: no rules (expected a top-level `rules:` list)", name)
	}
	var out []*Rule
	seen := map[string]bool{}
	for i, s := range f.Rules {
		if s.Disabled {
			continue
		}
		r, err := Compile(s)
		if err != nil {
			id := s.ID
			if id == "" {
				id = fmt.Sprintf("#%d", i+1)
			}
			return nil, fmt.Errorf("%s: rule %s: %w", name, id, err)
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("%s: rule %s: duplicate id", name, r.ID)
		}
		seen[r.ID] = true
		out = append(out, r)
	}
	return out, nil
}

// Default returns the compiled default pack.
func Default() []*Rule {
	rs, err := Parse("default pack", defaultPack)
	if err != nil {
		panic("rules: embedded default pack does not compile: " + err.Error())
	}
	return rs
}

// Load reads rules from files. With extend, the files' rules are added to
// the default pack (a file rule with a default rule's id replaces it);
// otherwise they replace the pack.
func Load(paths []string, extend bool) ([]*Rule, error) {
	var base []*Rule
	if extend || len(paths) == 0 {
		base = Default()
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading rules: %w", err)
		}
		rs, err := Parse(p, data)
		if err != nil {
			return nil, err
		}
		base = merge(base, rs)
	}
	return base, nil
}

func merge(base, add []*Rule) []*Rule {
	idx := map[string]int{}
	for i, r := range base {
		idx[r.ID] = i
	}
	for _, r := range add {
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
