package pylog

import (
	"bytes"
	"fmt"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/timestamp"
)

// Parser parses lines of one Format. It is not safe for concurrent use.
type Parser struct {
	f      *Format
	zone   *timestamp.Zone // reads %(asctime)s
	level  []byte
	logger []byte
}

var (
	outcomeBytes = map[string][]byte{
		event.OutcomeSuccess: []byte(event.OutcomeSuccess),
		event.OutcomeFailure: []byte(event.OutcomeFailure),
		event.OutcomeUnknown: []byte(event.OutcomeUnknown),
	}
	actionSucceeded = []byte("login_succeeded")
	actionFailed    = []byte("login_failed")
	traceback       = []byte("Traceback (most recent call last):")
)

// Parse parses one line into r. Lines the prefilter or the message pattern
// leave out, continuation lines of a multi-line message (starting with
// white space or "Traceback") and messages whose outcome text is not mapped
// return ingest.ErrIgnore.
func (p *Parser) Parse(line []byte, r *event.Record) error {
	msg, err := p.Split(line, r)
	if err != nil {
		return err
	}
	f := p.f
	if f.prefixOnly {
		return ingest.ErrIgnore
	}
	if f.re == nil {
		r.Set(event.Outcome, outcomeBytes[f.outcomes[""]])
		return nil
	}
	if f.required != nil && !bytes.Contains(msg, f.required) {
		return ingest.ErrIgnore
	}
	m := f.re.FindSubmatchIndex(msg)
	if m == nil {
		return ingest.ErrIgnore
	}
	var vals [numGroups][]byte
	var seen [numGroups]bool
	for g := range f.groups {
		for _, i := range f.groups[g] {
			if m[2*i] >= 0 {
				vals[g], seen[g] = msg[m[2*i]:m[2*i+1]], true
				break
			}
		}
	}
	text := vals[gOutcome]
	if !seen[gOutcome] {
		text = vals[gEvent]
	}
	o, ok := f.outcomes[string(text)]
	if !ok {
		return ingest.ErrIgnore
	}
	for g := range vals {
		if g == gOutcome || g == gEvent || !seen[g] {
			continue
		}
		r.Set(groupFields[g], vals[g])
	}
	r.Set(event.Outcome, outcomeBytes[o])
	switch {
	case seen[gEvent]:
		r.Set(event.Action, vals[gEvent])
	case o == event.OutcomeSuccess:
		r.Set(event.Action, actionSucceeded)
	case o == event.OutcomeFailure:
		r.Set(event.Action, actionFailed)
	}
	return nil
}

// Split parses the parts of a line around %(message)s into r (time, request
// id, extras), applies the logger and level prefilter, and returns the
// message (nil for a format without one). The message aliases line.
func (p *Parser) Split(line []byte, r *event.Record) ([]byte, error) {
	f := p.f
	p.level, p.logger = nil, nil
	if len(line) == 0 || ((line[0] == ' ' || line[0] == '\t') && !f.startsWithSpace()) || bytes.HasPrefix(line, traceback) {
		return nil, ingest.ErrIgnore
	}
	pos := 0
	pre := f.prefix
	for i := range pre {
		s := &pre[i]
		if s.lit != nil {
			if !bytes.HasPrefix(line[pos:], s.lit) {
				return nil, expected(pos, s.lit)
			}
			pos += len(s.lit)
			continue
		}
		start := pos
		if s.width > 0 && !s.left {
			for start < len(line) && line[start] == ' ' {
				start++
			}
		}
		end := len(line)
		if i+1 < len(pre) {
			from := start
			if s.left && s.width > 0 {
				from = min(start+s.width, len(line))
			}
			if s.role == roleAsctime && len(line)-start >= 19 && line[start+4] == '-' && line[start+10] == ' ' {
				// Python's default asctime has a space inside.
				from = start + 19
			}
			idx := bytes.Index(line[from:], pre[i+1].lit)
			if idx < 0 {
				return nil, &ingest.SyntaxError{Column: start + 1, Msg: fmt.Sprintf("expected %%(%s)s followed by %q", s.name, pre[i+1].lit)}
			}
			end = from + idx
		}
		if err := p.set(s, line[start:end], start, r); err != nil {
			return nil, err
		}
		pos = end
	}
	var msg []byte
	if f.hasMsg {
		epos := len(line)
		suf := f.suffix
		for i := len(suf) - 1; i >= 0; i-- {
			s := &suf[i]
			if s.lit != nil {
				if !bytes.HasSuffix(line[pos:epos], s.lit) {
					return nil, expected(max(pos, epos-len(s.lit)), s.lit)
				}
				epos -= len(s.lit)
				continue
			}
			// parseFormat and New guarantee a literal before a suffix attribute.
			prev := suf[i-1].lit
			idx := bytes.LastIndex(line[pos:epos], prev)
			if idx < 0 {
				return nil, &ingest.SyntaxError{Column: pos + 1, Msg: fmt.Sprintf("expected %q before %%(%s)s", prev, s.name)}
			}
			start := pos + idx + len(prev)
			if err := p.set(s, line[start:epos], start, r); err != nil {
				return nil, err
			}
			epos = start
		}
		msg = line[pos:epos]
	}
	if !f.hasLogger(p.logger) {
		return nil, ingest.ErrIgnore
	}
	if f.minLevel > 0 && p.level != nil {
		if lv, ok := levelNumber(p.level); ok && lv < f.minLevel {
			return nil, ingest.ErrIgnore
		}
	}
	return msg, nil
}

func (f *Format) startsWithSpace() bool {
	if len(f.prefix) == 0 {
		return false
	}
	s := f.prefix[0]
	return (s.lit != nil && (s.lit[0] == ' ' || s.lit[0] == '\t')) || (s.lit == nil && s.width > 0 && !s.left)
}

func expected(pos int, lit []byte) error {
	return &ingest.SyntaxError{Column: pos + 1, Msg: fmt.Sprintf("expected %q", lit)}
}

func (p *Parser) set(s *segment, v []byte, col int, r *event.Record) error {
	if s.width > 0 {
		v = bytes.TrimRight(v, " ")
	}
	switch s.role {
	case roleAsctime, roleCreated:
		var t int64
		var err error
		if s.role == roleAsctime {
			t, err = p.zone.ParseRFC3339(v)
		} else {
			t, err = timestamp.ParseEpoch(v)
		}
		if err != nil {
			return &ingest.SyntaxError{Column: col + 1, Msg: fmt.Sprintf("reading %%(%s)s: %v", s.name, err)}
		}
		r.Time = t
	case roleLevel, roleLevelNo:
		p.level = v
	case roleLogger:
		p.logger = v
	case roleField:
		if !absent(v) {
			r.Set(s.field, v)
		}
	}
	return nil
}

// absent reports the placeholders Python filters write for a missing value
// (django-log-request-id's default NO_REQUEST_ID is "none").
func absent(v []byte) bool {
	switch string(v) {
	case "", "-", "none", "None":
		return true
	}
	return false
}

// Level returns the level name (or number) of the line last split, or nil.
func (p *Parser) Level() []byte { return p.level }

// Logger returns the logger name of the line last split, or nil.
func (p *Parser) Logger() []byte { return p.logger }
