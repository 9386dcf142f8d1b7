package detect

import (
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
)

// hashed is a value with its hash. The engine hashes an event's distinct
// values once; every rule counting them reuses the hash.
type hashed struct {
	s string
	h uint64
}

// valCount is what a window knows about one distinct value.
type valCount struct {
	n, f, s int32 // events, failures, successes
}

// slotVal is one distinct value of a store with its counts. A free slot
// has no events and no value; its tag links the free slots (the next one
// plus one, 0 at the end).
type slotVal struct {
	val string
	tag uint32 // the high half of the value's hash
	valCount
}

// distinctCounts keeps per-value counts and the derived distinct figures
// up to date as events enter and leave. Values come with their hashes
// (made with the engine's seed), so the counts hash nothing.
type distinctCounts struct {
	// x is what bigger stores need: the index of the values, made when
	// the store first holds more than smallSlots values, the index of
	// the unresolved ones, and the aliases of a window's entries. nil
	// until first needed: a group of one event is one allocation of
	// four cache lines.
	x     *valueIndex
	slots []slotVal
	free  int32 // the first free slot plus one, reused first; 0: none
	n     int32 // values held
	// idle are the values of an indexed store that left it (no events
	// left) but keep their slot and index bucket: a value that comes
	// back takes its slot again without a new bucket, and one that
	// leaves costs no deletion from the index. Beyond a quarter of the
	// values held (and a few), they are freed all at once (see purge).
	idle int32

	failed     int32 // values with at least one failure
	unresolved int32 // values with failures and no success
	succeeded  int32 // values with at least one success
}

// valueIndex is the part of a store's counts that few stores need.
type valueIndex struct {
	// idx finds a value's slot. A window's entry keeps its value's slot,
	// so that counting it out costs no lookup. Its table is made when
	// the store first holds more than smallSlots values: a smaller store
	// compares the slots' tags.
	idx slotIndex
	// unres indexes the unresolved values, usually a few among many, for
	// typoOf. Built when a store first holds indexFrom values; small
	// stores compare with each value instead.
	unres *unresolvedIndex
	// aliases are the mistyped values that a window's entries resolve
	// (see entry.aliased).
	aliases []alias
}

// alias is the value a window's entry (its event's evidence and time)
// resolves.
type alias struct {
	ev  *evidence
	t   int64
	val hashed
}

// table returns the store's value index, or nil while it has none.
func (d *distinctCounts) table() *slotIndex {
	if d.x == nil || d.x.idx.tab == nil {
		return nil
	}
	return &d.x.idx
}

// unres returns the store's unresolved index, or nil.
func (d *distinctCounts) unres() *unresolvedIndex {
	if d.x == nil {
		return nil
	}
	return d.x.unres
}

// more returns the store's valueIndex, making it.
func (d *distinctCounts) more() *valueIndex {
	if d.x == nil {
		d.x = &valueIndex{}
	}
	return d.x
}

// unresolvedIndex is a store's unresolved values by slot, counted by
// first byte and length, so that typoOf probes only the kinds of slip
// that could match one, in a small table.
type unresolvedIndex struct {
	// idx is keyed by the values' polynomial hashes (see polyHash).
	idx slotIndex
	// seen has a bit for each tag in idx, by the tag's high bits, eight
	// bits per bucket of idx: most slips are ruled out by one bit,
	// without a probe. A value that leaves keeps its bit until the bits
	// are made again (stale counts those left since).
	seen  []uint64
	shift uint8 // of a tag, to its bit in seen
	stale int
	n     int
	// byStart counts the values by their first byte and length (see
	// startCell), up to a count that then stays until reseen counts
	// again (full): a slip of u begins with u[0] or u[1] and is as long
	// as u or a byte longer or shorter, and most stores hold a few
	// unresolved values.
	byStart [256]uint8
	full    bool
	base    uint64 // of the polynomial hash
}

// startCell returns the cell of unresolvedIndex.byStart of a value
// beginning with b and n bytes long (capped): letters of either case
// share one, and many pairs share each.
func startCell(b byte, n int) uint8 {
	return uint8((uint32(b&31)<<7 | uint32(min(n, typoMaxLen+1))) * 0x9e3779b1 >> 24)
}

// countStart adds delta (1 or -1) to the count of values like v, unless
// it reached its cap, where it stays until counted again.
func (x *unresolvedIndex) countStart(v string, delta int32) {
	if c := &x.byStart[startCell(v[0], len(v))]; *c < math.MaxUint8 {
		*c = uint8(int32(*c) + delta)
		x.full = x.full || *c == math.MaxUint8
	}
}

// mayStart reports whether an unresolved value could begin with a or b
// and be n bytes long.
func (x *unresolvedIndex) mayStart(a, b byte, n int) bool {
	return x.byStart[startCell(a, n)] > 0 || x.byStart[startCell(b, n)] > 0
}

// typoMaxLen is the longest username typoOf considers.
const typoMaxLen = 64

// indexFrom is the number of values from which a store indexes its
// unresolved values.
const indexFrom = 16

// smallSlots is the number of slots up to which a store has no table.
const smallSlots = 4

// hashString returns s with its hash under seed.
func hashString(seed maphash.Seed, s string) hashed {
	return hashed{s, maphash.String(seed, s)}
}

// reset empties the counts for reuse, keeping their slots and index (of
// up to max slots, twice as many buckets), and reports true; it reports
// false and leaves larger ones.
func (d *distinctCounts) reset(max int) bool {
	if cap(d.slots) > max || d.x != nil && len(d.x.idx.tab) > 2*max {
		return false
	}
	// Slots beyond the length were never used.
	clear(d.slots)
	if x := d.x; x != nil {
		clear(x.idx.tab)
		clear(x.aliases)
		x.unres, x.aliases = nil, x.aliases[:0]
	}
	d.slots, d.free, d.n, d.idle = d.slots[:0], 0, 0, 0
	d.failed, d.unresolved, d.succeeded = 0, 0, 0
	return true
}

// size returns the number of distinct values.
func (d *distinctCounts) size() int { return int(d.n) }

// find returns v's slot, or -1.
func (d *distinctCounts) find(v hashed) int32 {
	if s := d.lookup(v); s >= 0 && d.slots[s].n > 0 {
		return s
	}
	return -1
}

// lookup returns v's slot, held or idle, or -1.
func (d *distinctCounts) lookup(v hashed) int32 {
	tag := tagOf(v.h)
	x := d.table()
	if x == nil {
		for i := range d.slots {
			if sv := &d.slots[i]; sv.tag == tag && sv.val == v.s && sv.n > 0 {
				return int32(i)
			}
		}
		return -1
	}
	for i := x.start(tag); ; i = x.next(i) {
		s, more := x.at(i, tag)
		if !more {
			return -1
		}
		if s >= 0 && d.slots[s].val == v.s {
			return s
		}
	}
}

// findBytes is find for a value in bytes.
func (d *distinctCounts) findBytes(v []byte, h uint64) int32 {
	tag := tagOf(h)
	x := d.table()
	if x == nil {
		for i := range d.slots {
			if sv := &d.slots[i]; sv.tag == tag && sv.val == string(v) && sv.n > 0 {
				return int32(i)
			}
		}
		return -1
	}
	for i := x.start(tag); ; i = x.next(i) {
		s, more := x.at(i, tag)
		if !more {
			return -1
		}
		if s >= 0 && d.slots[s].val == string(v) {
			if d.slots[s].n == 0 {
				return -1 // idle
			}
			return s
		}
	}
}

// insert gives v (not held) a slot.
func (d *distinctCounts) insert(v hashed) int32 {
	var s int32
	if d.free > 0 {
		s = d.free - 1
		d.free = int32(d.slots[s].tag)
	} else {
		s = int32(len(d.slots))
		d.slots = append(d.slots, slotVal{})
	}
	d.slots[s] = slotVal{val: v.s, tag: tagOf(v.h)}
	d.n++
	switch x := d.table(); {
	case x != nil:
		x.add(d.slots[s].tag, s, int(d.n+d.idle))
	case d.n > smallSlots:
		// Index every value held, this one included.
		x = &d.more().idx
		n := 0
		for i := range d.slots {
			if sv := &d.slots[i]; sv.n > 0 || sv.val != "" {
				n++
				x.add(sv.tag, int32(i), n)
			}
		}
	}
	return s
}

// release frees slot s, whose value has no events left.
func (d *distinctCounts) release(s int32) {
	d.n--
	if x := d.table(); x != nil {
		x.remove(d.slots[s].tag, s)
	}
	d.slots[s] = slotVal{tag: uint32(d.free)}
	d.free = s + 1
}

// maxIdle is how many idle slots an indexed store keeps beyond a quarter
// of the values it holds. An idle slot keeps its value's string, and with
// it the event copy the string lies in: 64 kept the 30 M-line benchmark
// corpus's live heap about 25 MB above 8.
const maxIdle = 8

// leave makes slot s, whose value has no events left, idle in an indexed
// store, or frees it in a small one.
func (d *distinctCounts) leave(s int32) {
	if d.table() == nil {
		d.release(s)
		return
	}
	d.n--
	d.idle++
	d.slots[s].valCount = valCount{}
	if d.idle > d.n/4+maxIdle {
		d.purge()
	}
}

// purge frees the idle slots and indexes the values held again.
func (d *distinctCounts) purge() {
	x := &d.x.idx
	clear(x.tab)
	for i := len(d.slots) - 1; i >= 0; i-- {
		sv := &d.slots[i]
		switch {
		case sv.n > 0:
			x.place(bucket(sv.tag, int32(i)))
		case sv.val != "":
			*sv = slotVal{tag: uint32(d.free)}
			d.free = int32(i) + 1
		}
	}
	d.idle = 0
}

func (d *distinctCounts) getHashed(v hashed) (valCount, bool) {
	s := d.find(v)
	if s < 0 {
		return valCount{}, false
	}
	return d.slots[s].valCount, true
}

// each calls fn with every value's counts.
func (d *distinctCounts) each(fn func(string, valCount)) {
	for i := range d.slots {
		if sv := &d.slots[i]; sv.n > 0 {
			fn(sv.val, sv.valCount)
		}
	}
}

// unresolvedDelta records that the value of slot s became unresolved (+1)
// or stopped being unresolved (-1).
func (d *distinctCounts) unresolvedDelta(s int32, delta int32) {
	d.unresolved += delta
	if u := d.unres(); u != nil {
		sv := &d.slots[s]
		u.countStart(sv.val, delta)
		tag := u.tag(sv.val)
		if delta > 0 {
			u.add(d, tag, s)
		} else {
			u.remove(d, tag, s)
		}
	}
}

// add indexes the unresolved value of slot s of d with tag.
func (x *unresolvedIndex) add(d *distinctCounts, tag uint32, s int32) {
	x.n++
	size := len(x.idx.tab)
	x.idx.add(tag, s, x.n)
	if len(x.idx.tab) != size {
		x.reseen(d)
		return
	}
	x.mark(tag)
}

// remove takes the unresolved value of slot s of d with tag out.
func (x *unresolvedIndex) remove(d *distinctCounts, tag uint32, s int32) {
	x.n--
	x.idx.remove(tag, s)
	if x.stale++; x.stale > x.n/2+8 {
		x.reseen(d)
	}
}

// bit returns the bit of seen for tag.
func (x *unresolvedIndex) bit(tag uint32) uint32 { return tag >> x.shift }

// mark sets the bit of seen for tag.
func (x *unresolvedIndex) mark(tag uint32) {
	b := x.bit(tag)
	x.seen[b>>6] |= 1 << (b & 63)
}

// has reports whether a value with tag may be indexed.
func (x *unresolvedIndex) has(tag uint32) bool {
	b := x.bit(tag)
	return x.seen[b>>6]&(1<<(b&63)) != 0
}

// reseen makes the bits of seen again for the tags in idx, and counts
// byStart again from d's values if a count reached its cap.
func (x *unresolvedIndex) reseen(d *distinctCounts) {
	if n := len(x.idx.tab) / 8; len(x.seen) != n {
		x.seen = make([]uint64, n)
		x.shift = uint8(32 - bits.TrailingZeros(uint(n)) - 6)
	} else {
		clear(x.seen)
	}
	for _, b := range x.idx.tab {
		if b != 0 {
			x.mark(bucketTag(b))
		}
	}
	x.stale = 0
	if x.full {
		x.full = false
		clear(x.byStart[:])
		for _, b := range x.idx.tab {
			if b != 0 {
				x.countStart(d.slots[bucketSlot(b)].val, 1)
			}
		}
	}
}

// index builds the unresolved-value index, whose polynomial hash's base
// is drawn from seed.
func (d *distinctCounts) index(seed maphash.Seed) {
	u := &unresolvedIndex{base: polyBase(seed)}
	for i := range d.slots {
		if sv := &d.slots[i]; sv.f > 0 && sv.s == 0 {
			u.countStart(sv.val, 1)
			u.add(d, u.tag(sv.val), int32(i))
		}
	}
	d.more().unres = u
}

// forgetSlot drops slot s with its counts, as if its events left.
func (d *distinctCounts) forgetSlot(s int32) valCount {
	sv := &d.slots[s]
	c := sv.valCount
	d.failed -= b2i32(c.f > 0)
	if c.f > 0 && c.s == 0 {
		d.unresolvedDelta(s, -1)
	}
	d.succeeded -= b2i32(c.s > 0)
	d.release(s)
	return c
}

// adjust counts an event of v in (delta 1) or out (delta -1). slot is v's
// slot when known (an event counted in earlier), or -1. It returns v's
// slot, or -1 when v has no counts left.
func (d *distinctCounts) adjust(v hashed, slot int32, outcome uint8, delta int32) int32 {
	i := slot
	if i < 0 {
		if i = d.lookup(v); i < 0 {
			if delta <= 0 {
				return -1
			}
			i = d.insert(v)
		} else if d.slots[i].n == 0 {
			if delta <= 0 {
				return -1
			}
			d.idle--
			d.n++
		}
	}
	p := &d.slots[i]
	c := p.valCount
	wasF, wasU, wasS := c.f > 0, c.f > 0 && c.s == 0, c.s > 0
	c.n += delta
	switch outcome {
	case outcomeFailure:
		c.f += delta
	case outcomeSuccess:
		c.s += delta
	}
	isF, isU, isS := c.f > 0, c.f > 0 && c.s == 0, c.s > 0
	gone := c.n <= 0
	if gone {
		isF, isU, isS = false, false, false
	} else {
		p.valCount = c
	}
	d.failed += b2i32(isF) - b2i32(wasF)
	if du := b2i32(isU) - b2i32(wasU); du != 0 {
		d.unresolvedDelta(i, du)
	}
	d.succeeded += b2i32(isS) - b2i32(wasS)
	if gone {
		d.leave(i)
		return -1
	}
	return i
}

// credit adds delta to val's successes without counting an event: a
// success for the username val was a typo of. Unknown values are left
// alone and successes never go below zero.
func (d *distinctCounts) credit(val hashed, delta int32) {
	i := d.find(val)
	if i < 0 || d.slots[i].s+delta < 0 {
		return
	}
	c := &d.slots[i].valCount
	wasU, wasS := c.f > 0 && c.s == 0, c.s > 0
	c.s += delta
	if du := b2i32(c.f > 0 && c.s == 0) - b2i32(wasU); du != 0 {
		d.unresolvedDelta(i, du)
	}
	d.succeeded += b2i32(c.s > 0) - b2i32(wasS)
}

// typoOf returns a value with failures and no success that is one common
// typing slip away from u (two neighbouring letters swapped, a letter
// doubled or dropped), or "": the username a person mistyped before
// logging in as u. p holds u's variants, made once per event for every
// store that asks; the value returned is the store's own copy.
func (d *distinctCounts) typoOf(u string, p *typoProbe) string {
	if len(u) < 2 || len(u) > typoMaxLen || d.unresolved == 0 {
		return ""
	}
	if d.unres() == nil && d.n >= indexFrom {
		d.index(p.seed)
	}
	if x := d.unres(); x != nil {
		// A swap keeps the length, a doubled letter adds one, a dropped
		// one removes one; all begin with u[0] but a swap or a drop at
		// 0, which begin with u[1], and a doubled letter always begins
		// with u[0]: skip the kinds no unresolved value could match.
		n := len(u)
		want := [3]bool{x.mayStart(u[0], u[1], n-1), x.mayStart(u[0], u[1], n), x.mayStart(u[0], u[0], n+1)} // by length - len(u) + 1
		if want == [3]bool{} || x.n == 0 {
			return ""
		}
		if s := x.typo(d, u, want, p); s >= 0 {
			return d.slots[s].val
		}
		return ""
	}
	if !d.mayHaveTypo(u) {
		return ""
	}
	vars, buf := p.variants(u)
	for _, v := range vars {
		if i := d.findBytes(buf[v.off:v.off+v.n], v.h); i >= 0 {
			if c := d.slots[i].valCount; c.f > 0 && c.s == 0 {
				return d.slots[i].val
			}
		}
	}
	return ""
}

// The unresolved index of a store is keyed by a polynomial hash of the
// values modulo the prime 2^61-1, of a base drawn from the store's seed:
// the hash of each typing slip of u then follows from u's prefix hashes in
// a few multiplications, and a slip is compared with a value only when
// their tags match, without being built.
const polyP = 1<<61 - 1

// polyBase returns the polynomial hash's base for seed.
func polyBase(seed maphash.Seed) uint64 {
	return 256 + maphash.String(seed, "typo")%(polyP-512)
}

func mulmod(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	x := (hi<<3 | lo>>61) + lo&polyP
	if x >= polyP {
		x -= polyP
	}
	if x >= polyP {
		x -= polyP
	}
	return x
}

func addmod(a, b uint64) uint64 {
	if x := a + b; x < polyP {
		return x
	} else {
		return x - polyP
	}
}

func submod(a, b uint64) uint64 {
	if a >= b {
		return a - b
	}
	return a + polyP - b
}

// polyTag returns the index tag of a polynomial hash, its bits mixed.
func polyTag(h uint64) uint32 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return uint32(h >> 32)
}

// tag returns v's tag in the index.
func (u *unresolvedIndex) tag(v string) uint32 {
	h := uint64(0)
	for i := 0; i < len(v); i++ {
		h = addmod(mulmod(h, u.base), uint64(v[i]))
	}
	return polyTag(h)
}

// Kinds of typing slip.
const (
	slipSwap   = iota // bytes i and i+1 swapped
	slipDouble        // byte i doubled
	slipDrop          // byte i dropped
	slipNone          // none: v is u
)

// slips returns the tags of u's slips of kind (2 <= len(u) <= typoMaxLen)
// for the polynomial hash of base: of a swap of two different
// neighbouring bytes at each position i of swapAt, of byte i doubled, of
// byte i dropped (by i). Each kind is made on its first request for the
// value: the stores an event's username is looked up in share them.
func (p *typoProbe) slips(u string, base uint64, kind int) []uint32 {
	if !p.slipsOK || p.slipsU != u || p.slipsBase != base {
		p.slipsOK, p.slipsU, p.slipsBase = true, u, base
		p.made = [3]bool{}
		if p.poly == nil {
			p.poly = new(polyPrefixes)
		}
		// pre[k] is the hash of u[:k], pw[k] the base to the power k.
		pre, pw := &p.poly.pre, &p.poly.pw
		pre[0], pw[0] = 0, 1
		for i := 0; i < len(u); i++ {
			pre[i+1] = addmod(mulmod(pre[i], base), uint64(u[i]))
			pw[i+1] = mulmod(pw[i], base)
		}
	}
	if p.made[kind] {
		return p.tags[kind]
	}
	p.made[kind] = true
	// A slip changes u's hash h = pre[n] by a multiple of a power of the
	// base (u[j] weighs base^(n-1-j)): one multiplication each.
	n, pre, pw := len(u), &p.poly.pre, &p.poly.pw
	h := pre[n]
	ts := p.tags[kind][:0]
	switch kind {
	case slipSwap:
		// u[i] and u[i+1] trade weights: h + (u[i+1]-u[i]) x
		// (base^(n-1-i) - base^(n-2-i)).
		p.swapAt = p.swapAt[:0]
		for i := 0; i+1 < n; i++ {
			a, b := uint64(u[i]), uint64(u[i+1])
			if a == b {
				continue
			}
			w := submod(pw[n-1-i], pw[n-2-i])
			if b > a {
				ts = append(ts, polyTag(addmod(h, mulmod(b-a, w))))
			} else {
				ts = append(ts, polyTag(submod(h, mulmod(a-b, w))))
			}
			p.swapAt = append(p.swapAt, uint8(i))
		}
	case slipDouble:
		// u[:i+1] then u[i:]: h + (pre[i+1]-pre[i]) x base^(n-i).
		for i := 0; i < n; i++ {
			ts = append(ts, polyTag(addmod(h, mulmod(submod(pre[i+1], pre[i]), pw[n-i]))))
		}
	case slipDrop:
		// u[:i] then u[i+1:]: h + (pre[i]-pre[i+1]) x base^(n-1-i).
		for i := 0; i < n; i++ {
			ts = append(ts, polyTag(addmod(h, mulmod(submod(pre[i], pre[i+1]), pw[n-1-i]))))
		}
	}
	p.tags[kind] = ts
	return ts
}

// polyPrefixes are the polynomial hashes of a value's prefixes and the
// powers of the base.
type polyPrefixes struct {
	pre, pw [typoMaxLen + 1]uint64
}

// typo returns the slot of the first unresolved value that is one of u's
// slips in typoOf's order (every swap of two different neighbouring
// bytes, then at each position the byte doubled and the byte dropped), or
// -1. want says which lengths (len(u)-1, len(u), len(u)+1) may match:
// only those kinds of slip are made and probed.
func (x *unresolvedIndex) typo(d *distinctCounts, u string, want [3]bool, p *typoProbe) int32 {
	if want[1] {
		for k, tag := range p.slips(u, x.base, slipSwap) {
			if !x.has(tag) {
				continue
			}
			if s := x.find(d, tag, u, slipSwap, int(p.swapAt[k])); s >= 0 {
				return s
			}
		}
	}
	var dbl, drp []uint32
	if want[2] {
		dbl = p.slips(u, x.base, slipDouble)
	}
	if want[0] {
		drp = p.slips(u, x.base, slipDrop)
	}
	if dbl == nil && drp == nil {
		return -1
	}
	for i := 0; i < len(u); i++ {
		if dbl != nil && x.has(dbl[i]) {
			if s := x.find(d, dbl[i], u, slipDouble, i); s >= 0 {
				return s
			}
		}
		if drp != nil && x.has(drp[i]) {
			if s := x.find(d, drp[i], u, slipDrop, i); s >= 0 {
				return s
			}
		}
	}
	return -1
}

// find returns the slot of the unresolved value of d with tag that is u
// with the slip of kind at i, or -1.
func (x *unresolvedIndex) find(d *distinctCounts, tag uint32, u string, kind, i int) int32 {
	for j := x.idx.start(tag); ; j = x.idx.next(j) {
		s, more := x.idx.at(j, tag)
		if !more {
			return -1
		}
		if s >= 0 && isSlip(u, d.slots[s].val, kind, i) {
			return s
		}
	}
}

// isSlip reports whether v is u with the slip of kind at i.
func isSlip(u, v string, kind, i int) bool {
	switch kind {
	case slipSwap:
		return len(v) == len(u) && v[:i] == u[:i] && v[i] == u[i+1] && v[i+1] == u[i] && v[i+2:] == u[i+2:]
	case slipDouble:
		return len(v) == len(u)+1 && v[:i+1] == u[:i+1] && v[i+1:] == u[i:]
	case slipNone:
		return v == u
	}
	return len(v) == len(u)-1 && v[:i] == u[:i] && v[i:] == u[i+1:]
}

// mayHaveTypo reports whether an unresolved value of a small store (fewer
// than indexFrom values) could be a typing slip away from u, comparing u
// with each: most successes follow no slip, and this avoids hashing every
// variant of u. A true result is then confirmed by typoOf's probes, which
// pick the slip in their fixed order.
func (d *distinctCounts) mayHaveTypo(u string) bool {
	for i := range d.slots {
		if sv := &d.slots[i]; sv.f > 0 && sv.s == 0 && oneEdit(u, sv.val) {
			return true
		}
	}
	return false
}

// oneEdit reports whether v is u with two neighbouring bytes swapped, one
// byte inserted or one byte deleted (a superset of the slips typoOf
// tries).
func oneEdit(u, v string) bool {
	switch len(v) - len(u) {
	case 0:
		i := 0
		for i < len(u) && u[i] == v[i] {
			i++
		}
		if i+1 >= len(u) {
			return false // equal, or differing in the last byte only
		}
		return u[i] == v[i+1] && u[i+1] == v[i] && u[i+2:] == v[i+2:]
	case 1:
		u, v = v, u
		fallthrough
	case -1:
		// v is u with one byte deleted.
		i := 0
		for i < len(v) && u[i] == v[i] {
			i++
		}
		return u[i+1:] == v[i:]
	}
	return false
}

// typoProbe holds the typing-slip variants of one value with their hashes,
// in typoOf's fixed order: every swap of neighbouring bytes, then at each
// position the byte doubled and the byte dropped. It is made on the first
// request for a value and reused while the value is the same: the rules
// that look for the typos of one event's username share it.
type typoProbe struct {
	seed maphash.Seed
	u    string
	ok   bool
	buf  []byte
	vars []variant
	// share, on several lanes, is the event's probe all lanes share: it
	// is used when made for the same value.
	share *evState

	// The slips of slipsU for the polynomial hash of slipsBase, when
	// slipsOK (see slips): the prefix hashes and powers of the base, and
	// by kind, when made, the slips' tags (swapAt: the swaps' positions).
	slipsOK   bool
	slipsU    string
	slipsBase uint64
	poly      *polyPrefixes
	made      [3]bool
	tags      [3][]uint32
	swapAt    []uint8
}

// variant is one slip of the probe's value: buf[off:off+n].
type variant struct {
	off, n int32
	h      uint64
}

// reset forgets the value: the next event's username may be the same
// string at another address, or another string.
func (p *typoProbe) reset() { p.ok, p.slipsOK = false, false }

// variants returns u's variants, each vars[i] being buf[off:off+n].
func (p *typoProbe) variants(u string) (vars []variant, buf []byte) {
	if p.share != nil {
		if vars, buf, ok := p.share.variants(u, p.seed); ok {
			return vars, buf
		}
	}
	if p.ok && p.u == u {
		return p.vars, p.buf
	}
	p.u, p.ok = u, true
	// Swaps and drops are as long as u or one byte shorter, doubles one
	// byte longer: 3*len(u) variants of at most len(u)+1 bytes.
	p.buf = slices.Grow(p.buf[:0], 3*len(u)*(len(u)+1))
	p.vars = slices.Grow(p.vars[:0], 3*len(u))
	for i := 0; i+1 < len(u); i++ {
		if u[i] != u[i+1] {
			off := len(p.buf)
			p.buf = append(p.buf, u...)
			p.buf[off+i], p.buf[off+i+1] = u[i+1], u[i]
			p.addVariant(off)
		}
	}
	for i := 0; i < len(u); i++ {
		off := len(p.buf)
		p.buf = append(append(p.buf, u[:i+1]...), u[i:]...)
		p.addVariant(off)
		off = len(p.buf)
		p.buf = append(append(p.buf, u[:i]...), u[i+1:]...)
		p.addVariant(off)
	}
	return p.vars, p.buf
}

// addVariant notes buf[off:] as the next variant.
func (p *typoProbe) addVariant(off int) {
	p.vars = append(p.vars, variant{off: int32(off), n: int32(len(p.buf) - off), h: maphash.Bytes(p.seed, p.buf[off:])})
}

func b2i32(b bool) int32 {
	if b {
		return 1
	}
	return 0
}
