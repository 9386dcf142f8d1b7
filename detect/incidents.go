package detect

import (
	"cmp"
	"slices"
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

// RebuildNeed is an incident whose rebuild needs the events from before
// the time RebuildNeeds was asked about.
type RebuildNeed struct {
	Rule     string
	Incident string // the incident id
	// From is the event time a replay must start at to rebuild the
	// incident whole (records must be read from earlier by as much as
	// joining them into events needs).
	From int64
	// Firing is false for an incident resolved, whose cooldown still
	// counts: a replay that misses it may open an incident the cooldown
	// kept closed, or open one at another time.
	Firing bool
}

// RebuildNeeds appends to dst the incidents that a replay of the events
// from since on would not rebuild as they are: the incidents firing whose
// from is before since, and the incidents resolved whose cooldown lasts
// past since and whose from is before since. They come ordered by From
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
			if inc := g.incident(); inc.from < since {
				dst = append(dst, RebuildNeed{Rule: rs.rule.ID, Incident: inc.id, From: inc.from, Firing: true})
			}
		}
		rs.groups.each(func(_ int32, g *group) {
			if g == rs.groups.x.single {
				return // a group of one event, which never fired
			}
			m := g.more
			if m == nil || m.inc != nil || m.resolved.id == "" || m.quietUntil <= since || m.resolved.from >= since {
				return
			}
			dst = append(dst, RebuildNeed{Rule: rs.rule.ID, Incident: m.resolved.id, From: m.resolved.from})
		})
	}
	slices.SortFunc(dst[n:], func(a, b RebuildNeed) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Incident, b.Incident))
	})
	return dst
}
