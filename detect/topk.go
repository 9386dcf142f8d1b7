package detect

import (
	"sort"

	"github.com/spraywatch/spraywatch/alert"
)

// GroupValue is one group of a rule with the rule's figure over the group's
// current window.
type GroupValue struct {
	Key      string          // the group's values joined by 0x1f, as the engine keys it
	Values   []string        // the group_by values, in the rule's order
	Fields   []string        // the group_by keys' names, in the same order (shared: read only)
	Identity *alert.Identity // the certificate seen in the group, if any
	Value    float64         // the rule's measure over the window ending at the watermark
}

// TopGroups returns up to k groups of the rule with the highest measure
// (distinct unresolved usernames for the default per-identity rule) over
// the window ending at the engine's watermark, highest first, ties by key.
// Groups whose events all left the window and groups with a zero figure
// are left out. It reports false when no rule has that id.
//
// TopGroups reads the engine's state: like Add, it must be called on the
// goroutine that feeds the engine (or after the engine stopped). It
// changes nothing. With several lanes it waits for them to evaluate what
// was handed to them: the figures may then count events whose alerts (and
// OnEvent calls) are still to come. The result reuses dst.
func (e *Engine) TopGroups(rule string, k int, dst []GroupValue) ([]GroupValue, bool) {
	dst = dst[:0]
	e.quiesce()
	var rs *ruleState
	for _, r := range e.rules {
		if r.rule.ID == rule {
			rs = r
			break
		}
	}
	if rs == nil {
		return dst, false
	}
	if k <= 0 {
		return dst, true
	}
	fields := make([]string, len(rs.rule.GroupBy))
	for i, k := range rs.rule.GroupBy {
		fields[i] = k.String()
	}
	length := int64(rs.rule.Window)
	cut := minus(e.now, length)
	m := rs.measure()
	var scratch map[string]valCount
	rs.groups.each(func(sl int32, g *group) {
		if g == rs.groups.x.single {
			if rs.groups.x.first[sl].t <= cut {
				return // its one event left the window
			}
			if len(dst) == k {
				// A group of one event counts at most 1: when it
				// cannot enter, it is not made to find that out (a
				// flood holds many).
				last := &dst[k-1]
				if last.Value > 1 || last.Value == 1 && rs.groups.x.first[sl].key >= last.Key {
					return
				}
			}
			g = rs.view(sl)
		}
		if g.st.last() <= cut || g.st.endTime() <= cut {
			return // nothing left in the window
		}
		var v float64
		if w, ok := g.st.(*window); ok && w.first() <= cut {
			// Some events left the window since the group was last
			// evaluated: count the rest without changing the window.
			if scratch == nil {
				scratch = make(map[string]valCount)
			}
			v = float64(w.valueSince(cut, m, scratch))
		} else {
			v = float64(g.st.value(m))
		}
		if v <= 0 {
			return
		}
		gv := GroupValue{Key: g.key, Fields: fields, Value: v}
		if len(dst) < k {
			gv.Values, gv.Identity = g.values(), g.ident.identity()
			dst = append(dst, gv)
			if len(dst) == k {
				sort.Slice(dst, func(i, j int) bool { return better(&dst[i], &dst[j]) })
			}
			return
		}
		if !better(&gv, &dst[k-1]) {
			return
		}
		// Insert in order, dropping the last: k is small.
		i := sort.Search(k, func(i int) bool { return better(&gv, &dst[i]) })
		gv.Values, gv.Identity = g.values(), g.ident.identity()
		copy(dst[i+1:], dst[i:k-1])
		dst[i] = gv
	})
	if len(dst) < k {
		sort.Slice(dst, func(i, j int) bool { return better(&dst[i], &dst[j]) })
	}
	return dst, true
}

// better orders groups by value, highest first, then by key.
func better(a, b *GroupValue) bool {
	if a.Value != b.Value {
		return a.Value > b.Value
	}
	return a.Key < b.Key
}

// valueSince returns measure m over the window's events after cut, using
// scratch (cleared) for the per-value counts.
func (w *window) valueSince(cut int64, m measure, scratch map[string]valCount) int {
	i := sort.Search(w.len(), func(i int) bool { return w.entries[int(w.head)+i].t > cut }) + int(w.head)
	if !w.distinct || m == measureEvents {
		return len(w.entries) - i
	}
	clear(scratch)
	for ; i < len(w.entries); i++ {
		e := &w.entries[i]
		val := w.dc.slots[e.slot].val
		c := scratch[val]
		c.n++
		switch e.outcome {
		case outcomeFailure:
			c.f++
		case outcomeSuccess:
			c.s++
		}
		scratch[val] = c
	}
	n := 0
	for _, c := range scratch {
		switch m {
		case measureUnresolved:
			n += b2i(c.f > 0 && c.s == 0)
		case measureSucceeded:
			n += b2i(c.s > 0)
		default:
			n++
		}
	}
	return n
}

// WindowEntries returns, for each rule in rule order, what its groups'
// windows hold: events for exact windows, distinct values for long ones.
// It is what the windows' memory grows with. Like TopGroups, it must be
// called on the goroutine that feeds the engine; it changes nothing, and
// waits for the lanes as TopGroups does.
func (e *Engine) WindowEntries() []int64 {
	e.quiesce()
	out := make([]int64, len(e.rules))
	for i, rs := range e.rules {
		rs.groups.each(func(_ int32, g *group) {
			if g == rs.groups.x.single {
				out[i]++ // one event or value
				return
			}
			switch st := g.st.(type) {
			case *window:
				out[i] += int64(st.len())
			case *valueSet:
				out[i] += int64(st.dc.size())
			}
		})
	}
	return out
}
