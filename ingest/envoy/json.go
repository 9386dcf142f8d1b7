package envoy

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/spraywatch/spraywatch/ingest/x509cert"
)

// CompileJSON compiles an Envoy JSON access log format from the user's
// json_format or typed_json_format map, given as YAML or JSON text: the map
// itself, or a one-key map wrapping it (log_format:, json_format:,
// typed_json_format:). Nested maps become dotted keys. Values that are not
// strings are constants and skipped; strings may mix text and operators.
// Unset values are "-" (json_format) or null (typed_json_format).
func CompileJSON(def string) (*Format, error) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(def), &root); err != nil {
		return nil, fmt.Errorf("compiling envoy json_format: %w", err)
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil, errors.New("compiling envoy json_format: empty definition")
	}
	m := root.Content[0]
	for m.Kind == yaml.MappingNode && len(m.Content) == 2 {
		switch m.Content[0].Value {
		case "log_format", "json_format", "typed_json_format":
			m = m.Content[1]
			continue
		}
		break
	}
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("compiling envoy json_format: line %d: json_format must be a map of keys to operator strings, found %s",
			m.Line, kindName(m))
	}
	f := &Format{name: "envoy-json", keys: map[string]jsonItem{}, certs: x509cert.NewCache(0)}
	if err := f.walk(m, ""); err != nil {
		return nil, fmt.Errorf("compiling envoy json_format: %w", err)
	}
	hasTime := false
	for _, it := range f.keys {
		if it.op.act == actTime || it.text != nil && it.text.uses(actTime) {
			hasTime = true
		}
	}
	if !hasTime {
		return nil, errors.New("compiling envoy json_format: no key holds %START_TIME%: spraywatch needs each line's time")
	}
	f.index = newKeyIndex(f.keys)
	f.prepareSkim()
	for k := range f.keys {
		f.only.Add(k)
	}
	return f, nil
}

func (f *Format) walk(m *yaml.Node, prefix string) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		key := prefix + k.Value
		switch v.Kind {
		case yaml.MappingNode:
			if err := f.walk(v, key+"."); err != nil {
				return err
			}
		case yaml.ScalarNode:
			if v.Tag != "!!str" || !strings.Contains(v.Value, "%") {
				continue // a constant
			}
			prog, err := compileProgram(v.Value)
			if err != nil {
				return fmt.Errorf("line %d: key %q: %w", v.Line, key, err)
			}
			if _, dup := f.keys[key]; dup {
				return fmt.Errorf("line %d: key %q appears twice", k.Line, key)
			}
			if len(prog.ops) == 1 && len(prog.lits[0]) == 0 && len(prog.lits[1]) == 0 {
				f.keys[key] = jsonItem{op: prog.ops[0]}
			} else if len(prog.ops) > 0 {
				f.keys[key] = jsonItem{text: prog}
			}
		default:
			// Lists and aliases hold constants as far as spraywatch is concerned.
		}
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the scalar %q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}
