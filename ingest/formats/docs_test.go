package formats

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/django"
)

// fence is a fenced block of a document.
type fence struct {
	doc  string // the document, relative to the repository root
	line int    // the line of the block's first line
	lang string // the fence's info string
	text string // the block's lines, each with its newline
}

// first returns the block's first line, trimmed.
func (f fence) first() string {
	l, _, _ := strings.Cut(f.text, "\n")
	return strings.TrimSpace(l)
}

// fenceStarting returns the first line of the last block of doc whose
// first line starts with prefix; the test fails when there is none (what
// names the block).
func fenceStarting(t *testing.T, doc, prefix, what string) string {
	t.Helper()
	var line string
	for _, b := range fences(t, doc) {
		if strings.HasPrefix(b.first(), prefix) {
			line = b.first()
		}
	}
	if line == "" {
		t.Fatalf("%s: %s is gone", doc, what)
	}
	return line
}

// fences returns the fenced blocks of the markdown file doc.
func fences(t *testing.T, doc string) []fence {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", doc))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var out []fence
	for i := 0; i < len(lines); i++ {
		open := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(open, "```") {
			continue
		}
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		if end == len(lines) {
			t.Fatalf("%s:%d: fenced block without its end", doc, i+1)
		}
		indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
		var text strings.Builder
		for _, l := range lines[i+1 : end] {
			if len(l) >= indent && strings.TrimSpace(l[:indent]) == "" {
				l = l[indent:]
			}
			text.WriteString(l + "\n")
		}
		out = append(out, fence{doc: doc, line: i + 2, lang: strings.TrimPrefix(open, "```"), text: text.String()})
		i = end
	}
	return out
}

// nginxDirectives returns the log_format directives of an nginx block.
func nginxDirectives(text string) []string {
	var out []string
	var cur []string
	for _, l := range strings.Split(text, "\n") {
		if cur == nil && !strings.HasPrefix(strings.TrimSpace(l), "log_format ") {
			continue
		}
		cur = append(cur, l)
		if strings.HasSuffix(strings.TrimSpace(l), ";") {
			out = append(out, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	return out
}

// haproxyLogFormats returns the log-format lines of a haproxy block, with
// their keyword, as haproxy.cfg holds them.
func haproxyLogFormats(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "log-format ") {
			out = append(out, l)
		}
	}
	return out
}

// fromLogFormat returns the lines of an Envoy access_log block from its
// log_format: key down: the part docs/proxies.md says to give spraywatch.
func fromLogFormat(text string) []string {
	i := strings.Index(text, "log_format:")
	if i < 0 {
		return nil
	}
	return []string{text[strings.LastIndex(text[:i], "\n")+1:]}
}

// whole is a block that is one definition.
func whole(text string) []string { return []string{text} }

// docLine is a log line in a document, or one written for a definition of
// it, and what it must parse into.
type docLine struct {
	line string
	want map[string]string // field name or @timestamp -> value; a field not named must be absent
}

// docBlock says what a fenced block of the proxy and application log
// documents is, and how it is checked.
type docBlock struct {
	doc, first string // the document, and the start of the block's first line
	skip       string // why the block holds no definition and no line

	// A definition: kind ("proxy" or "app"), format, the definitions the
	// block holds (defs) and lines of that format with what they give.
	kind, format string
	defs         func(text string) []string
	lines        []docLine

	// A block of log lines: each parsed with the format and definition
	// def (the format's default when empty); the wants are per line.
	def   string
	wants []map[string]string
	// elided replaces a client string the document elides ({...}).
	elided string
}

// The fields of the reference lines of nginx.md.
var nginxWant = map[string]string{
	"@timestamp":                    "2026-12-04T09:00:01Z",
	"source.ip":                     "203.0.113.7",
	"http.request.method":           "POST",
	"url.path":                      "/accounts/login/",
	"http.response.status_code":     "200",
	"http.response.body.bytes":      "512",
	"user_agent.original":           "python-requests/2.32.3",
	"http.request.id":               "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a",
	"tls.client.verify":             "SUCCESS",
	"tls.client.hash.sha1":          "0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819",
	"tls.client.x509.serial_number": "4F2A9C0D11E3B7A1",
	"tls.client.subject":            "CN=svc-batch-01,OU=Batch,O=Example Corp,C=US",
	"tls.client.issuer":             "CN=Example Issuing CA 1,O=Example Corp,C=US",
}

// The fields of the reference line of django-logs.md.
var djangoWant = map[string]string{
	"@timestamp":      "2026-12-04T09:00:01.123456Z",
	"event.action":    "login_failed",
	"event.outcome":   "failure",
	"http.request.id": "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a",
	"user.name":       "alice",
	"source.ip":       "10.0.0.1",
}

const envoyCert = `,"peer_subject":"CN=svc-batch-01,OU=Batch,O=Example Corp,C=US","peer_issuer":"CN=Example Issuing CA 1,O=Example Corp,C=US","peer_serial":"4f2a9c0d11e3b7a1","peer_sha256":"6d1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8","peer_sha1":"0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819","peer_uri_san":"spiffe://example.org/batch"}`

func proxyWant(extra map[string]string) map[string]string {
	m := map[string]string{
		"@timestamp":                "2026-12-04T09:00:01.123Z",
		"source.ip":                 "203.0.113.7",
		"source.port":               "52344",
		"http.request.method":       "POST",
		"url.path":                  "/accounts/login/",
		"http.response.status_code": "200",
		"http.request.id":           "6f1c2e0b-9a7d-4c3e-8b2a-1f0e9d8c7b6a",
	}
	for k, v := range extra {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

// axesClient is the client string docs/app-logs.md elides as {...}.
const axesClient = `{username: "alice", ip_address: "203.0.113.7", user_agent: "python-requests/2.32.3", path_info: "/accounts/login/"}`

func axesWant(action, outcome string) map[string]string {
	return map[string]string{
		"event.action":        action,
		"event.outcome":       outcome,
		"user.name":           "alice",
		"source.ip":           "203.0.113.7",
		"user_agent.original": "python-requests/2.32.3",
		"url.path":            "/accounts/login/",
	}
}

// docBlocks lists every fenced block of the documents users copy proxy
// and application log definitions from. A block the list does not name,
// or a name no block has, fails TestDocBlocks: a new block must be
// checked here or listed as a fragment with the reason.
var docBlocks = []docBlock{
	// docs/nginx.md
	{doc: "docs/nginx.md", first: "log_format mtls_combined", kind: "proxy", format: "nginx", defs: nginxDirectives},
	{doc: "docs/nginx.md", first: "203.0.113.7 - - [04/Dec/2026", kind: "proxy", format: "nginx", wants: []map[string]string{nginxWant}},
	{doc: "docs/nginx.md", first: "log_format: column 45", skip: "compile errors (ingest/nginx tests)"},
	{doc: "docs/nginx.md", first: "spraywatch replay: warning:", skip: "a warning (TestProxyWarnings)"},
	{doc: "docs/nginx.md", first: "log_format mtls_json escape=json", kind: "proxy", format: "nginx-json", defs: nginxDirectives},
	{doc: "docs/nginx.md", first: `{"ts":"2026-12-04T09:00:01+00:00"`, kind: "proxy", format: "nginx-json", def: "log_format mtls_json escape=json",
		wants: []map[string]string{{
			"@timestamp":                    "2026-12-04T09:00:01Z",
			"http.request.id":               "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a",
			"source.ip":                     "203.0.113.7",
			"http.request.method":           "POST",
			"url.path":                      "/accounts/login/",
			"http.response.status_code":     "200",
			"tls.client.verify":             "SUCCESS",
			"tls.client.subject":            `CN=José García,O=Example\, Inc,C=ES`,
			"tls.client.issuer":             "CN=Example Issuing CA 1,O=Example Corp,C=US",
			"tls.client.x509.serial_number": "4F2A9C0D11E3B7A1",
			"tls.client.hash.sha1":          "0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819",
			"user_agent.original":           "python-requests/2.32.3",
		}}},

	// docs/proxies.md
	{doc: "docs/proxies.md", first: "access_log:", kind: "proxy", format: "envoy-json", defs: fromLogFormat,
		lines: []docLine{{
			`{"start_time":"2026-12-04T09:00:01.123Z","request_id":"6f1c2e0b-9a7d-4c3e-8b2a-1f0e9d8c7b6a","method":"POST","path":"/accounts/login/?next=/","status":200,"client":"203.0.113.7:52344","user_agent":"python-requests/2.32.3"` + envoyCert,
			proxyWant(map[string]string{
				"user_agent.original":               "python-requests/2.32.3",
				"tls.client.subject":                "CN=svc-batch-01,OU=Batch,O=Example Corp,C=US",
				"tls.client.issuer":                 "CN=Example Issuing CA 1,O=Example Corp,C=US",
				"tls.client.x509.serial_number":     "4F2A9C0D11E3B7A1",
				"tls.client.hash.sha256":            "6d1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8",
				"tls.client.hash.sha1":              "0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819",
				"tls.client.x509.alternative_names": "spiffe://example.org/batch",
			}),
		}}},
	{doc: "docs/proxies.md", first: "typed_config:", skip: "Envoy's HTTP connection manager, no access log"},
	{doc: "docs/proxies.md", first: "[%START_TIME%] %DOWNSTREAM_REMOTE_ADDRESS%", kind: "proxy", format: "envoy", defs: whole,
		lines: []docLine{{
			`[2026-12-04T09:00:01.123Z] 203.0.113.7:52344 "POST /accounts/login/?next=/ HTTP/1.1" 200 512 "python-requests/2.32.3" "6f1c2e0b-9a7d-4c3e-8b2a-1f0e9d8c7b6a" "CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" 0a11 6d1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8`,
			proxyWant(map[string]string{
				"http.response.body.bytes":      "512",
				"user_agent.original":           "python-requests/2.32.3",
				"tls.client.subject":            "CN=svc-batch-01,OU=Batch,O=Example Corp,C=US",
				"tls.client.x509.serial_number": "A11",
				"tls.client.hash.sha256":        "6d1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8",
			}),
		}}},
	{doc: "docs/proxies.md", first: "frontend fe_mtls", kind: "proxy", format: "haproxy", defs: haproxyLogFormats,
		lines: []docLine{{
			`<134>Dec  4 09:00:01 haproxy[123]: 203.0.113.7:52344 [04/Dec/2026:09:00:01.123] fe_mtls~ be_app/app1 200 512 "POST /accounts/login/?next=/ HTTP/1.1" id=6f1c2e0b-9a7d-4c3e-8b2a-1f0e9d8c7b6a used=1 verify=0 sha1=0D5F6C1E2A3B4C5D6E7F8091A2B3C4D5E6F70819 sha256=6D1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F8 serial=0A11 sdn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US"`,
			proxyWant(map[string]string{
				"http.response.body.bytes":      "512",
				"tls.client.verify":             "SUCCESS",
				"tls.client.hash.sha1":          "0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819",
				"tls.client.hash.sha256":        "6d1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8",
				"tls.client.x509.serial_number": "A11",
				"tls.client.subject":            "CN=svc-batch-01,OU=Batch,O=Example Corp,C=US",
				"tls.client.issuer":             "CN=Example Issuing CA 1,O=Example Corp,C=US",
			}),
		}}},
	{doc: "docs/proxies.md", first: "http-request del-header", skip: "HAProxy header rules, no log-format"},
	{doc: "docs/proxies.md", first: `log-format "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta`, kind: "proxy", format: "haproxy", defs: haproxyLogFormats,
		lines: []docLine{{
			`203.0.113.7:52344 [04/Dec/2026:09:00:01.123] fe_mtls~ be_app/app1 0/0/1/12/13 200 512 - - ---- 1/1/0/0/0 0/0 "POST /accounts/login/?next=/ HTTP/1.1" id=6f1c2e0b-9a7d-4c3e-8b2a-1f0e9d8c7b6a used=1 verify=0 sha1=0D5F6C1E2A3B4C5D6E7F8091A2B3C4D5E6F70819 sha256=6D1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F8 serial=0A11 sdn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US"`,
			proxyWant(map[string]string{
				"http.response.body.bytes":      "512",
				"tls.client.verify":             "SUCCESS",
				"tls.client.hash.sha1":          "0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819",
				"tls.client.hash.sha256":        "6d1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8",
				"tls.client.x509.serial_number": "A11",
				"tls.client.subject":            "CN=svc-batch-01,OU=Batch,O=Example Corp,C=US",
				"tls.client.issuer":             "CN=Example Issuing CA 1,O=Example Corp,C=US",
			}),
		}}},
	{doc: "docs/proxies.md", first: "accessLog:", kind: "proxy", format: "traefik", defs: func(string) []string { return []string{""} },
		lines: []docLine{{
			`{"ClientAddr":"203.0.113.7:52344","ClientHost":"203.0.113.7","ClientPort":"52344","DownstreamContentSize":512,"DownstreamStatus":200,"RequestMethod":"POST","RequestPath":"/accounts/login/?next=/","RequestProtocol":"HTTP/1.1","StartUTC":"2026-12-04T09:00:01.123Z","TLSClientSubject":"CN=svc-batch-01,OU=Batch,O=Example Corp,C=US","TLSVersion":"1.3","level":"info","msg":"","request_User-Agent":"python-requests/2.32.3","request_X-Request-Id":"6f1c2e0b-9a7d-4c3e-8b2a-1f0e9d8c7b6a","time":"2026-12-04T09:00:01Z"}`,
			proxyWant(map[string]string{
				"http.response.body.bytes": "512",
				"user_agent.original":      "python-requests/2.32.3",
				"tls.client.subject":       "CN=svc-batch-01,OU=Batch,O=Example Corp,C=US",
			}),
		}}},

	// docs/alb.md
	{doc: "docs/alb.md", first: "Django line", skip: "a diagram"},
	{doc: "docs/alb.md", first: `SPRAYWATCH_REQUEST_ID_HEADER = "X-Amzn-Trace-Id"`, skip: "Django settings (contrib/django tests)"},
	{doc: "docs/alb.md", first: "# myproject/amzn_trace.py", skip: "Python (contrib/django tests)"},

	// docs/django-logs.md
	{doc: "docs/django-logs.md", first: `{"timestamp":"2026-12-04T09:00:01.123456Z"`, kind: "app", format: "django-json", wants: []map[string]string{djangoWant}},
	{doc: "docs/django-logs.md", first: `auth.jsonl:14:`, skip: "errors (ingest/django tests)"},
	{doc: "docs/django-logs.md", first: "m := django.DefaultMapping()", skip: "Go (TestDocDjangoMapping)"},
	{doc: "docs/django-logs.md", first: "proxy_set_header X-Request-ID $request_id;", skip: "an nginx proxy header, no log_format"},
	{doc: "docs/django-logs.md", first: "import datetime", skip: "Python (contrib/django tests)"},
	{doc: "docs/django-logs.md", first: "class AccountsConfig(AppConfig):", skip: "Python"},
	{doc: "docs/django-logs.md", first: "LOGGING = {", skip: "Django settings"},

	// docs/app-logs.md
	{doc: "docs/app-logs.md", first: "LOGGING = {", skip: "Django settings"},
	{doc: "docs/app-logs.md", first: "2026-12-04 09:00:01,123 WARNING netbox.auth.login", kind: "app", format: "python-logging", def: "format: '%(asctime)s",
		wants: []map[string]string{{
			"@timestamp":      "2026-12-04T09:00:01.123Z",
			"event.action":    "Failed",
			"event.outcome":   "failure",
			"http.request.id": "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a",
			"user.name":       "alice",
			"source.ip":       "203.0.113.7",
		}}},
	{doc: "docs/app-logs.md", first: "format: '%(asctime)s", kind: "app", format: "python-logging", defs: whole},
	{doc: "docs/app-logs.md", first: "AXES: New login failure by {", kind: "app", format: "django-axes", elided: axesClient,
		wants: []map[string]string{
			axesWant("login_failed", "failure"),
			axesWant("login_failed", "failure"),
			axesWant("login_failed", "failure"),
			axesWant("login_failed", "failure"),
			axesWant("user_locked_out", "unknown"),
			axesWant("login_failed", "failure"),
			axesWant("login_succeeded", "success"),
		}},
	{doc: "docs/app-logs.md", first: "WARNING  [2026-12-04 09:00:01,234]", kind: "app", format: "django-axes", def: "%(levelname)-8s [%(asctime)s] [%(request_id)s] %(name)s: %(message)s", elided: axesClient,
		wants: []map[string]string{func() map[string]string {
			m := axesWant("login_failed", "failure")
			m["@timestamp"] = "2026-12-04T09:00:01.234Z"
			m["http.request.id"] = "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a"
			return m
		}()}},
	{doc: "docs/app-logs.md", first: `{username: "alice", ip_address: "203.0.113.7", user_agent: "curl/8"`, skip: "a client string alone (TestDocAxesClientString)"},
	{doc: "docs/app-logs.md", first: "# settings.py", skip: "Django settings"},
	{doc: "docs/app-logs.md", first: `{"file":"/var/log/app.log"`, skip: "shipper envelopes (ingest/envelope tests)"},

	// contrib/django/README.md
	{doc: "contrib/django/README.md", first: `{"timestamp":"2026-12-04T09:00:01.123456Z"`, kind: "app", format: "django-json",
		wants: []map[string]string{djangoWant}},
	{doc: "contrib/django/README.md", first: "pip install", skip: "a shell command"},
	{doc: "contrib/django/README.md", first: "INSTALLED_APPS = [", skip: "Django settings (contrib/django tests)"},
	{doc: "contrib/django/README.md", first: "proxy_set_header X-Request-ID", skip: "nginx proxy headers, no log_format"},
	{doc: "contrib/django/README.md", first: "unique-id-format %[uuid]", skip: "HAProxy header rules, no log-format"},
	{doc: "contrib/django/README.md", first: `username = "hmac-sha256:"`, skip: "a formula"},
	{doc: "contrib/django/README.md", first: "from spraywatch_django import log_attempt", skip: "Python (contrib/django tests)"},
	{doc: "contrib/django/README.md", first: "scripts/ensure-debian-packages.sh", skip: "a shell command"},
}

// docBlockFor returns the entry of docBlocks for b, or nil.
func docBlockFor(b fence) *docBlock {
	for i := range docBlocks {
		if d := &docBlocks[i]; d.doc == b.doc && strings.HasPrefix(b.first(), d.first) {
			return d
		}
	}
	return nil
}

// TestDocBlocks compiles every format definition the proxy and
// application log documents give, as they say to give it to spraywatch,
// and parses the log lines they show, and lines written for the
// definitions they give, into the fields they document.
func TestDocBlocks(t *testing.T) {
	docs := []string{"docs/nginx.md", "docs/proxies.md", "docs/alb.md", "docs/django-logs.md", "docs/app-logs.md", "contrib/django/README.md"}
	var all []fence
	for _, doc := range docs {
		all = append(all, fences(t, doc)...)
	}
	// Definitions first, so that a block of lines finds the definition it
	// is written in wherever the document shows it.
	compiled := map[string]ingest.Format{} // doc + first line of a definition block -> its format
	used := map[*docBlock]bool{}
	for _, b := range all {
		d := docBlockFor(b)
		if d == nil {
			t.Errorf("%s:%d: block %q is neither checked nor listed as a fragment in docBlocks", b.doc, b.line, b.first())
			continue
		}
		used[d] = true
		if d.defs == nil {
			continue
		}
		defs := d.defs(b.text)
		if len(defs) == 0 {
			t.Errorf("%s:%d: no %s definition in the block", b.doc, b.line, d.format)
			continue
		}
		for _, def := range defs {
			f, err := compile(d.kind, d.format, def)
			if err != nil {
				t.Errorf("%s:%d: %v", b.doc, b.line, err)
				continue
			}
			compiled[b.doc+"\x00"+b.first()] = f
			for _, l := range d.lines {
				checkLine(t, fmt.Sprintf("%s:%d (%s)", b.doc, b.line, d.format), f, l.line, l.want)
			}
		}
	}
	for _, b := range all {
		d := docBlockFor(b)
		if d == nil || d.skip != "" || d.defs != nil {
			continue
		}
		var f ingest.Format
		if strings.HasPrefix(d.def, "log_format") || strings.HasPrefix(d.def, "format:") {
			for k, c := range compiled {
				doc, first, _ := strings.Cut(k, "\x00")
				if doc == b.doc && strings.HasPrefix(first, d.def) {
					f = c
				}
			}
			if f == nil {
				t.Errorf("%s:%d: no block of %s defines %q", b.doc, b.line, b.doc, d.def)
				continue
			}
		} else {
			var err error
			if f, err = compile(d.kind, d.format, d.def); err != nil {
				t.Errorf("%s:%d: %v", b.doc, b.line, err)
				continue
			}
		}
		lines := strings.Split(strings.TrimSuffix(b.text, "\n"), "\n")
		for i, l := range lines {
			if d.elided != "" {
				l = strings.Replace(strings.Replace(l, `{username: "alice", ...}`, "{...}", 1), "{...}", d.elided, 1)
			}
			var want map[string]string
			if i < len(d.wants) {
				want = d.wants[i]
			}
			checkLine(t, fmt.Sprintf("%s:%d", b.doc, b.line+i), f, l, want)
		}
	}
	for i := range docBlocks {
		if d := &docBlocks[i]; !used[d] {
			t.Errorf("%s: no block starts with %q any more", d.doc, d.first)
		}
	}
}

func compile(kind, name, def string) (ingest.Format, error) {
	if kind == "proxy" {
		return Proxy(name, def)
	}
	return App(name, def)
}

// checkLine parses line with f and compares its fields with want; a nil
// want only checks that the line parses.
func checkLine(t *testing.T, where string, f ingest.Format, line string, want map[string]string) {
	t.Helper()
	var r event.Record
	if err := f.NewParser().Parse([]byte(line), &r); err != nil {
		t.Errorf("%s: %s does not read %q: %v", where, f.Name(), line, err)
		return
	}
	if want == nil {
		return
	}
	got := map[string]string{"@timestamp": time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano)}
	for i := range event.NumFields {
		if v := r.Get(event.Field(i)); len(v) > 0 {
			got[event.Field(i).String()] = string(v)
		}
	}
	if _, ok := want["@timestamp"]; !ok {
		delete(got, "@timestamp")
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s = %q, want %q", where, k, got[k], w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s = %q, not documented", where, k, g)
		}
	}
}

// TestDocDjangoMapping runs the mapping example of docs/django-logs.md:
// every m.Key it sets must be a field of django.Mapping, and the mapping
// must compile and read the nested line its comment shows.
func TestDocDjangoMapping(t *testing.T) {
	var code string
	for _, b := range fences(t, "docs/django-logs.md") {
		if b.lang == "go" && b.first() == "m := django.DefaultMapping()" {
			code = b.text
		}
	}
	if code == "" {
		t.Fatal("docs/django-logs.md: no go block starting with m := django.DefaultMapping()")
	}
	file, err := parser.ParseFile(token.NewFileSet(), "doc.go", "package doc\nfunc f() {\n"+code+"}\n", 0)
	if err != nil {
		t.Fatalf("docs/django-logs.md: the Go example does not parse: %v", err)
	}
	m := django.DefaultMapping()
	mv := reflect.ValueOf(&m).Elem()
	calls := map[string]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && x.Name == "django" {
				calls[n.Sel.Name] = true
			}
		case *ast.AssignStmt:
			sel, ok := n.Lhs[0].(*ast.SelectorExpr)
			if !ok {
				return true
			}
			fv := mv.FieldByName(sel.Sel.Name)
			if !fv.IsValid() {
				t.Errorf("docs/django-logs.md: django.Mapping has no field %s", sel.Sel.Name)
				return true
			}
			switch v := n.Rhs[0].(type) {
			case *ast.BasicLit:
				s, err := strconv.Unquote(v.Value)
				if err != nil {
					t.Fatal(err)
				}
				fv.SetString(s)
			case *ast.CompositeLit:
				out := map[string]string{}
				for _, e := range v.Elts {
					kv := e.(*ast.KeyValueExpr)
					k, _ := strconv.Unquote(kv.Key.(*ast.BasicLit).Value)
					val, _ := strconv.Unquote(kv.Value.(*ast.BasicLit).Value)
					out[k] = val
				}
				fv.Set(reflect.ValueOf(out))
			default:
				t.Errorf("docs/django-logs.md: m.%s is set to a %T", sel.Sel.Name, v)
			}
		}
		return true
	})
	// The functions the example calls, named so that renaming one fails
	// to compile here.
	known := map[string]any{"DefaultMapping": django.DefaultMapping, "NewFormat": django.NewFormat}
	for name := range calls {
		if known[name] == nil {
			t.Errorf("docs/django-logs.md: the example calls django.%s, which this test does not know", name)
		}
	}
	f, err := django.NewFormat(m)
	if err != nil {
		t.Fatalf("docs/django-logs.md: the example mapping: %v", err)
	}
	checkLine(t, "docs/django-logs.md (mapping example)", f,
		`{"@timestamp":"2026-12-04T09:00:01.123Z","event":{"action":"authentication_failed"},"user":{"name":"alice"},"http":{"request":{"id":"r1"}},"source":{"ip":"203.0.113.7"},"user_agent":"curl/8"}`,
		map[string]string{
			"@timestamp":      "2026-12-04T09:00:01.123Z",
			"event.action":    "authentication_failed",
			"event.outcome":   "failure",
			"user.name":       "alice",
			"http.request.id": "r1",
			"source.ip":       "203.0.113.7",
		})
}

// TestDocAxesClientString reads the client string docs/app-logs.md shows
// a crafted user agent making as the document says it is read: a failed
// login for alice with no address.
func TestDocAxesClientString(t *testing.T) {
	s := fenceStarting(t, "docs/app-logs.md", `{username: "alice", ip_address: "203.0.113.7", user_agent: "curl/8"`, "the crafted client string")
	f, err := App("django-axes", "%(asctime)s %(message)s")
	if err != nil {
		t.Fatal(err)
	}
	checkLine(t, "docs/app-logs.md (crafted client string)", f,
		"2026-12-04 09:00:01,123 AXES: New login failure by "+s+". Created new record in the database.",
		map[string]string{
			"event.action":  "login_failed",
			"event.outcome": "failure",
			"user.name":     "alice",
			"url.path":      "/accounts/login/",
			// The user agent holds what the client typed up to the quote.
			"user_agent.original": "curl/8",
		})
}

// TestDocALBAccessLine reads an access log line written as AWS documents
// the format into the fields docs/alb.md lists: the request id is the
// trace id's Self value when it has one, else its Root value.
func TestDocALBAccessLine(t *testing.T) {
	const head = `https 2026-12-04T09:00:01.123456Z app/my-lb/50dc6c495c0c9188 203.0.113.7:52344 10.0.0.1:80 0.001 0.048 0.000 200 200 310 512 "POST https://www.example.com:443/accounts/login/?next=/ HTTP/1.1" "python-requests/2.32.3" TLS_AES_128_GCM_SHA256 TLSv1.3 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 `
	const tail = ` "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2026-12-04T09:00:01.074000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_dc57cebed65b444ebc8177bb698fe166`
	f, err := Proxy("alb-access", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ traceID, id string }{
		{`"Root=1-6751a0b1-1d84f3d73c47ec4e58577259"`, "1-6751a0b1-1d84f3d73c47ec4e58577259"},
		{`"Self=1-6751a0b2-aaaaaaaaaaaaaaaaaaaaaaaa;Root=1-6751a0b1-1d84f3d73c47ec4e58577259;CalledFrom=app"`, "1-6751a0b2-aaaaaaaaaaaaaaaaaaaaaaaa"},
	} {
		checkLine(t, "docs/alb.md (access log)", f, head+tc.traceID+tail, map[string]string{
			"@timestamp":                "2026-12-04T09:00:01.123456Z",
			"source.ip":                 "203.0.113.7",
			"source.port":               "52344",
			"http.response.status_code": "200",
			"http.request.method":       "POST",
			"url.path":                  "/accounts/login/",
			"user_agent.original":       "python-requests/2.32.3",
			"http.request.id":           tc.id,
		})
	}
}

// TestDocNginxLineErrors checks the errors docs/nginx.md quotes for its
// reference line with a bad status and without its last field.
func TestDocNginxLineErrors(t *testing.T) {
	doc, err := os.ReadFile("../../docs/nginx.md")
	if err != nil {
		t.Fatal(err)
	}
	line := fenceStarting(t, "docs/nginx.md", "203.0.113.7 - - [04/Dec/2026", "the reference line")
	f, err := Proxy("nginx", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		strings.Replace(line, " 200 ", " 2O0 ", 1),
		strings.TrimSuffix(line, " rt=0.012"),
	} {
		var r event.Record
		err := f.NewParser().Parse([]byte(bad), &r)
		if err == nil {
			t.Errorf("%q parsed", bad)
			continue
		}
		if !strings.Contains(string(doc), "`"+err.Error()+"`") {
			t.Errorf("docs/nginx.md does not quote the error %q", err)
		}
	}
}
