// Package dn puts X.509 distinguished names into one canonical string form,
// so that one certificate has one subject (and issuer) whatever proxy logged
// it and however that proxy printed the name.
//
// Accepted inputs:
//
//   - RFC 2253 / RFC 4514 strings, most specific attribute first, as written
//     by OpenSSL's XN_FLAG_RFC2253 (nginx $ssl_client_s_dn, Envoy, HAProxy's
//     rfc2253 format) and by Go's pkix.Name.String (Traefik): backslash
//     escapes of special characters (\, \+ \" \\ \< \> \; \=), \HH escapes of
//     bytes (OpenSSL writes every byte of a non-ASCII character so:
//     CN=\D0\B4...), and #hex values holding the DER encoding of the value.
//   - OpenSSL "oneline" strings, least specific attribute first, each entry
//     introduced by '/' (nginx $ssl_client_s_dn_legacy, HAProxy's default
//     %[ssl_c_s_dn]): /C=US/O=Example, Inc/CN=Jane Doe. Values are raw
//     except for OpenSSL's \xHH escapes of bytes outside printable ASCII,
//     which are decoded. A '/' inside a value that is not escaped is taken
//     as part of the value unless an attribute type and '=' follow it. A
//     '+' is always part of the value: OpenSSL 3 joins the entries of a
//     multi-valued RDN with '+' (/OU=Batch+OU=Services), but HAProxy's
//     writer and OpenSSL 1.1's write a '+' inside a value raw
//     (/CN=admin+CN=x is one CN there), so the entry is kept as one
//     attribute, not split nor sorted (OU=Batch\+OU=Services). OpenSSL 3's
//     escapes \+ and \/ are kept as written, backslash and all
//     (CN=admin\\\+CN=x), as raw writers write a backslash in a value so:
//     two oneline names differing other than in a \xHH escape never meet.
//     A multi-valued RDN's oneline canonical form, or a value with a '+'
//     or '/' OpenSSL 3 escaped, differs from its RFC 2253 one. HAProxy's
//     own oneline writer starts every entry with '/', even inside a
//     multi-valued RDN, so its names cannot say which entries share an RDN.
//
// The canonical form is RFC 4514-shaped: most specific RDN first, RDNs
// separated by ',', the attributes of a multi-valued RDN separated by '+',
// attribute types spelled as OpenSSL's short names (CN, OU, O, L, ST, C, DC,
// UID, SN, GN, emailAddress, serialNumber, street, postalCode, title),
// values in UTF-8 with only , + " \ < > ; a leading '#' or space and a
// trailing space escaped with a backslash. Bytes that are not valid UTF-8
// and control characters are written as \HH.
//
// The attributes of a multi-valued RDN in the RFC 2253 forms, where a '+'
// inside a value is escaped, form a set, which writers print in
// different orders (OpenSSL reverses the DER order, Go keeps it), so the
// canonical form sorts them: by attribute type name, then by value, both
// compared byte by byte in their canonical spelling
// (CN=svc+UID=b, OU=Batch+OU=Services). RDNs keep their order.
package dn

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Canonical appends the canonical form of the distinguished name src to dst
// and returns the extended buffer. It allocates nothing beyond what dst needs
// to grow, unless an RDN holds more than 16 attributes. An empty (or
// all-space) src appends nothing.
func Canonical(dst, src []byte) ([]byte, error) {
	s := trimTrailing(trimLeft(src))
	if len(s) == 0 {
		return dst, nil
	}
	if s[0] == '/' {
		return appendOneline(dst, s)
	}
	return appendRFC2253(dst, s)
}

// Syntax errors.
var (
	errNoEquals       = errors.New("attribute without '='")
	errEmptyType      = errors.New("empty attribute type")
	errBadType        = errors.New("attribute type with characters other than letters, digits, '.', '-' and '_'")
	errTrailingSep    = errors.New("separator at end of name")
	errTrailingEscape = errors.New("backslash at end of value")
	errBadHexValue    = errors.New("#hex value with odd length or a non-hex digit")
)

// Error reports a distinguished name that cannot be read.
type Error struct {
	Offset int   // 0-based byte offset in the (space-trimmed) input
	Err    error // what was wrong
}

func (e *Error) Error() string {
	return fmt.Sprintf("distinguished name: offset %d: %v", e.Offset, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

func appendRFC2253(dst, s []byte) ([]byte, error) {
	start := len(dst)
	rdn := start   // where the current RDN starts in dst
	multi := false // whether it has more than one attribute
	i := 0
	for {
		// Attribute type, up to '='.
		ts := i
		for i < len(s) && s[i] != '=' {
			if s[i] == ',' || s[i] == '+' {
				return dst[:start], &Error{i, errNoEquals}
			}
			i++
		}
		if i == len(s) {
			return dst[:start], &Error{ts, errNoEquals}
		}
		typ := trimSpace(s[ts:i])
		if err := checkType(typ); err != nil {
			return dst[:start], &Error{ts, err}
		}
		i++ // '='
		vs := i
		for i < len(s) {
			c := s[i]
			if c == '\\' {
				if i+1 >= len(s) {
					return dst[:start], &Error{i, errTrailingEscape}
				}
				i += 2
				continue
			}
			if c == ',' || c == '+' {
				break
			}
			i++
		}
		dst = appendType(dst, typ)
		dst = append(dst, '=')
		var err error
		dst, err = appendRFC2253Value(dst, s[vs:i], vs)
		if err != nil {
			return dst[:start], err
		}
		if i == len(s) || s[i] == ',' {
			if multi {
				dst = sortRDN(dst, rdn)
			}
			multi = false
			rdn = len(dst) + 1
		} else {
			multi = true
		}
		if i == len(s) {
			return dst, nil
		}
		dst = append(dst, s[i])
		i++
		if i == len(s) {
			return dst[:start], &Error{i - 1, errTrailingSep}
		}
	}
}

// span is an attribute's place in an RDN: rdn[from:to].
type span struct{ from, to int }

// sortRDN sorts the attributes of the multi-valued RDN dst[from:], written
// in canonical form, by type and then by value (see the package comment).
// The sorted RDN is written after dst and then moved down over it.
func sortRDN(dst []byte, from int) []byte {
	var fixed [16]span // more attributes than this cost an allocation
	avas := fixed[:0]
	rdn := dst[from:]
	s := 0
	for k := 0; k < len(rdn); k++ {
		switch rdn[k] {
		case '\\':
			k++ // an escaped byte: canonical values write '+' as \+
		case '+':
			avas = append(avas, span{s, k})
			s = k + 1
		}
	}
	avas = append(avas, span{s, len(rdn)})
	cmp := func(a, b span) int { return compareAVA(rdn[a.from:a.to], rdn[b.from:b.to]) }
	if slices.IsSortedFunc(avas, cmp) {
		return dst
	}
	slices.SortFunc(avas, cmp)
	mid := len(dst)
	for n, a := range avas {
		if n > 0 {
			dst = append(dst, '+')
		}
		dst = append(dst, dst[from+a.from:from+a.to]...)
	}
	n := copy(dst[from:], dst[mid:])
	return dst[:from+n]
}

// compareAVA orders two canonical type=value attributes by type, then by
// value. A canonical type holds no '='.
func compareAVA(a, b []byte) int {
	ta, tb := bytes.IndexByte(a, '='), bytes.IndexByte(b, '=')
	if c := bytes.Compare(a[:ta], b[:tb]); c != 0 {
		return c
	}
	return bytes.Compare(a[ta+1:], b[tb+1:])
}

// appendRFC2253Value decodes an RFC 2253 value and appends it canonically
// escaped. off is the value's offset in the name, for errors.
func appendRFC2253Value(dst, v []byte, off int) ([]byte, error) {
	// Unescaped leading and trailing spaces are not part of the value.
	for len(v) > 0 && v[0] == ' ' {
		v = v[1:]
		off++
	}
	for len(v) > 0 && v[len(v)-1] == ' ' {
		bs := 0
		for k := len(v) - 2; k >= 0 && v[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 1 {
			break // an escaped space
		}
		v = v[:len(v)-1]
	}
	tail := len(dst)
	if len(v) > 0 && v[0] == '#' {
		return appendHexValue(dst, v[1:], off+1)
	}
	// Fast path: nothing to decode or escape.
	if plain(v) {
		return append(dst, v...), nil
	}
	for k := 0; k < len(v); k++ {
		c := v[k]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		// The scanner guaranteed a byte after each backslash.
		k++
		if k+1 < len(v) && isHex(v[k]) && isHex(v[k+1]) {
			dst = append(dst, unhex(v[k])<<4|unhex(v[k+1]))
			k++
			continue
		}
		dst = append(dst, v[k])
	}
	return escapeTail(dst, tail), nil
}

// plain reports whether v is printable ASCII needing neither decoding nor
// escaping.
func plain(v []byte) bool {
	for k, c := range v {
		if c < 0x20 || c >= 0x7f || needsEscape(c) {
			return false
		}
		if k == 0 && c == '#' {
			return false
		}
	}
	return len(v) == 0 || (v[0] != ' ' && v[len(v)-1] != ' ')
}

// appendHexValue decodes a #hex value (the DER encoding of the attribute
// value). A DER string is written as its text; anything else stays #hex, in
// lower case.
func appendHexValue(dst, h []byte, off int) ([]byte, error) {
	if len(h) == 0 || len(h)%2 == 1 {
		return dst, &Error{off, errBadHexValue}
	}
	for k := 0; k < len(h); k++ {
		if !isHex(h[k]) {
			return dst, &Error{off + k, errBadHexValue}
		}
	}
	tail := len(dst)
	for k := 0; k < len(h); k += 2 {
		dst = append(dst, unhex(h[k])<<4|unhex(h[k+1]))
	}
	der := dst[tail:]
	tag, body, ok := derString(der)
	if !ok {
		return appendLowerHex(dst[:tail], h), nil
	}
	// Write the text after the DER bytes, escape it, then move it down.
	text := len(dst)
	switch tag {
	case tagBMP:
		if len(body)%2 != 0 {
			return appendLowerHex(dst[:tail], h), nil
		}
		for k := 0; k < len(body); k += 2 {
			r := rune(body[k])<<8 | rune(body[k+1])
			if utf16Surrogate(r) {
				if k+3 < len(body) {
					r2 := rune(body[k+2])<<8 | rune(body[k+3])
					if r >= 0xd800 && r < 0xdc00 && r2 >= 0xdc00 && r2 < 0xe000 {
						r = (r-0xd800)<<10 | (r2 - 0xdc00) + 0x10000
						k += 2
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		}
	case tagUniversal:
		if len(body)%4 != 0 {
			return appendLowerHex(dst[:tail], h), nil
		}
		for k := 0; k < len(body); k += 4 {
			r := rune(body[k])<<24 | rune(body[k+1])<<16 | rune(body[k+2])<<8 | rune(body[k+3])
			dst = utf8.AppendRune(dst, r)
		}
	default:
		dst = append(dst, body...)
	}
	dst = escapeTail(dst, text)
	n := copy(dst[tail:], dst[text:])
	return dst[:tail+n], nil
}

func utf16Surrogate(r rune) bool { return r >= 0xd800 && r < 0xe000 }

// DER universal tags of the string types a name attribute may hold.
const (
	tagUTF8      = 0x0c
	tagNumeric   = 0x12
	tagPrintable = 0x13
	tagT61       = 0x14
	tagIA5       = 0x16
	tagVisible   = 0x1a
	tagUniversal = 0x1c
	tagBMP       = 0x1e
)

// derString reads one DER TLV that fills der and is a string type.
func derString(der []byte) (tag byte, body []byte, ok bool) {
	if len(der) < 2 {
		return 0, nil, false
	}
	tag = der[0]
	switch tag {
	case tagUTF8, tagNumeric, tagPrintable, tagT61, tagIA5, tagVisible, tagUniversal, tagBMP:
	default:
		return 0, nil, false
	}
	l := int(der[1])
	rest := der[2:]
	if l >= 0x80 {
		n := l & 0x7f
		if n == 0 || n > 3 || len(rest) < n {
			return 0, nil, false
		}
		l = 0
		for _, b := range rest[:n] {
			l = l<<8 | int(b)
		}
		rest = rest[n:]
	}
	if l != len(rest) {
		return 0, nil, false
	}
	return tag, rest, true
}

func appendLowerHex(dst, h []byte) []byte {
	dst = append(dst, '#')
	for _, c := range h {
		if 'A' <= c && c <= 'F' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// escapeTail escapes the decoded value dst[from:] in canonical form. The
// escaped text is written after the value and then moved down over it.
func escapeTail(dst []byte, from int) []byte {
	v := dst[from:]
	if plain(v) && utf8.Valid(v) {
		return dst
	}
	mid := len(dst)
	for k := 0; k < mid-from; {
		// The value aliases dst, which append may move: re-slice each time.
		v = dst[from:mid]
		c := v[k]
		if c < utf8.RuneSelf {
			switch {
			case needsEscape(c),
				k == 0 && (c == ' ' || c == '#'),
				k == len(v)-1 && c == ' ':
				dst = append(dst, '\\', c)
			case c < 0x20 || c == 0x7f:
				dst = appendHexEscape(dst, c)
			default:
				dst = append(dst, c)
			}
			k++
			continue
		}
		r, n := utf8.DecodeRune(v[k:])
		if r == utf8.RuneError && n == 1 {
			dst = appendHexEscape(dst, c)
		} else {
			dst = append(dst, v[k:k+n]...)
		}
		k += n
	}
	n := copy(dst[from:], dst[mid:])
	return dst[:from+n]
}

func needsEscape(c byte) bool {
	switch c {
	case ',', '+', '"', '\\', '<', '>', ';':
		return true
	}
	return false
}

const upperHex = "0123456789ABCDEF"

func appendHexEscape(dst []byte, c byte) []byte {
	return append(dst, '\\', upperHex[c>>4], upperHex[c&0xf])
}

func appendOneline(dst, s []byte) ([]byte, error) {
	start := len(dst)
	end := len(s)
	first := true
	for end > 0 {
		// Find the '/' that starts the last entry: a '/' followed by an
		// attribute type and '='. A '/' inside a value is left alone.
		i := end - 1
		for i > 0 && !(s[i] == '/' && s[i-1] != '\\' && entryStart(s[i+1:end])) {
			i--
		}
		if s[i] != '/' || !entryStart(s[i+1:end]) {
			return dst[:start], &Error{i, errNoEquals}
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		// One attribute: a '+' is part of the value. OpenSSL 3 joins the
		// attributes of a multi-valued RDN with '+', but HAProxy's writer
		// and OpenSSL 1.1's leave a '+' inside a value raw, so the two
		// cannot be told apart; the entry is kept as written, never split
		// nor sorted, and a '\+' stays one too (not a '+'), so that two
		// certificates never share a name.
		dst = appendOnelineAttr(dst, s[i+1:end])
		end = i
	}
	return dst, nil
}

// appendOnelineAttr appends one type=value attribute of a oneline name,
// which starts with an attribute type and '=', in canonical form.
func appendOnelineAttr(dst, e []byte) []byte {
	eq := 0
	for e[eq] != '=' {
		eq++
	}
	dst = appendType(dst, e[:eq])
	dst = append(dst, '=')
	tail := len(dst)
	v := e[eq+1:]
	for k := 0; k < len(v); k++ {
		c := v[k]
		if c == '\\' && k+3 < len(v) && v[k+1] == 'x' && isHex(v[k+2]) && isHex(v[k+3]) {
			// OpenSSL's escape of a byte outside printable ASCII,
			// which raw writers write as it is. A printable byte is
			// never so escaped: the text is kept as written.
			if b := unhex(v[k+2])<<4 | unhex(v[k+3]); b < 0x20 || b >= 0x7f {
				dst = append(dst, b)
				k += 3
				continue
			}
		}
		// Any other backslash is kept, OpenSSL 3's \+ and \/ too: a raw
		// writer's value may hold them as text, and the value with the
		// backslash must not meet the one without (/CN=a\+b is not
		// /CN=a+b).
		dst = append(dst, c)
	}
	return escapeTail(dst, tail)
}

// entryStart reports whether e begins with an attribute type and '='.
func entryStart(e []byte) bool {
	for k, c := range e {
		if c == '=' {
			return k > 0
		}
		if !isTypeChar(c) {
			return false
		}
	}
	return false
}

func isTypeChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_'
}

func checkType(t []byte) error {
	if len(t) == 0 {
		return errEmptyType
	}
	for _, c := range t {
		if !isTypeChar(c) {
			return errBadType
		}
	}
	return nil
}

// typeNames maps lower-case attribute type names and OIDs to the names
// OpenSSL prints.
var typeNames = map[string]string{
	"cn": "CN", "commonname": "CN", "2.5.4.3": "CN",
	"ou": "OU", "organizationalunitname": "OU", "2.5.4.11": "OU",
	"o": "O", "organizationname": "O", "2.5.4.10": "O",
	"l": "L", "localityname": "L", "2.5.4.7": "L",
	"st": "ST", "s": "ST", "stateorprovincename": "ST", "2.5.4.8": "ST",
	"c": "C", "countryname": "C", "2.5.4.6": "C",
	"dc": "DC", "domaincomponent": "DC", "0.9.2342.19200300.100.1.25": "DC",
	"uid": "UID", "userid": "UID", "0.9.2342.19200300.100.1.1": "UID",
	"emailaddress": "emailAddress", "email": "emailAddress", "e": "emailAddress", "1.2.840.113549.1.9.1": "emailAddress",
	"serialnumber": "serialNumber", "2.5.4.5": "serialNumber",
	"street": "street", "streetaddress": "street", "2.5.4.9": "street",
	"postalcode": "postalCode", "2.5.4.17": "postalCode",
	"title": "title", "2.5.4.12": "title",
	"sn": "SN", "surname": "SN", "2.5.4.4": "SN",
	"gn": "GN", "givenname": "GN", "2.5.4.42": "GN",
}

// appendType appends the canonical spelling of an attribute type: OpenSSL's
// short name for the known ones, the type as written otherwise.
func appendType(dst, t []byte) []byte {
	switch string(t) {
	case "CN", "OU", "O", "C", "L", "ST", "DC":
		return append(dst, t...)
	}
	var buf [32]byte
	if len(t) <= len(buf) {
		for k, c := range t {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[k] = c
		}
		if name, ok := typeNames[string(buf[:len(t)])]; ok {
			return append(dst, name...)
		}
	}
	return append(dst, t...)
}

func trimLeft(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// trimTrailing drops trailing spaces and tabs that are not escaped.
func trimTrailing(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		bs := 0
		for k := len(b) - 2; k >= 0 && b[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 1 {
			break
		}
		b = b[:len(b)-1]
	}
	return b
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
