package x509cert_test

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/envoy"
	"github.com/spraywatch/spraywatch/ingest/haproxy"
	"github.com/spraywatch/spraywatch/ingest/nginx"
	"github.com/spraywatch/spraywatch/ingest/traefik"
	"github.com/spraywatch/spraywatch/ingest/x509cert"
	"github.com/spraywatch/spraywatch/ingest/x509cert/certtest"
)

// The recorded certificates of testdata/crossproxy (see RECORDED.md there):
// the canonical subject every proxy's log must give for each, and the
// subject as OpenSSL's XN_FLAG_RFC2253 writer prints it (openssl x509
// -nameopt RFC2253, nginx $ssl_client_s_dn, HAProxy's rfc2253 form, and
// Envoy, which calls the same writer in BoringSSL).
//
// goSubject is the canonical form of Go's pkix.Name.String rendering,
// Traefik's TLSClientSubject, where it differs from the subject: Go puts
// the attributes it has no field for (emailAddress, UID) last, merges
// repeated types into one RDN, splits a mixed multi-valued RDN and writes
// serialNumber before CN.
var recorded = []struct {
	name      string // file name without .pem, and the request path
	subject   string
	rfc2253   string
	goSubject string
}{
	{"ossl-utf8", `CN=José García,OU=devices,O=Example\, Inc,C=ES`,
		`CN=Jos\C3\A9 Garc\C3\ADa,OU=devices,O=Example\, Inc,C=ES`, ""},
	{"ossl-twoou", "emailAddress=svc@example.com,CN=svc-batch-01,OU=Batch,OU=Services,O=Example Corp,C=US",
		"emailAddress=svc@example.com,CN=svc-batch-01,OU=Batch,OU=Services,O=Example Corp,C=US",
		"CN=svc-batch-01,OU=Batch+OU=Services,O=Example Corp,C=US,emailAddress=svc@example.com"},
	{"go-multiou", "CN=svc-batch-01,OU=Batch+OU=Services,O=Example Corp,C=US",
		"CN=svc-batch-01,OU=Services+OU=Batch,O=Example Corp,C=US", ""},
	{"ossl-mixed", "CN=svc-batch-02+UID=batch2,OU=Batch+OU=Services,O=Example Corp,C=US",
		"UID=batch2+CN=svc-batch-02,OU=Services+OU=Batch,O=Example Corp,C=US",
		"CN=svc-batch-02,OU=Batch+OU=Services,O=Example Corp,C=US,UID=batch2"},
	{"ossl-hash", `CN=\#1 ops,serialNumber=DEV-4711,O=Example,C=DE`,
		`CN=\#1 ops,serialNumber=DEV-4711,O=Example,C=DE`,
		`serialNumber=DEV-4711,CN=\#1 ops,O=Example,C=DE`},
}

const (
	recordedDir    = "testdata/crossproxy"
	recordedIssuer = "CN=Example Lab CA,O=Example Corp,C=US"
)

// recordedCert reads a recorded certificate, and checks that its whole
// certificate parse gives the expected subject.
func recordedCert(t *testing.T, name, subject string) (pemBytes []byte, truth *x509cert.Info) {
	t.Helper()
	pemBytes, err := os.ReadFile(filepath.Join(recordedDir, name+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	truth, err = x509cert.Parse(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	if truth.Subject != subject || truth.Issuer != recordedIssuer {
		t.Errorf("%s: whole certificate: subject %q, issuer %q; want %q, %q", name, truth.Subject, truth.Issuer, subject, recordedIssuer)
	}
	return pemBytes, truth
}

// truthOf maps a recorded certificate's identity to the fields it fills.
func truthOf(i *x509cert.Info) map[event.Field]string {
	return map[event.Field]string{
		event.TLSSubject: i.Subject, event.TLSIssuer: i.Issuer, event.TLSSerial: i.Serial,
		event.TLSSHA1: i.SHA1, event.TLSSHA256: i.SHA256, event.TLSURISAN: i.URISANs[0],
	}
}

// recordedFormat finds a log format in a recorded configuration: the line
// after which the definition starts (nginx "log_format rfc2253", HAProxy
// "frontend fe_der"), then the definition's line.
func recordedFormat(t *testing.T, config, after, prefix string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(recordedDir, config))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, after) {
			found = true
		}
		if found && strings.HasPrefix(l, prefix) {
			return strings.TrimPrefix(l, prefix)
		}
	}
	t.Fatalf("%s: no %q after %q", config, prefix, after)
	return ""
}

// TestRecordedProxyLogs reads what nginx and HAProxy really logged for each
// recorded certificate, in every DN form they offer and as the whole
// certificate, and checks that each line carries the certificate's
// canonical identity.
func TestRecordedProxyLogs(t *testing.T) {
	all := []event.Field{event.TLSSubject, event.TLSIssuer, event.TLSSerial, event.TLSSHA1, event.TLSSHA256, event.TLSURISAN}
	compileNginx := func(name string) ingest.Format {
		f, err := nginx.Compile("log_format " + name + " " + recordedFormat(t, "nginx.conf", "log_format "+name+" ", "log_format "+name+" "))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	compileHAProxy := func(frontend string) ingest.Format {
		f, err := haproxy.Compile(recordedFormat(t, "haproxy.cfg", "frontend "+frontend, "log-format "))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	logs := []struct {
		file   string
		format ingest.Format
		fields []event.Field
		// The subjects a form gives that differ from the certificate's:
		// HAProxy's default form starts every attribute with '/', so it
		// cannot tell a multi-valued RDN from several RDNs; in the oneline
		// form a '+' is part of the value (HAProxy and OpenSSL 1.1 write
		// one raw), so OpenSSL 3's multi-valued RDN is one attribute.
		differs map[string]string
	}{
		{"nginx-rfc2253.log", compileNginx("rfc2253"), all[:4], nil},
		{"nginx-legacy.log", compileNginx("legacy"), all[:4], map[string]string{
			"go-multiou": `CN=svc-batch-01,OU=Batch\+OU=Services,O=Example Corp,C=US`,
			"ossl-mixed": `CN=svc-batch-02\+UID=batch2,OU=Batch\+OU=Services,O=Example Corp,C=US`,
		}},
		{"nginx-cert.log", compileNginx("cert"), all, nil},
		{"haproxy-oneline.log", compileHAProxy("fe_oneline"), all[:5], map[string]string{
			"go-multiou": "CN=svc-batch-01,OU=Services,OU=Batch,O=Example Corp,C=US",
			"ossl-mixed": "UID=batch2,CN=svc-batch-02,OU=Services,OU=Batch,O=Example Corp,C=US",
		}},
		{"haproxy-rfc2253.log", compileHAProxy("fe_rfc2253"), all[:5], nil},
		{"haproxy-der.log", compileHAProxy("fe_der"), all, nil},
	}
	want := map[string]map[event.Field]string{}
	for _, c := range recorded {
		_, truth := recordedCert(t, c.name, c.subject)
		want[c.name] = truthOf(truth)
	}
	for _, l := range logs {
		t.Run(l.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(recordedDir, l.file))
			if err != nil {
				t.Fatal(err)
			}
			p := l.format.NewParser()
			seen := map[string]bool{}
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				var r event.Record
				if err := p.Parse(sc.Bytes(), &r); err != nil {
					t.Errorf("%v\n%s", err, sc.Bytes())
					continue
				}
				name := strings.TrimPrefix(string(r.Get(event.URLPath)), "/")
				w, ok := want[name]
				if !ok {
					t.Errorf("line for an unknown certificate %q", name)
					continue
				}
				seen[name] = true
				if cert := r.Get(event.TLSCertificate); len(cert) > 0 {
					i, err := x509cert.Parse(cert)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					for f, v := range truthOf(i) {
						if v != w[f] {
							t.Errorf("%s: the logged certificate's %v = %q, want %q", name, f, v, w[f])
						}
					}
				}
				for _, f := range l.fields {
					exp := w[f]
					if d, ok := l.differs[name]; ok && f == event.TLSSubject {
						exp = d
					}
					if got := string(r.Get(f)); got != exp {
						t.Errorf("%s: %v = %q, want %q", name, f, got, exp)
					}
				}
			}
			if len(seen) != len(recorded) {
				t.Errorf("lines for %d certificates, want %d", len(seen), len(recorded))
			}
		})
	}
}

// TestSameRequestAcrossProxies logs one request (one recorded certificate,
// one time, one request id) the way Envoy JSON and text write it, with the
// subject and issuer as OpenSSL prints them and with the whole certificate,
// and the way Traefik writes it, and checks that every record carries the
// certificate's canonical identity. Traefik's own subject is Go's
// rendering: without the whole certificate, some subjects differ.
func TestSameRequestAcrossProxies(t *testing.T) {
	envoyJSON, err := envoy.CompileJSON(`
json_format:
  start_time: "%START_TIME%"
  request_id: "%REQ(X-REQUEST-ID)%"
  client: "%DOWNSTREAM_REMOTE_ADDRESS%"
  subject: "%DOWNSTREAM_PEER_SUBJECT%"
  issuer: "%DOWNSTREAM_PEER_ISSUER%"
  serial: "%DOWNSTREAM_PEER_SERIAL%"
  sha256: "%DOWNSTREAM_PEER_FINGERPRINT_256%"
  sha1: "%DOWNSTREAM_PEER_FINGERPRINT_1%"
  uri_san: "%DOWNSTREAM_PEER_URI_SAN%"
`)
	if err != nil {
		t.Fatal(err)
	}
	envoyCert, err := envoy.CompileJSON(`{"start_time": "%START_TIME%", "request_id": "%REQ(X-REQUEST-ID)%", "cert": "%DOWNSTREAM_PEER_CERT%"}`)
	if err != nil {
		t.Fatal(err)
	}
	envoyText, err := envoy.CompileText(`[%START_TIME%] %DOWNSTREAM_REMOTE_ADDRESS% "%REQ(X-REQUEST-ID)%" "%DOWNSTREAM_PEER_SUBJECT%" "%DOWNSTREAM_PEER_ISSUER%" %DOWNSTREAM_PEER_SERIAL% %DOWNSTREAM_PEER_FINGERPRINT_1% %DOWNSTREAM_PEER_FINGERPRINT_256%`)
	if err != nil {
		t.Fatal(err)
	}
	var flags ingest.Flagged // what every parser below flagged
	tr, err := traefik.New(traefik.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const rid = "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a"
	all := []event.Field{event.TLSSubject, event.TLSIssuer, event.TLSSerial, event.TLSSHA1, event.TLSSHA256}
	for _, c := range recorded {
		pemBytes, truth := recordedCert(t, c.name, c.subject)
		leaf := certtest.ReadLeaf(t, filepath.Join(recordedDir, c.name+".pem"))
		lowerSerial := strings.ToLower(truth.Serial)
		issuer := "CN=Example Lab CA,O=Example Corp,C=US" // as OpenSSL prints it
		traefikLine := fmt.Sprintf(`{"StartUTC":"2026-12-04T09:00:01.123Z","ClientAddr":"203.0.113.7:52344","request_X-Request-Id":"%s","TLSClientSubject":%s`,
			rid, jsonString(leaf.Subject.String()))
		goSubject := c.goSubject
		if goSubject == "" {
			goSubject = c.subject
		}
		logs := []struct {
			name    string
			format  ingest.Format
			line    string
			fields  []event.Field // the identity fields this log carries
			subject string        // the subject it gives, when not the certificate's
		}{
			{"envoy json", envoyJSON, fmt.Sprintf(`{"start_time":"2026-12-04T09:00:01.123Z","request_id":"%s","client":"203.0.113.7:52344","subject":%s,"issuer":%s,"serial":"%s","sha256":"%s","sha1":"%s","uri_san":%s}`,
				rid, jsonString(c.rfc2253), jsonString(issuer), lowerSerial, truth.SHA256, truth.SHA1, jsonString(truth.URISANs[0])), append(all, event.TLSURISAN), ""},
			{"envoy json, whole certificate", envoyCert, fmt.Sprintf(`{"start_time":"2026-12-04T09:00:01.123Z","request_id":"%s","cert":"%s"}`, rid, escapedPEM(pemBytes)),
				append(all, event.TLSURISAN), ""},
			{"envoy text", envoyText, fmt.Sprintf(`[2026-12-04T09:00:01.123Z] 203.0.113.7:52344 "%s" "%s" "%s" %s %s %s`, rid, c.rfc2253, issuer, lowerSerial, truth.SHA1, truth.SHA256), all, ""},
			{"traefik, subject only", tr, traefikLine + `}`, all[:1], goSubject},
			// The headers are checked, never used: a client can send them.
			{"traefik, cert info header", tr, traefikLine + `,"request_X-Forwarded-Tls-Client-Cert-Info":"` + traefikInfo(leaf) + `"}`, all[:1], goSubject},
			{"traefik, whole certificate", tr, traefikLine + `,"request_X-Forwarded-Tls-Client-Cert":"` + url.QueryEscape(base64.StdEncoding.EncodeToString(leaf.Raw)) + `"}`,
				all[:1], goSubject},
		}
		for _, l := range logs {
			t.Run(c.name+"/"+l.name, func(t *testing.T) {
				var r event.Record
				p := l.format.NewParser()
				ingest.CountFlags(p, &flags)
				if err := p.Parse([]byte(l.line), &r); err != nil {
					t.Fatalf("%s\n%s", err, l.line)
				}
				if got := string(r.Get(event.RequestID)); got != rid {
					t.Errorf("request id %q", got)
				}
				if r.Time != 1796374801123000000 {
					t.Errorf("time %d", r.Time)
				}
				want := truthOf(truth)
				if l.subject != "" {
					want[event.TLSSubject] = l.subject
				}
				for _, f := range []event.Field{event.TLSSubject, event.TLSIssuer, event.TLSSerial, event.TLSSHA1, event.TLSSHA256, event.TLSURISAN} {
					exp := ""
					if slices.Contains(l.fields, f) {
						exp = want[f]
					}
					if got := string(r.Get(f)); got != exp {
						t.Errorf("%v = %q, want %q", f, got, exp)
					}
				}
			})
		}
	}
	if n := flags.Load(ingest.FlagCertHeaderIgnored); n != 0 {
		t.Errorf("Traefik ignored the certificate headers of %d lines", n)
	}
}

// traefikInfo writes the X-Forwarded-Tls-Client-Cert-Info value Traefik's
// passTLSClientCert middleware sets with every info option on
// (pkg/middlewares/passtlsclientcert: getCertInfo, getSubjectDNInfo and
// getIssuerDNInfo): DC, C, ST, L, O, OU (subject only), SN, CN, one
// attribute per value, values as they are, the whole query-escaped.
func traefikInfo(c *x509.Certificate) string {
	oidDC := asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	dnInfo := func(n pkix.Name, ou bool) string {
		var b strings.Builder
		for _, a := range n.Names {
			if a.Type.Equal(oidDC) {
				fmt.Fprintf(&b, "DC=%s,", a.Value)
			}
		}
		parts := func(vs []string, p string) {
			for _, v := range vs {
				if v != "" {
					fmt.Fprintf(&b, "%s=%s,", p, v)
				}
			}
		}
		parts(n.Country, "C")
		parts(n.Province, "ST")
		parts(n.Locality, "L")
		parts(n.Organization, "O")
		if ou {
			parts(n.OrganizationalUnit, "OU")
		}
		parts([]string{n.SerialNumber}, "SN")
		parts([]string{n.CommonName}, "CN")
		return strings.TrimSuffix(b.String(), ",")
	}
	return url.QueryEscape(fmt.Sprintf(`Subject="%s";Issuer="%s";SerialNumber="%s";NB="%d";NA="%d"`,
		dnInfo(c.Subject, true), dnInfo(c.Issuer, false), c.SerialNumber, c.NotBefore.Unix(), c.NotAfter.Unix()))
}

func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// escapedPEM URL-escapes a PEM certificate as nginx's
// $ssl_client_escaped_cert does (testdata/crossproxy/nginx-cert.log):
// every byte but letters, digits and '-' as %XX.
func escapedPEM(p []byte) string {
	var b strings.Builder
	for _, c := range p {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
