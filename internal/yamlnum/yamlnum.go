// Package yamlnum finds numbers with a fraction or an exponent (YAML
// !!float) written where an integer is expected. gopkg.in/yaml.v3 decodes
// them into integer fields by truncation, so `threshold: 2.5` would
// silently become 2.
package yamlnum

import (
	"fmt"
	"reflect"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spraywatch/spraywatch/internal/yamlerr"
)

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
)

// CheckInts walks n alongside the type t it is to be decoded into and
// reports each !!float value bound for an integer field. The error is a
// *yaml.TypeError with one entry per value, in the decoder's form:
//
//	line 6: cannot unmarshal !!float `2.5` into int (threshold expects an integer)
//
// Keys t does not have and values of types with their own UnmarshalYAML
// are left to the decoder.
func CheckInts(n *yaml.Node, t reflect.Type) error {
	w := walker{seen: map[*yaml.Node]bool{}}
	w.walk(n, t, "")
	if len(w.errs) == 0 {
		return nil
	}
	return &yaml.TypeError{Errors: w.errs}
}

type walker struct {
	errs []string
	seen map[*yaml.Node]bool // aliases followed
}

// walk checks node n, decoded into type t under key.
func (w *walker) walk(n *yaml.Node, t reflect.Type, key string) {
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			w.walk(c, t, key)
		}
		return
	case yaml.AliasNode:
		if !w.seen[n] {
			w.seen[n] = true
			w.walk(n.Alias, t, key)
		}
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType || t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" {
			w.errs = append(w.errs, fmt.Sprintf("line %d: cannot unmarshal !!float `%s` into %s (%s expects an integer)", n.Line, n.Value, t.Kind(), key))
		}
	case reflect.Struct:
		w.fields(n, t)
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				w.walk(c, t.Elem(), key)
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				w.walk(n.Content[i+1], t.Elem(), n.Content[i].Value)
			}
		}
	}
}

// fields checks the values of mapping n decoded into struct type t.
func (w *walker) fields(n *yaml.Node, t reflect.Type) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" {
			if v.Kind == yaml.SequenceNode {
				for _, c := range v.Content {
					w.walk(c, t, "")
				}
			} else {
				w.walk(v, t, "")
			}
			continue
		}
		if ft, ok := yamlerr.Field(t, k.Value); ok {
			w.walk(v, ft, k.Value)
		}
	}
}
