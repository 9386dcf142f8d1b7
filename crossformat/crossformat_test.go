package crossformat

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/config"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/haproxy"
	"github.com/spraywatch/spraywatch/ingest/x509cert/certtest"
	"github.com/spraywatch/spraywatch/replay"
	"github.com/spraywatch/spraywatch/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// rdn is one attribute of a distinguished name.
type rdn struct{ typ, val string }

// cert is a client certificate: its names in certificate order (least
// specific first, as OpenSSL's one-line form prints them), its serial as
// DER integer content bytes, and its DER encoding (here opaque bytes, from
// which the fingerprints are taken as a proxy takes them).
type cert struct {
	subject, issuer []rdn
	serial          []byte
	der             []byte
	canonSubject    string // the canonical form spraywatch must give
}

func (c *cert) sha1() []byte   { h := sha1.Sum(c.der); return h[:] }
func (c *cert) sha256() []byte { h := sha256.Sum256(c.der); return h[:] }

// serialValue is the serial as an integer (no sign byte).
func (c *cert) serialValue() *big.Int { return new(big.Int).SetBytes(c.serial) }

// serialHex is the serial as OpenSSL keeps it (an ASN1_INTEGER's bytes:
// the integer's, without the DER sign byte) in uppercase hex, two digits a
// byte: what nginx's $ssl_client_serial (i2a_ASN1_INTEGER) and HAProxy's
// %[ssl_c_serial,hex] write (ingest/x509cert/testdata/crossproxy:
// F3828EB24FD779D0 for a serial whose DER content is 00F3828EB24FD779D0,
// 0A11 for 0x0A11). Envoy writes the same in lowercase (BN_bn2hex).
func (c *cert) serialHex() string {
	return strings.ToUpper(hex.EncodeToString(c.serialValue().Bytes()))
}

// rfc2253 writes a name as OpenSSL's XN_FLAG_RFC2253 does (nginx
// $ssl_client_s_dn, Envoy %DOWNSTREAM_PEER_SUBJECT%): most specific first,
// special characters backslash-escaped, bytes of 0x80 and above as \XX.
func rfc2253(names []rdn) string {
	var b strings.Builder
	for i := len(names) - 1; i >= 0; i-- {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(names[i].typ)
		b.WriteByte('=')
		v := names[i].val
		for j := 0; j < len(v); j++ {
			c := v[j]
			switch {
			case c >= 0x80:
				fmt.Fprintf(&b, "\\%02X", c)
			case strings.IndexByte(",+\"\\<>;", c) >= 0:
				b.WriteByte('\\')
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

// oneline writes a name as HAProxy's default %[ssl_c_s_dn] does:
// /C=../O=../CN=.., values raw.
func oneline(names []rdn) string {
	var b strings.Builder
	for _, n := range names {
		b.WriteString("/" + n.typ + "=" + n.val)
	}
	return b.String()
}

var (
	deviceCA = []rdn{{"C", "US"}, {"O", "Example Corp"}, {"CN", "Example Device CA"}}
	batchCA  = []rdn{{"C", "US"}, {"O", "Example Corp"}, {"CN", "Example Issuing CA 1"}}
)

func newCert(subject, issuer []rdn, serial string, canon string) *cert {
	s, _ := hex.DecodeString(serial)
	c := &cert{subject: subject, issuer: issuer, serial: s, canonSubject: canon}
	c.der = []byte("DER:" + oneline(subject) + "|" + oneline(issuer) + "|" + serial)
	return c
}

// The certificates of the traffic: employees' devices (one with a
// non-ASCII name and an escaped comma), a shared gateway and the batch
// service certificate the spray comes from. Serials include one whose DER
// content has a sign byte (00 F3...) and one with a leading zero nibble.
var certs = []*cert{
	newCert([]rdn{{"C", "US"}, {"O", "Example Corp"}, {"OU", "Devices"}, {"CN", "alice.dubois"}}, deviceCA, "645D75E8E7CE53A0",
		"CN=alice.dubois,OU=Devices,O=Example Corp,C=US"),
	newCert([]rdn{{"C", "ES"}, {"O", "Example, Inc"}, {"OU", "devices"}, {"CN", "José García"}}, deviceCA, "00F3828EB24FD779D0",
		`CN=José García,OU=devices,O=Example\, Inc,C=ES`),
	newCert([]rdn{{"C", "US"}, {"O", "Example Corp"}, {"OU", "Devices"}, {"CN", "bob.martin"}}, deviceCA, "0A11",
		"CN=bob.martin,OU=Devices,O=Example Corp,C=US"),
	newCert([]rdn{{"C", "US"}, {"O", "Example Corp"}, {"OU", "Gateways"}, {"CN", "gw-shared"}}, batchCA, "7E",
		"CN=gw-shared,OU=Gateways,O=Example Corp,C=US"),
}

var sprayCert = newCert([]rdn{{"C", "US"}, {"O", "Example Corp"}, {"OU", "Batch"}, {"CN", "svc-batch-01"}}, batchCA, "4F2A9C0D11E3B7A1",
	"CN=svc-batch-01,OU=Batch,O=Example Corp,C=US")

// request is one HTTP request as every proxy saw it, and what Django
// logged for it (action "" for requests that are not login attempts).
type request struct {
	t            time.Time
	id           string
	ip           string
	port         int
	method, path string
	query        string
	status       int
	bytes        int
	ua           string
	cert         *cert
	user, action string
}

// traffic generates about 200 requests over an hour: health checks without
// a certificate, employees browsing and logging in (with typos), and at
// 09:30 a spray of 30 usernames from the batch certificate, all at whole
// seconds (nginx's $time_local has no fraction).
func traffic() []request {
	rng := rand.New(rand.NewPCG(2026, 12))
	start := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	var out []request
	id := func() string {
		return fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
	}
	ips := []string{"198.51.100.10", "2001:db8:85a3::8a2e:370:7334", "203.0.113.7", "198.51.100.23"}
	users := []string{"alice.dubois", "jose.garcia", "bob.martin", "gateway-user"}
	uas := []string{"Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0", `python-requests/2.32.3 "patched"`, "curl/8.5.0"}
	for s := 0; s < 3600; s += 1 + rng.IntN(40) {
		t := start.Add(time.Duration(s) * time.Second)
		switch k := rng.IntN(10); {
		case k < 2:
			out = append(out, request{t: t, id: id(), ip: "10.0.0.3", port: 40000 + rng.IntN(2000), method: "GET", path: "/healthz",
				status: 200, bytes: 2, ua: "kube-probe/1.31"})
		default:
			i := rng.IntN(len(certs))
			r := request{t: t, id: id(), ip: ips[i], port: 50000 + rng.IntN(10000), method: "GET", path: "/tickets/",
				status: 200, bytes: 30000 + rng.IntN(9000), ua: uas[i%len(uas)], cert: certs[i]}
			if k < 6 {
				r.method, r.path, r.query, r.status, r.bytes = "POST", "/accounts/login/", "next=/", 302, 0
				r.user, r.action = users[i], "login_succeeded"
				if rng.IntN(4) == 0 {
					r.status, r.bytes, r.action = 200, 4312, "login_failed"
				}
			}
			out = append(out, r)
		}
	}
	// The spray: one certificate, 30 usernames, one every 10 seconds.
	sprayAt := start.Add(30*time.Minute + 5*time.Second)
	for i := 0; i < 30; i++ {
		out = append(out, request{t: sprayAt.Add(time.Duration(i*10) * time.Second), id: id(), ip: "203.0.113.99", port: 61000 + i,
			method: "POST", path: "/accounts/login/", status: 200, bytes: 4312, ua: "python-requests/2.32.3", cert: sprayCert,
			user: fmt.Sprintf("user%02d", i), action: "login_failed"})
	}
	// In time order; a spray second taken by other traffic moves on by one.
	sortRequests(out)
	for i := 1; i < len(out); i++ {
		if !out[i].t.After(out[i-1].t) {
			out[i].t = out[i-1].t.Add(time.Second)
		}
	}
	return out
}

func sortRequests(rs []request) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].t.Before(rs[j-1].t); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

func (r *request) uri() string {
	if r.query == "" {
		return r.path
	}
	return r.path + "?" + r.query
}

// nginxText escapes a value as nginx's text access log does: '"', '\' and
// bytes below 0x20 or from 0x7F as \xHH; an empty value is "-".
func nginxText(v string) string {
	if v == "" {
		return "-"
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '"' || c == '\\' || c < 0x20 || c >= 0x7f {
			fmt.Fprintf(&b, "\\x%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// nginxJSON escapes a value as escape=json does: '"' and '\' with a
// backslash, control characters as \u00XX, other bytes as they are.
func nginxJSON(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, "\\u%04x", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// nginx certificate variables: $ssl_client_fingerprint is lowercase SHA-1
// hex, $ssl_client_serial the integer's bytes in uppercase hex
// (i2a_ASN1_INTEGER, serialHex), the DNs in RFC 2253 form.
func nginxCert(c *cert) (verify, fp, serial, sdn, idn string) {
	if c == nil {
		return "NONE", "", "", "", ""
	}
	return "SUCCESS", hex.EncodeToString(c.sha1()), c.serialHex(), rfc2253(c.subject), rfc2253(c.issuer)
}

// writeNginx writes the reference mtls_combined format.
func writeNginx(r *request) string {
	verify, fp, serial, sdn, idn := nginxCert(r.cert)
	return fmt.Sprintf(`%s - - [%s] "%s %s HTTP/1.1" %d %d "-" "%s" rid=%s verify=%s fp=%s serial=%s dn="%s" idn="%s" rt=0.012`,
		r.ip, r.t.Format("02/Jan/2006:15:04:05 -0700"), r.method, nginxText(r.uri()), r.status, r.bytes, nginxText(r.ua),
		r.id, verify, nginxText(fp), nginxText(serial), nginxText(sdn), nginxText(idn))
}

// nginxJSONFormat is an escape=json log_format with the same variables.
const nginxJSONFormat = `log_format mtls_json escape=json '{'
    '"time":"$time_iso8601","request_id":"$request_id","remote_addr":"$remote_addr",'
    '"method":"$request_method","uri":"$request_uri","status":"$status","bytes":"$body_bytes_sent",'
    '"ua":"$http_user_agent","client_verify":"$ssl_client_verify","client_s_dn":"$ssl_client_s_dn",'
    '"client_i_dn":"$ssl_client_i_dn","client_serial":"$ssl_client_serial","client_fp_sha1":"$ssl_client_fingerprint"'
  '}';`

func writeNginxJSON(r *request) string {
	verify, fp, serial, sdn, idn := nginxCert(r.cert)
	return fmt.Sprintf(`{"time":"%s","request_id":"%s","remote_addr":"%s","method":"%s","uri":"%s","status":"%d","bytes":"%d","ua":"%s","client_verify":"%s","client_s_dn":"%s","client_i_dn":"%s","client_serial":"%s","client_fp_sha1":"%s"}`,
		r.t.Format("2006-01-02T15:04:05-07:00"), r.id, r.ip, r.method, nginxJSON(r.uri()), r.status, r.bytes, nginxJSON(r.ua),
		verify, nginxJSON(sdn), nginxJSON(idn), serial, fp)
}

// writeEnvoy writes Envoy's reference json_format: Envoy sorts the keys,
// keeps a lone operator's type (status and bytes are numbers), writes "-"
// for unset values, the peer DNs in RFC 2253 form, the serial and the
// fingerprints in lowercase hex.
func writeEnvoy(r *request) string {
	m := map[string]any{
		"start_time": r.t.Format("2006-01-02T15:04:05.000Z07:00"),
		"request_id": r.id,
		"client":     hostPort(r.ip, r.port),
		"method":     r.method,
		"path":       r.uri(),
		"status":     r.status,
		"bytes_sent": r.bytes,
		"user_agent": r.ua,
	}
	for _, k := range []string{"peer_subject", "peer_issuer", "peer_serial", "peer_sha256", "peer_sha1", "peer_uri_san"} {
		m[k] = "-"
	}
	if c := r.cert; c != nil {
		m["peer_subject"] = rfc2253(c.subject)
		m["peer_issuer"] = rfc2253(c.issuer)
		m["peer_serial"] = strings.ToLower(c.serialHex())
		m["peer_sha256"] = hex.EncodeToString(c.sha256())
		m["peer_sha1"] = hex.EncodeToString(c.sha1())
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func hostPort(ip string, port int) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + strconv.Itoa(port)
	}
	return ip + ":" + strconv.Itoa(port)
}

// haproxyFormat is the reference log-format with HAProxy's default
// one-line DNs instead of the rfc2253 ones.
var haproxyFormat = strings.NewReplacer("ssl_c_s_dn(,0,rfc2253)", "ssl_c_s_dn", "ssl_c_i_dn(,0,rfc2253)", "ssl_c_i_dn").Replace(haproxy.Reference)

// haproxyEscape encodes a request line as HAProxy's log does (src/log.c,
// url_encode_map): bytes outside printable ASCII, '"' and '#' as #XX.
// Sample fetches, the DNs among them, are written raw.
func haproxyEscape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c < 0x20 || c >= 0x7f || c == '#' || c == '"':
			fmt.Fprintf(&b, "#%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// writeHAProxy writes the log-format above: %ci:%cp without brackets for
// IPv6, uppercase hex fingerprints and serial (the integer's bytes without
// the DER sign byte, serialHex: ssl_sock_get_serial copies the
// ASN1_INTEGER's data), every other line behind an RFC 3164 syslog prefix.
func writeHAProxy(r *request, syslog bool) string {
	used, sha1h, sha256h, serial, sdn, idn := "0", "", "", "", "", ""
	if c := r.cert; c != nil {
		used = "1"
		sha1h = strings.ToUpper(hex.EncodeToString(c.sha1()))
		sha256h = strings.ToUpper(hex.EncodeToString(c.sha256()))
		serial = c.serialHex()
		sdn, idn = oneline(c.subject), oneline(c.issuer)
	}
	line := fmt.Sprintf(`%s:%d [%s] fe_mtls~ be_app/app1 %d %d "%s %s HTTP/1.1" id=%s used=%s verify=0 sha1=%s sha256=%s serial=%s sdn="%s" idn="%s"`,
		r.ip, r.port, r.t.Format("02/Jan/2006:15:04:05.000"), r.status, r.bytes, r.method, haproxyEscape(r.uri()),
		r.id, used, sha1h, sha256h, serial, sdn, idn)
	if syslog {
		line = "<134>" + r.t.Format("Jan _2 15:04:05") + " lb1 haproxy[2301]: " + line
	}
	return line
}

// writeDjango writes the Django JSON line of a login attempt, 200 ms
// after the request started.
func writeDjango(r *request) string {
	b, _ := json.Marshal(struct {
		Timestamp string `json:"timestamp"`
		Level     string `json:"level"`
		Logger    string `json:"logger"`
		Event     string `json:"event"`
		RequestID string `json:"request_id"`
		Username  string `json:"username"`
		IP        string `json:"ip"`
	}{r.t.Add(200 * time.Millisecond).Format("2006-01-02T15:04:05.000000Z"), "info", "accounts.auth", r.action, r.id, r.user, r.ip})
	return string(b)
}

// proxy is one way of logging the traffic.
type proxy struct {
	name, file string
	source     string // the YAML of the source in the configuration
	write      func(i int, r *request) string
	// missing are the fields this format cannot carry.
	missing []event.Field
}

var proxies = []proxy{
	{"nginx", "nginx.log", "{kind: proxy, format: auto}", func(_ int, r *request) string { return writeNginx(r) },
		[]event.Field{event.SourcePort, event.TLSSHA256}},
	{"nginx-json", "nginx-json.log", "{kind: proxy, format: nginx, definition_file: nginx-json.conf}", func(_ int, r *request) string { return writeNginxJSON(r) },
		[]event.Field{event.SourcePort, event.TLSSHA256}},
	{"envoy-json", "envoy.log", "{kind: proxy, format: auto}", func(_ int, r *request) string { return writeEnvoy(r) },
		[]event.Field{event.TLSVerify}},
	{"haproxy", "haproxy.log", "{kind: proxy, format: haproxy, definition_file: haproxy.fmt}", func(i int, r *request) string { return writeHAProxy(r, i%2 == 0) },
		[]event.Field{event.UserAgent}},
}

// writeTestdata writes (or, with -update, rewrites and then reads) each
// format's log and the Django log under testdata/, and checks that the
// committed files are what the writers produce.
func writeTestdata(t *testing.T, reqs []request) {
	t.Helper()
	files := map[string]string{
		"nginx-json.conf": nginxJSONFormat + "\n",
		"haproxy.fmt":     haproxyFormat + "\n",
	}
	for _, p := range proxies {
		var b strings.Builder
		for i := range reqs {
			b.WriteString(p.write(i, &reqs[i]) + "\n")
		}
		files[p.file] = b.String()
	}
	var app strings.Builder
	for i := range reqs {
		if reqs[i].action != "" {
			app.WriteString(writeDjango(&reqs[i]) + "\n")
		}
	}
	files["django.log"] = app.String()
	for name, content := range files {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./crossformat -update)", err)
		}
		if string(got) != content {
			t.Errorf("%s differs from what the writer produces (run go test ./crossformat -update after an intended change)", path)
		}
	}
}

// run replays one proxy log with the Django log through a configuration
// file and returns the authentication events and the alert lines.
func run(t *testing.T, p proxy, identity string) ([]*event.Event, []byte, string) {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	yml := fmt.Sprintf(`sources:
  - %s
  - {kind: app, paths: [django.log]}
join:
  identity: [%s]
strict: true
`, strings.Replace(p.source, "}", ", paths: ["+p.file+"]}", 1), identity)
	cfg, err := config.Parse(filepath.Join(dir, "crossformat.yml"), []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	var (
		sources []ingest.Source
		format  string
	)
	for i := range cfg.Sources {
		srcs, comp, err := cfg.Open(&cfg.Sources[i])
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if i == 0 {
			format = srcs[0].Stats().Format
			_ = comp
		}
		sources = append(sources, srcs...)
	}
	rs, err := rules.Load(cfg.Rules.Files, true)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var events []*event.Event
	eng, err := detect.NewEngine(detect.Config{
		Correlator: cfg.Correlator(), Rules: rs,
		MaxGroups: cfg.Limits.MaxGroups, MaxGroupEvents: cfg.Limits.MaxGroupEvents,
		Sink: alert.NewWriter(nopCloser{&out}),
		OnEvent: func(e *event.Event) {
			c := *e
			events = append(events, &c)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := replay.Run(context.Background(), sources, eng); err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	for _, s := range sources {
		if st := s.Stats(); st.Rejected.Load() > 0 || st.Parsed.Load() == 0 {
			t.Errorf("%s: %s parsed %d, rejected %d: %v", p.name, st.Name, st.Parsed.Load(), st.Rejected.Load(), st.Errors())
		}
	}
	return events, out.Bytes(), format
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

func TestSameEventsAndAlerts(t *testing.T) {
	reqs := traffic()
	if n := len(reqs); n < 150 || n > 260 {
		t.Fatalf("%d requests, want about 200", n)
	}
	writeTestdata(t, reqs)
	byID := map[string]*request{}
	for i := range reqs {
		byID[reqs[i].id] = &reqs[i]
	}

	for _, identity := range []string{"sha1", "subject"} {
		t.Run(identity, func(t *testing.T) {
			var (
				base   []*event.Event
				alerts = map[string][]byte{}
			)
			for _, p := range proxies {
				events, out, format := run(t, p, identity)
				if want := strings.SplitN(p.name, "-", 2)[0]; !strings.HasPrefix(format, want) {
					t.Errorf("%s: read as %s", p.name, format)
				}
				checkTruth(t, p, events, byID)
				alerts[p.name] = out
				if base == nil {
					base = events
					checkGolden(t, "alerts."+identity+".golden", out)
					continue
				}
				compareEvents(t, p, base, events)
			}
			// Formats that carry the same fields give byte-identical
			// alerts; across the others, byte-identical once the alert's
			// certificate fields one of them lacks (SHA-256 for nginx)
			// are taken out of both.
			for i, a := range proxies {
				for _, b := range proxies[i+1:] {
					x, y := alerts[a.name], alerts[b.name]
					if !sameFields(a, b) {
						x, y = strip(x, a.missing, b.missing), strip(y, a.missing, b.missing)
					}
					if !bytes.Equal(x, y) {
						t.Errorf("identity %s: alerts of %s and %s differ:\n%s\nvs\n%s", identity, a.name, b.name, x, y)
					}
				}
			}
			if !bytes.Contains(alerts["envoy-json"], []byte(`"tls.client.hash.sha256":"`)) || bytes.Contains(alerts["nginx"], []byte(`"tls.client.hash.sha256":"`)) {
				t.Error("alerts do not show the SHA-256 fingerprint where it is logged, or show it where it is not")
			}
		})
	}
}

// sameFields reports whether two formats carry the same certificate fields.
func sameFields(a, b proxy) bool {
	has := func(p proxy, f event.Field) bool {
		for _, m := range p.missing {
			if m == f {
				return false
			}
		}
		return true
	}
	for _, f := range []event.Field{event.TLSSubject, event.TLSIssuer, event.TLSSHA1, event.TLSSHA256, event.TLSSerial, event.TLSURISAN} {
		if has(a, f) != has(b, f) {
			return false
		}
	}
	return true
}

// strip removes the given fields' members from alert lines.
func strip(alerts []byte, fields ...[]event.Field) []byte {
	for _, fs := range fields {
		for _, f := range fs {
			re := regexp.MustCompile(`,"` + regexp.QuoteMeta(f.String()) + `":"[^"]*"`)
			alerts = re.ReplaceAll(alerts, nil)
		}
	}
	return alerts
}

// checkTruth checks each event against the request it came from.
func checkTruth(t *testing.T, p proxy, events []*event.Event, byID map[string]*request) {
	t.Helper()
	logins := 0
	for _, r := range byID {
		if r.action != "" {
			logins++
		}
	}
	if len(events) != logins {
		t.Errorf("%s: %d events, want %d login attempts", p.name, len(events), logins)
	}
	lacks := map[event.Field]bool{}
	for _, f := range p.missing {
		lacks[f] = true
	}
	for _, e := range events {
		r := byID[e.Get(event.RequestID)]
		if r == nil {
			t.Errorf("%s: event with unknown request id %q", p.name, e.Get(event.RequestID))
			continue
		}
		want := map[event.Field]string{
			event.SourceIP: r.ip, event.UserName: r.user, event.Method: r.method, event.URLPath: r.path,
			event.Status: strconv.Itoa(r.status), event.Join: event.JoinMatched,
			event.SourcePort: strconv.Itoa(r.port), event.UserAgent: r.ua, event.TLSVerify: "NONE",
		}
		if c := r.cert; c != nil {
			want[event.TLSSubject] = c.canonSubject
			want[event.TLSSHA1] = hex.EncodeToString(c.sha1())
			want[event.TLSSHA256] = hex.EncodeToString(c.sha256())
			want[event.TLSSerial] = strings.ToUpper(c.serialValue().Text(16))
			want[event.TLSVerify] = "SUCCESS"
		}
		for f, v := range want {
			if lacks[f] {
				if got := e.Get(f); got != "" {
					t.Errorf("%s: %s is %q, but the format does not carry it", p.name, f, got)
				}
				continue
			}
			if got := e.Get(f); got != v {
				t.Errorf("%s: request %s: %s = %q, want %q", p.name, r.id, f, got, v)
			}
		}
		if e.Time != r.t.UnixNano() && e.Time != r.t.Add(200*time.Millisecond).UnixNano() {
			t.Errorf("%s: request %s at %s, want %s", p.name, r.id, time.Unix(0, e.Time).UTC(), r.t)
		}
	}
}

// compareEvents compares two formats' events field by field, except the
// fields either cannot carry.
func compareEvents(t *testing.T, p proxy, base, got []*event.Event) {
	t.Helper()
	skip := map[event.Field]bool{}
	for _, f := range append(append([]event.Field(nil), proxies[0].missing...), p.missing...) {
		skip[f] = true
	}
	if len(base) != len(got) {
		t.Errorf("%s: %d events, nginx %d", p.name, len(got), len(base))
		return
	}
	for i := range base {
		if base[i].Time != got[i].Time {
			t.Errorf("%s: event %d at %d, nginx's at %d", p.name, i, got[i].Time, base[i].Time)
		}
		for f := event.Field(0); int(f) < event.NumFields; f++ {
			if skip[f] {
				continue
			}
			if a, b := base[i].Get(f), got[i].Get(f); a != b {
				t.Errorf("%s: event %d (%s): %s = %q, nginx %q", p.name, i, base[i].Get(event.RequestID), f, b, a)
			}
		}
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./crossformat -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("alerts differ from %s (rerun with -update after an intended change)\n%s", path, got)
	}
	if !bytes.Contains(got, []byte(`"rule":"cert-identity-spray"`)) {
		t.Errorf("%s: no cert-identity-spray alert for the spray", name)
	}
}

// TestSerialsAsRecorded checks the serials the writers write against what
// nginx 1.22.1 and HAProxy 2.6.12 logged for the recorded certificates of
// ingest/x509cert/testdata/crossproxy (see RECORDED.md there), with each
// certificate's serial taken as this test's certs hold it: the content of
// its DER INTEGER, sign byte included.
func TestSerialsAsRecorded(t *testing.T) {
	dir := filepath.Join("..", "ingest", "x509cert", "testdata", "crossproxy")
	serialRE := regexp.MustCompile(`"POST /([a-z0-9-]+) HTTP/1\.1".* serial=([^ ]*)`)
	logged := func(file string) map[string]string {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, m := range serialRE.FindAllStringSubmatch(string(data), -1) {
			out[m[1]] = m[2]
		}
		return out
	}
	haproxySerial := func(c *cert) string {
		line := writeHAProxy(&request{t: time.Date(2026, 12, 5, 16, 49, 51, 0, time.UTC), ip: "127.0.0.1", method: "POST", path: "/", cert: c}, false)
		m := regexp.MustCompile(` serial=([^ ]*)`).FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("no serial in %q", line)
		}
		return m[1]
	}
	nginxSerial := func(c *cert) string {
		_, _, serial, _, _ := nginxCert(c)
		return serial
	}
	logs := []struct {
		file  string
		write func(*cert) string
	}{
		{"nginx-rfc2253.log", nginxSerial},
		{"nginx-legacy.log", nginxSerial},
		{"haproxy-oneline.log", haproxySerial},
		{"haproxy-rfc2253.log", haproxySerial},
	}
	names := []string{"ossl-utf8", "ossl-twoou", "go-multiou", "ossl-mixed", "ossl-hash"}
	signByte := false
	for _, l := range logs {
		want := logged(l.file)
		if len(want) != len(names) {
			t.Fatalf("%s: serials of %d certificates, want %d", l.file, len(want), len(names))
		}
		for _, name := range names {
			leaf := certtest.ReadLeaf(t, filepath.Join(dir, name+".pem"))
			content, err := derSerial(leaf.RawTBSCertificate)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			signByte = signByte || content[0] == 0
			c := &cert{serial: content}
			if got := l.write(c); got != want[name] {
				t.Errorf("%s: %s: the writer writes serial %s, the proxy logged %s (DER content %X)", l.file, name, got, want[name], content)
			}
		}
	}
	if !signByte {
		t.Error("no recorded certificate has a DER sign byte in its serial")
	}
}

// derSerial returns the content of the serialNumber INTEGER of a DER
// TBSCertificate: the integer's bytes, after a 00 sign byte when the first
// of them has its high bit set.
func derSerial(tbs []byte) ([]byte, error) {
	var seq, v asn1.RawValue
	if _, err := asn1.Unmarshal(tbs, &seq); err != nil {
		return nil, err
	}
	rest, err := asn1.Unmarshal(seq.Bytes, &v)
	if err != nil {
		return nil, err
	}
	if v.Class == asn1.ClassContextSpecific && v.Tag == 0 { // [0] version
		if _, err := asn1.Unmarshal(rest, &v); err != nil {
			return nil, err
		}
	}
	if v.Class != asn1.ClassUniversal || v.Tag != asn1.TagInteger || len(v.Bytes) == 0 {
		return nil, fmt.Errorf("expected the serialNumber INTEGER, found class %d tag %d", v.Class, v.Tag)
	}
	return v.Bytes, nil
}
