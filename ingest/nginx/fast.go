package nginx

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/spraywatch/spraywatch/event"
)

// The fast paths of the matcher. plan gives each segment a way of finding
// the end of its value, chosen from the variable's kind:
//
//   - short values checked byte by byte (an address, a port, a status, a
//     byte count, a request id, a fingerprint, a serial) are measured as a
//     run of the bytes a valid value has, eight bytes at a time (run.go);
//     when the segment's literal follows the run, the value is valid and
//     taken as it stands (parser.quick);
//   - a request line is scanned once for the literal, its spaces and its
//     '?', which split it into method and path;
//   - a time that is the last one again, followed by its literal, ends
//     there, with its time known;
//   - a skim recognises a distinguished name that is the last one found
//     valid, or finds its end while checking that it is plain;
//   - short values read past are searched for their literal byte by byte,
//     long ones with bytes.IndexByte;
//   - a lazy skim, which checks none of the values it passes over, looks
//     for the literal after a short one (those above, and the short
//     values read past) by its first byte, eight bytes at a time
//     (nearLit), and after a long one with bytes.IndexByte.
//
// Whatever the way, the value found is the one indexLit finds, the first
// whole occurrence of the literal ends it (before a time, the first after
// which the time reads: parser.untilTime), and a value a fast path cannot
// vouch for goes the general way (parser.value), which decides and words
// the error: a line is accepted, rejected and read into the same record
// with the fast paths as without. Formats with JSON escaping in text lines
// keep indexLit, which knows escaped quotes.

// scanKind is how match finds the end of a segment's value.
type scanKind uint8

const (
	scanEnd     scanKind = iota // the last variable, with no literal: the rest of the line
	scanFixed                   // no literal: a fixed width
	scanIndex                   // indexLit
	scanShort                   // indexLit looking at the first bytes one by one
	scanClass                   // the run of the segment's class, then the literal
	scanRequest                 // scanRequestLine
	scanTime                    // the last time's bytes again, or indexLit
	scanDN                      // skimming: the last name again, or scanPlainDN, or indexLit
)

// shortSkip lists variables read past whose values are short, so that
// looking at their first bytes one by one beats a call to find the literal.
var shortSkip = map[string]bool{
	"remote_user": true, "request_time": true, "bytes_sent": true, "request_length": true,
	"connection": true, "connection_requests": true, "server_port": true, "scheme": true,
	"https": true, "pipe": true, "gzip_ratio": true, "ssl_protocol": true,
	"ssl_session_reused": true, "upstream_status": true, "upstream_response_time": true,
	"upstream_connect_time": true, "upstream_header_time": true, "upstream_cache_status": true,
	"upstream_response_length": true, "request_completion": true, "msec": true,
	"status": true, "body_bytes_sent": true, "remote_port": true, "ssl_client_verify": true,
}

// plan chooses, once the variables' kinds are resolved, how each segment's
// value is found. In a text format with JSON escaping, a literal may follow
// an escaping backslash and not count: only indexLit knows.
func (f *Format) plan() {
	if f.json {
		for i := range f.members {
			f.members[i].t.plan(true)
		}
		return
	}
	f.text.plan(f.escape != escJSON)
}

func (t *template) plan(fast bool) {
	for i := range t.segs {
		s := &t.segs[i]
		s.unchecked = s.kind == vUserAgent || s.kind == vVerify
		switch {
		case len(s.lit) == 0 && i == len(t.segs)-1:
			s.scan = scanEnd
			continue
		case len(s.lit) == 0:
			s.scan = scanFixed
			continue
		}
		s.scan, s.stop, s.near = scanIndex, s.lit[0], false
		s.litWord, s.litMask, s.litWide = 0, 0, 8
		if len(s.lit) > 8 {
			s.litWide = math.MaxInt
		}
		for i := 0; i < len(s.lit) && i < 8; i++ {
			s.litWord |= uint64(s.lit[i]) << (8 * i)
			s.litMask |= 0xff << (8 * i)
		}
		if !fast {
			continue
		}
		switch s.kind {
		case vRemoteAddr, vRemotePort, vStatus, vBodyBytes, vRequestID, vFingerprint, vSerial:
			r := runOf(s.kind)
			if r.holds(s.lit[0]) {
				break // the literal could start inside a value: find it the slow way
			}
			s.scan, s.run, s.near = scanClass, r, true
		case vRequest:
			s.scan = scanRequest
		case vTimeLocal, vTimeISO, vMsec:
			s.scan = scanTime
		case vSubject, vIssuer:
			if c := s.lit[0]; dnClass[c]&(dnType|dnLead|dnEnd) == 0 && c != '=' && c != '\t' {
				s.scan = scanDN
			}
		default:
			if shortSkip[s.name] {
				s.scan, s.near = scanShort, true
			}
		}
	}
	t.markUntilTime()
}

// markUntilTime marks the values read past or found with indexLit that a
// time follows, after the literal: such a value ($remote_user before
// " [$time_local]") may hold the literal, and its end is found by the time
// that follows it.
func (t *template) markUntilTime() {
	for i := range t.segs {
		s := &t.segs[i]
		s.untilTime = false
		if i+1 == len(t.segs) || len(s.lit) == 0 || s.scan != scanIndex && s.scan != scanShort {
			continue
		}
		if n := &t.segs[i+1]; isTime(n.kind) && (len(n.lit) > 0 || i+2 == len(t.segs)) {
			s.untilTime = true
		}
	}
}

// reqLine is what scanRequestLine saw of a $request value: its first
// space, the first space and the first '?' after that (-1 if none), and
// whether it has a backslash.
type reqLine struct {
	sp, sp2, q int
	bs         bool
}

// scanRequestLine finds s's literal in b as indexLit does (without JSON
// escapes), seeing on the way what value needs to split a request line.
// It reads b once, eight bytes at a time, and looks at each byte that may
// be one it wants.
func scanRequestLine(b []byte, s *segment) (int, reqLine) {
	r := reqLine{-1, -1, -1, false}
	stop := s.stop
	w := uint64(stop) * lo8
	for i := 0; i < len(b); i += 8 {
		var x uint64
		if len(b)-i >= 8 {
			x = binary.LittleEndian.Uint64(b[i:])
		} else {
			// The last bytes, the word filled with a byte none of
			// those wanted.
			x = ^uint64(0)
			for k := len(b) - 1; k >= i; k-- {
				x = x<<8 | uint64(b[k])
			}
		}
		z1, z2, z3, z4 := x^(' '*lo8), x^('?'*lo8), x^('\\'*lo8), x^w
		// Every byte wanted is marked, and perhaps others after the
		// first one (see run.go): each is checked.
		for m := ((z1-lo8)&^z1 | (z2-lo8)&^z2 | (z3-lo8)&^z3 | (z4-lo8)&^z4) & hi8; m != 0; m &= m - 1 {
			j := i + bits.TrailingZeros64(m)>>3
			if j >= len(b) {
				break
			}
			c := b[j]
			if c == stop && s.litAt(b[j:]) {
				return j, r
			}
			switch c {
			case ' ':
				if r.sp < 0 {
					r.sp = j
				} else if r.sp2 < 0 {
					r.sp2 = j
				}
			case '?':
				if r.sp >= 0 && r.q < 0 {
					r.q = j
				}
			case '\\':
				r.bs = true
			}
		}
	}
	return -1, r
}

// nextOf returns the index of the first byte in b from i on that is one of
// c1, c2, c3 and c4, or -1.
func nextOf(b []byte, i int, c1, c2, c3, c4 byte) int {
	w1, w2, w3, w4 := uint64(c1)*lo8, uint64(c2)*lo8, uint64(c3)*lo8, uint64(c4)*lo8
	for ; len(b)-i >= 8; i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		z1, z2, z3, z4 := x^w1, x^w2, x^w3, x^w4
		// The lowest byte marked is exact (see run.go).
		if m := ((z1-lo8)&^z1 | (z2-lo8)&^z2 | (z3-lo8)&^z3 | (z4-lo8)&^z4) & hi8; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == c1 || c == c2 || c == c3 || c == c4 {
			return i
		}
	}
	return -1
}

// nearLit finds s's literal in b as indexLit does (without JSON escapes),
// for a value that is usually short: its first bytes are looked at eight
// at a time, the rest with bytes.IndexByte.
func nearLit(b []byte, s *segment) int {
	stop := s.stop
	w := uint64(stop) * lo8
	i := 0
	for ; len(b)-i >= 8 && i < 32; i += 8 {
		z := binary.LittleEndian.Uint64(b[i:]) ^ w
		// Every byte equal to stop is marked, and perhaps others after
		// the first one (see run.go): each is checked.
		for m := (z - lo8) &^ z & hi8; m != 0; m &= m - 1 {
			if j := i + bits.TrailingZeros64(m)>>3; b[j] == stop && s.litAt(b[j:]) {
				return j
			}
		}
	}
	for {
		k := bytes.IndexByte(b[i:], stop)
		if k < 0 {
			return -1
		}
		i += k
		if s.litAt(b[i:]) {
			return i
		}
		i++
	}
}

// scanPlainDN finds s's literal in b as indexLit does (without JSON
// escapes) when the distinguished name before it is one plainDN vouches
// for, reading both in one pass, and reports whether it did. The
// literal's first byte is none of a name's structure (see plan).
func scanPlainDN(b []byte, s *segment) (int, bool) {
	stop := s.lit[0]
	i := 0
	for {
		ts := i
		for i < len(b) && dnClass[b[i]]&dnType != 0 {
			i++
		}
		if i == ts || i == len(b) || b[i] != '=' {
			return 0, false
		}
		i++
		if i < len(b) && dnClass[b[i]]&dnLead != 0 {
			return 0, false
		}
		for {
			if i = nextOf(b, i, ',', '+', '\\', stop); i < 0 {
				return 0, false
			}
			c := b[i]
			if c == stop {
				if s.litAt(b[i:]) {
					if b[i-1] == ' ' || b[i-1] == '\t' {
						return 0, false
					}
					return i, true
				}
				i++
				continue
			}
			if c == '\\' {
				return 0, false
			}
			break
		}
		i++ // the separator; an attribute must follow
	}
}

// quick handles the value v of s, whose bytes are all of the segment's
// run class, as value would when it can tell the value is valid and taken
// as it stands, and reports whether it did.
func (p *parser) quick(s *segment, v []byte) bool {
	if len(v) == 0 || len(v) == 1 && v[0] == '-' {
		return false
	}
	switch s.kind {
	case vRemoteAddr:
		dots, colons := 0, 0
		for _, c := range v {
			switch c {
			case '.':
				dots++
			case ':':
				colons++
			}
		}
		if dots != 3 && colons < 2 {
			return false
		}
		p.keep(event.SourceIP, v)
	case vRemotePort:
		p.keep(event.SourcePort, v)
	case vStatus:
		if len(v) > 3 {
			return false
		}
		p.keep(event.Status, v)
	case vBodyBytes:
		p.keep(event.BodyBytes, v)
	case vRequestID:
		p.view(event.RequestID, v)
	case vFingerprint:
		p.keep(event.TLSSHA1, v)
	case vSerial:
		if v[0] == '0' && len(v) > 1 {
			return false
		}
		p.keep(event.TLSSerial, v)
	default:
		return false
	}
	return true
}

// quickRequest handles a $request value as value would, given what
// scanRequestLine saw of it, when it has nothing to unescape, and reports
// whether it did.
func (p *parser) quickRequest(s *segment, v []byte, r reqLine) bool {
	if r.bs {
		return false
	}
	if r.sp <= 0 {
		return true // not a request line: no method, no path
	}
	if s.method {
		p.view(event.Method, v[:r.sp])
	}
	if s.path {
		end := len(v)
		if r.sp2 >= 0 {
			end = r.sp2
		}
		if r.q >= 0 && r.q < end {
			end = r.q
		}
		p.view(event.URLPath, v[r.sp+1:end])
	}
	return true
}
