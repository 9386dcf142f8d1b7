package detect

// entry is one event in a group's window: only what counts and samples need.
type entry struct {
	t       int64
	outcome uint8
	slot    int32     // val's slot in the window's distinct counts
	val     string    // the rule's distinct field
	alias   string    // a success's mistyped value it resolves (see typoOf)
	ev      *evidence // shared by the entries of one event in every rule
}

// evidence is what alerts quote of an event: owned copies, one per event
// whatever the number of rules and windows that keep it.
type evidence struct {
	user, rid, ip string
}

func (e *entry) user() string {
	if e.ev == nil {
		return ""
	}
	return e.ev.user
}

func (e *entry) rid() string {
	if e.ev == nil {
		return ""
	}
	return e.ev.rid
}

func (e *entry) ip() string {
	if e.ev == nil {
		return ""
	}
	return e.ev.ip
}

const (
	outcomeUnknown uint8 = iota
	outcomeSuccess
	outcomeFailure
)

// valCount is what a window knows about one distinct value.
type valCount struct {
	n, f, s int32 // events, failures, successes
}

// distinctCounts keeps per-value counts and the derived distinct figures
// up to date as events enter and leave.
type distinctCounts struct {
	// idx maps each value to its slot in cnt: a window's entry keeps its
	// value's slot, so that counting it in and out costs one map lookup
	// at most. Free slots are reused.
	idx        map[string]int32
	cnt        []valCount
	free       []int32
	failed     int // values with at least one failure
	unresolved int // values with failures and no success
	succeeded  int // values with at least one success
	// unres and unresLen index the unresolved values, usually a few
	// among many, by value and by length (capped), so that typoOf probes
	// only the variants that could be one, in a small map. Built when a
	// store first holds indexFrom values; small stores probe vals.
	unres    map[string]struct{}
	unresLen *[typoMaxLen + 2]int32
}

// typoMaxLen is the longest username typoOf considers.
const typoMaxLen = 64

// indexFrom is the number of values from which a store indexes its
// unresolved ones.
const indexFrom = 16

func lenSlot(v string) int { return min(len(v), typoMaxLen+1) }

// unresolvedDelta records that val became unresolved (+1) or stopped being
// unresolved (-1).
func (d *distinctCounts) unresolvedDelta(val string, delta int) {
	d.unresolved += delta
	if d.unres == nil {
		return
	}
	d.unresLen[lenSlot(val)] += int32(delta)
	if delta > 0 {
		d.unres[val] = struct{}{}
	} else {
		delete(d.unres, val)
	}
}

// index builds the unresolved-value index from vals.
func (d *distinctCounts) index() {
	d.unres = make(map[string]struct{})
	d.unresLen = new([typoMaxLen + 2]int32)
	for v, i := range d.idx {
		if c := d.cnt[i]; c.f > 0 && c.s == 0 {
			d.unres[v] = struct{}{}
			d.unresLen[lenSlot(v)]++
		}
	}
}

// newDistinctCounts returns empty counts.
func newDistinctCounts() distinctCounts {
	return distinctCounts{idx: make(map[string]int32)}
}

// size returns the number of distinct values.
func (d *distinctCounts) size() int { return len(d.idx) }

// get returns val's counts.
func (d *distinctCounts) get(val string) (valCount, bool) {
	i, ok := d.idx[val]
	if !ok {
		return valCount{}, false
	}
	return d.cnt[i], true
}

// each calls fn with every value's counts.
func (d *distinctCounts) each(fn func(string, valCount)) {
	for v, i := range d.idx {
		fn(v, d.cnt[i])
	}
}

// drop forgets val and returns its counts.
func (d *distinctCounts) drop(val string) valCount {
	i, ok := d.idx[val]
	if !ok {
		return valCount{}
	}
	c := d.cnt[i]
	d.release(val, i)
	return c
}

func (d *distinctCounts) release(val string, i int32) {
	delete(d.idx, val)
	d.cnt[i] = valCount{}
	d.free = append(d.free, i)
}

// adjust counts an event of val in (delta 1) or out (delta -1). slot is
// val's slot when known (an event counted in earlier), or -1. It returns
// val's slot, or -1 when val has no counts left.
func (d *distinctCounts) adjust(val string, slot int32, outcome uint8, delta int32) int32 {
	i := slot
	if i < 0 {
		var ok bool
		if i, ok = d.idx[val]; !ok {
			if delta <= 0 {
				return -1
			}
			if n := len(d.free); n > 0 {
				i = d.free[n-1]
				d.free = d.free[:n-1]
			} else {
				i = int32(len(d.cnt))
				d.cnt = append(d.cnt, valCount{})
			}
			d.idx[val] = i
		}
	}
	p := &d.cnt[i]
	c := *p
	wasF, wasU, wasS := c.f > 0, c.f > 0 && c.s == 0, c.s > 0
	c.n += delta
	switch outcome {
	case outcomeFailure:
		c.f += delta
	case outcomeSuccess:
		c.s += delta
	}
	isF, isU, isS := c.f > 0, c.f > 0 && c.s == 0, c.s > 0
	if c.n <= 0 {
		d.release(val, i)
		isF, isU, isS = false, false, false
		i = -1
	} else {
		*p = c
	}
	d.failed += b2i(isF) - b2i(wasF)
	if du := b2i(isU) - b2i(wasU); du != 0 {
		d.unresolvedDelta(val, du)
	}
	d.succeeded += b2i(isS) - b2i(wasS)
	return i
}

// credit adds delta to val's successes without counting an event: a
// success for the username val was a typo of. Unknown values are left
// alone and successes never go below zero.
func (d *distinctCounts) credit(val string, delta int32) {
	i, ok := d.idx[val]
	if !ok || d.cnt[i].s+delta < 0 {
		return
	}
	c := &d.cnt[i]
	wasU, wasS := c.f > 0 && c.s == 0, c.s > 0
	c.s += delta
	if du := b2i(c.f > 0 && c.s == 0) - b2i(wasU); du != 0 {
		d.unresolvedDelta(val, du)
	}
	d.succeeded += b2i(c.s > 0) - b2i(wasS)
}

// typoOf returns a value with failures and no success that is one common
// typing slip away from u (two neighbouring letters swapped, a letter
// doubled or dropped), or "": the username a person mistyped before
// logging in as u. buf is scratch space.
func (d *distinctCounts) typoOf(u string, buf *[]byte) string {
	if len(u) < 2 || len(u) > typoMaxLen || d.unresolved == 0 {
		return ""
	}
	if d.unres == nil && len(d.idx) >= indexFrom {
		d.index()
	}
	if d.unres == nil && !d.mayHaveTypo(u) {
		return ""
	}
	swaps, doubled, dropped := true, true, true
	if d.unres != nil {
		// A swap keeps the length, a doubled letter adds one, a dropped
		// one removes one: skip the kinds no unresolved value could match.
		swaps = d.unresLen[len(u)] > 0
		doubled = d.unresLen[len(u)+1] > 0
		dropped = d.unresLen[len(u)-1] > 0
	}
	try := func(b []byte) string {
		if d.unres != nil {
			if _, ok := d.unres[string(b)]; ok {
				return string(b)
			}
			return ""
		}
		if i, ok := d.idx[string(b)]; ok && d.cnt[i].f > 0 && d.cnt[i].s == 0 {
			return string(b)
		}
		return ""
	}
	b := (*buf)[:0]
	for i := 0; swaps && i+1 < len(u); i++ { // swapped
		b = append(b[:0], u...)
		b[i], b[i+1] = b[i+1], b[i]
		if b[i] != b[i+1] {
			if v := try(b); v != "" {
				return v
			}
		}
	}
	for i := 0; (doubled || dropped) && i < len(u); i++ { // doubled, dropped
		if doubled {
			b = append(append(append(b[:0], u[:i+1]...), u[i]), u[i+1:]...)
			if v := try(b); v != "" {
				return v
			}
		}
		if dropped {
			b = append(append(b[:0], u[:i]...), u[i+1:]...)
			if v := try(b); v != "" {
				return v
			}
		}
	}
	*buf = b
	return ""
}

// mayHaveTypo reports whether an unresolved value of a small store (not
// indexed, fewer than indexFrom values) could be a typing slip away from
// u, comparing u with each: most successes follow no slip, and this
// avoids hashing every variant of u. A true result is then confirmed by
// typoOf's probes, which pick the slip in their fixed order.
func (d *distinctCounts) mayHaveTypo(u string) bool {
	for v, i := range d.idx {
		if c := d.cnt[i]; c.f > 0 && c.s == 0 && oneEdit(u, v) {
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

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// measure says which figure of a store a rule reads.
type measure uint8

const (
	measureEvents     measure = iota // events in the window
	measureDistinct                  // distinct values
	measureUnresolved                // distinct values with failures and no success
	measureSucceeded                 // distinct values with a success
)

// store is a group's memory of its recent events: the exact window, or,
// for long windows, the expiring value set.
type store interface {
	add(e entry, length int64, max int) bool
	expire(now, length int64) (left int64, ok bool)
	value(m measure) int
	counts() (events, failures, successes int)
	first() int64
	last() int64
	endTime() int64
	// each calls fn for the evidence kept: every event of an exact
	// window, the most recent ones of a value set.
	each(fn func(*entry))
	// failures returns val's failures in the store.
	failures(val string) int
	// typoOf returns an unresolved value u is a typo away from, or "".
	typoOf(u string, buf *[]byte) string
	// perValue calls fn with each distinct value's counts; false when the
	// store keeps no distinct values.
	perValue(fn func(val string, c valCount)) bool
	droppedEvents() int64
}

// window is a sliding event-time window over one group's events, kept in
// time order, with exact distinct counts of one field.
type window struct {
	entries []entry
	head    int
	end     int64 // newest time seen: the window is (end-length, end]
	dc      *distinctCounts
	fails   int
	succs   int
	dropped int64 // entries dropped because the window was full
}

func newWindow(distinct bool) *window {
	w := &window{}
	if distinct {
		dc := newDistinctCounts()
		w.dc = &dc
	}
	return w
}

// len returns the number of events in the window.
func (w *window) len() int { return len(w.entries) - w.head }

func (w *window) endTime() int64       { return w.end }
func (w *window) droppedEvents() int64 { return w.dropped }

// value returns the measure m of the window.
func (w *window) value(m measure) int {
	switch {
	case w.dc == nil || m == measureEvents:
		return w.len()
	case m == measureUnresolved:
		return w.dc.unresolved
	case m == measureSucceeded:
		return w.dc.succeeded
	}
	return w.dc.size()
}

func (w *window) counts() (int, int, int) { return w.len(), w.fails, w.succs }

func (w *window) count(e *entry, delta int) {
	switch e.outcome {
	case outcomeFailure:
		w.fails += delta
	case outcomeSuccess:
		w.succs += delta
	}
	if w.dc != nil {
		slot := e.slot
		if delta > 0 {
			slot = -1
		}
		e.slot = w.dc.adjust(e.val, slot, e.outcome, int32(delta))
		if e.alias != "" {
			w.dc.credit(e.alias, int32(delta))
		}
	}
}

func (w *window) typoOf(u string, buf *[]byte) string {
	if w.dc == nil {
		return ""
	}
	return w.dc.typoOf(u, buf)
}

// add inserts e in time order, dropping the oldest entry when the window
// holds max entries. It reports false when e is older than the window.
func (w *window) add(e entry, length int64, max int) bool {
	if e.t > w.end {
		w.end = e.t
	}
	if e.t <= w.end-length {
		return false
	}
	if w.len() >= max {
		w.removeHead()
		w.dropped++
	}
	if w.head > 0 && w.head >= len(w.entries)/2 && w.head >= 64 {
		n := copy(w.entries, w.entries[w.head:])
		clear(w.entries[n:])
		w.entries = w.entries[:n]
		w.head = 0
	}
	w.count(&e, 1) // sets e.slot
	i := len(w.entries)
	w.entries = append(w.entries, e)
	for i > w.head && w.entries[i-1].t > e.t {
		w.entries[i] = w.entries[i-1]
		i--
	}
	w.entries[i] = e
	return true
}

func (w *window) removeHead() entry {
	e := w.entries[w.head]
	w.entries[w.head] = entry{}
	w.head++
	w.count(&e, -1)
	if w.head == len(w.entries) {
		w.entries = w.entries[:0]
		w.head = 0
	}
	return e
}

// expire moves the window's end to now (if later) and drops the oldest
// event if it fell out, returning the time it left the window. Call it
// until ok is false.
func (w *window) expire(now, length int64) (left int64, ok bool) {
	if now > w.end {
		w.end = now
	}
	if w.len() == 0 || w.entries[w.head].t > w.end-length {
		return 0, false
	}
	e := w.removeHead()
	return e.t + length, true
}

// each calls fn for the events in the window, oldest first.
func (w *window) each(fn func(*entry)) {
	for i := w.head; i < len(w.entries); i++ {
		fn(&w.entries[i])
	}
}

func (w *window) failures(val string) int {
	if w.dc == nil {
		return 0
	}
	c, _ := w.dc.get(val)
	return int(c.f)
}

func (w *window) perValue(fn func(string, valCount)) bool {
	if w.dc == nil {
		return false
	}
	w.dc.each(fn)
	return true
}

// first returns the oldest event's time.
func (w *window) first() int64 {
	if w.len() == 0 {
		return 0
	}
	return w.entries[w.head].t
}

// last returns the newest event's time.
func (w *window) last() int64 {
	if w.len() == 0 {
		return 0
	}
	return w.entries[len(w.entries)-1].t
}

// valueSet is the memory of a long window (hours): an exact set of the
// distinct values seen in the window, each with the time it was last seen
// and its counts, instead of every event. A value leaves when it has not
// been seen for the window's length. Memory is one map entry and one queue
// slot per distinct value, plus a fixed ring of recent events as evidence.
//
// The counts of a value are those since it last entered the set: a value
// seen at the start and again near the end of the window keeps its first
// attempt in its counts until it leaves.
type valueSet struct {
	dc     distinctCounts
	seen   []int64  // by the value's slot in dc: when it was last seen
	queue  []queued // one slot per value, in order of the time queued
	head   int
	end    int64
	events int
	fails  int
	succs  int
	recent []entry // ring of recentEvidence events, grown as they come
	nrec   int     // events ever put in recent
}

// recentEvidence is how many recent events a value set keeps for samples.
const recentEvidence = 32

type queued struct {
	val string
	t   int64
}

func newValueSet() *valueSet {
	return &valueSet{
		dc: newDistinctCounts(),
	}
}

func (s *valueSet) endTime() int64       { return s.end }
func (s *valueSet) droppedEvents() int64 { return 0 }

func (s *valueSet) value(m measure) int {
	switch m {
	case measureEvents:
		return s.events
	case measureUnresolved:
		return s.dc.unresolved
	case measureSucceeded:
		return s.dc.succeeded
	}
	return s.dc.size()
}

func (s *valueSet) counts() (int, int, int) { return s.events, s.fails, s.succs }

// add records e. max caps the distinct values: beyond it, the value last
// seen longest ago is forgotten early.
func (s *valueSet) add(e entry, length int64, max int) bool {
	if e.t > s.end {
		s.end = e.t
	}
	if e.t <= s.end-length {
		return false
	}
	i, ok := s.dc.idx[e.val]
	if !ok {
		if s.dc.size() >= max {
			s.evictOne()
		}
		s.push(e.val, e.t)
		i = s.dc.adjust(e.val, -1, e.outcome, 1)
		for int(i) >= len(s.seen) {
			s.seen = append(s.seen, 0)
		}
		s.seen[i] = e.t
	} else {
		if e.t > s.seen[i] {
			s.seen[i] = e.t
		}
		s.dc.adjust(e.val, i, e.outcome, 1)
	}
	if e.alias != "" {
		s.dc.credit(e.alias, 1)
	}
	s.events++
	switch e.outcome {
	case outcomeFailure:
		s.fails++
	case outcomeSuccess:
		s.succs++
	}
	if len(s.recent) < recentEvidence {
		s.recent = append(s.recent, e)
	} else {
		s.recent[s.nrec%recentEvidence] = e
	}
	s.nrec++
	return true
}

func (s *valueSet) push(val string, t int64) {
	if s.head > 0 && s.head >= len(s.queue)/2 && s.head >= 64 {
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue = s.queue[:n]
		s.head = 0
	}
	s.queue = append(s.queue, queued{val, t})
}

// forget removes a value and its counts.
func (s *valueSet) forget(val string) {
	c, _ := s.dc.get(val)
	s.events -= int(c.n)
	s.fails -= int(c.f)
	s.succs -= int(c.s)
	s.dc.failed -= b2i(c.f > 0)
	if c.f > 0 && c.s == 0 {
		s.dc.unresolvedDelta(val, -1)
	}
	s.dc.succeeded -= b2i(c.s > 0)
	s.dc.drop(val)
}

func (s *valueSet) pop() queued {
	q := s.queue[s.head]
	s.queue[s.head] = queued{}
	s.head++
	if s.head == len(s.queue) {
		s.queue = s.queue[:0]
		s.head = 0
	}
	return q
}

func (s *valueSet) evictOne() {
	for s.head < len(s.queue) {
		q := s.pop()
		if _, ok := s.dc.idx[q.val]; ok {
			s.forget(q.val)
			return
		}
	}
}

// expire drops one value not seen for length by now, returning when it
// left. Values seen again since they were queued move to the back.
func (s *valueSet) expire(now, length int64) (int64, bool) {
	if now > s.end {
		s.end = now
	}
	cut := s.end - length
	for s.head < len(s.queue) && s.queue[s.head].t <= cut {
		q := s.pop()
		i, ok := s.dc.idx[q.val]
		if !ok {
			continue
		}
		last := s.seen[i]
		if last > cut {
			s.push(q.val, last)
			continue
		}
		s.forget(q.val)
		return last + length, true
	}
	return 0, false
}

func (s *valueSet) each(fn func(*entry)) {
	n := min(s.nrec, recentEvidence)
	for i := s.nrec - n; i < s.nrec; i++ {
		e := &s.recent[i%recentEvidence]
		if _, ok := s.dc.idx[e.val]; ok {
			fn(e)
		}
	}
}

func (s *valueSet) typoOf(u string, buf *[]byte) string { return s.dc.typoOf(u, buf) }

func (s *valueSet) failures(val string) int {
	c, _ := s.dc.get(val)
	return int(c.f)
}

func (s *valueSet) perValue(fn func(string, valCount)) bool {
	s.dc.each(fn)
	return true
}

// first returns the oldest queued time: when the longest-kept value was
// last seen (or first, if it was not seen again).
func (s *valueSet) first() int64 {
	if s.head == len(s.queue) {
		return 0
	}
	return s.queue[s.head].t
}

func (s *valueSet) last() int64 {
	if s.nrec == 0 {
		return 0
	}
	return s.recent[(s.nrec-1)%recentEvidence].t
}
