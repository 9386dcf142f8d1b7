package event

import (
	"math/bits"
	"unsafe"
)

// Packed is a record's values in one string of their own: the length of
// each value present as a uvarint, then the values, in field order (the
// request id first). Its zero value holds nothing. A Packed is immutable:
// whoever keeps a record's values may keep the Packed instead of copying
// them, and events may point into it.
type Packed struct {
	data string
	mask uint32 // the fields present
	hdr  uint32 // where the values start in data
}

// a mask has a bit per field.
var _ [32 - NumFields]struct{}

// Pack copies r's values into a Packed, or returns r.Owned if r has one.
func (r *Record) Pack() Packed {
	if r.Owned.mask != 0 {
		return r.Owned
	}
	p, _ := pack(r)
	return p
}

// Own packs r's values (see Pack) and points them into the packed copy,
// which becomes r.Owned: the record's values then outlive its parser's
// next call, and whoever keeps them need not copy them again. The values
// must not be written to.
func (r *Record) Own() {
	if r.Owned.mask != 0 {
		return
	}
	p, buf := pack(r)
	off := int(p.hdr)
	for m := p.mask; m != 0; m &= m - 1 {
		f := bits.TrailingZeros32(m)
		l := len(r.Values[f])
		r.Values[f] = buf[off : off+l : off+l]
		off += l
	}
	r.Owned = p
}

// SetOwned makes p r's values, as Own leaves them: r.Owned is p, and the
// values of the fields p holds point into it (they must not be written
// to); the other values are nil. fields has a bit for each field whose
// value r may hold now: only those are cleared.
func (r *Record) SetOwned(p Packed, fields uint32) {
	for m := fields &^ p.mask; m != 0; m &= m - 1 {
		r.Values[bits.TrailingZeros32(m)] = nil
	}
	data := unsafe.Slice(unsafe.StringData(p.data), len(p.data))
	i, off := 0, int(p.hdr)
	for m := p.mask; m != 0; m &= m - 1 {
		l, k := uvarint(p.data[i:])
		i += k
		r.Values[bits.TrailingZeros32(m)] = data[off : off+l : off+l]
		off += l
	}
	r.Owned = p
}

// Fields returns the fields p holds, a bit per Field.
func (p Packed) Fields() uint32 { return p.mask }

func pack(r *Record) (Packed, []byte) {
	var p Packed
	n, h := 0, 0
	for f := range r.Values { // by index: ranging over the array would copy it
		if l := len(r.Values[f]); l > 0 {
			p.mask |= 1 << f
			n += l
			h += uvarintLen(l)
		}
	}
	if p.mask == 0 {
		return p, nil
	}
	buf := make([]byte, h+n)
	i, j := 0, h
	for m := p.mask; m != 0; m &= m - 1 {
		v := r.Values[bits.TrailingZeros32(m)]
		l := uint(len(v))
		for ; l >= 0x80; l >>= 7 {
			buf[i] = byte(l) | 0x80
			i++
		}
		buf[i] = byte(l)
		i++
		j += copy(buf[j:], v)
	}
	// buf is not written again once filled: it can be the string's bytes,
	// as in strings.Builder.
	p.data, p.hdr = unsafe.String(unsafe.SliceData(buf), len(buf)), uint32(h)
	return p, buf
}

func uvarintLen(l int) int {
	n := 1
	for l >= 0x80 {
		l >>= 7
		n++
	}
	return n
}

// uvarint decodes a length pack wrote.
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

// RequestID returns the request id p holds, "" if none.
func (p Packed) RequestID() string {
	if p.mask&(1<<RequestID) == 0 {
		return ""
	}
	l, _ := uvarint(p.data)
	return p.data[p.hdr : int(p.hdr)+l]
}

// Unpack sets every value of vals to p's: substrings of p, "" where p
// holds none.
func (p Packed) Unpack(vals *[NumFields]string) {
	i, off := 0, int(p.hdr)
	for f := range vals {
		if p.mask&(1<<f) == 0 {
			vals[f] = ""
			continue
		}
		l, k := uvarint(p.data[i:])
		i += k
		vals[f] = p.data[off : off+l]
		off += l
	}
}

// Fill sets the values of the fields in mask (a bit per Field) that p
// holds, leaving the others as they are.
func (p Packed) Fill(vals *[NumFields]string, mask uint32) {
	i, off := 0, int(p.hdr)
	for m := p.mask; m != 0; m &= m - 1 {
		f := bits.TrailingZeros32(m)
		l, k := uvarint(p.data[i:])
		i += k
		if mask&(1<<f) != 0 {
			vals[f] = p.data[off : off+l]
		}
		off += l
	}
}
