package detect

import (
	"context"
	"hash/maphash"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// LanesAuto, as Config.Lanes, evaluates the rules on as many lanes as
// GOMAXPROCS, at most one per rule.
const LanesAuto = -1

// lanesFor returns how many lanes evaluate n rules when Config.Lanes is
// asked.
func lanesFor(asked, n int) int {
	if asked == LanesAuto {
		asked = runtime.GOMAXPROCS(0)
	}
	return max(1, min(asked, n))
}

// The operations handed to the lanes go in batches of batchOps; at most
// maxBatches are in flight (filled, evaluated or waiting for their alerts
// to be sent). They are made once and reused.
const (
	batchOps   = 256
	maxBatches = 4
)

// evState is what the rules compute lazily for one event and then only
// read: the owned copies of the kept fields with their hashes and the
// evidence made of them, and the certificate identity. The first rule
// that needs them makes them; on several lanes, the first lane.
type evState struct {
	// The flags say what is made. They, and what reset clears besides,
	// come first: the caller's goroutine writes a few cache lines of a
	// slot the lanes last wrote, not one here and there.
	keptDone doneFlag
	// ident is the certificate identity, made once identDone is set
	// (under mu on several lanes), then only read.
	identDone doneFlag
	// probe holds the variants of the first value a lane asked for
	// (made under mu, then only read, once probeDone is set).
	probeDone doneFlag
	// identOwned says the event's identity is a string of its own (see
	// Engine.evaluateJoined): a group keyed by it alone keeps it.
	identOwned bool
	mu         sync.Mutex
	ident      certIdentity
	// keys are the group keys new groups were made with for the event
	// (under mu): rules on other lanes grouping by the same fields share
	// them.
	keys []string
	// room is what is left of the bytes the kept copies' allocation
	// keeps, for an event that makes a new group, for the group keys of
	// several values its new groups in other rules take (see
	// Engine.keyRoom and lane.newGroupKey); written under mu on several
	// lanes.
	room   []byte
	keptEv *evidence // its bytes hold the copies, in keepFields order
	kept   [event.NumFields]string
	hashes [event.NumFields]uint64
	probe  typoProbe
}

// reset forgets the event. It must not race with the lanes: it runs
// before the event is handed to them.
func (s *evState) reset() {
	s.keptDone.clear()
	s.probeDone.clear()
	s.identDone.clear()
	s.ident, s.room = "", nil
	clear(s.keys)
	s.keys = s.keys[:0]
}

// doneFlag is one of evState's flags: set and read atomically by the
// lanes, cleared by evState.reset with a plain store, as no lane reads it
// then (handing the batch to the lanes orders the two). The caller's
// goroutine clears the flags of an operation slot the lanes last used,
// on another core: an atomic store there waits for the cache line (4% of
// the identity flood's CPU time in a profile); a plain store does not.
type doneFlag struct{ v uint32 }

func (f *doneFlag) isSet() bool { return atomic.LoadUint32(&f.v) != 0 }

func (f *doneFlag) set() { atomic.StoreUint32(&f.v, 1) }

// clear unsets the flag while no lane reads it.
func (f *doneFlag) clear() { f.v = 0 }

// lane evaluates a fixed subset of the rules, in rule order. Its scratch
// (key buffer, last key and hash, typo probe) is used by one rule at a
// time. With one lane, the engine runs it on the caller's goroutine.
type lane struct {
	eng   *Engine
	id    int
	rules []*ruleState
	cur   *evState // the event being evaluated
	// sameFilter is, by position in rules, the position of an earlier
	// rule with the same filter (-1: none); matched the results of the
	// current event's filters.
	sameFilter []int
	matched    []bool

	// The group key a rule just made: key itself (the event's or a
	// derived value, not a copy) when keyOne (one group_by value), else
	// keyBuf (the values joined).
	key    string
	keyOne bool
	// keyOwned says key is a string of its own, which a new group may
	// keep without a copy: a derived value, or a joined event's identity.
	keyOwned bool
	keyBuf   []byte
	// lastKey is the last group key a group was created with: rules of
	// the lane grouping by the same fields share it instead of each
	// keeping a copy.
	lastKey string
	// hashedKey (of several values) or hashedStr (of one) and keyH are
	// the last group key hashed and its hash: consecutive rules grouping
	// by the same fields hash it once.
	hashedKey []byte
	hashedStr string
	keyH      uint64
	// slotX and slot are the group index and slot where the last rule
	// of the lane that placed a group of the current event placed it
	// (nil: none yet): a rule sharing the index sees the same key, and
	// takes the slot without looking the key up (see getGroup). The
	// slot stays the key's for the event: the rule's group there is
	// its most recently active, evicted by no other event's key.
	slotX *groupIndex
	slot  int32
	// probe holds the typing-slip variants of the current event's
	// username, made for the first rule that looks for a typo.
	probe typoProbe

	// counts are the engine's counters the lane's rules add to most
	// often, added to Stats (with the rules' pending counts to their
	// RuleStats) after each operation on one lane, after each batch on
	// several: the lanes do not write shared cache lines, or make
	// atomic additions, at every event.
	counts laneCounts

	// users and perUser are describe's scratch maps, ips its set of
	// addresses.
	users   map[string]struct{}
	ips     strSet
	perUser map[string]int
	seen    []bool // by slot

	// On several lanes: the batches to evaluate, the current one's
	// operation and where its alerts go.
	in  chan *batch
	op  int32
	out *[]laneAlert
}

// evaluate runs the lane's rules on ev, whose shared state is st.
func (l *lane) evaluate(ev *event.Event, st *evState) {
	l.cur = st
	l.slotX = nil
	l.probe.reset()
	if l.out != nil {
		l.probe.share = st
	}
	for i, rs := range l.rules {
		ok := false
		if j := l.sameFilter[i]; j >= 0 {
			ok = l.matched[j]
		} else {
			ok = rs.rule.Filter.Match(ev)
		}
		l.matched[i] = ok
		if ok {
			rs.add(ev)
		}
	}
}

// shareFilters notes, for each of the lane's rules, an earlier one of the
// lane with the same match block, whose result it takes: rule packs
// repeat a few filters (the default pack's five identity rules match the
// same events).
func (l *lane) shareFilters() {
	l.sameFilter = make([]int, len(l.rules))
	l.matched = make([]bool, len(l.rules))
	for _, set := range l.equalSets(func(a, b *rules.Rule) bool { return a.Filter.Equal(&b.Filter) }) {
		l.sameFilter[set[0]] = -1
		for _, i := range set[1:] {
			l.sameFilter[i] = set[0]
		}
	}
}

// shareGroupIndexes makes the lane's rules with the same match block and
// group_by fields find their groups in one index: they see the same keys
// (the default pack's four rules grouping by identity alone, on one lane
// however many there are up to six: see assignLanes). Each keeps its own
// groups and evicts them as it would alone.
func (l *lane) shareGroupIndexes() {
	for _, set := range l.equalSets(sameKeys) {
		if len(set) < 2 {
			continue
		}
		x := newGroupIndex(len(set))
		for r, i := range set {
			l.rules[i].groups.share(x, r)
		}
	}
}

// equalSets is equalSets of the lane's rules, by their place in the lane.
func (l *lane) equalSets(eq func(a, b *rules.Rule) bool) [][]int {
	rs := make([]*rules.Rule, len(l.rules))
	for i, o := range l.rules {
		rs[i] = o.rule
	}
	return equalSets(rs, eq)
}

// equalSets splits rs into sets of rules equal by eq, as indexes into rs:
// each in rule order, the sets in the order of their first rules.
func equalSets(rs []*rules.Rule, eq func(a, b *rules.Rule) bool) [][]int {
	var sets [][]int
next:
	for i, r := range rs {
		for k, set := range sets {
			if eq(rs[set[0]], r) {
				sets[k] = append(set, i)
				continue next
			}
		}
		sets = append(sets, []int{i})
	}
	return sets
}

// assignLanes returns the lane of each rule on n lanes. Rules with the
// same match block and group_by fields (sameKeys) go to one lane while
// there are at least as many such sets as lanes: they then share one group
// index (see shareGroupIndexes) and the lane finds an event's key once for
// all of them (see lane.getGroup), so that a flood of new keys costs one
// probe, one insertion and one removal of the index per event however
// many rules group by them. The sets go, costliest first (in rule order on
// ties), each to the lane with the least cost so far (the first on ties):
// a set costs 2 for its first rule and 1 for each other, whose filter and
// lookup it shares. With fewer sets than lanes, the biggest sets give up
// their last rules to sets of their own until every lane has one. The
// assignment depends only on the rules, and the alerts not at all.
func assignLanes(rs []*rules.Rule, n int) []int {
	lane := make([]int, len(rs))
	if n <= 1 {
		return lane
	}
	sets := equalSets(rs, sameKeys)
	for len(sets) < n {
		b := 0
		for k, s := range sets {
			if len(s) > len(sets[b]) {
				b = k
			}
		}
		if len(sets[b]) < 2 {
			break // more lanes than rules: lanesFor does not ask for that
		}
		last := len(sets[b]) - 1
		sets = append(sets, []int{sets[b][last]})
		sets[b] = sets[b][:last]
	}
	cost := func(s []int) int { return len(s) + 1 }
	slices.SortStableFunc(sets, func(a, b []int) int { return cost(b) - cost(a) })
	load := make([]int, n)
	for _, s := range sets {
		best := 0
		for l := range load {
			if load[l] < load[best] {
				best = l
			}
		}
		load[best] += cost(s)
		for _, i := range s {
			lane[i] = best
		}
	}
	return lane
}

// sameKeys reports whether rules a and b make the same group keys of the
// same events.
func sameKeys(a, b *rules.Rule) bool {
	return slices.Equal(a.GroupBy, b.GroupBy) && a.Filter.Equal(&b.Filter)
}

// placed notes that a rule of the lane placed the current event's group
// in slot, in a group index shared by several rules (see getGroup).
func (l *lane) placed(rs *ruleState, slot int32) {
	if x := rs.groups.x; x.k > 1 {
		l.slotX, l.slot = x, slot
	}
}

// sweep sweeps the lane's rules.
func (l *lane) sweep(now int64) {
	l.slotX = nil
	for _, rs := range l.rules {
		rs.sweep(now)
	}
}

// send passes on an alert of rule i: at once with one lane, else with the
// batch, to be sent in order once every lane has evaluated it.
func (l *lane) send(i int, a *alert.Alert) {
	if l.out == nil {
		l.eng.send(a)
		return
	}
	*l.out = append(*l.out, laneAlert{op: l.op, rule: int32(i), a: *a})
}

// run evaluates the batches it receives until in is closed.
// Its samples in a CPU profile carry the label detect.lane=<id>.
func (l *lane) run(wg *sync.WaitGroup) {
	defer wg.Done()
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("detect.lane", strconv.Itoa(l.id))))
	for b := range l.in {
		l.out = &b.out[l.id]
		for i := range b.n {
			o := &b.ops[i]
			l.op = int32(i)
			if o.sweep {
				l.sweep(o.now)
			} else {
				l.evaluate(&o.ev, &o.st)
			}
		}
		l.out = nil
		l.flush()
		if b.left.Add(-1) == 0 {
			b.done <- struct{}{}
		}
	}
}

// laneCounts are a lane's additions to Stats not yet made.
type laneCounts struct {
	evicted, dropped, late int64
}

// flush adds the lane's counts to the engine's Stats and its rules'
// RuleStats.
func (l *lane) flush() {
	for _, rs := range l.rules {
		p := &rs.pending
		if p.matched != 0 {
			rs.stats.Matched.Add(p.matched)
			p.matched = 0
		}
		if p.groups != 0 {
			rs.stats.Groups.Add(p.groups)
			p.groups = 0
		}
	}
	c := &l.counts
	if *c == (laneCounts{}) {
		return
	}
	st := &l.eng.stats
	if c.evicted != 0 {
		st.GroupsEvicted.Add(c.evicted)
	}
	if c.dropped != 0 {
		st.EventsDropped.Add(c.dropped)
	}
	if c.late != 0 {
		st.Late.Add(c.late)
	}
	*c = laneCounts{}
}

// maxScratch is the size beyond which describe's scratch maps are
// dropped rather than kept for the next alert.
const maxScratch = 1024

// describeMaps returns the lane's empty scratch maps for describe, and
// its empty set of addresses.
func (l *lane) describeMaps() (users map[string]struct{}, ips *strSet, perUser map[string]int) {
	if l.users == nil {
		l.users, l.perUser = make(map[string]struct{}), make(map[string]int)
	}
	l.ips.seed = l.eng.seed
	return l.users, &l.ips, l.perUser
}

// slotScratch returns the lane's scratch flags for n slots, all false;
// the caller clears them after use.
func (l *lane) slotScratch(n int) []bool {
	if cap(l.seen) < n {
		l.seen = make([]bool, n)
	}
	return l.seen[:n]
}

// doneDescribing empties describe's scratch maps, dropping large ones.
func (l *lane) doneDescribing() {
	l.ips.reset(maxScratch)
	if len(l.users) > maxScratch || len(l.perUser) > maxScratch {
		l.users, l.perUser = nil, nil
		return
	}
	clear(l.users)
	clear(l.perUser)
}

// keep returns the owned copies of ev's kept fields, made on the first
// call for an event: one allocation per event however many rules, on
// however many lanes, keep it. withIdent asks for the certificate
// identity too (see identity), which is then made in the same allocation.
func (l *lane) keep(ev *event.Event, withIdent bool) *[event.NumFields]string {
	s := l.cur
	if !s.keptDone.isSet() {
		l.eng.fillKept(s, ev, l.out != nil, withIdent)
	}
	return &s.kept
}

// hashes returns the kept distinct fields' hashes; keep must have been
// called for the event.
func (l *lane) hashes() *[event.NumFields]uint64 { return &l.cur.hashes }

// evidence returns the current event's evidence; keep must have been
// called for the event.
func (l *lane) evidence() *evidence { return l.cur.keptEv }

// variants returns the shared variants of u, made by the first lane that
// asks for any value; ok is false if they are another value's.
func (s *evState) variants(u string, seed maphash.Seed) (vars []variant, buf []byte, ok bool) {
	if !s.probeDone.isSet() {
		s.mu.Lock()
		if !s.probeDone.isSet() {
			if s.probe.buf == nil {
				// Room for the variants of a 16-byte value: a slot's
				// probe grows once, not step by step.
				s.probe.buf, s.probe.vars = make([]byte, 0, 3*16*17), make([]variant, 0, 3*16)
			}
			s.probe.seed = seed
			s.probe.reset()
			s.probe.variants(u)
			s.probeDone.set()
		}
		s.mu.Unlock()
	}
	if s.probe.u != u {
		return nil, nil, false
	}
	return s.probe.vars, s.probe.buf, true
}

// identity returns the current event's certificate identity, made once
// per event however many rules, on however many lanes, ask for it.
func (l *lane) identity(ev *event.Event) certIdentity {
	s := l.cur
	if s.identDone.isSet() {
		return s.ident
	}
	if l.out != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.identDone.isSet() {
			return s.ident
		}
	}
	s.ident = makeCertIdentity(ev)
	s.identDone.set()
	return s.ident
}

// newGroupKey is groupKey for a new group of ev: a key of several values
// that is not the lane's last one is copied into the room the event's
// kept copies keep, if it fits, instead of a string of its own.
func (l *lane) newGroupKey(ev *event.Event) string {
	if l.keyOne || string(l.keyBuf) == l.lastKey || len(l.keyBuf) == 0 {
		return l.groupKey()
	}
	s := l.cur
	l.keep(ev, hasIdentity(ev)) // what the new group asks next
	if l.out != nil {
		s.mu.Lock()
	}
	var k string
	if len(s.room) >= len(l.keyBuf) {
		n := copy(s.room, l.keyBuf)
		k = unsafe.String(unsafe.SliceData(s.room), n)
		s.room = s.room[n:]
	}
	if l.out != nil {
		s.mu.Unlock()
	}
	if k == "" {
		return l.groupKey()
	}
	return l.shareKey(k, true)
}

// groupKey returns an owned copy of the group key a rule just made, for
// a new group: the lane's last one if equal, else, on several lanes, one
// another lane made for the event, so that rules grouping by the same
// fields share one copy.
func (l *lane) groupKey() string {
	if l.keyOne {
		if l.keyOwned {
			return l.key
		}
		if l.key == l.lastKey {
			return l.lastKey
		}
		return l.shareKey(l.key, false)
	}
	if string(l.keyBuf) == l.lastKey {
		return l.lastKey
	}
	return l.shareKey(string(l.keyBuf), true)
}

// shareKey returns k, or an equal key another lane made for the event,
// as the lane's last key; owned says k is a copy of its own already.
func (l *lane) shareKey(k string, owned bool) string {
	if l.out != nil {
		s := l.cur
		s.mu.Lock()
		ok := false
		for _, x := range s.keys {
			if x == k {
				k, ok, owned = x, true, true
				break
			}
		}
		if !ok {
			if !owned {
				k, owned = strings.Clone(k), true
			}
			s.keys = append(s.keys, k)
		}
		s.mu.Unlock()
	}
	if !owned {
		k = strings.Clone(k)
	}
	l.lastKey = k
	return k
}

// keyHash returns the hash of the group key a rule just made.
func (l *lane) keyHash() uint64 {
	if l.keyOne {
		// Rules grouping by the same field pass the same string: the
		// comparison ends at its address.
		if l.key != l.hashedStr || l.hashedStr == "" {
			l.hashedStr, l.hashedKey = l.key, l.hashedKey[:0]
			l.keyH = maphash.String(l.eng.seed, l.key)
		}
		return l.keyH
	}
	if !bytesEqual(l.keyBuf, l.hashedKey) || len(l.hashedKey) == 0 {
		l.hashedKey, l.hashedStr = append(l.hashedKey[:0], l.keyBuf...), ""
		l.keyH = maphash.Bytes(l.eng.seed, l.keyBuf)
	}
	return l.keyH
}

// getGroup returns rs's group of the key just made, whose hash is h (the
// index's single marker for a single entry), or nil, and the key's slot
// in rs's group index (see groupSet.get).
func (l *lane) getGroup(rs *ruleState, h uint64) (*group, int32) {
	if rs.groups.x == l.slotX {
		return rs.groups.at(l.slot)
	}
	if l.keyOne {
		return rs.groups.get(l.key, h)
	}
	return rs.groups.getBytes(l.keyBuf, h)
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// fillKept makes s's copies of ev's kept fields, their hashes and the
// evidence, and with withIdent (a new group asks) the certificate identity
// and room for the keys of several values (see Engine.keyRoom), all in
// one allocation, unless another lane just did. shared says other lanes
// may ask at the same time.
func (e *Engine) fillKept(s *evState, ev *event.Event, shared, withIdent bool) {
	if shared {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.keptDone.isSet() {
			return
		}
	}
	n, m := 0, 0
	for _, f := range e.keepFields {
		n += len(ev.Values[f])
	}
	room := 0
	if withIdent {
		for _, fs := range e.keyRoom {
			room += len(fs) - 1
			for _, f := range fs {
				room += len(ev.Values[f])
			}
		}
	}
	withIdent = withIdent && !s.identDone.isSet()
	if withIdent {
		m = certIdentitySize(ev)
	}
	kev, buf := newEvidenceBuf(n + m + room)
	off := 0
	for _, f := range e.keepFields {
		off += copy(buf[off:], ev.Values[f])
	}
	if withIdent {
		appendCertIdentity(buf[:n], ev)
	}
	// buf is not written again but for the room: it can be the
	// strings' bytes.
	all := unsafe.String(unsafe.SliceData(buf), n+m)
	off = 0
	for _, f := range e.keepFields {
		l := len(ev.Values[f])
		s.kept[f] = all[off : off+l]
		off += l
	}
	for _, f := range e.hashFields {
		s.hashes[f] = maphash.String(e.seed, s.kept[f])
	}
	// keepFields puts the username, request id and address first.
	nu, nr, ni := len(s.kept[event.UserName]), len(s.kept[event.RequestID]), len(s.kept[event.SourceIP])
	*kev = evidence{s: all[:nu+nr+ni], nuser: uint32(nu), nid: uint32(nr)}
	s.keptEv = kev
	if withIdent {
		s.ident = certIdentity(all[n : n+m])
		s.identDone.set()
	}
	s.room = buf[n+m:]
	s.keptDone.set()
}

// op is one operation the lanes evaluate: an authentication event, or a
// sweep at event time now.
type op struct {
	sweep bool
	now   int64
	ev    event.Event
	st    evState
}

// batch is a run of operations every lane evaluates, and the alerts each
// lane's rules wrote.
type batch struct {
	ops  [batchOps]op
	n    int
	out  [][]laneAlert // by lane
	left atomic.Int32  // lanes still evaluating it
	done chan struct{} // receives once every lane is done
	// evaluated is set once done was received.
	evaluated bool
}

// laneAlert is an alert written by rule (by index) on operation op of a
// batch.
type laneAlert struct {
	op, rule int32
	a        alert.Alert
}

// lanes runs several lanes, each on its own goroutine, and sends their
// alerts in the order one lane would have: by operation, then by rule,
// then as each rule wrote them.
type lanes struct {
	ls       []*lane
	cur      *batch   // being filled
	inflight []*batch // handed to the lanes, oldest first
	free     []*batch
	made     int
	running  bool
	wg       sync.WaitGroup
}

// next returns the next operation slot, handing the batch to the lanes
// when it is full.
func (e *Engine) next() *op {
	p := e.par
	if p.cur == nil {
		p.cur = e.takeBatch()
	}
	o := &p.cur.ops[p.cur.n]
	return o
}

// push counts the slot next returned as filled, hands the batch to the
// lanes when it is full and sends the alerts of the batches they are done
// with.
func (e *Engine) push() {
	p := e.par
	p.cur.n++
	if p.cur.n == batchOps {
		e.hand()
		for e.collect(false) {
		}
	}
}

// dispatch hands ev to the lanes; OnEvent sees it once the alerts its
// rules wrote are sent.
func (e *Engine) dispatch(ev *event.Event, identOwned bool) {
	o := e.next()
	o.sweep, o.now = false, 0
	o.ev = *ev
	o.st.reset()
	o.st.identOwned = identOwned
	e.push()
}

// dispatchSweep hands a sweep at now to the lanes.
func (e *Engine) dispatchSweep(now int64) {
	o := e.next()
	o.sweep, o.now = true, now
	e.push()
}

// takeBatch returns an empty batch: a free one, a new one while fewer
// than maxBatches exist, or the oldest in flight once its alerts are sent.
func (e *Engine) takeBatch() *batch {
	p := e.par
	if !p.running {
		p.running = true
		for _, l := range p.ls {
			l.in = make(chan *batch, maxBatches)
			p.wg.Add(1)
			go l.run(&p.wg)
		}
	}
	for len(p.free) == 0 {
		if p.made < maxBatches {
			p.made++
			return &batch{out: make([][]laneAlert, len(p.ls)), done: make(chan struct{}, 1)}
		}
		e.collect(true)
	}
	b := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return b
}

// hand hands the current batch to every lane. It never blocks: at most
// maxBatches exist, and each lane's channel holds as many.
func (e *Engine) hand() {
	p := e.par
	b := p.cur
	p.cur = nil
	b.left.Store(int32(len(p.ls)))
	b.evaluated = false
	p.inflight = append(p.inflight, b)
	for _, l := range p.ls {
		l.in <- b
	}
}

// wait waits until every lane has evaluated b.
func (b *batch) wait() {
	if !b.evaluated {
		<-b.done
		b.evaluated = true
	}
}

// collect sends the alerts of the oldest batch in flight and frees it,
// waiting for the lanes if wait is set. It reports whether it did.
func (e *Engine) collect(wait bool) bool {
	p := e.par
	if len(p.inflight) == 0 {
		return false
	}
	b := p.inflight[0]
	if wait {
		b.wait()
	} else if !b.evaluated {
		select {
		case <-b.done:
			b.evaluated = true
		default:
			return false
		}
	}
	copy(p.inflight, p.inflight[1:])
	p.inflight[len(p.inflight)-1] = nil
	p.inflight = p.inflight[:len(p.inflight)-1]
	e.sendBatch(b)
	b.n = 0
	p.free = append(p.free, b)
	return true
}

// sendBatch sends b's alerts by operation, then rule, then as written,
// and shows OnEvent each event after its alerts: the order of one lane.
func (e *Engine) sendBatch(b *batch) {
	var at [8]int
	pos := at[:0]
	if len(b.out) > len(at) {
		pos = make([]int, 0, len(b.out))
	}
	pos = pos[:len(b.out)]
	for i := range b.n {
		op := int32(i)
		for {
			best, rule := -1, int32(0)
			for l, out := range b.out {
				if pos[l] < len(out) && out[pos[l]].op == op && (best < 0 || out[pos[l]].rule < rule) {
					best, rule = l, out[pos[l]].rule
				}
			}
			if best < 0 {
				break
			}
			e.send(&b.out[best][pos[best]].a)
			pos[best]++
		}
		if o := &b.ops[i]; !o.sweep && e.onEvent != nil {
			e.onEvent(&o.ev)
		}
	}
	for i := range b.out {
		clear(b.out[i])
		b.out[i] = b.out[i][:0]
	}
}

// drain hands the lanes what is queued and waits until every alert is
// sent: the rules' state is then the caller's to read.
func (e *Engine) drain() {
	p := e.par
	if p == nil {
		return
	}
	if p.cur != nil && p.cur.n > 0 {
		e.hand()
	}
	for e.collect(true) {
	}
}

// quiesce hands the lanes what is queued and waits until they have
// evaluated it, without sending anything: the rules' state is then the
// caller's to read, even from OnEvent or a sink.
func (e *Engine) quiesce() {
	p := e.par
	if p == nil {
		return
	}
	if p.cur != nil && p.cur.n > 0 {
		e.hand()
	}
	for _, b := range p.inflight {
		b.wait()
	}
}

// stopLanes drains the lanes and ends their goroutines; the next
// operation starts them again.
func (e *Engine) stopLanes() {
	p := e.par
	if p == nil || !p.running {
		return
	}
	e.drain()
	for _, l := range p.ls {
		close(l.in)
	}
	p.wg.Wait()
	p.running = false
}
