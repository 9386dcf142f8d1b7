package detect

import (
	"cmp"
	"math"
	"slices"

	"github.com/spraywatch/spraywatch/rules"
)

// What a restart needs to rebuild the incidents.
//
// A server that restarts rebuilds its engine by reading again the events
// of a span before where it stopped (the longest window, in event time).
// That rebuilds the windows; an incident firing at the restart is rebuilt
// whole (same id, same records, its own "resolved" record in time) only
// when the events read again reach back to its first event: the id is made
// of the rule, the group and the first event in the window when it fired
// (see incidentID), and the sequence numbers count the records written
// since. Reading from its first event on, the group's window reaches the
// threshold no earlier than it did (reading less of a window can only
// count less) and holds, when it did, the same events: the incident
// opens again at the same event, with the same first event.
//
// What happened in the group before may have decided when the incident
// opened: an incident that was firing, or the cooldown after it, kept a
// new one from opening. Each incident therefore carries from, the event
// time a replay must start at to rebuild it: its first event's, or the
// from of the group's previous incident when that incident, or its
// cooldown, still counted at the first event. A resolved incident's from
// is kept in its group (rebuildMark) while its cooldown lasts.
//
// That reading less of a window counts less is not true of every rule. A
// rule that counts unresolved values (a username that failed counts until
// it succeeds in the window), a ratio of failures, or caps the usernames
// that succeeded can count more on a window that misses its earliest
// events: a success that resolved a username fell before them. Read again
// from an incident's first event, such a rule could open an incident
// earlier than it did, with another first event and id. So for such a
// rule a replay starts earlier by as much as the rule needs to settle
// (settle: a window, two for a sequence), RebuildNeeds reporting from
// less that, and the engine that reads it, told where its input starts
// (MissingBefore), opens none of its incidents before it settled: from the
// incident's first event on, the rule sees what it saw before the restart.
//
// A replay starts at the earliest need, so it reads the other groups
// earlier than they need too, and there, without what came before, could
// open incidents that the run before did not (a cooldown kept them
// closed, or the window counted otherwise): muted, but their cooldowns
// last. So a rebuilt engine told what RebuildNeeds said (Rebuilding) lets
// each group open incidents only from a point where the group was quiet
// before the restart, no incident firing and no cooldown, with its window
// read whole: a need's From plus what its rule needs to settle (the
// incident's from: the group was quiet then), or, for a group with no
// need, since plus that (a group with an incident or a cooldown at since
// has a need). From there on the group sees what it saw before, in the
// same state, and goes on as it did. Every resolved incident whose
// cooldown may still count is kept for that (rebuildMark), also once its
// group is forgotten (ruleState.gone).

// rebuildMark is what a resolved incident leaves in its group: its id and
// from, which count while its cooldown lasts (until).
type rebuildMark struct {
	from, until int64
	id          string
}

// maxMarks bounds the marks a group keeps: beyond it the two oldest
// become one, from the older's from to the later's end, which asks a
// rebuild to start earlier than it must, never later.
const maxMarks = 8

// addMark keeps mark in m, and forgets the marks whose cooldown ended
// long enough before now that no rebuild asks about them: RebuildNeeds is
// asked about a time a longest window before the newest record
// processed, at the latest event time the engine saw.
func (rs *ruleState) addMark(m *groupMore, mark rebuildMark, now int64) {
	old := rs.marksHorizon(now)
	i := 0
	for i < len(m.resolved) && m.resolved[i].until <= old {
		i++
	}
	ms := append(m.resolved[:0], m.resolved[i:]...)
	if len(ms) == maxMarks {
		ms[1].from, ms[1].id = min(ms[0].from, ms[1].from), ms[0].id
		ms = append(ms[:0], ms[1:]...)
	}
	m.resolved = append(ms, mark)
}

// maxGone bounds the groups whose marks a rule keeps once the groups are
// forgotten (see keepGone): beyond it, a rebuild may open again, muted,
// an incident that such a group's cooldown kept closed.
const maxGone = 4096

// marksHorizon is the event time at or before which a mark's cooldown no
// longer counts for any RebuildNeeds: it is asked about a time a longest
// window before the newest record processed, at the latest event time the
// engine saw.
func (rs *ruleState) marksHorizon(now int64) int64 {
	return minus(now, 2*int64(rs.eng.MaxWindow()))
}

// keepGone keeps the marks of the group key, forgotten at now while idle,
// as long as their cooldown may count for RebuildNeeds: the group was
// quiet, but a rebuild that reads its events again without the incident
// would open one, muted, whose cooldown then outlasts the real one. It
// also forgets the kept marks that no longer count.
func (rs *ruleState) keepGone(key string, marks []rebuildMark, now int64) {
	old := rs.marksHorizon(now)
	// Groups are forgotten in about the order their marks end.
	for len(rs.goneOrder) > 0 {
		k := rs.goneOrder[0]
		if ms := rs.gone[k]; ms[len(ms)-1].until > old {
			break
		}
		delete(rs.gone, k)
		rs.goneOrder = rs.goneOrder[1:]
	}
	if marks[len(marks)-1].until <= old {
		return
	}
	if ms, ok := rs.gone[key]; ok {
		rs.gone[key] = append(ms, marks...)
		return
	}
	if len(rs.gone) >= maxGone {
		return
	}
	if rs.gone == nil {
		rs.gone = make(map[string][]rebuildMark)
	}
	rs.gone[key] = slices.Clone(marks)
	rs.goneOrder = append(rs.goneOrder, key)
}

// rebuildFrom returns the from of the incident g opens, whose first event
// is at start: start, or the from of g's previous incident if it, or its
// cooldown, lasted past start.
func (rs *ruleState) rebuildFrom(g *group, start int64) int64 {
	if m := g.more; m != nil && len(m.resolved) > 0 && m.quietUntil > start {
		return min(start, m.resolved[len(m.resolved)-1].from)
	}
	return start
}

// settle returns how much of its input r must have read before its
// figure is what it would be on the whole input (see above): nothing for a
// rule that counts less on a window missing events, its window for one
// that can count more, and two windows for a sequence, whose success
// counts the failures before it in its window and stays live for a
// window.
func settle(r *rules.Rule) int64 {
	switch {
	case r.Type == rules.TypeSequence:
		return 2 * int64(r.Window)
	case r.Unresolved || r.MaxSuccessUsers > 0 || r.Type == rules.TypeRatio:
		return int64(r.Window)
	}
	return 0
}

// rebuildStart returns the event time a replay must start at to rebuild
// an incident of rs whose from is from.
func (rs *ruleState) rebuildStart(from int64) int64 {
	return minus(from, settle(rs.rule))
}

// MissingBefore tells the engine that events before t may be missing from
// its input: a restart read its input again from t on (from the
// earliest From of RebuildNeeds, or from a window's span before where it
// stopped). A rule that can count more on a window missing its earliest
// events (one counting unresolved values or a ratio, a sequence, or one
// capping the usernames that succeeded) then opens no incident before t
// plus its window (two windows for a sequence, whose success looks back a
// window and stays live for one), when its figure no longer depends on
// what is missing: an incident it opens earlier could be one the run
// before the restart did not open, or opened later under another id.
// Other rules are not held back (a window missing events counts less).
// The engine keeps the latest t it is told. Like Add, it must be called on
// the goroutine that feeds the engine, before the events from t on.
func (e *Engine) MissingBefore(t int64) {
	e.quiesce()
	for _, rs := range e.rules {
		if d := settle(rs.rule); d > 0 {
			h := rs.holding()
			h.missing = max(h.missing, plus(t, d))
		}
	}
}

// Rebuilding tells a restarted engine what RebuildNeeds said, with since,
// when the positions it resumes from were saved: the incidents it rebuilds
// are needs, and no other incident of the run before opened before since
// (one that did, firing or cooling down after since, is a need). A rebuild
// that reads from the earliest need reads earlier than the other groups
// need, and there, without the incidents and cooldowns of the events
// before, could open incidents the run before did not (muted, but their
// cooldowns last): so a group opens no incident before its need's From,
// or since for a group with none, plus what its rule needs to settle (see
// settle). Only the needs' Group and From are read: a server may keep
// just those. Like MissingBefore, it must be called before the events.
func (e *Engine) Rebuilding(since int64, needs []RebuildNeed) {
	e.quiesce()
	from := make(map[uint64]int64, len(needs))
	for _, n := range needs {
		if old, ok := from[n.Group]; !ok || n.From < old {
			from[n.Group] = n.From
		}
	}
	for _, rs := range e.rules {
		h := rs.holding()
		h.since = max(h.since, plus(since, settle(rs.rule)))
		h.needs = from
	}
}

// Unrebuildable tells a restarted engine that the events before t cannot
// be read again (a file of one log is gone): the incidents of needs (as
// Rebuilding was told them) are not rebuilt, and the windows of their
// groups miss events up to t plus the rule's window. Such a group opens
// no incident before then, rebuild or not (see Rebuilt): an incident it
// opened earlier would be the one not rebuilt, alerted again under a new
// id. Like MissingBefore, it must be called before the events it holds.
func (e *Engine) Unrebuildable(t int64, needs []RebuildNeed) {
	if len(needs) == 0 {
		return
	}
	e.quiesce()
	lost := make(map[uint64]int64, len(needs))
	for _, n := range needs {
		lost[n.Group] = t
	}
	for _, rs := range e.rules {
		h := rs.holding()
		if h.lost == nil {
			h.lost = lost
			continue
		}
		for g, at := range lost {
			h.lost[g] = max(h.lost[g], at)
		}
	}
}

// Rebuilt tells the engine that what comes now was not processed before
// the restart, even when it is older than what was (a lagging input,
// late records): Rebuilding's hold ends (MissingBefore's does not, as the
// windows still miss what was not read again). Like Add, it must be
// called on the goroutine that feeds the engine.
func (e *Engine) Rebuilt() {
	e.quiesce()
	for _, rs := range e.rules {
		if h := rs.hold; h != nil {
			h.since, h.needs = math.MinInt64, nil
		}
	}
}

// hold is what a rebuild holds back of a rule's incidents.
type hold struct {
	missing int64 // no incident before it (MissingBefore)
	since   int64 // no incident of a group that is no need before it
	// needs are the Froms of the needs by group (GroupHash), shared by
	// the rules; a need's group may open from From plus its rule's
	// settle.
	needs map[uint64]int64
	// lost are the times before which the events of groups (GroupHash)
	// are gone (Unrebuildable); a group may open from its time plus its
	// rule's window and settle. Shared by the rules.
	lost map[uint64]int64
}

func (rs *ruleState) holding() *hold {
	if rs.hold == nil {
		rs.hold = &hold{missing: math.MinInt64, since: math.MinInt64}
	}
	return rs.hold
}

// mayOpen reports whether g may open an incident at t, a rebuild holding
// the rule back or not.
func (rs *ruleState) mayOpen(g *group, t int64) bool {
	h := rs.hold
	if h != nil && h.lost != nil {
		if at, ok := h.lost[GroupHash(rs.rule.ID, g.key)]; ok && t < plus(at, int64(rs.rule.Window)+settle(rs.rule)) {
			return false
		}
	}
	switch {
	case h == nil || t >= h.missing && t >= h.since:
		return true
	case t < h.missing:
		return false
	}
	from, ok := h.needs[GroupHash(rs.rule.ID, g.key)]
	return ok && t >= plus(from, settle(rs.rule))
}

// GroupHash identifies a rule's group in a RebuildNeed: a 64-bit FNV-1a
// hash of the rule id, a zero byte and the group's key, the same in every
// process, so that a server can keep it with its positions.
func GroupHash(rule, key string) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for i := 0; i < len(rule); i++ {
		h = (h ^ uint64(rule[i])) * prime
	}
	h *= prime // the zero byte
	for i := 0; i < len(key); i++ {
		h = (h ^ uint64(key[i])) * prime
	}
	return h
}

// plus returns t+d (d >= 0), or math.MaxInt64 when that is later than the
// latest representable time.
func plus(t, d int64) int64 {
	if t > math.MaxInt64-d {
		return math.MaxInt64
	}
	return t + d
}

// markNeeds appends to dst the needs of the marks ms of group key: those
// whose cooldown lasts past since and whose rebuild starts before it.
func (rs *ruleState) markNeeds(dst []RebuildNeed, key string, ms []rebuildMark, since int64) []RebuildNeed {
	for _, mk := range ms {
		if mk.until > since && rs.rebuildStart(mk.from) < since {
			dst = append(dst, RebuildNeed{Rule: rs.rule.ID, Incident: mk.id, Group: GroupHash(rs.rule.ID, key), From: rs.rebuildStart(mk.from)})
		}
	}
	return dst
}

// RebuildNeed is an incident whose rebuild needs the events from before
// the time RebuildNeeds was asked about.
type RebuildNeed struct {
	Rule     string
	Incident string // the incident id
	// Group is the incident's group (GroupHash of the rule and its key).
	Group uint64
	// From is the event time a replay must start at to rebuild the
	// incident whole (records must be read from earlier by as much as
	// joining them into events needs), the engine that reads it told so
	// (MissingBefore).
	From int64
	// Firing is false for an incident resolved, whose cooldown still
	// counts: a replay that misses it may open an incident the cooldown
	// kept closed, or open one at another time.
	Firing bool
}

// RebuildNeeds appends to dst the incidents that a replay of the events
// from since on would not rebuild as they are: the incidents firing whose
// rebuild starts before since (their from, less as much as their rule
// needs to settle), and the incidents resolved whose cooldown lasts past
// since and whose rebuild starts before since. They come ordered by From
// (then rule, then incident id). A caller that keeps the positions of its
// input from the earliest From (or since, when there is none) on can
// rebuild, after a restart, the windows of the events from since and the
// incidents as they are.
//
// RebuildNeeds reads the engine's state: like Add, it must be called on
// the goroutine that feeds the engine (or after the engine stopped). With
// several lanes it waits for them to evaluate what was handed to them: the
// incidents may then include some whose alerts are still to be sent. It
// goes over every group of the rules that keep incidents.
func (e *Engine) RebuildNeeds(since int64, dst []RebuildNeed) []RebuildNeed {
	e.quiesce()
	n := len(dst)
	for _, rs := range e.rules {
		for _, g := range rs.open {
			if inc := g.incident(); rs.rebuildStart(inc.from) < since {
				dst = append(dst, RebuildNeed{Rule: rs.rule.ID, Incident: inc.id, Group: GroupHash(rs.rule.ID, g.key), From: rs.rebuildStart(inc.from), Firing: true})
			}
		}
		rs.groups.each(func(_ int32, g *group) {
			if g == rs.groups.x.single {
				return // a group of one event, which never fired
			}
			m := g.more
			if m == nil {
				return
			}
			dst = rs.markNeeds(dst, g.key, m.resolved, since)
		})
		for key, ms := range rs.gone {
			dst = rs.markNeeds(dst, key, ms, since)
		}
	}
	slices.SortFunc(dst[n:], func(a, b RebuildNeed) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Incident, b.Incident), cmp.Compare(b2i(a.Firing), b2i(b.Firing)))
	})
	return dst
}
