// Package report writes a self-contained HTML incident report for a replay:
// the run's inputs and health, a sortable table of incidents and, per
// incident, an SVG timeline, the usernames, addresses and paths involved and
// the rule's explanation.
//
// A Collector observes the authentication events (through
// detect.Config.OnEvent) and the alerts (as an alert.Sink wrapping the real
// one). It never keeps every event: events are counted into time buckets
// per group (certificate identity, source address, subnet ...), with
// bounded top-N counters of usernames, addresses and paths, and a bounded
// number of groups. The page needs no network access: CSS, a little
// JavaScript and the charts are inline.
package report

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// Options configures a Collector.
type Options struct {
	// Rules are the rules in force: the report lists them and groups the
	// events the way they group them.
	Rules []*rules.Rule
	// Privacy says how usernames are shown (the alerts' privacy mode).
	Privacy alert.Privacy
	// TopN is how many usernames, addresses and paths each incident
	// lists (default 15).
	TopN int
	// MaxGroups caps the groups tracked per grouping before the least
	// recently active is forgotten; groups with an incident are kept
	// (default 4096).
	MaxGroups int
	// MaxIncidents caps the incidents described in detail (default 500);
	// further incidents are counted.
	MaxIncidents int
	// Title heads the page (default "spraywatch incident report").
	Title string
	// GeneratedAt, when not zero, is printed in the header. Leave it zero
	// for byte-identical reports of the same input.
	GeneratedAt time.Time
}

// Defaults for Options.
const (
	DefaultTopN         = 15
	DefaultMaxGroups    = 4096
	DefaultMaxIncidents = 500
	// baseBucket is the finest time bucket; it doubles whenever the data
	// spans more than maxBuckets of them.
	baseBucket = int64(time.Minute)
	maxBuckets = 1024
	// maxPoints caps the alert records kept per incident for its chart.
	maxPoints = 64
)

// Collector gathers what a report needs from a run. The engine calls
// Observe and the sink from one goroutine; WriteHTML runs after the replay.
// With Background, the counting itself happens on another goroutine.
type Collector struct {
	opt   Options
	sigs  []*signature
	bySig map[string]*signature
	width int64 // bucket width now, ns
	first int64 // first event time
	last  int64 // last event time
	total *series
	// events and outcome totals
	events, fails, succs int64

	incidents map[string]*incident
	order     []*incident
	dropped   int // incidents beyond MaxIncidents
	alerts    int
	keyBuf    []byte
	// background counting (see Background)
	ch, free chan []item
	done     chan struct{}
	batch    []item

	// subnets memoises source.ip -> source.subnet (bounded)
	subnets map[string]string
	intern  interner
}

// signature is one grouping (a rule's group_by) and the groups seen for it.
type signature struct {
	name   string
	keys   []rules.Key
	groups map[string]*group
	max    int   // unpinned groups kept
	pins   int   // pinned groups
	tick   int64 // events seen, for recency
}

// group aggregates the events of one group value.
type group struct {
	key      string
	vals     []string
	s        series
	fails    int64
	succs    int64
	events   int64
	users    counter
	ips      counter
	paths    counter
	identity string // spraywatch.identity of the first event that had one
	pinned   bool
	touched  int64
}

// New returns a Collector.
func New(o Options) *Collector {
	if o.TopN <= 0 {
		o.TopN = DefaultTopN
	}
	if o.MaxGroups <= 0 {
		o.MaxGroups = DefaultMaxGroups
	}
	if o.MaxIncidents <= 0 {
		o.MaxIncidents = DefaultMaxIncidents
	}
	if o.Privacy.Mode == "" {
		o.Privacy.Mode = alert.PrivacyPlain
	}
	if o.Title == "" {
		o.Title = "spraywatch incident report"
	}
	c := &Collector{opt: o, bySig: map[string]*signature{}, width: baseBucket,
		total: &series{width: baseBucket}, incidents: map[string]*incident{}}
	// The identity grouping is always tracked: the overview charts it.
	idKey, _ := rules.LookupKey(event.Identity.String())
	c.addSignature([]rules.Key{idKey})
	for _, r := range o.Rules {
		c.addSignature(r.GroupBy)
	}
	return c
}

func sigName(keys []rules.Key) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.String()
	}
	return strings.Join(names, ",")
}

func (c *Collector) addSignature(keys []rules.Key) {
	if len(keys) == 0 {
		return
	}
	name := sigName(keys)
	if _, ok := c.bySig[name]; ok {
		return
	}
	sg := &signature{name: name, keys: keys, groups: map[string]*group{}, max: c.opt.MaxGroups}
	c.sigs = append(c.sigs, sg)
	c.bySig[name] = sg
}

func (c *Collector) keyValue(ev *event.Event, k rules.Key) string {
	switch k.Derived {
	case rules.DerivedSubnet:
		ip := ev.Values[event.SourceIP]
		if sn, ok := c.subnets[ip]; ok {
			return sn
		}
		if c.subnets == nil || len(c.subnets) >= maxInterned {
			c.subnets = make(map[string]string, 1024)
		}
		sn := c.intern.get(rules.Subnet(ip))
		c.subnets[c.intern.get(ip)] = sn
		return sn
	case rules.DerivedResponseClass:
		return rules.ResponseClass(ev.Values[event.Status], ev.Values[event.BodyBytes])
	}
	return ev.Values[k.Field]
}

// Observe counts one authentication event. Use it as detect.Config.OnEvent.
// It does not keep ev.
func (c *Collector) Observe(ev *event.Event) {
	if c.ch != nil {
		c.batch = append(c.batch, item{ev: *ev})
		if len(c.batch) == batchSize {
			c.flush()
		}
		return
	}
	c.observe(ev)
}

// batchSize is how many events and alerts travel to the background
// goroutine at a time.
const batchSize = 256

// item is an event or an alert (a copy), in the order the engine made them.
type item struct {
	ev event.Event
	a  *alert.Alert
}

// Background makes the collector count on a goroutine of its own, so the
// engine's goroutine only copies each event into a batch. WriteHTML (or
// Wait) waits for it to catch up. Call it before the run starts.
func (c *Collector) Background() {
	if c.ch != nil {
		return
	}
	c.ch = make(chan []item, 4)
	c.free = make(chan []item, 6)
	c.done = make(chan struct{})
	c.batch = make([]item, 0, batchSize)
	go func() {
		defer close(c.done)
		for b := range c.ch {
			for i := range b {
				if b[i].a != nil {
					c.record(b[i].a)
				} else {
					c.observe(&b[i].ev)
				}
			}
			clear(b)
			select {
			case c.free <- b[:0]:
			default:
			}
		}
	}()
}

func (c *Collector) flush() {
	c.ch <- c.batch
	select {
	case c.batch = <-c.free:
	default:
		c.batch = make([]item, 0, batchSize)
	}
}

// Wait waits for the background goroutine to count everything it was
// given, and stops it. Observe and the sink count synchronously after it.
func (c *Collector) Wait() {
	if c.ch == nil {
		return
	}
	if len(c.batch) > 0 {
		c.ch <- c.batch
	}
	close(c.ch)
	<-c.done
	c.ch, c.free, c.batch = nil, nil, nil
}

func (c *Collector) observe(ev *event.Event) {
	t := ev.Time
	if c.events == 0 || t < c.first {
		c.first = t
	}
	if t > c.last {
		c.last = t
	}
	for (c.last-c.first)/c.width >= maxBuckets {
		c.width *= 2
	}
	c.events++
	var o outcome
	switch ev.Values[event.Outcome] {
	case event.OutcomeFailure:
		o = failure
		c.fails++
	case event.OutcomeSuccess:
		o = success
		c.succs++
	}
	c.total.add(t, o, c.width)
	for _, sg := range c.sigs {
		b := c.keyBuf[:0]
		any := false
		for i, k := range sg.keys {
			if i > 0 {
				b = append(b, 0x1f)
			}
			v := c.keyValue(ev, k)
			if v != "" {
				any = true
			}
			b = append(b, v...)
		}
		c.keyBuf = b
		if !any {
			continue
		}
		g := sg.lookup(b)
		if g == nil {
			g = &group{key: string(b)}
			for _, k := range sg.keys {
				g.vals = append(g.vals, strings.Clone(c.keyValue(ev, k)))
			}
			sg.add(g)
		}
		g.add(ev, o, c.width, c.opt.TopN, &c.intern)
	}
}

func (sg *signature) lookup(key []byte) *group {
	sg.tick++
	g := sg.groups[string(key)]
	if g != nil {
		g.touched = sg.tick
	}
	return g
}

// add adds a group; beyond the cap, the least recently active half of the
// unpinned groups is forgotten (amortised constant time per group).
func (sg *signature) add(g *group) {
	g.touched = sg.tick
	sg.groups[g.key] = g
	if len(sg.groups) <= sg.max+sg.pins {
		return
	}
	ticks := make([]int64, 0, len(sg.groups))
	for _, o := range sg.groups {
		if !o.pinned {
			ticks = append(ticks, o.touched)
		}
	}
	if len(ticks) == 0 {
		return
	}
	sort.Slice(ticks, func(i, j int) bool { return ticks[i] < ticks[j] })
	cut := ticks[len(ticks)/2]
	for k, o := range sg.groups {
		if !o.pinned && o.touched < cut {
			delete(sg.groups, k)
		}
	}
}

// values returns the groups held.
func (sg *signature) values() []*group {
	out := make([]*group, 0, len(sg.groups))
	for _, g := range sg.groups {
		out = append(out, g)
	}
	return out
}

func (g *group) add(ev *event.Event, o outcome, width int64, topN int, in *interner) {
	g.events++
	switch o {
	case failure:
		g.fails++
	case success:
		g.succs++
	}
	g.s.add(ev.Time, o, width)
	// Usernames, addresses and paths are counted from the group's first
	// failure on: most groups only ever log in successfully, and their
	// lists would never be shown.
	if g.fails == 0 {
		return
	}
	capacity := 2 * topN
	if capacity < 16 {
		capacity = 16
	}
	g.users.add(ev.Values[event.UserName], capacity, in)
	g.ips.add(ev.Values[event.SourceIP], capacity, in)
	g.paths.add(ev.Values[event.URLPath], capacity, in)
	if g.identity == "" && ev.Values[event.Identity] != "" {
		g.identity = strings.Clone(ev.Values[event.Identity])
	}
}

// Sink returns an alert.Sink that records each alert and passes it on to
// next (which may be nil). Close closes next.
func (c *Collector) Sink(next alert.Sink) alert.Sink { return &sink{c: c, next: next} }

type sink struct {
	c    *Collector
	next alert.Sink
}

func (s *sink) Send(ctx context.Context, a *alert.Alert) error {
	if c := s.c; c.ch != nil {
		cp := copyAlert(a)
		c.batch = append(c.batch, item{a: &cp})
		if len(c.batch) == batchSize {
			c.flush()
		}
	} else {
		c.record(a)
	}
	if s.next == nil {
		return nil
	}
	return s.next.Send(ctx, a)
}

func (s *sink) Close() error {
	if s.next == nil {
		return nil
	}
	return s.next.Close()
}

// incident is what the report keeps of one incident's alert records.
type incident struct {
	id       string
	first    alert.Alert // the firing record (copied)
	latest   alert.Alert // the newest record that is not a resolution
	status   string
	resolved string
	records  int
	points   []point
	peak     float64
	groups   []*group // the incident's group, when tracked
	raw      []byte   // the newest record as JSON
}

type point struct {
	t        int64
	observed float64
	status   string
}

// record keeps what the report needs of a; it copies everything it keeps.
func (c *Collector) record(a *alert.Alert) {
	c.alerts++
	inc, ok := c.incidents[a.IncidentID]
	if !ok {
		if len(c.order) >= c.opt.MaxIncidents {
			if a.Sequence <= 1 {
				c.dropped++
			}
			return
		}
		inc = &incident{id: a.IncidentID, first: copyAlert(a)}
		c.incidents[a.IncidentID] = inc
		c.order = append(c.order, inc)
		c.pin(inc, a)
	}
	inc.records++
	inc.status = a.Status
	if a.Status == alert.StatusResolved {
		inc.resolved = a.ResolvedAt
	} else {
		inc.latest = copyAlert(a)
		if a.Observed > inc.peak {
			inc.peak = a.Observed
		}
	}
	t := parseTime(a.LastSeen)
	if a.Status == alert.StatusResolved {
		t = parseTime(a.ResolvedAt)
	}
	if len(inc.points) < maxPoints {
		inc.points = append(inc.points, point{t: t, observed: a.Observed, status: a.Status})
	}
	inc.raw, _ = json.Marshal(c.redact(a))
}

// pin keeps the incident's group tracked for the rest of the run.
func (c *Collector) pin(inc *incident, a *alert.Alert) {
	var keys []rules.Key
	for _, r := range c.opt.Rules {
		if r.ID == a.Rule {
			keys = r.GroupBy
			break
		}
	}
	if keys == nil {
		return
	}
	sg := c.bySig[sigName(keys)]
	if sg == nil {
		return
	}
	var b []byte
	for i, k := range keys {
		if i > 0 {
			b = append(b, 0x1f)
		}
		b = append(b, a.Group[k.String()]...)
	}
	g := sg.lookup(b)
	if g == nil {
		g = &group{key: string(b)}
		for _, k := range keys {
			g.vals = append(g.vals, a.Group[k.String()])
		}
	}
	if !g.pinned {
		if sg.groups[g.key] == nil {
			sg.add(g)
		}
		g.pinned = true
		sg.pins++
	}
	inc.groups = append(inc.groups, g)
}

func copyAlert(a *alert.Alert) alert.Alert {
	b := *a
	b.Group = make(map[string]string, len(a.Group))
	for k, v := range a.Group {
		b.Group[k] = v
	}
	if a.Identity != nil {
		id := *a.Identity
		b.Identity = &id
	}
	b.Sample.UserNames = append([]string(nil), a.Sample.UserNames...)
	b.Sample.RequestIDs = append([]string(nil), a.Sample.RequestIDs...)
	b.Sample.SourceIPs = append([]string(nil), a.Sample.SourceIPs...)
	if a.Reason != nil {
		r := *a.Reason
		b.Reason = &r
	}
	if a.Classification != nil {
		cl := *a.Classification
		b.Classification = &cl
	}
	return b
}

// redact returns a copy of a with usernames shown as the privacy mode says:
// the record the alert outputs wrote.
func (c *Collector) redact(a *alert.Alert) *alert.Alert {
	b := copyAlert(a)
	if c.opt.Privacy.Mode == alert.PrivacyPlain {
		return &b
	}
	c.opt.Privacy.Apply(&b)
	return &b
}

func parseTime(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0
	}
	return t.UnixNano()
}

// outcome of an event, as counted.
type outcome uint8

const (
	other outcome = iota
	failure
	success
)

// series counts events per time bucket. Buckets are sparse and mostly
// appended in time order; when the collector's bucket width doubles, the
// series merges its buckets on its next update (or when read).
type series struct {
	width int64
	pts   []bucket
}

type bucket struct {
	idx                  int64
	fails, succs, others int32
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (s *series) coarsen(width int64) {
	if s.width == 0 {
		s.width = width
		return
	}
	if s.width >= width {
		return
	}
	f := width / s.width
	s.width = width
	out := s.pts[:0]
	for _, p := range s.pts {
		p.idx = floorDiv(p.idx, f)
		if n := len(out); n > 0 && out[n-1].idx == p.idx {
			out[n-1].fails += p.fails
			out[n-1].succs += p.succs
			out[n-1].others += p.others
			continue
		}
		out = append(out, p)
	}
	s.pts = out
}

func (s *series) add(t int64, o outcome, width int64) {
	if s.width != width {
		s.coarsen(width)
	}
	idx := floorDiv(t, s.width)
	n := len(s.pts)
	i := n
	if n == 0 || s.pts[n-1].idx < idx {
		s.pts = append(s.pts, bucket{idx: idx})
	} else {
		// Late event: find its bucket from the end.
		i = n - 1
		for i > 0 && s.pts[i].idx > idx {
			i--
		}
		if s.pts[i].idx < idx {
			i++
		}
		if i == n || s.pts[i].idx != idx {
			s.pts = append(s.pts, bucket{})
			copy(s.pts[i+1:], s.pts[i:])
			s.pts[i] = bucket{idx: idx}
		}
	}
	if i == n {
		i = len(s.pts) - 1
	}
	switch o {
	case failure:
		s.pts[i].fails++
	case success:
		s.pts[i].succs++
	default:
		s.pts[i].others++
	}
}

// counter keeps approximate top counts of values with bounded memory
// (Misra-Gries): while fewer than its capacity of distinct values were
// seen the counts are exact; after that each count may be low by at most
// under. Values are few (the capacity is small), so a slice scanned from
// the most recent value is cheaper than a map.
type counter struct {
	vals  []counted
	total int64
	under int64 // how much each count may be low by
}

type counted struct {
	v string
	n int64
}

func (c *counter) add(v string, capacity int, in *interner) {
	if v == "" {
		return
	}
	c.total++
	for i := range c.vals {
		if c.vals[i].v == v {
			c.vals[i].n++
			return
		}
	}
	if len(c.vals) < capacity {
		c.vals = append(c.vals, counted{v: in.get(v), n: 1})
		return
	}
	c.under++
	out := c.vals[:0]
	for _, e := range c.vals {
		if e.n > 1 {
			e.n--
			out = append(out, e)
		}
	}
	clear(c.vals[len(out):])
	c.vals = out
}

// count returns v's count (0 when not held).
func (c *counter) count(v string) int64 {
	for _, e := range c.vals {
		if e.v == v {
			return e.n
		}
	}
	return 0
}

// maxInterned bounds the interner; it starts afresh when full.
const maxInterned = 1 << 16

// interner shares one owned copy of the values the counters keep (the same
// usernames, addresses and paths recur across groups), so a counter's
// insert rarely allocates and no event's memory is kept alive.
type interner struct{ m map[string]string }

func (in *interner) get(v string) string {
	if s, ok := in.m[v]; ok {
		return s
	}
	if in.m == nil || len(in.m) >= maxInterned {
		in.m = make(map[string]string, 1024)
	}
	s := strings.Clone(v)
	in.m[s] = s
	return s
}
