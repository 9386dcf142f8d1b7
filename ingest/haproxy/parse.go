package haproxy

import (
	"bytes"
	"fmt"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/internal/syslog"
	"github.com/spraywatch/spraywatch/ingest/timestamp"
	"github.com/spraywatch/spraywatch/ingest/x509cert"
)

// NewParser returns a parser with its own scratch space.
func (f *Format) NewParser() ingest.Parser {
	return &parser{f: f, zone: timestamp.NewZone(f.loc), spans: make([]span, len(f.items))}
}

type parser struct {
	f        *Format
	r        *event.Record
	norm     x509cert.Normalizer
	timeRank int
	verify   []byte // ssl_c_verify as logged
	used     int    // 0 not logged, 1 no certificate, 2 certificate
	cert     []byte
	clf      [26]byte        // a %t time rewritten for timestamp.ParseCommonLog
	zone     *timestamp.Zone // reads %t and %tr

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
	base := syslog.Prefix(line)
	line = line[base:]
	if err := p.match(line, base, 0, 0, true); err != nil {
		return err
	}
	f := p.f
	for i := range f.items {
		it, sp := &f.items[i], p.spans[i]
		if err := p.apply(it, line[sp.off:sp.end]); err != nil {
			return &ingest.SyntaxError{Column: base + sp.off + 1, Msg: fmt.Sprintf("%s: %v", it.name, err)}
		}
		if i == f.decide && p.sk.Asking() {
			if err := p.decide(line, base, i); err != nil {
				return err
			}
		}
	}
	return p.finish()
}

// match finds where the values of items i and after are in line (a line
// after its syslog prefix of base bytes) from pos, and records them in
// p.spans. sep says whether the last thing HAProxy wrote before pos was a
// separator, or nothing was written yet: a separator that follows is left
// out.
func (p *parser) match(line []byte, base, i, pos int, sep bool) error {
	f := p.f
	for ; i < len(f.items); i++ {
		it := &f.items[i]
		lit := f.lit(i, sep)
		if !bytes.HasPrefix(line[pos:], lit) {
			return &ingest.SyntaxError{Column: base + pos + 1, Msg: fmt.Sprintf("expected %q before %s", lit, it.name)}
		}
		pos += len(lit)
		if len(lit) > 0 {
			sep = lit[len(lit)-1] == ' ' // only separators write spaces
		}
		if it.capture {
			next := f.lits[i+1]
			switch {
			case it.block:
				end, ok := captureBlock(line[pos:], it.quoted)
				if !ok {
					p.spans[i] = span{pos, pos}
					continue // none written: sep stays
				}
				if end < 0 {
					return &ingest.SyntaxError{Column: base + pos + 1, Msg: fmt.Sprintf("expected '}' closing %s", it.name)}
				}
				p.spans[i] = span{pos, pos + end}
				pos, sep = pos+end, false
				continue
			case sep && len(next) > 0 && next[0] == ' ':
				// After a value the separator is written, after none it
				// is not: try both.
				var err error
				if i+1 == len(f.items) {
					if end := len(line) - len(next); end > pos && bytes.HasSuffix(line[pos:], next) {
						p.spans[i] = span{pos, end}
						return nil
					}
				} else if j := bytes.Index(line[pos:], next); j > 0 {
					p.spans[i] = span{pos, pos + j}
					if err = p.match(line, base, i+1, pos+j, false); err == nil {
						return nil
					}
				}
				p.spans[i] = span{pos, pos}
				err2 := p.match(line, base, i+1, pos, sep)
				if err2 != nil && err != nil && column(err) > column(err2) {
					return err
				}
				return err2
			}
		}
		end, err := p.valueEnd(line, base, it, f.lits[i+1], i+1 == len(f.items), pos)
		if err != nil {
			return err
		}
		p.spans[i] = span{pos, end}
		if end > pos || !it.capture {
			sep = false // every other item writes at least "-" or ""
		}
		pos = end
	}
	if tail := f.lit(len(f.items), sep); !bytes.Equal(line[pos:], tail) {
		return &ingest.SyntaxError{Column: base + pos + 1, Msg: fmt.Sprintf("expected %q at the end of the line", tail)}
	}
	return nil
}

// valueEnd returns where the value of it that starts at pos ends: at next,
// the first text that follows it in the format, or, for the last item,
// before the text that ends the line.
func (p *parser) valueEnd(line []byte, base int, it *item, next []byte, last bool, pos int) (int, error) {
	switch {
	case it.lastColon:
		seg := line[pos:]
		if sp := bytes.IndexByte(seg, ' '); sp >= 0 {
			seg = seg[:sp]
		}
		j := bytes.LastIndex(seg, next)
		if j < 0 {
			return 0, &ingest.SyntaxError{Column: base + pos + 1, Msg: fmt.Sprintf("expected %q after %s", next, it.name)}
		}
		return pos + j, nil
	case len(next) == 0:
		return len(line), nil
	}
	from := pos + min(it.skip, len(line)-pos)
	if last && bytes.HasSuffix(line[from:], next) {
		return len(line) - len(next), nil
	}
	j := bytes.Index(line[from:], next)
	if j < 0 {
		return 0, &ingest.SyntaxError{Column: base + pos + 1, Msg: fmt.Sprintf("expected %q after %s", next, it.name)}
	}
	return from + j, nil
}

// captureBlock reads the {..|..} block of a %hr or %hs at the start of v,
// in double quotes if quoted. It reports whether one is there, and where
// it ends: -1 when it is not closed.
func captureBlock(v []byte, quoted bool) (int, bool) {
	open := 1
	if quoted {
		if len(v) < 2 || v[0] != '"' || v[1] != '{' {
			return 0, false
		}
		open = 2
	} else if len(v) == 0 || v[0] != '{' {
		return 0, false
	}
	j := bytes.IndexByte(v[open:], '}')
	if j < 0 {
		return -1, true
	}
	end := open + j + 1
	if quoted {
		if end >= len(v) || v[end] != '"' {
			return -1, true
		}
		end++
	}
	return end, true
}

// column is the column of a syntax error, 0 for another error.
func column(err error) int {
	if se, ok := err.(*ingest.SyntaxError); ok {
		return se.Column
	}
	return 0
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

func (p *parser) apply(it *item, v []byte) error {
	if it.act == actSkip || isUnset(v) {
		return nil
	}
	if p.sk.Skimming && !it.deciding {
		return p.check(it, v)
	}
	if it.hash && bytes.IndexByte(v, '#') >= 0 {
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
	case timeZoned, timeAcceptZoned:
		return timestamp.ParseCommonLog(v)
	}
	// 04/Dec/2026:09:00:01.123, local time without zone: read in p.zone.
	if len(v) < 20 {
		return 0, fmt.Errorf("expected a time like 04/Dec/2026:09:00:01.123, found %q", v)
	}
	copy(p.clf[:20], v[:20])
	copy(p.clf[20:], " +0000")
	t, err := timestamp.ParseCommonLog(p.clf[:])
	if err != nil {
		return 0, err
	}
	var ns int64
	if frac := v[20:]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return 0, fmt.Errorf("expected milliseconds after the seconds, found %q", frac)
		}
		scale := int64(100_000_000)
		for _, c := range frac[1:] {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("expected milliseconds after the seconds, found %q", frac)
			}
			ns += int64(c-'0') * scale
			scale /= 10
		}
	}
	if p.zone != nil {
		// t is whole seconds of the local time read as UTC.
		return p.zone.Unix(t/1e9, ns)
	}
	return t + ns, nil
}

// unescape decodes HAProxy's #XX escapes of non-printable bytes (and of '#'
// and '"' themselves) into the normaliser's scratch space. HAProxy escapes
// the request line items and the header captures only.
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
