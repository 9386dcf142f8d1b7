package rules

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// yamlMessages splits an error from the YAML decoder into one message per
// problem, each with its line (0 when the message has none), in words
// rather than Go types: "unknown key" for a field the type lacks, "expected
// an integer" for a value of the wrong kind.
func yamlMessages(err error) []yamlMessage {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		out := make([]yamlMessage, 0, len(te.Errors))
		for _, e := range te.Errors {
			out = append(out, splitLine(e))
		}
		return out
	}
	return []yamlMessage{splitLine(err.Error())}
}

// yamlMessage is one problem the YAML decoder reported.
type yamlMessage struct {
	line int
	// key is the key whose value is wrong, when known; value is the
	// scalar the decoder could not use.
	key, value string
	msg        string
}

// String is the message with its key, without the line.
func (m yamlMessage) String() string {
	if m.key != "" {
		return m.key + ": " + m.msg
	}
	return m.msg
}

// findKey sets m.key to the path of keys, within n (a rule, say), of the
// scalar value m is about, when exactly one value fits.
func (m *yamlMessage) findKey(n *yaml.Node) {
	if m.key != "" || m.value == "" || n == nil {
		return
	}
	var found []string
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + ": " + k.Value
				}
				if v.Kind == yaml.ScalarNode && v.Line == m.line && v.Value == m.value {
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
		m.key = found[0]
	}
}

func splitLine(s string) yamlMessage {
	var m yamlMessage
	if g := yamlLine.FindStringSubmatch(s); g != nil {
		m.line, _ = strconv.Atoi(g[1])
		s = s[len(g[0]):]
	}
	m.msg = strings.TrimPrefix(s, "yaml: ")
	m.plain()
	return m
}

var (
	// yamlLine matches the line prefix of a decoder message.
	yamlLine   = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)
	notFound   = regexp.MustCompile("^field (\\S+) not found in type \\S+$")
	cannotInto = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)(?: \\((\\S+) expects .*\\))?$")
)

// plain rewrites the decoder's messages that name Go types.
func (m *yamlMessage) plain() {
	if g := notFound.FindStringSubmatch(m.msg); g != nil {
		m.msg = fmt.Sprintf("unknown key %q", g[1])
		return
	}
	g := cannotInto.FindStringSubmatch(m.msg)
	if g == nil {
		return
	}
	tag, value, goType, key := g[1], g[2], g[3], g[4]
	want := expected(goType)
	if want == "" {
		return
	}
	got := "`" + value + "`"
	switch tag {
	case "seq":
		got = "a list"
	case "map":
		got = "a mapping"
	}
	m.key, m.value = key, value
	m.msg = fmt.Sprintf("expected %s, not %s", want, got)
}

// expected describes the values of a Go type as the decoder names it.
func expected(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		switch expected(goType[2:]) {
		case "an integer":
			return "a list of integers"
		case "a string":
			return "a list of strings"
		}
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a mapping"
	case strings.HasPrefix(goType, "*"):
		return expected(goType[1:])
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
	}
	if strings.Contains(goType, ".") {
		return "a mapping" // a struct
	}
	return ""
}

// fileError is an error from decoding file name, one line per problem:
// "name:line: message".
func fileError(name string, err error) error {
	var errs []error
	for _, m := range yamlMessages(err) {
		f := Finding{File: name, Line: m.line, Msg: m.String()}
		errs = append(errs, errors.New(f.pos()+": "+f.msg()))
	}
	return errors.Join(errs...)
}
