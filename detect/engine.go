package detect

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// Config configures an Engine.
type Config struct {
	Correlator CorrelatorConfig
	Rules      []*rules.Rule
	// MaxGroups caps the groups each rule keeps; the least recently active
	// group is evicted (and counted) beyond it.
	MaxGroups int
	// MaxGroupsTotal caps the groups all rules keep together. It is split
	// evenly among the rules, once, when the engine is made: rule i of n
	// may keep MaxGroupsTotal/n groups (one more for the first
	// MaxGroupsTotal%n rules, at least one), and no more than MaxGroups.
	// Beyond its share, a rule evicts (and counts) its own least recently
	// active group. A fixed share, rather than one pool all rules draw
	// on, makes which group is evicted depend only on the rule's own
	// events: the alerts are the same however many lanes evaluate the
	// rules. Zero means DefaultMaxGroupsTotal.
	MaxGroupsTotal int
	// MaxGroupEvents caps the events one group's window keeps; the oldest
	// are dropped (and counted) beyond it.
	MaxGroupEvents int
	// MaxEventsTotal caps what all rules' windows hold together: events
	// of exact windows, distinct values of long-window value sets. It is
	// split evenly among the rules, once, as MaxGroupsTotal is: rule i of
	// n may hold MaxEventsTotal/n (one more for the first
	// MaxEventsTotal%n rules, at least one). When a rule's windows hold
	// more than its share, the rule evicts (and counts in GroupsEvicted)
	// its least recently active groups until they hold no more, never
	// the group of the event just added: a rule holds more than its
	// share only while that one group does (at most MaxGroupEvents
	// events). This bounds a rule grouping by
	// something with few values (a subnet, a status), whose groups each
	// stay under MaxGroups and MaxGroupEvents while holding many events
	// together. The share depends only on the rules, so the alerts are
	// the same however many lanes evaluate them. Zero means
	// DefaultMaxEventsTotal.
	MaxEventsTotal int
	// Sink receives the alerts.
	Sink alert.Sink
	// OnEvent, if set, sees every authentication event after the rules,
	// between the alerts of the previous event and those of the next
	// (with several lanes, when the alerts of its batch are sent).
	OnEvent func(*event.Event)
	// Lanes is how many goroutines evaluate the rules; LanesAuto means
	// GOMAXPROCS. It is capped by the number of rules. Zero (the
	// default) or one evaluates them on the caller's goroutine during
	// Add, AddEvent and Advance, which send the alerts they cause before
	// returning: a caller that marks or mutes alerts by the record being
	// processed needs that.
	//
	// With several lanes, each rule is evaluated by one lane: rules with
	// the same match block and group_by fields (which find their groups
	// in one index) by the same one while there are more such sets than
	// lanes, the lanes balanced by a simple cost (see assignLanes). The
	// caller's goroutine joins the records into events and hands the
	// lanes the same sequence of operations (each event; each sweep of
	// the groups as event time passes) in batches of a few hundred, a
	// few batches at most in flight. The alerts are sent on the
	// caller's goroutine, in the order one lane sends them (by
	// operation, then by rule, then as the rule wrote them), once every
	// lane has evaluated the batch: they and the counters are the same
	// whatever the number of lanes, but are sent during a later Add,
	// AddEvent or Advance than the one that caused them, or during
	// Close, which sends everything. A sink's error is returned by the
	// call that sent the alert. Close ends the lanes' goroutines.
	Lanes int
}

// Defaults for Config.
const (
	DefaultMaxGroups      = 50_000
	DefaultMaxGroupsTotal = 200_000
	DefaultMaxGroupEvents = 20_000
	DefaultMaxEventsTotal = 1_350_000
	// sweepEvery is how much event time passes between checks of open
	// incidents and idle groups.
	sweepEvery = int64(time.Second)
)

// Stats counts what the engine did. Safe to read while it runs. With
// several lanes, what the rules count (Late, GroupsEvicted, EventsDropped,
// and RuleStats' Matched and Groups) is added as each lane finishes a
// batch of operations; with one lane, after each operation.
type Stats struct {
	Events        atomic.Int64 // authentication events built
	Late          atomic.Int64 // events older than their group's window
	GroupsEvicted atomic.Int64 // groups evicted by a cap (not idle ones forgotten)
	EventsDropped atomic.Int64 // events dropped from full group windows
	Alerts        atomic.Int64
	Open          atomic.Int64 // incidents firing now
	Suppressed    atomic.Int64 // incidents not opened because of a cooldown
	Watermark     atomic.Int64 // newest event time seen, Unix nanoseconds
}

// RuleStats counts one rule's activity.
type RuleStats struct {
	Rule       string
	Severity   string
	Matched    atomic.Int64 // events that passed the rule's filter
	Groups     atomic.Int64 // groups held now
	Alerts     atomic.Int64 // alert records written
	Suppressed atomic.Int64 // matching events an allowlist entry silenced
}

// Engine turns records into authentication events and alerts. It is not
// safe for concurrent use; Stats are.
type Engine struct {
	corr    *Correlator
	rules   []*ruleState
	sink    alert.Sink
	onEvent func(*event.Event)
	maxEv   int
	now     int64 // newest event time; math.MinInt64 before the first
	swept   int64 // when the groups were last swept (a whole second)
	// flushed is set once Close emitted what waited in the correlator:
	// no event older than the newest can come after.
	flushed bool
	stats   Stats
	ctx     context.Context
	err     error

	// keepFields are the fields window entries keep (user, request id,
	// source address and the rules' distinct fields). They are copied
	// once per event into one small string (see evState), so that an
	// entry does not hold the event's whole value buffer (user agent,
	// certificate names, ...) alive. hashFields are the distinct fields
	// the rules count (a subset of keepFields), hashed under seed once
	// per event for every rule's distinct counts.
	keepFields []event.Field
	// keyRoom are the fields of the rules' different group keys of
	// several values, none derived: an event that makes a new group
	// keeps room for them with its kept copies, so that its new groups'
	// keys need no allocation of their own (an event that makes a new
	// group usually makes one in every rule).
	keyRoom    [][]event.Field
	seed       maphash.Seed
	hashFields []event.Field

	// one is the lane of every rule when there is one; ev the current
	// event's state then. par runs several lanes otherwise.
	one *lane
	ev  evState
	par *lanes
}

// NewEngine returns an engine for the rules in c.
func NewEngine(c Config) (*Engine, error) {
	if c.Sink == nil {
		return nil, errors.New("detect: no alert sink")
	}
	if c.MaxGroups <= 0 {
		c.MaxGroups = DefaultMaxGroups
	}
	if c.MaxGroupsTotal <= 0 {
		c.MaxGroupsTotal = DefaultMaxGroupsTotal
	}
	if c.MaxGroupEvents <= 0 {
		c.MaxGroupEvents = DefaultMaxGroupEvents
	}
	if c.MaxEventsTotal <= 0 {
		c.MaxEventsTotal = DefaultMaxEventsTotal
	}
	e := &Engine{sink: c.Sink, onEvent: c.OnEvent, maxEv: c.MaxGroupEvents, seed: maphash.MakeSeed(),
		now: math.MinInt64, swept: math.MinInt64}
	e.keepFields, e.hashFields = keepFields(c.Rules)
	e.keyRoom = keyRoom(c.Rules)
	var err error
	if e.corr, err = NewCorrelator(c.Correlator, e.evaluateJoined); err != nil {
		return nil, fmt.Errorf("configuring the correlator: %w", err)
	}
	for i, r := range c.Rules {
		rs := &ruleState{rule: r, eng: e, stats: &RuleStats{Rule: r.ID, Severity: r.Severity},
			maxHeld: groupShare(math.MaxInt, c.MaxEventsTotal, i, len(c.Rules))}
		rs.groups = newGroupSet(groupShare(c.MaxGroups, c.MaxGroupsTotal, i, len(c.Rules)), func(g *group, evicted bool) {
			rs.pending.groups--
			if evicted {
				rs.ln.counts.evicted++
			}
			if g == nil {
				rs.held-- // a single entry: one event or value
				return
			}
			rs.held -= g.st.held()
			if g.incident() != nil {
				e.stats.Open.Add(-1)
				delete(rs.open, g.key)
			}
			rs.recycle(g)
		})
		e.rules = append(e.rules, rs)
	}
	n := lanesFor(c.Lanes, len(e.rules))
	ls := make([]*lane, n)
	for i := range ls {
		ls[i] = &lane{eng: e, id: i}
		ls[i].probe.seed = e.seed
	}
	for i, ln := range assignLanes(c.Rules, n) {
		rs, l := e.rules[i], ls[ln]
		rs.ln, rs.idx = l, i
		l.rules = append(l.rules, rs)
	}
	for _, l := range ls {
		l.shareFilters()
		l.shareGroupIndexes()
	}
	for _, rs := range e.rules {
		if rs.single = singleFor(rs.rule, rs.groups.x.k > 1) && rs.groups.r < maxSingleRules; rs.single {
			rs.groups.x.holdSingle()
		}
	}
	if n == 1 {
		e.one = ls[0]
		e.one.cur = &e.ev
	} else {
		e.par = &lanes{ls: ls}
	}
	return e, nil
}

// Lanes returns how many lanes evaluate the rules.
func (e *Engine) Lanes() int {
	if e.par == nil {
		return 1
	}
	return len(e.par.ls)
}

// groupShare returns how many groups rule i of n may keep: its share of
// total, at least one, at most perRule.
func groupShare(perRule, total, i, n int) int {
	share := total / n
	if i < total%n {
		share++
	}
	return max(1, min(perRule, share))
}

// Stats returns the engine's counters.
func (e *Engine) Stats() *Stats { return &e.stats }

// JoinStats returns the correlator's counters.
func (e *Engine) JoinStats() *JoinStats { return e.corr.Stats() }

// RuleStats returns each rule's counters, in rule order.
func (e *Engine) RuleStats() []*RuleStats {
	out := make([]*RuleStats, len(e.rules))
	for i, r := range e.rules {
		out[i] = r.stats
	}
	return out
}

// Add takes one record. Records should come in event-time order; disorder
// within the join window is absorbed.
//
// An error of the sink is returned once the record has been taken: the
// record is not lost.
func (e *Engine) Add(ctx context.Context, r *event.Record) error {
	e.advance(ctx, r.Time)
	e.corr.Add(r)
	return e.takeErr()
}

// AddEvent takes an authentication event that was joined elsewhere (by a
// correlate stage publishing to Kafka, say) and evaluates the rules on it.
// The engine does not keep ev.
func (e *Engine) AddEvent(ctx context.Context, ev *event.Event) error {
	e.advance(ctx, ev.Time)
	e.evaluate(ev)
	return e.takeErr()
}

// MaxWindow returns how much event time a restarted engine must read
// again to rebuild its state: the longest rule window, or two windows of
// a sequence rule, whose success looks back a window and stays live for
// one (see settle).
func (e *Engine) MaxWindow() time.Duration {
	var m time.Duration
	for _, r := range e.rules {
		m = max(m, r.rule.Window, time.Duration(settle(r.rule)))
	}
	return m
}

// Advance moves event time forward to t (never back): records waiting
// longer than the join window become events, and incidents whose window
// stayed below the threshold long enough a join window before t resolve
// (events up to a join window older than t may still come, but not after
// Close).
func (e *Engine) Advance(ctx context.Context, t int64) error {
	e.advance(ctx, t)
	if e.flushed {
		e.stopLanes() // after Close, nothing else sends what it caused
	}
	return e.takeErr()
}

func (e *Engine) advance(ctx context.Context, t int64) {
	e.ctx = ctx
	if t <= e.now {
		return
	}
	e.now = t
	e.stats.Watermark.Store(t)
	e.corr.Expire(t)
	if minus(t, sweepEvery) >= e.swept {
		e.swept = floorTo(t, sweepEvery)
		// Events up to a join window older than t may still come: from
		// a record waiting for its partner (an app_only login is emitted
		// when the join window ends), or joined elsewhere and published
		// that late. A sweep resolves incidents, and forgets groups, as
		// of then; a group's own next event resolves its incident first
		// if due (see ruleState.add).
		lag := e.corr.window
		if e.flushed {
			lag = 0
		}
		e.sweep(minus(t, lag))
	}
}

// Close emits what waits in the correlator, as at the end of the input.
// Incidents still firing stay open: the input ended, the campaign may not
// have.
func (e *Engine) Close(ctx context.Context) error {
	e.ctx = ctx
	e.corr.Flush()
	e.flushed = true
	e.stopLanes()
	return e.takeErr()
}

// Stop sends what the records taken so far caused and ends the lanes'
// goroutines, as Close does, but emits nothing of what waits in the
// correlator: for a caller that stops before the end of its input (an
// error), so that the alerts are the same whatever the number of lanes.
func (e *Engine) Stop(ctx context.Context) error {
	e.ctx = ctx
	e.stopLanes()
	return e.takeErr()
}

// Sync sends the alerts of every record and advance taken so far, and
// shows OnEvent their events: on several lanes they otherwise go out in
// batches, as the lanes finish them. A caller that notes its input
// positions once their alerts are sent (a server committing offsets)
// calls Sync first. The lanes keep running; on one lane Sync does
// nothing but return the sink's error, if any.
func (e *Engine) Sync(ctx context.Context) error {
	e.ctx = ctx
	e.drain()
	return e.takeErr()
}

// OpenIncidents returns how many incidents are firing.
func (e *Engine) OpenIncidents() int { return int(e.stats.Open.Load()) }

func (e *Engine) takeErr() error {
	err := e.err
	e.err = nil
	return err
}

func (e *Engine) evaluate(ev *event.Event) { e.evaluateOwned(ev, false) }

// evaluateJoined evaluates an event the engine's correlator joined: its
// identity is a string of its own (see Correlator.deriveIdentity), which
// a new group keeps as its key without copying it.
func (e *Engine) evaluateJoined(ev *event.Event) { e.evaluateOwned(ev, true) }

// evaluateOwned evaluates ev; identOwned says ev.Values[event.Identity] is
// a string of its own, not part of a bigger one that keeping it would
// keep alive.
func (e *Engine) evaluateOwned(ev *event.Event, identOwned bool) {
	e.stats.Events.Add(1)
	if e.par != nil {
		e.dispatch(ev, identOwned)
		return
	}
	e.ev.reset()
	e.ev.identOwned = identOwned
	e.one.evaluate(ev, &e.ev)
	e.one.flush()
	if e.onEvent != nil {
		e.onEvent(ev)
	}
}

func (e *Engine) send(a *alert.Alert) {
	e.stats.Alerts.Add(1)
	if err := e.sink.Send(e.ctx, a); err != nil && e.err == nil {
		e.err = fmt.Errorf("sending alert %s: %w", a.ID, err)
	}
}

// sweep resolves incidents whose window fell below the threshold and drops
// groups with nothing left to remember.
func (e *Engine) sweep(now int64) {
	if e.par != nil {
		e.dispatchSweep(now)
		return
	}
	e.one.sweep(now)
	e.one.flush()
}

// keepFields returns the fields window entries keep, each once, and the
// distinct fields among them.
func keepFields(rs []*rules.Rule) (keep, distinct []event.Field) {
	seen := map[event.Field]bool{}
	add := func(f event.Field) {
		if !seen[f] {
			seen[f] = true
			keep = append(keep, f)
		}
	}
	// The evidence is the first three, in this order.
	add(event.UserName)
	add(event.RequestID)
	add(event.SourceIP)
	hashed := map[event.Field]bool{}
	for _, r := range rs {
		if r.HasDistinct && r.Distinct.Derived == rules.NotDerived {
			add(r.Distinct.Field)
			if !hashed[r.Distinct.Field] {
				hashed[r.Distinct.Field] = true
				distinct = append(distinct, r.Distinct.Field)
			}
		}
	}
	return keep, distinct
}

// keyRoom returns the fields of the rules' different group keys of
// several values that are all plain fields.
func keyRoom(rs []*rules.Rule) [][]event.Field {
	var out [][]event.Field
next:
	for _, r := range rs {
		if len(r.GroupBy) < 2 {
			continue
		}
		fs := make([]event.Field, len(r.GroupBy))
		for i, k := range r.GroupBy {
			if k.Derived != rules.NotDerived {
				continue next
			}
			fs[i] = k.Field
		}
		for _, o := range out {
			if slices.Equal(o, fs) {
				continue next
			}
		}
		out = append(out, fs)
	}
	return out
}
