package x509cert_test

import (
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/envoy"
	"github.com/spraywatch/spraywatch/ingest/haproxy"
	"github.com/spraywatch/spraywatch/ingest/traefik"
	"github.com/spraywatch/spraywatch/ingest/x509cert"
	"github.com/spraywatch/spraywatch/ingest/x509cert/certtest"
)

// opensslRFC2253 renders a name the way OpenSSL's XN_FLAG_RFC2253 does (nginx,
// Envoy, HAProxy's rfc2253 format): most specific first, bytes >= 0x80 as \XX.
func opensslRFC2253(n pkix.Name) string {
	seq := n.ToRDNSequence()
	var parts []string
	for i := len(seq) - 1; i >= 0; i-- {
		for _, atv := range seq[i] {
			name := map[string]string{"2.5.4.3": "CN", "2.5.4.11": "OU", "2.5.4.10": "O", "2.5.4.6": "C"}[atv.Type.String()]
			var b strings.Builder
			for _, c := range []byte(fmt.Sprint(atv.Value)) {
				if c >= 0x80 {
					fmt.Fprintf(&b, `\%02X`, c)
				} else {
					b.WriteByte(c)
				}
			}
			parts = append(parts, name+"="+b.String())
		}
	}
	return strings.Join(parts, ",")
}

// oneline renders a name the way OpenSSL's X509_NAME_oneline does (HAProxy's
// default %[ssl_c_s_dn]): least specific first, raw values.
func oneline(n pkix.Name) string {
	var b strings.Builder
	for _, rdn := range n.ToRDNSequence() {
		for _, atv := range rdn {
			name := map[string]string{"2.5.4.3": "CN", "2.5.4.11": "OU", "2.5.4.10": "O", "2.5.4.6": "C"}[atv.Type.String()]
			fmt.Fprintf(&b, "/%s=%v", name, atv.Value)
		}
	}
	return b.String()
}

// TestSameRequestAcrossProxies logs one request (one certificate, one time,
// one request id) the way Envoy JSON, Envoy text, HAProxy and Traefik write
// it, and checks that every record carries the same canonical identity.
func TestSameRequestAcrossProxies(t *testing.T) {
	serial := new(big.Int).SetUint64(0xF3828EB24FD779D0) // high bit set: HAProxy logs a leading 00
	c := certtest.New(t, certtest.Options{
		Subject: pkix.Name{Country: []string{"ES"}, Organization: []string{"Example Corp"},
			OrganizationalUnit: []string{"devices"}, CommonName: "José García"},
		Issuer: pkix.Name{Country: []string{"ES"}, Organization: []string{"Example Corp"}, CommonName: "Example Issuing CA 1"},
		Serial: serial,
		URIs:   []string{"spiffe://example.org/ns/prod/sa/batch"},
	})
	truth, err := x509cert.Parse(c.PEM)
	if err != nil {
		t.Fatal(err)
	}
	const rid = "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a"
	subj, iss := opensslRFC2253(c.Leaf.Subject), opensslRFC2253(c.Leaf.Issuer)
	lowerSerial := strings.ToLower(serial.Text(16))
	derSerial := fmt.Sprintf("%X", c.Leaf.SerialNumber.FillBytes(make([]byte, 9))) // as HAProxy's ,hex prints the DER integer

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
	ha, err := haproxy.Compile(`"%ci:%cp [%tr] %ST \"%r\" id=%ID used=%[ssl_c_used] verify=%[ssl_c_verify] sha1=%[ssl_c_sha1,hex] sha256=%[ssl_c_der,sha2(256),hex] serial=%[ssl_c_serial,hex] sdn=%{+Q}[ssl_c_s_dn] idn=%{+Q}[ssl_c_i_dn(,0,rfc2253)]"`)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := traefik.New(traefik.Options{})
	if err != nil {
		t.Fatal(err)
	}
	infoHdr := url.QueryEscape(fmt.Sprintf(`Subject="C=ES,O=Example Corp,OU=devices,CN=José García";Issuer="C=ES,O=Example Corp,CN=Example Issuing CA 1";SerialNumber="%s";NB="1767225600"`, serial.String()))

	type logged struct {
		name   string
		format ingest.Format
		line   string
		fields []event.Field // the identity fields this log carries
	}
	all := []event.Field{event.TLSSubject, event.TLSIssuer, event.TLSSerial, event.TLSSHA1, event.TLSSHA256}
	logs := []logged{
		{"envoy json", envoyJSON, fmt.Sprintf(`{"start_time":"2026-12-04T09:00:01.123Z","request_id":"%s","client":"203.0.113.7:52344","subject":%q,"issuer":%q,"serial":"%s","sha256":"%s","sha1":"%s","uri_san":"spiffe://example.org/ns/prod/sa/batch"}`,
			rid, subj, iss, lowerSerial, truth.SHA256, truth.SHA1), append(all, event.TLSURISAN)},
		{"envoy json, whole certificate", envoyCert, fmt.Sprintf(`{"start_time":"2026-12-04T09:00:01.123Z","request_id":"%s","cert":"%s"}`, rid, c.EscapedPEM()),
			append(all, event.TLSURISAN)},
		{"envoy text", envoyText, fmt.Sprintf(`[2026-12-04T09:00:01.123Z] 203.0.113.7:52344 "%s" "%s" "%s" %s %s %s`, rid, subj, iss, lowerSerial, truth.SHA1, truth.SHA256), all},
		{"haproxy", ha, fmt.Sprintf(`<134>Dec  4 09:00:01 lb1 haproxy[99]: 203.0.113.7:52344 [04/Dec/2026:09:00:01.123] 200 "POST /accounts/login/ HTTP/1.1" id=%s used=1 verify=0 sha1=%s sha256=%s serial=%s sdn="%s" idn="%s"`,
			rid, strings.ToUpper(truth.SHA1), strings.ToUpper(truth.SHA256), derSerial, oneline(c.Leaf.Subject), iss), all},
		{"traefik, subject only", tr, fmt.Sprintf(`{"StartUTC":"2026-12-04T09:00:01.123Z","ClientHost":"203.0.113.7","request_X-Request-Id":"%s","TLSClientSubject":%q}`, rid, c.Leaf.Subject.String()),
			[]event.Field{event.TLSSubject}},
		{"traefik, cert info header", tr, fmt.Sprintf(`{"StartUTC":"2026-12-04T09:00:01.123Z","ClientHost":"203.0.113.7","request_X-Request-Id":"%s","request_X-Forwarded-Tls-Client-Cert-Info":"%s"}`, rid, infoHdr),
			[]event.Field{event.TLSSubject, event.TLSIssuer, event.TLSSerial}},
		{"traefik, whole certificate", tr, fmt.Sprintf(`{"StartUTC":"2026-12-04T09:00:01.123Z","ClientHost":"203.0.113.7","request_X-Request-Id":"%s","request_X-Forwarded-Tls-Client-Cert":"%s"}`, rid, url.QueryEscape(base64.StdEncoding.EncodeToString(c.DER))),
			append(all, event.TLSURISAN)},
	}
	want := map[event.Field]string{
		event.TLSSubject: truth.Subject, event.TLSIssuer: truth.Issuer, event.TLSSerial: truth.Serial,
		event.TLSSHA1: truth.SHA1, event.TLSSHA256: truth.SHA256, event.TLSURISAN: truth.URISANs[0],
	}
	if truth.Serial != "F3828EB24FD779D0" || truth.Subject != "CN=José García,OU=devices,O=Example Corp,C=ES" {
		t.Fatalf("ground truth: %+v", truth)
	}
	for _, l := range logs {
		t.Run(l.name, func(t *testing.T) {
			var r event.Record
			if err := l.format.NewParser().Parse([]byte(l.line), &r); err != nil {
				t.Fatalf("%s\n%s", err, l.line)
			}
			if got := string(r.Get(event.RequestID)); got != rid {
				t.Errorf("request id %q", got)
			}
			if r.Time != 1796374801123000000 {
				t.Errorf("time %d", r.Time)
			}
			for _, f := range l.fields {
				if got := string(r.Get(f)); got != want[f] {
					t.Errorf("%v = %q, want %q", f, got, want[f])
				}
			}
		})
	}
}
