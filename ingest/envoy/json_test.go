package envoy

import (
	"crypto/x509/pkix"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
	"github.com/spraywatch/spraywatch/ingest/x509cert"
	"github.com/spraywatch/spraywatch/ingest/x509cert/certtest"
)

const jsonDef = `
log_format:
  json_format:
    start_time: "%START_TIME%"
    request_id: "%REQ(X-REQUEST-ID)%"
    method: "%REQ(:METHOD)%"
    path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"
    status: "%RESPONSE_CODE%"
    client: "%DOWNSTREAM_REMOTE_ADDRESS%"
    tls_version: "%DOWNSTREAM_TLS_VERSION%"
    ua: "%REQ(USER-AGENT)%"
    bytes: "%BYTES_SENT%"
    xfcc: "%REQ(X-FORWARDED-CLIENT-CERT)%"
    constant: 42
    peer:
      subject: "%DOWNSTREAM_PEER_SUBJECT%"
      issuer: "%DOWNSTREAM_PEER_ISSUER%"
      serial: "%DOWNSTREAM_PEER_SERIAL%"
      sha256: "%DOWNSTREAM_PEER_FINGERPRINT_256%"
      sha1: "%DOWNSTREAM_PEER_FINGERPRINT_1%"
      uri_san: "%DOWNSTREAM_PEER_URI_SAN%"
      note: "sha1=%DOWNSTREAM_PEER_FINGERPRINT_1% ok"
`

func TestJSON(t *testing.T) {
	f, err := CompileJSON(jsonDef)
	if err != nil {
		t.Fatal(err)
	}
	typed, err := CompileJSON(`{"typed_json_format": {"ts": "%START_TIME%", "rid": "%REQ(X-REQUEST-ID)%", "code": "%RESPONSE_CODE%", "ip": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", "fp": "%DOWNSTREAM_PEER_FINGERPRINT_256%", "serial": "%DOWNSTREAM_PEER_SERIAL%"}}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    *Format
		line string
		want want
	}{
		{
			name: "json_format with nested keys, unicode and escapes",
			f:    f,
			line: `{"start_time":"2026-12-04T09:00:01.123Z","request_id":"6f1c","method":"POST","path":"/accounts/login/?next=%2F","status":"200","client":"[2001:db8::7]:52344","tls_version":"TLSv1.3","ua":"Mozilla/5.0 \"quoted\" \u00e9","bytes":"5120","constant":42,` +
				`"peer":{"subject":"CN=Jos\\C3\\A9 Garc\\C3\\ADa,OU=devices,O=Example Corp,C=ES","issuer":"CN=Example Issuing CA 1,O=Example Corp,C=ES","serial":"0abcdef0","sha256":"` + strings.ToUpper(sha256hex) + `","sha1":"` + sha1hex + `","uri_san":"spiffe://example.org/ns/prod/sa/batch","note":"sha1=` + sha1hex + ` ok"}}`,
			want: want{"2026-12-04T09:00:01.123Z", map[event.Field]string{
				event.RequestID: "6f1c", event.Method: "POST", event.URLPath: "/accounts/login/", event.Status: "200",
				event.SourceIP: "2001:db8::7", event.SourcePort: "52344", event.UserAgent: `Mozilla/5.0 "quoted" é`, event.BodyBytes: "5120",
				event.TLSSubject: "CN=José García,OU=devices,O=Example Corp,C=ES", event.TLSIssuer: "CN=Example Issuing CA 1,O=Example Corp,C=ES",
				event.TLSSerial: "ABCDEF0", event.TLSSHA256: sha256hex, event.TLSSHA1: sha1hex,
				event.TLSURISAN: "spiffe://example.org/ns/prod/sa/batch",
			}},
		},
		{
			name: "json_format unset values are dashes",
			f:    f,
			line: `{"start_time":"2026-12-04T09:00:02Z","request_id":"-","method":"GET","path":"/","status":"404","client":"10.0.0.9:1234","tls_version":"-","ua":"-","bytes":"0","peer":{"subject":"-","issuer":"-","serial":"-","sha256":"-","sha1":"-","uri_san":"-","note":"sha1=- ok"}}`,
			want: want{"2026-12-04T09:00:02Z", map[event.Field]string{
				event.Method: "GET", event.URLPath: "/", event.Status: "404", event.SourceIP: "10.0.0.9", event.SourcePort: "1234", event.BodyBytes: "0",
			}},
		},
		{
			name: "typed_json_format: numbers and nulls, unknown keys ignored",
			f:    typed,
			line: `{"ts":"2026-12-04T09:00:03.5Z","rid":"r-1","code":401,"ip":"192.0.2.1","fp":null,"serial":null,"extra":{"a":[1,2]}}`,
			want: want{"2026-12-04T09:00:03.5Z", map[event.Field]string{
				event.RequestID: "r-1", event.Status: "401", event.SourceIP: "192.0.2.1",
			}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check(t, tc.f.NewParser(), tc.line, tc.want)
		})
	}
}

func TestJSONWholeCertificate(t *testing.T) {
	c := certtest.New(t, certtest.Options{
		Subject: pkix.Name{Country: []string{"ES"}, Organization: []string{"Example Corp"}, CommonName: "José García"},
		Issuer:  pkix.Name{CommonName: "Example Issuing CA 1"},
		URIs:    []string{"spiffe://example.org/ns/prod/sa/batch"},
	})
	info, err := x509cert.Parse(c.PEM)
	if err != nil {
		t.Fatal(err)
	}
	f, err := CompileJSON(`{"ts": "%START_TIME%", "cert": "%DOWNSTREAM_PEER_CERT%", "subject": "%DOWNSTREAM_PEER_SUBJECT%"}`)
	if err != nil {
		t.Fatal(err)
	}
	p := f.NewParser()
	line := `{"ts":"2026-12-04T09:00:01Z","subject":"CN=from-the-log","cert":"` + c.EscapedPEM() + `"}`
	for range 3 { // the second and third lines come from the cache
		check(t, p, line, want{"2026-12-04T09:00:01Z", map[event.Field]string{
			event.TLSCertificate: c.EscapedPEM(), event.TLSSubject: "CN=from-the-log",
			event.TLSIssuer: info.Issuer, event.TLSSHA1: info.SHA1, event.TLSSHA256: info.SHA256,
			event.TLSSerial: info.Serial, event.TLSURISAN: "spiffe://example.org/ns/prod/sa/batch",
		}})
	}
	bad := []byte(`{"ts":"2026-12-04T09:00:01Z","cert":"-----BEGIN%20CERTIFICATE-----%0AAAAA%0A-----END%20CERTIFICATE-----%0A"}`)
	var r event.Record
	if err := p.Parse(bad, &r); err == nil || !strings.Contains(err.Error(), "DOWNSTREAM_PEER_CERT") {
		t.Errorf("bad certificate: %v", err)
	}
}

func TestCompileJSONErrors(t *testing.T) {
	for _, tc := range []struct{ def, msg string }{
		{``, "empty definition"},
		{`- "%START_TIME%"`, "json_format must be a map of keys to operator strings, found a list"},
		{`"%START_TIME%"`, "found the scalar"},
		{`json_format: "%START_TIME%"`, "must be a map"},
		{`{"ts": "%START_TIME%", "rid": "%REQ(X-REQUEST-ID"}`, `key "rid"`},
		{`{"ts": "%START_TIME%", "rid": "%REQ(X-REQUEST-ID"}`, "no closing parenthesis"},
		{`{"ts": "%START_TIME", "rid": "%REQ(X-REQUEST-ID)%"}`, "not closed"},
		{`{"rid": "%REQ(X-REQUEST-ID)%"}`, "no key holds %START_TIME%"},
		{"ts: \"%START_TIME%\"\n  bad: [", "compiling envoy json_format"},
	} {
		_, err := CompileJSON(tc.def)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("CompileJSON(%q) error %v, want one mentioning %q", tc.def, err, tc.msg)
		}
	}
}

func TestJSONLineErrors(t *testing.T) {
	f, err := CompileJSON(jsonDef)
	if err != nil {
		t.Fatal(err)
	}
	p := f.NewParser()
	for _, tc := range []struct{ line, msg string }{
		{`not json`, ""},
		{`{"start_time":"2026-12-04T09:00:01Z","status":"200"`, ""},
		{`{"status":"200"}`, "no %START_TIME%"},
		{`{"start_time":"04/Dec/2026"}`, `key "start_time"`},
		{`{"start_time":"2026-12-04T09:00:01Z","peer":{"sha1":"xyz"}}`, `key "peer.sha1"`},
	} {
		var r event.Record
		err := p.Parse([]byte(tc.line), &r)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Parse(%q) = %v, want an error mentioning %q", tc.line, err, tc.msg)
		}
	}
}

func FuzzJSON(f *testing.F) {
	format, err := CompileJSON(jsonDef)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(`{"start_time":"2026-12-04T09:00:01.123Z","request_id":"6f1c","client":"[::1]:1","peer":{"subject":"CN=Jos\\C3\\A9,C=ES","serial":"00ff","sha1":"AB:CD"}}`)
	f.Add(`{"start_time":"2026-12-04T09:00:02Z","client":"[::1","peer":{"note":"sha1=zz ok"}}`)
	f.Add(`{"start_time":null}`)
	f.Add(`{"start_time":"2026-12-04T09:00:01Z","xfcc":"By=a;Hash=AB:cd;Subject=\"/C=US/CN=x\";URI=spiffe://x,Hash=00"}`)
	f.Add(`{"start_time":"2026-12-04T09:00:01Z","xfcc":"Cert=\"-----BEGIN%20CERTIFICATE-----%0AMIIB%0A\""}`)
	f.Fuzz(func(t *testing.T, line string) {
		skimtest.CheckAccepted(t, format.NewParser(), line)
	})
}

func FuzzCompile(f *testing.F) {
	f.Add(Default)
	f.Add(mtlsText)
	f.Add(jsonDef)
	f.Add(`{"ts": "%START_TIME(%Y)%:12"}`)
	f.Fuzz(func(t *testing.T, def string) {
		CompileText(def)
		CompileJSON(def)
	})
}

func TestReferenceJSON(t *testing.T) {
	f, err := CompileJSON(ReferenceJSON)
	if err != nil {
		t.Fatal(err)
	}
	line := `{"start_time":"2026-12-04T09:00:01.123Z","request_id":"rid","client":"203.0.113.7:52344","method":"POST","path":"/accounts/login/","status":"200","bytes_sent":"12","user_agent":"ua","peer_subject":"CN=a,O=b","peer_issuer":"CN=CA","peer_serial":"0f","peer_sha256":"` + sha256hex + `","peer_sha1":"` + sha1hex + `","peer_uri_san":"spiffe://x/y"}`
	check(t, f.NewParser(), line+"\r\n", want{"2026-12-04T09:00:01.123Z", map[event.Field]string{
		event.RequestID: "rid", event.SourceIP: "203.0.113.7", event.SourcePort: "52344", event.Method: "POST",
		event.URLPath: "/accounts/login/", event.Status: "200", event.BodyBytes: "12", event.UserAgent: "ua",
		event.TLSSubject: "CN=a,O=b", event.TLSIssuer: "CN=CA", event.TLSSerial: "F", event.TLSSHA256: sha256hex,
		event.TLSSHA1: sha1hex, event.TLSURISAN: "spiffe://x/y",
	}})
}

func TestXFCC(t *testing.T) {
	c := certtest.New(t, certtest.Options{
		Subject: pkix.Name{Organization: []string{"Example Corp"}, CommonName: "batch"},
		Issuer:  pkix.Name{CommonName: "CA"},
	})
	info, err := x509cert.Parse(c.PEM)
	if err != nil {
		t.Fatal(err)
	}
	f, err := CompileJSON(`{"ts": "%START_TIME%", "xfcc": "%REQ(X-FORWARDED-CLIENT-CERT)%"}`)
	if err != nil {
		t.Fatal(err)
	}
	p := f.NewParser()
	for _, tc := range []struct {
		xfcc string
		want map[event.Field]string
	}{
		{`By=spiffe://edge;Hash=` + strings.ToUpper(sha256hex) + `;Subject=\"/C=US/O=Example Corp/CN=Test Client\";URI=spiffe://example.org/client;DNS=a.example,By=spiffe://inner;Hash=ffff`,
			map[event.Field]string{event.TLSSHA256: sha256hex, event.TLSSubject: "CN=Test Client,O=Example Corp,C=US", event.TLSURISAN: "spiffe://example.org/client"}},
		{`By=spiffe://edge;Cert=\"` + c.EscapedPEM() + `\"`,
			map[event.Field]string{event.TLSSHA256: info.SHA256, event.TLSSHA1: info.SHA1, event.TLSSubject: info.Subject, event.TLSIssuer: info.Issuer, event.TLSSerial: info.Serial}},
	} {
		check(t, p, `{"ts":"2026-12-04T09:00:01Z","xfcc":"`+tc.xfcc+`"}`, want{"2026-12-04T09:00:01Z", tc.want})
	}
	var r event.Record
	if err := p.Parse([]byte(`{"ts":"2026-12-04T09:00:01Z","xfcc":"Subject=\"unterminated"}`), &r); err == nil || !strings.Contains(err.Error(), "x-forwarded-client-cert") {
		t.Errorf("bad header: %v", err)
	}
}
