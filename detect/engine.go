package detect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"strings"
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
	// MaxGroupsTotal caps the groups all rules keep together; beyond it
	// the least recently active group of any rule is evicted (and
	// counted). Zero means DefaultMaxGroupsTotal.
	MaxGroupsTotal int
	// MaxGroupEvents caps the events one group's window keeps; the oldest
	// are dropped (and counted) beyond it.
	MaxGroupEvents int
	// Sink receives the alerts.
	Sink alert.Sink
	// OnEvent, if set, sees every authentication event after the rules.
	OnEvent func(*event.Event)
}

// Defaults for Config.
const (
	DefaultMaxGroups      = 50_000
	DefaultMaxGroupsTotal = 200_000
	DefaultMaxGroupEvents = 20_000
	// sweepEvery is how much event time passes between checks of open
	// incidents and idle groups.
	sweepEvery = int64(time.Second)
)

// Stats counts what the engine did. Safe to read while it runs.
type Stats struct {
	Events        atomic.Int64 // authentication events built
	Late          atomic.Int64 // events older than their group's window
	GroupsEvicted atomic.Int64
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
	stats   Stats
	ctx     context.Context
	err     error
	keyBuf  []byte

	// keepFields are the fields window entries keep (user, request id,
	// source address and the rules' distinct fields). They are copied
	// once per event into one small string (kept), so that an entry does
	// not hold the event's whole value buffer (user agent, certificate
	// names, ...) alive.
	keepFields []event.Field
	kept       [event.NumFields]string
	keptAll    string // the copies, in keepFields order
	keptOK     bool
	keptEv     *evidence
	// hashFields are the distinct fields the rules count (a subset of
	// keepFields); hashes holds their kept values' hashes under seed,
	// made with the copies, for every rule's distinct counts.
	seed       maphash.Seed
	hashFields []event.Field
	hashes     [event.NumFields]uint64
	// probe holds the typing-slip variants of the current event's
	// username, made for the first rule that looks for a typo.
	probe typoProbe
	// ident and key are the certificate identity and the last group key
	// a group was created with for the current event: rules grouping by
	// the same fields share them instead of each keeping a copy.
	ident   *alert.Identity
	lastKey string
	// hashedKey and keyH are the last group key hashed and its hash:
	// consecutive rules grouping by the same fields hash it once.
	hashedKey []byte
	keyH      uint64
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
	e := &Engine{sink: c.Sink, onEvent: c.OnEvent, maxEv: c.MaxGroupEvents, seed: maphash.MakeSeed(),
		now: math.MinInt64, swept: math.MinInt64}
	e.keepFields, e.hashFields = keepFields(c.Rules)
	e.probe.seed = e.seed
	var err error
	if e.corr, err = NewCorrelator(c.Correlator, e.evaluate); err != nil {
		return nil, fmt.Errorf("configuring the correlator: %w", err)
	}
	all := newGroupBudget(c.MaxGroupsTotal)
	for _, r := range c.Rules {
		rs := &ruleState{rule: r, eng: e, stats: &RuleStats{Rule: r.ID, Severity: r.Severity}}
		rs.groups = newGroupSet(c.MaxGroups, all, func(g *group) {
			rs.stats.Groups.Add(-1)
			e.stats.GroupsEvicted.Add(1)
			if g.inc != nil {
				e.stats.Open.Add(-1)
				delete(rs.open, g.key)
			}
			rs.recycle(g)
		})
		e.rules = append(e.rules, rs)
	}
	return e, nil
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
func (e *Engine) Add(ctx context.Context, r *event.Record) error {
	if err := e.Advance(ctx, r.Time); err != nil {
		return err
	}
	e.corr.Add(r)
	return e.takeErr()
}

// AddEvent takes an authentication event that was joined elsewhere (by a
// correlate stage publishing to Kafka, say) and evaluates the rules on it.
// The engine does not keep ev.
func (e *Engine) AddEvent(ctx context.Context, ev *event.Event) error {
	if err := e.Advance(ctx, ev.Time); err != nil {
		return err
	}
	e.evaluate(ev)
	return e.takeErr()
}

// MaxWindow returns the longest rule window: how much event time a
// restarted engine must read again to rebuild its state.
func (e *Engine) MaxWindow() time.Duration {
	var m time.Duration
	for _, r := range e.rules {
		if r.rule.Window > m {
			m = r.rule.Window
		}
	}
	return m
}

// Advance moves event time forward to t (never back): records waiting
// longer than the join window become events, and incidents whose window
// has emptied resolve.
func (e *Engine) Advance(ctx context.Context, t int64) error {
	e.ctx = ctx
	if t <= e.now {
		return e.takeErr()
	}
	e.now = t
	e.stats.Watermark.Store(t)
	e.corr.Expire(t)
	if minus(t, sweepEvery) >= e.swept {
		e.swept = floorTo(t, sweepEvery)
		e.sweep(t)
	}
	return e.takeErr()
}

// Close emits what waits in the correlator, as at the end of the input.
// Incidents still firing stay open: the input ended, the campaign may not
// have.
func (e *Engine) Close(ctx context.Context) error {
	e.ctx = ctx
	e.corr.Flush()
	return e.takeErr()
}

// OpenIncidents returns how many incidents are firing.
func (e *Engine) OpenIncidents() int { return int(e.stats.Open.Load()) }

func (e *Engine) takeErr() error {
	err := e.err
	e.err = nil
	return err
}

func (e *Engine) evaluate(ev *event.Event) {
	e.stats.Events.Add(1)
	e.keptOK, e.keptEv, e.ident = false, nil, nil
	e.probe.reset()
	for _, rs := range e.rules {
		if rs.rule.Filter.Match(ev) {
			rs.add(ev)
		}
	}
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
	for _, rs := range e.rules {
		rs.sweep(now)
	}
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

// keep returns the owned copies of ev's kept fields, made on the first
// call for an event: one allocation per event however many rules keep it.
func (e *Engine) keep(ev *event.Event) *[event.NumFields]string {
	if e.keptOK {
		return &e.kept
	}
	e.keptOK = true
	n := 0
	for _, f := range e.keepFields {
		n += len(ev.Values[f])
	}
	var b strings.Builder
	b.Grow(n)
	for _, f := range e.keepFields {
		b.WriteString(ev.Values[f])
	}
	all := b.String()
	e.keptAll = all
	off := 0
	for _, f := range e.keepFields {
		l := len(ev.Values[f])
		e.kept[f] = all[off : off+l]
		off += l
	}
	for _, f := range e.hashFields {
		e.hashes[f] = maphash.String(e.seed, e.kept[f])
	}
	return &e.kept
}

// keyHash returns the hash of keyBuf, the group key a rule just built.
func (e *Engine) keyHash() uint64 {
	if !bytes.Equal(e.keyBuf, e.hashedKey) || e.hashedKey == nil {
		e.hashedKey = append(e.hashedKey[:0], e.keyBuf...)
		e.keyH = maphash.Bytes(e.seed, e.keyBuf)
	}
	return e.keyH
}

// evidence returns the current event's evidence; keep must have been
// called for the event.
func (e *Engine) evidence() *evidence {
	if e.keptEv == nil {
		// keepFields puts the username, request id and address first.
		nu, nr, ni := len(e.kept[event.UserName]), len(e.kept[event.RequestID]), len(e.kept[event.SourceIP])
		e.keptEv = newEvidence(e.keptAll[:nu+nr+ni], nu, nr)
	}
	return e.keptEv
}
