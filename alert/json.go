package alert

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the alert as one line of JSON (with a newline).
//
// The line is byte for byte what encoding/json's Marshal writes for the
// alert (field order, omitempty, map keys in sorted order, HTML-safe
// string escaping, invalid UTF-8 as U+FFFD, float64 formatting), followed
// by a newline, without reflection or allocation. A NaN or infinite float
// fails with Marshal's error and appends nothing. TestAppendJSONEveryField
// fails when a field is added to the schema and not here.
func (a *Alert) AppendJSON(b []byte) ([]byte, error) {
	if a == nil {
		return append(b, "null\n"...), nil
	}
	e := encoder{b: b}
	e.alert(a)
	if e.bad {
		return b, a.floatErr()
	}
	return append(e.b, '\n'), nil
}

// floatErr returns the error encoding/json's Marshal gives for an alert
// with a NaN or infinite float, as before AppendJSON stopped using it.
func (a *Alert) floatErr() error {
	_, err := json.Marshal(a)
	if err == nil {
		err = errors.New("alert: float not finite")
	}
	return err
}

// encoder appends JSON to b the way encoding/json encodes the schema's types.
type encoder struct {
	b   []byte
	bad bool // a float was NaN or infinite: Marshal fails on it
}

func (e *encoder) alert(a *Alert) {
	e.b = append(e.b, `{"schema":`...)
	e.str(a.Schema)
	e.b = append(e.b, `,"id":`...)
	e.str(a.ID)
	e.b = append(e.b, `,"incident_id":`...)
	e.str(a.IncidentID)
	e.b = append(e.b, `,"sequence":`...)
	e.int(a.Sequence)
	e.b = append(e.b, `,"rule":`...)
	e.str(a.Rule)
	if a.Description != "" {
		e.b = append(e.b, `,"description":`...)
		e.str(a.Description)
	}
	e.b = append(e.b, `,"severity":`...)
	e.str(a.Severity)
	e.b = append(e.b, `,"status":`...)
	e.str(a.Status)
	e.b = append(e.b, `,"group":`...)
	e.strMap(a.Group)
	if a.Identity != nil {
		e.b = append(e.b, `,"identity":`...)
		e.identity(a.Identity)
	}
	e.b = append(e.b, `,"first_seen":`...)
	e.str(a.FirstSeen)
	e.b = append(e.b, `,"last_seen":`...)
	e.str(a.LastSeen)
	if a.ResolvedAt != "" {
		e.b = append(e.b, `,"resolved_at":`...)
		e.str(a.ResolvedAt)
	}
	e.b = append(e.b, `,"window":`...)
	e.str(a.Window)
	e.b = append(e.b, `,"threshold":`...)
	e.float(a.Threshold)
	e.b = append(e.b, `,"observed":`...)
	e.float(a.Observed)
	e.b = append(e.b, `,"measure":`...)
	e.str(a.Measure)
	e.b = append(e.b, `,"count":`...)
	e.count(&a.Count)
	e.b = append(e.b, `,"sample":`...)
	e.sample(&a.Sample)
	e.b = append(e.b, `,"threat":`...)
	e.threat(&a.Threat)
	e.b = append(e.b, `,"summary":`...)
	e.str(a.Summary)
	if a.Reason != nil {
		e.b = append(e.b, `,"reason":`...)
		e.reason(a.Reason)
	}
	if a.Classification != nil {
		e.b = append(e.b, `,"classification":`...)
		e.classification(a.Classification)
	}
	if a.Account != "" {
		e.b = append(e.b, `,"account":`...)
		e.str(a.Account)
	}
	if a.Truncated != 0 {
		e.b = append(e.b, `,"truncated":`...)
		e.int(a.Truncated)
	}
	e.b = append(e.b, '}')
}

func (e *encoder) identity(id *Identity) {
	// Every field is omitempty: the first one written has no comma.
	n := len(e.b)
	e.optStr(n, `"tls.client.subject":`, id.Subject)
	e.optStr(n, `"tls.client.issuer":`, id.Issuer)
	e.optStr(n, `"tls.client.hash.sha1":`, id.SHA1)
	e.optStr(n, `"tls.client.hash.sha256":`, id.SHA256)
	e.optStr(n, `"tls.client.x509.serial_number":`, id.Serial)
	if len(e.b) == n {
		e.b = append(e.b, '{')
	}
	e.b = append(e.b, '}')
}

// optStr appends key and s unless s is empty, opening the object at start
// with '{' if nothing was appended since start, else ','.
func (e *encoder) optStr(start int, key, s string) {
	if s == "" {
		return
	}
	if len(e.b) == start {
		e.b = append(e.b, '{')
	} else {
		e.b = append(e.b, ',')
	}
	e.b = append(e.b, key...)
	e.str(s)
}

func (e *encoder) count(c *Count) {
	e.b = append(e.b, `{"events":`...)
	e.int(c.Events)
	e.b = append(e.b, `,"failures":`...)
	e.int(c.Failures)
	e.b = append(e.b, `,"successes":`...)
	e.int(c.Successes)
	e.b = append(e.b, `,"distinct_users":`...)
	e.int(c.DistinctUsers)
	e.b = append(e.b, '}')
}

func (e *encoder) sample(s *Sample) {
	e.b = append(e.b, `{"user.name":`...)
	e.strs(s.UserNames)
	if s.UserNamesTruncated != 0 {
		e.b = append(e.b, `,"user.name_truncated":`...)
		e.int(s.UserNamesTruncated)
	}
	e.b = append(e.b, `,"http.request.id":`...)
	e.strs(s.RequestIDs)
	e.b = append(e.b, `,"source.ip":`...)
	e.strs(s.SourceIPs)
	if s.SourceIPsTruncated != 0 {
		e.b = append(e.b, `,"source.ip_truncated":`...)
		e.int(s.SourceIPsTruncated)
	}
	e.b = append(e.b, '}')
}

func (e *encoder) threat(t *Threat) {
	e.b = append(e.b, `{"framework":`...)
	e.str(t.Framework)
	e.b = append(e.b, `,"technique":{"id":`...)
	e.str(t.Technique.ID)
	e.b = append(e.b, `,"name":`...)
	e.str(t.Technique.Name)
	e.b = append(e.b, "}}"...)
}

func (e *encoder) reason(r *Reason) {
	e.b = append(e.b, `{"type":`...)
	e.str(r.Type)
	e.b = append(e.b, `,"measure":`...)
	e.str(r.Measure)
	e.b = append(e.b, `,"threshold":`...)
	e.float(r.Threshold)
	e.b = append(e.b, `,"observed":`...)
	e.float(r.Observed)
	e.optInt(`,"min_events":`, r.MinEvents)
	e.optInt(`,"events":`, r.Events)
	if r.Ratio != 0 {
		e.b = append(e.b, `,"ratio":`...)
		e.float(r.Ratio)
	}
	e.optInt(`,"min_attempts":`, r.MinAttempts)
	if r.BaselineMean != nil {
		e.b = append(e.b, `,"baseline_mean":`...)
		e.float(*r.BaselineMean)
	}
	if r.BaselineSpread != nil {
		e.b = append(e.b, `,"baseline_spread":`...)
		e.float(*r.BaselineSpread)
	}
	e.optInt(`,"baseline_samples":`, r.BaselineSamples)
	if r.Sigma != 0 {
		e.b = append(e.b, `,"sigma":`...)
		e.float(r.Sigma)
	}
	e.optInt(`,"floor":`, r.Floor)
	e.b = append(e.b, '}')
}

func (e *encoder) classification(c *Classification) {
	e.b = append(e.b, `{"kind":`...)
	e.str(c.Kind)
	e.b = append(e.b, `,"users":`...)
	e.int(c.Users)
	e.b = append(e.b, `,"attempts":`...)
	e.int(c.Attempts)
	e.b = append(e.b, `,"max_attempts_per_user":`...)
	e.int(c.MaxAttemptsPerUser)
	e.b = append(e.b, `,"mean_attempts_per_user":`...)
	e.float(c.MeanAttemptsPerUser)
	e.b = append(e.b, `,"basis":`...)
	e.str(c.Basis)
	e.b = append(e.b, '}')
}

// optInt appends key and i unless i is 0 (omitempty).
func (e *encoder) optInt(key string, i int) {
	if i != 0 {
		e.b = append(e.b, key...)
		e.int(i)
	}
}

func (e *encoder) int(i int) {
	e.b = strconv.AppendInt(e.b, int64(i), 10)
}

// float appends f as encoding/json encodes a float64: like ES6's number to
// string conversion, 'e' notation below 1e-6 and from 1e21 on, without a
// leading zero in a negative exponent.
func (e *encoder) float(f float64) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		e.bad = true
		return
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	e.b = strconv.AppendFloat(e.b, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9
		n := len(e.b)
		if n >= 4 && e.b[n-4] == 'e' && e.b[n-3] == '-' && e.b[n-2] == '0' {
			e.b[n-2] = e.b[n-1]
			e.b = e.b[:n-1]
		}
	}
}

// strs appends a []string: null when nil, [] when empty.
func (e *encoder) strs(ss []string) {
	if ss == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '[')
	for i, s := range ss {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.str(s)
	}
	e.b = append(e.b, ']')
}

// strMap appends a map[string]string: null when nil, else its entries in
// the order of their keys' bytes, as encoding/json sorts them.
func (e *encoder) strMap(m map[string]string) {
	if m == nil {
		e.b = append(e.b, "null"...)
		return
	}
	var arr [8]string
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	// Insertion sort: groups have a handful of keys.
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	e.b = append(e.b, '{')
	for i, k := range keys {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.str(k)
		e.b = append(e.b, ':')
		e.str(m[k])
	}
	e.b = append(e.b, '}')
}

// htmlSafe holds the ASCII bytes encoding/json writes as they are in a
// string when escaping HTML: not control characters, '"', '\\', '<', '>'
// or '&' (DEL is written as is).
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// str appends s as a JSON string the way encoding/json does (with
// HTMLEscape on): \" \\ \b \f \n \r \t, other control characters and < > &
// as \u00XX, U+2028 and U+2029 as \u2028 and \u2029, each byte of invalid
// UTF-8 as \ufffd.
func (e *encoder) str(s string) {
	b := append(e.b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if htmlSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	e.b = append(b, '"')
}
