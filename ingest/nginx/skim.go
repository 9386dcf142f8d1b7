package nginx

import (
	"encoding/binary"
	"math/bits"
)

// plainDN reports, without building anything, that the distinguished name v
// is certainly one dn.Canonical accepts: RFC 2253 attributes type=value
// separated by ',' or '+', types of letters, digits, '.', '-' and '_', and
// values without escapes, without a leading space or '#' (the DER form) and
// with no trailing space or tab on the name. It has no backslash, so the
// log's escaping left it as it is. A false result says nothing: the caller
// checks the name in full.
func plainDN(v []byte) bool {
	n := len(v)
	if n == 0 || v[n-1] == ' ' || v[n-1] == '\t' {
		return false
	}
	i := 0
	for {
		ts := i
		for i < n && dnClass[v[i]]&dnType != 0 {
			i++
		}
		if i == ts || i == n || v[i] != '=' {
			return false
		}
		i++
		if i < n && dnClass[v[i]]&dnLead != 0 {
			return false
		}
		// The value runs to a separator; eight bytes at a time, the
		// lowest byte marked is exact (see run.go).
		for ; n-i >= 8; i += 8 {
			x := binary.LittleEndian.Uint64(v[i:])
			z1, z2, z3 := x^(','*lo8), x^('+'*lo8), x^('\\'*lo8)
			if m := ((z1-lo8)&^z1 | (z2-lo8)&^z2 | (z3-lo8)&^z3) & hi8; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
		}
		for i < n && dnClass[v[i]]&dnEnd == 0 {
			i++
		}
		if i == n {
			return true
		}
		if v[i] == '\\' {
			return false
		}
		i++ // the separator; an attribute must follow
	}
}

// Classes of bytes in a distinguished name, for plainDN.
const (
	dnType  = 1 << iota // of an attribute type
	dnLead              // not at the start of a plain value
	dnEnd               // ends a plain value, or makes it not plain
	dnCanon             // printable ASCII a canonical value holds unescaped
)

var dnClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if isTypeChar(byte(c)) {
			t[c] = dnType
		}
	}
	t[' '], t['#'] = dnLead, dnLead
	t[','], t['+'], t['\\'] = dnEnd, dnEnd, dnEnd
	for c := 0x20; c < 0x7f; c++ {
		switch c {
		case ',', '+', '"', '\\', '<', '>', ';':
		default:
			t[c] |= dnCanon
		}
	}
	return t
}()

func isTypeChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_'
}

// canonicalDN reports that the distinguished name v is certainly its own
// canonical form (dn.Canonical returns it unchanged): RFC 2253 attributes
// of the types dn spells as they come (CN, OU, O, C, L, ST, DC), one per
// RDN (dn sorts the attributes of a multi-valued one), values of printable
// ASCII needing no escape with no leading or trailing space and no leading
// '#'. It has no backslash, so the log's escaping left it as it is. A false
// result says nothing.
func canonicalDN(v []byte) bool {
	n := len(v)
	i := 0
	for {
		ts := i
		for i < n && 'A' <= v[i] && v[i] <= 'Z' {
			i++
		}
		switch string(v[ts:i]) {
		case "CN", "OU", "O", "C", "L", "ST", "DC":
		default:
			return false
		}
		if i == n || v[i] != '=' {
			return false
		}
		i++
		if i < n && (v[i] == ' ' || v[i] == '#') {
			return false
		}
		vs := i
		for i < n && dnClass[v[i]]&dnCanon != 0 {
			i++
		}
		if i > vs && v[i-1] == ' ' {
			return false
		}
		if i == n {
			return true
		}
		if v[i] != ',' {
			return false
		}
		i++ // the separator; an attribute must follow
	}
}
