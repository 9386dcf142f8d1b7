package nginx

import (
	"encoding/binary"
	"math/bits"
)

// runClass is a class of bytes the fast matcher measures runs of, eight
// bytes at a time: the bytes a short value is valid with (digits, hex, an
// address's characters), or for a request id anything but a backslash and
// the literal's first byte.
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

// geq sets the high bit of each byte of x whose low seven bits are at
// least c (c < 128), and no other bit.
func geq(x uint64, c byte) uint64 { return ((x | hi8) - uint64(c)*lo8) & hi8 }

// within sets the high bit of each byte of x whose low seven bits are in
// lo..hi.
func within(x uint64, lo, hi byte) uint64 { return geq(x, lo) &^ geq(x, hi+1) }

// equal sets the high bit of the first byte of x equal to c and possibly
// of later ones: the lowest bit set is exact.
func equal(x uint64, c byte) uint64 {
	z := x ^ uint64(c)*lo8
	return (z - lo8) &^ z & hi8
}

// The words of class r: the high bit of each byte of x of the class, all
// of hi8 when all are.
func digitWord(x uint64) uint64 { return within(x, '0', '9') &^ x }
func lowerWord(x uint64) uint64 { return (within(x, '0', '9') | within(x, 'a', 'f')) &^ x }
func upperWord(x uint64) uint64 { return (within(x, '0', '9') | within(x, 'A', 'F')) &^ x }
func ipWord(x uint64) uint64 {
	return (within(x, '.', '.') | within(x, '0', ':') | within(x, 'a', 'f') | within(x, 'A', 'F')) &^ x
}

// plainWord marks the bytes of x before the first stop or backslash.
func plainWord(x uint64, stop byte) uint64 {
	m := equal(x, stop) | equal(x, '\\') // its lowest bit is exact
	return hi8 &^ (m & -m)
}

// firstOut is the index of the first byte not of the class in a word.
func firstOut(ok uint64) int { return bits.TrailingZeros64(^ok&hi8) >> 3 }

// word returns the high bits of the bytes of x of class r.
func (r runClass) word(x uint64, stop byte) uint64 {
	switch r {
	case runDigit:
		return digitWord(x)
	case runLower:
		return lowerWord(x)
	case runUpper:
		return upperWord(x)
	case runIP:
		return ipWord(x)
	}
	return plainWord(x, stop)
}

// span returns the length of the run of class r bytes at the start of b;
// stop is the literal's first byte.
func (r runClass) span(b []byte, stop byte) int {
	i := 0
	for ; len(b)-i >= 8; i += 8 {
		if ok := r.word(binary.LittleEndian.Uint64(b[i:]), stop); ok != hi8 {
			return i + firstOut(ok)
		}
	}
	for ; i < len(b); i++ {
		if !r.in(b[i], stop) {
			return i
		}
	}
	return len(b)
}
