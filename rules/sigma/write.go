package sigma

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spraywatch/spraywatch/rules"
)

// YAML writes the converted rules as a spraywatch rules file, each rule
// preceded by a comment naming its Sigma source.
func (r *Result) YAML() ([]byte, error) {
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	for _, c := range r.Rules {
		n := specNode(c.Spec)
		n.HeadComment = fmt.Sprintf("Sigma correlation %q (%s), base rule %s", c.Title, firstOf(c.Sigma, c.File), c.Base)
		seq.Content = append(seq.Content, n)
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("rules"), seq}}
	root.HeadComment = "Converted from Sigma correlation rules by spraywatch rules import-sigma."
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("writing rules: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("writing rules: %w", err)
	}
	return b.Bytes(), nil
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func num(n int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(n)}
}

func flowList(vals []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, v := range vals {
		n.Content = append(n.Content, str(v))
	}
	return n
}

func specNode(s rules.Spec) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v *yaml.Node) { m.Content = append(m.Content, str(k), v) }
	add("id", str(s.ID))
	if s.Description != "" {
		add("description", str(s.Description))
	}
	if s.Severity != "" {
		add("severity", str(s.Severity))
	}
	add("type", str(s.Type))
	if len(s.Match) > 0 {
		mm := &yaml.Node{Kind: yaml.MappingNode}
		for _, k := range sortedKeys(s.Match) {
			mm.Content = append(mm.Content, str(k), conditionNode(s.Match[k]))
		}
		add("match", mm)
	}
	add("group_by", flowList(s.GroupBy))
	if s.Distinct != "" {
		add("distinct", str(s.Distinct))
	}
	add("window", str(shortDuration(time.Duration(s.Window))))
	add("threshold", num(s.Threshold))
	if s.Technique != "" {
		add("technique", str(s.Technique))
	}
	return m
}

func conditionNode(c rules.Condition) *yaml.Node {
	only := func(set bool, others ...bool) bool {
		if !set {
			return false
		}
		for _, o := range others {
			if o {
				return false
			}
		}
		return true
	}
	hasEq, hasIn, hasPre, hasRe, hasCIDR, hasEx, hasNot := c.Equals != nil, c.In != nil, c.Prefix != nil, c.Regex != "", c.CIDR != nil, c.Exists != nil, c.Not != nil
	switch {
	case only(hasEq, hasIn, hasPre, hasRe, hasCIDR, hasEx, hasNot):
		return str(*c.Equals)
	case only(hasIn, hasEq, hasPre, hasRe, hasCIDR, hasEx, hasNot):
		return flowList(c.In)
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	add := func(k string, v *yaml.Node) { m.Content = append(m.Content, str(k), v) }
	if hasEq {
		add("equals", str(*c.Equals))
	}
	if hasIn {
		add("in", flowList(c.In))
	}
	if hasPre {
		add("prefix", flowList(c.Prefix))
	}
	if hasRe {
		add("regex", str(c.Regex))
	}
	if hasCIDR {
		add("cidr", flowList(c.CIDR))
	}
	if hasEx {
		add("exists", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(*c.Exists)})
	}
	if hasNot {
		inner := conditionNode(*c.Not)
		if inner.Kind != yaml.MappingNode {
			// {not: x} would read as not-equals; keep the explicit form
			// for a list too.
			w := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
			if inner.Kind == yaml.SequenceNode {
				w.Content = []*yaml.Node{str("in"), inner}
			} else {
				w.Content = []*yaml.Node{str("equals"), inner}
			}
			inner = w
		}
		add("not", inner)
	}
	return m
}

func sortedKeys(m map[string]rules.Condition) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}

// shortDuration writes 10m rather than 10m0s and 24h for a day.
func shortDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}
