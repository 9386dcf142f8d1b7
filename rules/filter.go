package rules

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/spraywatch/spraywatch/event"
)

// Condition is one test on a field, as written in a rule's match block:
//
//	event.outcome: failure                 # equals
//	tls.client.verify: [SUCCESS, NONE]     # in
//	identity: {exists: true}
//	url.path: {prefix: /accounts/}
//	user_agent.original: {regex: "^python-"}
//	source.ip: {cidr: [10.0.0.0/8]}
//	user.name: {not: {in: [healthcheck]}}
type Condition struct {
	Equals *string    `yaml:"equals,omitempty"`
	In     []string   `yaml:"in,omitempty"`
	Prefix []string   `yaml:"prefix,omitempty"`
	Regex  string     `yaml:"regex,omitempty"`
	CIDR   []string   `yaml:"cidr,omitempty"`
	Exists *bool      `yaml:"exists,omitempty"`
	Not    *Condition `yaml:"not,omitempty"`
}

// UnmarshalYAML accepts a scalar (equals), a sequence (in) or a mapping.
func (c *Condition) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		v := n.Value
		c.Equals = &v
		return nil
	case yaml.SequenceNode:
		var in []string
		if err := n.Decode(&in); err != nil {
			return err
		}
		c.In = in
		return nil
	case yaml.MappingNode:
		// The lines of the decoder's errors are the file's: n is
		// decoded as it is, its keys checked here.
		kv := pairs(n)
		for i := 0; i+1 < len(kv); i += 2 {
			if k := kv[i]; !conditionKeys[k.Value] {
				return fmt.Errorf("line %d: unknown key %q (known: %s)", k.Line, k.Value, keyList(conditionKeys))
			}
		}
		type plain Condition
		var p plain
		if err := n.Decode(&p); err != nil {
			return err
		}
		*c = Condition(p)
		// A single prefix or cidr may be written as a scalar.
		return nil
	}
	return fmt.Errorf("line %d: a condition is a value, a list of values or a mapping", n.Line)
}

// test is a compiled condition on one field.
type test struct {
	field event.Field
	kind  testKind
	str   string
	// list is an in test's values, sorted, each once, or a prefix
	// test's prefixes; set holds an in test's values too when they are
	// more than maxScan.
	list   []string
	set    map[string]struct{}
	re     *regexp.Regexp
	nets   []netip.Prefix
	exists bool
	not    *test
}

type testKind uint8

// maxScan is the most values an in test compares one by one: a short
// list such as [failure, success] is scanned faster than a map is
// looked up (no hash of the value).
const maxScan = 8

const (
	tEquals testKind = iota
	tIn
	tPrefix
	tRegex
	tCIDR
	tExists
	tNot
)

func compileCondition(f event.Field, c *Condition) ([]test, error) {
	var out []test
	n := 0
	if c.Equals != nil {
		n++
		out = append(out, test{field: f, kind: tEquals, str: *c.Equals})
	}
	if c.In != nil {
		n++
		if len(c.In) == 0 {
			return nil, fmt.Errorf("%s: in: the list is empty, so the rule could never match", f)
		}
		list := slices.Clone(c.In)
		slices.Sort(list)
		list = slices.Compact(list)
		t := test{field: f, kind: tIn, list: list}
		if len(list) > maxScan {
			t.set = make(map[string]struct{}, len(list))
			for _, v := range list {
				t.set[v] = struct{}{}
			}
		}
		out = append(out, t)
	}
	if c.Prefix != nil {
		n++
		if len(c.Prefix) == 0 {
			return nil, fmt.Errorf("%s: prefix: the list is empty", f)
		}
		out = append(out, test{field: f, kind: tPrefix, list: c.Prefix})
	}
	if c.Regex != "" {
		n++
		re, err := regexp.Compile(c.Regex)
		if err != nil {
			return nil, fmt.Errorf("%s: regex: %w", f, err)
		}
		out = append(out, test{field: f, kind: tRegex, re: re})
	}
	if c.CIDR != nil {
		n++
		var nets []netip.Prefix
		for _, s := range c.CIDR {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("%s: cidr: %q: expected a network such as 10.0.0.0/8 or 2001:db8::/32", f, s)
			}
			nets = append(nets, p.Masked())
		}
		if len(nets) == 0 {
			return nil, fmt.Errorf("%s: cidr: the list is empty", f)
		}
		out = append(out, test{field: f, kind: tCIDR, nets: nets})
	}
	if c.Exists != nil {
		n++
		out = append(out, test{field: f, kind: tExists, exists: *c.Exists})
	}
	if c.Not != nil {
		n++
		inner, err := compileCondition(f, c.Not)
		if err != nil {
			return nil, err
		}
		if len(inner) != 1 {
			return nil, fmt.Errorf("%s: not: takes exactly one test", f)
		}
		out = append(out, test{field: f, kind: tNot, not: &inner[0]})
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: the condition has no test (equals, in, prefix, regex, cidr, exists, not)", f)
	}
	return out, nil
}

func (t *test) match(e *event.Event) bool {
	v := e.Values[t.field]
	switch t.kind {
	case tEquals:
		return same(v, t.str)
	case tIn:
		if t.set != nil {
			_, ok := t.set[v]
			return ok
		}
		for _, x := range t.list {
			if same(x, v) {
				return true
			}
		}
		return false
	case tPrefix:
		for _, p := range t.list {
			if len(v) >= len(p) && same(v[:len(p)], p) {
				return true
			}
		}
		return false
	case tRegex:
		return t.re.MatchString(v)
	case tCIDR:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range t.nets {
			if p.Contains(a) {
				return true
			}
		}
		return false
	case tExists:
		return (v != "") == t.exists
	case tNot:
		return !t.not.match(e)
	}
	return false
}

// same reports whether a and b are equal, comparing their first bytes
// before calling on the runtime to compare the rest: the values a filter
// tests (outcomes, verification results, actions) are mostly of a few
// lengths, and most that differ differ at once.
func same(a, b string) bool {
	return len(a) == len(b) && (len(a) == 0 || a[0] == b[0]) && a == b
}

// Filter is a compiled match block: all of its tests must pass.
type Filter struct {
	tests []test
}

// Match reports whether the event passes every test.
func (f *Filter) Match(e *event.Event) bool {
	for i := range f.tests {
		if !f.tests[i].match(e) {
			return false
		}
	}
	return true
}

// Equal reports whether f and o make the same tests: then they match the
// same events, and whoever evaluates both may evaluate one. Filters
// written differently may make the same tests (the values of an in list
// in another order or repeated, the same fields in another order).
func (f *Filter) Equal(o *Filter) bool {
	return slices.EqualFunc(f.tests, o.tests, func(a, b test) bool { return a.equal(&b) })
}

func (t *test) equal(o *test) bool {
	if t.field != o.field || t.kind != o.kind {
		return false
	}
	switch t.kind {
	case tEquals:
		return t.str == o.str
	case tIn, tPrefix:
		return slices.Equal(t.list, o.list)
	case tRegex:
		return t.re.String() == o.re.String()
	case tCIDR:
		return slices.Equal(t.nets, o.nets)
	case tExists:
		return t.exists == o.exists
	case tNot:
		return t.not.equal(o.not)
	}
	return false
}

// CompileFilter compiles a match block. Fields are checked in name order so
// errors are stable.
func CompileFilter(m map[string]Condition) (Filter, error) {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var f Filter
	for _, name := range names {
		fld, ok := event.LookupField(name)
		if !ok {
			return Filter{}, fmt.Errorf("match: unknown field %q", name)
		}
		c := m[name]
		ts, err := compileCondition(fld, &c)
		if err != nil {
			return Filter{}, fmt.Errorf("match: %w", err)
		}
		f.tests = append(f.tests, ts...)
	}
	return f, nil
}
