package detect

import (
	"hash/maphash"

	"github.com/spraywatch/spraywatch/event"
)

// waiting holds the records waiting on one side of the correlator, oldest
// first, found by request id. A record is kept as its values packed in one
// string (event.Packed: the record's own when a parse worker made it, so
// not copied again) and a slot of 48 bytes; the index is a slotIndex of
// slot numbers and their request ids' hashes, so that looking up a request
// id that is not there reads no slot. Next to an LRU cache of pointers to
// whole events, this costs about a third of the memory
// (BenchmarkCorrelatorFlood: 239 heap bytes a record against 611) and
// gives the garbage collector one pointer per record to scan.
//
// The order is the order of arrival: a record found by its request id
// leaves it, and nothing else reorders it.
type waiting struct {
	slots      []slot
	head, tail int32 // oldest and newest slot; -1 when empty
	free       int32 // a free slot, -1 if none; free slots chain by next
	n          int

	// index finds the waiting records' slots by their request ids'
	// hashes; its size is a power of two at least twice n.
	index slotIndex
	seed  maphash.Seed
}

// slot is a waiting record.
type slot struct {
	vals       event.Packed // the request id first
	time       int64
	hash       uint32 // of the request id
	prev, next int32  // the neighbours in arrival order, -1 at the ends
}

func newWaiting() *waiting {
	return &waiting{head: -1, tail: -1, free: -1, seed: maphash.MakeSeed()}
}

func (w *waiting) len() int { return w.n }

// hashOf returns rid's hash on this side: its low half is the one the
// slots keep (see lookup), and the whole is the one expiredIDs keeps.
func (w *waiting) hashOf(rid []byte) uint64 {
	return maphash.Bytes(w.seed, rid)
}

// hashOfString is hashOf of a string.
func (w *waiting) hashOfString(rid string) uint64 {
	return maphash.String(w.seed, rid)
}

// find returns the slot of the record waiting under rid, or -1.
func (w *waiting) find(rid []byte) int32 {
	if w.n == 0 {
		return -1
	}
	s, _ := w.lookup(rid)
	return s
}

// findHash is find of rid of hash h (see hashOf).
func (w *waiting) findHash(rid []byte, h uint64) int32 {
	if w.n == 0 {
		return -1
	}
	return w.probe(rid, uint32(h))
}

// lookup is find, which also returns rid's hash for add.
func (w *waiting) lookup(rid []byte) (int32, uint32) {
	h := uint32(w.hashOf(rid))
	if w.n == 0 {
		return -1, h
	}
	return w.probe(rid, h), h
}

// probe returns the slot of the record waiting under rid, whose hash's
// low half is h, or -1.
func (w *waiting) probe(rid []byte, h uint32) int32 {
	for i := w.index.start(h); ; i = w.index.next(i) {
		s, more := w.index.at(i, h)
		if !more {
			return -1
		}
		if s >= 0 && w.slots[s].vals.RequestID() == string(rid) {
			return s
		}
	}
}

// add makes r, whose request id (of hash h, see lookup) is not empty and
// not waiting, the newest waiting record.
func (w *waiting) add(r *event.Record, h uint32) {
	if 2*(w.n+1) > len(w.index.tab) {
		w.grow()
	}
	s := w.free
	if s >= 0 {
		w.free = w.slots[s].next
	} else {
		s = int32(len(w.slots))
		w.slots = append(w.slots, slot{})
	}
	sl := &w.slots[s]
	sl.vals = r.Pack()
	sl.time = r.Time
	sl.hash = h
	sl.prev, sl.next = w.tail, -1
	if w.tail >= 0 {
		w.slots[w.tail].next = s
	} else {
		w.head = s
	}
	w.tail = s
	w.index.place(bucket(h, s))
	w.n++
}

func (w *waiting) grow() {
	w.index.tab = make([]uint64, max(2*len(w.index.tab), 64))
	for s := w.head; s >= 0; s = w.slots[s].next {
		w.index.place(bucket(w.slots[s].hash, s))
	}
}

// remove takes slot s out and returns its record's time and values; the
// values stay valid (they are the record's own string).
func (w *waiting) remove(s int32) slot {
	sl := w.slots[s]
	w.index.remove(sl.hash, s)
	// Out of the arrival order.
	if sl.prev >= 0 {
		w.slots[sl.prev].next = sl.next
	} else {
		w.head = sl.next
	}
	if sl.next >= 0 {
		w.slots[sl.next].prev = sl.prev
	} else {
		w.tail = sl.prev
	}
	w.slots[s] = slot{next: w.free}
	w.free = s
	w.n--
	return sl
}

// waitedBefore reports whether the oldest waiting record is older than t.
func (w *waiting) waitedBefore(t int64) bool {
	return w.head >= 0 && w.slots[w.head].time < t
}

// oldest returns the oldest waiting record's slot, or -1.
func (w *waiting) oldest() int32 { return w.head }

// unpack sets e's time and values to those of a waiting record: the
// values are substrings of its packed copy.
func (sl *slot) unpack(e *event.Event) {
	e.Time = sl.time
	sl.vals.Unpack(&e.Values)
}
