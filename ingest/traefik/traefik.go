// Package traefik reads Traefik v3 JSON access logs.
//
// Traefik logs the client certificate's subject only (TLSClientSubject,
// rendered by Go's pkix.Name.String): no issuer, serial or fingerprint. The
// passTLSClientCert middleware can add X-Forwarded-Tls-Client-Cert (the
// whole certificate) and X-Forwarded-Tls-Client-Cert-Info (subject, issuer,
// serial) to the request, which the access log shows when it keeps those
// headers. But the middleware only sets them when the client presented a
// certificate, on the routes that use it, and never removes a header the
// client sent itself; and the entrypoint keeps client-sent ones when its
// forwardedHeaders trusts the client. The access log cannot tell the
// middleware's headers from a client's, and a client holding one
// certificate could send headers naming its own subject with any issuer,
// serial or certificate, so no field is taken from them: TLSClientSubject
// is the identity. The headers are only checked: those on a line without
// TLSClientSubject, that do not parse, or whose subject disagrees with
// TLSClientSubject were sent by the client, and their lines are counted
// (ingest.FlagCertHeaderIgnored).
//
// source.ip is the host of ClientAddr, the TCP peer: Traefik's ClientHost is
// the whole X-Forwarded-For header when the request has one.
//
// The event time is StartUTC, or StartLocal on lines without StartUTC.
package traefik

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/jsonscan"
	"github.com/spraywatch/spraywatch/ingest/timestamp"
	"github.com/spraywatch/spraywatch/ingest/x509cert"
)

// Default keys of the headers spraywatch reads, as Traefik names kept
// request headers: "request_" and the canonical header name.
const (
	DefaultRequestIDKey = "request_X-Request-Id"
	CertKey             = "request_X-Forwarded-Tls-Client-Cert"
	CertInfoKey         = "request_X-Forwarded-Tls-Client-Cert-Info"
)

// Options configure a Format. The zero value reads the defaults.
type Options struct {
	// RequestIDKey is the JSON key holding the request id:
	// DefaultRequestIDKey when empty; "TraceId" reads the tracing id, and
	// "request_X-Correlation-Id" a kept X-Correlation-Id header.
	RequestIDKey string
	// Certs caches whole certificates; when nil the format makes its own.
	Certs *x509cert.Cache
}

type slot uint8

const (
	slotNone slot = iota
	slotTime
	slotTimeLocal
	slotIP
	slotPort
	slotAddr
	slotMethod
	slotPath
	slotStatus
	slotBytes
	slotUA
	slotRequestID
	slotSubject
	slotCert
	slotCertInfo
)

// Format is the Traefik JSON access log format. It is safe for concurrent
// use.
type Format struct {
	requestIDKey string
	certs        *x509cert.Cache
	keys         jsonscan.Keys // the keys slotOf knows
	skimKeys     jsonscan.Keys // the keys a skim reads once want said no
}

// New returns the Traefik JSON access log format.
func New(o Options) (*Format, error) {
	rid := o.RequestIDKey
	if rid == "" {
		rid = DefaultRequestIDKey
	}
	f := &Format{requestIDKey: rid}
	if s := f.slotOf([]byte(rid)); s != slotRequestID {
		return nil, fmt.Errorf("traefik: request id key %q is already read as another field", rid)
	}
	c := o.Certs
	if c == nil {
		c = x509cert.NewCache(0)
	}
	f.certs = c
	for _, k := range slotKeys {
		f.keys.Add(k)
	}
	f.keys.Add(rid)
	for _, k := range slotKeys {
		if !dropped(f.slotOf([]byte(k))) {
			f.skimKeys.Add(k)
		}
	}
	f.skimKeys.Add(rid)
	return f, nil
}

// Flags returns the flag the format's parsers raise,
// ingest.FlagCertHeaderIgnored: a line read in full whose
// X-Forwarded-Tls-Client-Cert or X-Forwarded-Tls-Client-Cert-Info value
// disagrees: on a line without TLSClientSubject, that does not parse,
// whose subject disagrees with TLSClientSubject, or (the Info header)
// without a Subject to compare. Such headers were sent by the client, or
// the middleware's info option leaves out the subject. (No header is
// used, agreeing or not.) It implements ingest.FlagRaiser.
func (f *Format) Flags() []ingest.Flag { return []ingest.Flag{ingest.FlagCertHeaderIgnored} }

// Name returns "traefik".
func (f *Format) Name() string { return "traefik" }

// NewParser returns a parser with its own scratch space.
func (f *Format) NewParser() ingest.Parser {
	p := &parser{f: f}
	p.sc.Only = &f.keys
	p.member = p.onMember
	return p
}

type parser struct {
	f      *Format
	flags  *ingest.Flagged // see CountFlags
	r      *event.Record
	sc     jsonscan.Scanner
	norm   x509cert.Normalizer
	member func(key, val []byte, kind jsonscan.Kind) error

	// The times are parsed once the line is read: StartUTC when there is
	// one, else StartLocal.
	utc, local          []byte
	host, port, addr    []byte
	subject, cert, info []byte

	// Skim (see skim.go).
	sk     ingest.SkimState // a skim keeps only the values it reads
	seen   uint8            // seenMethod, seenPath: read by Parse and Skim
	defers []deferred       // members read before want was asked
	dbuf   []byte           // their values
	certs  x509cert.Checker // checks the subject a skim does not keep
}

func (p *parser) Parse(line []byte, r *event.Record) error {
	p.sk.Reset()
	return p.parse(line, r)
}

func (p *parser) parse(line []byte, r *event.Record) error {
	r.Reset()
	r.Kind = event.Proxy
	p.r = r
	p.norm.Reset()
	p.utc, p.local = nil, nil
	p.host, p.port, p.addr = nil, nil, nil
	p.subject, p.cert, p.info = nil, nil, nil
	p.sc.Only = &p.f.keys
	p.seen, p.defers, p.dbuf = 0, p.defers[:0], p.dbuf[:0]
	if err := p.sc.Scan(line, p.member); err != nil {
		return err
	}
	if p.sk.Skimming {
		return p.checkFinish()
	}
	return p.finish()
}

func isUnset(v []byte) bool { return len(v) == 0 || len(v) == 1 && v[0] == '-' }

// slotKeys are the fixed keys of slotOf, which the scanner reports.
var slotKeys = [...]string{"StartUTC", "StartLocal", "ClientHost", "ClientPort", "ClientAddr",
	"RequestMethod", "RequestPath", "DownstreamStatus", "DownstreamContentSize",
	"request_User-Agent", "TLSClientSubject", CertKey, CertInfoKey}

// slotOf finds what a key holds. A switch on the fixed keys is cheaper than a
// map lookup for the many keys Traefik writes that spraywatch skips.
func (f *Format) slotOf(key []byte) slot {
	switch string(key) {
	case "StartUTC":
		return slotTime
	case "StartLocal":
		return slotTimeLocal
	case "ClientHost":
		return slotIP
	case "ClientPort":
		return slotPort
	case "ClientAddr":
		return slotAddr
	case "RequestMethod":
		return slotMethod
	case "RequestPath":
		return slotPath
	case "DownstreamStatus":
		return slotStatus
	case "DownstreamContentSize":
		return slotBytes
	case "request_User-Agent":
		return slotUA
	case "TLSClientSubject":
		return slotSubject
	case CertKey:
		return slotCert
	case CertInfoKey:
		return slotCertInfo
	}
	if string(key) == f.requestIDKey {
		return slotRequestID
	}
	return slotNone
}

func (p *parser) onMember(key, val []byte, kind jsonscan.Kind) error {
	s := p.f.slotOf(key)
	if s == slotNone {
		return nil
	}
	if b := seenBit(s); b != 0 {
		// Which of two methods or paths counts would depend on whether
		// want was asked before the second: neither does.
		if p.seen&b != 0 {
			return &ingest.SyntaxError{Msg: fmt.Sprintf("key %q appears twice", key)}
		}
		p.seen |= b
	}
	if p.sk.Skimming {
		return p.skimMember(s, val, kind)
	}
	if kind == jsonscan.Null || isUnset(val) {
		return nil
	}
	p.set(s, val)
	return nil
}

// set reads the value of a slot.
func (p *parser) set(s slot, val []byte) {
	r := p.r
	switch s {
	case slotTime:
		p.utc = p.norm.Copy(val)
	case slotTimeLocal:
		p.local = p.norm.Copy(val)
	case slotIP:
		p.host = p.norm.Copy(val)
	case slotPort:
		p.port = p.norm.Copy(val)
	case slotAddr:
		p.addr = p.norm.Copy(val)
	case slotMethod:
		r.Values[event.Method] = p.norm.Copy(val)
	case slotPath:
		if i := bytes.IndexByte(val, '?'); i >= 0 {
			val = val[:i]
		}
		r.Values[event.URLPath] = p.norm.Copy(val)
	case slotStatus:
		r.Values[event.Status] = p.norm.Copy(val)
	case slotBytes:
		r.Values[event.BodyBytes] = p.norm.Copy(val)
	case slotUA:
		r.Values[event.UserAgent] = p.norm.Copy(val)
	case slotRequestID:
		r.Values[event.RequestID] = p.norm.Copy(val)
	case slotSubject:
		p.subject = p.norm.Copy(val)
	case slotCert:
		p.cert = p.norm.Copy(val)
	case slotCertInfo:
		p.info = p.norm.Copy(val)
	}
}

// CountFlags has the parser count in c the lines it reads in full with a
// certificate header it ignores (ingest.FlagCertHeaderIgnored, once a
// line). It implements ingest.Flagger.
func (p *parser) CountFlags(c *ingest.Flagged) { p.flags = c }

func (p *parser) finish() error {
	if err := p.setTime(); err != nil {
		return err
	}
	p.setSource()
	if p.subject == nil {
		// No client certificate: the middleware sets no header.
		if p.cert != nil || p.info != nil {
			p.flags.Add(ingest.FlagCertHeaderIgnored)
		}
		return nil
	}
	r := p.r
	subject, err := p.norm.DN(p.subject)
	if err != nil {
		return &ingest.SyntaxError{Msg: fmt.Sprintf("TLSClientSubject: %v", err)}
	}
	r.Values[event.TLSSubject] = subject
	ignored := false
	if p.cert != nil {
		// Checked, never used: a client can send the header with any
		// certificate of its subject (see the package doc).
		info, err := p.f.certs.Parse(p.cert)
		if err != nil || info.GoSubject != string(subject) {
			ignored = true
		}
	}
	if p.info != nil && !p.certInfo(p.info, subject) {
		ignored = true
	}
	if ignored {
		p.flags.Add(ingest.FlagCertHeaderIgnored)
	}
	return nil
}

// setSource sets source.ip and source.port from ClientAddr, the TCP peer,
// or, on a line without it, from ClientHost and ClientPort when ClientHost
// is one address rather than an X-Forwarded-For list.
func (p *parser) setSource() {
	r := p.r
	if p.addr != nil {
		host, port := splitHostPort(p.addr)
		r.Values[event.SourceIP] = host
		if len(port) == 0 {
			port = p.port
		}
		r.Values[event.SourcePort] = port
		return
	}
	if p.host != nil && bytes.IndexAny(p.host, ", ") < 0 {
		r.Values[event.SourceIP] = p.host
		r.Values[event.SourcePort] = p.port
	}
}

// setTime reads the line's time into the record: StartUTC, or else
// StartLocal.
func (p *parser) setTime() error {
	key, val := "StartUTC", p.utc
	if val == nil {
		key, val = "StartLocal", p.local
	}
	if val == nil {
		return &ingest.SyntaxError{Msg: "no StartUTC or StartLocal value on the line"}
	}
	t, err := timestamp.ParseRFC3339(val)
	if err != nil {
		return &ingest.SyntaxError{Msg: fmt.Sprintf("%s: %v", key, err)}
	}
	if t == 0 {
		// The zero time stands for no time in a record.
		return &ingest.SyntaxError{Msg: key + ": expected a time after 1970-01-01T00:00:00Z"}
	}
	p.r.Time = t
	return nil
}

func splitHostPort(v []byte) (host, port []byte) {
	if len(v) > 0 && v[0] == '[' {
		if i := bytes.IndexByte(v, ']'); i >= 0 {
			if i+1 < len(v) && v[i+1] == ':' {
				return v[1:i], v[i+2:]
			}
			return v[1:i], nil
		}
	}
	i := bytes.LastIndexByte(v, ':')
	if i < 0 || bytes.IndexByte(v[:i], ':') >= 0 {
		return v, nil
	}
	return v[:i], v[i+1:]
}

// certInfo reads the first certificate of an X-Forwarded-Tls-Client-Cert-Info
// value: URL query-escaped Subject="..";Issuer="..";SerialNumber="..";...,
// the DNs least specific attribute first, the serial in decimal. It
// reports whether the header parses and its subject agrees with subject,
// the canonical TLSClientSubject; it fills nothing.
func (p *parser) certInfo(v []byte, subject []byte) bool {
	m := p.norm.Mark()
	if err := p.queryUnescape(v); err != nil {
		return false
	}
	s := p.norm.Since(m)
	var hdrSubject, issuer, serial []byte
	for len(s) > 0 {
		eq := bytes.IndexByte(s, '=')
		if eq < 0 {
			return false
		}
		key := s[:eq]
		s = s[eq+1:]
		var val []byte
		if len(s) > 0 && s[0] == '"' {
			end := bytes.IndexByte(s[1:], '"')
			// Values are not escaped: a quote ends the value only before ';', ',' or the end.
			for end >= 0 && 1+end+1 < len(s) && s[1+end+1] != ';' && s[1+end+1] != ',' {
				next := bytes.IndexByte(s[1+end+1:], '"')
				if next < 0 {
					end = -1
					break
				}
				end += 1 + next
			}
			if end < 0 {
				return false
			}
			val = s[1 : 1+end]
			s = s[1+end+1:]
		} else {
			end := bytes.IndexAny(s, ";,")
			if end < 0 {
				end = len(s)
			}
			val, s = s[:end], s[end:]
		}
		if len(val) > 0 {
			var err error
			switch string(key) {
			case "Subject":
				hdrSubject, err = p.reversedDN(val)
			case "Issuer":
				issuer, err = p.reversedDN(val)
			case "SerialNumber":
				serial, err = p.decimalSerial(val)
			}
			if err != nil {
				return false
			}
		}
		if len(s) == 0 || s[0] == ',' { // the next certificate of a chain
			break
		}
		s = s[1:]
	}
	_, _ = issuer, serial // read to check the header, never used
	return hdrSubject != nil && attrsWithin(hdrSubject, subject)
}

// maxAttrs bounds the attributes attrsWithin compares.
const maxAttrs = 64

// attrsWithin reports whether every attribute of the canonical DN sub is
// one of the canonical DN super, each matched once: the Info header holds
// the attributes its configuration selects, in its own order, one per RDN.
// DNs of more than maxAttrs attributes are not compared (false).
func attrsWithin(sub, super []byte) bool {
	var a, b [maxAttrs][]byte
	na, ok := splitAttrs(sub, &a)
	if !ok {
		return false
	}
	nb, ok := splitAttrs(super, &b)
	if !ok {
		return false
	}
	var used uint64
next:
	for _, x := range a[:na] {
		for k, y := range b[:nb] {
			if used&(1<<k) == 0 && bytes.Equal(x, y) {
				used |= 1 << k
				continue next
			}
		}
		return false
	}
	return true
}

// splitAttrs splits a canonical DN at the ',' and '+' that are not escaped.
func splitAttrs(d []byte, out *[maxAttrs][]byte) (int, bool) {
	n, s := 0, 0
	for k := 0; k <= len(d); k++ {
		if k < len(d) {
			switch d[k] {
			case '\\':
				k++
				continue
			case ',', '+':
			default:
				continue
			}
		}
		if n == maxAttrs {
			return 0, false
		}
		out[n] = d[s:min(k, len(d))]
		n++
		s = k + 1
	}
	return n, true
}

func (p *parser) queryUnescape(v []byte) error {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			if i+2 >= len(v) || !isHex(v[i+1]) || !isHex(v[i+2]) {
				return fmt.Errorf("bad escape at byte %d", i+1)
			}
			c = unhex(v[i+1])<<4 | unhex(v[i+2])
			i += 2
		}
		p.norm.Append(c)
	}
	return nil
}

// reversedDN turns the Info header's least-specific-first DN into canonical
// form. Its values are not escaped, so a comma starts a new attribute only
// before TYPE=; they are escaped here, a leading '#' or space and a trailing
// space included. The header writes the serialNumber attribute as SN.
func (p *parser) reversedDN(v []byte) ([]byte, error) {
	var cuts [64]int
	n := 0
	cuts[n] = -1
	n++
	for i := 0; i < len(v) && n < len(cuts)-1; i++ {
		if v[i] == ',' && startsAttr(v[i+1:]) {
			cuts[n] = i
			n++
		}
	}
	cuts[n] = len(v)
	m := p.norm.Mark()
	for k := n; k > 0; k-- {
		part := v[cuts[k-1]+1 : cuts[k]]
		if k != n {
			p.norm.Append(',')
		}
		eq := bytes.IndexByte(part, '=')
		if eq < 0 {
			return nil, fmt.Errorf("attribute %q without '='", part)
		}
		if string(part[:eq]) == "SN" {
			// The subject's serialNumber attribute, which RFC 4519 and
			// package dn call serialNumber (SN is surname there).
			p.norm.Append([]byte("serialNumber=")...)
		} else {
			p.norm.Append(part[:eq+1]...)
		}
		val := part[eq+1:]
		for k, c := range val {
			switch {
			case c == ',', c == '+', c == '"', c == '\\', c == '<', c == '>', c == ';',
				k == 0 && (c == '#' || c == ' '),
				k == len(val)-1 && c == ' ':
				p.norm.Append('\\')
			}
			p.norm.Append(c)
		}
	}
	return p.norm.DN(p.norm.Since(m))
}

func startsAttr(b []byte) bool {
	i := 0
	for i < len(b) && (b[i] >= 'A' && b[i] <= 'Z' || b[i] >= 'a' && b[i] <= 'z') {
		i++
	}
	return i > 0 && i < len(b) && b[i] == '='
}

// decimalSerial converts a decimal serial to canonical hex.
func (p *parser) decimalSerial(v []byte) ([]byte, error) {
	if n, err := strconv.ParseUint(string(v), 10, 64); err == nil {
		m := p.norm.Mark()
		var tmp [16]byte
		h := strconv.AppendUint(tmp[:0], n, 16)
		for i, c := range h {
			if c >= 'a' {
				h[i] = c - 'a' + 'A'
			}
		}
		p.norm.Append(h...)
		return p.norm.Since(m), nil
	}
	b, ok := new(big.Int).SetString(string(v), 10)
	if !ok {
		return nil, errors.New("SerialNumber: not a decimal number")
	}
	return p.norm.Copy([]byte(strings.ToUpper(b.Text(16)))), nil
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
