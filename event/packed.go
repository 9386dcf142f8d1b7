package event

import (
	"math/bits"
	"unsafe"
)

// Packed is a record's values in one string of their own: a header with
// the length of each value present, then the values, in field order (the
// request id first). A length is one byte if it is below long; else the
// byte long and then the length as a uvarint. A header of one byte a value
// (the usual case: no value of a log line's is that long but a
// certificate) is read without a branch per length. Its zero value holds
// nothing. A Packed is immutable: whoever keeps a record's values may keep
// the Packed instead of copying them, and events may point into it.
//
// The format is internal: a Packed is neither written down nor sent
// anywhere, only handed from a parse worker to the goroutine that joins
// records.
type Packed struct {
	data string
	mask uint32 // the fields present
	hdr  uint32 // where the values start in data
}

// long is the header byte of a length written as long and then a uvarint.
const long = 0xff

// a mask has a bit per field.
var _ [32 - NumFields]struct{}

// Pack copies r's values into a Packed, or returns r.Owned if r has one.
func (r *Record) Pack() Packed {
	if r.Owned.mask != 0 {
		return r.Owned
	}
	return pack(r, false)
}

// Own packs r's values (see Pack) and points them into the packed copy,
// which becomes r.Owned: the record's values then outlive its parser's
// next call, and whoever keeps them need not copy them again. The values
// must not be written to.
func (r *Record) Own() {
	if r.Owned.mask != 0 {
		return
	}
	r.Owned = pack(r, true)
}

// SetOwned makes p r's values, as Own leaves them: r.Owned is p, and the
// values of the fields p holds point into it (they must not be written
// to); the other values are nil. fields has a bit for each field whose
// value r may hold now: only those are cleared.
func (r *Record) SetOwned(p Packed, fields uint32) {
	for m := fields &^ p.mask; m != 0; m &= m - 1 {
		r.Values[bits.TrailingZeros32(m)] = nil
	}
	r.Owned = p
	if !p.short() {
		r.setOwnedLong(p)
		return
	}
	// One byte a length, of a value that is not empty: pack wrote as
	// many as p has fields, and as many bytes of values as they add up
	// to, so that no index needs checking.
	data, off := unsafe.Pointer(unsafe.StringData(p.data)), uintptr(p.hdr)
	for m, h := p.mask, data; m != 0; m &= m - 1 {
		l := uintptr(*(*byte)(h))
		r.Values[bits.TrailingZeros32(m)] = unsafe.Slice((*byte)(unsafe.Add(data, off)), l)
		h, off = unsafe.Add(h, 1), off+l
	}
}

// setOwnedLong is SetOwned's setting of the values when a length takes
// more than a byte.
func (r *Record) setOwnedLong(p Packed) {
	data := unsafe.Slice(unsafe.StringData(p.data), len(p.data))
	i, off := 0, int(p.hdr)
	for m := p.mask; m != 0; m &= m - 1 {
		var l int
		l, i = p.length(i)
		r.Values[bits.TrailingZeros32(m)] = data[off : off+l : off+l]
		off += l
	}
}

// Fields returns the fields p holds, a bit per Field.
func (p Packed) Fields() uint32 { return p.mask }

// short reports whether every length in p's header is one byte.
func (p Packed) short() bool { return p.hdr == uint32(bits.OnesCount32(p.mask)) }

// length returns the length at data[i] and where the next one starts.
func (p Packed) length(i int) (int, int) {
	if b := p.data[i]; b != long {
		return int(b), i + 1
	}
	l, k := uvarint(p.data[i+1:])
	return l, i + 1 + k
}

// pack copies r's values into a Packed; if point, it points r's values
// into the copy.
func pack(r *Record, point bool) Packed {
	var p Packed
	n, h := 0, 0
	for f := range r.Values { // by index: ranging over the array would copy it
		if l := len(r.Values[f]); l > 0 {
			p.mask |= 1 << f
			n += l
			h++
			if l >= long {
				h += uvarintLen(l)
			}
		}
	}
	if p.mask == 0 {
		return p
	}
	buf := make([]byte, h+n)
	if h == bits.OnesCount32(p.mask) {
		// One byte a length: buf has a byte of header and the bytes of
		// the value for each field, so that no index needs checking.
		data, off := unsafe.Pointer(unsafe.SliceData(buf)), uintptr(h)
		for m, hp := p.mask, data; m != 0; m &= m - 1 {
			f := bits.TrailingZeros32(m)
			v := r.Values[f]
			*(*byte)(hp) = byte(len(v))
			dst := unsafe.Slice((*byte)(unsafe.Add(data, off)), len(v))
			copy(dst, v)
			if point {
				r.Values[f] = dst
			}
			hp, off = unsafe.Add(hp, 1), off+uintptr(len(v))
		}
	} else {
		packLong(r, point, p.mask, buf, h)
	}
	// buf is not written again once filled: it can be the string's bytes,
	// as in strings.Builder.
	p.data, p.hdr = unsafe.String(unsafe.SliceData(buf), len(buf)), uint32(h)
	return p
}

// packLong is pack's filling of buf when a length takes more than a byte:
// mask has the fields present, and h header bytes come before the values.
func packLong(r *Record, point bool, mask uint32, buf []byte, h int) {
	hdr, vals := buf[:h:h], buf[h:]
	i, j := 0, 0
	for m := mask; m != 0; m &= m - 1 {
		f := bits.TrailingZeros32(m)
		v := r.Values[f]
		l := len(v)
		if l < long {
			hdr[i] = byte(l)
			i++
		} else {
			hdr[i] = long
			i++
			for u := uint(l); ; u >>= 7 {
				if u < 0x80 {
					hdr[i] = byte(u)
					i++
					break
				}
				hdr[i] = byte(u) | 0x80
				i++
			}
		}
		copy(vals[j:], v)
		if point {
			r.Values[f] = vals[j : j+l : j+l]
		}
		j += l
	}
}

func uvarintLen(l int) int {
	n := 1
	for l >= 0x80 {
		l >>= 7
		n++
	}
	return n
}

// uvarint decodes a long length pack wrote.
func uvarint(s string) (int, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < 0x80 {
			return int(x | uint64(b)<<shift), i + 1
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	return 0, len(s) // not reached: pack writes whole uvarints
}

// IsZero reports whether p holds no value.
func (p Packed) IsZero() bool { return p.mask == 0 }

// Size returns the bytes p holds.
func (p Packed) Size() int { return len(p.data) }

// RequestID returns the request id p holds, "" if none. It reads only
// the first length: the request id is the first field.
func (p Packed) RequestID() string {
	if p.mask&(1<<RequestID) == 0 {
		return ""
	}
	l := int(p.data[0])
	if l == long {
		l, _ = uvarint(p.data[1:])
	}
	return p.data[p.hdr : int(p.hdr)+l]
}

// Unpack sets every value of vals to p's: substrings of p, "" where p
// holds none.
func (p Packed) Unpack(vals *[NumFields]string) {
	clear(vals[:])
	p.Fill(vals, 1<<NumFields-1)
}

// Fill sets the values of the fields in mask (a bit per Field) that p
// holds, leaving the others as they are.
func (p Packed) Fill(vals *[NumFields]string, mask uint32) {
	if !p.short() {
		p.fillLong(vals, mask)
		return
	}
	// As in SetOwned, no index needs checking.
	data, off := unsafe.Pointer(unsafe.StringData(p.data)), uintptr(p.hdr)
	for m, h := p.mask, data; m != 0; m &= m - 1 {
		l := uintptr(*(*byte)(h))
		if f := bits.TrailingZeros32(m); mask&(1<<f) != 0 {
			vals[f] = unsafe.String((*byte)(unsafe.Add(data, off)), l)
		}
		h, off = unsafe.Add(h, 1), off+l
	}
}

// fillLong is Fill when a length takes more than a byte.
func (p Packed) fillLong(vals *[NumFields]string, mask uint32) {
	i, off := 0, int(p.hdr)
	for m := p.mask; m != 0; m &= m - 1 {
		var l int
		l, i = p.length(i)
		if f := bits.TrailingZeros32(m); mask&(1<<f) != 0 {
			vals[f] = p.data[off : off+l]
		}
		off += l
	}
}
