package detect

// slotIndex finds slots of an array by key hash: an open-addressing table
// with linear probing, each bucket the high half of a key's hash (which
// also places it) and the key's slot plus one (0 is empty). The caller
// holds the keys and brings the hashes, so a lookup hashes nothing, and
// moving buckets reads no key.
//
// A lookup walks the buckets from start(tag) with next until an empty one,
// comparing the key of every slot whose tag matches:
//
//	for i := x.start(tag); ; i = x.next(i) {
//		s, ok := x.at(i, tag)
//		...
//	}
type slotIndex struct {
	tab []uint64
}

// tagOf returns the part of a hash the index keeps.
func tagOf(h uint64) uint32 { return uint32(h >> 32) }

// bucket returns the bucket of slot s of a key with tag.
func bucket(tag uint32, s int32) uint64 { return uint64(tag)<<32 | uint64(uint32(s+1)) }

// bucketTag returns the tag of bucket b.
func bucketTag(b uint64) uint32 { return uint32(b >> 32) }

// bucketSlot returns the slot of bucket b, which is not empty.
func bucketSlot(b uint64) int32 { return int32(uint32(b)) - 1 }

func (x *slotIndex) mask() uint64 { return uint64(len(x.tab) - 1) }

// start returns the first bucket of tag's probe.
func (x *slotIndex) start(tag uint32) uint64 { return uint64(tag) & x.mask() }

// next returns the bucket after i.
func (x *slotIndex) next(i uint64) uint64 { return (i + 1) & x.mask() }

// at returns the slot in bucket i if its tag is tag (s >= 0), -1 if not,
// and false at an empty bucket, where the probe ends.
func (x *slotIndex) at(i uint64, tag uint32) (s int32, more bool) {
	b := x.tab[i]
	if b == 0 {
		return -1, false
	}
	if bucketTag(b) != tag {
		return -1, true
	}
	return bucketSlot(b), true
}

// add indexes slot s of a key with tag; n is the number of keys indexed
// after it. The table grows to keep at most three buckets in four used.
func (x *slotIndex) add(tag uint32, s int32, n int) {
	if n*4 > len(x.tab)*3 {
		old := x.tab
		x.tab = make([]uint64, max(2*len(old), 16))
		for _, b := range old {
			if b != 0 {
				x.place(b)
			}
		}
	}
	x.place(bucket(tag, s))
}

// place puts bucket b in the first empty bucket of its probe.
func (x *slotIndex) place(b uint64) {
	i := x.start(bucketTag(b))
	for x.tab[i] != 0 {
		i = x.next(i)
	}
	x.tab[i] = b
}

// replace makes the bucket of slot s (of a key with tag) that of slot t:
// the key stays where it is, found at another slot.
func (x *slotIndex) replace(tag uint32, s, t int32) {
	b := bucket(tag, s)
	i := x.start(tag)
	for x.tab[i] != b {
		i = x.next(i)
	}
	x.tab[i] = bucket(tag, t)
}

// remove takes slot s (of a key with tag) out of the index.
func (x *slotIndex) remove(tag uint32, s int32) {
	b := bucket(tag, s)
	i := x.start(tag)
	for x.tab[i] != b {
		i = x.next(i)
	}
	// Backward-shift deletion: move up the buckets after i that probed
	// past it, so that no probe stops early at the hole.
	mask := x.mask()
	for j := x.next(i); x.tab[j] != 0; j = x.next(j) {
		if (j-x.start(bucketTag(x.tab[j])))&mask >= (j-i)&mask {
			x.tab[i] = x.tab[j]
			i = j
		}
	}
	x.tab[i] = 0
}
