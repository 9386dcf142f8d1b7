package nginx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/dn"
	"github.com/spraywatch/spraywatch/ingest/jsonscan"
	"github.com/spraywatch/spraywatch/ingest/timestamp"
	"github.com/spraywatch/spraywatch/ingest/x509cert"
)

// dnCacheSize is the number of distinguished names each parser keeps in
// canonical form per field: a certificate appears on many lines.
const dnCacheSize = 1024

// maxCachedDN is the longest distinguished name, as logged and in canonical
// form, that a parser remembers (in its cache, or as the last name found
// valid); a longer one (no real certificate's name is this long) is
// canonicalised on each line it is on. A client chooses its certificate's
// names, so that the cache holds at most 2 fields × dnCacheSize × 2 ×
// maxCachedDN bytes (4 MiB) whatever the input.
const maxCachedDN = 1 << 10

// maxKeptScratch is the largest scratch space a parser keeps from one line
// to the next: a longer line's unescaped values are let go after it.
const maxKeptScratch = 64 << 10

// maxTimeLen is the longest time value a parser remembers as the last one;
// nginx writes none longer than 35 bytes.
const maxTimeLen = 64

type dnEntry struct {
	raw   []byte // the value as logged
	canon []byte // its canonical form
	ok    bool
}

// span is a value in the parser's scratch space.
type span struct{ off, end int }

// ref is a value being processed: a view of the line, or of scratch space
// starting at off.
type ref struct {
	b       []byte
	off     int
	scratch bool
}

// parser reads lines of one Format. Values that had to be unescaped or
// normalised live in scratch, which is reused from line to line.
type parser struct {
	f       *Format
	r       *event.Record
	scratch []byte
	pend    [event.NumFields]span
	mask    uint64 // fields whose value is pending in scratch
	stable  bool   // views of the input outlive the current value (text)
	timeSet bool
	cert    *x509cert.Info           // the line's $ssl_client_escaped_cert, parsed
	skim    bool                     // Skim: keep only the deciding values
	exact   bool                     // CheckAllLines: a skim checks every value, as Parse does
	lazy    bool                     // Skim: read no value but the deciding ones, up to Format.last
	want    func(*event.Record) bool // Skim: not yet asked whether to read in full
	wanted  bool                     // Skim: switched to reading in full
	spans   []span                   // Skim: where each text segment's value was
	dn      [2][]dnEntry             // subject, issuer: dnCacheSize entries each
	lastDN  [2]*dnEntry              // subject, issuer: the entries of the last names read

	// The last time value read and its result: lines come in bursts
	// within the same second.
	lastTime []byte
	lastTS   int64
	lastKind varKind

	// Skim: the last value of each segment found valid (distinguished
	// names): a client's certificate appears on many lines in a row.
	lastOK [][]byte

	js   jsonscan.Scanner
	fn   func(key, val []byte, kind jsonscan.Kind) error
	next int // JSON: index in Format.order of the key expected next
}

func newParser(f *Format) *parser {
	p := &parser{f: f, scratch: make([]byte, 0, 1024), lastOK: make([][]byte, f.nsegs), spans: make([]span, len(f.text.segs))}
	p.dn[0] = make([]dnEntry, dnCacheSize)
	p.dn[1] = make([]dnEntry, dnCacheSize)
	p.fn = p.member
	return p
}

func synErr(col int, format string, args ...any) error {
	return &ingest.SyntaxError{Column: col, Msg: fmt.Sprintf(format, args...)}
}

// Parse reads one line into r.
func (p *parser) Parse(line []byte, r *event.Record) error {
	p.skim, p.want, p.lazy = false, nil, false
	return p.parse(line, r)
}

// Skim reads one line's time, request id, method and path into r, and asks
// want, as soon as it has the method and path, whether to read the rest in
// full (a line want accepts is read as Parse reads it).
//
// Of a line it does not read in full, a text format's skim is lazy: it
// reads the time, the request and the request id as Parse does, finds
// where the values before the last of them end, as Parse finds it on a
// valid line, without checking them, and reads nothing after it. It may
// thus accept a line Parse rejects for a value it did not check (see
// ingest.Skimmer). After CheckAllLines(true), and for escape=json lines,
// it checks every other value as Parse does instead, accepting exactly
// the lines Parse accepts, but builds none of them: no unescaping of the
// user agent, no canonical names, no copies.
func (p *parser) Skim(line []byte, r *event.Record, want func(*event.Record) bool) (bool, error) {
	p.skim, p.want, p.wanted = true, want, false
	p.lazy = !p.exact && !p.f.json
	err := p.parse(line, r)
	p.lazy = false
	if err != nil {
		return false, err
	}
	if p.wanted {
		return true, nil
	}
	if p.want != nil && p.want(r) {
		// The method or path came last, or the line is JSON.
		return true, p.Parse(line, r)
	}
	return false, nil
}

// CheckAllLines makes Skim check every value of a line it does not read
// in full, as Parse does (all), or read it lazily (the default); see Skim.
func (p *parser) CheckAllLines(all bool) { p.exact = all }

// SkimsLazily reports whether Skim leaves the values of a line it does
// not read in full unchecked: a text format's, unless CheckAllLines.
func (p *parser) SkimsLazily() bool { return !p.exact && !p.f.json }

// decide asks want, once the text segments up to i are read, whether to
// read the line in full, and if so reads in full the segments skimmed so
// far.
func (p *parser) decide(t *template, line []byte, i int) error {
	want := p.want
	p.want = nil
	p.flush() // the method and path may be unescaped in scratch
	if !want(p.r) {
		return nil
	}
	p.skim, p.wanted, p.lazy = false, true, false
	for j := 0; j < i; j++ {
		s := &t.segs[j]
		if s.kind == vSkip || decides(s.kind) {
			continue
		}
		sp := p.spans[j]
		v := line[sp.off:sp.end]
		if s.scan == scanClass && s.run.span(v, s.stop) == len(v) && p.quick(s, v) {
			continue
		}
		if err := p.value(s, v, sp.off+1); err != nil {
			return err
		}
	}
	return nil
}

// decides reports whether a variable gives a field a skim reads, which it
// reads as Parse does.
func decides(k varKind) bool {
	switch k {
	case vRequest, vRequestMethod, vRequestURI, vURI, vRequestID, vTimeLocal, vTimeISO, vMsec:
		return true
	}
	return false
}

// NewParser returns another parser of the same format.
func (p *parser) NewParser() ingest.Parser { return newParser(p.f) }

var _ ingest.LazySkimmer = (*parser)(nil)

func (p *parser) parse(line []byte, r *event.Record) error {
	r.Reset()
	r.Kind = event.Proxy
	p.r = r
	if cap(p.scratch) > maxKeptScratch {
		p.scratch = make([]byte, 0, 1024) // let a long line's values go
	}
	p.scratch = p.scratch[:0]
	p.mask = 0
	p.timeSet = false
	p.cert = nil
	var err error
	if p.f.json {
		p.stable = false
		err = p.parseJSON(line)
	} else {
		p.stable = true
		err = p.match(&p.f.text, line, 0)
		if err == nil && !p.timeSet {
			err = synErr(0, "no time in $%s", p.f.timeVar)
		}
	}
	if err != nil {
		r.Reset()
		return err
	}
	p.flush()
	if p.cert != nil {
		p.cert.Fill(r) // the identity fields the line does not carry itself
	}
	return nil
}

// flush sets the values pending in scratch in the record.
func (p *parser) flush() {
	for m := p.mask; m != 0; m &= m - 1 {
		f := trailingZeros(m)
		s := p.pend[f]
		p.r.Values[f] = p.scratch[s.off:s.end:s.end]
	}
}

func trailingZeros(m uint64) int {
	n := 0
	for m&1 == 0 {
		m >>= 1
		n++
	}
	return n
}

// match reads line against template t. col0 is the column of line[0] in
// the whole log line, or -1 when columns mean nothing (JSON values).
func (p *parser) match(t *template, line []byte, col0 int) error {
	col := func(i int) int {
		if col0 < 0 {
			return 0
		}
		return col0 + i + 1
	}
	if !bytes.HasPrefix(line, t.prefix) {
		return synErr(col(0), "expected %q at the start", t.prefix)
	}
	pos := len(t.prefix)
	jsonEsc := p.f.escape == escJSON && col0 >= 0
	timeRead := false // untilTime read the time that follows as the last time
	for i := range t.segs {
		s := &t.segs[i]
		var end int
		timeAt := timeRead // this value is the time untilTime read
		timeRead = false
		if p.lazy && s.lazy {
			// A value a lazy skim does not read: its end is where the
			// general way below finds it on a valid line, and nothing
			// of it is checked.
			switch s.scan {
			case scanEnd:
				end = len(line)
			case scanFixed:
				if end = pos + s.width; end > len(line) {
					return synErr(col(pos), "line ends inside $%s", s.name)
				}
			default:
				var k int
				if s.near && !jsonEsc {
					k = nearLit(line[pos:], s)
				} else {
					k = indexLit(line[pos:], s, jsonEsc, s.scan == scanShort)
				}
				if k < 0 {
					return synErr(col(pos), "expected %q after $%s", s.lit, s.name)
				}
				end = pos + k
				if s.untilTime {
					end, timeRead = p.untilTime(line, end, s, &t.segs[i+1], jsonEsc)
				}
			}
			if p.want != nil {
				p.spans[i] = span{pos, end}
			}
			pos = end + len(s.lit)
			continue
		}
		done := false // the value is handled
		switch s.scan {
		case scanEnd:
			end = len(line)
		case scanFixed:
			// Another variable follows: this one has a fixed width.
			end = pos + s.width
			if end > len(line) {
				return synErr(col(pos), "line ends inside $%s", s.name)
			}
		case scanIndex, scanShort:
			// indexLit finds the literal whole: line[end:] starts with it.
			k := indexLit(line[pos:], s, jsonEsc, s.scan == scanShort)
			if k < 0 {
				return synErr(col(pos), "expected %q after $%s", s.lit, s.name)
			}
			end = pos + k
			if s.untilTime {
				end, timeRead = p.untilTime(line, end, s, &t.segs[i+1], jsonEsc)
			}
		case scanClass:
			// A valid value is a run of the class, which the literal
			// cannot start inside; otherwise find the literal in full.
			b := line[pos:]
			k := s.run.span(b, s.stop)
			if s.litAt(b[k:]) {
				done = p.quick(s, b[:k])
			} else if k = indexLit(b, s, false, true); k < 0 {
				return synErr(col(pos), "expected %q after $%s", s.lit, s.name)
			}
			end = pos + k
		case scanTime:
			// Lines come in bursts within the same second: the bytes of the
			// last time and its literal, if they are here again (or the
			// value before found them), end the value where they did.
			b := line[pos:]
			if n := len(p.lastTime); timeAt || p.lastTimeAt(b, s) {
				p.r.Time, p.timeSet = p.lastTS, true
				end, done = pos+n, true
				break
			}
			k := indexLit(b, s, false, false)
			if k < 0 {
				return synErr(col(pos), "expected %q after $%s", s.lit, s.name)
			}
			end = pos + k
		case scanDN:
			b := line[pos:]
			if p.skim {
				// A skim checks the name: the last one found valid, or a
				// plain one, is valid.
				if last := p.lastOK[s.id]; len(last) > 0 && len(b) >= len(last) && string(b[:len(last)]) == string(last) && s.litAt(b[len(last):]) {
					end, done = pos+len(last), true
					break
				}
				if k, ok := scanPlainDN(b, s); ok {
					p.rememberOK(s, b[:k])
					end, done = pos+k, true
					break
				}
			}
			k := indexLit(b, s, false, false)
			if k < 0 {
				return synErr(col(pos), "expected %q after $%s", s.lit, s.name)
			}
			end = pos + k
		case scanRequest:
			k, rl := scanRequestLine(line[pos:], s)
			if k < 0 {
				return synErr(col(pos), "expected %q after $%s", s.lit, s.name)
			}
			end = pos + k
			done = p.quickRequest(s, line[pos:end], rl)
		}
		if s.kind != vSkip && !done && !(p.skim && s.unchecked) {
			if err := p.value(s, line[pos:end], col(pos)); err != nil {
				return err
			}
		}
		if p.want != nil && t == &p.f.text {
			p.spans[i] = span{pos, end}
			if i == p.f.decide {
				if err := p.decide(t, line, i); err != nil {
					return err
				}
			}
		}
		if p.lazy && i == p.f.last {
			return nil // not wanted: the rest of the line is not read
		}
		pos = end + len(s.lit)
	}
	if pos != len(line) {
		return synErr(col(pos), "unexpected text at the end of the line")
	}
	return nil
}

// untilTime returns where the value of s, which the time of segment t
// follows after its literal, ends: at the first occurrence of the literal, from end (the
// first one) on, after which the time reads, and whether there is one (the
// time is then the last time read); at end when there is none.
// A value the client chooses may hold the literal: nginx writes a
// $remote_user of "x [y" as it is, before " [$time_local]".
func (p *parser) untilTime(line []byte, end int, s, t *segment, jsonEsc bool) (int, bool) {
	for e := end; ; {
		if p.timeAt(line[e+len(s.lit):], t, jsonEsc) {
			return e, true
		}
		k := indexLit(line[e+1:], s, jsonEsc, false)
		if k < 0 {
			return end, false
		}
		e += 1 + k
	}
}

// timeAt reports whether b starts with a value of the time variable of
// segment t that reads, followed by its literal, and remembers the time
// read as the last one. Only the first maxTimeLen bytes are looked at, so
// that trying every occurrence of a literal costs no more than the line.
func (p *parser) timeAt(b []byte, t *segment, jsonEsc bool) bool {
	if p.lastTimeAt(b, t) {
		return true
	}
	v := b
	if len(t.lit) > 0 {
		k := indexLit(b[:min(len(b), maxTimeLen+len(t.lit))], t, jsonEsc, false)
		if k < 0 {
			return false
		}
		v = b[:k]
	} else if len(v) > maxTimeLen {
		return false
	}
	ts, err := parseTime(t.kind, v)
	if err != nil {
		return false
	}
	p.lastKind, p.lastTime, p.lastTS = t.kind, append(p.lastTime[:0], v...), ts
	return true
}

// lastTimeAt reports whether b starts with the last time read, of the
// kind of segment t's time variable, followed by t's literal (by the end
// of b, for a time that ends the line).
func (p *parser) lastTimeAt(b []byte, t *segment) bool {
	n := len(p.lastTime)
	if n == 0 || t.kind != p.lastKind || len(b) < n || string(b[:n]) != string(p.lastTime) {
		return false
	}
	if len(t.lit) == 0 {
		return len(b) == n
	}
	return t.litAt(b[n:])
}

// parseTime reads the value of a time variable of kind k.
func parseTime(k varKind, v []byte) (int64, error) {
	switch k {
	case vTimeLocal:
		return timestamp.ParseCommonLog(v)
	case vTimeISO:
		return timestamp.ParseRFC3339(v)
	default:
		return timestamp.ParseEpoch(v)
	}
}

// value handles the value of a mapped variable.
func (p *parser) value(s *segment, v []byte, col int) error {
	if len(v) == 0 || len(v) == 1 && v[0] == '-' {
		if isTime(s.kind) {
			return synErr(col, "$%s is empty", s.name)
		}
		return nil
	}
	switch s.kind {
	case vRemoteAddr:
		if string(v) == "unix:" {
			return nil
		}
		if !looksLikeIP(v) {
			return synErr(col, "$%s: expected an IP address, found %q", s.name, v)
		}
		p.keep(event.SourceIP, v)
	case vRemotePort:
		if !digits(v) {
			return synErr(col, "$%s: expected a port number, found %q", s.name, v)
		}
		p.keep(event.SourcePort, v)
	case vTimeLocal, vTimeISO, vMsec:
		if s.kind == p.lastKind && string(v) == string(p.lastTime) {
			p.r.Time = p.lastTS
			p.timeSet = true
			return nil
		}
		ts, err := parseTime(s.kind, v)
		if err != nil {
			return synErr(col, "$%s: %v", s.name, err)
		}
		p.r.Time = ts
		p.timeSet = true
		if len(v) <= maxTimeLen {
			p.lastKind, p.lastTime, p.lastTS = s.kind, append(p.lastTime[:0], v...), ts
		}
	case vStatus:
		if !digits(v) || len(v) > 3 {
			return synErr(col, "$%s: expected an HTTP status, found %q", s.name, v)
		}
		p.keep(event.Status, v)
	case vBodyBytes:
		if !digits(v) {
			return synErr(col, "$%s: expected a byte count, found %q", s.name, v)
		}
		p.keep(event.BodyBytes, v)
	case vRequest:
		u := p.unescape(v)
		sp := bytes.IndexByte(u.b, ' ')
		if sp <= 0 {
			return nil // not a request line (a TLS or garbage probe): no method, no path
		}
		if s.method {
			p.set(event.Method, u, 0, sp)
		}
		if s.path {
			rest := u.b[sp+1:]
			end := bytes.IndexByte(rest, ' ')
			if end < 0 {
				end = len(rest)
			}
			if q := bytes.IndexByte(rest[:end], '?'); q >= 0 {
				end = q
			}
			p.set(event.URLPath, u, sp+1, sp+1+end)
		}
	case vRequestMethod:
		u := p.unescape(v)
		p.set(event.Method, u, 0, len(u.b))
	case vRequestURI:
		u := p.unescape(v)
		end := len(u.b)
		if q := bytes.IndexByte(u.b, '?'); q >= 0 {
			end = q
		}
		p.set(event.URLPath, u, 0, end)
	case vURI:
		u := p.unescape(v)
		p.set(event.URLPath, u, 0, len(u.b))
	case vUserAgent, vVerify:
		if !p.skim { // nothing to check
			p.text(s.kind, v)
		}
	case vEscapedCert:
		return p.certValue(s, v, col)
	case vRequestID:
		u := p.unescape(v)
		p.set(event.RequestID, u, 0, len(u.b))
	case vSubject, vSubjectLegacy:
		if p.skim {
			return p.checkDN(0, s, v, col)
		}
		return p.dnValue(0, event.TLSSubject, s, v, col)
	case vIssuer, vIssuerLegacy:
		if p.skim {
			return p.checkDN(1, s, v, col)
		}
		return p.dnValue(1, event.TLSIssuer, s, v, col)
	case vFingerprint:
		if canonicalHex(v, false) {
			p.keep(event.TLSSHA1, v)
			return nil
		}
		off := len(p.scratch)
		var err error
		if p.scratch, err = x509cert.AppendFingerprint(p.scratch, v); err != nil {
			p.scratch = p.scratch[:off]
			return synErr(col, "$%s: %v", s.name, err)
		}
		if p.skim {
			p.scratch = p.scratch[:off]
			return nil
		}
		p.pendSpan(event.TLSSHA1, off, len(p.scratch))
	case vSerial:
		if canonicalHex(v, true) && (v[0] != '0' || len(v) == 1) {
			p.keep(event.TLSSerial, v)
			return nil
		}
		off := len(p.scratch)
		var err error
		if p.scratch, err = x509cert.AppendSerial(p.scratch, v); err != nil {
			p.scratch = p.scratch[:off]
			return synErr(col, "$%s: %v", s.name, err)
		}
		if p.skim {
			p.scratch = p.scratch[:off]
			return nil
		}
		p.pendSpan(event.TLSSerial, off, len(p.scratch))
	}
	return nil
}

// text sets a value that cannot be wrong: the user agent and the
// verification result, unescaped.
func (p *parser) text(k varKind, v []byte) {
	switch k {
	case vUserAgent:
		u := p.unescape(v)
		p.set(event.UserAgent, u, 0, len(u.b))
	case vVerify:
		u := p.unescape(v)
		p.set(event.TLSVerify, u, 0, len(u.b))
	}
}

// certValue reads a $ssl_client_escaped_cert value, the client's
// certificate as URL-escaped PEM, through the format's certificate cache:
// a certificate seen before costs a hash and a comparison, one too long to
// be cached (x509cert.MaxCachedBytes) a parse, in time linear in the
// line's length. The value is kept as logged, in tls.client.certificate;
// once the line is read its subject, issuer, fingerprints, serial and URI
// SAN fill the fields the line does not carry itself. A value that is no
// certificate makes the line an error, for a skim too.
func (p *parser) certValue(s *segment, v []byte, col int) error {
	mark := len(p.scratch)
	u := p.unescape(v)
	info, err := p.f.certs.Parse(u.b)
	if err != nil {
		p.scratch = p.scratch[:mark]
		return synErr(col, "$%s: expected a URL-escaped PEM certificate: %v", s.name, err)
	}
	if p.skim {
		p.scratch = p.scratch[:mark]
		return nil
	}
	p.set(event.TLSCertificate, u, 0, len(u.b))
	p.cert = info
	return nil
}

// keep sets a value taken as logged, unless skimming.
func (p *parser) keep(f event.Field, v []byte) {
	if !p.skim {
		p.view(f, v)
	}
}

// view sets v, a view of the line, as the value of field f: as set does,
// without its cases when the view outlives the value.
func (p *parser) view(f event.Field, v []byte) {
	if !p.stable {
		p.copyIn(f, v)
		return
	}
	p.r.Values[f] = v[:len(v):len(v)]
	p.mask &^= 1 << f
}

// copyIn sets a copy of v in scratch as the value of field f.
func (p *parser) copyIn(f event.Field, v []byte) { p.set(f, ref{b: v}, 0, len(v)) }

// checkDN checks a distinguished name as dnValue would, without building
// its canonical form when it can.
func (p *parser) checkDN(which int, s *segment, v []byte, col int) error {
	if string(v) == string(p.lastOK[s.id]) {
		return nil
	}
	if !plainDN(v) {
		if err := p.dnValue(which, 0, s, v, col); err != nil {
			return err
		}
	}
	p.rememberOK(s, v)
	return nil
}

// rememberOK makes v, found valid, the last name of segment s, unless it is
// too long to keep.
func (p *parser) rememberOK(s *segment, v []byte) {
	if len(v) <= maxCachedDN {
		p.lastOK[s.id] = append(p.lastOK[s.id][:0], v...)
	}
}

// dnValue canonicalises a distinguished name through the parser's cache.
func (p *parser) dnValue(which int, f event.Field, s *segment, v []byte, col int) error {
	// The name of the last line first: a client's lines come in a row.
	e := p.lastDN[which]
	if e == nil || string(e.raw) != string(v) {
		e = &p.dn[which][maphash.Bytes(p.f.seed, v)%dnCacheSize]
		if !e.ok || string(e.raw) != string(v) {
			mark, start, err := p.canonical(s, v, col)
			if err != nil {
				return err
			}
			if len(v) > maxCachedDN || len(p.scratch)-start > maxCachedDN {
				// Too long to keep: the value stays in scratch.
				if p.skim {
					p.scratch = p.scratch[:mark]
				} else {
					p.pendSpan(f, start, len(p.scratch))
				}
				return nil
			}
			e.raw = append(e.raw[:0], v...)
			e.canon = append(e.canon[:0], p.scratch[start:]...)
			e.ok = true
			p.scratch = p.scratch[:mark]
		}
		p.lastDN[which] = e
	}
	if p.skim {
		return nil
	}
	// The cache entry is not touched again before the next line.
	p.r.Values[f] = e.canon
	p.mask &^= 1 << f
	return nil
}

// canonical appends the canonical form of the distinguished name v to
// scratch, from start on; mark is where scratch ended before, anything
// between them being the name unescaped.
func (p *parser) canonical(s *segment, v []byte, col int) (mark, start int, err error) {
	mark = len(p.scratch)
	if canonicalDN(v) {
		p.scratch = append(p.scratch, v...) // its own canonical form
		return mark, mark, nil
	}
	u := p.unescape(v)
	start = len(p.scratch)
	if p.scratch, err = dn.Canonical(p.scratch, u.b); err != nil {
		p.scratch = p.scratch[:mark]
		return 0, 0, synErr(col, "$%s: %v", s.name, err)
	}
	return mark, start, nil
}

// set stores u.b[i:j] as the value of field f.
func (p *parser) set(f event.Field, u ref, i, j int) {
	switch {
	case u.scratch:
		p.pendSpan(f, u.off+i, u.off+j)
	case p.stable:
		p.r.Values[f] = u.b[i:j:j]
		p.mask &^= 1 << f
	default:
		off := len(p.scratch)
		p.scratch = append(p.scratch, u.b[i:j]...)
		p.pendSpan(f, off, len(p.scratch))
	}
}

func (p *parser) pendSpan(f event.Field, off, end int) {
	p.pend[f] = span{off, end}
	p.mask |= 1 << f
}

// unescape undoes the log's escaping of a value, into scratch when there is
// anything to undo.
func (p *parser) unescape(v []byte) ref {
	// JSON lines come unescaped from the JSON reader already.
	if p.f.json || p.f.escape == escNone || bytes.IndexByte(v, '\\') < 0 {
		return ref{b: v}
	}
	off := len(p.scratch)
	if p.f.escape == escJSON {
		for i := 0; i < len(v); i++ {
			if v[i] == '\\' {
				if n, r := jsonEscape(v[i:]); n > 0 {
					p.scratch = appendRune(p.scratch, r)
					i += n - 1
					continue
				}
			}
			p.scratch = append(p.scratch, v[i])
		}
	} else {
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c == '\\' && i+3 < len(v) && v[i+1] == 'x' && isHex(v[i+2]) && isHex(v[i+3]) {
				c = unhex(v[i+2])<<4 | unhex(v[i+3])
				i += 3
			}
			p.scratch = append(p.scratch, c)
		}
	}
	return ref{b: p.scratch[off:], off: off, scratch: true}
}

// parseJSON reads an escape=json line.
func (p *parser) parseJSON(line []byte) error {
	p.next = 0
	if err := p.js.Scan(line, p.fn); err != nil {
		return err
	}
	if !p.timeSet {
		return synErr(0, "no key %q holding $%s", p.f.timeKey, p.f.timeVar)
	}
	return nil
}

// member handles one scalar member of a JSON line.
func (p *parser) member(key, val []byte, kind jsonscan.Kind) error {
	// Lines follow the template's key order: try the next key first.
	var i int
	if o := p.f.order; p.next < len(o) && o[p.next].key == string(key) {
		i = o[p.next].idx
		p.next++
	} else {
		var ok bool
		if i, ok = p.f.keys[string(key)]; !ok {
			return nil
		}
	}
	if i < 0 || kind == jsonscan.Null {
		return nil
	}
	if err := p.match(&p.f.members[i].t, val, -1); err != nil {
		var se *ingest.SyntaxError
		if errors.As(err, &se) {
			se.Msg = fmt.Sprintf("key %q: %s", p.f.members[i].key, se.Msg)
		}
		return err
	}
	return nil
}

func digits(v []byte) bool {
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(v) > 0
}

// looksLikeIP checks the characters of an IPv4 or IPv6 address (with an
// optional zone) without parsing it.
func looksLikeIP(v []byte) bool {
	dots, colons := 0, 0
	for i, c := range v {
		switch {
		case c == '.':
			dots++
		case c == ':':
			colons++
		case c == '%' && colons > 0 && i > 0:
			return true
		case isHex(c):
		default:
			return false
		}
	}
	return dots == 3 || colons >= 2
}

// canonicalHex reports whether v is hex in the canonical case (upper for
// serials, lower for fingerprints) with no separators.
func canonicalHex(v []byte, upper bool) bool {
	want := uint8(hexDigit | hexLower)
	if upper {
		want = hexDigit | hexUpper
	}
	for _, c := range v {
		if hexClass[c]&want == 0 {
			return false
		}
	}
	return len(v) > 0
}

// Classes of hex digits, for canonicalHex.
const (
	hexDigit = 1 << iota
	hexLower
	hexUpper
)

var hexClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = hexDigit
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = hexLower
		t[c-'a'+'A'] = hexUpper
	}
	return t
}()

// indexLit finds lit in b. Literals are short and their first byte is
// usually rare enough that checking each occurrence of it is fastest. With
// jsonEsc, an occurrence right after an escaping backslash is not one.
func indexLit(b []byte, s *segment, jsonEsc, short bool) int {
	first := s.lit[0]
	off := 0
	if short {
		// The value is usually short: look at its first bytes one by one.
		for n := min(len(b)-len(s.lit)+1, 16); off < n; off++ {
			if b[off] == first && s.litAt(b[off:]) && !(jsonEsc && escaped(b, off)) {
				return off
			}
		}
	}
	for {
		k := bytes.IndexByte(b[off:], first)
		if k < 0 {
			return -1
		}
		off += k
		if s.litAt(b[off:]) && !(jsonEsc && escaped(b, off)) {
			return off
		}
		off++
	}
}

// litAt reports whether b starts with the segment's literal.
func (s *segment) litAt(b []byte) bool {
	if len(b) >= s.litWide {
		return binary.LittleEndian.Uint64(b)&s.litMask == s.litWord
	}
	return s.litAtLong(b)
}

// litAtLong is litAt for a literal longer than eight bytes or a b shorter
// than eight bytes.
//
//go:noinline
func (s *segment) litAtLong(b []byte) bool {
	return len(b) >= len(s.lit) && hasPrefix(b, s.lit)
}

// hasPrefix is bytes.HasPrefix for b at least as long as the short
// literal lit, without a call.
func hasPrefix(b, lit []byte) bool {
	for i, c := range lit {
		if b[i] != c {
			return false
		}
	}
	return true
}

// escaped reports whether b[i] follows an odd number of backslashes.
func escaped(b []byte, i int) bool {
	n := 0
	for i > 0 && b[i-1] == '\\' {
		n++
		i--
	}
	return n%2 == 1
}
