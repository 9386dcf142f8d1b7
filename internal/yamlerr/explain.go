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
	visits := Walk(n, t)
	used := make([]bool, len(visits))
	for i := range ms {
		if j := find(visits, &ms[i], used); j >= 0 {
			used[j] = true
			ms[i].place(visits[j])
		}
	}
	return sortMessages(ms)
}

// Walk lists the values of document n with the types the decoder binds
// them to when decoding n into t, in document order (aliases followed
// once, merge keys into their mapping); keys t lacks are left out, and
// values of types with their own UnmarshalYAML are listed but not entered.
func Walk(n *yaml.Node, t reflect.Type) []Visit {
	w := walker{seen: map[*yaml.Node]bool{}}
	if n != nil && t != nil {
		w.walk(n, t, "")
	}
	return w.visits
}

// Visit is a value of the document and the type it is decoded into.
type Visit struct {
	Node *yaml.Node
	Type reflect.Type // pointers followed
	// Path is the path of keys to the value, as in Message.Key.
	Path string
}

// Key is the last key of the visit's path: the key the value is under,
// or that of the list it is in; "" at the top of the document.
func (v Visit) Key() string {
	p := v.Path
	for strings.HasSuffix(p, "]") {
		i := strings.LastIndexByte(p, '[')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	if i := strings.LastIndex(p, ": "); i >= 0 {
		p = p[i+2:]
	}
	return p
}

type walker struct {
	visits []Visit // in document order
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
	w.visits = append(w.visits, Visit{n, t, path})
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
func find(visits []Visit, m *Message, used []bool) int {
	for j, v := range visits {
		if !used[j] && m.about(v) {
			return j
		}
	}
	return -1
}

// about reports whether m is about the value of v.
func (m *Message) about(v Visit) bool {
	switch {
	case m.field != "":
		// An unknown or duplicate key: v is the mapping holding it.
		if v.Node.Kind != yaml.MappingNode || m.unknownKey && v.Type.String() != m.goType {
			return false
		}
		for i := 0; i+1 < len(v.Node.Content); i += 2 {
			if k := v.Node.Content[i]; k.Line == m.Line && (k.Value == m.field || strconv.Quote(k.Value) == `"`+m.field+`"`) {
				return true
			}
		}
		return false
	case m.want != "":
		if v.Node.Line != m.Line || v.Type.String() != m.goType && v.Type.Kind().String() != m.goType {
			return false
		}
		switch m.tag {
		case "seq":
			return v.Node.Kind == yaml.SequenceNode
		case "map":
			return v.Node.Kind == yaml.MappingNode
		}
		return v.Node.Kind == yaml.ScalarNode && shortened(v.Node.Value) == m.value
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
func (m *Message) place(v Visit) {
	switch {
	case m.unknownKey:
		m.Key = v.Path
		m.Msg = fmt.Sprintf("unknown key %q (known: %s)", m.field, strings.Join(Keys(v.Type), ", "))
	case m.field != "":
		m.Key = v.Path
	default:
		m.Key = v.Path
		m.value = v.Node.Value
		m.Msg = m.wrong(Describe(v.Node))
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
