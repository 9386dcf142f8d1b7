// Package envoy reads Envoy access logs compiled from the user's own format
// definition: text formats (a format string of command operators, Envoy's
// default format included) and JSON formats (a json_format or
// typed_json_format map of keys to operators).
//
// The operators spraywatch maps are the client certificate ones
// (%DOWNSTREAM_PEER_SUBJECT%, _ISSUER%, _FINGERPRINT_256%, _FINGERPRINT_1%,
// _SERIAL%, _URI_SAN%, _CERT%), %REQ(X-REQUEST-ID)%, %START_TIME%,
// %DOWNSTREAM_REMOTE_ADDRESS% and its _WITHOUT_PORT form, %REQ(:METHOD)%,
// %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%, %RESPONSE_CODE%, %REQ(USER-AGENT)% and
// %BYTES_SENT% (request headers may also be spelled %REQUEST_HEADER(...)%).
// Other operators are matched and skipped.
package envoy

import (
	"bytes"
	"fmt"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/jsonscan"
	"github.com/spraywatch/spraywatch/ingest/timestamp"
	"github.com/spraywatch/spraywatch/ingest/x509cert"
)

// Default is Envoy's default text access log format. Newer Envoy releases
// spell it with %REQUEST_HEADER(...)% and %RESPONSE_HEADER(...)%; the lines
// are the same.
const Default = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"` + "\n"

// ReferenceJSON is the json_format recommended for spraywatch: the request,
// the client address and every client certificate field.
const ReferenceJSON = `json_format:
  start_time: "%START_TIME%"
  request_id: "%REQ(X-REQUEST-ID)%"
  client: "%DOWNSTREAM_REMOTE_ADDRESS%"
  method: "%REQ(:METHOD)%"
  path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"
  status: "%RESPONSE_CODE%"
  bytes_sent: "%BYTES_SENT%"
  user_agent: "%REQ(USER-AGENT)%"
  peer_subject: "%DOWNSTREAM_PEER_SUBJECT%"
  peer_issuer: "%DOWNSTREAM_PEER_ISSUER%"
  peer_serial: "%DOWNSTREAM_PEER_SERIAL%"
  peer_sha256: "%DOWNSTREAM_PEER_FINGERPRINT_256%"
  peer_sha1: "%DOWNSTREAM_PEER_FINGERPRINT_1%"
  peer_uri_san: "%DOWNSTREAM_PEER_URI_SAN%"
`

// Format is a compiled Envoy access log format. It is safe for concurrent
// use; each goroutine takes its own parser.
type Format struct {
	name  string
	text  *program            // text formats
	keys  map[string]jsonItem // JSON formats: dotted key -> what it holds
	index keyIndex            // keys, for parsers
	only  jsonscan.Keys       // keys, for the scanner
	certs *x509cert.Cache
	loc   *time.Location // of %START_TIME% values without an offset; nil: UTC

	// Skim (see skim.go).
	skimmable   bool          // no operator whose check needs the full parse
	decide      int           // text: the operator after which Skim asks want; -1 at the end
	requestKeys uint64        // JSON: the jsonItem.once bits of the keys giving the method or path
	skimOnly    jsonscan.Keys // JSON: the keys a skim reads once want said no
}

type jsonItem struct {
	op   operator
	text *program // a value mixing text and operators; nil for a lone operator
	// once is the item's bit of parser.once and Format.requestKeys when
	// it gives the method or the path (set by prepareSkim), else 0.
	once uint64
}

// Name returns "envoy" or "envoy-json".
func (f *Format) Name() string { return f.name }

// InZone returns the format reading %START_TIME% values without a zone
// offset in loc: an RFC 3339 time without one, or a time of a
// %START_TIME(format)% that writes no zone (no %z, %Z, literal Z, UTC or
// GMT) and no epoch seconds (%s). Envoy writes %START_TIME% in
// UTC, so this is for logs written otherwise (rewritten by a shipper, or
// produced by another program in Envoy's format). It implements
// ingest.Zoner.
func (f *Format) InZone(loc *time.Location) ingest.Format {
	g := *f
	g.loc = loc
	return &g
}

// SetCertCache makes the format's parsers share c for whole certificates
// (%DOWNSTREAM_PEER_CERT%), e.g. with other formats. By default each format
// has a cache of its own.
func (f *Format) SetCertCache(c *x509cert.Cache) { f.certs = c }

// NewParser returns a parser with its own scratch space.
func (f *Format) NewParser() ingest.Parser {
	p := &parser{f: f, zone: timestamp.NewZone(f.loc)}
	p.sc.Only = &f.only
	p.member = p.onMember
	if f.text != nil {
		p.spans = make([]span, len(f.text.ops))
	}
	return p
}

type parser struct {
	f      *Format
	zone   *timestamp.Zone // reads %START_TIME% values without an offset
	r      *event.Record
	norm   x509cert.Normalizer // normalised and copied values of the current line
	cert   []byte
	xfcc   []byte
	sc     jsonscan.Scanner
	err    error
	member func(key, val []byte, kind jsonscan.Kind) error

	// Skim (see skim.go).
	sk     ingest.SkimState // a skim checks the values it does not keep, keeping none of them
	once   uint64           // JSON: jsonItem.once of the keys read so far
	spans  []span           // text: where each operator's value was
	defers []deferred       // JSON: members read before want was asked, to read again in full
	dbuf   []byte           // their values
	certs  x509cert.Checker // checks the certificate values a skim does not keep
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
	p.cert, p.xfcc = nil, nil
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	if p.f.text != nil {
		if err := p.match(p.f.text, line, false, 0); err != nil {
			return err
		}
	} else {
		p.err = nil
		p.sc.Only = &p.f.only
		p.once, p.defers, p.dbuf = 0, p.defers[:0], p.dbuf[:0]
		if err := p.sc.Scan(line, p.member); err != nil {
			if p.err != nil {
				return p.err
			}
			return err
		}
	}
	return p.finish()
}

func (p *parser) onMember(key, val []byte, kind jsonscan.Kind) error {
	it := p.f.index.lookup(key)
	if it == nil {
		return nil
	}
	if it.once != 0 {
		// Which of two methods or paths counts would depend on whether
		// want was asked before the second: neither does.
		if p.once&it.once != 0 {
			p.err = &ingest.SyntaxError{Msg: fmt.Sprintf("key %q appears twice", key)}
			return p.err
		}
		p.once |= it.once
	}
	if p.sk.Asking() {
		return p.skimMember(key, it, val, kind)
	}
	if kind == jsonscan.Null {
		return nil
	}
	return p.item(key, it, val)
}

// item reads the value of a JSON key's item.
func (p *parser) item(key []byte, it *jsonItem, val []byte) error {
	var err error
	if it.text != nil {
		err = p.match(it.text, val, true, 0)
	} else {
		err = p.apply(it.op, val, true)
	}
	if err != nil {
		p.err = &ingest.SyntaxError{Msg: fmt.Sprintf("key %q: %v", key, err)}
		return p.err
	}
	return nil
}

// finish checks the record and completes its identity from a whole
// certificate.
func (p *parser) finish() error {
	r := p.r
	if r.Time == 0 {
		return &ingest.SyntaxError{Msg: "no %START_TIME% value on the line"}
	}
	if p.sk.Skimming {
		return nil // a skimmable format has neither certificates nor XFCC
	}
	if p.cert != nil && (len(r.Values[event.TLSSHA256]) == 0 || len(r.Values[event.TLSSHA1]) == 0 ||
		len(r.Values[event.TLSSubject]) == 0 || len(r.Values[event.TLSSerial]) == 0 ||
		len(r.Values[event.TLSIssuer]) == 0) {
		info, err := p.f.certs.Parse(p.cert)
		if err != nil {
			return &ingest.SyntaxError{Msg: fmt.Sprintf("%%DOWNSTREAM_PEER_CERT%%: %v", err)}
		}
		info.Fill(r)
	}
	if p.xfcc != nil {
		if err := p.fromXFCC(); err != nil {
			return &ingest.SyntaxError{Msg: fmt.Sprintf("x-forwarded-client-cert: %v", err)}
		}
	}
	return nil
}

// fromXFCC fills the identity fields the line lacks from the first element
// of an x-forwarded-client-cert header: the one the proxy that terminated
// the client's TLS connection added.
func (p *parser) fromXFCC() error {
	r := p.r
	els, err := x509cert.ParseXFCC(string(p.xfcc))
	if err != nil || len(els) == 0 {
		return err
	}
	el := els[0]
	if el.Cert != "" {
		info, err := p.f.certs.Parse([]byte(el.Cert))
		if err != nil {
			return fmt.Errorf("Cert: %w", err)
		}
		info.Fill(r)
	}
	if el.Hash != "" && len(r.Values[event.TLSSHA256]) == 0 {
		v, err := p.norm.Fingerprint([]byte(el.Hash))
		if err != nil {
			return fmt.Errorf("Hash: %w", err)
		}
		r.Values[event.TLSSHA256] = v
	}
	if el.Subject != "" && len(r.Values[event.TLSSubject]) == 0 {
		v, err := p.norm.DN([]byte(el.Subject))
		if err != nil {
			return fmt.Errorf("Subject: %w", err)
		}
		r.Values[event.TLSSubject] = v
	}
	if len(el.URI) > 0 && len(r.Values[event.TLSURISAN]) == 0 {
		r.Values[event.TLSURISAN] = []byte(el.URI[0])
	}
	return nil
}

// keep returns v, copied into the line's scratch space when it would not
// outlive the call otherwise.
func (p *parser) keep(v []byte, cp bool) []byte {
	if !cp {
		return v
	}
	return p.norm.Copy(v)
}

func isUnset(v []byte) bool { return len(v) == 0 || len(v) == 1 && v[0] == '-' }

// apply stores one operator's value in the record.
func (p *parser) apply(op operator, v []byte, cp bool) error {
	if op.act == actSkip || isUnset(v) {
		return nil
	}
	r := p.r
	switch op.act {
	case actTime:
		var t int64
		var err error
		if op.layout == nil {
			t, err = p.zone.ParseRFC3339(v)
		} else {
			t, err = op.layout.parse(v, p.zone)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op.name, err)
		}
		r.Time = t
	case actAddr:
		if p.sk.Skimming {
			return nil
		}
		host, port := splitHostPort(v)
		r.Values[event.SourceIP] = p.keep(host, cp)
		if len(port) > 0 {
			r.Values[event.SourcePort] = p.keep(port, cp)
		}
	case actAddrHost:
		if p.sk.Skimming {
			return nil
		}
		if len(v) > 2 && v[0] == '[' && v[len(v)-1] == ']' {
			v = v[1 : len(v)-1]
		}
		r.Values[event.SourceIP] = p.keep(v, cp)
	case actPath:
		if i := bytes.IndexByte(v, '?'); i >= 0 {
			v = v[:i]
		}
		r.Values[event.URLPath] = p.keep(v, cp)
	case actCert:
		p.cert = p.keep(v, cp)
		r.Values[event.TLSCertificate] = p.cert
	case actXFCC:
		p.xfcc = p.keep(v, cp)
	case actField:
		return p.setField(op, v, cp)
	}
	return nil
}

func (p *parser) setField(op operator, v []byte, cp bool) error {
	if p.sk.Skimming && !decides(op) {
		return p.checkField(op, v)
	}
	var err error
	switch op.field {
	case event.TLSSHA1, event.TLSSHA256:
		v, err = p.norm.Fingerprint(v)
	case event.TLSSerial:
		v, err = p.norm.Serial(v)
	case event.TLSSubject, event.TLSIssuer:
		v, err = p.norm.DN(v)
	case event.TLSURISAN:
		// A certificate may carry several URI SANs, logged comma-separated;
		// the first is the identity.
		if i := bytes.IndexByte(v, ','); i >= 0 {
			v = bytes.TrimSpace(v[:i])
		}
		v = p.keep(v, cp)
	default:
		v = p.keep(v, cp)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", op.name, err)
	}
	p.r.Values[op.field] = v
	return nil
}

// splitHostPort splits ip:port and [ipv6]:port. An address without a port
// (a bare IPv4 or IPv6 address) is returned whole as the host.
func splitHostPort(v []byte) (host, port []byte) {
	if v[0] == '[' {
		i := bytes.IndexByte(v, ']')
		if i < 0 {
			return v, nil
		}
		host = v[1:i]
		if i+1 < len(v) && v[i+1] == ':' {
			port = v[i+2:]
		}
		return host, port
	}
	i := bytes.LastIndexByte(v, ':')
	if i < 0 || bytes.IndexByte(v[:i], ':') >= 0 { // no port, or bare IPv6
		return v, nil
	}
	return v[:i], v[i+1:]
}

// certFields are the fields a parsed certificate fills in.
var certFields = []event.Field{event.TLSSubject, event.TLSIssuer, event.TLSSHA1, event.TLSSHA256, event.TLSSerial, event.TLSURISAN}

// fields lists the event fields an operator gives values to.
func (op operator) fields() []event.Field {
	switch op.act {
	case actField:
		return []event.Field{op.field}
	case actAddr:
		return []event.Field{event.SourceIP, event.SourcePort}
	case actAddrHost:
		return []event.Field{event.SourceIP}
	case actPath:
		return []event.Field{event.URLPath}
	case actCert:
		return append([]event.Field{event.TLSCertificate}, certFields...)
	case actXFCC:
		return []event.Field{event.TLSSubject, event.TLSSHA256, event.TLSURISAN}
	}
	return nil
}

// Fields lists the event fields the format's lines give values to, in
// event.Field order: those of the operators it reads. A line may still
// leave any of them empty.
func (f *Format) Fields() []event.Field {
	var has event.FieldSet
	addProgram := func(p *program) {
		if p == nil {
			return
		}
		for _, op := range p.ops {
			has.Add(op.fields()...)
		}
	}
	addProgram(f.text)
	for _, it := range f.keys {
		has.Add(it.op.fields()...)
		addProgram(it.text)
	}
	return has.Fields()
}
