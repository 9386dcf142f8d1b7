package haproxy

import (
	"bytes"
	"fmt"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/timestamp"
	"github.com/spraywatch/spraywatch/ingest/x509cert"
)

// NewParser returns a parser with its own scratch space.
func (f *Format) NewParser() ingest.Parser {
	return &parser{f: f, spans: make([]span, len(f.items))}
}

type parser struct {
	f        *Format
	r        *event.Record
	norm     x509cert.Normalizer
	timeRank int
	verify   []byte // ssl_c_verify as logged
	used     int    // 0 not logged, 1 no certificate, 2 certificate
	cert     []byte
	clf      [26]byte // a %t time rewritten for timestamp.ParseCommonLog

	// Skim (see skim.go).
	sk    ingest.SkimState // a skim checks the values it does not keep, keeping none of them
	spans []span           // where each item's value was
	certs x509cert.Checker // checks the certificate values a skim does not keep
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
	p.timeRank, p.verify, p.used, p.cert = 0, nil, 0, nil
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	base := syslogPrefix(line)
	line = line[base:]
	f := p.f
	pos := 0
	for i, it := range f.items {
		lit := f.lits[i]
		if !bytes.HasPrefix(line[pos:], lit) {
			return &ingest.SyntaxError{Column: base + pos + 1, Msg: fmt.Sprintf("expected %q before %s", lit, it.name)}
		}
		pos += len(lit)
		next := f.lits[i+1]
		end := len(line)
		if it.lastColon {
			seg := line[pos:]
			if sp := bytes.IndexByte(seg, ' '); sp >= 0 {
				seg = seg[:sp]
			}
			j := bytes.LastIndex(seg, next)
			if j < 0 {
				return &ingest.SyntaxError{Column: base + pos + 1, Msg: fmt.Sprintf("expected %q after %s", next, it.name)}
			}
			end = pos + j
		} else if len(next) > 0 {
			from := pos + min(it.skip, len(line)-pos)
			j := bytes.Index(line[from:], next)
			if j < 0 {
				return &ingest.SyntaxError{Column: base + pos + 1, Msg: fmt.Sprintf("expected %q after %s", next, it.name)}
			}
			end = from + j
		}
		if err := p.apply(it, line[pos:end]); err != nil {
			return &ingest.SyntaxError{Column: base + pos + 1, Msg: fmt.Sprintf("%s: %v", it.name, err)}
		}
		if p.sk.Asking() {
			p.spans[i] = span{pos, end}
			if i == f.decide {
				if err := p.decide(line, base, i); err != nil {
					return err
				}
			}
		}
		pos = end
	}
	if tail := f.lits[len(f.lits)-1]; !bytes.Equal(line[pos:], tail) {
		return &ingest.SyntaxError{Column: base + pos + 1, Msg: fmt.Sprintf("expected %q at the end of the line", tail)}
	}
	return p.finish()
}

func (p *parser) finish() error {
	r := p.r
	if p.timeRank == 0 {
		return &ingest.SyntaxError{Msg: "no time value on the line"}
	}
	if p.sk.Skimming {
		return nil // a skimmable format has no certificate, and the rest cannot fail
	}
	if p.cert != nil {
		info, err := p.f.certs.Parse(p.cert)
		if err != nil {
			return &ingest.SyntaxError{Msg: fmt.Sprintf("%%[ssl_c_der,base64]: %v", err)}
		}
		info.Fill(r)
	}
	hasCert := len(r.Values[event.TLSSubject]) > 0 || len(r.Values[event.TLSSHA1]) > 0 ||
		len(r.Values[event.TLSSHA256]) > 0 || len(r.Values[event.TLSSerial]) > 0
	switch {
	case p.used == 1:
		r.Values[event.TLSVerify] = verifyNone
	case p.verify != nil:
		if len(p.verify) == 1 && p.verify[0] == '0' {
			if p.used == 0 && !hasCert {
				// No ssl_c_used and nothing of a certificate: HAProxy logs
				// verify 0 when no certificate was presented.
				r.Values[event.TLSVerify] = verifyNone
			} else {
				r.Values[event.TLSVerify] = verifySuccess
			}
		} else {
			m := p.norm.Mark()
			p.norm.Append(verifyFailed...)
			p.norm.Append(p.verify...)
			r.Values[event.TLSVerify] = p.norm.Since(m)
		}
	}
	return nil
}

var (
	verifyNone    = []byte("NONE")
	verifySuccess = []byte("SUCCESS")
	verifyFailed  = []byte("FAILED:")
)

func isUnset(v []byte) bool { return len(v) == 0 || len(v) == 1 && v[0] == '-' }

func (p *parser) apply(it item, v []byte) error {
	if it.act == actSkip || isUnset(v) {
		return nil
	}
	if p.sk.Skimming && !it.deciding {
		return p.check(it, v)
	}
	if bytes.IndexByte(v, '#') >= 0 {
		v = p.unescape(v)
	}
	r := p.r
	switch it.act {
	case actField:
		var err error
		switch it.field {
		case event.TLSSHA1, event.TLSSHA256:
			v, err = p.norm.Fingerprint(v)
		case event.TLSSerial:
			v, err = p.norm.Serial(v)
		case event.TLSSubject, event.TLSIssuer:
			v, err = p.norm.DN(v)
		case event.SourceIP:
			if len(v) > 2 && v[0] == '[' && v[len(v)-1] == ']' {
				v = v[1 : len(v)-1]
			}
		}
		if err != nil {
			return err
		}
		r.Values[it.field] = v
	case actPath:
		r.Values[event.URLPath] = path(v)
	case actRequest:
		// METHOD URI PROTOCOL; <BADREQ> and other one-word values carry no method.
		m, rest, ok := bytes.Cut(v, []byte{' '})
		if !ok {
			return nil
		}
		r.Values[event.Method] = m
		uri, _, _ := bytes.Cut(rest, []byte{' '})
		if len(uri) > 0 {
			r.Values[event.URLPath] = path(uri)
		}
	case actTime:
		if it.time <= p.timeRank {
			return nil
		}
		t, err := p.parseTime(it.time, v)
		if err != nil {
			return err
		}
		r.Time, p.timeRank = t, it.time
	case actVerify:
		p.verify = v
	case actUsed:
		used, err := usedValue(v)
		if err != nil {
			return err
		}
		p.used = used
	case actCert:
		p.cert = v
		r.Values[event.TLSCertificate] = v
	}
	return nil
}

// usedValue reads a %[ssl_c_used] value: 1 for no certificate, 2 for one.
func usedValue(v []byte) (int, error) {
	switch string(v) {
	case "0", "false":
		return 1, nil
	case "1", "true":
		return 2, nil
	}
	return 0, fmt.Errorf("expected 0, 1, true or false, found %q", v)
}

// path drops the query, and the scheme and authority of an absolute URI
// (HTTP/2 requests log one).
func path(v []byte) []byte {
	if i := bytes.IndexByte(v, '?'); i >= 0 {
		v = v[:i]
	}
	if i := bytes.Index(v, []byte("://")); i >= 0 && bytes.IndexByte(v[:i], '/') < 0 {
		rest := v[i+3:]
		if j := bytes.IndexByte(rest, '/'); j >= 0 {
			return rest[j:]
		}
		return []byte{'/'}
	}
	return v
}

func (p *parser) parseTime(shape int, v []byte) (int64, error) {
	switch shape {
	case timeEpoch:
		return timestamp.ParseEpoch(v)
	case timeZoned:
		return timestamp.ParseCommonLog(v)
	}
	// 04/Dec/2026:09:00:01.123, local time without zone: read as UTC.
	if len(v) < 20 {
		return 0, fmt.Errorf("expected a time like 04/Dec/2026:09:00:01.123, found %q", v)
	}
	copy(p.clf[:20], v[:20])
	copy(p.clf[20:], " +0000")
	t, err := timestamp.ParseCommonLog(p.clf[:])
	if err != nil {
		return 0, err
	}
	frac := v[20:]
	if len(frac) == 0 {
		return t, nil
	}
	if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
		return 0, fmt.Errorf("expected milliseconds after the seconds, found %q", frac)
	}
	var ns int64
	scale := int64(100_000_000)
	for _, c := range frac[1:] {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("expected milliseconds after the seconds, found %q", frac)
		}
		ns += int64(c-'0') * scale
		scale /= 10
	}
	return t + ns, nil
}

// unescape decodes HAProxy's #XX escapes of non-printable bytes (and of '#'
// and '"' themselves) into the normaliser's scratch space.
func (p *parser) unescape(v []byte) []byte {
	m := p.norm.Mark()
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '#' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
			c = unhex(v[i+1])<<4 | unhex(v[i+2])
			i += 2
		}
		p.norm.Append(c)
	}
	return p.norm.Since(m)
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
