package detect

import "hash/maphash"

// strSet is a scratch set of strings: describe counts a window's distinct
// source addresses with it, cheaper than with a map (one hash of each
// string, a table of its hashes' tags, no buckets to clear but its own).
// The zero value is an empty set hashing under the zero seed; set seed
// before the first add.
type strSet struct {
	seed maphash.Seed
	idx  slotIndex
	vals []string // by slot
}

// add adds v, reporting whether it was not in the set yet.
func (s *strSet) add(v string) bool {
	tag := tagOf(maphash.String(s.seed, v))
	if s.idx.tab != nil {
		for i := s.idx.start(tag); ; i = s.idx.next(i) {
			sl, more := s.idx.at(i, tag)
			if !more {
				break
			}
			if sl >= 0 && s.vals[sl] == v {
				return false
			}
		}
	}
	s.vals = append(s.vals, v)
	s.idx.add(tag, int32(len(s.vals)-1), len(s.vals))
	return true
}

// len returns the number of strings in the set.
func (s *strSet) len() int { return len(s.vals) }

// reset empties the set, keeping its room unless it held more than max
// strings.
func (s *strSet) reset(max int) {
	if len(s.vals) > max {
		s.idx.tab, s.vals = nil, nil
		return
	}
	clear(s.idx.tab)
	clear(s.vals)
	s.vals = s.vals[:0]
}
