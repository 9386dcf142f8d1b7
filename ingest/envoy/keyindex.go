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
		i := keyHash(k, x.shift)
		for x.slots[i] != 0 {
			i = (i + 1) & (size - 1)
		}
		x.slots[i] = int32(n + 1)
	}
	return x
}

// keyHash hashes a key's length and its first, middle and last bytes into
// a slot index of a table of 1<<(64-shift) slots.
func keyHash[K string | []byte](k K, shift uint) int {
	h := uint64(len(k)) << 24
	if n := len(k); n > 0 {
		h |= uint64(k[0])<<16 | uint64(k[n/2])<<8 | uint64(k[n-1])
	}
	return int(h * 0x9e3779b97f4a7c15 >> shift)
}

// lookup returns the item of key, or nil.
func (x *keyIndex) lookup(key []byte) *jsonItem {
	if len(x.slots) == 0 {
		return nil
	}
	for i := keyHash(key, x.shift); ; i = (i + 1) & (len(x.slots) - 1) {
		s := x.slots[i]
		if s == 0 {
			return nil
		}
		if x.names[s-1] == string(key) {
			return &x.items[s-1]
		}
	}
}
