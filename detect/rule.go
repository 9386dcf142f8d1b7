package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// Caps on the evidence an alert carries.
const (
	sampleUsers = 10
	sampleIDs   = 10
	sampleIPs   = 20
)

// ruleState is one rule's groups and incidents.
type ruleState struct {
	rule   *rules.Rule
	eng    *Engine
	ln     *lane // the lane evaluating the rule
	idx    int   // in the engine's rules
	groups *groupSet
	// single says the rule holds keys it saw once as single entries of
	// its group index (see singleFor).
	single bool
	// hold is what a rebuild holds back of the rule's incidents (see
	// Engine.MissingBefore and Engine.Rebuilding); nil: nothing.
	hold  *hold
	open  map[string]*group
	stats *RuleStats
	// pending are additions to stats not yet made (see lane.flush).
	pending struct{ matched, groups int64 }
	// held is what the rule's stores hold together (see store.held);
	// beyond maxHeld, its share of Config.MaxEventsTotal, the least
	// recently active groups are evicted.
	held, maxHeld int
	// spare are groups that left the set, emptied, with their small
	// stores: under a flood of one-event groups a new group reuses one
	// instead of allocating. bigSpare are a few with bigger buffers.
	spare, bigSpare []*group

	// openKeys is sweep's scratch for the keys of open incidents.
	openKeys []string
	// gone are the marks of groups forgotten while idle whose cooldown
	// may still count for RebuildNeeds (see keepGone), by group key.
	gone      map[string][]rebuildMark
	goneOrder []string // gone's keys, in the order they came

	// caches of the last derived key values
	lastIP, lastSubnet               string
	lastPrefix                       netip.Prefix // lastSubnet's
	lastStatus, lastBytes, lastClass string
}

// group is one value of the rule's group_by fields.
type group struct {
	key   string
	st    store
	ident certIdentity
	hist  *history   // baseline rules
	more  *groupMore // made when first needed
	// cuts, for a key of two or three group_by values that fit, are
	// where the first pieces end in the key, plus one (0: no more
	// pieces): the values are slices of the key without a slice of
	// their own.
	cuts [inlineCuts]uint32
	slot int32  // in the rule's group index, which links the rule's groups in order of activity
	tag  uint32 // of the key's hash
}

// inlineCuts is how many piece ends a group keeps in itself: keys of up
// to inlineCuts+1 values need no groupMore.
const inlineCuts = 1

// groupMore is what few groups need: most groups of a flood of
// identities fire nothing and have one group_by value.
type groupMore struct {
	// inc is the firing incident, if any.
	inc *incident
	// vals are the group_by values when the key splits into more than
	// the group's cuts can tell; see group.cuts.
	vals []string
	// sequence rules: the success that followed the failures
	hitUser    string
	hitAt      int64
	hitVal     int
	quietUntil int64 // no new incident before this event time (cooldown)
	// starts are the first events of the group's recent incidents'
	// windows (see startedAt), oldest first; lastLetGo the latest of
	// those let go for room (math.MinInt64: none).
	starts     []int64
	lastLetGo  int64
	suppressed bool // a suppression was counted in this quiet period
	// resolved are the incidents resolved whose cooldown may still
	// count for RebuildNeeds, oldest first (see addMark).
	resolved []rebuildMark
}

// maxStarts bounds the incident starts a group keeps: incidents that
// begin at an event still in the window when they open, a few a window.
const maxStarts = 16

// startedAt reports whether an incident of the group began at start, of
// those that began after horizon (earlier ones cannot share a window with
// a new incident), and notes start.
func (m *groupMore) startedAt(start, horizon int64) bool {
	// A start as old as one let go for room (late events can take a
	// window's first event back) may be one of them.
	used := m.lastLetGo > horizon && start <= m.lastLetGo
	keep := m.starts[:0]
	for _, s := range m.starts {
		if s > horizon {
			keep = append(keep, s)
			used = used || s == start
		}
	}
	if !used {
		if len(keep) == maxStarts {
			m.lastLetGo = max(m.lastLetGo, keep[0])
			keep = append(keep[:0], keep[1:]...)
		}
		keep = append(keep, start)
	}
	m.starts = keep
	return used
}

// extra returns g's groupMore, making it.
func (g *group) extra() *groupMore {
	if g.more == nil {
		g.more = &groupMore{quietUntil: math.MinInt64, lastLetGo: math.MinInt64}
	}
	return g.more
}

// incident returns g's firing incident, or nil.
func (g *group) incident() *incident {
	if g.more == nil {
		return nil
	}
	return g.more.inc
}

// hitUser returns the account of g's last hit, or "".
func (g *group) hitUser() string {
	if g.more == nil {
		return ""
	}
	return g.more.hitUser
}

// quietUntil returns the end of g's cooldown: the earliest time when the
// group never resolved an incident.
func (g *group) quietUntil() int64 {
	if g.more == nil {
		return math.MinInt64
	}
	return g.more.quietUntil
}

// values returns the group_by values.
func (g *group) values() []string {
	if g.more != nil && g.more.vals != nil {
		return g.more.vals
	}
	n := 1
	for _, c := range g.cuts {
		if c != 0 {
			n++
		}
	}
	vs := make([]string, n)
	for i := range vs {
		vs[i] = g.value(i)
	}
	return vs
}

// value returns the i-th group_by value.
func (g *group) value(i int) string {
	if g.more != nil && g.more.vals != nil {
		return g.more.vals[i]
	}
	start := 0
	if i > 0 {
		start = int(g.cuts[i-1]) // the separator's offset plus one
	}
	if i < inlineCuts && g.cuts[i] != 0 {
		return g.key[start : g.cuts[i]-1]
	}
	return g.key[start:]
}

// notBelow is incident.below while the window is at the threshold.
const notBelow = math.MinInt64

// incident is a firing alert's state.
type incident struct {
	id      string
	seq     int
	start   int64 // first event in the window when it fired
	last    int64 // newest event seen while firing
	peak    float64
	next    float64 // value at which the next "updated" record is written
	account string  // sequence rules: the account last notified
	below   int64   // event time the window fell below the threshold; notBelow while above
	latest  alert.Alert
	from    int64 // event time a replay must start at to rebuild it (see rebuildFrom)
}

func (rs *ruleState) groupKey(ev *event.Event) bool {
	if gb := rs.rule.GroupBy; len(gb) == 1 {
		k := gb[0]
		rs.ln.key, rs.ln.keyOne = rs.keyValue(ev, k), true
		rs.ln.keyOwned = k.Derived != rules.NotDerived || k.Field == event.Identity && rs.ln.cur.identOwned
		return rs.ln.key != ""
	}
	rs.ln.keyOne = false
	b := rs.ln.keyBuf[:0]
	any := false
	for i, k := range rs.rule.GroupBy {
		if i > 0 {
			b = append(b, 0x1f)
		}
		v := rs.keyValue(ev, k)
		if v != "" {
			any = true
		}
		b = append(b, v...)
	}
	rs.ln.keyBuf = b
	return any
}

func (rs *ruleState) add(ev *event.Event) {
	r := rs.rule
	if r.IdentityMap != nil && !r.IdentityMap.Mismatch(ev) {
		return
	}
	if len(r.Suppress) > 0 && r.Suppressed(ev) {
		rs.stats.Suppressed.Add(1)
		return
	}
	if !rs.groupKey(ev) {
		return
	}
	var val string
	if r.HasDistinct {
		if val = rs.keyValue(ev, r.Distinct); val == "" {
			return
		}
	}
	rs.pending.matched++
	h := rs.ln.keyHash()
	g, slot := rs.ln.getGroup(rs, h)
	if g == rs.groups.x.single {
		g = rs.expand(slot)
	} else if g == nil {
		// The set full, its least recently active group goes first: the
		// new group reuses it, and its slot, while they are in the
		// processor's caches.
		rs.groups.makeRoom()
		if rs.single && rs.addSingle(ev, slot, h, val) {
			return
		}
		g = rs.group(rs.ln.newGroupKey(ev))
		// The values are the key's pieces: the group keeps no part of
		// the event.
		if len(r.GroupBy) > 1 {
			rs.splitKey(g, ev)
		}
		rs.groups.add(g, slot, h)
		rs.pending.groups++
	}
	rs.ln.placed(rs, g.slot)
	// A new group takes the event's identity: made with the kept
	// copies if they are still to be made.
	kept := rs.ln.keep(ev, g.ident == "" && hasIdentity(ev))
	var hv hashed
	if r.HasDistinct {
		if r.Distinct.Derived == rules.NotDerived {
			hv = hashed{kept[r.Distinct.Field], rs.ln.hashes()[r.Distinct.Field]}
		} else {
			hv = hashed{val, maphash.String(rs.eng.seed, val)}
		}
	}
	en := entry{t: ev.Time, ev: rs.ln.evidence(), outcome: outcomeOf(ev)}
	var alias string
	if en.outcome == outcomeSuccess && (r.Unresolved || r.Type == rules.TypeSequence) {
		// A person who mistyped their username and then logged in: the
		// mistyped name is resolved too.
		alias = g.st.typoOf(hv.s, &rs.ln.probe)
	}
	if g.hist != nil {
		rs.learn(g, ev.Time)
	}
	// An incident that resolved before this event, which a sweep has not
	// seen yet (sweeps lag by the join window), resolves first: a group's
	// events come in time order (a record of the group still waiting to
	// be joined, older, is the exception).
	rs.trim(g, ev.Time)
	rs.resolve(g, ev.Time)
	before := g.st.held()
	ok, dropped := g.st.add(en, hv, int64(r.Window), rs.eng.maxEv)
	if ok && alias != "" {
		g.st.alias(en.t, en.ev, hashString(rs.eng.seed, alias))
	}
	if rs.held += g.st.held() - before; rs.held > rs.maxHeld {
		rs.shed(g.slot)
	}
	if dropped > 0 {
		rs.ln.counts.dropped += int64(dropped)
	}
	if !ok {
		if dropped == 0 {
			rs.ln.counts.late++
		}
		return
	}
	if r.Type == rules.TypeSequence && en.outcome == outcomeSuccess && g.st.failures(hv) > 0 {
		// A success for a value that failed before, while enough other
		// values failed and stayed failed: the sprayed password worked.
		if v := g.st.value(measureUnresolved); v >= r.Threshold {
			m := g.extra()
			m.hitUser, m.hitAt, m.hitVal = en.user(), en.t, v
		}
	}
	if g.ident == "" && hasIdentity(ev) {
		g.ident = rs.ln.identity(ev)
	}
	rs.check(g, ev.Time)
}

// addSingle holds ev, the first event of a key the rule has no group of,
// as a single entry instead of a group (see groupIndex), and reports
// whether it did: not if the key's slot holds another event single, for
// other rules. slot and h are the key's in the rule's index (see
// groupSet.get), val the event's distinct value.
//
// A single entry stands for the group the rule would make of its event:
// a group of one event that cannot fire (see singleFor), whose store
// holds one event or value. It is counted and evicted as that group
// would be, and made that group when a second event of the key comes
// (see expand).
func (rs *ruleState) addSingle(ev *event.Event, slot int32, h uint64, val string) bool {
	x := rs.groups.x
	rs.ln.keep(ev, hasIdentity(ev))
	var f *firstEvent
	if slot >= 0 && x.first[slot].rules != 0 {
		if x.first[slot].ev != rs.ln.evidence() {
			return false
		}
		// Other rules of the index hold this event single: it is shared.
	} else {
		f = &firstEvent{key: rs.ln.newGroupKey(ev), ev: rs.ln.evidence(), t: ev.Time, outcome: outcomeOf(ev)}
		if len(rs.rule.GroupBy) > 1 {
			cuts, ok := rs.keyCuts(ev, len(f.key))
			if !ok {
				return false
			}
			f.cuts = cuts
		}
		if hasIdentity(ev) {
			f.ident = rs.ln.identity(ev)
		}
		if r := rs.rule; r.HasDistinct && !inEvidence(r.Distinct) {
			// An index of this rule alone (see singleFor): the value is
			// the rule's. An event's value is the kept copy.
			if f.val = val; r.Distinct.Derived == rules.NotDerived {
				f.val = rs.ln.cur.kept[r.Distinct.Field]
			}
		}
	}
	slot = rs.groups.addSingle(slot, h, f)
	rs.pending.groups++
	rs.ln.placed(rs, slot)
	// What a group's store of one event holds: the event, or its value.
	if rs.held++; rs.held > rs.maxHeld {
		rs.shed(slot)
	}
	return true
}

// expand replaces the rule's single entry of slot by the group the rule
// would have made of its event, and returns the group.
func (rs *ruleState) expand(slot int32) *group {
	x := rs.groups.x
	g := rs.ofFirst(rs.group(x.first[slot].key), slot)
	x.at(slot, rs.groups.r).g = g
	x.drop(slot, rs.groups.r)
	return g
}

// ofFirst makes g, a new empty group of the key of slot's single entry,
// the group the rule would have made of the entry's event, and returns
// it.
func (rs *ruleState) ofFirst(g *group, slot int32) *group {
	f := &rs.groups.x.first[slot]
	g.tag, g.slot, g.cuts = f.tag, slot, f.cuts
	rs.replayFirst(g, f)
	return g
}

// replayFirst gives g, a new empty group, the event f as its first event:
// what add does with the event that makes a group, when the group cannot
// fire on it (see singleFor).
func (rs *ruleState) replayFirst(g *group, f *firstEvent) {
	r := rs.rule
	var hv hashed
	if r.HasDistinct {
		v := f.val
		if inEvidence(r.Distinct) {
			v = f.evidenceValue(r.Distinct.Field)
		}
		hv = hashString(rs.eng.seed, v)
	}
	if g.hist != nil {
		rs.learn(g, f.t)
	}
	rs.trim(g, f.t)
	g.st.add(entry{t: f.t, ev: f.ev, outcome: f.outcome}, hv, int64(r.Window), rs.eng.maxEv)
	g.ident = f.ident
}

// evidenceValue returns the value of field f of the event, one of the
// evidence's.
func (f *firstEvent) evidenceValue(fl event.Field) string {
	e := entry{ev: f.ev}
	switch fl {
	case event.UserName:
		return e.user()
	case event.RequestID:
		return e.rid()
	}
	return e.ip()
}

// view returns a group of the rule's single entry of slot, made for the
// caller, not kept: what its group would be.
func (rs *ruleState) view(slot int32) *group {
	return rs.ofFirst(rs.newGroup(rs.groups.x.first[slot].key), slot)
}

// singleFor reports whether rule r, whose group index other rules share
// or not, may hold keys it saw once as single entries (see groupIndex)
// instead of groups: when a group of one event, whatever it is, cannot
// fire and keeps nothing of the event that a firstEvent does not. That is
// when r
//   - groups by at most two values (where they split in the key is kept
//     as a group keeps it, see group.cuts),
//   - counts no value, or one the evidence holds, or, with an index of
//     its own, any value (a firstEvent keeps one such value, and rules
//     sharing an index may count different ones),
//   - and its condition cannot hold on one event: at least two events,
//     attempts or values, a sequence (a failure, then a success), or a
//     baseline learned over at least one window.
func singleFor(r *rules.Rule, shared bool) bool {
	if len(r.GroupBy) > inlineCuts+1 || r.HasDistinct && shared && !inEvidence(r.Distinct) {
		return false
	}
	if r.MinEvents >= 2 {
		return true
	}
	switch r.Type {
	case rules.TypeRatio:
		return r.MinAttempts >= 2
	case rules.TypeSequence:
		return true
	case rules.TypeBaseline:
		return r.Baseline.Samples >= 1
	}
	return r.Threshold >= 2
}

// inEvidence reports whether the evidence of an event holds the value of
// key k.
func inEvidence(k rules.Key) bool {
	if k.Derived != rules.NotDerived {
		return false
	}
	switch k.Field {
	case event.UserName, event.RequestID, event.SourceIP:
		return true
	}
	return false
}

// outcomeOf returns ev's outcome as an entry keeps it.
func outcomeOf(ev *event.Event) uint8 {
	switch ev.Values[event.Outcome] {
	case event.OutcomeSuccess:
		return outcomeSuccess
	case event.OutcomeFailure:
		return outcomeFailure
	}
	return outcomeUnknown
}

// splitKey notes where g's key, made of several group_by values of ev,
// splits into them: in g itself when they are few and the key is not
// huge, else as the values in g's groupMore.
func (rs *ruleState) splitKey(g *group, ev *event.Event) {
	if cuts, ok := rs.keyCuts(ev, len(g.key)); ok {
		g.cuts = cuts
		return
	}
	m := g.extra()
	off := 0
	for i, k := range rs.rule.GroupBy {
		if i > 0 {
			off++
		}
		l := len(rs.keyValue(ev, k))
		m.vals = append(m.vals, g.key[off:off+l])
		off += l
	}
}

// keyCuts returns where a key of several group_by values of ev, n bytes
// long, splits into them, if a group can keep that in its cuts.
func (rs *ruleState) keyCuts(ev *event.Event, n int) (cuts [inlineCuts]uint32, ok bool) {
	gb := rs.rule.GroupBy
	if len(gb) > inlineCuts+1 || n >= math.MaxUint32-1 {
		return cuts, false
	}
	off := 0
	for i, k := range gb[:len(gb)-1] {
		off += len(rs.keyValue(ev, k))
		cuts[i] = uint32(off) + 1 // the separator's offset plus one
		off++
	}
	return cuts, true
}

// maxSpare is how many emptied groups a rule keeps for reuse, maxBigSpare
// how many of those with big buffers.
const (
	maxSpare    = 64
	maxBigSpare = 4
)

// group returns an empty group of key, reusing a spare one if any.
func (rs *ruleState) group(key string) *group {
	for _, sp := range [...]*[]*group{&rs.spare, &rs.bigSpare} {
		if n := len(*sp); n > 0 {
			g := (*sp)[n-1]
			(*sp)[n-1] = nil
			*sp = (*sp)[:n-1]
			g.key = key
			return g
		}
	}
	return rs.newGroup(key)
}

// recycle keeps g, which left the set, for reuse when its store is small
// enough to empty cheaply and keep: among the spares when its buffers are
// small, else among the few big spares if they are not too big (a new
// group of a rule grouping by something with few values, a subnet, often
// grows as big).
func (rs *ruleState) recycle(g *group) {
	sp := &rs.spare
	switch {
	case len(rs.spare) < maxSpare && g.st.reset(reuseCap):
	case len(rs.bigSpare) < maxBigSpare && g.st.reset(bigReuseCap):
		sp = &rs.bigSpare
	default:
		return
	}
	h := g.hist
	*g = group{st: g.st}
	if h != nil {
		// A baseline rule's groups all have a history: keep its storage.
		*h = history{next: notStarted}
		g.hist = h
	}
	*sp = append(*sp, g)
}

// shed evicts the rule's least recently active groups, other than the
// one of slot cur (the most recently active), until its stores hold no
// more than its share.
func (rs *ruleState) shed(cur int32) {
	for rs.held > rs.maxHeld {
		old := rs.groups.oldest()
		if old < 0 || old == cur {
			return
		}
		rs.groups.removeSlot(old, true) // onRemove subtracts what it held
	}
}

// trim drops the events that left g's window by now, in the order they
// left, noting when an open incident's window fell below the threshold
// or (a success leaving: a username unresolved again, a ratio up) rose
// back to it, and resolving the incident if it stayed below long enough
// before an event left.
func (rs *ruleState) trim(g *group, now int64) {
	for {
		left, ok := g.st.expire(now, int64(rs.rule.Window))
		if !ok {
			return
		}
		rs.held--
		inc := g.incident()
		if inc == nil {
			continue
		}
		if rs.resolve(g, left) {
			continue
		}
		if _, _, fire := rs.level(g); fire {
			inc.below = notBelow
		} else if inc.below == notBelow {
			inc.below = left
		}
	}
}

// check opens or updates the group's incident after an event at time t.
func (rs *ruleState) check(g *group, t int64) {
	r := rs.rule
	v, thr, fire := rs.level(g)
	if g.incident() == nil {
		if !fire || !rs.mayOpen(g, t) {
			return
		}
		if t < g.quietUntil() {
			if !g.more.suppressed {
				g.more.suppressed = true
				rs.eng.stats.Suppressed.Add(1)
			}
			return
		}
		start := g.st.first()
		from := rs.rebuildFrom(g, start)
		// The next update is at the first doubling of the threshold past
		// the value that fired (which may be past 2x already: min_events,
		// a baseline's learned threshold).
		next := 2 * thr
		for next > 0 && next <= v {
			next *= 2
		}
		id := incidentID(r.ID, g.key, start)
		m := g.extra()
		if m.startedAt(start, minus(t, 2*int64(r.Window))) {
			// An earlier incident of the group began at the same event:
			// it resolved while its events were still in the window (a
			// success took the figure down). The new one is told apart
			// by when it fired.
			id = incidentID(r.ID, g.key, start, t)
		}
		m.inc = &incident{id: id, start: start, next: next, account: g.hitUser(), below: notBelow, last: math.MinInt64, from: from}
		if g.more != nil {
			g.more.suppressed = false
		}
		if rs.open == nil {
			rs.open = make(map[string]*group)
		}
		rs.open[g.key] = g
		rs.eng.stats.Open.Add(1)
		rs.notify(g, alert.StatusFiring, 0)
		return
	}
	inc := g.incident()
	if fire {
		inc.below = notBelow
	} else if inc.below == notBelow {
		// The event took the figure below the threshold (a success
		// resolving usernames, lowering a ratio, or one success too
		// many): the resolve delay counts from it.
		inc.below = t
	}
	if t > inc.last {
		inc.last = t
	}
	if v > inc.peak {
		inc.peak = v
	}
	switch r.Type {
	case rules.TypeRatio:
		return // a share cannot double
	case rules.TypeSequence:
		if fire && g.hitUser() != inc.account {
			inc.account = g.hitUser()
			rs.notify(g, alert.StatusUpdated, 0)
		}
		return
	}
	if fire && v >= inc.next && inc.next > 0 {
		for inc.next <= v {
			inc.next *= 2
		}
		rs.notify(g, alert.StatusUpdated, 0)
	}
}

// sweep advances the windows of groups with open incidents to now, resolves
// those that stayed below the threshold long enough, and forgets groups
// with nothing left in their window.
func (rs *ruleState) sweep(now int64) {
	r := rs.rule
	length := int64(r.Window)
	if len(rs.open) > 0 {
		keys := rs.openKeys[:0]
		for k := range rs.open {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		defer func() {
			clear(keys)
			rs.openKeys = keys[:0]
		}()
		for _, k := range keys {
			g := rs.open[k]
			if g.hist != nil {
				rs.learn(g, now) // the boundaries passed, in order
			}
			rs.trim(g, now)
			rs.resolve(g, now)
		}
	}
	if r.Type == rules.TypeBaseline {
		// A baseline group's history outlives its idle windows (they
		// count as zero): its groups go only under the caps, the least
		// recently active first.
		return
	}
	// Idle groups: the least recently active come first.
	for {
		sl := rs.groups.oldest()
		if sl < 0 {
			return
		}
		g := rs.groups.group(sl)
		if g == rs.groups.x.single {
			// A group of one event that cannot fire: idle once the
			// event left the window.
			if rs.groups.x.first[sl].t > minus(now, length) {
				return
			}
			rs.groups.removeSlot(sl, false) // idle: forgotten, not evicted
			continue
		}
		if g.incident() != nil {
			if len(rs.open) >= rs.groups.Len() {
				return
			}
			rs.groups.touch(g) // keep firing groups; look further
			continue
		}
		if g.st.endTime() > minus(now, length) || g.quietUntil() > now {
			return
		}
		if g.more != nil && len(g.more.resolved) > 0 {
			rs.keepGone(g.key, g.more.resolved, now)
		}
		rs.groups.removeSlot(g.slot, false)
	}
}

// incidentID returns the id of rule's incident of the group key whose
// window's first event was at start; fired, when given, is when an
// incident fired that began at the same event as the group's last one.
// resolve resolves g's incident, and reports whether it did, if its
// figure stayed below the threshold for the rule's resolve_after by now.
func (rs *ruleState) resolve(g *group, now int64) bool {
	r := rs.rule
	inc := g.incident()
	// below+ResolveAfter can wrap near the latest representable time,
	// now-ResolveAfter near the earliest: minus saturates.
	if inc == nil || inc.below == notBelow || inc.below > minus(now, int64(r.ResolveAfter)) {
		return false
	}
	at := inc.below + int64(r.ResolveAfter)
	rs.notify(g, alert.StatusResolved, at)
	if g.hist != nil {
		g.hist.skipFiring(at, int64(r.Window))
	}
	delete(rs.open, g.key)
	g.more.inc = nil
	m := g.more
	m.quietUntil = at + int64(r.Cooldown)
	if m.quietUntil < at {
		m.quietUntil = math.MaxInt64 // the cooldown outlasts time
	}
	rs.addMark(m, rebuildMark{from: inc.from, until: m.quietUntil, id: inc.id}, now)
	rs.eng.stats.Open.Add(-1)
	return true
}

func incidentID(rule, key string, start int64, fired ...int64) string {
	h := sha256.New()
	h.Write([]byte(rule))
	h.Write([]byte{0})
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(start, 10)))
	for _, t := range fired {
		h.Write([]byte{0})
		h.Write([]byte(strconv.FormatInt(t, 10)))
	}
	return hex.EncodeToString(h.Sum(nil)[:10])
}

// notify writes one alert record for g's incident.
func (rs *ruleState) notify(g *group, status string, resolvedAt int64) {
	inc := g.incident()
	inc.seq++
	var a alert.Alert
	if status == alert.StatusResolved {
		a = inc.latest
		a.ResolvedAt = formatTime(resolvedAt)
	} else {
		a = rs.describe(g)
		if a.Observed > inc.peak {
			inc.peak = a.Observed
		}
		if l := g.st.last(); l > inc.last {
			inc.last = l
		}
	}
	a.Schema = alert.Schema
	a.IncidentID = inc.id
	a.Sequence = inc.seq
	a.ID = inc.id + "-" + strconv.Itoa(inc.seq)
	a.Status = status
	a.FirstSeen = formatTime(inc.start)
	a.LastSeen = formatTime(inc.last)
	a.Summary = alert.Summarize(&a)
	if status != alert.StatusResolved {
		inc.latest = a
	}
	rs.stats.Alerts.Add(1)
	rs.ln.send(rs.idx, &a)
}

// describe builds the alert body from the group's current window.
func (rs *ruleState) describe(g *group) alert.Alert {
	r := rs.rule
	obs, thr, _ := rs.level(g)
	events, fails, succs := g.st.counts()
	a := alert.Alert{
		Rule:        r.ID,
		Description: r.Description,
		Severity:    r.Severity,
		Group:       make(map[string]string, len(r.GroupBy)),
		Identity:    g.ident.identity(),
		Window:      formatDuration(r.Window),
		Threshold:   thr,
		Observed:    obs,
		Measure:     r.Measure(),
		Threat:      alert.Threat{Framework: "MITRE ATT&CK", Technique: r.Technique},
		Reason:      rs.reason(g, obs, thr, events),
	}
	if r.Type == rules.TypeSequence {
		a.Account = g.hitUser()
	}
	for i, k := range r.GroupBy {
		a.Group[k.String()] = g.value(i)
	}
	// The lane's scratch maps, empty: a flood of new groups firing on
	// small windows then makes no maps.
	users, ips, perUser := rs.ln.describeMaps() // perUser: failures per username in the evidence
	defer rs.ln.doneDescribing()
	// A window counting usernames knows each entry's username by its
	// slot and the failures of each: no map of usernames is needed.
	w, bySlot := g.st.(*window)
	bySlot = bySlot && w.distinct && r.Distinct.Field == event.UserName && r.Distinct.Derived == rules.NotDerived
	var seen []bool
	if bySlot {
		seen = rs.ln.slotScratch(len(w.dc.slots))
	}
	// The samples' room, in one allocation: they fill up to their caps.
	n := min(events, sampleUsers+sampleIDs+sampleIPs)
	room := make([]string, 0, min(n, sampleUsers)+min(n, sampleIDs)+min(n, sampleIPs))
	nu, ni := min(n, sampleUsers), min(n, sampleIDs)
	a.Sample = alert.Sample{UserNames: room[:0:nu], RequestIDs: room[nu : nu : nu+ni], SourceIPs: room[nu+ni : nu+ni]}
	g.st.each(func(e *entry) {
		if bySlot {
			if !seen[e.slot] {
				seen[e.slot] = true
				if len(a.Sample.UserNames) < sampleUsers {
					a.Sample.UserNames = append(a.Sample.UserNames, e.user())
				} else {
					a.Sample.UserNamesTruncated++
				}
			}
		} else if e.user() != "" {
			if e.outcome == outcomeFailure {
				perUser[e.user()]++
			}
			if _, ok := users[e.user()]; !ok {
				users[e.user()] = struct{}{}
				if len(a.Sample.UserNames) < sampleUsers {
					a.Sample.UserNames = append(a.Sample.UserNames, e.user())
				} else {
					a.Sample.UserNamesTruncated++
				}
			}
		}
		if e.rid() != "" && len(a.Sample.RequestIDs) < sampleIDs {
			a.Sample.RequestIDs = append(a.Sample.RequestIDs, e.rid())
		}
		if e.ip() != "" {
			if ips.add(e.ip()) {
				if len(a.Sample.SourceIPs) < sampleIPs {
					a.Sample.SourceIPs = append(a.Sample.SourceIPs, e.ip())
				} else {
					a.Sample.SourceIPsTruncated++
				}
			}
		}
	})
	a.Count.Events, a.Count.Failures, a.Count.Successes = events, fails, succs
	a.Count.DistinctUsers = len(users)
	if bySlot {
		clear(seen)
		a.Count.DistinctUsers = w.dc.size()
		var users, attempts, most int
		w.dc.each(func(_ string, c valCount) {
			if c.f > 0 {
				users++
				attempts += int(c.f)
				most = max(most, int(c.f))
			}
		})
		a.Classification = classifyFigures(users, attempts, most)
		return a
	}
	if _, long := g.st.(*valueSet); long {
		// The value set keeps values, not events: the evidence is recent
		// events only, the counts come from the values.
		if r.HasDistinct && r.Distinct.Field == event.UserName && r.Distinct.Derived == rules.NotDerived {
			clear(perUser)
			g.st.perValue(func(v string, c valCount) {
				if c.f > 0 {
					perUser[v] = int(c.f)
				}
			})
			a.Count.DistinctUsers = g.st.value(measureDistinct)
		} else {
			perUser = nil
		}
	}
	if perUser != nil {
		a.Classification = classify(perUser)
	}
	return a
}

// reason states the rule's condition and the figures it was tested on.
func (rs *ruleState) reason(g *group, obs, thr float64, events int) *alert.Reason {
	r := rs.rule
	re := &alert.Reason{Type: r.Type.String(), Measure: rs.measureName(), Threshold: thr, Observed: obs}
	if r.MinEvents > 0 {
		re.MinEvents, re.Events = r.MinEvents, events
	}
	switch r.Type {
	case rules.TypeRatio:
		re.Ratio, re.MinAttempts, re.Events = r.Ratio, r.MinAttempts, events
	case rules.TypeBaseline:
		mean, sd := g.hist.mean, g.hist.spread()
		re.BaselineMean, re.BaselineSpread = &mean, &sd
		re.BaselineSamples, re.Sigma, re.Floor = g.hist.n, r.Baseline.Sigma, r.Baseline.Floor
	}
	return re
}

// measureName says in words what the rule's observed value counts.
func (rs *ruleState) measureName() string {
	r := rs.rule
	switch r.Type {
	case rules.TypeRatio:
		return "failures / attempts"
	case rules.TypeSequence:
		return "distinct " + r.Distinct.String() + " that failed, then a success"
	}
	switch rs.measure() {
	case measureUnresolved:
		return "distinct " + r.Distinct.String() + " with failures and no success"
	case measureDistinct:
		return "distinct " + r.Distinct.String()
	}
	return "events"
}

// classify names the shape of the failures, after Elastic's Okta spray
// heuristics: many usernames with few attempts each is spraying, one
// username with many attempts brute force, many usernames with exactly one
// attempt each the shape of credential stuffing (which a single-round
// spray also has: passwords are not in the logs).
func classify(perUser map[string]int) *alert.Classification {
	attempts, most := 0, 0
	for _, n := range perUser {
		attempts += n
		most = max(most, n)
	}
	return classifyFigures(len(perUser), attempts, most)
}

// classifyFigures is classify from the number of usernames with failures,
// their failures and the most failures of one.
func classifyFigures(users, attempts, most int) *alert.Classification {
	c := &alert.Classification{Users: users, Attempts: attempts, MaxAttemptsPerUser: most}
	if c.Users == 0 {
		c.Kind, c.Basis = alert.ClassMixed, "no failed attempts in the window"
		return c
	}
	c.MeanAttemptsPerUser = math.Round(float64(c.Attempts)/float64(c.Users)*100) / 100
	switch {
	case c.Users <= 2 && c.Attempts >= 5:
		c.Kind = alert.ClassBruteForce
		c.Basis = fmt.Sprintf("%d username(s), %d attempts", c.Users, c.Attempts)
	case c.Users >= 5 && c.MaxAttemptsPerUser == 1:
		c.Kind = alert.ClassStuffing
		c.Basis = fmt.Sprintf("%d usernames, exactly one attempt each (also the shape of a single-round spray)", c.Users)
	case c.Users >= 5 && c.MaxAttemptsPerUser <= 8:
		c.Kind = alert.ClassSpraying
		c.Basis = fmt.Sprintf("%d usernames, at most %d attempts each", c.Users, c.MaxAttemptsPerUser)
	default:
		c.Kind = alert.ClassMixed
		c.Basis = fmt.Sprintf("%d usernames, up to %d attempts each", c.Users, c.MaxAttemptsPerUser)
	}
	return c
}

func formatTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// formatDuration writes 10m rather than 10m0s.
func formatDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}
