// Package axes reads the login messages django-axes logs from its database
// and cache handlers:
//
//	AXES: New login failure by {username: "alice", ip_address: "203.0.113.7", user_agent: "python-requests/2.32.3", path_info: "/accounts/login/"}. Created new record in the database.
//	AXES: Repeated login failure by {...}. Updated existing record in the database.
//	AXES: Repeated login failure by {...}. Count = 3 of 5. Updating existing record in the cache.
//	AXES: Locking out {...} after repeated login failures.
//	AXES: Successful login by {...}.
//
// inside a Python logging prefix compiled by package pylog, or raw: the
// message starts the line, or follows a syslog or journald header (package
// ingest/internal/syslog) or Python's default prefix "LEVEL:logger:" with an
// axes logger, or both. Nothing else may come before "AXES: ", so that
// client text logged by another logger (the path of django.request's
// "Not Found: /AXES: New login failure by ...") cannot make a message; give
// the handler's Formatter string for other prefixes.
//
// New and repeated failures and failures from whitelisted clients become
// login_failed records with outcome failure, successful logins
// login_succeeded records with outcome success. A lockout message follows the
// failure message of the same attempt, so it becomes a user_locked_out record
// with outcome unknown, not a second failure. Other messages are ignored.
//
// Axes logs no request id, so its records carry none unless the prefix has
// one (a django-log-request-id filter on the handler); the correlator treats
// records without a request id as app-only events keyed by what they carry.
// Since django-axes 6.1 the username and IP address are masked by default
// ("********************"): masked values are left empty and the line
// counted (ingest.FlagMasked).
//
// # Client-typed values
//
// Axes writes the client string {key: "value", ...} without escaping, and
// the username, user agent and path in it are typed by the client, so a
// value can hold `", ip_address: "198.51.100.1` and look like more keys.
// The keys are username, ip_address and user_agent (all three in that
// order with AXES_VERBOSE, the default; otherwise those of
// AXES_LOCKOUT_PARAMETERS, in its order), then path_info, always last; keys
// of later versions are read and ignored. The ip_address value holds no quote: it is an address that
// django-ipware parsed (perhaps from X-Forwarded-For, but always a parsed
// address), None, or the mask. From these facts:
//
//   - A leading username or ip_address is certain, and so is a username
//     right after a leading ip_address (an ip_address value ends at its
//     first quote). Text typed after them cannot change them.
//   - A username ends at the first `", key: "` after it, so it is the typed
//     username, or its beginning when the typed one holds such a sequence.
//   - Elsewhere a username or address is read only when its key occurs
//     once in the string, before the first path_info (for ip_address: once
//     with a quote-free value followed by another key or the end). Client
//     text can repeat a key but cannot remove the real one, so a repeated
//     username or address cannot be placed: it is left empty, the record
//     kept, and the line counted (ingest.FlagAmbiguous). Rejecting the
//     line instead would let a client hide its failed login behind its
//     user agent.
//
// The two readings of a repeated key cannot be told apart: username alice
// from 203.0.113.7 with the user agent `x", ip_address: "198.51.100.1",
// user_agent: "y` writes the same line as the typed username `alice",
// ip_address: "203.0.113.7", user_agent: "x` from 198.51.100.1 with the
// user agent y. What remains: in a client string without ip_address
// (AXES_VERBOSE off and lockout parameters without it) a typed username
// can add one, as the client string with one would read; the username
// recorded is then the part typed before the added key.
package axes

import (
	"bytes"
	"fmt"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/internal/syslog"
	"github.com/spraywatch/spraywatch/ingest/pylog"
)

// Masked is the value django-axes writes for a sensitive parameter.
const Masked = "********************"

// Format reads django-axes messages. It implements ingest.Format.
type Format struct {
	prefix *pylog.Format // nil for raw messages
}

// New returns the format of axes messages inside the Python logging prefix
// described by the Formatter string prefix (which must contain
// %(message)s), or of raw messages if prefix is empty.
func New(prefix string) (*Format, error) {
	f := &Format{}
	if prefix != "" {
		p, err := pylog.CompilePrefix(prefix)
		if err != nil {
			return nil, fmt.Errorf("django-axes: %w", err)
		}
		f.prefix = p
	}
	return f, nil
}

// Name returns "django-axes".
func (f *Format) Name() string { return "django-axes" }

// InZone returns the format reading the %(asctime)s of its Python logging
// prefix in loc (see pylog.Format.InZone); raw messages carry no time of
// their own. It implements ingest.Zoner.
func (f *Format) InZone(loc *time.Location) ingest.Format {
	g := *f
	if f.prefix != nil {
		g.prefix = f.prefix.InLocation(loc)
	}
	return &g
}

// NewParser returns a parser with its own scratch space.
func (f *Format) NewParser() ingest.Parser {
	p := &Parser{f: f}
	if f.prefix != nil {
		p.prefix = f.prefix.NewLineParser()
	}
	return p
}

// Flags returns the flags the format's parsers raise: ingest.FlagMasked
// (values django-axes masked, left empty) and ingest.FlagAmbiguous (a
// username or address left empty because client-typed text made it
// ambiguous; see the package documentation). It implements
// ingest.FlagRaiser.
func (f *Format) Flags() []ingest.Flag {
	return []ingest.Flag{ingest.FlagMasked, ingest.FlagAmbiguous}
}

// CountFlags has the parser count in c the lines it keeps flagged
// (ingest.FlagAmbiguous, ingest.FlagMasked: once a line, however many of
// its values are masked). It implements ingest.Flagger.
func (p *Parser) CountFlags(c *ingest.Flagged) { p.flags = c }

// Parser parses axes lines. It is not safe for concurrent use.
type Parser struct {
	f      *Format
	flags  *ingest.Flagged // see CountFlags
	prefix *pylog.Parser
	work   int // bytes the client string's scans looked at, for tests
}

var (
	marker = []byte("AXES: ")

	kinds = []struct {
		lead    []byte
		action  []byte
		outcome []byte
	}{
		{[]byte("New login failure by "), actionFailed, outcomeFailure},
		{[]byte("Repeated login failure by "), actionFailed, outcomeFailure},
		{[]byte("Login failed from whitelisted client "), actionFailed, outcomeFailure},
		{[]byte("Locking out "), []byte("user_locked_out"), []byte(event.OutcomeUnknown)},
		{[]byte("Successful login by "), []byte("login_succeeded"), []byte(event.OutcomeSuccess)},
	}
	actionFailed   = []byte("login_failed")
	outcomeFailure = []byte(event.OutcomeFailure)
)

// Parse parses one line into r.
func (p *Parser) Parse(line []byte, r *event.Record) error {
	msg := line
	col := 0
	if p.prefix != nil {
		m, err := p.prefix.Split(line, r)
		if err != nil {
			return err
		}
		msg = m
		col = cap(line) - cap(m) // m is a subslice of line
		if !bytes.HasPrefix(msg, marker) {
			return ingest.ErrIgnore
		}
	} else {
		// Only what logging itself writes may come before the marker:
		// client text (a path in django.request's "Not Found: /...")
		// must not make a message.
		i := syslog.Prefix(msg)
		if t := markerTag(msg[:i]); t >= 0 {
			i = t
		}
		i += basicPrefix(msg[i:])
		if !bytes.HasPrefix(msg[i:], marker) {
			return ingest.ErrIgnore
		}
		col = i
		msg = msg[i:]
	}
	body := msg[len(marker):]
	col += len(marker)
	for _, k := range kinds {
		if !bytes.HasPrefix(body, k.lead) {
			continue
		}
		client := body[len(k.lead):]
		end := bytes.LastIndexByte(client, '}')
		if len(client) == 0 || client[0] != '{' || end < 0 {
			return &ingest.SyntaxError{Column: col + len(k.lead) + 1, Msg: `expected a client string {username: "...", ...}`}
		}
		if err := p.client(client[1:end], r, col+len(k.lead)+2); err != nil {
			return err
		}
		r.Set(event.Action, k.action)
		r.Set(event.Outcome, k.outcome)
		return nil
	}
	return ingest.ErrIgnore
}

// Keys of the client string. keyOther is any other identifier: a key a
// later axes version or an AXES_CLIENT_STR_CALLABLE may write.
const (
	keyUsername = iota
	keyIP
	keyUserAgent
	keyPath
	keyOther
)

var (
	keyField = [keyOther]event.Field{event.UserName, event.SourceIP, event.UserAgent, event.URLPath}
	sep      = []byte(`", `)
	colonQ   = []byte(`: "`)
)

// span is a value s[lo:hi] of the client string; lo < 0 when the key is
// absent, hi < 0 while its end is not found yet.
type span struct{ lo, hi int }

// client reads axes' client string s, without its braces: key: "value"
// pairs joined by ", ". Axes escapes nothing, and the username, user agent
// and path are the client's, so a value can hold text that looks like
// `", key: "`. Every such sequence is a possible key boundary (a site), and
// what each field takes from the sites is decided so that client-typed
// text cannot supply another key's value:
//
//   - A key's value starts at its first site and ends at the next site of
//     another key. path_info, which axes always writes last, runs to the
//     closing quote, and a site after the first path_info site starts no
//     value. An ip_address value never holds a quote (it is an address
//     ipware parsed, None or the mask): it ends at the next quote, and an
//     ip_address site counts only if that quote starts a site of another
//     key or closes the string (a candidate).
//   - ip_address is read when the string starts with it, or when the
//     string holds exactly one candidate. Client text can add candidates
//     but never removes the real one, so with several the address is left
//     empty and the line counted as ambiguous.
//   - username is read when the string starts with it, when it follows a
//     leading ip_address, or when the string holds exactly one username
//     site; otherwise it is left empty and the line counted. It ends at the
//     first site after it: the recorded name is what the client typed, cut
//     before the first `", key: "` it holds, never text written after it.
//
// The work is linear in len(s): the sites are found in one forward scan.
func (p *Parser) client(s []byte, r *event.Record, col int) error {
	k0, v0 := p.keyAt(s, 0)
	if v0 < 0 {
		return &ingest.SyntaxError{Column: col, Msg: `expected key: "value" in the client string`}
	}
	last := len(s) - 1
	if last < v0 || s[last] != '"' {
		return &ingest.SyntaxError{Column: col + len(s), Msg: "expected a closing quote in the client string"}
	}
	var (
		f          [keyOther]span
		ipCands    int  // ip_address candidates
		userSites  int  // username sites, the leading one included
		fixedIP    bool // the string starts with ip_address
		fixedUser  bool // username starts the string or follows a leading ip_address
		leadIPQuot = -1 // the quote ending a leading ip_address value
		inPath     bool // past the first path_info site
	)
	for i := range f {
		f[i] = span{-1, -1}
	}
	from := v0
	switch k0 {
	case keyIP:
		q, ok := p.ipEnd(s, v0)
		if !ok {
			return &ingest.SyntaxError{Column: col + q, Msg: `expected the ip_address value to end at ", key: " or the closing quote`}
		}
		f[keyIP] = span{v0, q}
		fixedIP, leadIPQuot, from, ipCands = true, q, q, 1
	case keyUsername:
		fixedUser, userSites = true, 1
		f[keyUsername].lo = v0
	case keyOther:
	default:
		f[k0].lo = v0
		inPath = k0 == keyPath
	}
	for {
		j := bytes.Index(s[from:], sep)
		if j < 0 {
			p.work += len(s) - from
			break
		}
		p.work += j + len(sep)
		i := from + j
		k, v := p.keyAt(s, i+len(sep))
		if v < 0 || v > last {
			from = i + len(sep)
			continue
		}
		from = v
		if k == keyIP {
			q, ok := p.ipEnd(s, v)
			from = q
			if !ok {
				continue // not a boundary: part of the value before it
			}
			ipCands++
			if f[keyIP].lo < 0 && !inPath {
				f[keyIP] = span{v, q}
			}
		}
		if inPath {
			if k == keyUsername {
				userSites++
			}
			continue
		}
		// The site ends the open values of other keys.
		for _, o := range [...]int{keyUsername, keyUserAgent} {
			if o != k && f[o].lo >= 0 && f[o].hi < 0 {
				f[o].hi = i
			}
		}
		switch k {
		case keyUsername:
			userSites++
			if f[keyUsername].lo < 0 {
				f[keyUsername].lo = v
				fixedUser = i == leadIPQuot
			}
		case keyUserAgent:
			if f[k].lo < 0 {
				f[k].lo = v
			}
		case keyPath:
			f[k].lo, inPath = v, true
		}
	}
	for _, o := range [...]int{keyUsername, keyUserAgent, keyPath} {
		if f[o].lo >= 0 && f[o].hi < 0 {
			f[o].hi = last
		}
	}
	ambiguous := false
	if !fixedIP && (ipCands > 1 || ipCands == 1 && f[keyIP].lo < 0) {
		f[keyIP].lo, ambiguous = -1, true
	}
	if !fixedUser && (userSites > 1 || userSites == 1 && f[keyUsername].lo < 0) {
		f[keyUsername].lo, ambiguous = -1, true
	}
	if ambiguous {
		p.flags.Add(ingest.FlagAmbiguous)
	}
	masked := false
	for k, sp := range f {
		if sp.lo < 0 {
			continue
		}
		switch val := s[sp.lo:sp.hi]; string(val) {
		case Masked:
			masked = true
		case "None", "":
		default:
			r.Set(keyField[k], val)
		}
	}
	if masked {
		p.flags.Add(ingest.FlagMasked)
	}
	return nil
}

// keyAt reads `key: "` at s[i:] and returns the key and where its value
// starts, or v < 0 if s[i:] does not start so.
func (p *Parser) keyAt(s []byte, i int) (k, v int) {
	j := i
	for j < len(s) && isKeyByte(s[j]) {
		j++
	}
	p.work += j - i
	if j == i || !bytes.HasPrefix(s[j:], colonQ) {
		return keyOther, -1
	}
	switch string(s[i:j]) {
	case "username":
		k = keyUsername
	case "ip_address":
		k = keyIP
	case "user_agent":
		k = keyUserAgent
	case "path_info":
		k = keyPath
	default:
		k = keyOther
	}
	return k, j + len(colonQ)
}

// ipEnd returns the quote that ends an ip_address value starting at v, and
// whether it ends the string or starts the site of another key. s ends in
// a quote.
func (p *Parser) ipEnd(s []byte, v int) (q int, ok bool) {
	q = v + bytes.IndexByte(s[v:], '"')
	p.work += q - v + 1
	if q == len(s)-1 {
		return q, true
	}
	if !bytes.HasPrefix(s[q:], sep) {
		return q, false
	}
	k, nv := p.keyAt(s, q+len(sep))
	return q, nv >= 0 && nv < len(s) && k != keyIP
}

// markerTag returns where the tag of the syslog header h starts when the
// tag is the marker, alone or behind Python's default prefix, or -1.
// Python's SysLogHandler sends the formatted record with no ident unless
// one is set, so a daemon takes the record's start for the tag: "AXES" in
// "Dec  4 09:00:01 web1 AXES: New login failure by {...}", or
// "WARNING:axes.handlers.database:AXES". The tag stands where the message
// starts, so the marker is still at the message's start.
func markerTag(h []byte) int {
	if !bytes.HasSuffix(h, marker) {
		return -1
	}
	k := len(h) - len(marker)
	s := bytes.LastIndexAny(h[:k], " >") + 1
	if s+basicPrefix(h[s:k]) != k {
		return -1
	}
	return s
}

// basicPrefix returns the length of the prefix "LEVEL:logger:" of Python
// logging's default format (logging.BASIC_FORMAT) at the start of b when
// the logger is axes or one of its children, or 0.
func basicPrefix(b []byte) int {
	c := bytes.IndexByte(b[:min(len(b), 9)], ':')
	if c < 0 {
		return 0
	}
	switch string(b[:c]) {
	case "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL":
	default:
		return 0
	}
	name := b[c+1:]
	if !bytes.HasPrefix(name, []byte("axes")) {
		return 0
	}
	j := len("axes")
	if j < len(name) && name[j] == '.' {
		for j++; j < len(name) && (name[j] == '.' || isKeyByte(name[j])); j++ {
		}
	}
	if j == len(name) || name[j] != ':' {
		return 0
	}
	return c + 1 + j + 1
}

func isKeyByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

var _ ingest.Format = (*Format)(nil)
