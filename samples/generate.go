package samples

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// Application events.
const (
	evNone uint8 = iota
	evFailed
	evSucceeded
	evLockedOut
	evLogout
	evPasswordReset
)

// proxyRec is one proxy line waiting to be written. Its strings are shared,
// already escaped values, so building one allocates nothing.
type proxyRec struct {
	end    int64 // when nginx wrote the line, Unix ns
	rid    [16]byte
	ip     string
	cert   *cert // nil: no client certificate
	verify string
	req    string // the request line, escaped
	ref    string // escaped, "-" when absent
	ua     string // escaped
	status int32
	bytes  int32
	rt     int32 // request time, ms
	tag    int32 // label index + 1, 0 for none
}

// appRec is one Django line waiting to be written.
type appRec struct {
	at   int64 // Unix ns
	rid  [16]byte
	ev   uint8
	user string // JSON-escaped
	ip   string
	tag  int32
}

// client is whoever sends a request.
type client struct {
	ip     string
	ua     string
	verify string
	cert   *cert
	h2     bool
}

// Session kinds in the day's plan.
const (
	pDirectLogin uint8 = iota + 1
	pGatewayLogin
	pKiosk
	pLogout
	pLockout
	pExpired
	pCampaign
)

type planned struct {
	at   int64
	kind uint8
	who  int32 // employee or campaign index
	aux  int32 // kiosk index, label tag, ...
}

type label struct {
	Campaign
	first, last int64
	hit         bool
	users       map[string]bool
	run         func(g *generator, t int64, tag int32) // attack campaigns
}

type generator struct {
	cfg        Config
	r          *rand.Rand
	optIn      *rand.Rand // the opt-in kinds' own source (see ownDraws)
	start, end int64

	emps       []employee
	known      map[string]bool
	natIPs     []string
	kiosks     []client
	visitorIPs []string
	gateway    client
	plan       []planned
	labels     []*label

	// tags of the hard-negative labels (index + 1)
	tagWave, tagNAT, tagKiosk, tagLockout int32

	proxy  []proxyRec
	app    []appRec
	pspare []proxyRec
	aspare []appRec
	keys   []sortKey

	pw, aw *bufio.Writer
	buf    []byte
	stats  Stats

	// formatted-second caches
	pSec, aSec int64
	pTime      []byte
	aTime      []byte
}

const (
	second = int64(time.Second)
	minute = int64(time.Minute)
	hour   = int64(time.Hour)
	day    = 24 * hour
	ms     = int64(time.Millisecond)
)

// Generate writes the proxy and application logs described by c and returns
// the labels of the campaigns and hard negatives they contain.
func Generate(c Config, proxy, app io.Writer) ([]Campaign, Stats, error) {
	if c.Duration < MinDuration {
		return nil, Stats{}, fmt.Errorf("generating samples: duration %v is shorter than one hour", c.Duration)
	}
	if !(c.Scale > 0) || c.Scale > MaxScale {
		return nil, Stats{}, fmt.Errorf("generating samples: scale %v is not in (0, 100000]", c.Scale)
	}
	want, err := selectKinds(c.Campaigns)
	if err != nil {
		return nil, Stats{}, err
	}
	g := &generator{
		cfg:   c,
		r:     rand.New(rand.NewPCG(uint64(c.Seed), uint64(c.Seed)^0x9e3779b97f4a7c15)),
		optIn: rand.New(rand.NewPCG(uint64(c.Seed)^0x6a09e667f3bcc909, uint64(c.Seed)+0xbb67ae8584caa73b)),
		start: c.Start.UTC().UnixNano(),
		pw:    bufio.NewWriterSize(proxy, 256<<10),
		aw:    bufio.NewWriterSize(app, 64<<10),
		pSec:  math.MinInt64,
		aSec:  math.MinInt64,
	}
	g.end = g.start + int64(c.Duration)
	g.setup(want)
	if err := g.run(); err != nil {
		return nil, g.stats, err
	}
	var out []Campaign
	for _, l := range g.labels {
		if !l.hit {
			if !l.Negative {
				return nil, g.stats, fmt.Errorf("generating samples: campaign %s produced no lines", l.ID)
			}
			continue // e.g. no morning wave inside a short period
		}
		l.Start = time.Unix(0, l.first).UTC()
		l.End = time.Unix(0, l.last).UTC()
		out = append(out, l.Campaign)
	}
	return out, g.stats, nil
}

func selectKinds(names []string) (map[string]bool, error) {
	want := make(map[string]bool)
	if names == nil {
		for _, k := range AttackKinds {
			want[k] = true
		}
		return want, nil
	}
	for _, n := range names {
		if !slices.Contains(AttackKinds, n) && !slices.Contains(OptInKinds, n) {
			return nil, fmt.Errorf("generating samples: unknown campaign kind %q (want one of %v or %v)", n, AttackKinds, OptInKinds)
		}
		want[n] = true
	}
	return want, nil
}

// fill fills b with random bytes.
func (g *generator) fill(b []byte) {
	for len(b) > 0 {
		v := g.r.Uint64()
		for i := 0; i < 8 && len(b) > 0; i++ {
			b[0] = byte(v)
			v >>= 8
			b = b[1:]
		}
	}
}

func (g *generator) rid() (id [16]byte) {
	a, b := g.r.Uint64(), g.r.Uint64()
	for i := 0; i < 8; i++ {
		id[i] = byte(a >> (8 * i))
		id[8+i] = byte(b >> (8 * i))
	}
	return id
}

// between returns a duration drawn uniformly from [lo, hi).
func (g *generator) between(lo, hi time.Duration) int64 {
	return int64(lo) + g.r.Int64N(int64(hi-lo))
}

func (g *generator) chance(p float64) bool { return g.r.Float64() < p }

// poisson draws a Poisson variate with mean m.
func (g *generator) poisson(m float64) int {
	if m <= 0 {
		return 0
	}
	if m > 40 {
		n := int(math.Round(m + math.Sqrt(m)*g.r.NormFloat64()))
		return max(n, 0)
	}
	l, k, p := math.Exp(-m), 0, 1.0
	for {
		p *= g.r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func (g *generator) scaled(n float64) int {
	return max(1, int(math.Round(n*g.cfg.Scale)))
}

func (g *generator) newLabel(kind string, negative bool) int32 {
	n := 0
	for _, l := range g.labels {
		if l.Kind == kind {
			n++
		}
	}
	l := &label{Campaign: Campaign{ID: kind + "-" + strconv.Itoa(n+1), Kind: kind, Negative: negative,
		Identities: []string{}, Users: []string{}}, users: map[string]bool{}}
	g.labels = append(g.labels, l)
	return int32(len(g.labels))
}

func (g *generator) addUser(tag int32, u string) {
	if tag == 0 {
		return
	}
	l := g.labels[tag-1]
	if !l.users[u] {
		l.users[u] = true
		l.Users = append(l.Users, u)
	}
}

func (g *generator) addIdentity(tag int32, id string) {
	l := g.labels[tag-1]
	if !slices.Contains(l.Identities, id) {
		l.Identities = append(l.Identities, id)
	}
}

func (g *generator) empClient(e *employee) client {
	c := client{ip: e.ip, ua: e.ua, verify: "SUCCESS", cert: e.cert, h2: len(e.ua)%2 == 0}
	if e.nat > 0 {
		c.ip = g.natIPs[e.nat-1]
	}
	return c
}

// run generates the period minute by minute. Every record a session or
// campaign makes starts at or after the session's planned time, so after the
// sessions planned before a minute's end have been expanded, all records
// stamped before that end are final and can be written in order.
func (g *generator) run() error {
	slices.SortFunc(g.plan, func(a, b planned) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.kind, b.kind), cmp.Compare(a.who, b.who))
	})
	pi := 0
	for cs := g.start; cs < g.end; cs += minute {
		ce := min(cs+minute, g.end)
		for pi < len(g.plan) && g.plan[pi].at < ce {
			g.expand(&g.plan[pi])
			pi++
		}
		g.background(cs, ce)
		if err := g.flush(ce); err != nil {
			return err
		}
	}
	if err := g.flush(math.MaxInt64); err != nil {
		return err
	}
	if err := g.pw.Flush(); err != nil {
		return fmt.Errorf("writing proxy log: %w", err)
	}
	if err := g.aw.Flush(); err != nil {
		return fmt.Errorf("writing app log: %w", err)
	}
	return nil
}

func (g *generator) seen(tag int32, t int64) {
	l := g.labels[tag-1]
	if !l.hit || t < l.first {
		l.first = t
	}
	l.hit = true
	if t > l.last {
		l.last = t
	}
}

// flush writes the records stamped before limit.
func (g *generator) flush(limit int64) error {
	n, err := flushSorted(&g.proxy, &g.pspare, &g.keys, limit,
		func(r *proxyRec) int64 { return r.end },
		func(r *proxyRec) error {
			g.buf = g.appendProxy(g.buf[:0], r)
			if r.tag > 0 {
				g.seen(r.tag, r.end/second*second)
			}
			_, err := g.pw.Write(g.buf)
			return err
		})
	g.stats.ProxyLines += int64(n)
	if err != nil {
		return fmt.Errorf("writing proxy log: %w", err)
	}
	n, err = flushSorted(&g.app, &g.aspare, &g.keys, limit,
		func(r *appRec) int64 { return r.at },
		func(r *appRec) error {
			g.buf = g.appendApp(g.buf[:0], r)
			if r.tag > 0 {
				g.seen(r.tag, r.at/1000*1000)
			}
			_, err := g.aw.Write(g.buf)
			return err
		})
	g.stats.AppLines += int64(n)
	if err != nil {
		return fmt.Errorf("writing app log: %w", err)
	}
	return nil
}

// sortKey orders records by time, then by the order they were made.
type sortKey struct {
	t int64
	i int32
}

// flushSorted writes, in time order, the records of *recs stamped before
// limit, and keeps the others (in order) for later. Only the small keys are
// sorted; records move once.
func flushSorted[R any](recs, spare *[]R, keys *[]sortKey, limit int64, at func(*R) int64, write func(*R) error) (int, error) {
	rs := *recs
	ks := (*keys)[:0]
	for i := range rs {
		ks = append(ks, sortKey{at(&rs[i]), int32(i)})
	}
	slices.SortFunc(ks, func(a, b sortKey) int {
		if a.t != b.t {
			return cmp.Compare(a.t, b.t)
		}
		return cmp.Compare(a.i, b.i)
	})
	*keys = ks
	n := 0
	for n < len(ks) && ks[n].t < limit {
		if err := write(&rs[ks[n].i]); err != nil {
			return n, err
		}
		n++
	}
	rest := (*spare)[:0]
	for _, k := range ks[n:] {
		rest = append(rest, rs[k.i])
	}
	*recs, *spare = rest, rs[:0]
	return n, nil
}
