package detect

import (
	"math"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// LongWindow is the window length above which a distinct or baseline rule
// keeps an expiring set of distinct values per group instead of every
// event: memory then grows with the usernames tried, not the attempts.
const LongWindow = time.Hour

// keyValue returns a group_by or distinct key's value for ev, deriving it
// when the key is derived. The last derivation is cached: consecutive
// events from one address cost a string comparison.
func (rs *ruleState) keyValue(ev *event.Event, k rules.Key) string {
	switch k.Derived {
	case rules.DerivedSubnet:
		ip := ev.Values[event.SourceIP]
		if ip != rs.lastIP || rs.lastSubnet == "" {
			rs.lastIP = ip
			rs.setSubnet(ip)
		}
		return rs.lastSubnet
	case rules.DerivedResponseClass:
		st, b := ev.Values[event.Status], ev.Values[event.BodyBytes]
		if st != rs.lastStatus || b != rs.lastBytes || rs.lastClass == "" {
			rs.lastStatus, rs.lastBytes, rs.lastClass = st, b, rules.ResponseClass(st, b)
		}
		return rs.lastClass
	}
	return ev.Values[k.Field]
}

// setSubnet sets rs.lastSubnet to rules.Subnet(ip), keeping it when ip is
// in the same network (rs.lastPrefix): a run of addresses of one network
// makes one string.
func (rs *ruleState) setSubnet(ip string) {
	p, ok := rules.SubnetPrefix(ip)
	if !ok {
		rs.lastSubnet = ""
		return
	}
	if p == rs.lastPrefix && rs.lastSubnet != "" {
		return
	}
	rs.lastPrefix, rs.lastSubnet = p, p.String()
}

// measure returns which figure of the group's store the rule reads.
func (rs *ruleState) measure() measure {
	r := rs.rule
	switch {
	case r.Type == rules.TypeRatio || r.Type == rules.TypeCount || !r.HasDistinct:
		return measureEvents
	case r.Unresolved || r.Type == rules.TypeSequence:
		return measureUnresolved
	}
	return measureDistinct
}

// newGroup returns a new group of key with an empty store (and history,
// for a baseline rule), made in one allocation with the store's first
// buffers: a group that sees a few events, as most do under a flood of
// identities, is one object, and evicting it touches adjacent memory.
func (rs *ruleState) newGroup(key string) *group {
	r := rs.rule
	seed := rs.eng.seed
	var g *group
	if r.Window > LongWindow && r.HasDistinct && (r.Type == rules.TypeDistinct || r.Type == rules.TypeBaseline) {
		a := &setGroup{}
		a.s = valueSet{end: math.MinInt64, seed: seed,
			seen: a.seen[:0], queue: a.queue[:0], recent: a.recent[:0]}
		a.s.dc.slots = a.slots[:0]
		a.g.st = &a.s
		g = &a.g
	} else {
		var a *windowGroup
		if r.Type == rules.TypeBaseline {
			b := &historyGroup{hist: history{next: notStarted}}
			a, b.g.hist = &b.windowGroup, &b.hist
		} else {
			a = &windowGroup{}
		}
		a.w = window{end: math.MinInt64, distinct: r.HasDistinct, entries: a.entries[:0]}
		a.w.dc.slots = a.slots[:0]
		a.g.st = &a.w
		g = &a.g
	}
	if r.Type == rules.TypeBaseline && g.hist == nil {
		g.hist = &history{next: notStarted}
	}
	g.key = key
	return g
}

// inlineEvents is how many events or values a new group's store holds
// before its buffers move out of the group's allocation.
const inlineEvents = 1

// windowGroup is a group with an exact window, allocated together.
type windowGroup struct {
	g       group
	w       window
	entries [inlineEvents]entry
	slots   [inlineEvents]slotVal
}

// historyGroup is a baseline rule's windowGroup with its history.
type historyGroup struct {
	windowGroup
	hist history
}

// setGroup is a group with a value set, allocated together.
type setGroup struct {
	g      group
	s      valueSet
	slots  [inlineEvents]slotVal
	seen   [inlineEvents]int64
	queue  [inlineEvents]queued
	recent [inlineEvents]recentEntry
}

// level evaluates the rule on g: the observed figure, the threshold it is
// held to, and whether the rule's condition holds.
func (rs *ruleState) level(g *group) (obs, thr float64, fire bool) {
	r := rs.rule
	events, fails, _ := g.st.counts()
	minEv := events >= r.MinEvents
	if r.MaxSuccessUsers > 0 && g.st.value(measureSucceeded) > r.MaxSuccessUsers {
		minEv = false
	}
	switch r.Type {
	case rules.TypeRatio:
		if events == 0 {
			return 0, r.Ratio, false
		}
		ratio := float64(fails) / float64(events)
		return ratio, r.Ratio, events >= r.MinAttempts && ratio >= r.Ratio && minEv
	case rules.TypeSequence:
		live := g.hitUser() != "" && g.more.hitAt > minus(g.st.endTime(), int64(r.Window))
		if !live {
			return float64(g.st.value(measureUnresolved)), float64(r.Threshold), false
		}
		return float64(g.more.hitVal), float64(r.Threshold), minEv
	case rules.TypeBaseline:
		v := float64(g.st.value(rs.measure()))
		t := g.hist.threshold(&r.Baseline)
		return v, t, g.hist.n >= r.Baseline.Samples && v > t && minEv
	}
	v := g.st.value(rs.measure())
	return float64(v), float64(r.Threshold), v >= r.Threshold && minEv
}

// history is a baseline group's learned level: an exponentially weighted
// mean and variance of its measure, sampled once per window length.
type history struct {
	mean, vari float64
	n          int   // samples taken
	next       int64 // event time of the next sample; notStarted before the first event
}

// maxCatchUp bounds the samples taken at once after a group was idle; the
// weight of older history is negligible after that many anyway.
const maxCatchUp = 4096

func (h *history) spread() float64 { return math.Sqrt(h.vari) }

// threshold is the level above which the group is unusual: mean + sigma x
// spread, never below the floor.
func (h *history) threshold(b *rules.Baseline) float64 {
	return math.Max(float64(b.Floor), h.mean+b.Sigma*h.spread())
}

func (h *history) sample(v, alpha float64) {
	if h.n == 0 {
		h.mean = v
	} else {
		d := v - h.mean
		h.mean += alpha * d
		h.vari = (1 - alpha) * (h.vari + alpha*d*d)
	}
	h.n++
}

// learn takes the samples due by t: at each window boundary before t, the
// window's value as it was then. The first sample is at the first boundary
// a whole window after the group's first event, so that warmup's samples
// span at least warmup of the group's history. A group does not learn
// while its incident fires, so an attack does not become the norm: an
// incident due to resolve by a boundary resolves first, and the
// boundaries while it fired are skipped when it resolves (see
// skipFiring).
func (rs *ruleState) learn(g *group, t int64) {
	h := g.hist
	period := int64(rs.rule.Window)
	if h.next == notStarted {
		h.next = math.MaxInt64
		if t <= math.MaxInt64-period {
			h.next = nextBoundary(t+period-1, period)
		}
		return
	}
	if t <= h.next || h.next == math.MaxInt64 {
		return // math.MaxInt64: no boundary left before the end of time
	}
	alpha := rs.rule.Baseline.Alpha
	for i := 0; t > h.next && i < maxCatchUp; i++ {
		// Every event held came at or before the boundary (an event at
		// it is in its window): trimmed to it, the window is as it was
		// then.
		b := h.next
		rs.trim(g, b)
		rs.resolve(g, b)
		if h.next != b {
			continue // resolved: the boundaries while it fired are skipped
		}
		if g.incident() == nil {
			h.sample(float64(g.st.value(rs.measure())), alpha)
		}
		h.next = nextBoundary(b, period)
		if h.next == math.MaxInt64 {
			return
		}
	}
	if t > h.next {
		h.next = nextBoundary(t-1, period) // t itself, if a boundary, is sampled later
	}
}

// skipFiring moves a baseline group's next sample past at, when its
// incident resolved: the boundaries not yet sampled came while it fired.
func (h *history) skipFiring(at, period int64) {
	if h.next != notStarted && h.next <= at {
		h.next = nextBoundary(at, period)
	}
}

// notStarted is history.next before the group's first event.
const notStarted = math.MinInt64

// nextBoundary returns the first multiple of period after t, or
// math.MaxInt64 when it is past the latest representable time.
func nextBoundary(t, period int64) int64 {
	b := floorTo(t, period)
	if b > math.MaxInt64-period {
		return math.MaxInt64
	}
	return b + period
}

// WarmupSpan returns how much event time before the present a restarted
// engine should replay so that every rule is complete: the longest window,
// or the longest baseline warm-up and the window before its first sample.
func (e *Engine) WarmupSpan() time.Duration {
	m := e.MaxWindow()
	for _, rs := range e.rules {
		if r := rs.rule; r.Type == rules.TypeBaseline {
			m = max(m, time.Duration(r.Baseline.Samples+1)*r.Window)
		}
	}
	return m
}
