// Package envelope unwraps the JSON envelopes log shippers put around a raw
// log line, so that the line's own format parser can read it:
//
//	Vector        {"message":"<line>","timestamp":"...","source_type":"file",...}
//	Fluent Bit    {"log":"<line>\n","stream":"stdout","time":"..."} (also Docker json-file)
//	Filebeat      {"@timestamp":"...","message":"<line>","log":{"file":{"path":"..."}},...}
//	Loki (logcli) {"labels":{...},"line":"<line>","timestamp":"..."}
//	Kubernetes CRI  2026-12-04T09:00:01.123456789Z stdout F <line>
//
// The key that holds the line is configurable (nested keys are dotted:
// "event.original"); the key "cri" selects the CRI container log format,
// whose partial lines (tag P) are joined to the final one (tag F).
//
// The envelope's time (@timestamp, timestamp, time, date or ts; the CRI
// time) is used only when the inner line gives none.
package envelope

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/jsonscan"
	"github.com/spraywatch/spraywatch/ingest/timestamp"
)

// CRI is the key that selects the Kubernetes CRI container log format.
const CRI = "cri"

// timeKeys are the envelope members tried, in this order, for a time.
var timeKeys = []string{"@timestamp", "timestamp", "time", "date", "ts"}

// Parser unwraps envelopes and hands the inner line to another parser. It is
// not safe for concurrent use.
type Parser struct {
	inner ingest.Parser
	key   []byte
	cri   bool
	max   int

	sc      jsonscan.Scanner
	line    []byte // the inner line when it had to be unescaped
	tbuf    []byte // the envelope's time value
	tprio   int    // index in timeKeys of the time kept, len(timeKeys) for none
	found   bool
	partial [2][]byte // CRI partial lines, stdout and stderr
}

// Wrap returns a parser that takes the line out of the envelope member key
// (or the CRI format if key is "cri") and parses it with p. It allocates
// nothing per line once its scratch space has grown to the longest line
// that needed unescaping.
func Wrap(p ingest.Parser, key string) ingest.Parser {
	return &Parser{inner: p, key: []byte(key), cri: key == CRI, max: ingest.DefaultMaxLineBytes}
}

// WrapFormat returns a format whose parsers unwrap the envelope member key
// around lines of f.
func WrapFormat(f ingest.Format, key string) ingest.Format { return &format{f, key} }

type format struct {
	f   ingest.Format
	key string
}

func (f *format) Name() string             { return f.f.Name() + "+" + f.key }
func (f *format) NewParser() ingest.Parser { return Wrap(f.f.NewParser(), f.key) }

var errStop = errors.New("stop")

// Parse unwraps one line and parses its content into r.
func (p *Parser) Parse(line []byte, r *event.Record) error {
	var inner, tm []byte
	if p.cri {
		var err error
		if inner, tm, err = p.unwrapCRI(line); err != nil {
			return err
		}
	} else {
		var err error
		if inner, err = p.unwrapJSON(line); err != nil {
			return err
		}
		if p.tprio < len(timeKeys) {
			tm = p.tbuf
		}
	}
	if err := p.inner.Parse(inner, r); err != nil {
		if se, ok := err.(*ingest.SyntaxError); ok {
			where := "in the " + string(p.key) + " line"
			if !p.cri {
				where = fmt.Sprintf("in the %q member", p.key)
			}
			if se.Column > 0 {
				where += fmt.Sprintf(", column %d", se.Column)
			}
			return &ingest.SyntaxError{Msg: where + ": " + se.Msg}
		}
		return err
	}
	if r.Time == 0 && len(tm) > 0 {
		t, err := timestamp.Parse(tm)
		if err != nil {
			return &ingest.SyntaxError{Msg: fmt.Sprintf("reading the envelope's time %q: %v", tm, err)}
		}
		r.Time = t
	}
	return nil
}

func (p *Parser) unwrapJSON(line []byte) ([]byte, error) {
	var inner []byte
	p.found = false
	p.tprio = len(timeKeys)
	p.tbuf = p.tbuf[:0]
	err := p.sc.Scan(line, func(key, val []byte, kind jsonscan.Kind) error {
		if !p.found && bytes.Equal(key, p.key) {
			if kind != jsonscan.String {
				return &ingest.SyntaxError{Msg: fmt.Sprintf("envelope member %q is a %s, want a string", p.key, kind)}
			}
			p.found = true
			if within(line, val) {
				inner = val
			} else {
				p.line = append(p.line[:0], val...)
				inner = p.line
			}
			if p.tprio == 0 {
				return errStop
			}
			return nil
		}
		for i, k := range timeKeys[:p.tprio] {
			if string(key) == k && (kind == jsonscan.String || kind == jsonscan.Number) {
				p.tbuf = append(p.tbuf[:0], val...)
				p.tprio = i
				if i == 0 && p.found {
					return errStop
				}
				break
			}
		}
		return nil
	})
	if err != nil && err != errStop {
		return nil, err
	}
	if !p.found {
		return nil, &ingest.SyntaxError{Msg: fmt.Sprintf("expected an envelope member %q holding the log line", p.key)}
	}
	return trimEOL(inner), nil
}

// within reports whether b is a subslice of line.
func within(line, b []byte) bool {
	if len(b) == 0 || len(line) == 0 {
		return len(b) == 0
	}
	n := cap(line) - cap(b)
	return n >= 0 && n < len(line) && &line[:n+1][n] == &b[:1][0]
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

// errPartial is wrapped by the ingest.ErrIgnore returned for a CRI partial
// line, which is kept until its final part arrives.
var errPartial = fmt.Errorf("CRI partial line: %w", ingest.ErrIgnore)

// unwrapCRI reads "<time> <stream> <tag> <line>".
func (p *Parser) unwrapCRI(line []byte) (inner, tm []byte, err error) {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return nil, nil, &ingest.SyntaxError{Column: 1, Msg: "expected a CRI log line: <time> <stream> <tag> <line>"}
	}
	tm = line[:sp]
	rest := line[sp+1:]
	var s int
	switch {
	case bytes.HasPrefix(rest, []byte("stdout ")):
		s, rest = 0, rest[7:]
	case bytes.HasPrefix(rest, []byte("stderr ")):
		s, rest = 1, rest[7:]
	default:
		return nil, nil, &ingest.SyntaxError{Column: sp + 2, Msg: "expected stdout or stderr"}
	}
	sp = bytes.IndexByte(rest, ' ')
	if sp < 0 {
		if len(rest) > 0 && rest[0] == 'F' {
			// An empty final line.
			sp = len(rest)
		} else {
			return nil, nil, &ingest.SyntaxError{Column: len(line) - len(rest) + 1, Msg: "expected a CRI tag (F or P) and the line"}
		}
	}
	tag := rest[:sp]
	if sp < len(rest) {
		rest = rest[sp+1:]
	} else {
		rest = nil
	}
	// The tag is P or F, possibly followed by ':'-separated further flags.
	switch {
	case len(tag) > 0 && tag[0] == 'P' && (len(tag) == 1 || tag[1] == ':'):
		if len(p.partial[s])+len(rest) > p.max {
			p.partial[s] = p.partial[s][:0]
			return nil, nil, &ingest.SyntaxError{Msg: fmt.Sprintf("CRI partial lines longer than %d bytes dropped", p.max)}
		}
		p.partial[s] = append(p.partial[s], rest...)
		return nil, nil, errPartial
	case len(tag) > 0 && tag[0] == 'F' && (len(tag) == 1 || tag[1] == ':'):
	default:
		return nil, nil, &ingest.SyntaxError{Column: len(line) - len(rest) - len(tag), Msg: fmt.Sprintf("expected a CRI tag F or P, found %q", tag)}
	}
	if len(p.partial[s]) > 0 {
		if len(p.partial[s])+len(rest) > p.max {
			p.partial[s] = p.partial[s][:0]
			return nil, nil, &ingest.SyntaxError{Msg: fmt.Sprintf("CRI line longer than %d bytes dropped", p.max)}
		}
		p.line = append(append(p.line[:0], p.partial[s]...), rest...)
		p.partial[s] = p.partial[s][:0]
		rest = p.line
	}
	return rest, tm, nil
}
