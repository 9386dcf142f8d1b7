// Package nginx parses nginx access logs written with the user's own
// log_format directive.
//
// Compile takes the directive as it stands in nginx.conf (or just its format
// string) and returns a Format whose parsers read lines written with it into
// records: the variables spraywatch knows ($remote_addr, $time_local,
// $request, $status, $request_id, $ssl_client_s_dn, ...) become event fields
// and the others are read past. Text formats are matched as a sequence of
// literals and variables, a variable's value ending where the next literal
// begins; escape=json formats whose template is a JSON object are read as
// JSON, keys mapped back to the variables the template puts in them.
package nginx

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"strings"
	"unicode/utf8"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/x509cert"
)

// Reference is the log format spraywatch reads by default: the combined
// format with the request id and the client certificate's identity added.
const Reference = `log_format mtls_combined '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                         '"$http_referer" "$http_user_agent" rid=$request_id verify=$ssl_client_verify '
                         'fp=$ssl_client_fingerprint serial=$ssl_client_serial '
                         'dn="$ssl_client_s_dn" idn="$ssl_client_i_dn" rt=$request_time';`

// escapeMode is how nginx escaped variable values in the log.
type escapeMode uint8

const (
	escDefault escapeMode = iota // ", \, bytes < 32 and > 126 as \xHH
	escJSON                      // JSON string escapes
	escNone                      // nothing escaped
)

// segment is one variable of a template and the literal that follows it.
type segment struct {
	name  string  // variable name without '$'
	kind  varKind // what the parser does with it; vSkip to read past
	width int     // fixed width, or 0
	lit   []byte  // literal after the variable; empty only at the end
	at    int     // offset of '$' in the format string, for messages
	id    int     // index in the format's segments (Format.nsegs)

	// For $request: which of its two fields it provides.
	method, path bool

	scan      scanKind // how its value's end is found
	unchecked bool     // a value that cannot be wrong, which a skim passes over
	lazy      bool     // a value a lazy skim does not read: it finds its end, unchecked
	run       runClass // scanClass: the class of a valid value's bytes
	stop      byte     // lit[0]
	near      bool     // lazy: the value is short, its literal is looked for by nearLit
	untilTime bool     // a time follows the literal, which the value may hold (see parser.untilTime)

	// The literal's first eight bytes, little-endian, and which of them
	// it has.
	litWord, litMask uint64
	litWide          int // 8 when the word is the whole literal, else more than any line
}

// template is a literal prefix and the variables that follow it.
type template struct {
	prefix []byte
	segs   []segment
}

// orderedKey is a scalar key of a JSON template and the index of its
// member, or -1 when it holds no variable.
type orderedKey struct {
	key string
	idx int
}

// jsonKey is a member of an escape=json template that holds variables.
type jsonKey struct {
	key string
	t   template
}

// Format is a compiled nginx log_format. It is safe for concurrent use; each
// goroutine takes its own parser with NewParser.
type Format struct {
	directive string // the log_format name, empty for a bare format
	escape    escapeMode
	json      bool

	text template // text formats

	keys    map[string]int // JSON formats: key -> index in members
	order   []orderedKey   // the template's scalar keys in order
	members []jsonKey
	timeKey string // JSON key holding the time

	timeVar string // the variable the event time is taken from
	seed    maphash.Seed
	certs   *x509cert.Cache // $ssl_client_escaped_cert: the certificates parsed
	nsegs   int             // segments in all templates
	decide  int             // text: index of the last segment giving the method or path; -1 if none
	last    int             // text: index of the last segment a lazy skim reads (see parser.Skim)
}

var _ ingest.Format = (*Format)(nil)

// Name says what the format is: "nginx" for text, "nginx-json" for
// escape=json JSON objects.
func (f *Format) Name() string {
	if f.json {
		return "nginx-json"
	}
	return "nginx"
}

// LogFormatName is the name the directive gave the format (mtls_combined
// for Reference); empty for a bare format string.
func (f *Format) LogFormatName() string { return f.directive }

// TimeVariable names the variable the event time is read from.
func (f *Format) TimeVariable() string { return "$" + f.timeVar }

// NewParser returns a parser with its own scratch space.
func (f *Format) NewParser() ingest.Parser { return newParser(f) }

// SetCertCache makes the format's parsers share c for the certificates of
// $ssl_client_escaped_cert. A format without the variable has no use for
// one.
func (f *Format) SetCertCache(c *x509cert.Cache) {
	if f.certs != nil {
		f.certs = c
	}
}

// Default returns the compiled Reference format.
func Default() *Format {
	f, err := Compile(Reference)
	if err != nil {
		panic("nginx: compiling the reference format: " + err.Error())
	}
	return f
}

// Compile compiles a log_format directive as written in nginx.conf:
//
//	log_format name [escape=default|json|none] 'part' "part" ...;
//
// with # comments and parts on several lines, or a bare format: the quoted
// parts alone, or the format string itself. Errors are *CompileError values
// naming the line and column of the problem.
func Compile(directive string) (*Format, error) {
	d, err := parseDirective(directive)
	if err != nil {
		return nil, err
	}
	f := &Format{directive: d.name, seed: maphash.MakeSeed()}
	switch d.escape {
	case "json":
		f.escape = escJSON
	case "none":
		f.escape = escNone
	}
	if f.escape == escJSON && bytes.HasPrefix(bytes.TrimLeft(d.format, " \t\r\n"), []byte("{")) {
		f.json = true
		c := &jsonCompiler{d: d, f: f, s: d.format}
		if err := c.object(""); err != nil {
			return nil, err
		}
		c.ws()
		if c.i != len(c.s) {
			return nil, d.errAt(c.i, "unexpected text after the JSON object")
		}
		if len(f.members) == 0 {
			return nil, d.errAt(0, "the JSON template holds no variable")
		}
		f.keys = make(map[string]int, len(f.members))
		for i, m := range f.members {
			f.keys[m.key] = i
		}
	} else {
		t, err := compileTemplate(d, 0, len(d.format), false)
		if err != nil {
			return nil, err
		}
		f.text = t
	}
	if err := f.resolve(d); err != nil {
		return nil, err
	}
	for _, s := range f.allSegs() {
		if s.kind == vEscapedCert {
			f.certs = x509cert.NewCache(0)
			break
		}
	}
	f.plan()
	return f, nil
}

// compileTemplate compiles format[from:to] into a template. With jsonLit,
// literal text is a JSON string's inside and has its escapes undone.
func compileTemplate(d *directive, from, to int, jsonLit bool) (template, error) {
	var t template
	s := d.format
	lit := &t.prefix
	for i := from; i < to; {
		c := s[i]
		if c == '\\' && jsonLit && i+1 < to {
			n, r := jsonEscape(s[i:to])
			if n == 0 {
				return t, d.errAt(i, "invalid escape in JSON string")
			}
			*lit = appendRune(*lit, r)
			i += n
			continue
		}
		if c != '$' {
			*lit = append(*lit, c)
			i++
			continue
		}
		start := i
		i++
		var name string
		if i < to && s[i] == '{' {
			j := i + 1
			for j < to && s[j] != '}' {
				j++
			}
			if j == to {
				return t, d.errAt(start, "unterminated ${ in variable name")
			}
			name = string(s[i+1 : j])
			i = j + 1
			if !validName(name) {
				return t, d.errAt(start, "invalid variable name ${%s}", name)
			}
		} else {
			j := i
			for j < to && isNameByte(s[j]) {
				j++
			}
			if j == i {
				return t, d.errAt(start, "invalid variable name: '$' not followed by a name")
			}
			name = string(s[i:j])
			i = j
		}
		name = strings.ToLower(name)
		kind, suggestion, ok := lookupVar(name)
		if !ok {
			if suggestion != "" {
				return t, d.errAt(start, "unknown variable $%s (did you mean $%s?)", name, suggestion)
			}
			return t, d.errAt(start, "unknown variable $%s", name)
		}
		if n := len(t.segs); n > 0 && len(t.segs[n-1].lit) == 0 && t.segs[n-1].width == 0 {
			prev := t.segs[n-1]
			return t, d.errAt(start, "variable $%s follows $%s with no text between them: where $%s ends cannot be told", name, prev.name, prev.name)
		}
		t.segs = append(t.segs, segment{name: name, kind: kind, width: fixedWidth(kind), at: start})
		lit = &t.segs[len(t.segs)-1].lit
	}
	return t, nil
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

func validName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !isNameByte(n[i]) {
			return false
		}
	}
	return true
}

// allSegs lists every segment of the format.
func (f *Format) allSegs() []*segment {
	var out []*segment
	add := func(t *template) {
		for i := range t.segs {
			out = append(out, &t.segs[i])
		}
	}
	if f.json {
		for i := range f.members {
			add(&f.members[i].t)
		}
	} else {
		add(&f.text)
	}
	return out
}

// resolve decides which variable provides each field when several could
// ($msec before $time_iso8601 before $time_local; $request_uri before
// $request before $uri for the path; $request_method before $request for the
// method; the RFC 2253 DNs before the legacy ones) and turns the others, and
// repeats, into variables read past.
func (f *Format) resolve(d *directive) error {
	segs := f.allSegs()
	pick := func(kinds ...varKind) *segment {
		for _, k := range kinds {
			for _, s := range segs {
				if s.kind == k {
					return s
				}
			}
		}
		return nil
	}
	timeSeg := pick(vMsec, vTimeISO, vTimeLocal)
	if timeSeg == nil {
		return d.errAt(0, "the format has no time: it needs $time_local, $time_iso8601 or $msec")
	}
	pathSeg := pick(vRequestURI, vRequest, vURI)
	methodSeg := pick(vRequestMethod, vRequest)
	subject := pick(vSubject, vSubjectLegacy)
	issuer := pick(vIssuer, vIssuerLegacy)
	seen := map[varKind]bool{}
	for _, s := range segs {
		keep := false
		switch {
		case isTime(s.kind):
			keep = s == timeSeg
		case s.kind == vRequest:
			s.method = s == methodSeg
			s.path = s == pathSeg
			keep = s.method || s.path
		case s.kind == vRequestMethod:
			keep = s == methodSeg
		case s.kind == vRequestURI || s.kind == vURI:
			keep = s == pathSeg
		case s.kind == vSubject || s.kind == vSubjectLegacy:
			keep = s == subject
		case s.kind == vIssuer || s.kind == vIssuerLegacy:
			keep = s == issuer
		case s.kind != vSkip:
			keep = !seen[s.kind]
		}
		if keep {
			seen[s.kind] = true
		} else {
			s.kind = vSkip
		}
	}
	f.timeVar = timeSeg.name
	for i, s := range segs {
		s.id = i
	}
	f.nsegs = len(segs)
	f.decide = -1
	for i := range f.text.segs {
		if k := f.text.segs[i].kind; k == vRequest || k == vRequestMethod || k == vRequestURI || k == vURI {
			f.decide = i
		}
	}
	// A lazy skim reads the time, the request and the request id and no
	// other value; it stops after the last of them.
	f.last = -1
	for i := range f.text.segs {
		s := &f.text.segs[i]
		s.lazy = !decides(s.kind)
		if !s.lazy {
			f.last = i
		}
	}
	if f.json {
		for _, m := range f.members {
			for i := range m.t.segs {
				if &m.t.segs[i] == timeSeg {
					f.timeKey = m.key
				}
			}
		}
	}
	return nil
}

// jsonCompiler reads an escape=json template: a JSON object whose string
// values (or bare values) hold variables.
type jsonCompiler struct {
	d *directive
	f *Format
	s []byte
	i int
}

func (c *jsonCompiler) ws() {
	for c.i < len(c.s) && (c.s[c.i] == ' ' || c.s[c.i] == '\t' || c.s[c.i] == '\r' || c.s[c.i] == '\n') {
		c.i++
	}
}

func (c *jsonCompiler) expect(b byte, what string) error {
	c.ws()
	if c.i >= len(c.s) || c.s[c.i] != b {
		return c.d.errAt(c.i, "JSON template: expected %s", what)
	}
	c.i++
	return nil
}

// str reads a JSON string and returns the offsets of its inside.
func (c *jsonCompiler) str() (int, int, error) {
	if err := c.expect('"', `'"'`); err != nil {
		return 0, 0, err
	}
	start := c.i
	for c.i < len(c.s) {
		switch c.s[c.i] {
		case '\\':
			c.i += 2
			continue
		case '"':
			c.i++
			return start, c.i - 1, nil
		}
		c.i++
	}
	return 0, 0, c.d.errAt(start-1, "JSON template: unterminated string")
}

func (c *jsonCompiler) object(prefix string) error {
	if err := c.expect('{', "'{'"); err != nil {
		return err
	}
	c.ws()
	if c.i < len(c.s) && c.s[c.i] == '}' {
		c.i++
		return nil
	}
	for {
		c.ws()
		ks, ke, err := c.str()
		if err != nil {
			return err
		}
		kt, err := compileTemplate(c.d, ks, ke, true)
		if err != nil {
			return err
		}
		if len(kt.segs) > 0 {
			return c.d.errAt(ks, "JSON template: variables in keys are not supported")
		}
		key := prefix + string(kt.prefix)
		if err := c.expect(':', "':'"); err != nil {
			return err
		}
		c.ws()
		if c.i >= len(c.s) {
			return c.d.errAt(c.i, "JSON template: expected a value")
		}
		var t template
		switch c.s[c.i] {
		case '{':
			if err := c.object(key + "."); err != nil {
				return err
			}
		case '[':
			return c.d.errAt(c.i, "JSON template: arrays are not supported")
		case '"':
			vs, ve, err := c.str()
			if err != nil {
				return err
			}
			if t, err = compileTemplate(c.d, vs, ve, true); err != nil {
				return err
			}
		default:
			vs := c.i
			for c.i < len(c.s) && !strings.ContainsRune(",} \t\r\n", rune(c.s[c.i])) {
				c.i++
			}
			if c.i == vs {
				return c.d.errAt(c.i, "JSON template: expected a value")
			}
			if t, err = compileTemplate(c.d, vs, c.i, false); err != nil {
				return err
			}
		}
		if c.s[c.i-1] != '}' || len(t.segs) > 0 {
			// A scalar member: remember its place to find keys fast.
			idx := -1
			if len(t.segs) > 0 {
				idx = len(c.f.members)
			}
			c.f.order = append(c.f.order, orderedKey{key, idx})
		}
		if len(t.segs) > 0 {
			if _, dup := c.f.keyIndex(key); dup {
				return c.d.errAt(ks, "JSON template: key %q appears twice", key)
			}
			c.f.members = append(c.f.members, jsonKey{key: key, t: t})
		}
		c.ws()
		if c.i >= len(c.s) {
			return c.d.errAt(c.i, "JSON template: expected ',' or '}'")
		}
		switch c.s[c.i] {
		case ',':
			c.i++
		case '}':
			c.i++
			return nil
		default:
			return c.d.errAt(c.i, "JSON template: expected ',' or '}'")
		}
	}
}

func (f *Format) keyIndex(key string) (int, bool) {
	for i, m := range f.members {
		if m.key == key {
			return i, true
		}
	}
	return 0, false
}

// jsonEscape decodes the JSON escape at the start of b, returning how many
// bytes it took (0 if invalid) and the character it stands for.
func jsonEscape(b []byte) (int, rune) {
	if len(b) < 2 {
		return 0, 0
	}
	switch b[1] {
	case '"', '\\', '/':
		return 2, rune(b[1])
	case 'n':
		return 2, '\n'
	case 'r':
		return 2, '\r'
	case 't':
		return 2, '\t'
	case 'b':
		return 2, '\b'
	case 'f':
		return 2, '\f'
	case 'u':
		if len(b) < 6 {
			return 0, 0
		}
		r := rune(0)
		for _, h := range b[2:6] {
			if !isHex(h) {
				return 0, 0
			}
			r = r<<4 | rune(unhex(h))
		}
		return 6, r
	}
	return 0, 0
}

// appendRune appends r in UTF-8.
func appendRune(b []byte, r rune) []byte {
	if r < utf8.RuneSelf {
		return append(b, byte(r))
	}
	return utf8.AppendRune(b, r)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// Mapping lists the variables the format takes fields from, as
// "$var->field" pairs separated by spaces, for diagnostics such as a config
// check.
func (f *Format) Mapping() string {
	var b strings.Builder
	for _, s := range f.allSegs() {
		if s.kind == vSkip {
			continue
		}
		fmt.Fprintf(&b, "$%s->", s.name)
		if isTime(s.kind) {
			b.WriteString(event.TimestampName)
		}
		for i, fl := range fieldsOf(s.kind) {
			if i > 0 {
				b.WriteByte('+')
			}
			b.WriteString(fl.String())
		}
		b.WriteByte(' ')
	}
	return strings.TrimSpace(b.String())
}

// Fields lists the event fields the format's lines give values to, in
// event.Field order: those of the variables it reads (see Mapping). A line
// may still leave any of them empty.
func (f *Format) Fields() []event.Field {
	var has event.FieldSet
	for _, s := range f.allSegs() {
		if s.kind == vSkip {
			continue
		}
		has.Add(fieldsOf(s.kind)...)
	}
	return has.Fields()
}
