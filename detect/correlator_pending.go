package detect

import (
	"hash/maphash"
	"time"
	"unsafe"

	"github.com/spraywatch/spraywatch/event"
)

// waiting holds the records waiting on one side of the correlator, oldest
// first, found by request id. A record is kept as its values packed in one
// string (event.Packed: the record's own when a parse worker made it, so
// not copied again) and a slot of 56 bytes; the index is a slotIndex of
// slot numbers and their request ids' hashes, so that looking up a request
// id that is not there reads no slot. Next to an LRU cache of pointers to
// whole events, this costs about a third of the memory
// (BenchmarkCorrelatorFlood: 248 heap bytes a record against 611) and
// gives the garbage collector one pointer per record to scan.
//
// The order is the order of arrival: a record found by its request id
// leaves it, and nothing else reorders it.
//
// Several records may wait under one request id (the app lines of a
// request that makes several login attempts): the index finds the oldest,
// and each links to the next under its id (same), so that a lookup or an
// addition costs the same however many share the id. The oldest record of
// a request id is also the oldest of its chain in the arrival order, so
// the records leave a chain from its head (remove), or all together.
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
	// same is the next record waiting under the same request id, -1 if
	// none; last, in the oldest record of a request id, is the newest,
	// and -1 in the others.
	same, last int32
	// client, in a held proxy record that has joined an app record (see
	// Correlator.held), is clientOf that record's source.ip, with
	// clientInSecond set when the record came after the app records it
	// joined (see Correlator.keepInSecond); 0 in another.
	client uint32
}

// clientInSecond marks a slot's client (see slot.takes).
const clientInSecond = 2

// takes reports whether an app record of time t may join the held proxy
// record sl: any within its join window, but only those within its second
// when it came after the app records it joined.
func (sl *slot) takes(t int64) bool {
	return sl.client&clientInSecond == 0 || t < sl.time+int64(time.Second)
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

// findPacked returns the slot of the record waiting under the request id
// of vals, whose hash's low half is h, or -1.
func (w *waiting) findPacked(vals event.Packed, h uint32) int32 {
	if w.n == 0 {
		return -1
	}
	rid := vals.RequestID()
	// The bytes are only read.
	return w.probe(unsafe.Slice(unsafe.StringData(rid), len(rid)), h)
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
	w.addPacked(r.Pack(), r.Time, h)
}

// addPacked is add of a record packed in vals, of time t; it returns the
// record's slot.
func (w *waiting) addPacked(vals event.Packed, t int64, h uint32) int32 {
	if 2*(w.n+1) > len(w.index.tab) {
		w.grow()
	}
	s := w.push(vals, t, h)
	w.index.place(bucket(h, s))
	return s
}

// addSame makes r, whose request id is that of the records waiting from
// slot first (the oldest of them), the newest waiting record.
func (w *waiting) addSame(first int32, r *event.Record) {
	s := w.push(r.Pack(), r.Time, w.slots[first].hash)
	w.slots[s].last = -1 // not the oldest: the index does not find it
	w.slots[w.slots[first].last].same = s
	w.slots[first].last = s
}

// push puts a record packed in vals, of time t and hash h, in a slot at
// the end of the arrival order, and returns the slot; the caller indexes
// it.
func (w *waiting) push(vals event.Packed, t int64, h uint32) int32 {
	s := w.free
	if s >= 0 {
		w.free = w.slots[s].next
	} else {
		s = int32(len(w.slots))
		w.slots = append(w.slots, slot{})
	}
	sl := &w.slots[s]
	sl.vals = vals
	sl.time = t
	sl.hash = h
	sl.prev, sl.next = w.tail, -1
	sl.same, sl.last = -1, s
	if w.tail >= 0 {
		w.slots[w.tail].next = s
	} else {
		w.head = s
	}
	w.tail = s
	w.n++
	return s
}

func (w *waiting) grow() {
	w.index.tab = make([]uint64, max(2*len(w.index.tab), 64))
	for s := w.head; s >= 0; s = w.slots[s].next {
		if w.slots[s].last >= 0 {
			w.index.place(bucket(w.slots[s].hash, s))
		}
	}
}

// remove takes slot s, the oldest record waiting under its request id,
// out and returns its record's time and values; the values stay valid
// (they are the record's own string). The next record under the id, if
// any, becomes the one the index finds.
func (w *waiting) remove(s int32) slot {
	sl := w.slots[s]
	if sl.same >= 0 {
		w.index.replace(sl.hash, s, sl.same)
		w.slots[sl.same].last = sl.last
	} else {
		w.index.remove(sl.hash, s)
	}
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
	w.slots[s] = slot{next: w.free, same: -1, last: -1}
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

// sourceIP returns the source.ip of the record in slot s, "" if none.
func (w *waiting) sourceIP(s int32) string {
	var v [event.NumFields]string
	w.slots[s].vals.Fill(&v, 1<<event.SourceIP)
	return v[event.SourceIP]
}

// unpack sets e's time and values to those of a waiting record: the
// values are substrings of its packed copy.
func (sl *slot) unpack(e *event.Event) {
	e.Time = sl.time
	sl.vals.Unpack(&e.Values)
}
