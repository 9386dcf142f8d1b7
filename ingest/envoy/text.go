package envoy

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/x509cert"
)

// program is a compiled format string: lits[i] precedes ops[i], and the last
// literal follows the last operator.
type program struct {
	lits [][]byte
	ops  []operator
}

func compileProgram(s string) (*program, error) {
	p := &program{}
	var lit []byte
	for i := 0; i < len(s); {
		c := s[i]
		if c != '%' {
			lit = append(lit, c)
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' {
			lit = append(lit, '%')
			i += 2
			continue
		}
		op, next, err := scanOperator(s, i)
		if err != nil {
			return nil, err
		}
		if len(p.ops) > 0 && len(lit) == 0 {
			return nil, fmt.Errorf("byte %d: %s follows %s with nothing between them, so their values cannot be told apart",
				i+1, op.name, p.ops[len(p.ops)-1].name)
		}
		p.lits = append(p.lits, lit)
		p.ops = append(p.ops, op)
		lit = nil
		i = next
	}
	p.lits = append(p.lits, lit)
	return p, nil
}

// uses reports whether the program maps any value to the record.
func (p *program) uses(a action) bool {
	for _, op := range p.ops {
		if op.act == a {
			return true
		}
	}
	return false
}

// CompileText compiles an Envoy text access log format string (Default, or
// the format string of the user's log_format text_format / format). A
// trailing newline is ignored.
func CompileText(format string) (*Format, error) {
	format = strings.TrimRight(format, "\r\n")
	if strings.TrimSpace(format) == "" {
		return nil, errors.New("compiling envoy text format: empty format")
	}
	prog, err := compileProgram(format)
	if err != nil {
		return nil, fmt.Errorf("compiling envoy text format: %w", err)
	}
	if !prog.uses(actTime) {
		return nil, errors.New("compiling envoy text format: no %START_TIME% operator: spraywatch needs each line's time")
	}
	f := &Format{name: "envoy", text: prog, certs: x509cert.NewCache(0)}
	f.prepareSkim()
	return f, nil
}

// match reads line (a whole log line or one JSON value) by prog. Each
// operator's value runs up to the first occurrence of the literal after it.
func (p *parser) match(prog *program, line []byte, cp bool, base int) error {
	pos := 0
	for i, op := range prog.ops {
		lit := prog.lits[i]
		if !bytes.HasPrefix(line[pos:], lit) {
			return &ingest.SyntaxError{Column: base + pos + 1, Msg: fmt.Sprintf("expected %q before %s", lit, op.name)}
		}
		pos += len(lit)
		next := prog.lits[i+1]
		end := len(line)
		if len(next) > 0 {
			from := pos
			if op.layout != nil && op.layout.spaces > 0 {
				from += op.layout.skip(line[pos:])
			}
			j := bytes.Index(line[from:], next)
			if j < 0 {
				return &ingest.SyntaxError{Column: base + pos + 1, Msg: fmt.Sprintf("expected %q after %s", next, op.name)}
			}
			end = from + j
		}
		if err := p.apply(op, line[pos:end], cp); err != nil {
			return &ingest.SyntaxError{Column: base + pos + 1, Msg: err.Error()}
		}
		if p.sk.Asking() && prog == p.f.text {
			p.spans[i] = span{pos, end}
			if i == p.f.decide {
				if err := p.decideText(line, i); err != nil {
					return err
				}
			}
		}
		pos = end
	}
	tail := prog.lits[len(prog.lits)-1]
	if !bytes.Equal(line[pos:], tail) {
		return &ingest.SyntaxError{Column: base + pos + 1, Msg: fmt.Sprintf("expected %q at the end of the line", tail)}
	}
	return nil
}
