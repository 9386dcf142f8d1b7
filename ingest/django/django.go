// Package django reads the authentication events a Django application logs
// as JSON lines (structlog, python-json-logger or the standard library's
// json module) into records, with a configurable key and outcome mapping.
//
// The reference line, which DefaultMapping reads, is:
//
//	{"timestamp":"2026-12-04T09:00:01.123456Z","level":"warning","logger":"accounts.auth","event":"login_failed","request_id":"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a","username":"alice","ip":"10.0.0.1"}
package django

import (
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/jsonscan"
	"github.com/spraywatch/spraywatch/ingest/timestamp"
)

// FormatName is the name of the format in configuration and summaries.
const FormatName = "django-json"

// Mapping says which JSON keys of a line hold which values. Keys of nested
// objects are written with dots ("log.level", "http.request.id"). An empty
// key leaves the field unmapped; Time and Action are required.
type Mapping struct {
	Time      string // event time: RFC 3339 (or a variant), common log time, or epoch seconds
	RequestID string // the proxy's request id (X-Request-ID)
	UserName  string // the username that was tried
	Action    string // what happened, looked up in Outcomes
	SourceIP  string // client address as the application saw it
	UserAgent string
	Path      string // URL path of the request

	// Outcomes maps Action values to event.outcome values ("success",
	// "failure" or "unknown"). Lines whose action is not listed are
	// ignored.
	Outcomes map[string]string
}

// DefaultMapping returns the mapping of the reference line: keys timestamp,
// request_id, username, event, ip, user_agent and path; actions
// login_succeeded (success), login_failed and user_locked_out (failure).
func DefaultMapping() Mapping {
	return Mapping{
		Time:      "timestamp",
		RequestID: "request_id",
		UserName:  "username",
		Action:    "event",
		SourceIP:  "ip",
		UserAgent: "user_agent",
		Path:      "path",
		Outcomes: map[string]string{
			"login_succeeded": event.OutcomeSuccess,
			"login_failed":    event.OutcomeFailure,
			"user_locked_out": event.OutcomeFailure,
		},
	}
}

// Slots of the mapped keys in a parser's scan.
const (
	slotTime = iota
	slotAction
	slotRequestID
	slotUserName
	slotSourceIP
	slotUserAgent
	slotPath
	numSlots
)

// Format.byFirst holds one bit per slot.
var _ [8 - numSlots]struct{}

// slotFields gives the record field of each slot after Time and Action.
var slotFields = [numSlots]event.Field{
	slotAction:    event.Action,
	slotRequestID: event.RequestID,
	slotUserName:  event.UserName,
	slotSourceIP:  event.SourceIP,
	slotUserAgent: event.UserAgent,
	slotPath:      event.URLPath,
}

// Format is a compiled Django JSON mapping. It is safe for concurrent use;
// its parsers are not.
type Format struct {
	mapping  Mapping
	keys     [numSlots]string
	outcomes map[string][]byte
	// few lists the outcomes when there are only a few, which are
	// quicker to compare one by one than to look up.
	few []actionOutcome
	// byFirst has bit i set for the first byte of keys[i], so that most
	// keys of a line are passed over after one look-up.
	byFirst [256]uint8
	only    jsonscan.Keys  // the mapped keys
	loc     *time.Location // of times without an offset; nil: UTC
}

// NewFormat checks a mapping and compiles it.
func NewFormat(m Mapping) (*Format, error) {
	f := &Format{mapping: m, outcomes: make(map[string][]byte, len(m.Outcomes))}
	f.mapping.Outcomes = maps.Clone(m.Outcomes)
	names := [numSlots]string{"time", "action", "request_id", "username", "source_ip", "user_agent", "path"}
	f.keys = [numSlots]string{m.Time, m.Action, m.RequestID, m.UserName, m.SourceIP, m.UserAgent, m.Path}
	if m.Time == "" {
		return nil, errors.New("django mapping: the time key is required")
	}
	if m.Action == "" {
		return nil, errors.New("django mapping: the action key is required")
	}
	seen := make(map[string]string, numSlots)
	for i, k := range f.keys {
		if k == "" {
			continue
		}
		if strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") || strings.Contains(k, "..") {
			return nil, fmt.Errorf("django mapping: %s key %q: expected dot-separated names without empty parts", names[i], k)
		}
		if other, ok := seen[k]; ok {
			return nil, fmt.Errorf("django mapping: key %q is mapped to both %s and %s", k, other, names[i])
		}
		seen[k] = names[i]
		f.byFirst[k[0]] |= 1 << i
		f.only.Add(k)
	}
	if len(m.Outcomes) == 0 {
		return nil, errors.New("django mapping: expected at least one action in the outcome mapping")
	}
	for action, outcome := range m.Outcomes {
		switch outcome {
		case event.OutcomeSuccess, event.OutcomeFailure, event.OutcomeUnknown:
		default:
			return nil, fmt.Errorf("django mapping: outcome of action %q is %q, expected success, failure or unknown", action, outcome)
		}
		if action == "" {
			return nil, errors.New("django mapping: expected a non-empty action in the outcome mapping")
		}
		f.outcomes[action] = []byte(outcome)
	}
	if len(f.outcomes) <= maxFew {
		for action, outcome := range f.outcomes {
			f.few = append(f.few, actionOutcome{action, outcome})
		}
	}
	return f, nil
}

type actionOutcome struct {
	action  string
	outcome []byte
}

// maxFew is the most outcomes Format.few lists.
const maxFew = 8

// outcome returns the outcome of an action.
func (f *Format) outcome(action []byte) ([]byte, bool) {
	if f.few == nil {
		o, ok := f.outcomes[string(action)]
		return o, ok
	}
	for _, o := range f.few {
		if o.action == string(action) {
			return o.outcome, true
		}
	}
	return nil, false
}

// Name returns "django-json".
func (f *Format) Name() string { return FormatName }

// Mapping returns a copy of the format's mapping.
func (f *Format) Mapping() Mapping {
	m := f.mapping
	m.Outcomes = maps.Clone(f.mapping.Outcomes)
	return m
}

// NewParser returns a parser with its own scratch space.
func (f *Format) NewParser() ingest.Parser {
	p := &Parser{f: f, zone: timestamp.NewZone(f.loc)}
	p.sc.Only = &f.only
	return p
}

// InZone returns the format reading a time string without a zone offset
// (such as Python's datetime.isoformat() of a naive datetime) in loc. A
// time with an offset or Z keeps it, and epoch seconds are UTC. It
// implements ingest.Zoner.
func (f *Format) InZone(loc *time.Location) ingest.Format {
	g := *f
	g.loc = loc
	return &g
}

type span struct {
	start, end int
	kind       jsonscan.Kind
}

// Parser reads lines of one Format. Values of the records it fills are valid
// until its next call.
type Parser struct {
	f     *Format
	zone  *timestamp.Zone // reads times without an offset
	sc    jsonscan.Scanner
	buf   []byte // copies of the mapped values of the current line
	spans [numSlots]span
}

// Parse reads one JSON line into r. It sets r.Kind, r.Time and the fields
// the mapping names (event.Action, event.Outcome, event.RequestID,
// event.UserName, event.SourceIP, event.UserAgent, event.URLPath); empty
// strings and nulls are absent values. A line whose action the outcome
// mapping does not list yields ingest.ErrIgnore; a line without a time or an
// action, or that is not a JSON object, an *ingest.SyntaxError.
func (p *Parser) Parse(line []byte, r *event.Record) error {
	if cap(p.buf) < len(line) {
		// Unescaped values are never longer than their JSON text, so
		// the copies of one line always fit.
		p.buf = make([]byte, 0, len(line))
	}
	p.buf = p.buf[:0]
	p.spans = [numSlots]span{}
	if err := p.sc.Scan(line, p.member); err != nil {
		return err
	}
	action := p.value(slotAction)
	if action == nil {
		return &ingest.SyntaxError{Msg: "expected key " + strconv.Quote(p.f.keys[slotAction]) + " with the action"}
	}
	outcome, ok := p.f.outcome(action)
	if !ok {
		return ingest.ErrIgnore
	}
	t := p.value(slotTime)
	if t == nil {
		return &ingest.SyntaxError{Msg: "expected key " + strconv.Quote(p.f.keys[slotTime]) + " with the event time"}
	}
	var ts int64
	var err error
	switch p.spans[slotTime].kind {
	case jsonscan.Number:
		ts, err = timestamp.ParseEpoch(t)
	case jsonscan.String:
		ts, err = p.zone.Parse(t)
	default:
		err = errors.New("expected a string or a number")
	}
	if err != nil {
		msg := err.Error()
		var te *timestamp.Error
		if errors.As(err, &te) {
			msg = te.Msg + " at byte " + strconv.Itoa(te.Offset)
		}
		return &ingest.SyntaxError{Msg: "key " + strconv.Quote(p.f.keys[slotTime]) + ": " + msg + " of " + strconv.Quote(string(t))}
	}
	r.Kind = event.App
	r.Time = ts
	for i := slotAction; i < numSlots; i++ {
		r.Values[slotFields[i]] = p.value(i)
	}
	r.Values[event.Outcome] = outcome
	return nil
}

// value returns the copied value of a slot, nil when absent.
func (p *Parser) value(slot int) []byte {
	s := p.spans[slot]
	if s.end == s.start {
		return nil
	}
	return p.buf[s.start:s.end:s.end]
}

// member records the values of the mapped keys; it is the scanner's
// callback.
func (p *Parser) member(key, val []byte, kind jsonscan.Kind) error {
	if len(key) == 0 {
		return nil
	}
	for m := p.f.byFirst[key[0]]; m != 0; m &= m - 1 {
		i := bits.TrailingZeros8(m)
		if string(key) != p.f.keys[i] {
			continue
		}
		if kind == jsonscan.Null || len(val) == 0 {
			p.spans[i] = span{}
			return nil
		}
		start := len(p.buf)
		p.buf = append(p.buf, val...)
		p.spans[i] = span{start: start, end: len(p.buf), kind: kind}
		return nil
	}
	return nil
}
