package detect

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
)

// A correlator sequence is decoded from bytes. The first sets MaxPending
// (1 + bits 0-1) and JoinWindow (1 + bits 2-3 seconds); with bit 4 set,
// Expire comes before every record, at the latest time so far, as the
// engine's watermark calls it (see Engine.Advance); bit 5 tells which
// lines a skimming proxy source reads in full: those LoginFilter.Full
// wants when set, else those LoginFilter.Login wants. Each pair after it
// is one operation, at most corrMaxOps of them. In the first byte of a
// pair, bits 0-2 are the operation (0-2 an app record, 3-5 a proxy
// record, 6 Expire at the latest time so far, 7 a step of time), bits 3-5
// the time step before a record (corrSteps), bit 6 a proxy record's time
// in whole seconds, bit 7 a proxy record from a source that skims: the
// record is partial (time, request id, method and path, and its line) if
// the filter does not want it. In the second, bits 0-2 are the request id
// (corrIDs), bits 3-4 an app record's client (corrIPs) or bits 3-5 a
// proxy record's path and method (corrPaths), bit 6 a partial record
// whose line is rejected when completed (a lazy skim leaves the values
// after the request id unchecked); of a step of time, bits 0-3 are
// quarter seconds less one. The alphabet is small, so that request ids
// and clients collide often.
const corrMaxOps = 300

// corrIDs are the request ids of a sequence; the last is none.
var corrIDs = [8]string{"r0", "r1", "r2", "r3", "r4", "r5", "r0", ""}

// corrIPs are the clients of app records.
var corrIPs = [4]string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.1"}

// corrPaths are the paths and methods of proxy records: login attempts
// (on the login paths, with a login method or none), records off the
// login paths with a login method (held), and others: a GET, or no method
// off the login paths.
var corrPaths = [8]struct{ path, method string }{
	{"/accounts/login/", "POST"},
	{"/accounts/login/", "POST"},
	{"/accounts/login/", ""},
	{"/graphql", "POST"},
	{"/api/token/", "POST"},
	{"/graphql", "GET"},
	{"/accounts/login/", "GET"},
	{"/static/app.js", ""},
}

// corrSteps are the time steps before a record: forward, or slightly
// backward.
var corrSteps = [8]time.Duration{0, 0, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, 900 * time.Millisecond, -100 * time.Millisecond, -400 * time.Millisecond}

// Operations of a sequence.
const (
	opApp     = 0
	opProxy   = 3
	opExpire  = 6
	opAdvance = 7
)

// corrOp is one operation of a sequence, for writing seeds.
type corrOp struct {
	kind  byte // opApp, opProxy, opExpire or opAdvance
	id    byte // index in corrIDs
	arg   byte // index in corrIPs (app) or corrPaths (proxy)
	step  byte // index in corrSteps; quarter seconds less one (opAdvance)
	whole bool // a proxy record's time in whole seconds
	// skim and reject tell of a proxy record that its source skims, and
	// that its line is rejected if completed.
	skim, reject bool
}

// encodeOps returns the bytes of a sequence with max pending records a
// side and a join window of window seconds (1 to 4), and Expire before
// every record if each.
func encodeOps(max, window int, each bool, ops ...corrOp) []byte {
	b := []byte{byte(max-1) | byte(window-1)<<2}
	if each {
		b[0] |= 1 << 4
	}
	for _, o := range ops {
		a := o.kind | o.step<<3
		if o.whole {
			a |= 1 << 6
		}
		if o.skim {
			a |= 1 << 7
		}
		x := o.id | o.arg<<3
		if o.reject {
			x |= 1 << 6
		}
		if o.kind == opAdvance {
			a, x = opAdvance, o.step
		}
		b = append(b, a, x)
	}
	return b
}

// Seed operations; ids, clients and paths are indexes in corrIDs,
// corrIPs and corrPaths, steps in corrSteps.
func appOp(id, ip, step byte) corrOp { return corrOp{kind: opApp, id: id, arg: ip, step: step} }
func proxyOp(id, path, step byte, whole bool) corrOp {
	return corrOp{kind: opProxy, id: id, arg: path, step: step, whole: whole}
}
func expireOp() corrOp               { return corrOp{kind: opExpire} }
func advanceOp(quarters byte) corrOp { return corrOp{kind: opAdvance, step: quarters - 1} }

// skimmedOp is proxyOp from a source that skims, its line rejected if
// completed when reject is set.
func skimmedOp(id, path, step byte, whole, reject bool) corrOp {
	o := proxyOp(id, path, step, whole)
	o.skim, o.reject = true, reject
	return o
}

// skimFull makes the skimming sources of sequence b read in full the
// lines LoginFilter.Full wants, rather than those Login wants.
func skimFull(b []byte) []byte {
	b[0] |= 1 << 5
	return b
}

// corrSeeds encode the cases the correlator's doc comments describe.
var corrSeeds = [][]byte{
	// App records of a request, then its proxy record in whole seconds,
	// then more within the second (one from another client) and one
	// past it.
	encodeOps(4, 4, true, appOp(1, 0, 2), appOp(1, 0, 2), appOp(1, 0, 2), proxyOp(1, 0, 3, true),
		appOp(1, 0, 2), appOp(1, 1, 0), appOp(1, 0, 4), advanceOp(8), expireOp()),
	// A proxy record first, then app records of its request from two
	// clients.
	encodeOps(4, 2, false, proxyOp(2, 0, 2, false), appOp(2, 0, 2), appOp(2, 1, 2), appOp(2, 0, 2), appOp(2, 1, 3),
		advanceOp(12), expireOp(), appOp(2, 0, 0)),
	// A POST off the login paths held, joined by app records after it;
	// another held that nothing joins in its window.
	encodeOps(2, 1, true, proxyOp(3, 3, 2, true), appOp(3, 0, 3), appOp(3, 0, 3), proxyOp(4, 4, 2, false),
		advanceOp(6), expireOp(), appOp(4, 0, 0), proxyOp(5, 5, 2, false)),
	// Eviction at MaxPending 1 on both sides and of held records.
	encodeOps(1, 4, false, appOp(0, 0, 2), appOp(1, 0, 2), appOp(2, 1, 2), proxyOp(0, 0, 2, false), proxyOp(2, 0, 2, false),
		proxyOp(3, 1, 2, false), proxyOp(4, 2, 2, false), appOp(3, 0, 2), appOp(4, 2, 2), proxyOp(5, 3, 2, false),
		proxyOp(1, 4, 2, false), appOp(5, 0, 2), appOp(1, 0, 2), appOp(7, 0, 2), proxyOp(7, 0, 2, false)),
	// A reused request id: pairs in turn, and duplicates on each side.
	encodeOps(3, 1, true, appOp(0, 0, 2), proxyOp(0, 0, 2, false), appOp(0, 0, 2), proxyOp(0, 2, 2, false),
		proxyOp(0, 0, 2, false), proxyOp(0, 1, 2, false), appOp(0, 1, 7), expireOp(), advanceOp(16), expireOp()),
	// Skimmed by the login filter: a partial GET completed for the app
	// record waiting under its id; a partial POST off the login paths
	// completed to be held, and joined; a partial GET nothing needs, not
	// completed; partial records whose lines are rejected when completed,
	// held or with an app record waiting, which a login attempt then
	// joins.
	encodeOps(3, 2, true, appOp(1, 0, 2), skimmedOp(1, 5, 2, false, false), skimmedOp(2, 3, 2, true, false),
		appOp(2, 0, 2), skimmedOp(3, 7, 2, false, false), skimmedOp(4, 4, 2, false, true), appOp(4, 1, 2),
		skimmedOp(4, 6, 2, false, true), proxyOp(4, 0, 2, false), advanceOp(12), expireOp()),
	// Skimmed as LoginFilter.Full asks: a POST off the login paths read
	// in full and held; a partial GET of a login path completed for its
	// waiting app record; a rejected line nothing needs, not completed;
	// a rejected line an app record waits for; a partial record late
	// for its app record.
	skimFull(encodeOps(2, 1, false, skimmedOp(0, 3, 2, true, false), appOp(0, 0, 2), appOp(5, 0, 2),
		skimmedOp(5, 6, 2, false, false), skimmedOp(5, 5, 2, false, true), appOp(3, 2, 2),
		skimmedOp(3, 7, 2, false, true), advanceOp(8), expireOp(), skimmedOp(3, 5, 2, false, false))),
}

// corrApp is an app record given to the correlator.
type corrApp struct {
	rid, ip string
	time    int64
	latest  int64  // the latest time so far when it came, its own included
	join    string // of its event, "" until emitted
}

// corrProxy is a proxy record given to the correlator.
type corrProxy struct {
	rid, path, method, ip string
	time                  int64
	login                 bool // a login attempt: waits and may be proxy_only
	proxyOnly             int  // its proxy_only events
	// client is the source.ip, as the application logged it, of the
	// app records joined to it; "" if none.
	client string
	// after tells that the first app records it joined came before it;
	// latest is the latest time so far when it came, or when it first
	// joined an app record that came after it.
	after  bool
	latest int64
	// partial tells that it came skimmed, with its line (reject: one
	// its completion rejects); completed counts its completions.
	partial, reject bool
	completed       int
}

// corrChecker runs a sequence and checks the correlator's invariants
// after every operation and at the end.
type corrChecker struct {
	t       testing.TB
	k       *Correlator
	max     int
	window  int64
	each    bool     // Expire before every record
	latest  int64    // the latest time so far
	expire  int64    // the time of the Expire running, 0 if none
	ops     []string // the operations so far, for failures
	apps    []corrApp
	proxies []corrProxy
	// adding is the record being added: "u3" or "p2", "" if none.
	adding string
	// events by join; joined counts the proxy records that some app
	// record joined.
	matched, appOnly, proxyOnly, evicted, joined int64
	// goneApp and goneProxy count the records of each request id that
	// Expire emitted or dropped unjoined and that no late partner has
	// taken; lateApp and lateProxy are the late partners seen.
	goneApp, goneProxy map[string]int
	lateApp, lateProxy int64
	// dups is the duplicates seen; dup tells that the record being
	// added is one for sure.
	dups int64
	dup  bool
	// emitted lists the app records emitted while a proxy record is
	// added, and their joins.
	emitted []string
	// skim is the login filter's method a skimming source asks which
	// lines to read in full; rejected counts the partial records whose
	// completion rejected their line. line holds the values of the last
	// completed record, which the next completion overwrites.
	skim     func(*event.Record) bool
	rejected int64
	line     []byte
}

// runCorrelatorOps decodes data (see corrMaxOps) and runs it.
func runCorrelatorOps(t testing.TB, data []byte) {
	if len(data) == 0 {
		return
	}
	window := time.Duration(1+data[0]>>2&3) * time.Second
	c := &corrChecker{t: t, max: 1 + int(data[0]&3), window: int64(window), each: data[0]&(1<<4) != 0,
		goneApp: make(map[string]int), goneProxy: make(map[string]int), line: make([]byte, 0, 128)}
	cfg := CorrelatorConfig{JoinWindow: window, MaxPending: c.max}
	k, err := NewCorrelator(cfg, c.emit)
	if err != nil {
		t.Fatal(err)
	}
	c.k = k
	filter, skim := NewLoginFilter(cfg), "Login"
	c.skim = filter.Login
	if data[0]&(1<<5) != 0 {
		c.skim, skim = filter.Full, "Full"
	}
	c.ops = append(c.ops, fmt.Sprintf("input %x: MaxPending %d, JoinWindow %v, Expire before every record %v, skims read in full what %s wants",
		data, c.max, window, c.each, skim))
	cur := 1000 * int64(time.Second) // the time of the last record, or step
	c.latest = cur
	data = data[1:]
	for i := 0; i < corrMaxOps && 2*i+1 < len(data); i++ {
		a, b := data[2*i], data[2*i+1]
		step := int64(corrSteps[a>>3&7])
		switch kind := a & 7; {
		case kind < opProxy:
			cur += step
			c.addApp(cur, corrIDs[b&7], corrIPs[b>>3&3])
		case kind < opExpire:
			cur += step
			t := cur
			if a&(1<<6) != 0 {
				t -= t % int64(time.Second)
			}
			p := corrPaths[b>>3&7]
			c.addProxy(t, corrIDs[b&7], p.path, p.method, a&(1<<7) != 0, b&(1<<6) != 0)
		case kind == opExpire:
			c.expireNow()
		default:
			cur += int64(1+b&15) * int64(time.Second/4)
			c.latest = max(c.latest, cur)
			c.ops = append(c.ops, fmt.Sprintf("time %s", secs(cur)))
		}
		c.check()
	}
	c.ops = append(c.ops, "Flush")
	k.Flush()
	c.check()
	c.checkEnd()
}

// secs formats an event time in seconds.
func secs(t int64) string { return strconv.FormatFloat(float64(t)/1e9, 'f', -1, 64) }

// fatalf fails the test with the operations so far.
func (c *corrChecker) fatalf(format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("after\n\t%s\n%s", strings.Join(c.ops, "\n\t"), fmt.Sprintf(format, args...))
}

// expireNow calls Expire at the latest time so far.
func (c *corrChecker) expireNow() {
	c.ops = append(c.ops, fmt.Sprintf("Expire(%s)", secs(c.latest)))
	held := c.heldUnjoined()
	c.expire = c.latest
	c.k.Expire(c.latest)
	c.expire = 0
	// The held proxy records that nothing joined are dropped unjoined.
	after := c.heldUnjoined()
	for _, rid := range held {
		if !slices.Contains(after, rid) {
			c.goneProxy[rid]++
		}
	}
}

// heldUnjoined returns the request ids of the held proxy records that no
// app record has joined.
func (c *corrChecker) heldUnjoined() []string {
	var ids []string
	w := c.k.held
	for s, n := w.head, 0; s >= 0 && n < w.len(); s, n = w.slots[s].next, n+1 {
		if w.slots[s].client == 0 {
			ids = append(ids, w.slots[s].vals.RequestID())
		}
	}
	return ids
}

// checkDuplicate checks that the record just added was counted as a
// duplicate at most once, and once if it is one for sure: an app record
// that waits with others of its request id, or from another client than
// the one a held proxy record of its id joined, or that joined a proxy
// record that had joined another; a proxy record that took the place of
// one waiting under its request id.
func (c *corrChecker) checkDuplicate() {
	n := c.k.Stats().Duplicates.Load()
	if d := n - c.dups; d > 1 || c.dup && d != 1 {
		c.fatalf("%s counted as a duplicate %d times", c.adding, d)
	}
	c.dups, c.dup = n, false
}

// checkLate checks that a record of request id rid that came late (it
// changed late from c's count to n) found a partner gone unjoined in
// gone.
func (c *corrChecker) checkLate(tag, rid string, late *int64, n int64, gone map[string]int) {
	switch {
	case n == *late:
		return
	case n != *late+1 || gone[rid] == 0:
		c.fatalf("%s of id %q counted late %d times, with %d partners of its id gone unjoined", tag, rid, n-*late, gone[rid])
	}
	gone[rid]--
	*late = n
}

// latestWith returns the latest time so far once a record of time t has
// come, after Expire if it comes before every record.
func (c *corrChecker) latestWith(t int64) int64 {
	c.latest = max(c.latest, t)
	if c.each {
		c.expireNow()
	}
	return c.latest
}

// addApp adds an app record of time t from the client at ip.
func (c *corrChecker) addApp(t int64, rid, ip string) {
	n := len(c.apps)
	c.apps = append(c.apps, corrApp{rid: rid, ip: ip, time: t, latest: c.latestWith(t)})
	r := rec(event.App, 0, "http.request.id", rid, "user.name", "u"+strconv.Itoa(n), "event.outcome", "failure", "source.ip", ip)
	r.Time = t
	c.ops = append(c.ops, fmt.Sprintf("app u%d %s id=%q ip=%s", n, secs(t), rid, ip))
	// One from another client than the one a held proxy record of its
	// id joined is a duplicate, and waits (see Correlator.addApp).
	if s := c.k.held.find([]byte(rid)); rid != "" && s >= 0 && c.k.proxy.find([]byte(rid)) < 0 {
		sl := &c.k.held.slots[s]
		c.dup = sl.client != 0 && sl.takes(t) && sl.client&^clientInSecond != c.k.clientOf([]byte(ip))
	}
	c.adding = "u" + strconv.Itoa(n)
	c.k.Add(r)
	c.checkLate(c.adding, rid, &c.lateApp, c.k.Stats().LateApp.Load(), c.goneProxy)
	// One that waits with others of its request id is a duplicate.
	for i := 0; i < n && c.apps[n].join == "" && !c.dup; i++ {
		c.dup = c.apps[i].join == "" && c.apps[i].rid == rid
	}
	c.checkDuplicate()
	c.adding = ""
	if rid == "" && c.apps[n].join != event.JoinAppOnly {
		c.fatalf("app record u%d without a request id: join %q, want app_only at once", n, c.apps[n].join)
	}
}

// addProxy adds a proxy record of time t, from a source that skims if
// skimmed; reject tells that its line is rejected if completed.
func (c *corrChecker) addProxy(t int64, rid, path, method string, skimmed, reject bool) {
	n := len(c.proxies)
	p := corrProxy{rid: rid, path: path, method: method, ip: "203.0.113." + strconv.Itoa(n), time: t,
		login: strings.Contains(path, "login") && method != "GET", latest: c.latestWith(t)}
	r := rec(event.Proxy, 0, "http.request.id", rid, "url.path", path, "http.request.method", method)
	r.Time = t
	// A skim reads the time, request id, method and path; a line the
	// filter does not want stays partial, to be completed by c.
	p.partial = skimmed && !c.skim(r)
	p.reject = p.partial && reject
	c.proxies = append(c.proxies, p)
	tag := "p" + strconv.Itoa(n)
	what := "proxy"
	switch {
	case p.reject:
		what = "partial proxy, its line rejected,"
		r.Raw, r.Rest, r.RawLine = []byte(tag), c, int64(n+1)
	case p.partial:
		what = "partial proxy"
		r.Raw, r.Rest, r.RawLine = []byte(tag), c, int64(n+1)
	default:
		r.Values[event.SourceIP] = []byte(p.ip)
		r.Values[event.TLSSHA1] = []byte(tag)
	}
	c.ops = append(c.ops, fmt.Sprintf("%s %s %s id=%q %s %s", what, tag, secs(t), rid, method, path))
	// The app records waiting under rid, oldest first.
	var waiting []int
	for i := range c.apps {
		if c.apps[i].join == "" && rid != "" && c.apps[i].rid == rid {
			waiting = append(waiting, i)
		}
	}
	c.adding = tag
	c.emitted = c.emitted[:0]
	c.k.Add(r)
	if p.partial {
		// The line and the values a skim read last only until the
		// source's next record: the correlator keeps none of them.
		for _, v := range append(r.Values[:], r.Raw) {
			clear(v)
		}
		// A partial record is completed once if an app record waits
		// under its request id or it is held (its method is a login
		// method), else never.
		need := len(waiting) > 0 || rid != "" && method == "POST"
		if got := c.proxies[n].completed; need && got != 1 || !need && got != 0 {
			c.fatalf("%s completed %d times, needed %v", tag, got, need)
		}
	}
	c.checkLate(c.adding, rid, &c.lateProxy, c.k.Stats().LateProxy.Load(), c.goneApp)
	c.checkDuplicate()
	if p.reject && len(waiting) > 0 {
		// Rejected after all: the app records wait on.
		waiting = waiting[:0]
	}
	// Every app record waiting under its request id joins it, oldest
	// first, when from the client of the newest; the others are emitted
	// app_only.
	want := make([]string, 0, len(waiting))
	for _, i := range waiting {
		join := event.JoinAppOnly
		if c.apps[i].ip == c.apps[waiting[len(waiting)-1]].ip {
			join = event.JoinMatched
		}
		want = append(want, fmt.Sprintf("u%d %s", i, join))
	}
	if !slices.Equal(c.emitted, want) {
		c.fatalf("%s emitted %q, want %q", c.adding, c.emitted, want)
	}
	c.adding = ""
}

// Complete completes the partial proxy records of a sequence as a
// skimming source's completer does, into values of its own that the next
// completion overwrites; it rejects the lines of those marked so. It is
// called only while the record is added: the line lives no longer.
func (c *corrChecker) Complete(r *event.Record) (*event.Record, error) {
	tag := string(r.Raw)
	j, ok := record(tag, "p", len(c.proxies))
	if !ok || tag != c.adding {
		c.fatalf("completion of line %q while adding %q", r.Raw, c.adding)
	}
	p := &c.proxies[j]
	p.completed++
	if r.Time != p.time || string(r.Values[event.RequestID]) != p.rid || string(r.Values[event.URLPath]) != p.path ||
		string(r.Values[event.Method]) != p.method {
		c.fatalf("completion of %s at %s id=%q %s %s, want the record skimmed", tag, secs(r.Time), r.Values[event.RequestID],
			r.Values[event.Method], r.Values[event.URLPath])
	}
	// The record last completed is valid until now.
	for i := range c.line {
		c.line[i] = '#'
	}
	if p.reject {
		c.rejected++
		return nil, fmt.Errorf("line %d: %s rejected", r.RawLine, tag)
	}
	out := &event.Record{Kind: event.Proxy, Time: p.time}
	c.line = c.line[:0]
	for _, v := range []struct {
		f event.Field
		v string
	}{{event.RequestID, p.rid}, {event.URLPath, p.path}, {event.Method, p.method}, {event.SourceIP, p.ip}, {event.TLSSHA1, tag}} {
		start := len(c.line)
		c.line = append(c.line, v.v...)
		if len(v.v) > 0 {
			out.Values[v.f] = c.line[start:len(c.line):len(c.line)]
		}
	}
	return out, nil
}

// record returns the index that tag ("u3", "p2") gives of a record of
// prefix, and whether it is one of those given.
func record(tag, prefix string, given int) (int, bool) {
	s, ok := strings.CutPrefix(tag, prefix)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	return i, err == nil && 0 <= i && i < given
}

// emit checks an event as the correlator emits it.
func (c *corrChecker) emit(e *event.Event) {
	join, user, tag := e.Get(event.Join), e.Get(event.UserName), e.Get(event.TLSSHA1)
	if join == event.JoinProxyOnly {
		c.emitProxyOnly(e, tag)
		return
	}
	i, ok := record(user, "u", len(c.apps))
	if !ok {
		c.fatalf("%s event of user %q, no app record given", join, user)
	}
	a := &c.apps[i]
	if a.join != "" {
		c.fatalf("app record %s emitted twice: %s, then %s", user, a.join, join)
	}
	a.join = join
	c.emitted = append(c.emitted, user+" "+join)
	if e.Time != a.time || e.Get(event.RequestID) != a.rid {
		c.fatalf("%s event of %s at %s id=%q, want the app record's %s id=%q", join, user, secs(e.Time), e.Get(event.RequestID), secs(a.time), a.rid)
	}
	switch join {
	case event.JoinMatched:
		c.matched++
		j, ok := record(tag, "p", len(c.proxies))
		if !ok {
			c.fatalf("%s matched to proxy record %q, none given", user, tag)
		}
		p := &c.proxies[j]
		if p.rid != a.rid {
			c.fatalf("%s (id %q) matched to %s of id %q", user, a.rid, tag, p.rid)
		}
		if p.partial && (p.completed == 0 || p.reject) {
			// A skim reads no certificate: the identity of a partial
			// record comes from its line, completed and accepted.
			c.fatalf("%s matched to partial %s, completed %d times, its line rejected %v: identity %s it did not have", user, tag,
				p.completed, p.reject, e.Get(event.Identity))
		}
		if c.adding != user && c.adding != tag {
			c.fatalf("%s matched to %s while adding %q", user, tag, c.adding)
		}
		if e.Get(event.SourceIP) != p.ip || e.Get(event.URLPath) != p.path || e.Get(event.Method) != p.method ||
			e.Get(event.Identity) != "sha1:"+tag {
			c.fatalf("%s matched to %s: ip %s path %s method %q identity %s, want the proxy record's", user, tag,
				e.Get(event.SourceIP), e.Get(event.URLPath), e.Get(event.Method), e.Get(event.Identity))
		}
		if p.proxyOnly > 0 {
			c.fatalf("%s matched to %s, which was emitted as proxy_only", user, tag)
		}
		first := p.client == ""
		c.dup = c.dup || !first && c.adding == user
		switch {
		case first:
			p.client = a.ip
			p.after = c.adding == tag
			c.joined++
		case p.client != a.ip:
			c.fatalf("%s from %s matched to %s, which app records from %s joined", user, a.ip, tag, p.client)
		}
		switch {
		case c.adding == tag:
			// The app record waited for the proxy record.
			c.checkWaited(user, tag, p.time-a.latest)
		case p.after && (p.time%int64(time.Second) != 0 || a.time >= p.time+int64(time.Second)):
			c.fatalf("%s at %s matched to %s at %s, which came after the app records it joined", user, secs(a.time), tag, secs(p.time))
		default:
			// The proxy record waited for the app record, or was held.
			c.checkWaited(user, tag, a.time-p.latest)
		}
		if first && !p.after {
			// Held from now on, for more attempts of its request.
			p.latest = c.latest
		}
	case event.JoinAppOnly, event.JoinEvicted:
		if join == event.JoinAppOnly {
			c.appOnly++
			c.checkExpired(user, a.time)
			if c.expire != 0 {
				c.goneApp[a.rid]++
			}
		} else {
			c.evicted++
			if c.adding == "" {
				c.fatalf("%s evicted outside Add", user)
			}
		}
		if e.Get(event.SourceIP) != a.ip || tag != "" || e.Get(event.Identity) != "" {
			c.fatalf("%s event of %s: ip %s sha1 %q identity %q, want the app record's alone", join, user,
				e.Get(event.SourceIP), tag, e.Get(event.Identity))
		}
	default:
		c.fatalf("event of %s with join %q", user, join)
	}
}

// emitProxyOnly checks a proxy_only event.
func (c *corrChecker) emitProxyOnly(e *event.Event, tag string) {
	c.proxyOnly++
	j, ok := record(tag, "p", len(c.proxies))
	if !ok || e.Get(event.UserName) != "" {
		c.fatalf("proxy_only event of %q, user %q: no proxy record given", tag, e.Get(event.UserName))
	}
	p := &c.proxies[j]
	c.dup = c.dup || c.adding != "" && c.adding != tag
	switch {
	case p.partial:
		c.fatalf("proxy_only event of partial %s, %s %s", tag, p.method, p.path)
	case !p.login:
		c.fatalf("proxy_only event of %s, %s %s: no login attempt", tag, p.method, p.path)
	case p.proxyOnly > 0:
		c.fatalf("proxy record %s emitted as proxy_only twice", tag)
	case p.client != "":
		c.fatalf("proxy record %s emitted as proxy_only after app records joined it", tag)
	case e.Time != p.time || e.Get(event.RequestID) != p.rid || e.Get(event.SourceIP) != p.ip:
		c.fatalf("proxy_only event of %s at %s id=%q ip=%s, want the proxy record's", tag, secs(e.Time), e.Get(event.RequestID), e.Get(event.SourceIP))
	}
	p.proxyOnly++
	c.checkExpired(tag, p.time)
	if c.expire != 0 {
		c.goneProxy[p.rid]++
	}
}

// checkWaited checks, when Expire comes before every record, that app
// record user and proxy record tag joined within the join window: that
// the one that came second is at most the join window (d is by how much)
// later than the latest time so far when the other came (or, held, first
// joined). The buffers expire in order of arrival, so a record may
// outlast its window behind an earlier one of a later time, up to the
// latest time so far when it came.
func (c *corrChecker) checkWaited(user, tag string, d int64) {
	if c.each && d > c.window {
		c.fatalf("%s matched to %s, %v after the latest time when the first came, past the join window", user, tag, time.Duration(d))
	}
}

// checkExpired checks that a record of time t emitted unjoined by Expire
// waited longer than the join window.
func (c *corrChecker) checkExpired(tag string, t int64) {
	if c.expire != 0 && t >= c.expire-c.window {
		c.fatalf("%s at %s expired at %s, within the join window", tag, secs(t), secs(c.expire))
	}
}

// check checks the invariants that hold between operations.
func (c *corrChecker) check() {
	c.t.Helper()
	k := c.k
	if len(k.evicted) > 0 {
		c.fatalf("%d evicted records not emitted", len(k.evicted))
	}
	heldUnjoined := 0
	for _, w := range []struct {
		name string
		w    *waiting
	}{{"app", k.app}, {"proxy", k.proxy}, {"held", k.held}} {
		if w.w.len() > c.max || len(w.w.slots) > c.max {
			c.fatalf("%d records in the %s buffer (%d slots), MaxPending %d", w.w.len(), w.name, len(w.w.slots), c.max)
		}
		n := 0
		for s := w.w.head; s >= 0; s = w.w.slots[s].next {
			if n++; n > w.w.len() {
				c.fatalf("more records in the %s buffer's order than its %d", w.name, w.w.len())
			}
			if w.w == k.held && k.held.slots[s].client == 0 {
				heldUnjoined++
			}
		}
	}
	if len(k.appGone.ring) > c.max || len(k.proxyGone.ring) > c.max {
		c.fatalf("%d app and %d proxy request ids remembered expired, MaxPending %d", len(k.appGone.ring), len(k.proxyGone.ring), c.max)
	}
	s := k.Stats()
	if s.Duplicates.Load() != c.dups {
		c.fatalf("%d duplicates, %d when a record came", s.Duplicates.Load(), c.dups)
	}
	if s.LateApp.Load() != c.lateApp || s.LateProxy.Load() != c.lateProxy {
		c.fatalf("late app, proxy records %d, %d; %d, %d when a record came", s.LateApp.Load(), s.LateProxy.Load(), c.lateApp, c.lateProxy)
	}
	pending := s.Pending.Load()
	if pending < 0 || pending != int64(k.app.len()+k.proxy.len()) {
		c.fatalf("pending %d, with %d app and %d proxy records waiting", pending, k.app.len(), k.proxy.len())
	}
	if held := s.Held.Load(); held != int64(k.held.len()) {
		c.fatalf("held %d, with %d proxy records held", held, k.held.len())
	}
	if s.Matched.Load() != c.matched || s.AppOnly.Load() != c.appOnly || s.ProxyOnly.Load() != c.proxyOnly {
		c.fatalf("matched, app_only, proxy_only %d, %d, %d; %d, %d, %d emitted", s.Matched.Load(), s.AppOnly.Load(), s.ProxyOnly.Load(),
			c.matched, c.appOnly, c.proxyOnly)
	}
	// Every app record is emitted once, or waits.
	if n := c.matched + c.appOnly + c.evicted + int64(k.app.len()); n != int64(len(c.apps)) {
		c.fatalf("%d app records given: %d matched, %d app_only, %d evicted, %d waiting", len(c.apps), c.matched, c.appOnly, c.evicted, k.app.len())
	}
	// Every proxy record is unrelated, proxy_only, joined, evicted,
	// waiting or held, or partial and rejected when completed.
	evictedProxies := s.Evicted.Load() - c.evicted
	if evictedProxies < 0 {
		c.fatalf("%d evicted, %d evicted app records emitted", s.Evicted.Load(), c.evicted)
	}
	if n := s.Unrelated.Load() + c.proxyOnly + c.joined + evictedProxies + int64(k.proxy.len()+heldUnjoined) + c.rejected; n != int64(len(c.proxies)) {
		c.fatalf("%d proxy records given: %d unrelated, %d proxy_only, %d joined, %d evicted, %d waiting, %d held unjoined, %d rejected when completed",
			len(c.proxies), s.Unrelated.Load(), c.proxyOnly, c.joined, evictedProxies, k.proxy.len(), heldUnjoined, c.rejected)
	}
}

// checkEnd checks the invariants that hold after Flush.
func (c *corrChecker) checkEnd() {
	c.t.Helper()
	for i, a := range c.apps {
		if a.join == "" {
			c.fatalf("app record u%d never emitted", i)
		}
	}
	k := c.k
	if k.app.len()+k.proxy.len()+k.held.len() != 0 || k.Stats().Pending.Load() != 0 {
		c.fatalf("after Flush: %d app, %d proxy, %d held records, pending %d", k.app.len(), k.proxy.len(), k.held.len(), k.Stats().Pending.Load())
	}
}

// FuzzCorrelator checks the correlator's invariants on sequences of app
// and proxy records, some of them partial as a skimming source gives
// them, Expire and Flush (see corrMaxOps): every app record is emitted
// once, with its own user and time, joined only to a proxy record of its
// request id, within the join window, and of one client; a proxy record
// joins every app record waiting under its id from the client of the
// newest; a login attempt is proxy_only at most once and never once
// joined; a partial record is completed, while it is added, once if an
// app record waits for it or it is held and else never, is never
// proxy_only, and joins with the identity of its completed line only;
// one whose line is rejected when completed joins nothing; Expire emits
// only records older than the join window; the join counts (duplicates
// and late partners too) add up; no buffer holds more than MaxPending
// records.
func FuzzCorrelator(f *testing.F) {
	for _, s := range corrSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runCorrelatorOps(t, data)
	})
}

// TestCorrelatorRandom runs FuzzCorrelator's checks on pseudo-random
// sequences.
func TestCorrelatorRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 17))
	n := 3000
	if raceEnabled {
		n = 300
	}
	for range n {
		data := make([]byte, 1+2*rng.IntN(corrMaxOps+1))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		runCorrelatorOps(t, data)
	}
}
