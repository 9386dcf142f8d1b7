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

// rebuildMark is what a resolved incident leaves in its group: its id and
// from, which count while the group's cooldown (groupMore.quietUntil)
// lasts.
type rebuildMark struct {
	from int64
	id   string
}

// rebuildFrom returns the from of the incident g opens, whose first event
// is at start: start, or the from of g's previous incident if it, or its
// cooldown, lasted past start.
func (rs *ruleState) rebuildFrom(g *group, start int64) int64 {
	if m := g.more; m != nil && m.resolved.id != "" && m.quietUntil > start {
		return min(start, m.resolved.from)
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
// what is missing: an
// incident it opens earlier could be one the run before the restart did
// not open, or opened later under another id. Other rules are not held
// back (a window missing events counts less). The engine keeps the latest
// t it is told. Like Add, it must be called on the goroutine that feeds
// the engine, before the events from t on.
func (e *Engine) MissingBefore(t int64) {
	e.quiesce()
	for _, rs := range e.rules {
		d := settle(rs.rule)
		if d == 0 {
			continue
		}
		from := t + d
		if from < t {
			from = math.MaxInt64 // beyond the latest representable time
		}
		rs.opensFrom = max(rs.opensFrom, from)
	}
}

// RebuildNeed is an incident whose rebuild needs the events from before
// the time RebuildNeeds was asked about.
type RebuildNeed struct {
	Rule     string
	Incident string // the incident id
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
				dst = append(dst, RebuildNeed{Rule: rs.rule.ID, Incident: inc.id, From: rs.rebuildStart(inc.from), Firing: true})
			}
		}
		rs.groups.each(func(_ int32, g *group) {
			if g == rs.groups.x.single {
				return // a group of one event, which never fired
			}
			m := g.more
			if m == nil || m.inc != nil || m.resolved.id == "" || m.quietUntil <= since || rs.rebuildStart(m.resolved.from) >= since {
				return
			}
			dst = append(dst, RebuildNeed{Rule: rs.rule.ID, Incident: m.resolved.id, From: rs.rebuildStart(m.resolved.from)})
		})
	}
	slices.SortFunc(dst[n:], func(a, b RebuildNeed) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Incident, b.Incident))
	})
	return dst
}
