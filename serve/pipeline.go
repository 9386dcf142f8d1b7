package serve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest/kafka"
	"github.com/spraywatch/spraywatch/replay"
	"github.com/spraywatch/spraywatch/rules"
)

// partition is one assigned topic partition: its reader, its queue of
// records in offset order and its watermark bookkeeping.
type partition struct {
	topic string
	id    int
	kind  event.Kind
	order int // topic rank: ties in event time go to the proxy topic

	reader *kafkago.Reader
	stats  *partStats

	q  []*item
	qh int

	next        int64 // offset after the last message received
	committed   int64 // last offset committed (or found committed)
	replayUntil int64 // offsets below it were processed before: alerts muted
	rebuilt     bool
	seen        bool
	lastSeen    int64     // newest event time received
	lastArrival time.Time // when the last message arrived (or the reader opened)
	blocked     time.Time // since when the partition, empty, holds the others back
	highWater   int64     // the partition's high watermark at the last fetch (-1: unknown)
	// rewind is how much event time before the committed offset a restart
	// reads again, as committed with it (0: none committed, the span).
	rewind time.Duration
	// state is the rebuild state committed with the offset (nil: none).
	state *rebuildState
	// lastTime is the event time of the last record released (if
	// released): the message before the committed offset, from which a
	// restart rewinds.
	lastTime int64
	released bool
	// line checks the partition's record times (see timeline).
	line timeline[*item]
	// missingAtFirst says the partition is read again from a point whose
	// time is unknown (no rebuild state was committed): its first record's
	// time tells where events start to be missing (see open).
	missingAtFirst bool
	// rewindFailed says the partition could not be rewound: it is read
	// from its committed offset, and its first record tells.
	rewindFailed bool
	// from says from which offsets the partition's lines and records are
	// counted: those before were counted by an earlier pipeline of the
	// process (or, before the committed offset, when first read). Set
	// before the reader starts, it does not change.
	from counted
	// readTo is the offset after the last message the reader decoded
	// (written by the reader goroutine only).
	readTo int64
}

// undecided returns the offset of the partition's oldest record not yet
// released nor rejected (or the next one to fetch): what is committed.
func (p *partition) undecided() int64 {
	off := p.next
	if !p.empty() {
		off = p.head().offset
	}
	if p.line.holding {
		off = min(off, p.line.held.offset)
	}
	return off
}

// counted returns how far the pipeline counted the partition's lines and
// records. Call it once the reader stopped.
func (p *partition) counted() counted {
	taken := p.next // every message taken was queued or rejected, but a held one
	if p.line.holding {
		taken = p.line.held.offset
	}
	return counted{read: p.readTo, taken: taken, released: p.undecided()}.atLeast(p.from)
}

func (p *partition) empty() bool { return p.qh == len(p.q) }

func (p *partition) head() *item { return p.q[p.qh] }

func (p *partition) push(it *item) { p.q = append(p.q, it) }

func (p *partition) pop() *item {
	it := p.q[p.qh]
	p.q[p.qh] = nil
	p.qh++
	switch {
	case p.qh == len(p.q):
		p.q, p.qh = p.q[:0], 0
	case p.qh > 1024 && p.qh > len(p.q)/2:
		n := copy(p.q, p.q[p.qh:])
		clear(p.q[n:])
		p.q, p.qh = p.q[:n], 0
	}
	return it
}

// item is a record held in the reorder buffer, copied out of its parser.
type item struct {
	offset  int64
	fetched time.Time // when its message was fetched
	time    int64
	kind    event.Kind
	buf     []byte
	ends    [event.NumFields]uint32
}

var itemPool = sync.Pool{New: func() any { return new(item) }}

func (it *item) hold(r *event.Record) {
	it.time, it.kind = r.Time, r.Kind
	it.buf = it.buf[:0]
	for i, v := range r.Values {
		it.buf = append(it.buf, v...)
		it.ends[i] = uint32(len(it.buf))
	}
}

// value returns the value of field f.
func (it *item) value(f event.Field) []byte {
	var start uint32
	if f > 0 {
		start = it.ends[f-1]
	}
	return it.buf[start:it.ends[f]]
}

func (it *item) record(r *event.Record) {
	r.Kind, r.Time = it.kind, it.time
	var start uint32
	for i, end := range it.ends {
		if end > start {
			r.Values[i] = it.buf[start:end:end]
		} else {
			r.Values[i] = nil
		}
		start = end
	}
}

type topicPartition struct {
	topic string
	id    int
}

// fetched is one message as a reader goroutine hands it over: a record, or
// nil for a message that carried none (ignored or malformed, counted).
type fetched struct {
	p         *partition
	at        time.Time // when it was fetched
	offset    int64
	highWater int64
	it        *item
}

// muteSink passes alerts on unless the record being processed was already
// processed before the committed offset; it counts those it handed to the
// sink. A muted alert went out before: the sink is told of it
// (alert.Recall), so that an output keeping the incidents firing (the
// Alertmanager output's re-sends) goes on with them. A pipeline tells
// the sink when its rebuild begins and ends (alert.BeginRebuild,
// alert.EndRebuild): the incidents not told of in between are no longer
// this server's.
type muteSink struct {
	sink   alert.Sink
	mute   bool
	stats  *Stats
	counts *engineCounts
}

func (m *muteSink) Send(ctx context.Context, a *alert.Alert) error {
	if m.mute {
		m.stats.Muted.Add(1)
		alert.Recall(m.sink, a)
		return nil
	}
	if err := m.sink.Send(ctx, a); err != nil {
		return err
	}
	m.counts.alert(a)
	return nil
}

func (m *muteSink) Close() error { return nil }

// set mutes (or unmutes) the alerts of the records eng takes from now on.
// On several lanes eng sends alerts after the records that caused them:
// those of the records taken before are sent first, as set before.
func (m *muteSink) set(ctx context.Context, eng *detect.Engine, mute bool) error {
	if mute == m.mute {
		return nil
	}
	if err := eng.Sync(ctx); err != nil {
		return err
	}
	m.mute = mute
	return nil
}

// pipeline processes one assignment with one engine.
type pipeline struct {
	s     *Server
	gen   *kafkago.Generation
	store *offsetStore
	rb    *rebuilder
	outs  []*output // events topics (role correlate)
	parts []*partition
	eng   *detect.Engine
	sink  *muteSink
	rec   event.Record
	ev    event.Event
	in    chan fetched

	// state is the rebuild state the engine was told (nil: none).
	state *rebuildState

	buffered    int
	newest      int64 // the newest record time queued, if any (queued)
	queued      bool
	released    int64     // event time of the last record released
	lastArrival time.Time // when any partition last delivered a message
	lastCommit  time.Time // when offsets were last committed (or tried)
	marked      int64     // event time of the last watermark published
	notReady    int
	// ending says the records read again were all processed: the
	// outputs are told that the rebuild ended (alert.EndRebuild) once
	// the engine sent their alerts.
	ending bool
	// changed is closed when the topics read have gained or lost
	// partitions since the generation began (see watchPartitions).
	changed <-chan struct{}
}

// generation runs pipelines over gen's assignments until the generation
// or ctx ends; a rule reload rebuilds the pipeline from the committed
// offsets.
func (s *Server) generation(ctx, gctx context.Context, gen *kafkago.Generation, w []*kafkago.Writer, store *offsetStore) error {
	committed := map[topicPartition]int64{}
	for topic, as := range gen.Assignments {
		for _, a := range as {
			tp := topicPartition{topic, a.ID}
			committed[tp] = a.Offset
			if a.Offset < 0 {
				// Nothing committed: the partition starts anew (its
				// topic created again, say), whatever this process
				// counted of it before.
				s.forgetCounted(tp)
			}
		}
	}
	// The group assigns the partitions that existed when it was joined: a
	// topic created since, or given more partitions, ends the generation,
	// and the group, joined again, assigns them.
	changed := make(chan struct{})
	wctx, stopWatch := context.WithCancel(gctx)
	var watching sync.WaitGroup
	watching.Go(func() { s.watchPartitions(wctx, store, changed) })
	defer watching.Wait()
	defer stopWatch()
	rewinds, err := store.rewinds(gctx, gen)
	if err != nil {
		if gctx.Err() != nil {
			return nil
		}
		s.cfg.Logger.Warn("reading how far to rewind, rewinding by the windows' span", "err", err)
	}
	for {
		pl, err := s.newPipeline(gen, w, committed, rewinds, store)
		if err != nil {
			return err
		}
		pl.changed = changed
		reload, err := pl.run(ctx, gctx)
		for _, p := range pl.parts {
			committed[topicPartition{p.topic, p.id}] = p.committed
			rewinds[topicPartition{p.topic, p.id}] = savedRewind{p.rewind, p.state}
		}
		if err != nil || !reload {
			return err
		}
		s.cfg.Logger.Info("rebuilding state with the reloaded rules", "rules", len(s.rules.current()))
	}
}

func (s *Server) newPipeline(gen *kafkago.Generation, ws []*kafkago.Writer, committed map[topicPartition]int64,
	rewinds map[topicPartition]savedRewind, store *offsetStore) (*pipeline, error) {
	pl := &pipeline{s: s, gen: gen, store: store, in: make(chan fetched, 4096)}
	for i, w := range ws {
		o := &output{w: w, key: kafka.EventKey}
		if i > 0 {
			o.key = func(ev *event.Event) string { return rules.Subnet(ev.Values[event.SourceIP]) }
		}
		pl.outs = append(pl.outs, o)
	}
	pl.sink = &muteSink{sink: s.cfg.Sink, stats: &s.stats, counts: &s.counts}
	var onEvent func(*event.Event)
	if s.cfg.Role == RoleCorrelate {
		onEvent = pl.publish
	}
	eng, err := s.newEngine(pl.sink, onEvent)
	if err != nil {
		return nil, err
	}
	pl.eng = eng
	var window time.Duration
	if s.cfg.Role != RoleCorrelate {
		window = eng.MaxWindow()
	}
	pl.rb = s.rebuild
	pl.rb.set(pl.span(), window)
	s.mu.Lock()
	s.engine = eng
	s.mu.Unlock()
	s.counts.use(eng)
	for order, topic := range s.topics() {
		for _, a := range gen.Assignments[topic] {
			kind := event.App
			if s.cfg.Role != RoleDetect && topic == s.cfg.ProxyTopic {
				kind = event.Proxy
			}
			tp := topicPartition{topic, a.ID}
			pl.parts = append(pl.parts, &partition{topic: topic, id: a.ID, kind: kind, order: order, committed: committed[tp],
				rewind: rewinds[tp].rewind, state: rewinds[tp].state, next: -1, highWater: -1,
				line: timeline[*item]{jump: maxTimeJump(s.cfg.MaxTimeJump)}, from: s.countedFrom(tp)})
		}
	}
	// Each commit saves the engine's rebuild state with every partition
	// (see commit); partitions committed by another instance before a
	// rebalance carry its own: hold back no more than any of them would.
	if st, ok := mergeStates(pl.parts); ok {
		pl.state = st
		eng.Rebuilding(st.since, st.needs)
	}
	sort.Slice(pl.parts, func(i, j int) bool {
		a, b := pl.parts[i], pl.parts[j]
		if a.order != b.order {
			return a.order < b.order
		}
		return a.id < b.id
	})
	stats := make([]*partStats, len(pl.parts))
	for i, p := range pl.parts {
		p.stats = &partStats{topic: p.topic, id: p.id}
		p.stats.next.Store(-1)
		p.stats.highWater.Store(-1)
		p.stats.committed.Store(p.committed)
		stats[i] = p.stats
	}
	s.mu.Lock()
	s.parts = stats
	s.mu.Unlock()
	s.stats.Partitions.Store(int64(len(pl.parts)))
	s.stats.Rebuilds.Add(1)
	return pl, nil
}

// span is how much of each partition is read again to rebuild the state.
func (pl *pipeline) span() time.Duration {
	c := pl.s.cfg
	d := c.Lateness
	if c.Role != RoleCorrelate {
		d += pl.eng.MaxWindow()
	}
	if c.Role != RoleDetect {
		jw := c.Engine.Correlator.JoinWindow
		if jw <= 0 {
			jw = detect.DefaultJoinWindow
		}
		d += jw
	}
	return d
}

// open positions every partition's reader: span before the committed
// offset (or the rewind committed with it, if longer, up to the longest
// rebuild), or at the start policy's offset when none was committed.
func (pl *pipeline) open(ctx context.Context) error {
	c := &pl.s.cfg
	// The outputs forget the incidents this rebuild does not recall nor
	// send: those of partitions assigned elsewhere now, or of rules
	// removed (see alert.Rebuilder).
	alert.BeginRebuild(c.Sink)
	if pl.state != nil {
		pl.eng.MissingBefore(pl.state.from)
	}
	rewound := pl.rewind(ctx)
	for i, p := range pl.parts {
		start := p.committed
		if start < 0 {
			var err error
			if start, err = c.Kafka.StartOffsetValue(); err != nil {
				return err
			}
			p.committed = -1
		}
		p.replayUntil = -1
		if p.committed > 0 {
			off, err := rewound[i].off, rewound[i].err
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				c.Logger.Warn("rewinding partition, starting at the committed offset", "topic", p.topic, "partition", p.id, "err", err)
				off = p.committed
			}
			start, p.next, p.replayUntil = off, off, p.committed
			// Without a rebuild state, which says from when records are
			// read again, the first record read again tells (see
			// process); none before offset 0. A partition whose rewind
			// failed misses everything before its first record, new or
			// not. (One with no message within the rewind before its
			// committed offset misses nothing a window holds.)
			p.missingAtFirst = pl.state == nil && off > 0
			p.rewindFailed = err != nil
		}
		r, err := c.Kafka.PartitionReader(p.topic, p.id, start)
		if err != nil {
			return err
		}
		p.reader = r
		if start >= 0 {
			p.stats.next.Store(start) // the engine's position until it takes a message
		}
		p.rebuilt = p.next >= p.replayUntil
		p.from = p.from.atLeast(counted{p.replayUntil, p.replayUntil, p.replayUntil})
		if !p.rebuilt {
			pl.notReady++
		}
		p.lastArrival = time.Now()
	}
	if pl.notReady == 0 {
		pl.eng.Rebuilt() // nothing is read again
		pl.s.counts.rebuilt()
		alert.EndRebuild(c.Sink)
	}
	return nil
}

// rewound is where a partition is read again from.
type rewound struct {
	off int64
	err error
}

// rewind finds, for every partition with a committed offset, where to
// read again from: span before it (or the rewind committed with it, if
// longer, up to the longest rebuild). The partitions are looked up
// together, so a slow one (each takes at most kafka.RewindTimeout) does
// not hold up the others in turn.
func (pl *pipeline) rewind(ctx context.Context) []rewound {
	span := pl.span()
	out := make([]rewound, len(pl.parts))
	var wg sync.WaitGroup
	for i, p := range pl.parts {
		if p.committed <= 0 {
			continue
		}
		rewind := span
		if p.rewind > span {
			rewind = min(p.rewind, pl.rb.limit())
		}
		wg.Go(func() {
			off, err := pl.s.cfg.Kafka.RewindOffset(ctx, p.topic, p.id, p.committed, rewind)
			out[i] = rewound{off, err}
		})
	}
	wg.Wait()
	return out
}

func (pl *pipeline) read(ctx context.Context, p *partition) {
	c := &pl.s.cfg
	var dec *kafka.Decoder
	stats := pl.s.sources[p.topic]
	switch {
	case c.Role == RoleDetect:
		dec = kafka.NewDecoder(event.App, kafka.EventFormat{}, "", stats, c.MaxLineBytes)
	case p.kind == event.Proxy:
		dec = kafka.NewDecoder(event.Proxy, c.ProxyFormat, c.ProxyEnvelope, stats, c.MaxLineBytes)
	default:
		dec = kafka.NewDecoder(event.App, c.AppFormat, c.AppEnvelope, stats, c.MaxLineBytes)
	}
	var rec event.Record
	for {
		m, err := p.reader.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			pl.s.stats.FetchErrs.Add(1)
			c.Logger.Warn("fetching", "topic", p.topic, "partition", p.id, "err", err)
			if !sleep(ctx, 200*time.Millisecond) {
				return
			}
			continue
		}
		f := fetched{p: p, at: time.Now(), offset: m.Offset, highWater: m.HighWaterMark}
		decode := dec.Decode
		if m.Offset < p.from.read {
			decode = dec.Reread // counted when first read
		} else {
			p.readTo = m.Offset + 1
		}
		if decode(&m, &rec) {
			it := itemPool.Get().(*item)
			it.offset = m.Offset
			it.fetched = f.at
			it.hold(&rec)
			f.it = it
		}
		select {
		case pl.in <- f:
		case <-ctx.Done():
			return
		}
	}
}

// watchHighWater asks the brokers for the owned partitions' high
// watermarks at once and then every LagInterval, until ctx ends: the
// consumer lag must grow when the engine stalls, and the watermarks the
// fetched messages carry stop coming then (the readers wait for it).
func (pl *pipeline) watchHighWater(ctx context.Context) {
	if len(pl.parts) == 0 {
		return
	}
	every := pl.s.cfg.LagInterval
	req := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{}}
	stats := map[topicPartition]*partStats{}
	for _, p := range pl.parts {
		req.Topics[p.topic] = append(req.Topics[p.topic], kafkago.LastOffsetOf(p.id))
		stats[topicPartition{p.topic, p.id}] = p.stats
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		lctx, cancel := context.WithTimeout(ctx, every)
		res, err := pl.store.client.ListOffsets(lctx, req)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			pl.s.cfg.Logger.Debug("asking for the high watermarks", "err", err)
		default:
			for topic, ps := range res.Topics {
				for _, po := range ps {
					if st := stats[topicPartition{topic, po.Partition}]; st != nil && po.Error == nil && po.LastOffset >= 0 {
						st.raiseHighWater(po.LastOffset)
					}
				}
			}
		}
		t.Reset(every)
	}
}

// run processes the assignment until the generation or ctx ends (false)
// or the rules are reloaded (true).
func (pl *pipeline) run(ctx, gctx context.Context) (reload bool, err error) {
	s := pl.s
	rctx, cancel := context.WithCancel(gctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		// The next pipeline reads again what this one fetched but did
		// not process: it counts none of it again.
		s.keepCounted(pl.parts)
		// On several lanes the engine runs goroutines of its own; the
		// next assignment has an engine of its own.
		if serr := pl.eng.Stop(context.WithoutCancel(ctx)); err == nil {
			err = serr
		}
		for _, p := range pl.parts {
			if p.reader != nil {
				p.reader.Close()
			}
			for !p.empty() {
				itemPool.Put(p.pop())
			}
		}
		s.stats.Buffered.Store(0)
	}()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	if err := pl.open(rctx); err != nil {
		if rctx.Err() != nil {
			return false, nil
		}
		return false, err
	}
	for _, p := range pl.parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pl.read(rctx, p)
		}()
	}
	wg.Go(func() { pl.watchHighWater(rctx) })
	s.ready.Store(pl.notReady == 0)
	pl.lastArrival = time.Now()
	tick := time.NewTicker(min(s.cfg.IdleTimeout/4, 50*time.Millisecond))
	defer tick.Stop()
	pl.lastCommit = time.Now()
	var repartitioned bool
	for {
		select {
		case f := <-pl.in:
			pl.accept(f)
		drain:
			for range 4096 {
				select {
				case f := <-pl.in:
					pl.accept(f)
				default:
					break drain
				}
			}
		case <-tick.C:
		case <-s.rules.reloaded:
			reload = true
		case <-pl.changed:
			repartitioned = true
		case <-rctx.Done():
		}
		done := rctx.Err() != nil || reload || repartitioned
		pctx := ctx
		if done {
			// Drain what the watermark lets through even when shutting down.
			var stop context.CancelFunc
			pctx, stop = context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer stop()
		}
		if err := pl.release(pctx); err != nil {
			return false, err
		}
		// The alerts (and joined events) of the records released go out
		// now (on several lanes the engine sends them in batches), not
		// when more records come, and before their offsets are committed.
		if err := pl.eng.Sync(pctx); err != nil {
			return false, err
		}
		if pl.ending {
			pl.ending = false
			alert.EndRebuild(s.cfg.Sink)
		}
		s.warn.check(s.cfg.Logger, pl.eng)
		if s.cfg.Tick != nil {
			s.cfg.Tick(pl.eng)
		}
		if err := pl.flush(pctx); err != nil {
			if !done && ctx.Err() != nil {
				// Shutdown began during the write: the events are still
				// pending; the draining pass below writes them.
				continue
			}
			return false, err
		}
		if done || time.Since(pl.lastCommit) >= s.cfg.CommitInterval {
			pl.commitNow(ctx)
		}
		if done {
			return reload && !repartitioned && ctx.Err() == nil, nil
		}
	}
}

func (pl *pipeline) accept(f fetched) {
	p := f.p
	p.next = f.offset + 1
	p.lastArrival = f.at
	pl.lastArrival = p.lastArrival
	p.blocked = time.Time{}
	p.highWater = f.highWater
	p.stats.next.Store(p.next)
	p.stats.raiseHighWater(p.highWater)
	if f.it == nil {
		pl.checkRebuilt(p)
		return
	}
	// A record read again has only its partition's records to compare
	// with: the others' depend on which was fetched first, and it was
	// accepted before.
	newest, ok := pl.newest, pl.queued && f.offset >= p.replayUntil
	p.line.take(f.it, f.it.time, f.it.kind != 0, newest, ok, func(it *item) { pl.queue(p, it) },
		func(it *item, ahead string) { pl.rejectAhead(p, it, ahead) })
}

// queue puts a record in its partition's reorder buffer.
func (pl *pipeline) queue(p *partition, it *item) {
	if it.time < pl.released && it.offset >= p.from.taken {
		pl.s.stats.Late.Add(1)
	}
	if !p.seen || it.time > p.lastSeen {
		p.lastSeen, p.seen = it.time, true
	}
	if it.kind != 0 && (!pl.queued || it.time > pl.newest) {
		pl.newest, pl.queued = it.time, true
	}
	p.push(it)
	pl.buffered++
	pl.s.stats.Buffered.Store(int64(pl.buffered))
}

// rejectAhead drops a record far ahead of its partition's (see timeline),
// counted with the reason in its topic's rejected lines unless it was
// taken before (it was counted then).
func (pl *pipeline) rejectAhead(p *partition, it *item, ahead string) {
	if it.offset >= p.from.taken {
		err := replay.AheadError(fmt.Sprintf("%s/%d@%d", p.topic, p.id, it.offset), it.time, p.line.jump, ahead, it.value(event.RequestID))
		pl.s.sources[p.topic].RejectOutlier(nil, err)
		pl.s.cfg.Logger.Warn("record rejected", "err", err)
	}
	itemPool.Put(it)
}

// mergeStates returns the rebuild state of the partitions with a
// committed offset: the earliest since, the latest from, and each group's earliest need
// (false if a partition was committed without a state: an older version's
// commit, or too many needs). Held back by it, a group is held back no
// longer than by any partition's state alone.
func mergeStates(parts []*partition) (*rebuildState, bool) {
	var st *rebuildState
	from := map[uint64]int64{}
	for _, p := range parts {
		if p.committed <= 0 {
			continue
		}
		if p.state == nil {
			return nil, false
		}
		if st == nil {
			st = &rebuildState{since: p.state.since, from: p.state.from}
		}
		// Each partition was rewound by its own state's rewind: the
		// latest from is where events may start to be missing.
		st.since, st.from = min(st.since, p.state.since), max(st.from, p.state.from)
		for _, n := range p.state.needs {
			if f, ok := from[n.Group]; !ok || n.From < f {
				from[n.Group] = n.From
			}
		}
	}
	if st == nil {
		return nil, false
	}
	for g, f := range from {
		st.needs = append(st.needs, detect.RebuildNeed{Group: g, From: f})
	}
	return st, true
}

func (pl *pipeline) checkRebuilt(p *partition) {
	if p.rebuilt || p.next < p.replayUntil || (!p.empty() && p.head().offset < p.replayUntil) ||
		(p.line.holding && p.line.held.offset < p.replayUntil) {
		return
	}
	p.rebuilt = true
	if pl.notReady--; pl.notReady == 0 {
		// What comes now was not processed before, even when older
		// than what was (a lagging partition, late records).
		pl.eng.Rebuilt()
		pl.s.counts.rebuilt()
		pl.ending = true
		pl.s.ready.Store(true)
		pl.s.cfg.Logger.Info("state rebuilt", "partitions", len(pl.parts))
	}
}

// release feeds the engine every record the watermark lets through: the
// oldest head of all queues goes first, once every partition that is not
// idle either has a record queued or has seen records at least the allowed
// lateness newer than it.
func (pl *pipeline) release(ctx context.Context) error {
	c := &pl.s.cfg
	now := time.Now()
	for n := 0; ; {
		var h *partition
		for _, p := range pl.parts {
			if p.empty() {
				continue
			}
			if h == nil || p.head().time < h.head().time {
				h = p
			}
		}
		if h == nil {
			return nil
		}
		t := h.head().time
		forced := pl.buffered > c.MaxBuffered
		if !forced {
			// An empty partition that may still send older records holds
			// the head back for IdleTimeout from when it started to (the
			// clocks of all such partitions start together), unless no
			// partition delivered anything for IdleTimeout: then the
			// input has stopped, and records left behind partitions that
			// drain one after another are not held once per partition.
			wait := false
			if now.Sub(pl.lastArrival) <= c.IdleTimeout {
				for _, p := range pl.parts {
					if !p.empty() || (p.seen && p.lastSeen-int64(c.Lateness) >= t) {
						continue
					}
					if p.blocked.IsZero() {
						p.blocked = now
					}
					if now.Sub(p.blocked) <= c.IdleTimeout {
						wait = true
					}
				}
			}
			if wait {
				return nil
			}
		} else if h.head().offset >= h.from.released {
			pl.s.stats.Forced.Add(1)
		}
		it := h.pop()
		pl.buffered--
		err := pl.process(ctx, h, it)
		if c.Observe != nil {
			c.Observe(time.Since(it.fetched))
		}
		itemPool.Put(it)
		pl.checkRebuilt(h)
		if err != nil {
			return err
		}
		pl.s.stats.Buffered.Store(int64(pl.buffered))
		if n++; n%256 == 0 && time.Since(pl.lastCommit) >= c.CommitInterval {
			// A long pass (a backlog) commits on the interval too.
			if err := pl.checkpoint(ctx); err != nil {
				return err
			}
		}
	}
}

// checkpoint has the engine send the alerts (and joined events) of the
// records released, writes the joined events queued so far and commits,
// as the end of a pass does; if the events cannot be written yet
// (shutdown began), the commit waits for the pass's end. It returns the
// error of an alert the sink did not take.
func (pl *pipeline) checkpoint(ctx context.Context) error {
	if err := pl.eng.Sync(ctx); err != nil {
		return err
	}
	if err := pl.flush(ctx); err != nil {
		pl.lastCommit = time.Now()
		return nil
	}
	pl.commitNow(ctx)
	return nil
}

// commitNow commits the offsets. A commit under way when shutdown begins
// is finished, not abandoned and counted as failed.
func (pl *pipeline) commitNow(ctx context.Context) {
	cctx, stop := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	pl.commit(cctx)
	stop()
	pl.lastCommit = time.Now()
}

func (pl *pipeline) process(ctx context.Context, p *partition, it *item) error {
	if err := pl.sink.set(ctx, pl.eng, it.offset < p.replayUntil); err != nil {
		return err
	}
	if !p.released && (p.missingAtFirst && it.offset < p.replayUntil || p.rewindFailed) {
		// Read again from a point whose time is not known: the events
		// before its first record are missing. (A first record that
		// is new, nothing being read again, says nothing of that.)
		pl.eng.MissingBefore(it.time)
	}
	p.lastTime, p.released = it.time, true
	it.record(&pl.rec)
	if it.time > pl.released {
		pl.released = it.time
		pl.s.stats.Watermark.Store(it.time)
	}
	pl.s.stats.Records.Add(1)
	if pl.s.cfg.Role == RoleDetect {
		if pl.rec.Kind == 0 {
			return pl.eng.Advance(ctx, pl.rec.Time)
		}
		pl.ev.SetFromRecord(&pl.rec)
		return pl.eng.AddEvent(ctx, &pl.ev)
	}
	return pl.eng.Add(ctx, &pl.rec)
}

// output is an events topic the correlate stage writes.
type output struct {
	w       *kafkago.Writer
	key     func(*event.Event) string
	pending []kafkago.Message
	buf     []byte
	parts   int // partitions of the topic, for watermarks
}

// publish queues a joined event for the events topics (role correlate).
func (pl *pipeline) publish(ev *event.Event) {
	if pl.sink.mute {
		pl.s.stats.Muted.Add(1)
		return
	}
	for _, o := range pl.outs {
		start := len(o.buf)
		o.buf = kafka.AppendEvent(o.buf, ev)
		o.pending = append(o.pending, kafkago.Message{
			Key:   []byte(o.key(ev)),
			Value: o.buf[start:len(o.buf):len(o.buf)],
			Time:  time.Unix(0, ev.Time),
		})
	}
}

// mark queues a watermark message for every partition of the events
// topics once the event time moved on by a second since the last one.
func (pl *pipeline) mark(ctx context.Context) {
	if pl.released-pl.marked < int64(time.Second) {
		return
	}
	for _, o := range pl.outs {
		if o.parts == 0 {
			n, err := pl.s.cfg.Kafka.Partitions(ctx, o.w.Topic)
			if err != nil {
				pl.s.cfg.Logger.Warn("looking up an events topic's partitions", "topic", o.w.Topic, "err", err)
				return
			}
			o.parts = n
		}
	}
	pl.marked = pl.released
	for _, o := range pl.outs {
		for i := range o.parts {
			start := len(o.buf)
			o.buf = kafka.AppendWatermark(o.buf, pl.released)
			o.pending = append(o.pending, kafkago.Message{
				Headers: []kafkago.Header{{Key: kafka.PartitionHeader, Value: strconv.AppendInt(nil, int64(i), 10)}},
				Value:   o.buf[start:len(o.buf):len(o.buf)],
				Time:    time.Unix(0, pl.released),
			})
		}
	}
}

// flush writes the queued joined events, retrying until they are written
// or ctx ends: offsets are committed only after.
func (pl *pipeline) flush(ctx context.Context) error {
	if len(pl.outs) == 0 {
		return nil
	}
	pl.mark(ctx)
	for _, o := range pl.outs {
		if err := pl.write(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

func (pl *pipeline) write(ctx context.Context, o *output) error {
	msgs := o.pending
	for attempt := 0; len(msgs) > 0; attempt++ {
		err := o.w.WriteMessages(ctx, msgs...)
		if err == nil {
			pl.s.stats.Published.Add(int64(len(msgs)))
			break
		}
		pl.s.stats.PublishErrs.Add(1)
		pl.s.cfg.Logger.Warn("publishing joined events", "topic", o.w.Topic, "events", len(msgs), "err", err)
		var werrs kafkago.WriteErrors
		if errors.As(err, &werrs) && len(werrs) == len(msgs) {
			// Retry only the messages that failed: the others are written.
			failed := msgs[:0:0]
			for i, e := range werrs {
				if e != nil {
					failed = append(failed, msgs[i])
				}
			}
			pl.s.stats.Published.Add(int64(len(msgs) - len(failed)))
			msgs = failed
		}
		if !sleep(ctx, time.Duration(min(attempt+1, 10))*200*time.Millisecond) {
			return fmt.Errorf("publishing joined events to %s: %w", o.w.Topic, err)
		}
	}
	clear(o.pending)
	o.pending, o.buf = o.pending[:0], o.buf[:0]
	return nil
}

// commitTimeout bounds a commit of offsets.
const commitTimeout = 10 * time.Second

// commit commits, for every partition, the offset of its oldest record not
// yet released (or the next one to fetch), with how much event time
// before it a restart reads again: the span, or back to the first event
// of the incidents firing (see rebuilder).
func (pl *pipeline) commit(ctx context.Context) {
	if !slices.ContainsFunc(pl.parts, func(p *partition) bool { off := p.undecided(); return off > p.committed && off >= 0 }) {
		return
	}
	from := pl.rb.from(pl.eng, pl.released)
	st := pl.rb.state()
	// Every partition committed before is committed again, unmoved or
	// not, with the engine's rebuild state: a restart takes all of them
	// (see mergeStates).
	offsets := map[topicPartition]commitOffset{}
	var moved []*partition
	for _, p := range pl.parts {
		off := p.undecided()
		if off < 0 || off < p.committed || off == p.committed && p.committed <= 0 {
			continue
		}
		// A restart rewinds from the message before the offset: the
		// last record released from p (or, if none was, about the
		// newest of all).
		ref := pl.released
		if p.released {
			ref = p.lastTime
		}
		offsets[topicPartition{p.topic, p.id}] = commitOffset{offset: off, savedRewind: savedRewind{time.Duration(max(ref-from, 0)), st}}
		moved = append(moved, p)
	}
	if err := pl.store.commit(ctx, pl.gen, offsets); err != nil {
		pl.s.stats.CommitErrs.Add(1)
		pl.s.cfg.Logger.Warn("committing offsets", "err", err)
		return
	}
	pl.s.stats.Commits.Add(1)
	for _, p := range moved {
		c := offsets[topicPartition{p.topic, p.id}]
		p.committed, p.rewind, p.state = c.offset, c.rewind, c.state
		p.stats.committed.Store(p.committed)
	}
}

// partitionWatchInterval is how often watchPartitions compares the topics'
// partitions with those the group assigned.
const partitionWatchInterval = 5 * time.Second

// watchPartitions closes changed, and returns, once a topic read has a
// partition that no member of the group was assigned: a topic created
// after the group was joined, or given more partitions. The group assigns
// only the partitions its leader knew of when it was joined; ending the
// generation has it joined again, and the new partitions assigned. The
// topics' partitions come from the metadata the client keeps (refreshed
// every few seconds), the assignments from the group's coordinator, while
// the group is stable.
func (s *Server) watchPartitions(ctx context.Context, store *offsetStore, changed chan<- struct{}) {
	topics := s.topics()
	group := s.cfg.Kafka.GroupID
	t := time.NewTicker(partitionWatchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		topic, id, err := unassigned(ctx, store.client, group, topics)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.cfg.Logger.Debug("comparing the topics' partitions with the group's assignments", "group", group, "err", err)
		case topic != "":
			s.cfg.Logger.Info("a partition is not assigned to the consumer group (topic created or partitions added since it was joined): joining it again",
				"group", group, "topic", topic, "partition", id)
			close(changed)
			return
		}
	}
}

// unassigned returns a partition of topics that no member of group is
// assigned ("" if none, or if the group is not stable).
func unassigned(ctx context.Context, client *kafkago.Client, group string, topics []string) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	md, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: topics})
	if err != nil {
		return "", 0, fmt.Errorf("looking up the partitions of %v: %w", topics, err)
	}
	gr, err := client.DescribeGroups(ctx, &kafkago.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		return "", 0, fmt.Errorf("describing consumer group %s: %w", group, err)
	}
	if len(gr.Groups) != 1 {
		return "", 0, fmt.Errorf("describing consumer group %s: %d groups in the answer", group, len(gr.Groups))
	}
	g := gr.Groups[0]
	if g.Error != nil {
		return "", 0, fmt.Errorf("describing consumer group %s: %w", group, g.Error)
	}
	if g.GroupState != "Stable" {
		return "", 0, nil
	}
	assigned := map[topicPartition]bool{}
	for _, m := range g.Members {
		for _, a := range m.MemberAssignments.Topics {
			for _, id := range a.Partitions {
				assigned[topicPartition{a.Topic, id}] = true
			}
		}
	}
	for _, tp := range md.Topics {
		if tp.Error != nil || !slices.Contains(topics, tp.Name) {
			continue
		}
		for _, p := range tp.Partitions {
			if !assigned[topicPartition{tp.Name, p.ID}] {
				return tp.Name, p.ID, nil
			}
		}
	}
	return "", 0, nil
}

// counted says how far a partition's messages were counted, by offset:
// those before each mark were counted by a pipeline of the process (or
// before the committed offset, when first read, maybe by another). A
// rule reload or a rebalance has a new pipeline read again from before
// the committed offset, and so read again what the one before fetched
// but had not processed yet (held in the reorder buffer): it counts it
// only in the lines read again.
type counted struct {
	// read: the lines decoded, in the lines_* counters.
	read int64
	// taken: the records queued (stream late) or rejected as time
	// outliers.
	taken int64
	// released: the records released (stream forced).
	released int64
}

// atLeast returns c with every mark raised to o's, if o's is past it.
func (c counted) atLeast(o counted) counted {
	return counted{max(c.read, o.read), max(c.taken, o.taken), max(c.released, o.released)}
}

// countedFrom returns how far the process counted tp's messages.
func (s *Server) countedFrom(tp topicPartition) counted {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counted[tp]
}

// keepCounted notes how far the pipeline of parts counted their messages;
// call it once their readers stopped.
func (s *Server) keepCounted(parts []*partition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counted == nil {
		s.counted = map[topicPartition]counted{}
	}
	for _, p := range parts {
		tp := topicPartition{p.topic, p.id}
		s.counted[tp] = s.counted[tp].atLeast(p.counted())
	}
}

// forgetCounted forgets how far the process counted tp's messages.
func (s *Server) forgetCounted(tp topicPartition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.counted, tp)
}
