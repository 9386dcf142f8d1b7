// Package pylog reads text logs written by Python's logging module, compiled
// from the format string the application's logging configuration gives its
// Formatter (%-style), such as
//
//	%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s
//
// The record's time comes from %(asctime)s (Python's default
// "2026-12-04 09:00:01,123", or any RFC 3339 shape; a time without a zone is
// UTC unless the format is put in a time zone with InZone) or %(created)f; %(request_id)s (django-log-request-id's filter) becomes
// the request id. The username, outcome and source address are picked out of
// %(message)s by a Go regular expression with named groups.
//
// The regular expression runs only on lines that pass a cheap prefilter: the
// logger name (Config.Loggers, dotted prefixes), the level (Config.MinLevel)
// and a literal the pattern cannot match without (the longest literal of the
// pattern's top-level sequence, found with bytes.Index). Everything else is
// ignored (ingest.ErrIgnore) without running it.
package pylog

import (
	"bytes"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/timestamp"
)

// CompileError reports a format string or message pattern that cannot be
// used, with the 1-based column of the problem in the format string.
type CompileError struct {
	What   string // "log format" or "message pattern"
	Column int    // 1-based byte offset, 0 when the whole definition is meant
	Msg    string
}

func (e *CompileError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("compiling %s: column %d: %s", e.What, e.Column, e.Msg)
	}
	return fmt.Sprintf("compiling %s: %s", e.What, e.Msg)
}

// Config describes a Python logging text format.
type Config struct {
	// Format is the Formatter's format string (%-style).
	Format string
	// MessagePattern is a Go regular expression applied to %(message)s.
	// Named groups: username, outcome or event, ip, request_id, path,
	// user_agent. A name may appear in several alternatives; the first
	// group that took part in the match wins. Empty means the format's
	// own attributes carry everything (see Extras).
	MessagePattern string
	// Outcomes maps the text of the outcome or event group to success,
	// failure or unknown. Messages whose text is not in the map are ignored.
	// nil means DefaultOutcomes. A pattern without an outcome or event group
	// needs Outcomes[""], the outcome of every matching message.
	Outcomes map[string]string
	// Loggers keeps only records of these loggers or their children
	// ("accounts" keeps "accounts" and "accounts.auth"). Empty keeps all.
	Loggers []string
	// MinLevel keeps only records at or above this level name (DEBUG,
	// INFO, WARNING, ERROR, CRITICAL) or number. Empty keeps all.
	MinLevel string
	// Extras maps further attributes of the format (values given with
	// logging's extra= or set by filters) to record fields, e.g.
	// "client_ip": event.SourceIP.
	Extras map[string]event.Field
}

// DefaultOutcomes maps the events of spraywatch's Django receivers and plain
// outcome words to outcomes.
var DefaultOutcomes = map[string]string{
	"login_succeeded": event.OutcomeSuccess,
	"login_failed":    event.OutcomeFailure,
	"user_locked_out": event.OutcomeFailure,
	"success":         event.OutcomeSuccess,
	"failure":         event.OutcomeFailure,
}

// attribute kinds
type role uint8

const (
	roleIgnore role = iota
	roleAsctime
	roleCreated
	roleLevel
	roleLevelNo
	roleLogger
	roleMessage
	roleField // Field names the record field
)

type segment struct {
	lit   []byte // a literal, or nil for an attribute
	name  string // attribute name
	role  role
	field event.Field
	width int  // minimum width from the conversion spec
	left  bool // '-' flag: padded on the right
	col   int  // 1-based column in the format
}

// Format is a compiled Python logging format. It implements ingest.Format.
type Format struct {
	cfg        Config
	prefix     []segment // before %(message)s (all segments without one)
	suffix     []segment // after %(message)s
	hasMsg     bool
	prefixOnly bool
	re         *regexp.Regexp
	groups     [numGroups][]int // submatch indexes per group kind
	required   []byte           // literal the message must contain
	outcomes   map[string]string
	loggers    [][]byte
	minLevel   int
	loc        *time.Location // of %(asctime)s; nil: UTC
}

// message pattern groups
const (
	gUsername = iota
	gOutcome
	gEvent
	gIP
	gRequestID
	gPath
	gUserAgent
	numGroups
)

var groupNames = [numGroups]string{"username", "outcome", "event", "ip", "request_id", "path", "user_agent"}
var groupFields = [numGroups]event.Field{event.UserName, event.Outcome, event.Action, event.SourceIP, event.RequestID, event.URLPath, event.UserAgent}

// Compile compiles a Python logging format string and a message pattern.
func Compile(format, messagePattern string, outcomes map[string]string) (*Format, error) {
	return New(Config{Format: format, MessagePattern: messagePattern, Outcomes: outcomes})
}

// CompilePrefix compiles a format for parsers of the message itself (such
// as django-axes lines): it needs %(message)s and a time, and its parsers'
// Parse reads nothing from the message and returns ingest.ErrIgnore; use
// Parser.Split instead.
func CompilePrefix(format string) (*Format, error) {
	return newFormat(Config{Format: format}, true)
}

// New compiles a Config.
func New(c Config) (*Format, error) { return newFormat(c, false) }

func newFormat(c Config, prefixOnly bool) (*Format, error) {
	segs, err := parseFormat(c.Format)
	if err != nil {
		return nil, err
	}
	f := &Format{cfg: c, outcomes: c.Outcomes}
	if f.outcomes == nil {
		f.outcomes = DefaultOutcomes
	}
	hasTime := false
	for i := range segs {
		s := &segs[i]
		if s.lit != nil {
			continue
		}
		switch s.name {
		case "asctime":
			s.role = roleAsctime
		case "created":
			s.role = roleCreated
		case "levelname":
			s.role = roleLevel
		case "levelno":
			s.role = roleLevelNo
		case "name":
			s.role = roleLogger
		case "message":
			if f.hasMsg {
				return nil, &CompileError{"log format", s.col, "%(message)s appears twice"}
			}
			s.role = roleMessage
			f.hasMsg = true
		case "request_id":
			s.role, s.field = roleField, event.RequestID
		}
		if fld, ok := c.Extras[s.name]; ok {
			s.role, s.field = roleField, fld
		}
		if s.role == roleAsctime || s.role == roleCreated {
			hasTime = true
		}
		if i+1 < len(segs) && segs[i+1].lit == nil {
			return nil, &CompileError{"log format", segs[i+1].col,
				fmt.Sprintf("%%(%s)s follows %%(%s)s with no text between them", segs[i+1].name, s.name)}
		}
	}
	if !hasTime {
		return nil, &CompileError{"log format", 0, "no %(asctime)s or %(created)f: records need the event time"}
	}
	for i := range segs {
		if segs[i].role == roleMessage {
			f.prefix, f.suffix = segs[:i], segs[i+1:]
		}
	}
	if !f.hasMsg {
		f.prefix = segs
		if c.MessagePattern != "" {
			return nil, &CompileError{"log format", 0, "a message pattern needs %(message)s in the format"}
		}
	}
	if prefixOnly {
		if !f.hasMsg {
			return nil, &CompileError{"log format", 0, "no %(message)s"}
		}
		f.prefixOnly = true
	} else if err := f.compilePattern(c.MessagePattern); err != nil {
		return nil, err
	}
	for _, l := range c.Loggers {
		f.loggers = append(f.loggers, []byte(l))
	}
	if c.MinLevel != "" {
		lv, ok := levelNumber([]byte(c.MinLevel))
		if !ok {
			return nil, &CompileError{"log format", 0, fmt.Sprintf("unknown minimum level %q", c.MinLevel)}
		}
		f.minLevel = lv
	}
	return f, nil
}

func (f *Format) compilePattern(p string) error {
	if p == "" {
		hasUser := false
		for fld := range f.cfg.Extras {
			hasUser = hasUser || f.cfg.Extras[fld] == event.UserName
		}
		if !hasUser {
			return &CompileError{"message pattern", 0, "empty, and no attribute of the format carries the username"}
		}
		if _, ok := f.outcomes[""]; !ok {
			return &CompileError{"message pattern", 0, `empty: the outcome of every line must be given as outcomes[""]`}
		}
		return nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return &CompileError{"message pattern", 0, err.Error()}
	}
	f.re = re
	for i, n := range re.SubexpNames() {
		for g, gn := range groupNames {
			if n == gn {
				f.groups[g] = append(f.groups[g], i)
			}
		}
	}
	if len(f.groups[gUsername]) == 0 {
		return &CompileError{"message pattern", 0, "no (?P<username>...) group"}
	}
	if len(f.groups[gOutcome]) == 0 && len(f.groups[gEvent]) == 0 {
		if _, ok := f.outcomes[""]; !ok {
			return &CompileError{"message pattern", 0, `no (?P<outcome>...) or (?P<event>...) group, and no outcomes[""] for every match`}
		}
	}
	for k, v := range f.outcomes {
		switch v {
		case event.OutcomeSuccess, event.OutcomeFailure, event.OutcomeUnknown:
		default:
			return &CompileError{"message pattern", 0, fmt.Sprintf("outcome for %q is %q, want success, failure or unknown", k, v)}
		}
	}
	f.required = requiredLiteral(p)
	return nil
}

// requiredLiteral returns the longest case-sensitive literal that every
// match of the pattern contains, or nil.
func requiredLiteral(p string) []byte {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	var subs []*syntax.Regexp
	switch re.Op {
	case syntax.OpConcat:
		subs = re.Sub
	case syntax.OpLiteral:
		subs = []*syntax.Regexp{re}
	}
	var best []rune
	for _, s := range subs {
		if s.Op == syntax.OpCapture && len(s.Sub) == 1 {
			s = s.Sub[0]
		}
		if s.Op == syntax.OpLiteral && s.Flags&syntax.FoldCase == 0 && len(s.Rune) > len(best) {
			best = s.Rune
		}
	}
	if len(best) == 0 {
		return nil
	}
	return []byte(string(best))
}

// parseFormat splits a %-style format into literals and attributes.
func parseFormat(s string) ([]segment, error) {
	if s == "" {
		return nil, &CompileError{"log format", 0, "empty format"}
	}
	var segs []segment
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			segs = append(segs, segment{lit: lit})
			lit = nil
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c != '%' {
			lit = append(lit, c)
			i++
			continue
		}
		start := i
		i++
		if i < len(s) && s[i] == '%' {
			lit = append(lit, '%')
			i++
			continue
		}
		if i >= len(s) || s[i] != '(' {
			return nil, &CompileError{"log format", start + 1, "expected '(' after '%' (write %% for a percent sign)"}
		}
		i++
		end := strings.IndexByte(s[i:], ')')
		if end < 0 {
			return nil, &CompileError{"log format", start + 1, "unclosed %("}
		}
		name := s[i : i+end]
		if !isIdentifier(name) {
			return nil, &CompileError{"log format", i + 1, fmt.Sprintf("%q is not an attribute name", name)}
		}
		i += end + 1
		seg := segment{name: name, col: start + 1}
		// flags
		for i < len(s) && strings.IndexByte("#0- +", s[i]) >= 0 {
			if s[i] == '-' {
				seg.left = true
			}
			i++
		}
		ws := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i > ws {
			seg.width, _ = strconv.Atoi(s[ws:i])
		}
		if i < len(s) && s[i] == '.' {
			i++
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
		}
		if i >= len(s) {
			return nil, &CompileError{"log format", start + 1, fmt.Sprintf("%%(%s) without a conversion type such as s", name)}
		}
		if strings.IndexByte("diouxXeEfFgGcrsa", s[i]) < 0 {
			return nil, &CompileError{"log format", i + 1, fmt.Sprintf("unknown conversion type %q", s[i])}
		}
		i++
		flush()
		segs = append(segs, seg)
	}
	flush()
	return segs, nil
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func levelNumber(b []byte) (int, bool) {
	switch string(b) {
	case "DEBUG", "debug":
		return 10, true
	case "INFO", "info":
		return 20, true
	case "WARNING", "WARN", "warning", "warn":
		return 30, true
	case "ERROR", "error":
		return 40, true
	case "CRITICAL", "FATAL", "critical", "fatal":
		return 50, true
	}
	n := 0
	if len(b) == 0 || len(b) > 3 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// Name returns "python-logging".
func (f *Format) Name() string { return "python-logging" }

// NewParser returns a parser of lines in this format.
func (f *Format) NewParser() ingest.Parser { return f.NewLineParser() }

// NewLineParser returns a parser with access to the message (see
// Parser.Message), for parsers of messages in a Python logging prefix.
func (f *Format) NewLineParser() *Parser { return &Parser{f: f, zone: timestamp.NewZone(f.loc)} }

// InZone returns the format reading %(asctime)s in loc: Python's logging
// writes it in the local time of the process (for Django, TIME_ZONE)
// without an offset. An asctime with an offset (a Formatter with its own
// datefmt) keeps it; %(created)f is always UTC. It implements ingest.Zoner.
func (f *Format) InZone(loc *time.Location) ingest.Format { return f.InLocation(loc) }

// InLocation is InZone returning the *Format, for formats that read
// messages in a Python logging prefix.
func (f *Format) InLocation(loc *time.Location) *Format {
	g := *f
	g.loc = loc
	return &g
}

// HasMessage reports whether the format contains %(message)s.
func (f *Format) HasMessage() bool { return f.hasMsg }

var _ ingest.Format = (*Format)(nil)

// hasLogger reports whether name is one of the loggers or a child of one.
func (f *Format) hasLogger(name []byte) bool {
	if len(f.loggers) == 0 {
		return true
	}
	for _, l := range f.loggers {
		if bytes.HasPrefix(name, l) && (len(name) == len(l) || name[len(l)] == '.') {
			return true
		}
	}
	return false
}
