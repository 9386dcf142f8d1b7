package nginx

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// runClass is a class of bytes the fast matcher measures runs of, eight
// bytes at a time: the bytes a short value is valid with (digits, hex, an
// address's characters), or for a request id anything but a backslash and
// the literal's first byte (found with bytes.IndexByte, faster over the 32
// bytes or more of most request ids).
type runClass uint8

const (
	runNone  runClass = iota
	runDigit          // 0-9
	runLower          // 0-9a-f
	runUpper          // 0-9A-F
	runIP             // 0-9a-fA-F.:
	runPlain          // anything but '\\' and the literal's first byte
)

// runOf is the class of bytes a value of kind k is certainly valid with
// (and needs no unescaping).
func runOf(k varKind) runClass {
	switch k {
	case vRemotePort, vStatus, vBodyBytes:
		return runDigit
	case vFingerprint:
		return runLower
	case vSerial:
		return runUpper
	case vRemoteAddr:
		return runIP
	case vRequestID:
		return runPlain
	}
	return runNone
}

// holds reports whether a value of class r could hold c, the first byte
// of the literal after it: then the literal could start inside a value and
// the fast matcher is not used. A runPlain value ends at its literal's
// first byte, so never does.
func (r runClass) holds(c byte) bool {
	if r == runPlain {
		return false
	}
	return r.in(c, 0)
}

// in reports whether c is of class r; stop is the literal's first byte.
func (r runClass) in(c, stop byte) bool {
	digit := '0' <= c && c <= '9'
	switch r {
	case runDigit:
		return digit
	case runLower:
		return digit || 'a' <= c && c <= 'f'
	case runUpper:
		return digit || 'A' <= c && c <= 'F'
	case runIP:
		return digit || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == '.' || c == ':'
	case runPlain:
		return c != stop && c != '\\'
	}
	return false
}

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// Eight bytes at a time, in a word x:
//
//   - with t = x | hi8, t - c*lo8 (c < 128) has the high bit of each byte
//     whose low seven bits are at least c: no byte borrows from the next;
//     so a byte is in lo..hi where (t-lo*lo8) &^ (t-(hi+1)*lo8) has it;
//   - with z = x ^ c*lo8, (z-lo8) &^ z & hi8 marks the bytes of x equal to
//     c, and perhaps bytes after the first one, where a borrow leaks: its
//     lowest bit is exact, and that is the only one the matcher uses.

// span returns the length of the run of class r bytes at the start of b;
// stop is the literal's first byte. Bytes from 128 up, of no class but
// runPlain's, are taken out of a word's ranges with &^ x.
func (r runClass) span(b []byte, stop byte) int {
	const (
		c0 = '0' * lo8
		c9 = ('9' + 1) * lo8
		cc = (':' + 1) * lo8
		ca = 'a' * lo8
		cf = ('f' + 1) * lo8
		cA = 'A' * lo8
		cF = ('F' + 1) * lo8
		cd = '.' * lo8
		ce = ('.' + 1) * lo8
	)
	i := 0
	switch r {
	case runDigit:
		for ; len(b)-i >= 8; i += 8 {
			x := binary.LittleEndian.Uint64(b[i:])
			t := x | hi8
			if ok := ((t - c0) &^ (t - c9)) & hi8 &^ x; ok != hi8 {
				return i + firstOut(ok)
			}
		}
	case runLower:
		for ; len(b)-i >= 8; i += 8 {
			x := binary.LittleEndian.Uint64(b[i:])
			t := x | hi8
			if ok := ((t-c0)&^(t-c9) | (t-ca)&^(t-cf)) & hi8 &^ x; ok != hi8 {
				return i + firstOut(ok)
			}
		}
	case runUpper:
		for ; len(b)-i >= 8; i += 8 {
			x := binary.LittleEndian.Uint64(b[i:])
			t := x | hi8
			if ok := ((t-c0)&^(t-c9) | (t-cA)&^(t-cF)) & hi8 &^ x; ok != hi8 {
				return i + firstOut(ok)
			}
		}
	case runIP:
		for ; len(b)-i >= 8; i += 8 {
			x := binary.LittleEndian.Uint64(b[i:])
			t := x | hi8
			if ok := ((t-cd)&^(t-ce) | (t-c0)&^(t-cc) | (t-ca)&^(t-cf) | (t-cA)&^(t-cF)) & hi8 &^ x; ok != hi8 {
				return i + firstOut(ok)
			}
		}
	case runPlain:
		// A request id: bytes.IndexByte finds its end, and the backslash
		// in it if any.
		k := bytes.IndexByte(b, stop)
		if k < 0 {
			k = len(b)
		}
		if j := bytes.IndexByte(b[:k], '\\'); j >= 0 {
			return j
		}
		return k
	}
	for ; i < len(b); i++ {
		if !r.in(b[i], stop) {
			return i
		}
	}
	return len(b)
}

// firstOut is the index of the first byte whose high bit ok lacks.
func firstOut(ok uint64) int { return bits.TrailingZeros64(^ok&hi8) >> 3 }
