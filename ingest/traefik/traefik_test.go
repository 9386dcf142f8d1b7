package traefik

import (
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/url"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
	"github.com/spraywatch/spraywatch/ingest/x509cert/certtest"
)

type fields map[event.Field]string

const base = `{"ClientAddr":"203.0.113.7:52344","ClientHost":"203.0.113.7","ClientPort":"52344","ClientUsername":"-","DownstreamContentSize":5120,"DownstreamStatus":200,"Duration":12345678,"OriginStatus":200,"RequestAddr":"app.example.org","RequestHost":"app.example.org","RequestMethod":"POST","RequestPath":"/accounts/login/?next=/","RequestProtocol":"HTTP/2.0","RequestScheme":"https","RouterName":"app@file","StartLocal":"2026-12-04T10:00:01.123456789+01:00","StartUTC":"2026-12-04T09:00:01.123456789Z","TLSCipher":"TLS_AES_128_GCM_SHA256","TLSVersion":"1.3","level":"info","msg":"","request_User-Agent":"python-requests/2.32.3","request_X-Request-Id":"6f1c2e0b","time":"2026-12-04T09:00:01Z"`

func TestParse(t *testing.T) {
	c := certtest.New(t, certtest.Options{
		Subject: pkix.Name{Country: []string{"ES"}, Organization: []string{"Example Corp"},
			OrganizationalUnit: []string{"devices"}, CommonName: "José García"},
		Issuer: pkix.Name{Country: []string{"ES"}, Organization: []string{"Example Corp"}, CommonName: "Example Issuing CA 1"},
		Serial: big.NewInt(703710),
	})
	subject := "CN=José García,OU=devices,O=Example Corp,C=ES"
	common := fields{
		event.SourceIP: "203.0.113.7", event.SourcePort: "52344", event.BodyBytes: "5120", event.Status: "200",
		event.Method: "POST", event.URLPath: "/accounts/login/", event.UserAgent: "python-requests/2.32.3", event.RequestID: "6f1c2e0b",
	}
	with := func(extra fields) fields {
		out := fields{}
		for k, v := range common {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	b64 := base64.StdEncoding.EncodeToString(c.DER)
	goSubject := `,"TLSClientSubject":"` + c.Leaf.Subject.String() + `"`
	infoHdr := url.QueryEscape(`Subject="C=ES,O=Example Corp,OU=devices,CN=José García";Issuer="C=ES,O=Example Corp,CN=Example Issuing CA 1";SerialNumber="703710";NB="1767225600";NA="1798761600"`)
	// The headers agree with TLSClientSubject, but a client could have
	// sent them: no field is taken from them.
	withCert := func(string) fields { return with(fields{event.TLSSubject: subject}) }
	const when = "2026-12-04T09:00:01.123456789Z"
	for _, tc := range []struct {
		name, line, when string
		want             fields
		ignored          int64 // lines flagged for certificate headers left unused (once a line)
	}{
		{"subject only", base + goSubject + `}`, when, with(fields{event.TLSSubject: subject}), 0},
		{"whole certificate, query-escaped", base + goSubject + `,"request_X-Forwarded-Tls-Client-Cert":"` + url.QueryEscape(b64) + `"}`, when,
			withCert(url.QueryEscape(b64)), 0},
		{"whole certificate, plain base64", base + goSubject + `,"request_X-Forwarded-Tls-Client-Cert":"` + b64 + `"}`, when,
			withCert(b64), 0},
		{"certificate info header", base + goSubject + `,"request_X-Forwarded-Tls-Client-Cert-Info":"` + infoHdr + `"}`, when,
			with(fields{event.TLSSubject: subject}), 0},
		{"info header with part of the subject", base + goSubject + `,"request_X-Forwarded-Tls-Client-Cert-Info":"` +
			url.QueryEscape(`Subject="O=Example Corp,CN=José García";SerialNumber="703710"`) + `"}`, when,
			with(fields{event.TLSSubject: subject}), 0},
		// The client sent the headers: they name another certificate than
		// the one it presented, or it presented none.
		{"whole certificate of another subject", base + `,"TLSClientSubject":"CN=mallory,O=Example"` + `,"request_X-Forwarded-Tls-Client-Cert":"` + b64 + `"}`, when,
			with(fields{event.TLSSubject: "CN=mallory,O=Example"}), 1},
		{"info header of another subject", base + `,"TLSClientSubject":"CN=mallory,O=Example","request_X-Forwarded-Tls-Client-Cert-Info":"` +
			url.QueryEscape(`Subject="O=Example,CN=victim";SerialNumber="1"`) + `"}`, when,
			with(fields{event.TLSSubject: "CN=mallory,O=Example"}), 1},
		{"info header naming one attribute twice", base + `,"TLSClientSubject":"CN=mallory,O=Example","request_X-Forwarded-Tls-Client-Cert-Info":"` +
			url.QueryEscape(`Subject="O=Example,CN=mallory,CN=mallory";SerialNumber="1"`) + `"}`, when,
			with(fields{event.TLSSubject: "CN=mallory,O=Example"}), 1},
		{"info header without a subject", base + goSubject + `,"request_X-Forwarded-Tls-Client-Cert-Info":"` +
			url.QueryEscape(`Issuer="CN=Other CA";SerialNumber="1"`) + `"}`, when,
			with(fields{event.TLSSubject: subject}), 1},
		{"headers without a client certificate", base + `,"request_X-Forwarded-Tls-Client-Cert":"` + b64 + `","request_X-Forwarded-Tls-Client-Cert-Info":"` + infoHdr + `"}`, when,
			common, 1},
		{"headers that do not parse", base + goSubject + `,"request_X-Forwarded-Tls-Client-Cert":"bm90IGEgY2VydA==","request_X-Forwarded-Tls-Client-Cert-Info":"%zz"}`, when,
			with(fields{event.TLSSubject: subject}), 1},
		// ClientHost is X-Forwarded-For when the request has one.
		{"X-Forwarded-For in ClientHost", strings.Replace(base, `"ClientHost":"203.0.113.7"`, `"ClientHost":"6.6.6.6, 203.0.113.7"`, 1) + `}`, when,
			common, 0},
		{"ClientHost without ClientAddr", `{"StartUTC":"2026-12-04T09:00:02Z","ClientHost":"203.0.113.9","ClientPort":"40000"}`, "2026-12-04T09:00:02Z",
			fields{event.SourceIP: "203.0.113.9", event.SourcePort: "40000"}, 0},
		{"X-Forwarded-For without ClientAddr", `{"StartUTC":"2026-12-04T09:00:02Z","ClientHost":"6.6.6.6, 203.0.113.9","ClientPort":"40000"}`, "2026-12-04T09:00:02Z",
			fields{}, 0},
		{"StartUTC wins over StartLocal", `{"StartUTC":"2026-12-04T09:00:03Z","StartLocal":"2026-12-04T10:00:02+01:00"}`, "2026-12-04T09:00:03Z", fields{}, 0},
		{"StartUTC wins over an unreadable StartLocal", `{"StartLocal":"today","StartUTC":"2026-12-04T09:00:03Z"}`, "2026-12-04T09:00:03Z", fields{}, 0},
		{"no client certificate, ipv6, StartLocal only", `{"ClientAddr":"[2001:db8::7]:443","RequestMethod":"GET","RequestPath":"/","DownstreamStatus":404,"StartLocal":"2026-12-04T10:00:02+01:00","TLSClientSubject":"","request_User-Agent":"-"}`,
			"2026-12-04T09:00:02Z", fields{event.SourceIP: "2001:db8::7", event.SourcePort: "443", event.Method: "GET", event.URLPath: "/", event.Status: "404"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := New(Options{})
			if err != nil {
				t.Fatal(err)
			}
			var flags ingest.Flagged
			p := f.NewParser()
			ingest.CountFlags(p, &flags)
			skimtest.CheckParse(t, p, tc.line, tc.when, tc.want)
			if got := flags.Load(ingest.FlagCertHeaderIgnored); got != tc.ignored {
				t.Errorf("lines flagged cert_header_ignored = %d, want %d", got, tc.ignored)
			}
		})
	}
}

// TestIgnoredCountedOnce checks that a header is counted once per line read
// in full, and not on lines a skim leaves out.
func TestIgnoredCountedOnce(t *testing.T) {
	f, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var flags ingest.Flagged
	p := f.NewParser().(ingest.Skimmer)
	ingest.CountFlags(p, &flags)
	forged := `,"TLSClientSubject":"CN=mallory","request_X-Forwarded-Tls-Client-Cert-Info":"Subject%3D%22CN%3Dvictim%22"}`
	login := base + forged
	static := strings.Replace(base, `"RequestPath":"/accounts/login/?next=/"`, `"RequestPath":"/static/app.js"`, 1) + forged
	wantLogin := func(r *event.Record) bool { return string(r.Get(event.URLPath)) == "/accounts/login/" }
	var r event.Record
	for _, l := range []string{login, static, login} {
		if _, err := p.Skim([]byte(l), &r, wantLogin); err != nil {
			t.Fatal(err)
		}
	}
	if got := flags.Load(ingest.FlagCertHeaderIgnored); got != 2 {
		t.Errorf("%d lines flagged cert_header_ignored after two login lines and a skimmed one, want 2", got)
	}
}

// TestInfoHeaderDN reads DNs of the Info header as Traefik writes them:
// values not escaped, the subject's serialNumber attribute as SN.
func TestInfoHeaderDN(t *testing.T) {
	f, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var flags ingest.Flagged
	p := f.NewParser()
	ingest.CountFlags(p, &flags)
	for _, tc := range []struct{ tlsSubject, infoSubject, want string }{
		// writePart(cs.SerialNumber, "SN") in passtlsclientcert.go.
		{"SERIALNUMBER=DEV-4711,CN=device-7,O=Example,C=DE", "C=DE,O=Example,SN=DEV-4711,CN=device-7", "serialNumber=DEV-4711,CN=device-7,O=Example,C=DE"},
		{`CN=\#1 ops,O=Example`, "O=Example,CN=#1 ops", `CN=\#1 ops,O=Example`},
		{`CN=\ padded\ ,O=Example`, "O=Example,CN= padded ", `CN=\ padded\ ,O=Example`},
		{`CN=a\,b\+c\"d\\,O=Example`, `O=Example,CN=a,b+c"d\`, `CN=a\,b\+c\"d\\,O=Example`},
		{"CN=x,OU=b+OU=a,O=Example", "O=Example,OU=b,OU=a,CN=x", "CN=x,OU=a+OU=b,O=Example"},
		{"CN=x,DC=example,DC=org", "DC=org,DC=example,CN=x", "CN=x,DC=example,DC=org"},
	} {
		hdr := url.QueryEscape(`Subject="` + tc.infoSubject + `";SerialNumber="42"`)
		line := `{"StartUTC":"2026-12-04T09:00:01Z","TLSClientSubject":"` + strings.ReplaceAll(strings.ReplaceAll(tc.tlsSubject, `\`, `\\`), `"`, `\"`) +
			`","request_X-Forwarded-Tls-Client-Cert-Info":"` + hdr + `"}`
		before := flags.Load(ingest.FlagCertHeaderIgnored)
		var r event.Record
		if err := p.Parse([]byte(line), &r); err != nil {
			t.Errorf("%s: %v", tc.infoSubject, err)
			continue
		}
		if got := string(r.Get(event.TLSSubject)); got != tc.want {
			t.Errorf("%s: subject %q, want %q", tc.infoSubject, got, tc.want)
		}
		if flags.Load(ingest.FlagCertHeaderIgnored) != before {
			t.Errorf("%s: the header was counted as disagreeing with %q", tc.infoSubject, tc.tlsSubject)
		}
		if got := r.Get(event.TLSSerial); got != nil {
			t.Errorf("%s: serial %q taken from the header", tc.infoSubject, got)
		}
	}
}

func TestRequestIDKey(t *testing.T) {
	f, err := New(Options{RequestIDKey: "TraceId"})
	if err != nil {
		t.Fatal(err)
	}
	var r event.Record
	if err := f.NewParser().Parse([]byte(`{"StartUTC":"2026-12-04T09:00:01Z","TraceId":"4bf92f3577b34da6a3ce929d0e0e4736","request_X-Request-Id":"other"}`), &r); err != nil {
		t.Fatal(err)
	}
	if got := string(r.Get(event.RequestID)); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("request id = %q", got)
	}
	if _, err := New(Options{RequestIDKey: "ClientHost"}); err == nil {
		t.Error("a request id key that names another field was accepted")
	}
}

func TestParseErrors(t *testing.T) {
	f, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := f.NewParser()
	for _, tc := range []struct{ line, msg string }{
		{`not json`, ""},
		{`{"RequestMethod":"GET"}`, "no StartUTC"},
		{`{"StartUTC":"yesterday"}`, "StartUTC"},
		{`{"StartLocal":"2026-12-04T10:00:02+01:00","StartUTC":"yesterday"}`, "StartUTC"},
		{`{"StartLocal":"yesterday"}`, "StartLocal"},
		{`{"StartUTC":"1970-01-01T00:00:00Z"}`, "StartUTC"},
		{`{"StartUTC":"2026-12-04T09:00:01Z","TLSClientSubject":"CN"}`, "TLSClientSubject"},
	} {
		skimtest.CheckSyntaxError(t, p, tc.line, tc.msg)
	}
}

// TestBigSerial: an Info header with a 128-bit serial and a chain is
// checked against the first certificate, the client's.
func TestBigSerial(t *testing.T) {
	f, _ := New(Options{})
	var (
		r     event.Record
		flags ingest.Flagged
	)
	p := f.NewParser()
	ingest.CountFlags(p, &flags)
	hdr := url.QueryEscape(`Subject="CN=a";SerialNumber="340282366920938463463374607431768211455",Subject="CN=second"`)
	if err := p.Parse([]byte(`{"StartUTC":"2026-12-04T09:00:01Z","TLSClientSubject":"CN=a","request_X-Forwarded-Tls-Client-Cert-Info":"`+hdr+`"}`), &r); err != nil {
		t.Fatal(err)
	}
	if flags.Load(ingest.FlagCertHeaderIgnored) != 0 {
		t.Errorf("a header with a 128-bit serial counted as disagreeing")
	}
	if got := string(r.Get(event.TLSSubject)); got != "CN=a" {
		t.Errorf("subject = %q (the first certificate is the client's)", got)
	}
}

func FuzzParse(f *testing.F) {
	format, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(base + `,"TLSClientSubject":"CN=x,O=y"}`)
	f.Add(`{"StartUTC":"2026-12-04T09:00:01Z","request_X-Forwarded-Tls-Client-Cert-Info":"Subject%3D%22C%3DES%2CCN%3Dx%22%3BSerialNumber%3D%2212%22"}`)
	f.Add(`{"StartUTC":"2026-12-04T09:00:01Z","ClientAddr":"[::1"}`)
	f.Fuzz(func(t *testing.T, line string) {
		skimtest.CheckAccepted(t, format.NewParser(), line)
	})
}

func BenchmarkParse(b *testing.B) {
	f, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	skimtest.BenchParse(b, f.NewParser(), base+`,"TLSClientSubject":"CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"}`)
}

func TestParseDoesNotAllocate(t *testing.T) {
	f, _ := New(Options{})
	p := f.NewParser()
	info := url.QueryEscape(`Subject="C=US,O=Example Corp,CN=svc";Issuer="CN=CA";SerialNumber="703710"`)
	for _, l := range []string{
		base + `,"TLSClientSubject":"CN=svc,O=Example Corp,C=US"}`,
		base + `,"TLSClientSubject":"CN=svc,O=Example Corp,C=US","request_X-Forwarded-Tls-Client-Cert-Info":"` + info + `"}`,
		strings.Replace(base, `"ClientHost":"203.0.113.7"`, `"ClientHost":"6.6.6.6, 203.0.113.7"`, 1) + `}`,
	} {
		skimtest.CheckParseAllocs(t, p, l)
	}
}

// TestSlotKeys checks that the keys the scanner reports are the keys slotOf
// knows, so that no mapped member is left out.
func TestSlotKeys(t *testing.T) {
	f, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[slot]bool{}
	for _, k := range slotKeys {
		s := f.slotOf([]byte(k))
		if s == slotNone || seen[s] {
			t.Errorf("slotKeys holds %q, which slotOf maps to %v", k, s)
		}
		seen[s] = true
		if !f.keys.Has([]byte(k)) {
			t.Errorf("the scanner leaves out %q", k)
		}
	}
	for s := slotNone + 1; s <= slotCertInfo; s++ {
		if !seen[s] && s != slotRequestID {
			t.Errorf("no key of slotKeys reads slot %v", s)
		}
	}
	if !f.keys.Has([]byte(DefaultRequestIDKey)) {
		t.Errorf("the scanner leaves out %q", DefaultRequestIDKey)
	}
}

// TestHeadersNeverChooseTheIdentity: a client holding one certificate can
// send the certificate headers itself, naming its own subject with any
// issuer, serial or certificate; the access log cannot tell them from the
// middleware's. No identity field (issuer, serial, fingerprints, URI SAN,
// the subject's order) is taken from them, so one presented certificate is
// one identity.
func TestHeadersNeverChooseTheIdentity(t *testing.T) {
	f, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := f.NewParser()
	const subj = `,"TLSClientSubject":"CN=mallory,O=Example"`
	var lines []string
	for _, serial := range []string{"1001", "1002"} {
		hdr := url.QueryEscape(`Subject="CN=mallory";Issuer="CN=Victim Issuing CA";SerialNumber="` + serial + `"`)
		lines = append(lines, base+subj+`,"request_X-Forwarded-Tls-Client-Cert-Info":"`+hdr+`"}`)
	}
	for i := int64(1); i <= 2; i++ {
		c := certtest.New(t, certtest.Options{
			Subject: pkix.Name{Organization: []string{"Example"}, CommonName: "mallory"},
			Issuer:  pkix.Name{CommonName: "Anything"},
			Serial:  big.NewInt(i),
		})
		lines = append(lines, base+subj+`,"request_X-Forwarded-Tls-Client-Cert":"`+base64.StdEncoding.EncodeToString(c.DER)+`"}`)
	}
	for i, line := range lines {
		var r event.Record
		if err := p.Parse([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		for _, fl := range []event.Field{event.TLSIssuer, event.TLSSerial, event.TLSSHA1, event.TLSSHA256, event.TLSURISAN, event.TLSCertificate} {
			if v := r.Get(fl); v != nil {
				t.Errorf("line %d: %v = %q taken from a client-sendable header", i+1, fl, v)
			}
		}
		if got := string(r.Get(event.TLSSubject)); got != "CN=mallory,O=Example" {
			t.Errorf("line %d: subject %q", i+1, got)
		}
	}
}
