package yamlerr

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	nodeType        = reflect.TypeFor[yaml.Node]()
)

// Explain words the errors errs (any may be nil) of decoding document n
// into type t, with the path of keys to each value, its whole text and,
// for an unknown key, the keys its mapping takes:
//
//	join: join_window: expected a duration such as 90s, 10m or 12h, not `5 minutes`
//	limits: unknown key "max_groupz" (known: max_events_total, ...)
//
// The messages of all errors come in the order of their lines, once each.
func Explain(n *yaml.Node, t reflect.Type, errs ...error) []Message {
	var ms []Message
	for _, err := range errs {
		ms = append(ms, Messages(err)...)
	}
	if len(ms) == 0 {
		return nil
	}
	w := walker{seen: map[*yaml.Node]bool{}}
	if n != nil && t != nil {
		w.walk(n, t, "")
	}
	used := make([]bool, len(w.visits))
	for i := range ms {
		if j := w.find(&ms[i], used); j >= 0 {
			used[j] = true
			ms[i].place(w.visits[j])
		}
	}
	return sortMessages(ms)
}

// visit is a value of the document and the type it is decoded into.
type visit struct {
	n    *yaml.Node
	t    reflect.Type // pointers followed
	path string
}

type walker struct {
	visits []visit // in document order
	seen   map[*yaml.Node]bool
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			w.walk(c, t, path)
		}
		return
	case yaml.AliasNode:
		if !w.seen[n] && n.Alias != nil {
			w.seen[n] = true
			w.walk(n.Alias, t, path)
		}
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	w.visits = append(w.visits, visit{n, t, path})
	if t == nodeType || t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.ShortTag() == "!!merge" {
				if v.Kind == yaml.SequenceNode {
					for _, c := range v.Content {
						w.walk(c, t, path)
					}
				} else {
					w.walk(v, t, path)
				}
				continue
			}
			if ft, ok := Field(t, k.Value); ok {
				w.walk(v, ft, join(path, k.Value))
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for i, c := range n.Content {
				w.walk(c, t.Elem(), path+"["+strconv.Itoa(i)+"]")
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				w.walk(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
			}
		}
	}
}

// find returns the index of the first visit not used that m is about, or
// -1.
func (w *walker) find(m *Message, used []bool) int {
	for j, v := range w.visits {
		if !used[j] && m.about(v) {
			return j
		}
	}
	return -1
}

// about reports whether m is about the value of v.
func (m *Message) about(v visit) bool {
	switch {
	case m.field != "":
		// An unknown or duplicate key: v is the mapping holding it.
		if v.n.Kind != yaml.MappingNode || m.unknownKey && v.t.String() != m.goType {
			return false
		}
		for i := 0; i+1 < len(v.n.Content); i += 2 {
			if k := v.n.Content[i]; k.Line == m.Line && (k.Value == m.field || strconv.Quote(k.Value) == `"`+m.field+`"`) {
				return true
			}
		}
		return false
	case m.want != "":
		if v.n.Line != m.Line || v.t.String() != m.goType && v.t.Kind().String() != m.goType {
			return false
		}
		switch m.tag {
		case "seq":
			return v.n.Kind == yaml.SequenceNode
		case "map":
			return v.n.Kind == yaml.MappingNode
		}
		return v.n.Kind == yaml.ScalarNode && shortened(v.n.Value) == m.value
	}
	return false
}

// shortened is a scalar as the decoder quotes it in messages.
func shortened(s string) string {
	if len(s) > 10 {
		return s[:7] + "..."
	}
	return s
}

// place rewrites m with what v says of the value.
func (m *Message) place(v visit) {
	switch {
	case m.unknownKey:
		m.Key = v.path
		m.Msg = fmt.Sprintf("unknown key %q (known: %s)", m.field, strings.Join(Keys(v.t), ", "))
	case m.field != "":
		m.Key = v.path
	default:
		m.Key = v.path
		m.value = v.n.Value
		m.Msg = m.wrong(Describe(v.n))
	}
}

// Keys lists the YAML keys of struct type t, sorted, as the decoder takes
// them: a field's yaml tag name, else its name in lower case, and the keys
// of inline structs.
func Keys(t reflect.Type) []string {
	var ks []string
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for i := range t.NumField() {
			switch name, inline, ok := fieldKey(t.Field(i)); {
			case !ok:
			case inline != nil:
				add(inline)
			default:
				ks = append(ks, name)
			}
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct {
		add(t)
	}
	slices.Sort(ks)
	return slices.Compact(ks)
}

// Field returns the type of t's field that YAML key name decodes into,
// looking into inline fields as the decoder does.
func Field(t reflect.Type, name string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		switch key, inline, ok := fieldKey(f); {
		case !ok:
		case inline != nil:
			if t, ok := Field(inline, name); ok {
				return t, true
			}
		case key == name:
			return f.Type, true
		}
	}
	return nil, false
}

// fieldKey returns the YAML key of struct field f or, for an inline
// field, the struct type whose keys it brings (nil when it is no struct);
// ok is false for a field the decoder leaves alone.
func fieldKey(f reflect.StructField) (key string, inline reflect.Type, ok bool) {
	tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if tag == "-" || !f.IsExported() && !f.Anonymous {
		return "", nil, false
	}
	if slices.Contains(strings.Split(opts, ","), "inline") {
		t := f.Type
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return "", nil, false
		}
		return "", t, true
	}
	if tag == "" {
		tag = strings.ToLower(f.Name)
	}
	return tag, nil, true
}
