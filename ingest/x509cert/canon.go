package x509cert

import (
	"fmt"
	"slices"
)

// hexLower and hexUpper map a byte to its lowercase / uppercase hex digit;
// sepByte marks the separators ':' and ' ', badByte everything else.
var hexLower, hexUpper = hexTables()

const (
	badByte = 0
	sepByte = 1
)

func hexTables() (lo, up [256]byte) {
	for c := 0; c < 256; c++ {
		switch {
		case '0' <= c && c <= '9':
			lo[c], up[c] = byte(c), byte(c)
		case 'a' <= c && c <= 'f':
			lo[c], up[c] = byte(c), byte(c-'a'+'A')
		case 'A' <= c && c <= 'F':
			lo[c], up[c] = byte(c-'A'+'a'), byte(c)
		case c == ':' || c == ' ':
			lo[c], up[c] = sepByte, sepByte
		}
	}
	return lo, up
}

// AppendFingerprint appends the canonical form of a hex fingerprint as a proxy
// logged it (Envoy lowercase, HAProxy's ,hex uppercase, colon-separated pairs
// as some tools print them) to dst: lowercase hex without separators.
func AppendFingerprint(dst, v []byte) ([]byte, error) {
	start := len(dst)
	dst = slices.Grow(dst, len(v))
	for i, c := range v {
		h := hexLower[c]
		switch h {
		case badByte:
			return dst[:start], fmt.Errorf("fingerprint: %q at byte %d is not a hex digit", c, i+1)
		case sepByte:
			continue
		}
		dst = append(dst, h)
	}
	if len(dst) == start {
		return dst, fmt.Errorf("fingerprint: no hex digits")
	}
	return dst, nil
}

// AppendSerial appends the canonical form of a hex serial number (nginx
// uppercase, Envoy lowercase, with or without colons and leading zeros) to
// dst: uppercase hex, no separators, no leading zeros ("0" for zero).
func AppendSerial(dst, v []byte) ([]byte, error) {
	start := len(dst)
	dst = slices.Grow(dst, len(v))
	digits := 0
	for i, c := range v {
		h := hexUpper[c]
		switch h {
		case badByte:
			return dst[:start], fmt.Errorf("serial: %q at byte %d is not a hex digit", c, i+1)
		case sepByte:
			continue
		}
		digits++
		if h == '0' && len(dst) == start {
			continue
		}
		dst = append(dst, h)
	}
	if len(dst) == start {
		if digits == 0 {
			return dst, fmt.Errorf("serial: no hex digits")
		}
		dst = append(dst, '0')
	}
	return dst, nil
}
