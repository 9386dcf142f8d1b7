package x509cert

import "fmt"

// AppendFingerprint appends the canonical form of a hex fingerprint as a proxy
// logged it (Envoy lowercase, HAProxy's ,hex uppercase, colon-separated pairs
// as some tools print them) to dst: lowercase hex without separators.
func AppendFingerprint(dst, v []byte) ([]byte, error) {
	n := 0
	for i, c := range v {
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
			dst = append(dst, c)
		case 'A' <= c && c <= 'F':
			dst = append(dst, c+'a'-'A')
		case c == ':' || c == ' ':
			continue
		default:
			return dst, fmt.Errorf("fingerprint: %q at byte %d is not a hex digit", c, i+1)
		}
		n++
	}
	if n == 0 {
		return dst, fmt.Errorf("fingerprint: no hex digits")
	}
	return dst, nil
}

// AppendSerial appends the canonical form of a hex serial number (nginx
// uppercase, Envoy lowercase, with or without colons and leading zeros) to
// dst: uppercase hex, no separators, no leading zeros ("0" for zero).
func AppendSerial(dst, v []byte) ([]byte, error) {
	start := len(dst)
	lead := true
	digits := 0
	for i, c := range v {
		switch {
		case '0' <= c && c <= '9', 'A' <= c && c <= 'F':
		case 'a' <= c && c <= 'f':
			c -= 'a' - 'A'
		case c == ':' || c == ' ':
			continue
		default:
			return dst[:start], fmt.Errorf("serial: %q at byte %d is not a hex digit", c, i+1)
		}
		digits++
		if lead && c == '0' {
			continue
		}
		lead = false
		dst = append(dst, c)
	}
	if len(dst) == start {
		if digits == 0 {
			return dst, fmt.Errorf("serial: no hex digits")
		}
		dst = append(dst, '0')
	}
	return dst, nil
}
