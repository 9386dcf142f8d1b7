package nginx

import (
	"fmt"
	"strings"
)

// CompileError says where a log_format directive went wrong.
type CompileError struct {
	Line   int // 1-based line in the directive; 0 when it has one line
	Column int // 1-based column (byte) in that line
	Msg    string
}

func (e *CompileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("log_format: line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("log_format: column %d: %s", e.Column, e.Msg)
}

// pos is a place in the directive text.
type pos struct{ line, col int }

// directive is a log_format directive taken apart: its name, escaping, and
// the format string its quoted parts concatenate to, with the place in the
// directive every byte of the format came from.
type directive struct {
	name   string
	escape string // "default", "json" or "none"
	format []byte
	at     []pos // at[i] is where format[i] came from; at[len(format)] is the end
	multi  bool  // the directive has more than one line
}

// errAt builds a CompileError for byte i of the format string.
func (d *directive) errAt(i int, format string, args ...any) error {
	if i > len(d.at)-1 {
		i = len(d.at) - 1
	}
	p := d.at[i]
	e := &CompileError{Column: p.col, Msg: fmt.Sprintf(format, args...)}
	if d.multi {
		e.Line = p.line
	}
	return e
}

// token is one word of the directive: unquoted, or a quoted string with its
// quotes removed and its escapes applied.
type token struct {
	text   []byte
	at     []pos
	quoted bool
	start  pos
}

// lexer splits directive text the way nginx reads its configuration:
// words separated by white space, '...' and "..." strings with backslash
// escapes, # comments to the end of the line, ';' at the end.
type lexer struct {
	src       string
	i         int
	line, col int
	multi     bool
}

func (l *lexer) errHere(p pos, format string, args ...any) error {
	e := &CompileError{Column: p.col, Msg: fmt.Sprintf(format, args...)}
	if l.multi {
		e.Line = p.line
	}
	return e
}

func (l *lexer) here() pos { return pos{l.line, l.col} }

func (l *lexer) advance() byte {
	c := l.src[l.i]
	l.i++
	if c == '\n' {
		l.line++
		l.col = 1
	} else {
		l.col++
	}
	return c
}

// next returns the next token; ok is false at ';' or at the end. semi tells
// which of the two it was.
func (l *lexer) next() (t token, ok, semi bool, err error) {
	for l.i < len(l.src) {
		c := l.src[l.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			l.advance()
			continue
		case c == '#':
			for l.i < len(l.src) && l.src[l.i] != '\n' {
				l.advance()
			}
			continue
		case c == ';':
			l.advance()
			return t, false, true, nil
		}
		break
	}
	if l.i >= len(l.src) {
		return t, false, false, nil
	}
	t.start = l.here()
	c := l.src[l.i]
	if c == '\'' || c == '"' {
		q := c
		l.advance()
		t.quoted = true
		for {
			if l.i >= len(l.src) {
				return t, false, false, l.errHere(t.start, "unterminated quote")
			}
			p := l.here()
			c := l.advance()
			if c == q {
				break
			}
			if c == '\\' && l.i < len(l.src) {
				e := l.src[l.i]
				switch e {
				case '"', '\'', '\\':
					l.advance()
					c = e
				case 't':
					l.advance()
					c = '\t'
				case 'r':
					l.advance()
					c = '\r'
				case 'n':
					l.advance()
					c = '\n'
				}
			}
			t.text = append(t.text, c)
			t.at = append(t.at, p)
		}
		// nginx wants white space, ';' or the end after a quoted string.
		if l.i < len(l.src) {
			switch l.src[l.i] {
			case ' ', '\t', '\r', '\n', ';':
			default:
				return t, false, false, l.errHere(l.here(), "unexpected %q after quoted string", l.src[l.i])
			}
		}
		t.at = append(t.at, l.here())
		return t, true, false, nil
	}
	for l.i < len(l.src) {
		c := l.src[l.i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' {
			break
		}
		if c == '\'' || c == '"' {
			return t, false, false, l.errHere(l.here(), "unexpected quote inside a word")
		}
		t.at = append(t.at, l.here())
		t.text = append(t.text, l.advance())
	}
	t.at = append(t.at, l.here())
	return t, true, false, nil
}

// parseDirective reads a log_format directive as written in nginx.conf, or a
// bare format: quoted parts with an optional escape= in front, or the format
// string itself unquoted.
func parseDirective(src string) (*directive, error) {
	d := &directive{escape: "default", multi: strings.Contains(strings.TrimRight(src, " \t\r\n"), "\n")}
	l := &lexer{src: src, line: 1, col: 1, multi: d.multi}

	// Find the first significant byte to tell the shapes apart.
	probe := *l
	for probe.i < len(src) {
		c := src[probe.i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			probe.advance()
			continue
		}
		if c == '#' {
			for probe.i < len(src) && src[probe.i] != '\n' {
				probe.advance()
			}
			continue
		}
		break
	}
	rest := src[probe.i:]
	isWord := func(w string) bool {
		return strings.HasPrefix(rest, w) && (len(rest) == len(w) || strings.ContainsRune(" \t\r\n", rune(rest[len(w)])))
	}
	switch {
	case rest == "":
		return nil, l.errHere(probe.here(), "empty log format")
	case isWord("log_format"):
		if _, _, _, err := l.next(); err != nil { // the keyword
			return nil, err
		}
		t, ok, _, err := l.next()
		if err != nil {
			return nil, err
		}
		if !ok || t.quoted || len(t.text) == 0 {
			p := l.here()
			if ok {
				p = t.start
			}
			return nil, l.errHere(p, "expected a format name after log_format")
		}
		d.name = string(t.text)
	case rest[0] == '\'' || rest[0] == '"' || strings.HasPrefix(rest, "escape="):
		// Quoted parts without the directive around them.
	default:
		// The format string itself, unquoted.
		raw := strings.TrimRight(rest, " \t\r\n")
		d.format = []byte(raw)
		p := probe
		for i := 0; i < len(raw); i++ {
			d.at = append(d.at, p.here())
			p.advance()
		}
		d.at = append(d.at, p.here())
		return d, nil
	}

	first := true
	for {
		t, ok, semi, err := l.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			if semi {
				// Only white space and comments may follow.
				if t2, ok2, semi2, err := l.next(); err != nil {
					return nil, err
				} else if ok2 || semi2 {
					return nil, l.errHere(t2.start, "unexpected text after ';'")
				}
			}
			break
		}
		if first && !t.quoted && strings.HasPrefix(string(t.text), "escape=") {
			switch e := string(t.text[len("escape="):]); e {
			case "default", "json", "none":
				d.escape = e
			default:
				return nil, l.errHere(t.start, "unknown escape %q: want default, json or none", e)
			}
			first = false
			continue
		}
		first = false
		d.at = d.at[:len(d.format)]
		d.format = append(d.format, t.text...)
		d.at = append(d.at, t.at...) // one more than text: where the part ends
	}
	if len(d.format) == 0 {
		return nil, l.errHere(l.here(), "empty log format")
	}
	return d, nil
}
