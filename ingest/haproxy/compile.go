// Package haproxy reads HAProxy HTTP logs compiled from the user's own
// log-format string, with or without the syslog prefix HAProxy writes.
//
// Mapped: %ci, %cp, the times (%t, %tr, %trg, %trl, %T, %Tl, %Ts), %r, %HM,
// %HP, %HPO, %HU, %ST, %B, %ID, and the sample fetches %[ssl_c_s_dn] and
// %[ssl_c_i_dn] (default /C=../CN=.. form or (,0,rfc2253)),
// %[ssl_c_sha1,hex], %[ssl_c_serial,hex], %[ssl_c_der,sha2(256),hex],
// %[ssl_c_der,base64] (the whole certificate), %[ssl_c_verify],
// %[ssl_c_used], %[unique-id], %[req.hdr(x-request-id)] and
// %[req.fhdr(user-agent)]. Other aliases and fetches are matched and skipped.
package haproxy

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/x509cert"
)

// action says what a parser does with a log-format item's value.
type action uint8

const (
	actSkip    action = iota
	actField          // straight to a field
	actPath           // a URI whose query (and scheme and authority) is dropped
	actRequest        // %r: method, URI, protocol
	actTime           // a time; arg says which shape
	actVerify         // ssl_c_verify
	actUsed           // ssl_c_used
	actCert           // ssl_c_der,base64
)

// time shapes, by preference: a later one wins over an earlier one on a line
// that has both.
const (
	timeAccept      = 1 + iota // %t: 04/Dec/2026:09:00:01.123 (local time, read in Format.loc)
	timeAcceptZoned            // %T, %Tl: 04/Dec/2026:09:00:01 +0000
	timeEpoch                  // %Ts: Unix seconds
	timeRequest                // %tr: 04/Dec/2026:09:00:01.123 (local time, read in Format.loc)
	timeZoned                  // %trg, %trl: 04/Dec/2026:09:00:01 +0000
)

type item struct {
	name  string // as written, for messages
	act   action
	field event.Field
	time  int // time shape for actTime
	// lastColon: the value runs to the last ':' before the next space, so
	// that %ci:%cp splits an IPv6 address from its port.
	lastColon bool
	// skip: bytes of the value to pass before looking for the literal that
	// ends it (a zoned time holds a space).
	skip int
	// deciding: Skim reads the value as Parse does (set by prepareSkim).
	deciding bool
	// hash: HAProxy writes the value with #XX escapes (the request line
	// items and the header captures); every other value is written raw.
	hash bool
	// capture: a header capture (%hr, %hs, %hrl, %hsl), of which HAProxy
	// writes nothing at all when the frontend captures no header; the
	// separators around it then merge into one space.
	capture bool
	// block: a present value is one {..|..} block (%hr, %hs), in double
	// quotes if quoted, that ends at its first '}' (HAProxy escapes '}'
	// inside it).
	block, quoted bool
}

// Reference is the log-format recommended for spraywatch: the request, the
// unique id sent to the application, and the client certificate's
// verification, SHA-1 and SHA-256 fingerprints, serial and DNs.
const Reference = `"%ci:%cp [%tr] %ft %b/%s %ST %B \"%r\" id=%ID used=%[ssl_c_used] verify=%[ssl_c_verify] sha1=%[ssl_c_sha1,hex] sha256=%[ssl_c_der,sha2(256),hex] serial=%[ssl_c_serial,hex] sdn=%{+Q}[ssl_c_s_dn(,0,rfc2253)] idn=%{+Q}[ssl_c_i_dn(,0,rfc2253)]"`

// Format is a compiled HAProxy log-format. It is safe for concurrent use.
type Format struct {
	// lits[i] precedes items[i]; the last follows the last item. Each is
	// written as HAProxy writes it after a value: a run of spaces in the
	// format is one separator, and a separator right after another one
	// (at the start of the line, or after a header capture that wrote
	// nothing) is left out; see lit.
	lits  [][]byte
	items []item
	certs *x509cert.Cache
	loc   *time.Location // of %t and %tr; nil: UTC

	// Skim (see skim.go).
	skimmable bool // no whole certificate, whose check is the full parse
	decide    int  // the item after which Skim asks want; -1 at the end
}

// Name returns "haproxy".
func (f *Format) Name() string { return "haproxy" }

// InZone returns the format reading %t and %tr, which HAProxy writes in
// the local time of its host without an offset, in loc. %trg, %trl, %T,
// %Tl and %Ts keep their offset. It implements ingest.Zoner.
func (f *Format) InZone(loc *time.Location) ingest.Format {
	g := *f
	g.loc = loc
	return &g
}

// SetCertCache makes the format's parsers share c for whole certificates.
func (f *Format) SetCertCache(c *x509cert.Cache) { f.certs = c }

// written says how HAProxy writes an alias's value (src/log.c,
// sess_build_logline).
type written uint8

const (
	wNumber  written = iota // a number or a date: never quoted, never empty
	wText                   // text: in double quotes under %{+Q}, "-" when empty
	wRequest                // a request line item: text with #XX escapes
	wBlock                  // %hr, %hs: {..|..} with #XX escapes, or nothing
	wList                   // %hrl, %hsl: captures with #XX escapes, or nothing
)

// aliases are the log-format aliases HAProxy knows (src/log.c,
// logformat_aliases; configuration.txt section 8.2.6), but %o, which sets
// the options of the items after it.
var aliases = map[string]written{
	"B": wNumber, "CC": wText, "CS": wText, "H": wText, "ID": wText, "OG": wText, "ST": wNumber,
	"T": wNumber, "Ta": wNumber, "Tc": wNumber, "Td": wNumber, "Th": wNumber, "Ti": wNumber, "Tl": wNumber,
	"Tq": wNumber, "TR": wNumber, "Tr": wNumber, "Ts": wNumber, "Tt": wNumber, "Tu": wNumber, "Tw": wNumber,
	"U": wNumber, "ac": wNumber, "b": wText, "bc": wNumber, "bi": wText, "bp": wNumber, "bq": wNumber,
	"ci": wText, "cp": wNumber, "f": wText, "fc": wNumber, "fi": wText, "fp": wNumber, "ft": wText,
	"hr": wBlock, "hrl": wList, "hs": wBlock, "hsl": wList,
	"HM": wRequest, "HP": wRequest, "HPO": wRequest, "HQ": wRequest, "HU": wRequest, "HV": wRequest,
	"lc": wNumber, "ms": wNumber, "pid": wNumber, "r": wRequest, "rc": wNumber, "rt": wNumber,
	"s": wText, "sc": wNumber, "si": wText, "sp": wNumber, "sq": wNumber, "sslc": wText, "sslv": wText,
	"t": wNumber, "tr": wNumber, "trg": wNumber, "trl": wNumber, "ts": wNumber, "tsc": wNumber,
}

func classifyAlias(a string) item {
	switch a {
	case "ci":
		return item{act: actField, field: event.SourceIP}
	case "cp":
		return item{act: actField, field: event.SourcePort}
	case "t":
		return item{act: actTime, time: timeAccept}
	case "tr":
		return item{act: actTime, time: timeRequest}
	case "trg", "trl":
		return item{act: actTime, time: timeZoned, skip: len("04/Dec/2026:09:00:01 ")}
	case "T", "Tl":
		return item{act: actTime, time: timeAcceptZoned, skip: len("04/Dec/2026:09:00:01 ")}
	case "Ts":
		return item{act: actTime, time: timeEpoch}
	case "r":
		return item{act: actRequest}
	case "HM":
		return item{act: actField, field: event.Method}
	case "HP", "HPO", "HU":
		return item{act: actPath}
	case "ST":
		return item{act: actField, field: event.Status}
	case "B":
		return item{act: actField, field: event.BodyBytes}
	case "ID":
		return item{act: actField, field: event.RequestID}
	}
	return item{}
}

// classifyFetch maps a sample expression (fetch and converters) to an item.
func classifyFetch(expr string) (item, error) {
	parts := splitTop(expr)
	fetch := strings.TrimSpace(parts[0])
	convs := parts[1:]
	name, args, _ := strings.Cut(fetch, "(")
	args = strings.TrimSuffix(args, ")")
	conv := strings.ToLower(strings.Join(convs, ","))
	conv = strings.TrimSuffix(conv, ",lower")
	conv = strings.TrimSuffix(conv, ",upper")
	switch name {
	case "ssl_c_s_dn", "ssl_c_i_dn":
		f := event.TLSSubject
		if name == "ssl_c_i_dn" {
			f = event.TLSIssuer
		}
		// ssl_c_s_dn(CN) is one entry, not a DN.
		if entry, _, _ := strings.Cut(args, ","); strings.TrimSpace(entry) != "" {
			return item{}, nil
		}
		return item{act: actField, field: f}, nil
	case "ssl_c_sha1":
		if conv != "hex" {
			return item{}, fmt.Errorf("%%[%s]: ssl_c_sha1 is binary; log it as %%[ssl_c_sha1,hex]", expr)
		}
		return item{act: actField, field: event.TLSSHA1}, nil
	case "ssl_c_serial":
		if conv != "hex" {
			return item{}, fmt.Errorf("%%[%s]: ssl_c_serial is binary; log it as %%[ssl_c_serial,hex]", expr)
		}
		return item{act: actField, field: event.TLSSerial}, nil
	case "ssl_c_der":
		switch conv {
		case "sha2(256),hex", "sha2,hex":
			return item{act: actField, field: event.TLSSHA256}, nil
		case "sha1,hex":
			return item{act: actField, field: event.TLSSHA1}, nil
		case "base64":
			return item{act: actCert, field: event.TLSCertificate}, nil
		}
		return item{}, fmt.Errorf("%%[%s]: use %%[ssl_c_der,sha2(256),hex] for the SHA-256 fingerprint or %%[ssl_c_der,base64] for the certificate", expr)
	case "ssl_c_verify":
		return item{act: actVerify}, nil
	case "ssl_c_used":
		return item{act: actUsed}, nil
	case "unique-id":
		return item{act: actField, field: event.RequestID}, nil
	case "req.hdr", "req.fhdr", "hdr", "fhdr":
		h, _, _ := strings.Cut(args, ",")
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "x-request-id":
			return item{act: actField, field: event.RequestID}, nil
		case "user-agent":
			return item{act: actField, field: event.UserAgent}, nil
		}
	}
	return item{}, nil
}

// splitTop splits a sample expression at the commas outside parentheses.
func splitTop(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// maxBranches bounds the header capture lists (%hrl, %hsl) that a line
// can only be read by trying both ways: present or left out.
const maxBranches = 4

// Compile compiles an HAProxy log-format string. It accepts the string as
// it stands in haproxy.cfg: with or without the log-format keyword, in
// double quotes or with backslash-escaped spaces. It reads the format as
// HAProxy does (src/log.c, lf_expr_compile): an alias is the longest run
// of letters and digits after the '%', and a run of spaces is one
// separator.
func Compile(logFormat string) (*Format, error) {
	s, err := unquote(logFormat)
	if err != nil {
		return nil, fmt.Errorf("compiling haproxy log-format: %w", err)
	}
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("compiling haproxy log-format: empty format")
	}
	f := &Format{certs: x509cert.NewCache(0)}
	var lit []byte
	globalQ := false
	prevItem := ""
	hasTime := false
	for i := 0; i < len(s); {
		c := s[i]
		if c == ' ' {
			// HAProxy writes a separator as one space, and none right
			// after another one.
			if len(lit) == 0 || lit[len(lit)-1] != ' ' {
				lit = append(lit, ' ')
			}
			i++
			continue
		}
		if c != '%' {
			lit = append(lit, c)
			i++
			continue
		}
		start := i
		i++
		if i == len(s) {
			return nil, fmt.Errorf("compiling haproxy log-format: byte %d: the format ends with a '%%'; write %%%% for a literal '%%'", start+1)
		}
		switch c := s[i]; {
		case c == '%':
			lit = append(lit, '%')
			i++
			continue
		case c == ' ' || c == '\t' || isDigit(c):
			return nil, fmt.Errorf("compiling haproxy log-format: byte %d: %q after '%%' is no item; write %%%% for a literal '%%'", start+1, c)
		}
		quote := globalQ
		flags := false
		if s[i] == '{' {
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				return nil, fmt.Errorf("compiling haproxy log-format: byte %d: %%{ has no closing '}'", start+1)
			}
			for _, fl := range strings.Split(s[i+1:i+j], ",") {
				switch fl {
				case "+Q":
					quote = true
				case "-Q":
					quote = false
				case "+json", "+cbor":
					return nil, fmt.Errorf("compiling haproxy log-format: byte %d: %%{%s} encoding is not supported; use a text log-format", start+1, fl)
				}
			}
			i += j + 1
			flags = true
		}
		if i < len(s) && s[i] == '(' {
			return nil, fmt.Errorf("compiling haproxy log-format: byte %d: named items %%(name) are for JSON/CBOR log-formats, which are not supported", start+1)
		}
		var it item
		w := wText // a sample fetch's value is text
		switch {
		case i < len(s) && s[i] == '[':
			depth, j := 0, i
			for ; j < len(s); j++ {
				if s[j] == '(' {
					depth++
				} else if s[j] == ')' {
					depth--
				} else if s[j] == ']' && depth <= 0 {
					break
				}
			}
			if j >= len(s) {
				return nil, fmt.Errorf("compiling haproxy log-format: byte %d: %%[ has no closing ']'", start+1)
			}
			expr := s[i+1 : j]
			if strings.TrimSpace(expr) == "" {
				return nil, fmt.Errorf("compiling haproxy log-format: byte %d: empty sample expression %%[]", start+1)
			}
			it, err = classifyFetch(expr)
			if err != nil {
				return nil, fmt.Errorf("compiling haproxy log-format: byte %d: %w", start+1, err)
			}
			i = j + 1
		case i < len(s) && (isLetter(s[i]) || flags && isDigit(s[i])):
			end := i + 1
			for end < len(s) && (isLetter(s[end]) || isDigit(s[end])) {
				end++
			}
			a := s[i:end]
			i = end
			if a == "o" { // %{...}o sets the flags of the items after it
				globalQ = quote
				continue
			}
			var ok bool
			if w, ok = aliases[a]; !ok {
				return nil, fmt.Errorf("compiling haproxy log-format: byte %d: unknown log-format variable %%%s", start+1, a)
			}
			it = classifyAlias(a)
			it.hash = w == wRequest || w == wBlock || w == wList
			it.capture = w == wBlock || w == wList
			it.block = w == wBlock
		case flags:
			return nil, fmt.Errorf("compiling haproxy log-format: byte %d: %s is not followed by an alias or a %%[sample]", start+1, s[start:i])
		default:
			// HAProxy drops a '%' before any other byte, which stays.
			continue
		}
		it.name = s[start:i]
		// HAProxy quotes text values only, and a capture quotes itself.
		quote = quote && w != wNumber
		it.quoted = quote && it.capture
		if quote && !it.capture {
			lit = append(lit, '"')
		}
		if len(f.items) > 0 && len(lit) == 0 {
			return nil, fmt.Errorf("compiling haproxy log-format: byte %d: %s follows %s with nothing between them, so their values cannot be told apart",
				start+1, it.name, prevItem)
		}
		f.lits = append(f.lits, lit)
		f.items = append(f.items, it)
		lit = nil
		if quote && !it.capture {
			lit = append(lit, '"')
		}
		prevItem = it.name
		if it.act == actTime {
			hasTime = true
		}
	}
	f.lits = append(f.lits, lit)
	branches := 0
	for i, it := range f.items {
		if it.act == actField && it.field == event.SourceIP && bytes.HasPrefix(f.lits[i+1], []byte{':'}) {
			f.items[i].lastColon = true
		}
		if it.capture && !it.block && bytes.HasPrefix(f.lits[i+1], []byte{' '}) {
			if branches++; branches > maxBranches {
				return nil, fmt.Errorf("compiling haproxy log-format: %s: more than %d header capture lists (%%hrl, %%hsl) followed by a space", it.name, maxBranches)
			}
		}
	}
	if !hasTime {
		return nil, errors.New("compiling haproxy log-format: no time (%t, %tr, %trg, %trl, %T, %Tl or %Ts): spraywatch needs each line's time")
	}
	f.prepareSkim()
	return f, nil
}

// lit returns lits[i] as HAProxy writes it: without its leading separator
// when sep, that is when the last thing written was a separator or when
// nothing was written yet.
func (f *Format) lit(i int, sep bool) []byte {
	l := f.lits[i]
	if sep && len(l) > 0 && l[0] == ' ' {
		return l[1:]
	}
	return l
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

// unquote strips the log-format keyword and the config file's quoting.
func unquote(s string) (string, error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "log-format"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
		s = strings.TrimSpace(rest)
	}
	var b strings.Builder
	inQ := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '\\':
			return "", errors.New("backslash at the end of the format")
		case c == '"':
			inQ = !inQ
		case (c == ' ' || c == '\t') && !inQ:
			return "", fmt.Errorf("byte %d: unquoted space ends the log-format argument; quote the format or escape spaces with '\\ '", i+1)
		default:
			b.WriteByte(c)
		}
	}
	if inQ {
		return "", errors.New("unbalanced double quote")
	}
	return b.String(), nil
}

var _ ingest.Format = (*Format)(nil)

// Fields lists the event fields the format's lines give values to, in
// event.Field order: those of the items it reads. A line may still leave
// any of them empty.
func (f *Format) Fields() []event.Field {
	var has event.FieldSet
	for _, it := range f.items {
		switch it.act {
		case actField:
			has.Add(it.field)
		case actPath:
			has.Add(event.URLPath)
		case actRequest:
			has.Add(event.Method, event.URLPath)
		case actVerify, actUsed:
			has.Add(event.TLSVerify)
		case actCert:
			has.Add(event.TLSCertificate, event.TLSSubject, event.TLSIssuer, event.TLSSHA1, event.TLSSHA256, event.TLSSerial, event.TLSURISAN)
		}
	}
	return has.Fields()
}
