package detect

// groupSet is one rule's groups by key, in order of last activity: a
// least-recently-used cache whose links live in the groups themselves, so
// that a lookup by a byte key allocates nothing and takes no lock.
type groupSet struct {
	// idx finds a group's slot in gs by its key's hash, which the engine
	// makes once for the rules sharing a key.
	idx  slotIndex
	gs   []*group // by slot; nil when free
	free []int32  // free slots
	n    int
	root group // root.next is the most recently active, root.prev the least
	size int
	// onRemove is called for every group that leaves the set, evicted or
	// removed.
	onRemove func(*group)
}

func newGroupSet(size int, onRemove func(*group)) *groupSet {
	s := &groupSet{size: size, onRemove: onRemove}
	s.root.next, s.root.prev = &s.root, &s.root
	return s
}

// Len returns the number of groups.
func (s *groupSet) Len() int { return s.n }

func (s *groupSet) unlink(g *group) {
	g.prev.next = g.next
	g.next.prev = g.prev
	g.prev, g.next = nil, nil
}

func (s *groupSet) pushFront(g *group) {
	g.prev = &s.root
	g.next = s.root.next
	s.root.next.prev = g
	s.root.next = g
}

// touch marks g as the most recently active.
func (s *groupSet) touch(g *group) {
	if s.root.next == g {
		return
	}
	s.unlink(g)
	s.pushFront(g)
}

// get returns the group of key, whose hash is h, marking it the most
// recently active.
func (s *groupSet) get(key string, h uint64) (*group, bool) {
	if s.n == 0 {
		return nil, false
	}
	tag := tagOf(h)
	for i := s.idx.start(tag); ; i = s.idx.next(i) {
		sl, more := s.idx.at(i, tag)
		if !more {
			return nil, false
		}
		if sl >= 0 && s.gs[sl].key == key {
			g := s.gs[sl]
			s.touch(g)
			return g, true
		}
	}
}

// getBytes is get for a key in bytes.
func (s *groupSet) getBytes(key []byte, h uint64) (*group, bool) {
	if s.n == 0 {
		return nil, false
	}
	tag := tagOf(h)
	for i := s.idx.start(tag); ; i = s.idx.next(i) {
		sl, more := s.idx.at(i, tag)
		if !more {
			return nil, false
		}
		if sl >= 0 && s.gs[sl].key == string(key) {
			g := s.gs[sl]
			s.touch(g)
			return g, true
		}
	}
}

// add inserts g (whose key is not in the set, of hash h) as the most
// recently active, evicting the least recently active group beyond the
// size.
func (s *groupSet) add(g *group, h uint64) {
	if n := len(s.free); n > 0 {
		g.slot = s.free[n-1]
		s.free = s.free[:n-1]
		s.gs[g.slot] = g
	} else {
		g.slot = int32(len(s.gs))
		s.gs = append(s.gs, g)
	}
	g.tag = tagOf(h)
	s.n++
	s.idx.add(g.tag, g.slot, s.n)
	s.pushFront(g)
	if s.n > s.size {
		s.remove(s.root.prev)
	}
}

// oldest returns the least recently active group.
func (s *groupSet) oldest() (*group, bool) {
	if s.root.prev == &s.root {
		return nil, false
	}
	return s.root.prev, true
}

// remove takes g out of the set.
func (s *groupSet) remove(g *group) {
	s.unlink(g)
	s.idx.remove(g.tag, g.slot)
	s.gs[g.slot] = nil
	s.free = append(s.free, g.slot)
	s.n--
	if s.onRemove != nil {
		s.onRemove(g)
	}
}

// each calls fn for every group, least recently active first.
func (s *groupSet) each(fn func(*group)) {
	for g := s.root.prev; g != &s.root; g = g.prev {
		fn(g)
	}
}
