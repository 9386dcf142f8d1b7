// Package detect joins proxy and application records into authentication
// events and evaluates rules over sliding event-time windows.
package detect

import (
	"bytes"
	"hash/maphash"
	"math/bits"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/spraywatch/spraywatch/event"
)

// CorrelatorConfig bounds the correlator.
type CorrelatorConfig struct {
	// JoinWindow is how long, in event time, a record waits for its partner.
	JoinWindow time.Duration
	// MaxPending caps the records waiting on each side; the oldest are
	// evicted (and counted) beyond it.
	MaxPending int
	// LoginPaths: a proxy record whose url.path contains one of these waits
	// for its app record and becomes a proxy_only event if none comes.
	// Other proxy records only complete app records already waiting.
	LoginPaths []string
	// LoginMethods: only proxy records with one of these methods (or none
	// logged) wait as login attempts; a GET of the login page is not one.
	LoginMethods []string
	// Identity lists, in order of preference, how an event's certificate
	// identity is derived: sha256, sha1, issuer_serial, subject, uri_san.
	Identity []string
}

// Defaults for CorrelatorConfig.
var (
	DefaultJoinWindow   = 60 * time.Second
	DefaultMaxPending   = 100_000
	DefaultLoginPaths   = []string{"login", "signin", "sign-in", "auth"}
	DefaultIdentity     = []string{"sha256", "sha1", "issuer_serial", "subject"}
	DefaultLoginMethods = []string{"POST"}
)

// MaxJoinWindow is the longest join window a configuration or a flag may
// set. A proxy record and its application record are logged within
// seconds of each other; logs whose times disagree by hours want their
// time zone set, not a longer window, and the rules see every event up to
// a join window late, so incidents would resolve that much later.
const MaxJoinWindow = 24 * time.Hour

// JoinStats counts join outcomes. Safe to read while the correlator runs.
type JoinStats struct {
	Matched   atomic.Int64 // app records joined to a proxy record
	AppOnly   atomic.Int64 // app records with no proxy record in the join window
	ProxyOnly atomic.Int64 // login-path proxy records with no app record
	// Duplicates counts records whose request id was waiting on their
	// side already, and app records of a request whose proxy record had
	// joined an app record already (several attempts in one request).
	Duplicates atomic.Int64
	Evicted    atomic.Int64 // records pushed out of a full buffer
	Unrelated  atomic.Int64 // proxy records not on a login path and matching nothing
	Pending    atomic.Int64 // records waiting now (both sides)
	// Held is the proxy records held now for app records that may come
	// after them (see Correlator.held): those that joined one, for the
	// other attempts of their request, and those off the login paths
	// sent with a login method. At most MaxPending.
	Held atomic.Int64

	// LateApp counts app records that came after their proxy record
	// had expired as proxy_only, LateProxy proxy records that came after
	// their app record had expired as app_only (see LateGap): as the
	// correlator remembers the request ids of its last unmatched records,
	// at most MaxPending or 65,536 a side. The records themselves are
	// counted as before, as app_only, proxy_only or unrelated.
	LateApp   atomic.Int64
	LateProxy atomic.Int64

	// lateGaps are those of LateApp and LateProxy, made when one comes:
	// a correlator whose records all join keeps none.
	lateGaps atomic.Pointer[[2]lateGaps]
	window   time.Duration // the join window, for LateHints
}

// evicted is a record pushed out of a full side, emitted (app) or counted
// (proxy) once the record that pushed it out is done.
type evicted struct {
	slot
	kind event.Kind
}

// Correlator joins proxy and app records by request id. It is not safe for
// concurrent use. Emitted events are valid only during the emit call.
type Correlator struct {
	window   int64
	login    *LoginFilter
	identity []identitySource
	app      *waiting
	proxy    *waiting
	// held keeps proxy records that are no login attempt of their own
	// but that app records may still join: those that have joined one,
	// for the other attempts of their request (see keepJoined), and
	// those off the login paths sent with a login method (see hold).
	held    *waiting
	max     int
	evicted []evicted
	stats   JoinStats
	emit    func(*event.Event)
	scratch event.Event
	ids     identities
	// appGone and proxyGone remember the request ids of the records
	// that expired unmatched on each side, by the side's hash.
	appGone, proxyGone expiredIDs
}

type identitySource uint8

const (
	idSHA256 identitySource = iota
	idSHA1
	idIssuerSerial
	idSubject
	idURISAN
)

// IdentitySourceNames returns the names ParseIdentity takes (spiffe, an
// alias of uri_san, aside).
func IdentitySourceNames() []string {
	return []string{"sha256", "sha1", "issuer_serial", "subject", "uri_san"}
}

// ParseIdentity checks a list of identity sources.
func ParseIdentity(names []string) ([]identitySource, error) {
	var out []identitySource
	for _, n := range names {
		switch n {
		case "sha256":
			out = append(out, idSHA256)
		case "sha1":
			out = append(out, idSHA1)
		case "issuer_serial":
			out = append(out, idIssuerSerial)
		case "subject":
			out = append(out, idSubject)
		case "uri_san", "spiffe":
			out = append(out, idURISAN)
		default:
			names := IdentitySourceNames()
			return nil, &ConfigError{Field: "identity", Msg: "unknown identity source " + n + " (expected " + strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1] + ")"}
		}
	}
	if len(out) == 0 {
		return nil, &ConfigError{Field: "identity", Msg: "at least one identity source is required"}
	}
	return out, nil
}

// ConfigError is a configuration value that cannot be used.
type ConfigError struct{ Field, Msg string }

func (e *ConfigError) Error() string { return e.Field + ": " + e.Msg }

// NewCorrelator returns a correlator that calls emit for every event.
func NewCorrelator(c CorrelatorConfig, emit func(*event.Event)) (*Correlator, error) {
	if c.JoinWindow <= 0 {
		c.JoinWindow = DefaultJoinWindow
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.LoginPaths == nil {
		c.LoginPaths = DefaultLoginPaths
	}
	if c.LoginMethods == nil {
		c.LoginMethods = DefaultLoginMethods
	}
	if c.Identity == nil {
		c.Identity = DefaultIdentity
	}
	ids, err := ParseIdentity(c.Identity)
	if err != nil {
		return nil, err
	}
	k := &Correlator{window: int64(c.JoinWindow), login: NewLoginFilter(c), identity: ids, emit: emit}
	k.max = c.MaxPending
	k.app, k.proxy = newWaiting(), newWaiting()
	// A proxy record's hash finds it in either of its buffers.
	k.held = newWaiting()
	k.held.seed = k.proxy.seed
	k.ids.seed = maphash.MakeSeed()
	k.stats.window = c.JoinWindow
	k.appGone.max = min(c.MaxPending, maxExpired)
	k.proxyGone.max = k.appGone.max
	return k, nil
}

// Stats returns the join counters.
func (k *Correlator) Stats() *JoinStats { return &k.stats }

// LoginFilter tells login attempts from the other proxy records, as a
// correlator configured alike does: a proxy record is a login attempt when
// its method is one of LoginMethods (or it logged none) and its url.path,
// percent-decoded once as the application decodes it, contains one of
// LoginPaths. It is safe for concurrent use, so a source may
// ask it which lines to parse in full (Full; see ingest.FileSource.Skim):
// the correlator needs every field of a login attempt and of a record it
// holds, but of another record only its request id, and the rest only
// when the record completes an app record waiting for it. A source that
// skims must ask Login or Full of this filter, of the correlator's
// configuration: the correlator takes a partial record as no login
// attempt. With Login, it completes the partial records it holds itself,
// on its own goroutine; Full has them parsed in full by the source.
type LoginFilter struct {
	paths   [][]byte
	methods [][]byte
}

// NewLoginFilter returns the filter of c's LoginPaths and LoginMethods,
// with their defaults when nil.
func NewLoginFilter(c CorrelatorConfig) *LoginFilter {
	if c.LoginPaths == nil {
		c.LoginPaths = DefaultLoginPaths
	}
	if c.LoginMethods == nil {
		c.LoginMethods = DefaultLoginMethods
	}
	l := new(LoginFilter)
	for _, p := range c.LoginPaths {
		l.paths = append(l.paths, []byte(p))
	}
	for _, m := range c.LoginMethods {
		l.methods = append(l.methods, []byte(m))
	}
	return l
}

// Login reports whether r, a proxy record, is a login attempt. It reads
// only r's method and path.
func (l *LoginFilter) Login(r *event.Record) bool {
	if m := r.Values[event.Method]; len(m) > 0 && !l.method(m) {
		return false
	}
	path := r.Values[event.URLPath]
	encoded := bytes.IndexByte(path, '%') >= 0
	for _, p := range l.paths {
		if !encoded && bytes.Contains(path, p) || encoded && containsDecoded(path, p) {
			return true
		}
	}
	return false
}

// method reports whether m is one of the login methods.
func (l *LoginFilter) method(m []byte) bool {
	for _, want := range l.methods {
		if len(m) == len(want) && bytes.EqualFold(m, want) {
			return true
		}
	}
	return false
}

// heldMethod reports whether r, a proxy record, logged one of the login
// methods: off the login paths, such a record is held for an app record
// that may come after it (see Correlator.hold).
func (l *LoginFilter) heldMethod(r *event.Record) bool {
	m := r.Values[event.Method]
	return len(m) > 0 && l.method(m)
}

// Full reports whether the correlator needs every field of r, a proxy
// record: whether r is a login attempt, or one it holds for an app record
// that may come after it (a record off the login paths that logged one of
// the login methods). It reads only r's method and path.
func (l *LoginFilter) Full(r *event.Record) bool {
	if m := r.Values[event.Method]; len(m) > 0 {
		// A login method: a login attempt on the login paths, held
		// off them.
		return l.method(m)
	}
	return l.Login(r)
}

// containsDecoded reports whether path, percent-decoded once (an escape
// that is not '%' and two hex digits stays as it is, as Python's unquote
// leaves it), contains p: /accounts/%6Cogin/ is a login path, as Django
// sees it. It decodes as it compares, allocating nothing.
func containsDecoded(path, p []byte) bool {
	if len(p) == 0 {
		return true
	}
	for i := 0; i < len(path); {
		if prefixDecoded(path[i:], p) {
			return true
		}
		_, n := decodeByte(path[i:])
		i += n
	}
	return false
}

// prefixDecoded reports whether b, percent-decoded, starts with p.
func prefixDecoded(b, p []byte) bool {
	for _, want := range p {
		if len(b) == 0 {
			return false
		}
		c, n := decodeByte(b)
		if c != want {
			return false
		}
		b = b[n:]
	}
	return true
}

// decodeByte returns the first byte of b, which is not empty, decoded, and
// how many bytes of b it took.
func decodeByte(b []byte) (byte, int) {
	if b[0] == '%' && len(b) >= 3 && isHexDigit(b[1]) && isHexDigit(b[2]) {
		return hexVal(b[1])<<4 | hexVal(b[2]), 3
	}
	return b[0], 1
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// Add takes one record, in event-time order (roughly: the join window
// absorbs disorder), and emits the events it completes.
func (k *Correlator) Add(r *event.Record) {
	switch r.Kind {
	case event.App:
		k.addApp(r)
	case event.Proxy:
		k.addProxy(r)
	}
	if len(k.evicted) > 0 {
		k.flushEvicted()
	}
}

func (k *Correlator) addApp(r *event.Record) {
	r, err := r.Complete()
	if err != nil {
		return // rejected after all, and counted by its source
	}
	rid := r.Values[event.RequestID]
	if len(rid) == 0 {
		k.scratch.SetFromRecord(r)
		k.finish(&k.scratch, event.JoinAppOnly)
		return
	}
	if k.proxy.len() > 0 || k.held.len() > 0 || !k.proxyGone.empty() {
		h := k.proxy.hashOf(rid)
		if s := k.proxy.findHash(rid, h); s >= 0 {
			p := k.proxy.remove(s)
			k.stats.Pending.Add(-1)
			k.scratch.SetFromRecord(r)
			k.joinWaitingProxy(&k.scratch, &p)
			k.keepJoined(&p, k.clientOf(r.Values[event.SourceIP]))
			return
		}
		if s := k.held.findHash(rid, h); s >= 0 && k.held.slots[s].takes(r.Time) {
			p := &k.held.slots[s]
			c := k.clientOf(r.Values[event.SourceIP])
			switch p.client &^ clientInSecond {
			case 0:
				p.client = c
			case c:
				// Another attempt of a request whose proxy record
				// has joined an app record already.
				k.stats.Duplicates.Add(1)
			default:
				// Another client under the same request id: not an
				// attempt of this request (see clientOf). A duplicate,
				// counted here alone.
				k.stats.Duplicates.Add(1)
				k.waitApp(r, false)
				return
			}
			k.scratch.SetFromRecord(r)
			k.joinWaitingProxy(&k.scratch, p)
			return
		}
		if !k.proxyGone.empty() {
			k.latePartner(event.App, &k.proxyGone, h, r.Time)
		}
	}
	k.waitApp(r, true)
}

// waitApp keeps a copy of app record r until its proxy record comes. The
// app records of one request wait together: when the proxy record comes,
// each joins it (see addProxy); an app record whose request id is waiting
// already is counted as a duplicate if count is set (else the caller has
// counted it already).
func (k *Correlator) waitApp(r *event.Record, count bool) {
	w := k.app
	k.makeRoom(w, event.App)
	s, h := w.lookup(r.Values[event.RequestID])
	if s >= 0 {
		if count {
			k.stats.Duplicates.Add(1)
		}
		w.addSame(s, r)
	} else {
		w.add(r, h)
	}
	k.stats.Pending.Add(1)
}

// addProxy handles a proxy record, which may be partial (see
// event.Record): its request id, method and path tell whether it is
// needed, and only then is it completed. A partial record is one its
// source skimmed with the login filter of this configuration
// (NewLoginFilter) and that the filter declined: it is no login attempt,
// and the filter is not asked again.
func (k *Correlator) addProxy(r *event.Record) {
	rid := r.Values[event.RequestID]
	login := !r.Partial() && k.login.Login(r)
	app := int32(-1)
	if len(rid) > 0 && (k.app.len() > 0 || !k.appGone.empty()) {
		h := k.app.hashOf(rid)
		app = k.app.findHash(rid, h)
		if app < 0 && !k.appGone.empty() {
			k.latePartner(event.Proxy, &k.appGone, h, r.Time)
		}
	}
	if !login && app < 0 && (len(rid) == 0 || !k.login.heldMethod(r)) {
		k.stats.Unrelated.Add(1)
		return
	}
	r, err := r.Complete()
	if err != nil {
		return // rejected after all, and counted by its source
	}
	rid = r.Values[event.RequestID]
	if len(rid) == 0 {
		k.scratch.SetFromRecord(r)
		k.finish(&k.scratch, event.JoinProxyOnly)
		return
	}
	if app >= 0 {
		// Every app record waiting under the request id from the
		// client of the newest joins it, oldest first; one from
		// another client is of another request under a reused id
		// (see clientOf), and is emitted unjoined.
		client := k.app.sourceIP(k.app.slots[app].last)
		for app >= 0 {
			a := k.app.remove(app)
			app = a.same
			k.stats.Pending.Add(-1)
			a.unpack(&k.scratch)
			if k.scratch.Values[event.SourceIP] != client {
				k.finish(&k.scratch, event.JoinAppOnly)
				continue
			}
			k.joinProxyRecord(&k.scratch, r)
		}
		if r.Time%int64(time.Second) == 0 {
			k.keepInSecond(r, k.clientOfString(client))
		}
		return
	}
	if !login {
		k.hold(r)
		return
	}
	k.waitProxy(r)
}

// waitProxy keeps a copy of proxy record r until its app record comes. A
// record already waiting under the same request id is a duplicate: it is
// counted, emitted unjoined unless it has joined an app record already,
// and r takes its place.
func (k *Correlator) waitProxy(r *event.Record) {
	w := k.proxy
	s, h := w.lookup(r.Values[event.RequestID])
	if s >= 0 {
		old := w.remove(s)
		k.stats.Pending.Add(-1)
		k.stats.Duplicates.Add(1)
		old.unpack(&k.scratch)
		k.finish(&k.scratch, event.JoinProxyOnly)
	}
	k.makeRoom(w, event.Proxy)
	w.add(r, h)
	k.stats.Pending.Add(1)
}

// makeRoom evicts the oldest records of side w until it has room for one
// more.
func (k *Correlator) makeRoom(w *waiting, kind event.Kind) {
	for w.len() >= k.max {
		k.evicted = append(k.evicted, evicted{w.remove(w.oldest()), kind})
	}
}

// keepJoined keeps proxy record p, which has joined an app record from
// client (see clientOf), until its join window ends: a request may make
// several login attempts (a batch or GraphQL endpoint), each logged by the
// application under the request's id, and each joins it (see addApp).
func (k *Correlator) keepJoined(p *slot, client uint32) {
	k.keep(p.vals, p.time, p.hash, client)
}

// keepInSecond keeps proxy record r, whose time is in whole seconds and
// which came after the app records of client it joined, for the app
// records of its request logged within that second. A proxy that logs a
// request when it ends, with whole seconds (nginx's $time_local), gives it
// a time up to a second before the end, so the last attempts of a request
// that makes several sort after its record: those the application logged
// within the second join it as well. Later app records under the id are
// of another request (see slot.takes).
func (k *Correlator) keepInSecond(r *event.Record, client uint32) {
	k.keep(r.Pack(), r.Time, uint32(k.held.hashOf(r.Values[event.RequestID])), client|clientInSecond)
}

// clientOf returns a hash of ip, an app record's source.ip, never 0. The
// app records of one request come from one client: several app records
// under one request id from different clients are of different requests
// whose ids collide (an application or a proxy reusing ids), and only
// those of one client join a proxy record, so that such reuse cannot lend
// one certificate the logins of other clients.
func (k *Correlator) clientOf(ip []byte) uint32 {
	return uint32(maphash.Bytes(k.held.seed, ip))&^clientInSecond | 1
}

// clientOfString is clientOf of a string.
func (k *Correlator) clientOfString(ip string) uint32 {
	return uint32(maphash.String(k.held.seed, ip))&^clientInSecond | 1
}

// hold keeps proxy record r, which is no login attempt by its path but
// was sent with a login method, until its join window ends, for an app
// record that comes after it: an endpoint off the login paths (a token
// or GraphQL endpoint) may take logins, and when the proxy's time is
// coarser than the application's (nginx's $time_local is in seconds) the
// proxy record comes first. One that nothing joins is never an event of
// its own: it is counted as unrelated when it leaves.
func (k *Correlator) hold(r *event.Record) {
	k.keep(r.Pack(), r.Time, uint32(k.held.hashOf(r.Values[event.RequestID])), 0)
}

// keep holds the proxy record packed in vals, of time t and request id
// hash h (see waiting.lookup), with client (see slot.client). A record
// held under the same request id (an earlier request) is dropped first,
// and then the oldest held records until there is room for one more.
// Nothing of a record dropped is lost: it has joined, or it is counted as
// unrelated.
func (k *Correlator) keep(vals event.Packed, t int64, h uint32, client uint32) {
	w := k.held
	if s := w.findPacked(vals, h); s >= 0 {
		k.dropHeld(w.remove(s))
	}
	for w.len() >= k.max {
		k.dropHeld(w.remove(w.oldest()))
	}
	w.slots[w.addPacked(vals, t, h)].client = client
	k.heldChanged()
}

// heldChanged keeps Held current once records entered or left held.
func (k *Correlator) heldChanged() {
	k.stats.Held.Store(int64(k.held.len()))
}

// dropHeld counts a held record that leaves without having joined.
func (k *Correlator) dropHeld(p slot) {
	if p.client == 0 {
		k.stats.Unrelated.Add(1)
	}
}

// proxyFields are taken from the proxy record when it has them: they
// describe the connection as the edge saw it.
var proxyFields = [...]event.Field{
	event.SourceIP, event.SourcePort, event.TLSSubject, event.TLSIssuer,
	event.TLSSHA1, event.TLSSHA256, event.TLSSerial, event.TLSURISAN,
	event.TLSVerify, event.TLSCertificate, event.Method, event.URLPath,
	event.Status, event.BodyBytes, event.UserAgent,
}

// proxyMask has the bits of proxyFields but TLSCertificate, which a
// joined event does not carry.
var proxyMask = func() uint32 {
	var m uint32
	for _, f := range proxyFields {
		if f != event.TLSCertificate {
			m |= 1 << f
		}
	}
	return m
}()

// joinWaitingProxy completes app with the values of the proxy record
// waiting in p and emits it. The event time is the app record's: the
// moment the application saw the attempt.
func (k *Correlator) joinWaitingProxy(app *event.Event, p *slot) {
	p.vals.Fill(&app.Values, proxyMask)
	app.Values[event.TLSCertificate] = ""
	k.finish(app, event.JoinMatched)
}

// joinProxyRecord completes app with proxy's values, copied into one
// string unless proxy owns them, and emits it.
func (k *Correlator) joinProxyRecord(app *event.Event, proxy *event.Record) {
	if !proxy.Owned.IsZero() {
		proxy.Owned.Fill(&app.Values, proxyMask)
		app.Values[event.TLSCertificate] = ""
		k.finish(app, event.JoinMatched)
		return
	}
	n := 0
	for m := uint32(proxyMask); m != 0; m &= m - 1 {
		n += len(proxy.Values[bits.TrailingZeros32(m)])
	}
	buf := make([]byte, n)
	// buf is not written again once copied: it can be the string's bytes.
	all, off := unsafe.String(unsafe.SliceData(buf), n), 0
	for m := uint32(proxyMask); m != 0; m &= m - 1 {
		f := bits.TrailingZeros32(m)
		if l := copy(buf[off:], proxy.Values[f]); l > 0 {
			app.Values[f] = all[off : off+l]
			off += l
		}
	}
	app.Values[event.TLSCertificate] = ""
	k.finish(app, event.JoinMatched)
}

func (k *Correlator) finish(e *event.Event, join string) {
	switch join {
	case event.JoinMatched:
		k.stats.Matched.Add(1)
	case event.JoinAppOnly:
		k.stats.AppOnly.Add(1)
	case event.JoinProxyOnly:
		k.stats.ProxyOnly.Add(1)
	}
	e.Values[event.Join] = join
	e.Values[event.Identity] = k.deriveIdentity(e)
	if e.Values[event.Outcome] == "" {
		e.Values[event.Outcome] = event.OutcomeUnknown
	}
	k.emit(e)
}

// deriveIdentity returns e's identity, by the first configured source e
// has. The identity is always a string of its own (a prefix and a value
// put together, shared by the events of a recent certificate), never part
// of a record's values: the engine keeps it as a group's key as it is.
func (k *Correlator) deriveIdentity(e *event.Event) string {
	for _, s := range k.identity {
		switch s {
		case idSHA256:
			if v := e.Values[event.TLSSHA256]; v != "" {
				return k.ids.get("sha256:", v)
			}
		case idSHA1:
			if v := e.Values[event.TLSSHA1]; v != "" {
				return k.ids.get("sha1:", v)
			}
		case idIssuerSerial:
			if v := e.Values[event.TLSSerial]; v != "" && e.Values[event.TLSIssuer] != "" {
				return "serial:" + e.Values[event.TLSIssuer] + "/" + v
			}
		case idSubject:
			if v := e.Values[event.TLSSubject]; v != "" {
				return k.ids.get("subject:", v)
			}
		case idURISAN:
			if v := e.Values[event.TLSURISAN]; v != "" {
				return k.ids.get("uri:", v)
			}
		}
	}
	return ""
}

// Expire emits the records that waited longer than the join window before
// now (event time).
func (k *Correlator) Expire(now int64) {
	// now-window wraps within the join window of the earliest
	// representable time: minus saturates, and nothing expires then.
	limit := minus(now, k.window)
	if k.app.waitedBefore(limit) {
		k.expire(k.app, limit, false, event.JoinAppOnly, &k.appGone)
	}
	if k.proxy.waitedBefore(limit) {
		k.expire(k.proxy, limit, false, event.JoinProxyOnly, &k.proxyGone)
	}
	for k.held.waitedBefore(limit) {
		p := k.held.remove(k.held.oldest())
		k.dropHeld(p)
		if p.client == 0 {
			// An app record may still come, late: remember the id as
			// that of a proxy record that expired unmatched.
			k.proxyGone.add(k.held.hashOfString(p.vals.RequestID()), p.time)
		}
	}
	k.heldChanged()
}

// expire emits the oldest waiting records older than limit, or all of
// them, and remembers their request ids in gone unless it is nil.
func (k *Correlator) expire(w *waiting, limit int64, all bool, join string, gone *expiredIDs) {
	for {
		s := w.oldest()
		if s < 0 || !all && w.slots[s].time >= limit {
			return
		}
		p := w.remove(s)
		k.stats.Pending.Add(-1)
		if gone != nil {
			gone.add(w.hashOfString(p.vals.RequestID()), p.time)
		}
		p.unpack(&k.scratch)
		k.finish(&k.scratch, join)
	}
}

// Flush emits every waiting record, as at the end of the input.
func (k *Correlator) Flush() {
	// Nothing comes after: the request ids are not remembered.
	k.expire(k.app, 0, true, event.JoinAppOnly, nil)
	k.expire(k.proxy, 0, true, event.JoinProxyOnly, nil)
	for k.held.len() > 0 {
		k.dropHeld(k.held.remove(k.held.oldest()))
	}
	k.heldChanged()
}

// flushEvicted emits the records a full buffer pushed out: app records as
// "evicted" events (still visible to rules), proxy records are only counted.
func (k *Correlator) flushEvicted() {
	for i := range k.evicted {
		p := &k.evicted[i]
		k.stats.Evicted.Add(1)
		k.stats.Pending.Add(-1)
		if p.kind == event.App {
			e := &k.scratch
			p.unpack(e)
			e.Values[event.Join] = event.JoinEvicted
			e.Values[event.Identity] = ""
			if e.Values[event.Outcome] == "" {
				e.Values[event.Outcome] = event.OutcomeUnknown
			}
			k.emit(e)
		}
		*p = evicted{}
	}
	k.evicted = k.evicted[:0]
}

// identities remembers identities derived lately, so that the events of
// one certificate share one string instead of each allocating its own.
type identities struct {
	seed   maphash.Seed
	recent [64]string
}

// get returns prefix+v.
func (c *identities) get(prefix, v string) string {
	i := maphash.String(c.seed, v) % uint64(len(c.recent))
	if id := c.recent[i]; len(id) == len(prefix)+len(v) && id[len(prefix):] == v && id[:len(prefix)] == prefix {
		return id
	}
	id := prefix + v
	c.recent[i] = id
	return id
}
