package envoy

import (
	"math/bits"
	"sort"
)

// keyIndex finds the item of a JSON key without a map look-up: its hash
// reads the key's length and three of its bytes, and a probe compares whole
// keys. The keys come from the user's definition, so the table is small; a
// line's keys cost one probe each when the table has none of the same hash.
type keyIndex struct {
	shift uint     // 64 - log2(len(slots))
	slots []int32  // 1 + index into names and items; 0 is empty
	names []string // sorted, for a stable table
	items []jsonItem
}

func newKeyIndex(keys map[string]jsonItem) keyIndex {
	var x keyIndex
	for k := range keys {
		x.names = append(x.names, k)
	}
	sort.Strings(x.names)
	for _, k := range x.names {
		x.items = append(x.items, keys[k])
	}
	size := 8
	for size < 2*len(x.names) {
		size *= 2
	}
	x.shift = uint(64 - bits.TrailingZeros(uint(size)))
	x.slots = make([]int32, size)
	for n, k := range x.names {
		i := x.hash(len(k), k[0], k[len(k)/2], k[len(k)-1])
		for x.slots[i] != 0 {
			i = (i + 1) & (size - 1)
		}
		x.slots[i] = int32(n + 1)
	}
	return x
}

func (x *keyIndex) hash(n int, first, mid, last byte) int {
	h := uint64(n)<<24 | uint64(first)<<16 | uint64(mid)<<8 | uint64(last)
	return int(h * 0x9e3779b97f4a7c15 >> x.shift)
}

// lookup returns the item of key, or nil.
func (x *keyIndex) lookup(key []byte) *jsonItem {
	if len(key) == 0 || len(x.slots) == 0 {
		return nil
	}
	for i := x.hash(len(key), key[0], key[len(key)/2], key[len(key)-1]); ; i = (i + 1) & (len(x.slots) - 1) {
		s := x.slots[i]
		if s == 0 {
			return nil
		}
		if x.names[s-1] == string(key) {
			return &x.items[s-1]
		}
	}
}
