package detect

// groupIndex finds groups by key for the rules that share it: rules of one
// lane with the same match block and group_by fields see the same keys,
// and look each one up in one table instead of one table each. Each rule
// keeps its own groups, order of activity and cap (its groupSet): a slot
// of the index holds one key's group in each sharing rule, nil where the
// rule has none, and is freed when no rule has a group of its key. A
// lookup by a byte key allocates nothing and takes no lock.
//
// The order of activity of each rule's groups is a list linked by slot
// numbers, kept in the slots: moving a group to the front, or evicting the
// least recently active, writes a few numbers next to its neighbours' in
// the index rather than into the neighbour groups themselves (cold under a
// flood of new keys), and no pointer the garbage collector must see.
//
// A rule may hold a key it has seen once as a single entry instead of a
// group (see ruleState.single): its entry of the slot is then marked
// single, and the key's one event is kept once for all the rules of the
// slot that hold it so, in first. Under a flood of keys seen once each,
// a new key costs one small record instead of a group in every rule, and
// evicting it reads no group.
type groupIndex struct {
	// idx finds a key's slot by its hash, which the engine makes once for
	// the rules sharing a key.
	idx  slotIndex
	gs   []slotGroup // rule r's of slot s is gs[s*k+r]
	k    int         // rules sharing the index
	free []int32     // free slots
	n    int         // slots used
	// first is, by slot, the event of the key the rules with a single
	// entry there hold; empty when no rule of the index holds entries
	// single (see holdSingle).
	first []firstEvent
	// single is the group of every single entry: a marker, never a
	// rule's group.
	single *group
}

// firstEvent is the one event of a slot's key that the rules holding the
// key single have seen, with the key: what a group of the key would keep
// of it.
type firstEvent struct {
	key     string
	ident   certIdentity
	ev      *evidence
	t       int64
	tag     uint32 // of the key's hash
	outcome uint8
	// cuts are where the key's values end (see group.cuts).
	cuts [inlineCuts]uint32
	// val is the distinct value of the event, when the evidence does
	// not hold it (for the one rule of the index: see singleFor).
	val string
	// rules has bit r set while rule r of the index holds it.
	rules uint64
}

// maxSingleRules is how many rules of an index may hold entries single:
// a firstEvent has a bit for each.
const maxSingleRules = 64

// slotGroup is a rule's group of a slot, if any, and the slots of its
// neighbours in the rule's order of activity: prev more recently active,
// next less; -1 at the ends.
type slotGroup struct {
	g          *group
	prev, next int32
}

// newGroupIndex returns an empty index for k rules.
func newGroupIndex(k int) *groupIndex { return &groupIndex{k: k, single: new(group)} }

// row returns slot s's groups, by rule.
func (x *groupIndex) row(s int32) []slotGroup {
	i := int(s) * x.k
	return x.gs[i : i+x.k : i+x.k]
}

// at returns rule r's entry of slot s.
func (x *groupIndex) at(s int32, r int) *slotGroup { return &x.gs[int(s)*x.k+r] }

// key returns the key of slot s, which is used.
func (x *groupIndex) key(s int32) string {
	for _, e := range x.row(s) {
		if e.g == x.single {
			return x.first[s].key
		}
		if e.g != nil {
			return e.g.key
		}
	}
	panic("detect: free group slot indexed")
}

// find returns the slot of key, whose hash is h, or -1.
func (x *groupIndex) find(key string, h uint64) int32 { return findKey(x, key, h) }

// findBytes is find for a key in bytes.
func (x *groupIndex) findBytes(key []byte, h uint64) int32 { return findKey(x, key, h) }

// findKey is find for a key in a string or in bytes; comparing bytes with
// a string copies nothing.
func findKey[K string | []byte](x *groupIndex, key K, h uint64) int32 {
	if x.n == 0 {
		return -1
	}
	tag := tagOf(h)
	for i := x.idx.start(tag); ; i = x.idx.next(i) {
		s, more := x.idx.at(i, tag)
		if !more {
			return -1
		}
		if s >= 0 && x.key(s) == string(key) {
			return s
		}
	}
}

// insert returns a new slot for a key (not in the index) with tag.
func (x *groupIndex) insert(tag uint32) int32 {
	var s int32
	if n := len(x.free); n > 0 {
		s = x.free[n-1]
		x.free = x.free[:n-1]
	} else {
		s = int32(len(x.gs) / x.k)
		for range x.k {
			x.gs = append(x.gs, slotGroup{})
		}
		if x.first != nil {
			x.first = append(x.first, firstEvent{})
		}
	}
	x.n++
	x.idx.add(tag, s, x.n)
	return s
}

// release takes rule r's group out of slot s (of a key with tag), freeing
// the slot when no rule has a group there.
func (x *groupIndex) release(s int32, r int, tag uint32) {
	row := x.row(s)
	row[r] = slotGroup{}
	for _, e := range row {
		if e.g != nil {
			return
		}
	}
	x.idx.remove(tag, s)
	x.free = append(x.free, s)
	x.n--
}

// holdSingle prepares the empty index for rules holding single entries.
func (x *groupIndex) holdSingle() {
	if x.first == nil {
		x.first = []firstEvent{}
	}
}

// drop takes rule r's single entry of slot s out of the slot's first
// event, which is forgotten when no rule holds it.
func (x *groupIndex) drop(s int32, r int) {
	f := &x.first[s]
	if f.rules &^= 1 << r; f.rules == 0 {
		*f = firstEvent{}
	}
}

// groupSet is one rule's groups by key, in order of last activity: a
// least-recently-used cache whose links live in the index's slots, found
// through an index the rule may share with others (see groupIndex).
type groupSet struct {
	x *groupIndex
	r int // the rule's place in x's slots
	n int
	// head is the slot of the most recently active group, tail of the
	// least; -1 when empty.
	head, tail int32
	size       int
	// onRemove is called for every group that leaves the set: evicted
	// (to make room, or shed) or forgotten (idle).
	onRemove func(g *group, evicted bool)
}

// newGroupSet returns an empty set of at most size groups, with an index
// of its own until share is called.
func newGroupSet(size int, onRemove func(g *group, evicted bool)) *groupSet {
	return &groupSet{x: newGroupIndex(1), head: -1, tail: -1, size: size, onRemove: onRemove}
}

// share makes the empty set find its groups in x, as rule r of x's.
func (s *groupSet) share(x *groupIndex, r int) { s.x, s.r = x, r }

// Len returns the number of groups.
func (s *groupSet) Len() int { return s.n }

// group returns the set's group in slot sl (-1: none), or nil.
func (s *groupSet) group(sl int32) *group {
	if sl < 0 {
		return nil
	}
	return s.x.at(sl, s.r).g
}

// unlink takes slot sl's group out of the order of activity.
func (s *groupSet) unlink(sl int32) {
	e := s.x.at(sl, s.r)
	if e.prev >= 0 {
		s.x.at(e.prev, s.r).next = e.next
	} else {
		s.head = e.next
	}
	if e.next >= 0 {
		s.x.at(e.next, s.r).prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

// pushFront makes slot sl's group the most recently active.
func (s *groupSet) pushFront(sl int32) {
	e := s.x.at(sl, s.r)
	e.prev, e.next = -1, s.head
	if s.head >= 0 {
		s.x.at(s.head, s.r).prev = sl
	} else {
		s.tail = sl
	}
	s.head = sl
}

// touch marks g as the most recently active.
func (s *groupSet) touch(g *group) { s.touchSlot(g.slot) }

// touchSlot marks the set's entry of slot sl as the most recently active.
func (s *groupSet) touchSlot(sl int32) {
	if s.head == sl {
		return
	}
	s.unlink(sl)
	s.pushFront(sl)
}

// get returns the group of key, whose hash is h, marking it the most
// recently active, or nil. slot is the key's slot in the index, or -1:
// add takes it for a new group of the key.
func (s *groupSet) get(key string, h uint64) (g *group, slot int32) {
	return s.at(s.x.find(key, h))
}

// getBytes is get for a key in bytes.
func (s *groupSet) getBytes(key []byte, h uint64) (g *group, slot int32) {
	return s.at(s.x.findBytes(key, h))
}

// at returns the set's group of slot (the index's single marker for a
// single entry), marking it the most recently active, or nil; and slot.
func (s *groupSet) at(slot int32) (*group, int32) {
	if slot < 0 {
		return nil, -1
	}
	g := s.x.at(slot, s.r).g
	if g != nil {
		s.touchSlot(slot)
	}
	return g, slot
}

// add inserts g (whose key, of hash h, is not in the set) as the most
// recently active, evicting the least recently active group beyond the
// size. slot is what get returned for the key.
func (s *groupSet) add(g *group, slot int32, h uint64) {
	g.tag = tagOf(h)
	if slot < 0 {
		slot = s.x.insert(g.tag)
	}
	g.slot = slot
	s.x.at(slot, s.r).g = g
	s.n++
	s.pushFront(slot)
	if s.n > s.size {
		s.removeSlot(s.tail, true)
	}
}

// addSingle inserts a single entry (see groupIndex) for a key not in the
// set, whose hash is h, and returns its slot. slot is what get returned
// for the key. f is the key's first event, or nil when the slot holds
// the same event single already, for other rules.
func (s *groupSet) addSingle(slot int32, h uint64, f *firstEvent) int32 {
	x := s.x
	if slot < 0 {
		slot = x.insert(tagOf(h))
	}
	if f != nil {
		x.first[slot] = *f
		x.first[slot].tag = tagOf(h)
	}
	x.first[slot].rules |= 1 << s.r
	x.at(slot, s.r).g = x.single
	s.n++
	s.pushFront(slot)
	if s.n > s.size {
		s.removeSlot(s.tail, true)
	}
	return slot
}

// makeRoom evicts the least recently active group if the set is full:
// what add would evict after adding a group, evicted before.
func (s *groupSet) makeRoom() {
	if s.n >= s.size && s.tail >= 0 {
		s.removeSlot(s.tail, true)
	}
}

// oldest returns the slot of the least recently active group, or -1.
func (s *groupSet) oldest() int32 { return s.tail }

// newest returns the most recently active group (the index's single
// marker for a single entry), or nil.
func (s *groupSet) newest() *group { return s.group(s.head) }

// removeSlot takes the set's group, or single entry, of slot sl out of
// the set, evicted or forgotten. onRemove is called with the group, or nil
// for a single entry.
func (s *groupSet) removeSlot(sl int32, evicted bool) {
	x := s.x
	g := x.at(sl, s.r).g
	s.unlink(sl)
	var tag uint32
	if g == x.single {
		g, tag = nil, x.first[sl].tag
		x.drop(sl, s.r)
	} else {
		tag = g.tag
	}
	x.release(sl, s.r, tag)
	s.n--
	if s.onRemove != nil {
		s.onRemove(g, evicted)
	}
}

// each calls fn for every group, least recently active first, with its
// slot: g is the index's single marker for a single entry.
func (s *groupSet) each(fn func(sl int32, g *group)) {
	for sl := s.tail; sl >= 0; {
		e := s.x.at(sl, s.r)
		next := e.prev
		fn(sl, e.g)
		sl = next
	}
}
