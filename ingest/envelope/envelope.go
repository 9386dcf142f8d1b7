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
// "event.original"); the key "cri" selects the CRI container log format.
//
// Container runtimes split long lines, and the parser joins the parts back
// (it is an ingest.Joiner), per stream (stdout, stderr), up to the line
// length cap:
//
//   - CRI partial lines (tag P) are joined to the final one (tag F);
//   - with the key "log", Docker json-file entries: the json-file driver
//     splits a line into entries of 16 KiB, and only the last one's log
//     ends with a newline. An entry with exactly Docker's members (log,
//     stream stdout or stderr, time, and the attrs object) whose log holds
//     exactly 16 KiB (more only with U+FFFD for invalid UTF-8) and does
//     not end with a newline is joined to the entries that follow it in
//     its stream, up to the first that is not such a part: at most one
//     line that is not a 16 KiB part is ever joined to another. Other log
//     values without a newline (Fluent Bit's tail input strips it, and its
//     CRI parser adds a _p member; Docker's last output before a container
//     stops has none) are whole lines. An entry with other members on a
//     stream with parts kept drops them unjoined (counted:
//     ingest.FlagSplitUnjoined).
//
// The end of a split line whose head was dropped (rejected by
// RejectParts, dropped unjoined, or skipped over the cap: Skipped) is
// rejected, not read as a line of its own (counted:
// ingest.FlagSplitHeadless): its
// first bytes are wherever the runtime split the line, which may be
// client text.
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

// DockerKey is the key of Docker json-file entries, whose partial entries
// are joined.
const DockerKey = "log"

// DockerSplit is the length at which Docker's json-file driver splits a
// line (the log copier's 16 KiB buffer): every entry but the last of a
// split line holds this many bytes, or more once invalid UTF-8 is
// written as U+FFFD.
const DockerSplit = 16 << 10

// timeKeys are the envelope members tried, in this order, for a time.
var timeKeys = []string{"@timestamp", "timestamp", "time", "date", "ts"}

// Parser unwraps envelopes and hands the inner line to another parser. It is
// not safe for concurrent use.
type Parser struct {
	inner  ingest.Parser
	key    []byte
	cri    bool
	docker bool // key is DockerKey: partial entries are joined
	track  bool // a JoinTracker's: lines are unwrapped and joined, not parsed

	sc     jsonscan.Scanner
	line   []byte // the inner line when it had to be unescaped
	tbuf   []byte // the envelope's time value
	tprio  int    // index in timeKeys of the time kept, len(timeKeys) for none
	found  bool
	stream int   // the entry's stream: 0 stdout, 1 stderr, -1 none
	dkeys  uint8 // Docker's members seen: 1 log, 2 stream, 4 time
	alien  bool  // a member Docker's json-file driver does not write
	joins  joins
}

// Wrap returns a parser that takes the line out of the envelope member key
// (or the CRI format if key is "cri") and parses it with p. It allocates
// nothing per line once its scratch space has grown to the longest line
// that needed unescaping or joining.
func Wrap(p ingest.Parser, key string) ingest.Parser { return wrap(p, key) }

func wrap(p ingest.Parser, key string) *Parser {
	return &Parser{inner: p, key: []byte(key), cri: key == CRI, docker: key == DockerKey,
		joins: joins{max: ingest.DefaultMaxLineBytes}}
}

// WrapFormat returns a format whose parsers unwrap the envelope member key
// around lines of f.
func WrapFormat(f ingest.Format, key string) ingest.Format {
	return &format{f: f, key: key}
}

type format struct {
	f   ingest.Format
	key string
}

func (f *format) Name() string { return f.f.Name() + "+" + f.key }

func (f *format) NewParser() ingest.Parser {
	return wrap(f.f.NewParser(), f.key)
}

// Flags returns the flags the format's parsers raise: where lines can be
// split (CRI, Docker json-file), ingest.FlagSplitUnjoined and
// ingest.FlagSplitHeadless (see CountFlags), then the inner format's.
func (f *format) Flags() []ingest.Flag {
	var out []ingest.Flag
	if f.key == CRI || f.key == DockerKey {
		out = append(out, ingest.FlagSplitUnjoined, ingest.FlagSplitHeadless)
	}
	return append(out, ingest.Flags(f.f)...)
}

var errStop = errors.New("stop")

// Parse unwraps one line and parses its content into r.
func (p *Parser) Parse(line []byte, r *event.Record) error {
	inner, tm, err := p.unwrap(line)
	if err != nil {
		return err
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

// unwrap returns the inner line, joined from its parts if it was split,
// and the envelope's time.
func (p *Parser) unwrap(line []byte) (inner, tm []byte, err error) {
	if p.cri {
		return p.unwrapCRI(line)
	}
	if inner, err = p.unwrapJSON(line); err != nil {
		return nil, nil, err
	}
	if p.tprio < len(timeKeys) {
		tm = p.tbuf
	}
	return inner, tm, nil
}

func (p *Parser) unwrapJSON(line []byte) ([]byte, error) {
	var inner []byte
	p.found = false
	p.tprio = len(timeKeys)
	p.tbuf = p.tbuf[:0]
	p.stream = -1
	p.dkeys, p.alien = 0, false
	// Scanning stops early once the line and the best time are in, but
	// for Docker entries, whose every member is looked at.
	done := func() bool { return p.found && p.tprio == 0 && !p.docker }
	err := p.sc.Scan(line, func(key, val []byte, kind jsonscan.Kind) error {
		if p.docker && !p.alien {
			p.dockerMember(key, kind)
		}
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
			if done() {
				return errStop
			}
			return nil
		}
		if p.docker && p.stream < 0 && kind == jsonscan.String && string(key) == "stream" {
			switch string(val) {
			case "stdout":
				p.stream = 0
			case "stderr":
				p.stream = 1
			}
			if done() {
				return errStop
			}
			return nil
		}
		for i, k := range timeKeys[:p.tprio] {
			if string(key) == k && (kind == jsonscan.String || kind == jsonscan.Number) {
				p.tbuf = append(p.tbuf[:0], val...)
				p.tprio = i
				if done() {
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
	if p.docker && p.stream >= 0 {
		if p.alien || p.dkeys != 7 {
			// Not a json-file entry (a shipper's record, Fluent Bit's
			// with the CRI parser): a whole line, that ends no split
			// line. The parts kept for its stream are dropped.
			p.joins.abandon(p.stream)
		} else if inner, err = p.joins.add(p.stream, dockerPart(inner), inner, p.track, dockerParts); err != nil {
			return nil, err
		}
	}
	return trimEOL(inner), nil
}

// dockerMember notes a member of a Docker json-file entry: log, stream,
// time, and the attrs object (labels, env, tag options), each once.
// Anything else makes the envelope another writer's.
func (p *Parser) dockerMember(key []byte, kind jsonscan.Kind) {
	var bit uint8
	switch string(key) {
	case "log":
		bit = 1
	case "stream":
		bit = 2
	case "time":
		bit = 4
	default:
		p.alien = !bytes.HasPrefix(key, []byte("attrs.")) || kind != jsonscan.String
		return
	}
	if p.dkeys&bit != 0 || kind != jsonscan.String {
		p.alien = true
	}
	p.dkeys |= bit
}

// dockerPart reports whether log, the value of a json-file entry, is a
// part that more parts follow: the log copier only splits a line when its
// 16 KiB buffer is full and holds no newline, so such a part holds exactly
// DockerSplit bytes, or more where the driver wrote invalid UTF-8 bytes as
// U+FFFD (up to three bytes each), and no newline at its end.
func dockerPart(log []byte) bool {
	n := len(log)
	switch {
	case n == 0 || log[n-1] == '\n' || n < DockerSplit || n > 3*DockerSplit:
		return false
	case n == DockerSplit:
		return true
	}
	return bytes.Contains(log, []byte("\uFFFD"))
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
	var more bool
	switch {
	case len(tag) > 0 && tag[0] == 'P' && (len(tag) == 1 || tag[1] == ':'):
		more = true
	case len(tag) > 0 && tag[0] == 'F' && (len(tag) == 1 || tag[1] == ':'):
	default:
		return nil, nil, &ingest.SyntaxError{Column: len(line) - len(rest) - len(tag), Msg: fmt.Sprintf("expected a CRI tag F or P, found %q", tag)}
	}
	if rest, err = p.joins.add(s, more, rest, p.track, criParts); err != nil {
		return nil, nil, err
	}
	return rest, tm, nil
}
