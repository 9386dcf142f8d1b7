// Package yamlerr words the errors of the gopkg.in/yaml.v3 decoder for
// people: `unknown key "windoww"` rather than "field windoww not found in
// type rules.Spec", "expected an integer, not `abc`" rather than "cannot
// unmarshal !!str `abc` into int", each with its line and, where it can be
// found, the path of keys to the value ("join: join_window").
//
// Messages words an error alone. Explain also walks the YAML document
// alongside the Go type it was decoded into, which places each problem
// exactly: the path of keys to the value, the whole value (the decoder
// shortens long ones) and, for an unknown key, the keys the mapping takes.
package yamlerr

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Message is one problem the decoder reported.
type Message struct {
	Line int // 1-based; 0 when the decoder named none
	// Key is the path of keys to the value the message is about, as
	// "join: join_window" or "outputs[1]: timeout"; "" when unknown or
	// at the top of the document.
	Key string
	Msg string

	// What the decoder said, to find the value it is about.
	field       string // the unknown or duplicate key
	goType, tag string // the type the value was bound for; its YAML tag, without "!!"
	value       string // the scalar, as the decoder quoted it (long ones shortened)
	want        string // what goType holds, in words; "" when not worded
	unknownKey  bool   // field is a key the type lacks
}

// String is the message with its key, without the line.
func (m Message) String() string {
	if m.Key != "" {
		return m.Key + ": " + m.Msg
	}
	return m.Msg
}

// Messages splits an error from the decoder into one message per problem,
// in words rather than Go types. The key is known only for the messages
// that name it (internal/yamlnum's).
func Messages(err error) []Message {
	if err == nil {
		return nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		out := make([]Message, 0, len(te.Errors))
		for _, e := range te.Errors {
			out = append(out, parse(e))
		}
		return out
	}
	return []Message{parse(err.Error())}
}

// FileError is the error of messages ms about file name, one line per
// message: "name:line: key: message"; without a name (YAML held in a
// value of another file), "line N: key: message". It is nil when ms is
// empty.
func FileError(name string, ms []Message) error {
	errs := make([]error, 0, len(ms))
	for _, m := range ms {
		pos := name
		switch {
		case m.Line > 0 && name == "":
			pos = "line " + strconv.Itoa(m.Line)
		case m.Line > 0:
			pos += ":" + strconv.Itoa(m.Line)
		}
		if pos == "" {
			errs = append(errs, errors.New(m.String()))
			continue
		}
		errs = append(errs, errors.New(pos+": "+m.String()))
	}
	return errors.Join(errs...)
}

// FindKey sets m.Key to the path of keys, within n, of the scalar value m
// is about, when exactly one value on m's line fits. Explain places
// messages better; FindKey needs no type.
func (m *Message) FindKey(n *yaml.Node) {
	if m.Key != "" || m.value == "" || n == nil {
		return
	}
	var found []string
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := join(path, k.Value)
				if v.Kind == yaml.ScalarNode && v.Line == m.Line && v.Value == m.value {
					found = append(found, p)
				}
				walk(v, p)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		}
	}
	walk(n, "")
	if len(found) == 1 {
		m.Key = found[0]
	}
}

// maxDescribed is the most bytes of a scalar a message quotes.
const maxDescribed = 64

// Describe names a value as messages do: `abc` for a scalar, "a list",
// "a mapping", "an empty value". A scalar longer than maxDescribed bytes
// is cut, ending in "...", and one holding a character that is not
// printable (a newline, an escape) is quoted with Go's escapes, so that
// a message is one line of text a terminal shows as it is.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		if n.Alias != nil {
			return Describe(n.Alias)
		}
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "an empty value"
		}
	}
	v, cut := n.Value, ""
	if len(v) > maxDescribed {
		v, cut = strings.ToValidUTF8(v[:maxDescribed-3], ""), "..."
	}
	if strings.ContainsFunc(v, func(r rune) bool { return !strconv.IsPrint(r) || r == '`' }) {
		return strconv.Quote(v) + cut
	}
	return "`" + v + cut + "`"
}

var (
	// lineRE matches the line prefix of a decoder message.
	lineRE     = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)
	notFound   = regexp.MustCompile(`^field (\S+) not found in type (.+)$`)
	duplicate  = regexp.MustCompile(`^mapping key "(.*)" already defined at line \d+$`)
	cannotInto = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+?)(?: \\((.+) expects an integer\\))?$")
)

// parse reads one decoder message.
func parse(s string) Message {
	var m Message
	if g := lineRE.FindStringSubmatch(s); g != nil {
		m.Line, _ = strconv.Atoi(g[1])
		s = s[len(g[0]):]
	}
	m.Msg = strings.TrimPrefix(s, "yaml: ")
	if g := notFound.FindStringSubmatch(m.Msg); g != nil {
		m.field, m.goType, m.unknownKey = g[1], g[2], true
		m.Msg = fmt.Sprintf("unknown key %q", g[1])
		return m
	}
	if g := duplicate.FindStringSubmatch(m.Msg); g != nil {
		m.field = g[1] // the words are plain already
		return m
	}
	g := cannotInto.FindStringSubmatch(m.Msg)
	if g == nil {
		return m
	}
	m.tag, m.value, m.goType = g[1], g[2], g[3]
	m.want = expected(m.goType)
	if m.want == "" {
		return m
	}
	m.Key = g[4]
	m.Msg = m.wrong(got(m.tag, m.value))
	return m
}

// wrong is the message for a value, described as got, that is not what
// m.goType holds.
func (m *Message) wrong(got string) string {
	if m.tag == "str" && quotedScalar(m.want, m.value) {
		// "10" for an integer: the value reads as one, but the quotes
		// make it a string.
		return fmt.Sprintf("expected %s, not the string %q (quoted: write it without the quotes)", m.want, m.value)
	}
	msg := fmt.Sprintf("expected %s, not %s", m.want, got)
	if m.goType == "time.Duration" && (m.tag == "int" || m.tag == "float") {
		msg += fmt.Sprintf(" (a number needs a unit, as in %ss)", m.value)
	}
	return msg
}

// quotedScalar reports whether value, decoded as a string, would be what
// want describes had it not been quoted: "10" for an integer, "true" for
// a bool. The decoder's own reading of the plain value decides ("inf" is a
// string unquoted too, ".inf" a number).
func quotedScalar(want, value string) bool {
	var doc yaml.Node
	if yaml.Unmarshal([]byte(value), &doc) != nil || len(doc.Content) != 1 {
		return false
	}
	n := doc.Content[0]
	if n.Kind != yaml.ScalarNode || n.Style != 0 || n.Value != value {
		return false
	}
	switch tag := n.ShortTag(); want {
	case "an integer":
		return tag == "!!int"
	case "a number":
		return tag == "!!int" || tag == "!!float"
	case "true or false":
		return tag == "!!bool"
	}
	return false
}

// got describes a value by its tag and its text.
func got(tag, value string) string {
	switch tag {
	case "seq":
		return "a list"
	case "map":
		return "a mapping"
	}
	return "`" + value + "`"
}

// duration is what a time.Duration holds, in words.
const duration = "a duration such as 90s, 10m or 12h"

// expected describes the values of a Go type as the decoder names it; ""
// for types it does not know.
func expected(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		switch expected(goType[2:]) {
		case "an integer":
			return "a list of integers"
		case "a string":
			return "a list of strings"
		case duration:
			return "a list of durations such as 90s, 10m or 12h"
		}
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a mapping"
	case strings.HasPrefix(goType, "*"):
		return expected(goType[1:])
	case strings.HasPrefix(goType, "struct {"):
		return "a mapping"
	}
	switch goType {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	case "time.Duration":
		return duration
	}
	if strings.Contains(goType, ".") && !strings.ContainsAny(goType, " ()") {
		return "a mapping" // a struct
	}
	return ""
}

// join adds key to a path of keys.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + ": " + key
}

// sortMessages orders ms by line (messages without one first) and drops
// repeats, as when the decoder and internal/yamlnum report one value.
func sortMessages(ms []Message) []Message {
	slices.SortStableFunc(ms, func(a, b Message) int { return a.Line - b.Line })
	return slices.CompactFunc(ms, func(a, b Message) bool {
		return a.Line == b.Line && a.String() == b.String()
	})
}
