package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// ErrQueueFull is returned by Send when a sink's bounded queue is full; the
// alert is dropped and counted in SinkStats.Dropped.
var ErrQueueFull = errors.New("alert queue full")

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("sink closed")

// SinkStats are a sink's delivery counters. Fields are updated atomically
// and may be read at any time (a metrics collector reads them).
type SinkStats struct {
	Name       string       // sink name from its configuration
	Type       string       // sink type: file, webhook, kafka, ...
	QueueDepth atomic.Int64 // alerts accepted but not yet delivered
	Delivered  atomic.Uint64
	Failures   atomic.Uint64 // failed delivery attempts
	Retries    atomic.Uint64 // attempts after a failure
	Dropped    atomic.Uint64 // alerts given up on (refused by Send: queue or spool full, write error; attempts exhausted; still queued or being written when a shutdown ended)
	// Resent counts the alerts a sink posted again, successfully, to keep
	// them active at their destination (Alertmanager's periodic re-sends
	// of the firing incidents): not new deliveries, so not in Delivered.
	// A re-send that fails is counted in Failures.
	Resent     atomic.Uint64
	SpoolBytes atomic.Int64 // bytes held in the on-disk spool
}

// A StatsSink is a sink that reports delivery counters.
type StatsSink interface {
	Sink
	Stats() *SinkStats
}

// Route selects the alerts a sink receives: those at or above MinSeverity
// (all when empty) whose rule is in Rules (all when empty).
type Route struct {
	MinSeverity string
	Rules       []string
}

// Match reports whether a is routed.
func (r Route) Match(a *Alert) bool {
	if r.MinSeverity != "" && SeverityRank(a.Severity) < SeverityRank(r.MinSeverity) {
		return false
	}
	if len(r.Rules) == 0 {
		return true
	}
	for _, rule := range r.Rules {
		if rule == a.Rule {
			return true
		}
	}
	return false
}

// Routed is a sink with its route.
type Routed struct {
	Sink  Sink
	Route Route
}

// Fanout is a sink sending each alert to every sink whose route matches.
// An output that fails to take an alert does not fail the fan-out: the
// alert is dropped and counted for that output (its SinkStats.Dropped),
// the drop is logged, and the other outputs still get it. The failures of
// the outputs that deliver on goroutines of their own (failed attempts,
// alerts given up on) are logged too, and their recovery.
type Fanout struct {
	sinks []Routed
	logs  []*deliveryLog // per sink

	mu        sync.Mutex
	lim       LogLimit
	logging   bool   // SetLogger gave a logger
	stopTicks func() // stops the goroutine logging what is due; nil if none runs
}

// NewFanout returns a sink sending to the given routed sinks.
func NewFanout(sinks ...Routed) *Fanout {
	f := &Fanout{sinks: sinks, logs: make([]*deliveryLog, len(sinks))}
	for i, s := range sinks {
		dl := newDeliveryLog("", "")
		if ls, ok := s.Sink.(interface{ deliveryLog() *deliveryLog }); ok {
			dl = ls.deliveryLog()
		}
		var typ string
		if ss, ok := s.Sink.(StatsSink); ok {
			typ = ss.Stats().Type
		}
		dl.label(f.name(i), typ)
		f.logs[i] = dl
	}
	return f
}

// SetLogger sets the logger of the outputs' failures (by default they are
// only counted): for each output, the first failed delivery of each
// outage is logged at once with its error, then at most one line per
// LogLimit.Every says how many failed since, and a line says when the
// output delivers again; the first alerts dropped are logged at once with
// the reason, then at most one line per LogLimit.Every. What the pace
// holds back is logged once Every has passed, by a goroutine that Close
// or Shutdown stops. Call it before the first Send.
func (f *Fanout) SetLogger(l *slog.Logger) {
	if l == nil {
		return
	}
	for _, dl := range f.logs {
		dl.setLogger(l)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logging = true
	f.startTicks()
}

// SetLogLimit sets the pace of the outputs' log lines (tests pass a clock
// and ticks of their own). Call it before the first Send.
func (f *Fanout) SetLogLimit(lim LogLimit) {
	for _, dl := range f.logs {
		dl.setLimit(lim)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lim = lim
	if f.logging {
		f.startTicks()
	}
}

// startTicks starts (or restarts, with the limit set now) the goroutine
// that logs, on each tick, what the outputs' logs held back and is due.
// f.mu is held.
func (f *Fanout) startTicks() {
	f.stopTicksLocked()
	if len(f.logs) == 0 {
		return
	}
	tick := f.lim.Tick
	var ticker *time.Ticker
	if tick == nil {
		ticker = time.NewTicker(f.lim.tickEvery())
		tick = ticker.C
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if ticker != nil {
			defer ticker.Stop()
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick:
				for _, dl := range f.logs {
					dl.tick()
				}
			}
		}
	}()
	f.stopTicks = func() {
		cancel()
		<-done
	}
}

// stopTicksLocked stops the goroutine startTicks started, if it runs, and
// waits for it to end. f.mu is held.
func (f *Fanout) stopTicksLocked() {
	if f.stopTicks != nil {
		f.stopTicks()
		f.stopTicks = nil
	}
}

// endLogs stops the ticks and logs what the outputs' logs still hold
// back: the fan-out's outputs are closed.
func (f *Fanout) endLogs() {
	f.mu.Lock()
	f.stopTicksLocked()
	f.logging = false
	f.mu.Unlock()
	f.flushLogs()
}

// Send passes a to every routed sink. It does not return their errors:
// an output that fails to take a (its queue or spool full, a write
// error, closed) counts a as dropped, and the drop is logged.
func (f *Fanout) Send(ctx context.Context, a *Alert) error {
	for i, s := range f.sinks {
		if !s.Route.Match(a) {
			continue
		}
		if err := s.Sink.Send(ctx, a); err != nil {
			f.logs[i].drop(1, sendReason(err), err)
		}
	}
	return nil
}

// Recall tells a to every routed sink that is a Recaller: those Send
// would have passed it to.
func (f *Fanout) Recall(a *Alert) {
	for _, s := range f.sinks {
		if s.Route.Match(a) {
			Recall(s.Sink, a)
		}
	}
}

// BeginRebuild tells every sink that is a Rebuilder that a rebuild
// begins, whatever its route: an incident the route takes is forgotten
// unless it is recalled or sent again.
func (f *Fanout) BeginRebuild() {
	for _, s := range f.sinks {
		BeginRebuild(s.Sink)
	}
}

// EndRebuild tells every sink that is a Rebuilder that the rebuild ended.
func (f *Fanout) EndRebuild() {
	for _, s := range f.sinks {
		EndRebuild(s.Sink)
	}
}

// sendReason is the reason of a drop whose Send returned err.
func sendReason(err error) string {
	switch {
	case errors.Is(err, ErrQueueFull):
		return dropQueueFull
	case errors.Is(err, ErrClosed):
		return dropClosed
	case errors.Is(err, errTooLarge):
		return dropTooLarge
	}
	return dropNotTaken
}

// name returns the name of sink i for the log: its name, or its type when
// it has none (as its metrics do).
func (f *Fanout) name(i int) string {
	if ss, ok := f.sinks[i].Sink.(StatsSink); ok {
		st := ss.Stats()
		if st.Name != "" {
			return st.Name
		}
		if st.Type != "" {
			return st.Type
		}
	}
	return fmt.Sprintf("#%d", i)
}

// flushLogs logs what the outputs' logs hold back: the failures and drops
// not logged yet for the pace.
func (f *Fanout) flushLogs() {
	for _, dl := range f.logs {
		dl.flush()
	}
}

// Delivery is what one output of a fan-out did with the alerts routed to
// it so far.
type Delivery struct {
	Output    string // the output's name, or its type when it has none
	Type      string
	Delivered uint64
	Dropped   uint64
	// Held counts the alerts the output has taken and not delivered:
	// queued or being written, or in the webhook's spool. After the
	// fan-out's Close or Shutdown, the alerts left in the spool.
	Held int64
	// FirstCause and Cause are the first and the last failure: the
	// error of a failed delivery attempt, or the cause of a drop (its
	// reason when there is no error); nil if the output has not failed.
	FirstCause, Cause error
}

// Deliveries returns, per output, what it did with its alerts.
func (f *Fanout) Deliveries() []Delivery {
	out := make([]Delivery, len(f.sinks))
	for i, s := range f.sinks {
		d := Delivery{Output: f.name(i)}
		d.FirstCause, d.Cause = f.logs[i].causes()
		if ss, ok := s.Sink.(StatsSink); ok {
			st := ss.Stats()
			d.Type, d.Delivered, d.Dropped, d.Held = st.Type, st.Delivered.Load(), st.Dropped.Load(), st.QueueDepth.Load()
		}
		out[i] = d
	}
	return out
}

// Close closes every sink concurrently (each drains with its own deadline).
func (f *Fanout) Close() error {
	errs := make([]error, len(f.sinks))
	var wg sync.WaitGroup
	for i, s := range f.sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Sink.Close()
		}()
	}
	wg.Wait()
	f.endLogs()
	return errors.Join(errs...)
}

// Undelivered is what one output had not delivered when a Fanout.Shutdown
// ended. Dropped and Interrupted are counted in the output's
// SinkStats.Dropped (the spraywatch_sink_dropped_total metric).
type Undelivered struct {
	Output string // the output's name, or its type when it has none
	Type   string
	// Dropped counts the alerts the output had taken (their Send had
	// returned) and gave up on during the shutdown: a memory queue not
	// drained by its drain deadline or by the end of the shutdown's
	// context, a webhook delivery refused for good. A caller that
	// records its progress once Send returns has recorded them as sent.
	Dropped int64
	// Interrupted counts the alerts of writes given up on while their
	// Send had not returned (stdout or a file that does not take the
	// line): the caller never saw them taken.
	Interrupted int64
	// Spooled counts the alerts left in the output's on-disk spool
	// (webhook): the next sink opened on the spool delivers them.
	Spooled int64
	// Unfinished says the output was still closing when the context
	// ended (a write that cannot be interrupted): it is left behind.
	Unfinished bool
}

// left is what a sink's shutdown left undelivered, beyond the alerts it
// counted dropped.
type left struct {
	interrupted int64 // dropped while their Send had not returned
	spooled     int64 // kept in the on-disk spool
	unfinished  bool
}

// shutdowner is a sink whose Close a context can cut short: it stops
// accepting alerts, delivers what it holds until its own drain deadline
// or the end of ctx, whichever comes first, and gives up on the rest,
// counted dropped. It returns soon after ctx ends.
type shutdowner interface {
	shutdown(ctx context.Context) (left, error)
}

// shutdown closes s within ctx. A sink of another package is waited for
// until ctx ends, then left to close on its own.
func shutdown(ctx context.Context, s Sink) (left, error) {
	if sd, ok := s.(shutdowner); ok {
		return sd.shutdown(ctx)
	}
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		return left{}, err
	case <-ctx.Done():
		return left{unfinished: true}, nil
	}
}

// Shutdown closes every sink concurrently, as Close does, but gives up on
// them when ctx ends: each output still delivers what it holds for its
// own drain deadline at most, and no longer than ctx lasts. A queued
// output drops (and counts) the alerts it still holds then, a webhook
// keeps them in its spool, and an output stuck in a write (stdout piped to
// a reader that does not read) is left behind, the alert it was writing
// dropped and counted. Shutdown returns, soon after ctx ends at the
// latest, what each output did not deliver (only the outputs that left
// something) and the errors of closing them.
func (f *Fanout) Shutdown(ctx context.Context) ([]Undelivered, error) {
	before := make([]uint64, len(f.sinks))
	for i, s := range f.sinks {
		if ss, ok := s.Sink.(StatsSink); ok {
			before[i] = ss.Stats().Dropped.Load()
		}
	}
	lefts := make([]left, len(f.sinks))
	errs := make([]error, len(f.sinks))
	var wg sync.WaitGroup
	for i, s := range f.sinks {
		wg.Go(func() { lefts[i], errs[i] = shutdown(ctx, s.Sink) })
	}
	wg.Wait()
	f.endLogs()
	var out []Undelivered
	for i, s := range f.sinks {
		l := lefts[i]
		u := Undelivered{Output: f.name(i), Interrupted: l.interrupted, Spooled: l.spooled, Unfinished: l.unfinished}
		if ss, ok := s.Sink.(StatsSink); ok {
			st := ss.Stats()
			u.Type = st.Type
			u.Dropped = max(int64(st.Dropped.Load()-before[i])-u.Interrupted, 0)
		}
		if u.Dropped > 0 || u.Interrupted > 0 || u.Spooled > 0 || u.Unfinished {
			out = append(out, u)
		}
		if errs[i] != nil {
			errs[i] = fmt.Errorf("closing output %s: %w", u.Output, errs[i])
		}
	}
	return out, errors.Join(errs...)
}

// Stats returns the counters of every sink that keeps them.
func (f *Fanout) Stats() []*SinkStats {
	var out []*SinkStats
	for _, s := range f.sinks {
		if ss, ok := s.Sink.(StatsSink); ok {
			out = append(out, ss.Stats())
		}
	}
	return out
}

// Backoff computes retry delays: Initial doubled per attempt up to Max,
// with "equal jitter" (a random point in the upper half of the delay) drawn
// from Rand. A nil Rand means no jitter.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	Rand    *rand.Rand

	mu sync.Mutex
}

// Delay returns the wait before retry number attempt (0 for the first retry).
func (b *Backoff) Delay(attempt int) time.Duration {
	d := b.Initial
	if d <= 0 {
		d = 100 * time.Millisecond
	}
	maxD := b.Max
	if maxD <= 0 {
		maxD = 30 * time.Second
	}
	for i := 0; i < attempt && d < maxD; i++ {
		d *= 2
	}
	if d > maxD {
		d = maxD
	}
	if b.Rand == nil {
		return d
	}
	b.mu.Lock()
	j := b.Rand.Int64N(int64(d/2) + 1)
	b.mu.Unlock()
	return d/2 + time.Duration(j)
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// clone returns a deep copy of a, so a sink may keep it after Send returns:
// the alert its JSON line decodes to. Its strings are copied, with each
// byte of invalid UTF-8 replaced by U+FFFD as in the JSON output; a map
// key that becomes another one after that keeps the value the line has
// last. A zero float that the line omits (omitempty) is +0. A NaN or
// infinite float fails, as AppendJSON does. TestCloneEveryField compares
// it with a round trip through encoding/json for every field.
func clone(a *Alert) (*Alert, error) {
	if a == nil {
		return new(Alert), nil // the line is null
	}
	if !a.finite() {
		return nil, a.floatErr()
	}
	c := *a
	c.Schema = cloneString(a.Schema)
	c.ID = cloneString(a.ID)
	c.IncidentID = cloneString(a.IncidentID)
	c.Rule = cloneString(a.Rule)
	c.Description = cloneString(a.Description)
	c.Severity = cloneString(a.Severity)
	c.Status = cloneString(a.Status)
	c.Group = cloneMap(a.Group)
	if a.Identity != nil {
		id := *a.Identity
		id.Subject = cloneString(id.Subject)
		id.Issuer = cloneString(id.Issuer)
		id.SHA1 = cloneString(id.SHA1)
		id.SHA256 = cloneString(id.SHA256)
		id.Serial = cloneString(id.Serial)
		c.Identity = &id
	}
	c.FirstSeen = cloneString(a.FirstSeen)
	c.LastSeen = cloneString(a.LastSeen)
	c.ResolvedAt = cloneString(a.ResolvedAt)
	c.Window = cloneString(a.Window)
	c.Measure = cloneString(a.Measure)
	c.Sample.UserNames = cloneStrings(a.Sample.UserNames)
	c.Sample.RequestIDs = cloneStrings(a.Sample.RequestIDs)
	c.Sample.SourceIPs = cloneStrings(a.Sample.SourceIPs)
	c.Threat.Framework = cloneString(a.Threat.Framework)
	c.Threat.Technique.ID = cloneString(a.Threat.Technique.ID)
	c.Threat.Technique.Name = cloneString(a.Threat.Technique.Name)
	c.Summary = cloneString(a.Summary)
	if a.Reason != nil {
		r := *a.Reason
		r.Type = cloneString(r.Type)
		r.Measure = cloneString(r.Measure)
		r.Ratio = omittedZero(r.Ratio)
		r.BaselineMean = cloneFloat(r.BaselineMean)
		r.BaselineSpread = cloneFloat(r.BaselineSpread)
		r.Sigma = omittedZero(r.Sigma)
		c.Reason = &r
	}
	if a.Classification != nil {
		cl := *a.Classification
		cl.Kind = cloneString(cl.Kind)
		cl.Basis = cloneString(cl.Basis)
		c.Classification = &cl
	}
	c.Account = cloneString(a.Account)
	return &c, nil
}

// finite reports whether every float of a is a number encoding/json
// encodes (not NaN or infinite).
func (a *Alert) finite() bool {
	ok := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	if !ok(a.Threshold) || !ok(a.Observed) {
		return false
	}
	if r := a.Reason; r != nil {
		if !ok(r.Threshold) || !ok(r.Observed) || !ok(r.Ratio) || !ok(r.Sigma) ||
			r.BaselineMean != nil && !ok(*r.BaselineMean) || r.BaselineSpread != nil && !ok(*r.BaselineSpread) {
			return false
		}
	}
	return a.Classification == nil || ok(a.Classification.MeanAttemptsPerUser)
}

// cloneString returns a copy of s (not sharing its bytes) with each byte of
// invalid UTF-8 replaced by U+FFFD, as encoding/json writes it.
func cloneString(s string) string {
	if utf8.ValidString(s) {
		return strings.Clone(s)
	}
	// Ranging over s yields utf8.RuneError for each invalid byte.
	b := make([]byte, 0, len(s)+8)
	for _, r := range s {
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}

// cloneStrings copies ss with cloneString; nil stays nil, empty stays
// empty (null and [] in the JSON).
func cloneStrings(ss []string) []string {
	if ss == nil {
		return nil
	}
	c := make([]string, len(ss))
	for i, s := range ss {
		c[i] = cloneString(s)
	}
	return c
}

// cloneMap copies m with cloneString. Keys that are invalid UTF-8 may
// become equal: they are copied in the JSON's (sorted) order, so the
// value written last wins, as when the line is decoded.
func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	valid := true
	for k, v := range m {
		valid = valid && utf8.ValidString(k)
		c[cloneString(k)] = cloneString(v)
	}
	if valid {
		return c
	}
	clear(c)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		c[cloneString(k)] = cloneString(m[k])
	}
	return c
}

func cloneFloat(f *float64) *float64 {
	if f == nil {
		return nil
	}
	c := *f
	return &c
}

// omittedZero returns f, or +0 if f is -0: an omitempty float that is zero
// is left out of the JSON and decodes as +0.
func omittedZero(f float64) float64 {
	if f == 0 {
		return 0
	}
	return f
}

// groupValues returns the alert's group values ordered by key, joined by
// ",". A group of one value gives the value as it is; with several, "\"
// and "," in each value are escaped with a backslash, so that two groups
// never give the same string ("a,b" and "c" give `a\,b,c`; "a" and
// "b,c" give `a,b\,c`).
func groupValues(g map[string]string) string {
	if len(g) == 1 {
		for _, v := range g {
			return v
		}
	}
	return joinGroup(g, func(b []byte, _, v string) []byte { return appendEscaped(b, v) })
}

// JoinValues joins the values of a group for a label: one value as it
// is; several joined by ",", each with its "," and "\" escaped by "\", so
// that two groups never share a label (values come from the logs, and a
// client may put commas in them).
func JoinValues(vals []string) string {
	if len(vals) == 1 {
		return vals[0]
	}
	var b []byte
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEscaped(b, v)
	}
	return string(b)
}

// appendEscaped appends v to b with "," and "\" escaped by "\".
func appendEscaped(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		if v[i] == ',' || v[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, v[i])
	}
	return b
}

// groupPairs returns the alert's group as key=value pairs ordered by key,
// joined by ",".
func groupPairs(g map[string]string) string {
	return joinGroup(g, func(b []byte, k, v string) []byte { return fmt.Appendf(b, "%s=%s", k, v) })
}

// joinGroup appends each entry of g, ordered by key, with entry, and
// joins them by ",".
func joinGroup(g map[string]string, entry func(b []byte, k, v string) []byte) string {
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b []byte
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = entry(b, k, g[k])
	}
	return string(b)
}

// deliverFunc delivers a batch of alerts in one attempt.
type deliverFunc func(ctx context.Context, batch []*Alert) error

// QueueOptions tune a network sink's queue and retries.
type QueueOptions struct {
	Size         int           // queued alerts at most; default 1024
	MaxBatch     int           // alerts per delivery at most; default 64
	MaxAttempts  int           // delivery attempts per batch; default 5, <0 unlimited
	DrainTimeout time.Duration // how long Close keeps delivering; default 5s
	Backoff      *Backoff
}

func (o *QueueOptions) defaults() {
	if o.Size <= 0 {
		o.Size = 1024
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 64
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 5
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 5 * time.Second
	}
	if o.Backoff == nil {
		o.Backoff = &Backoff{}
	}
}

// queue runs deliveries for a network sink on its own goroutine behind a
// bounded channel. Send never waits for the network.
type queue struct {
	opts    QueueOptions
	stats   *SinkStats
	deliver deliverFunc
	tick    func(ctx context.Context) // called every tickEvery, if set
	every   time.Duration
	ticks   <-chan time.Time // if set, the ticks instead of every (tests)
	// gaveUp, if set, is told of a batch dropped undelivered (on the
	// delivery goroutine).
	gaveUp func(batch []*Alert)
	// onClosed, if set, runs once the queue is shut down and drained.
	onClosed func()
	dlog     *deliveryLog
	// onWake, if set, is called on the delivery goroutine, between
	// deliveries, when wake receives.
	wake   <-chan struct{}
	onWake func()
	// handled is the number of alerts taken from ch and delivered or
	// given up on (delivery goroutine only).
	handled uint64

	parent  context.Context // the sink's lifetime
	started sync.Once

	lifetime
	ch chan *Alert // closed by Close, under mu
}

// newQueue returns a queue delivering with deliver until ctx ends or it is
// closed. Its goroutine starts with start, or with the first Send or Close
// (so set tick and every before either): a queue nobody started still
// delivers what it was given and Close returns.
func newQueue(ctx context.Context, stats *SinkStats, opts QueueOptions, deliver deliverFunc) *queue {
	opts.defaults()
	q := &queue{opts: opts, stats: stats, deliver: deliver, parent: ctx, ch: make(chan *Alert, opts.Size)}
	q.dlog = newDeliveryLog(stats.Name, stats.Type)
	q.init(ctx)
	return q
}

// deliveryLog returns the log of the queue's deliveries.
func (q *queue) deliveryLog() *deliveryLog { return q.dlog }

// start starts the delivery goroutine, once.
func (q *queue) start() {
	q.started.Do(func() {
		go q.run()
		q.closeWhenDone(q.parent, q.Close)
	})
}

// Send enqueues a copy of a, or drops it (counted) when the queue is full.
func (q *queue) Send(_ context.Context, a *Alert) error {
	q.start()
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		q.stats.Dropped.Add(1)
		return ErrClosed
	}
	c, err := clone(a)
	if err != nil {
		q.stats.Dropped.Add(1)
		return fmt.Errorf("%s sink %q: copying alert %s: %w", q.stats.Type, q.stats.Name, a.ID, err)
	}
	select {
	case q.ch <- c:
		q.stats.QueueDepth.Add(1)
		return nil
	default:
		q.stats.Dropped.Add(1)
		return fmt.Errorf("%s sink %q: alert %s: %w", q.stats.Type, q.stats.Name, a.ID, ErrQueueFull)
	}
}

// Close stops accepting alerts and delivers what is queued until the drain
// deadline; alerts still queued then are dropped and counted.
func (q *queue) Close() error {
	_, err := q.shutdown(context.Background())
	return err
}

// shutdown is Close, cut short when ctx ends: the alerts still queued then
// are dropped and counted too.
func (q *queue) shutdown(ctx context.Context) (left, error) {
	if !q.shut(ctx, func() { close(q.ch) }) {
		return left{}, nil
	}
	q.start() // if no Send did: run delivers what is queued, then ends
	q.drain(ctx, q.opts.DrainTimeout)
	if q.onClosed != nil {
		q.onClosed()
	}
	return left{}, nil
}

func (q *queue) run() {
	defer close(q.done)
	tickC := q.ticks
	if q.tick != nil && q.every > 0 && tickC == nil {
		t := time.NewTicker(q.every)
		defer t.Stop()
		tickC = t.C
	}
	batch := make([]*Alert, 0, q.opts.MaxBatch)
	for {
		select {
		case a, ok := <-q.ch:
			if !ok {
				return
			}
			batch = append(batch[:0], a)
		fill:
			for len(batch) < q.opts.MaxBatch {
				select {
				case a, ok := <-q.ch:
					if !ok {
						break fill
					}
					batch = append(batch, a)
				default:
					break fill
				}
			}
			q.send(batch)
			q.handled += uint64(len(batch))
			q.stats.QueueDepth.Add(-int64(len(batch)))
			clear(batch)
		case <-tickC:
			q.tick(q.ctx)
		case <-q.wake:
			q.onWake()
		}
	}
}

// send delivers batch with retries; on giving up it counts the alerts
// dropped. Failed attempts and drops are logged, but not the attempt a
// stop cut short. An alert too large for the output (the delivery failed
// with an *oversizeError) is dropped alone, at once: the others of its
// batch are delivered without it.
func (q *queue) send(batch []*Alert) {
	if len(batch) == 0 {
		return
	}
	var last error // the last attempt's error, unless a stop cut it short
	for attempt := 0; ; attempt++ {
		if q.ctx.Err() != nil {
			q.giveUp(batch, dropStopped, last)
			return
		}
		if attempt > 0 {
			q.stats.Retries.Add(1)
		}
		err := q.deliver(q.ctx, batch)
		if err == nil {
			q.stats.Delivered.Add(uint64(len(batch)))
			q.dlog.delivered()
			return
		}
		q.stats.Failures.Add(1)
		if q.ctx.Err() != nil {
			q.giveUp(batch, dropStopped, last)
			return
		}
		var oe *oversizeError
		if errors.As(err, &oe) {
			q.isolate(batch, oe)
			return
		}
		last = err
		q.dlog.failedAttempt(err)
		if q.opts.MaxAttempts > 0 && attempt+1 >= q.opts.MaxAttempts {
			q.giveUp(batch, dropAttempts, err)
			return
		}
		if !sleep(q.ctx, q.opts.Backoff.Delay(attempt)) {
			q.giveUp(batch, dropStopped, err)
			return
		}
	}
}

// isolate handles a delivery of batch that failed for the size of an
// alert: retrying the batch would fail again, and dropping it would drop
// the alerts that fit with the one that does not. The alert err names
// is dropped alone (reason dropOversize) and the rest of the batch is
// sent on; when err does not say which alert it is, each alert not
// delivered is sent on its own, so that only those too large are
// dropped.
func (q *queue) isolate(batch []*Alert, err *oversizeError) {
	if err.At < 0 && len(batch) > 1 {
		rest := batch
		if err.Left != nil {
			rest = make([]*Alert, 0, len(err.Left))
			for _, i := range err.Left {
				rest = append(rest, batch[i])
			}
			if n := len(batch) - len(rest); n > 0 {
				q.stats.Delivered.Add(uint64(n))
				q.dlog.delivered()
			}
		}
		for _, a := range rest {
			q.send([]*Alert{a})
		}
		return
	}
	at := min(max(err.At, 0), len(batch)-1)
	if at > 0 {
		q.stats.Delivered.Add(uint64(at))
		q.dlog.delivered()
	}
	// Not told to gaveUp: an Alertmanager would re-send the alert (and
	// fail) with every firing incident.
	q.stats.Dropped.Add(1)
	q.dlog.drop(1, dropOversize, err)
	q.send(batch[at+1:])
}

// errOversize marks the failure of a delivery for the size of an alert:
// no retry can deliver it.
var errOversize = errors.New("alert too large for the output")

// An oversizeError is the failure of a delivery for the size of one of
// its alerts, which the output (or the receiver) cannot take. At is the
// index of that alert in the batch, the alerts before it delivered and
// those after it not sent. At < 0: the output does not know which alert
// it is; Left then holds the indexes of the alerts not delivered (nil:
// none of the batch may have been delivered).
type oversizeError struct {
	At   int
	Left []int
	Err  error
}

func (e *oversizeError) Error() string   { return e.Err.Error() }
func (e *oversizeError) Unwrap() []error { return []error{errOversize, e.Err} }

// giveUp counts batch dropped for reason (err its cause, if known), logs
// it and tells gaveUp.
func (q *queue) giveUp(batch []*Alert, reason string, err error) {
	q.stats.Dropped.Add(uint64(len(batch)))
	q.dlog.drop(len(batch), reason, err)
	if q.gaveUp != nil {
		q.gaveUp(batch)
	}
}
