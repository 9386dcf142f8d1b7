package nginx

import (
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
	"github.com/spraywatch/spraywatch/ingest/x509cert"
	"github.com/spraywatch/spraywatch/ingest/x509cert/certtest"
)

// certDirective is the log_format nginx 1.22.1 wrote
// ../x509cert/testdata/crossproxy/nginx-cert.log with (nginx.conf there).
// testdata/cert.log holds those lines, then lines with no certificate and
// with broken ones.
const certDirective = `log_format cert escape=json '{"time":"$time_iso8601","request":"$request","status":"$status","rid":"$request_id","cert":"$ssl_client_escaped_cert"}';`

// certText logs the whole certificate beside the values nginx gives of it.
const certText = `log_format c '$remote_addr [$time_local] "$request" rid=$request_id dn="$ssl_client_s_dn" serial=$ssl_client_serial cert=$ssl_client_escaped_cert';`

// escapeCert URL-escapes PEM as $ssl_client_escaped_cert does
// (../x509cert/testdata/crossproxy/nginx-cert.log): every byte but
// letters, digits and '-' as %XX.
func escapeCert(pem []byte) string {
	var b strings.Builder
	for _, c := range pem {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// TestEscapedCert checks that the certificate of $ssl_client_escaped_cert
// fills the identity fields a line does not carry itself, with the values
// its whole-certificate parse gives, and that a value which is no
// certificate makes the line an error.
func TestEscapedCert(t *testing.T) {
	c := certtest.New(t, certtest.Options{
		Subject: pkix.Name{CommonName: "svc-batch-01", Organization: []string{"Example Corp"}, Country: []string{"US"}},
		Issuer:  pkix.Name{CommonName: "Example Issuing CA 1", Country: []string{"US"}},
		Serial:  big.NewInt(0x0A11),
		URIs:    []string{"spiffe://example.org/ns/prod/sa/batch"},
	})
	info, err := x509cert.Parse(c.PEM)
	if err != nil {
		t.Fatal(err)
	}
	esc := escapeCert(c.PEM)
	line := func(dn, serial, cert string) string {
		return fmt.Sprintf(`203.0.113.7 [04/Dec/2026:09:00:01 +0000] "POST /accounts/login/ HTTP/1.1" rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a dn="%s" serial=%s cert=%s`, dn, serial, cert)
	}
	base := fields{event.SourceIP: "203.0.113.7", event.Method: "POST", event.URLPath: "/accounts/login/", event.RequestID: "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a"}
	with := func(more fields) fields {
		out := fields{}
		for _, m := range []fields{base, more} {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	whole := fields{event.TLSCertificate: esc, event.TLSSubject: info.Subject, event.TLSIssuer: info.Issuer,
		event.TLSSHA1: info.SHA1, event.TLSSHA256: info.SHA256, event.TLSSerial: "A11", event.TLSURISAN: "spiffe://example.org/ns/prod/sa/batch"}
	own := with(whole)
	own[event.TLSSubject] = "CN=as logged"
	f, err := Compile(certText)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, line string
		want       fields
		err        string
	}{
		{"the certificate alone", line("-", "-", esc), with(whole), ""},
		{"the line's values first", line("CN=as logged", "0A11", esc), own, ""},
		{"no certificate", line("-", "-", "-"), base, ""},
		{"not a certificate", line("-", "-", "-----BEGIN%20PUBLIC%20KEY-----%0AMIIB%0A-----END%20PUBLIC%20KEY-----%0A"), nil,
			"$ssl_client_escaped_cert: expected a URL-escaped PEM certificate: decoding certificate: no certificate"},
		{"a broken escape", line("-", "-", strings.Replace(esc, "%0A", "%0", 1)), nil, "expected a URL-escaped PEM certificate"},
		{"a broken certificate", line("-", "-", strings.Replace(esc, "MII", "MIX", 1)), nil, "expected a URL-escaped PEM certificate"},
	}
	var lines []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r event.Record
			err := f.NewParser().Parse([]byte(tt.line), &r)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			check(t, tt.name, &r, at("2026-12-04T09:00:01Z"), tt.want)
			certtest.CheckIdentity(t, &r)
		})
		lines = append(lines, tt.line)
	}
	// A skim rejects what Parse rejects when it checks every line, and
	// reads a wanted line as Parse does.
	skimtest.CheckLines(t, f, skimtest.AsWanted, lines)
	skimtest.CheckLines(t, skimtest.Exact(f), skimtest.AsWanted, lines)
	json, err := Compile(certDirective)
	if err != nil {
		t.Fatal(err)
	}
	skimtest.CheckLines(t, json, skimtest.AsWanted, skimtest.Lines(t, "testdata/cert.log"))

	// A certificate seen before costs no allocation.
	p := f.NewParser()
	skimtest.CheckParseAllocs(t, p, tests[0].line)
	skimtest.CheckParseAllocs(t, json.NewParser(), string(skimtest.Lines(t, "testdata/cert.log")[0]))
}

// TestEscapedCertBounds checks that certificates too long to be cached
// are parsed on each line without being kept, and that the cache holds no
// more certificates than its size.
func TestEscapedCertBounds(t *testing.T) {
	f, err := Compile(certText)
	if err != nil {
		t.Fatal(err)
	}
	cache := x509cert.NewCache(8)
	f.SetCertCache(cache)
	p := f.NewParser()
	line := func(cert string) string {
		return `203.0.113.7 [04/Dec/2026:09:00:01 +0000] "POST / HTTP/1.1" rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a dn="-" serial=- cert=` + cert
	}
	// A value no certificate is this long: each line's costs its parse,
	// and none is kept.
	huge := "-----BEGIN%20CERTIFICATE-----%0A" + strings.Repeat("QUFB", x509cert.MaxCachedBytes) + "%0A-----END%20CERTIFICATE-----%0A"
	for i := 0; i < 3; i++ {
		var r event.Record
		if err := p.Parse([]byte(line(huge)), &r); err == nil {
			t.Fatal("a huge value that is no certificate was accepted")
		}
	}
	if n := cache.Len(); n != 0 {
		t.Errorf("the cache keeps %d huge values", n)
	}
	for i := 0; i < 20; i++ {
		c := certtest.New(t, certtest.Options{Subject: pkix.Name{CommonName: fmt.Sprintf("u%d", i)}, Issuer: pkix.Name{CommonName: "CA"}})
		var r event.Record
		if err := p.Parse([]byte(line(escapeCert(c.PEM))), &r); err != nil {
			t.Fatal(err)
		}
		if got, want := string(r.Get(event.TLSSubject)), fmt.Sprintf("CN=u%d", i); got != want {
			t.Errorf("subject %q, want %q", got, want)
		}
	}
	if n := cache.Len(); n > 8 {
		t.Errorf("the cache holds %d certificates, its size is 8", n)
	}
}

// FuzzParseCert checks that Skim and Parse agree on lines of the recorded
// escaped-certificate format (see skimtest.CheckSkim).
func FuzzParseCert(f *testing.F) {
	seedLines(f, "cert.log")
	fm, err := Compile(certDirective)
	if err != nil {
		f.Fatal(err)
	}
	skim, full := newParser(fm), newParser(fm)
	f.Fuzz(func(t *testing.T, line []byte) {
		skimtest.CheckSkim(t, skim, full, line, skimtest.AsWanted)
		var r event.Record
		err := full.Parse(line, &r)
		checkRecord(t, line, &r, err)
		certtest.CheckIdentity(t, &r)
	})
}

// BenchmarkParseCert parses the recorded escaped-certificate lines: five
// certificates, each found in the cache after its first line.
func BenchmarkParseCert(b *testing.B) {
	f, err := Compile(certDirective)
	if err != nil {
		b.Fatal(err)
	}
	lines := skimtest.Lines(b, "testdata/cert.log")[:5]
	p := f.NewParser()
	var r event.Record
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	b.SetBytes(int64(n / len(lines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := p.Parse(lines[i%len(lines)], &r); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
