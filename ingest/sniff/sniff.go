// Package sniff recognises a log's format from its first lines, for the
// formats spraywatch knows with their default definitions: the nginx
// reference format, Envoy's default text format, the Envoy reference
// json_format, the HAProxy reference log-format (with or without its syslog
// prefix), Traefik's JSON access log, AWS ALB access logs, Django JSON
// lines with the default keys and django-axes messages, each possibly
// wrapped in a log shipper's envelope (see ingest/envelope).
//
// Detection is by trial: every known format of the log's kind parses the
// sampled lines, and a format is a candidate when it reads more than half
// of them and at least one of the lines it reads has the fields that make
// it what it is (a request id or certificate field for a proxy, a username
// or action for an application). Of the candidates, the one that reads the
// most lines is the answer; none, or a tie, is an error that lists what was
// tried. A majority, not every line: the first lines of a log may hold a
// few a format's parser rejects although the format is right (a truncated
// first line of a rotated file, a line the application wrote otherwise, a
// malformed request), and one such line, which a client can cause, must
// not make the detection fail. A wrong format does not gain from it: it
// would still have to read more lines than the right one. All sampled
// lines must agree on the envelope, if any. Formats with user-written
// definitions (another log_format, a python-logging format string) cannot
// be guessed and are never answered.
package sniff

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/envelope"
	"github.com/spraywatch/spraywatch/ingest/formats"
	"github.com/spraywatch/spraywatch/ingest/jsonscan"
)

// DefaultLines is how many non-empty lines File samples.
const DefaultLines = 20

// Result is what was detected.
type Result struct {
	Kind event.Kind
	// Format is the format's name, compiled with its default definition.
	Format string
	// Envelope is the log shipper envelope's key (see envelope.Wrap), ""
	// for bare lines.
	Envelope string
	// Lines is how many lines were sampled.
	Lines int
}

// String says what was detected: "nginx", "django-json in a message
// envelope".
func (r Result) String() string {
	if r.Envelope == "" {
		return r.Format
	}
	return fmt.Sprintf("%s in a %s envelope", r.Format, r.Envelope)
}

// Compile returns the detected format, wrapped in its envelope.
func (r Result) Compile() (ingest.Format, error) {
	f, err := compile(r.Kind, r.Format)
	if err != nil {
		return nil, err
	}
	if r.Envelope != "" {
		f = envelope.WrapFormat(f, r.Envelope)
	}
	return f, nil
}

func compile(kind event.Kind, name string) (ingest.Format, error) {
	if kind == event.App {
		return formats.App(name, "")
	}
	return formats.Proxy(name, "")
}

// skipped are the formats that need a user's definition to mean anything.
var skipped = map[string]bool{"python-logging": true, "nginx-json": true}

// An AmbiguousError says that several formats read the sample.
type AmbiguousError struct {
	Kind       event.Kind
	Candidates []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%s log format is ambiguous: the first lines read as %s; name the format", e.Kind, strings.Join(e.Candidates, " and as "))
}

// A NoMatchError says that no known format reads the sample; Reasons holds,
// per format tried, why.
type NoMatchError struct {
	Kind    event.Kind
	Tried   []string
	Reasons []string
	// Hint names the format the lines look like, when they look like one
	// that needs the user's definition.
	Hint string
}

func (e *NoMatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no known %s log format reads the first lines (a format with your own definition must be named):", e.Kind)
	for i, t := range e.Tried {
		fmt.Fprintf(&b, "\n  %s: %s", t, e.Reasons[i])
	}
	if e.Hint != "" {
		b.WriteString("\n  " + e.Hint)
	}
	return b.String()
}

// nginxKeys are JSON keys that nginx escape=json formats are commonly
// written with: the variables' own names.
var nginxKeys = map[string]bool{
	"remote_addr": true, "request_uri": true, "time_local": true, "time_iso8601": true,
	"body_bytes_sent": true, "http_user_agent": true, "request_id": true,
}

// pythonTime matches Python logging's default asctime at a line's start.
var pythonTime = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} `)

// nginxText matches the start of nginx's combined format.
var nginxText = regexp.MustCompile(`^[0-9a-fA-F.:]+ - \S+ \[\d\d/[A-Z][a-z]{2}/\d{4}:`)

// hint says which user-defined format a line looks like, if any.
func hint(kind event.Kind, line []byte) string {
	switch {
	case kind == event.Proxy && nginxText.Match(line):
		return "the lines look like nginx's combined format with other variables: name format nginx and give its log_format directive"
	case kind == event.App && pythonTime.Match(line):
		return "the lines look like Python logging text: name format python-logging (or django-axes) and give its definition"
	}
	var sc jsonscan.Scanner
	nginx := 0
	if sc.Scan(line, func(k, _ []byte, _ jsonscan.Kind) error {
		if nginxKeys[string(k)] || bytes.HasPrefix(k, []byte("ssl_client")) {
			nginx++
		}
		return nil
	}) != nil {
		return ""
	}
	switch {
	case kind == event.Proxy && nginx >= 2:
		return "the lines look like an nginx escape=json log: name format nginx and give its log_format directive"
	case kind == event.App:
		return "the lines are JSON: for django-json with other keys, give a mapping (docs/config.md)"
	}
	return ""
}

// Lines detects the format of lines (empty lines are skipped). kind is
// event.Proxy or event.App.
func Lines(kind event.Kind, lines [][]byte) (Result, error) {
	var sample [][]byte
	for _, l := range lines {
		l = bytes.TrimRight(l, "\r\n")
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			sample = append(sample, l)
		}
	}
	res := Result{Kind: kind, Lines: len(sample)}
	if len(sample) == 0 {
		return res, fmt.Errorf("cannot detect the %s log format: no lines to look at", kind)
	}
	env, err := detectEnvelope(sample)
	if err != nil {
		return res, err
	}
	res.Envelope = env

	names := formats.ProxyNames()
	if kind == event.App {
		names = formats.AppNames()
	}
	var (
		cands          []string
		best           int
		tried, reasons []string
	)
	for _, name := range names {
		if skipped[name] {
			continue
		}
		f, err := compile(kind, name)
		if err != nil {
			return res, err
		}
		tried = append(tried, name)
		n, why := reads(f, env, kind, sample)
		reasons = append(reasons, why)
		if why != "" {
			continue
		}
		switch {
		case n > best:
			cands, best = []string{name}, n
		case n == best:
			cands = append(cands, name)
		}
	}
	switch len(cands) {
	case 1:
		res.Format = cands[0]
		return res, nil
	case 0:
		h := ""
		if env == "" {
			h = hint(kind, sample[0])
		}
		return res, &NoMatchError{Kind: kind, Tried: tried, Reasons: reasons, Hint: h}
	}
	sort.Strings(cands)
	return res, &AmbiguousError{Kind: kind, Candidates: cands}
}

// detectEnvelope returns the envelope key all sampled lines agree on, ""
// when none has an envelope, or an error when they disagree.
func detectEnvelope(sample [][]byte) (string, error) {
	first, ok := envelope.Detect(sample[0])
	for i, l := range sample[1:] {
		k, ok2 := envelope.Detect(l)
		if ok2 != ok || k != first {
			a, b := first, k
			if !ok {
				a = "none"
			}
			if !ok2 {
				b = "none"
			}
			return "", fmt.Errorf("lines 1 and %d have different envelopes (%s, %s); name the envelope", i+2, a, b)
		}
	}
	if !ok {
		return "", nil
	}
	return first, nil
}

// reads returns how many lines of sample f reads, and "" if that is more
// than half of them and at least one carries the fields of its kind, or
// why not.
func reads(f ingest.Format, env string, kind event.Kind, sample [][]byte) (int, string) {
	p := f.NewParser()
	if env != "" {
		p = envelope.Wrap(p, env)
	}
	var (
		r            event.Record
		ok, useful   int
		firstFailure string
	)
	for i, l := range sample {
		r.Reset()
		r.Kind = kind
		err := p.Parse(l, &r)
		switch {
		case err == nil && r.Time == 0:
			err = errors.New("no time")
		case err == nil:
			if characteristic(kind, &r) {
				useful++
			}
		case errors.Is(err, ingest.ErrIgnore):
			err = nil
		}
		if err != nil {
			if firstFailure == "" {
				firstFailure = fmt.Sprintf("sampled line %d: %v", i+1, err)
			}
			continue
		}
		ok++
	}
	switch {
	case 2*ok <= len(sample):
		return ok, fmt.Sprintf("reads %d of %d lines; %s", ok, len(sample), firstFailure)
	case useful == 0:
		return ok, "no line carries a request id, certificate or user field"
	}
	return ok, ""
}

// characteristic reports whether r holds what a record of kind is read for.
func characteristic(kind event.Kind, r *event.Record) bool {
	if kind == event.App {
		return len(r.Get(event.UserName)) > 0 || len(r.Get(event.Action)) > 0
	}
	for _, f := range []event.Field{event.RequestID, event.TLSSubject, event.TLSSHA1, event.TLSSHA256, event.TLSSerial, event.TLSVerify} {
		if len(r.Get(f)) > 0 {
			return true
		}
	}
	return false
}

// File detects the format of the first n non-empty lines of a file (n <= 0
// means DefaultLines). Gzip files are read as such.
func File(kind event.Kind, path string, n int) (Result, error) {
	if n <= 0 {
		n = DefaultLines
	}
	rc, err := ingest.Open(path)
	if err != nil {
		return Result{Kind: kind}, err
	}
	defer rc.Close()
	lr := ingest.NewLineReader(rc, ingest.DefaultMaxLineBytes)
	var lines [][]byte
	for len(lines) < n {
		l, _, err := lr.Next()
		if err != nil {
			break
		}
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		lines = append(lines, bytes.Clone(l))
	}
	res, err := Lines(kind, lines)
	if err != nil {
		return res, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}
