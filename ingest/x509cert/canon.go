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

// AppendSerial appends the canonical form of a hex serial number as a proxy
// logged it to dst: uppercase hex, no separators, no leading zeros ("0" for
// zero), the form SerialHex gives a parsed certificate's serial. The
// proxies write the serial's bytes in hex, and a canonical form of the
// integer is what makes one certificate's serial the same in every log:
// nginx's $ssl_client_serial (OpenSSL's i2a_ASN1_INTEGER: uppercase,
// "0A11"), HAProxy's %[ssl_c_serial,hex] (the same, its sign dropped),
// Envoy's %DOWNSTREAM_PEER_SERIAL% (BN_bn2hex in BoringSSL: lowercase,
// "0a11"), ALB's hex and colon-separated pairs as some tools print them all
// give "A11". A leading '-', which nginx and Envoy write for a negative
// serial (RFC 5280 forbids them, but they exist), is kept.
func AppendSerial(dst, v []byte) ([]byte, error) {
	start := len(dst)
	dst = slices.Grow(dst, len(v))
	i := 0
	if len(v) > 0 && v[0] == '-' {
		dst = append(dst, '-')
		i = 1
	}
	digits, nd := len(dst), 0
	for ; i < len(v); i++ {
		c := v[i]
		h := hexUpper[c]
		switch h {
		case badByte:
			return dst[:start], fmt.Errorf("serial: %q at byte %d is not a hex digit", c, i+1)
		case sepByte:
			continue
		}
		nd++
		if h == '0' && len(dst) == digits {
			continue
		}
		dst = append(dst, h)
	}
	if len(dst) == digits {
		if nd == 0 {
			return dst[:start], fmt.Errorf("serial: no hex digits")
		}
		dst = append(dst[:start], '0') // zero, which has no sign
	}
	return dst, nil
}
