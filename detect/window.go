package detect

import (
	"hash/maphash"
	"math"
)

// Event times are Unix nanoseconds, before 1970 negative: arithmetic on
// them saturates rather than wrap, and "no time yet" is math.MinInt64.

// minus returns t-d (d >= 0), or math.MinInt64 when that is earlier than
// the earliest representable time.
func minus(t, d int64) int64 {
	if t < math.MinInt64+d {
		return math.MinInt64
	}
	return t - d
}

// floorTo returns the latest multiple of p (> 0) at or before t, or
// math.MinInt64 when that is not representable.
func floorTo(t, p int64) int64 {
	m := t % p
	if m < 0 {
		m += p
	}
	return minus(t, m)
}

// entry is one event in a group's window: only what counts and samples
// need. Its distinct value is the one in its slot of the window's counts.
type entry struct {
	t       int64
	ev      *evidence // shared by the entries of one event in every rule
	slot    int32     // the distinct value's slot in the window's counts
	outcome uint8
	// aliased says that the event, a success, resolves a mistyped value
	// (see typoOf), kept among the aliases of the window's counts.
	aliased bool
}

// evidence is what alerts quote of an event: owned copies, one per event
// whatever the number of rules and windows that keep it, in one string:
// the username, the request id and the source address, in that order.
type evidence struct {
	s          string
	nuser, nid uint32 // lengths of the username and the request id
}

// newEvidence returns the evidence of an event; s is user + rid + ip.
func newEvidence(s string, nuser, nid int) *evidence {
	return &evidence{s: s, nuser: uint32(nuser), nid: uint32(nid)}
}

// newEvidenceBuf returns an evidence and n bytes for its string (and
// whatever else of the event is kept with it), in one allocation when n
// is small: an evidence and its bytes live and die together. The
// allocations' sizes are size classes of the allocator (24 bytes of
// evidence plus the bytes).
func newEvidenceBuf(n int) (*evidence, []byte) {
	switch {
	case n <= 40:
		x := new(struct {
			ev evidence
			b  [40]byte
		})
		return &x.ev, x.b[:n:n]
	case n <= 56:
		x := new(struct {
			ev evidence
			b  [56]byte
		})
		return &x.ev, x.b[:n:n]
	case n <= 72:
		x := new(struct {
			ev evidence
			b  [72]byte
		})
		return &x.ev, x.b[:n:n]
	case n <= 88:
		x := new(struct {
			ev evidence
			b  [88]byte
		})
		return &x.ev, x.b[:n:n]
	case n <= 104:
		x := new(struct {
			ev evidence
			b  [104]byte
		})
		return &x.ev, x.b[:n:n]
	case n <= 120:
		x := new(struct {
			ev evidence
			b  [120]byte
		})
		return &x.ev, x.b[:n:n]
	case n <= 136:
		x := new(struct {
			ev evidence
			b  [136]byte
		})
		return &x.ev, x.b[:n:n]
	case n <= 152:
		x := new(struct {
			ev evidence
			b  [152]byte
		})
		return &x.ev, x.b[:n:n]
	case n <= 168:
		x := new(struct {
			ev evidence
			b  [168]byte
		})
		return &x.ev, x.b[:n:n]
	case n <= 200:
		x := new(struct {
			ev evidence
			b  [200]byte
		})
		return &x.ev, x.b[:n:n]
	case n <= 232:
		x := new(struct {
			ev evidence
			b  [232]byte
		})
		return &x.ev, x.b[:n:n]
	}
	return new(evidence), make([]byte, n)
}

func (e *entry) user() string {
	if e.ev == nil {
		return ""
	}
	return e.ev.s[:e.ev.nuser]
}

func (e *entry) rid() string {
	if e.ev == nil {
		return ""
	}
	return e.ev.s[e.ev.nuser : e.ev.nuser+e.ev.nid]
}

func (e *entry) ip() string {
	if e.ev == nil {
		return ""
	}
	return e.ev.s[e.ev.nuser+e.ev.nid:]
}

const (
	outcomeUnknown uint8 = iota
	outcomeSuccess
	outcomeFailure
)

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
	// add records e, whose distinct value is v. It reports whether e was
	// recorded (not older than the window, nor than every event of a
	// full store) and how many events were dropped from a full store
	// (e itself when not recorded).
	add(e entry, v hashed, length int64, max int) (ok bool, dropped int)
	expire(now, length int64) (left int64, ok bool)
	value(m measure) int
	counts() (events, failures, successes int)
	first() int64
	last() int64
	endTime() int64
	// alias credits a with a success without counting an event: the
	// mistyped value that the success just added (at t, with ev)
	// resolves.
	alias(t int64, ev *evidence, a hashed)
	// each calls fn for the evidence kept: every event of an exact
	// window, the most recent ones of a value set.
	each(fn func(*entry))
	// failures returns v's failures in the store.
	failures(v hashed) int
	// typoOf returns an unresolved value u is a typo away from, or "".
	typoOf(u string, p *typoProbe) string
	// reset empties the store for reuse, keeping its buffers of up to
	// max events or values, and reports true, or reports false (and
	// leaves it) when they are larger.
	reset(max int) bool
	// held returns what the store keeps that grows with its input: the
	// events of an exact window, the distinct values of a value set. An
	// expire that reports ok lowers it by one.
	held() int
	// perValue calls fn with each distinct value's counts; false when the
	// store keeps no distinct values.
	perValue(fn func(val string, c valCount)) bool
}

// window is a sliding event-time window over one group's events, kept in
// time order, with exact distinct counts of one field.
type window struct {
	entries  []entry
	end      int64 // newest time seen (math.MinInt64: none): the window is (end-length, end]
	head     int32
	fails    int32
	succs    int32
	distinct bool           // whether dc counts the values
	dc       distinctCounts // allocates nothing until the first value
}

// newWindow returns an empty window; a distinct window counts values.
func newWindow(distinct bool) *window {
	return &window{end: math.MinInt64, distinct: distinct}
}

// reuseCap is the largest buffer, in elements, a store reset for reuse
// among a rule's spare groups keeps; bigReuseCap that of a store among
// its few big spares.
const (
	reuseCap    = 8
	bigReuseCap = 1024
)

func (w *window) reset(max int) bool {
	if cap(w.entries) > max || !w.dc.reset(max) {
		return false
	}
	// Entries before head and beyond the length are zero already.
	clear(w.entries[w.head:])
	w.entries, w.head, w.end, w.fails, w.succs = w.entries[:0], 0, math.MinInt64, 0, 0
	return true
}

// len returns the number of events in the window.
func (w *window) len() int { return len(w.entries) - int(w.head) }

func (w *window) held() int { return w.len() }

func (w *window) endTime() int64 { return w.end }

// value returns the measure m of the window.
func (w *window) value(m measure) int {
	switch {
	case !w.distinct || m == measureEvents:
		return w.len()
	case m == measureUnresolved:
		return int(w.dc.unresolved)
	case m == measureSucceeded:
		return int(w.dc.succeeded)
	}
	return w.dc.size()
}

func (w *window) counts() (int, int, int) { return w.len(), int(w.fails), int(w.succs) }

// count counts e in (delta 1, v its value) or out (delta -1, by its
// slot).
func (w *window) count(e *entry, v hashed, delta int32) {
	switch e.outcome {
	case outcomeFailure:
		w.fails += delta
	case outcomeSuccess:
		w.succs += delta
	}
	if w.distinct {
		slot := e.slot
		if delta > 0 {
			slot = -1
		}
		e.slot = w.dc.adjust(v, slot, e.outcome, delta)
		if e.aliased && delta < 0 {
			w.uncredit(e)
		}
	}
}

func (w *window) alias(t int64, ev *evidence, a hashed) {
	if !w.distinct {
		return
	}
	for i := len(w.entries) - 1; i >= int(w.head); i-- {
		if e := &w.entries[i]; e.t == t && e.ev == ev && !e.aliased {
			e.aliased = true
			x := w.dc.more()
			x.aliases = append(x.aliases, alias{ev: ev, t: t, val: a})
			w.dc.credit(a, 1)
			return
		}
	}
}

// uncredit takes back the credit of e's alias, e leaving the window.
func (w *window) uncredit(e *entry) {
	x := w.dc.x
	for i := range x.aliases {
		if a := &x.aliases[i]; a.ev == e.ev && a.t == e.t {
			val := a.val
			last := len(x.aliases) - 1
			x.aliases[i] = x.aliases[last]
			x.aliases[last] = alias{}
			x.aliases = x.aliases[:last]
			w.dc.credit(val, -1)
			return
		}
	}
}

func (w *window) typoOf(u string, p *typoProbe) string {
	if !w.distinct {
		return ""
	}
	return w.dc.typoOf(u, p)
}

// add inserts e in time order, dropping the oldest entry when the window
// holds max entries: e itself if it is older than every entry (false, 1).
// It reports false, 0 when e is older than the window.
func (w *window) add(e entry, v hashed, length int64, max int) (ok bool, dropped int) {
	if e.t > w.end {
		w.end = e.t
	}
	if e.t <= minus(w.end, length) {
		return false, 0
	}
	if w.len() >= max {
		if w.len() > 0 && e.t < w.entries[w.head].t {
			return false, 1
		}
		w.removeHead()
		dropped = 1
	}
	if w.head > 0 && int(w.head) >= len(w.entries)/2 && w.head >= 64 {
		n := copy(w.entries, w.entries[w.head:])
		clear(w.entries[n:])
		w.entries = w.entries[:n]
		w.head = 0
	}
	w.count(&e, v, 1) // sets e.slot
	i := len(w.entries)
	w.entries = append(w.entries, e)
	for i > int(w.head) && w.entries[i-1].t > e.t {
		w.entries[i] = w.entries[i-1]
		i--
	}
	w.entries[i] = e
	return true, dropped
}

func (w *window) removeHead() entry {
	e := w.entries[w.head]
	w.entries[w.head] = entry{}
	w.head++
	w.count(&e, hashed{}, -1)
	if int(w.head) == len(w.entries) {
		w.entries = w.entries[:0]
		w.head = 0
	}
	return e
}

// expire drops the oldest event if it fell out of the window by now,
// returning the time it left, and moves the window's end to that time
// (once nothing more left by now: to now), so that the window is seen as
// it was when each event left. Call it until ok is false.
func (w *window) expire(now, length int64) (left int64, ok bool) {
	if w.len() == 0 || w.entries[w.head].t > minus(max(now, w.end), length) {
		w.end = max(now, w.end)
		return 0, false
	}
	e := w.removeHead()
	// e.t+length <= max(now, end): no overflow.
	left = e.t + length
	w.end = max(w.end, left)
	return left, true
}

// each calls fn for the events in the window, oldest first.
func (w *window) each(fn func(*entry)) {
	for i := int(w.head); i < len(w.entries); i++ {
		fn(&w.entries[i])
	}
}

func (w *window) failures(v hashed) int {
	if !w.distinct {
		return 0
	}
	c, _ := w.dc.getHashed(v)
	return int(c.f)
}

func (w *window) perValue(fn func(string, valCount)) bool {
	if !w.distinct {
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
	dc   distinctCounts
	seed maphash.Seed // of the values' hashes
	seen []int64      // by the value's slot in dc: when it was last seen
	// One item per value held, in order of the time queued: queue from
	// head holds the items queued in time order, late (a min-heap by
	// time, then slot) those queued before the last of queue's (a value
	// seen again, queued again at the time last seen; a late event).
	queue  []queued
	head   int
	late   []queued
	end    int64
	events int
	fails  int
	succs  int
	recent []recentEntry // ring of recentEvidence events, grown as they come
	nrec   int           // events ever put in recent
}

// recentEntry is an event of a value set's evidence with its value, which
// may have left the set since.
type recentEntry struct {
	t       int64
	ev      *evidence
	val     string
	outcome uint8
}

// recentEvidence is how many recent events a value set keeps for samples.
const recentEvidence = 32

// queued is a value of the set by its slot, held until the item leaves
// the queue: a value is forgotten only when its one item is taken out.
// An item's time is when the value was queued; a value seen again since
// is queued again, at the time last seen, when its item comes out.
type queued struct {
	t    int64
	slot int32
}

// before orders the queue: by time, then slot, so that values that left
// at the same time leave in the same order every run.
func (q queued) before(o queued) bool {
	return q.t < o.t || q.t == o.t && q.slot < o.slot
}

// newValueSet returns an empty set of values hashed with seed.
func newValueSet(seed maphash.Seed) *valueSet {
	return &valueSet{end: math.MinInt64, seed: seed}
}

func (s *valueSet) reset(max int) bool {
	if cap(s.seen) > max || cap(s.queue) > max || cap(s.late) > max || !s.dc.reset(max) {
		return false
	}
	// Queue items and recent entries beyond the length are zero already.
	clear(s.queue)
	clear(s.late)
	clear(s.recent)
	s.seen, s.queue, s.head, s.late, s.end = s.seen[:0], s.queue[:0], 0, s.late[:0], math.MinInt64
	s.events, s.fails, s.succs, s.recent, s.nrec = 0, 0, 0, s.recent[:0], 0
	return true
}

func (s *valueSet) endTime() int64 { return s.end }

func (s *valueSet) held() int { return s.dc.size() }

func (s *valueSet) value(m measure) int {
	switch m {
	case measureEvents:
		return s.events
	case measureUnresolved:
		return int(s.dc.unresolved)
	case measureSucceeded:
		return int(s.dc.succeeded)
	}
	return s.dc.size()
}

func (s *valueSet) counts() (int, int, int) { return s.events, s.fails, s.succs }

// add records e. max caps the distinct values: beyond it, the value
// queued longest ago is forgotten early (its events are not counted as
// dropped: the set keeps values, not events).
func (s *valueSet) add(e entry, v hashed, length int64, max int) (bool, int) {
	if e.t > s.end {
		s.end = e.t
	}
	if e.t <= minus(s.end, length) {
		return false, 0
	}
	i := s.dc.lookup(v)
	if i < 0 || s.dc.slots[i].n == 0 {
		if s.dc.size() >= max {
			s.evictOne()
		}
		if i < 0 {
			// Not held, nor held after an eviction: no second lookup.
			i = s.dc.insert(v)
			s.dc.adjust(v, i, e.outcome, 1)
		} else {
			// Idle (a value set keeps none): it comes back.
			i = s.dc.adjust(v, -1, e.outcome, 1)
		}
		s.push(i, e.t)
		for int(i) >= len(s.seen) {
			s.seen = append(s.seen, 0)
		}
		s.seen[i] = e.t
	} else {
		if e.t > s.seen[i] {
			s.seen[i] = e.t
		}
		s.dc.adjust(v, i, e.outcome, 1)
	}
	e.slot = i
	s.events++
	switch e.outcome {
	case outcomeFailure:
		s.fails++
	case outcomeSuccess:
		s.succs++
	}
	r := recentEntry{t: e.t, ev: e.ev, val: v.s, outcome: e.outcome}
	if len(s.recent) < recentEvidence {
		s.recent = append(s.recent, r)
	} else {
		s.recent[s.nrec%recentEvidence] = r
	}
	s.nrec++
	return true, 0
}

// push queues the value of slot at t: at the end of queue if no item
// there is later, else in late.
func (s *valueSet) push(slot int32, t int64) {
	q := queued{t, slot}
	if n := len(s.queue); n > s.head && t < s.queue[n-1].t {
		s.pushLate(q)
		return
	}
	if s.head > 0 && s.head >= len(s.queue)/2 && s.head >= 64 {
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue = s.queue[:n]
		s.head = 0
	}
	s.queue = append(s.queue, q)
}

func (s *valueSet) pushLate(q queued) {
	s.late = append(s.late, q)
	i := len(s.late) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.before(s.late[p]) {
			break
		}
		s.late[i] = s.late[p]
		i = p
	}
	s.late[i] = q
}

// queued reports whether any item is queued.
func (s *valueSet) queued() bool { return s.head < len(s.queue) || len(s.late) > 0 }

// lateFirst reports whether the first item queued is in late.
func (s *valueSet) lateFirst() bool {
	return len(s.late) > 0 && (s.head == len(s.queue) || s.late[0].before(s.queue[s.head]))
}

// next returns the first item queued, which queued must have reported.
func (s *valueSet) next() queued {
	if s.lateFirst() {
		return s.late[0]
	}
	return s.queue[s.head]
}

// pop takes the first item out of the queue.
func (s *valueSet) pop() queued {
	if s.lateFirst() {
		return s.popLate()
	}
	q := s.queue[s.head]
	s.queue[s.head] = queued{}
	s.head++
	if s.head == len(s.queue) {
		s.queue = s.queue[:0]
		s.head = 0
	}
	return q
}

func (s *valueSet) popLate() queued {
	top := s.late[0]
	n := len(s.late) - 1
	q := s.late[n]
	s.late[n] = queued{}
	s.late = s.late[:n]
	if n == 0 {
		return top
	}
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && s.late[c+1].before(s.late[c]) {
			c++
		}
		if !s.late[c].before(q) {
			break
		}
		s.late[i] = s.late[c]
		i = c
	}
	s.late[i] = q
	return top
}

// forget removes the value of slot i and its counts.
func (s *valueSet) forget(i int32) {
	c := s.dc.forgetSlot(i)
	s.events -= int(c.n)
	s.fails -= int(c.f)
	s.succs -= int(c.s)
}

// evictOne forgets the value queued longest ago (see docs/rules.md, Long
// windows), whatever the values seen again since.
func (s *valueSet) evictOne() {
	if s.queued() {
		s.forget(s.pop().slot)
	}
}

// expire drops the value that left first if it was not seen for length
// by now, returning when it left, and moves the set's end to that time
// (once nothing more left by now: to now), as window.expire does. Values
// leave in the order they were last seen.
func (s *valueSet) expire(now, length int64) (int64, bool) {
	cut := minus(max(now, s.end), length)
	for s.queued() && s.next().t <= cut {
		q := s.pop()
		i := q.slot
		last := s.seen[i]
		if last > q.t {
			s.push(i, last) // seen again since: queued again as then
			continue
		}
		s.forget(i)
		left := last + length
		s.end = max(s.end, left)
		return left, true
	}
	s.end = max(now, s.end)
	return 0, false
}

func (s *valueSet) each(fn func(*entry)) {
	n := min(s.nrec, recentEvidence)
	for i := s.nrec - n; i < s.nrec; i++ {
		r := &s.recent[i%recentEvidence]
		if s.dc.find(hashString(s.seed, r.val)) >= 0 {
			fn(&entry{t: r.t, ev: r.ev, outcome: r.outcome})
		}
	}
}

func (s *valueSet) alias(_ int64, _ *evidence, a hashed) { s.dc.credit(a, 1) }

func (s *valueSet) typoOf(u string, p *typoProbe) string { return s.dc.typoOf(u, p) }

func (s *valueSet) failures(v hashed) int {
	c, _ := s.dc.getHashed(v)
	return int(c.f)
}

func (s *valueSet) perValue(fn func(string, valCount)) bool {
	s.dc.each(fn)
	return true
}

// first returns the oldest queued time: when the longest-kept value was
// last seen (or first, if it was not seen again since it was queued).
func (s *valueSet) first() int64 {
	if !s.queued() {
		return 0
	}
	return s.next().t
}

func (s *valueSet) last() int64 {
	if s.nrec == 0 {
		return 0
	}
	return s.recent[(s.nrec-1)%recentEvidence].t
}
