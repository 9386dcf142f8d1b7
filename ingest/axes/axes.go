// Package axes reads the login messages django-axes logs from its database
// and cache handlers:
//
//	AXES: New login failure by {username: "alice", ip_address: "203.0.113.7", user_agent: "python-requests/2.32.3", path_info: "/accounts/login/"}. Created new record in the database.
//	AXES: Repeated login failure by {...}. Updated existing record in the database.
//	AXES: Repeated login failure by {...}. Count = 3 of 5. Updating existing record in the cache.
//	AXES: Locking out {...} after repeated login failures.
//	AXES: Successful login by {...}.
//
// inside a Python logging prefix compiled by package pylog, or raw (the line
// holds the message, possibly after text this package does not read).
//
// New and repeated failures and failures from whitelisted clients become
// login_failed records with outcome failure, successful logins
// login_succeeded records with outcome success. A lockout message follows the
// failure message of the same attempt, so it becomes a user_locked_out record
// with outcome unknown, not a second failure. Other messages are ignored.
//
// Axes logs no request id, so its records carry none unless the prefix has
// one (a django-log-request-id filter on the handler); the correlator treats
// records without a request id as app-only events keyed by what they carry.
// Since django-axes 6.1 the username and IP address are masked by default
// ("********************"): masked values are left empty and counted
// (Format.MaskedCount).
package axes

import (
	"bytes"
	"fmt"
	"sync/atomic"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/pylog"
)

// Masked is the value django-axes writes for a sensitive parameter.
const Masked = "********************"

// Format reads django-axes messages. It implements ingest.Format.
type Format struct {
	prefix *pylog.Format // nil for raw messages
	masked atomic.Int64
}

// New returns the format of axes messages inside the Python logging prefix
// described by the Formatter string prefix (which must contain
// %(message)s), or of raw messages if prefix is empty.
func New(prefix string) (*Format, error) {
	f := &Format{}
	if prefix != "" {
		p, err := pylog.CompilePrefix(prefix)
		if err != nil {
			return nil, fmt.Errorf("django-axes: %w", err)
		}
		f.prefix = p
	}
	return f, nil
}

// Name returns "django-axes".
func (f *Format) Name() string { return "django-axes" }

// NewParser returns a parser with its own scratch space.
func (f *Format) NewParser() ingest.Parser {
	p := &Parser{f: f}
	if f.prefix != nil {
		p.prefix = f.prefix.NewLineParser()
	}
	return p
}

// MaskedCount returns how many values the format's parsers found masked
// (and left empty) so far. It is safe to call while parsers run.
func (f *Format) MaskedCount() int64 { return f.masked.Load() }

// Parser parses axes lines. It is not safe for concurrent use.
type Parser struct {
	f      *Format
	prefix *pylog.Parser
}

var (
	marker = []byte("AXES: ")

	kinds = []struct {
		lead    []byte
		action  []byte
		outcome []byte
	}{
		{[]byte("New login failure by "), actionFailed, outcomeFailure},
		{[]byte("Repeated login failure by "), actionFailed, outcomeFailure},
		{[]byte("Login failed from whitelisted client "), actionFailed, outcomeFailure},
		{[]byte("Locking out "), []byte("user_locked_out"), []byte(event.OutcomeUnknown)},
		{[]byte("Successful login by "), []byte("login_succeeded"), []byte(event.OutcomeSuccess)},
	}
	actionFailed   = []byte("login_failed")
	outcomeFailure = []byte(event.OutcomeFailure)
)

// Parse parses one line into r.
func (p *Parser) Parse(line []byte, r *event.Record) error {
	msg := line
	col := 0
	if p.prefix != nil {
		m, err := p.prefix.Split(line, r)
		if err != nil {
			return err
		}
		msg = m
		col = cap(line) - cap(m) // m is a subslice of line
		if !bytes.HasPrefix(msg, marker) {
			return ingest.ErrIgnore
		}
	} else {
		i := bytes.Index(msg, marker)
		if i < 0 {
			return ingest.ErrIgnore
		}
		col = i
		msg = msg[i:]
	}
	body := msg[len(marker):]
	col += len(marker)
	for _, k := range kinds {
		if !bytes.HasPrefix(body, k.lead) {
			continue
		}
		client := body[len(k.lead):]
		end := bytes.LastIndexByte(client, '}')
		if len(client) == 0 || client[0] != '{' || end < 0 {
			return &ingest.SyntaxError{Column: col + len(k.lead) + 1, Msg: `expected a client string {username: "...", ...}`}
		}
		if err := p.client(client[1:end], r, col+len(k.lead)+2); err != nil {
			return err
		}
		r.Set(event.Action, k.action)
		r.Set(event.Outcome, k.outcome)
		return nil
	}
	return ingest.ErrIgnore
}

// client reads the key: "value" pairs of axes' client string, without its
// braces. Axes does not escape the values, so a value ends at the first
// `", ` that a key and `: "` follow, or at the final quote.
func (p *Parser) client(s []byte, r *event.Record, col int) error {
	start := len(s)
	for len(s) > 0 {
		c := bytes.Index(s, []byte(`: "`))
		if c <= 0 || !isKey(s[:c]) {
			return &ingest.SyntaxError{Column: col + start - len(s), Msg: `expected key: "value" in the client string`}
		}
		key := s[:c]
		s = s[c+3:]
		end, next := -1, 0
		for off := 0; ; {
			i := bytes.Index(s[off:], []byte(`", `))
			if i < 0 {
				break
			}
			if keyFollows(s[off+i+3:]) {
				end, next = off+i, off+i+3
				break
			}
			off += i + 1
		}
		var val []byte
		if end < 0 {
			if len(s) == 0 || s[len(s)-1] != '"' {
				return &ingest.SyntaxError{Column: col + start - len(s), Msg: "expected a closing quote in the client string"}
			}
			val, s = s[:len(s)-1], nil
		} else {
			val, s = s[:end], s[next:]
		}
		var f event.Field
		switch string(key) {
		case "username":
			f = event.UserName
		case "ip_address":
			f = event.SourceIP
		case "user_agent":
			f = event.UserAgent
		case "path_info":
			f = event.URLPath
		default:
			continue
		}
		switch string(val) {
		case Masked:
			p.f.masked.Add(1)
			continue
		case "None", "":
			continue
		}
		r.Set(f, val)
	}
	return nil
}

func isKey(b []byte) bool {
	for _, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return len(b) > 0
}

func keyFollows(b []byte) bool {
	c := bytes.Index(b, []byte(`: "`))
	return c > 0 && isKey(b[:c])
}

var _ ingest.Format = (*Format)(nil)
