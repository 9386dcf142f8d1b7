package x509cert_test

import (
	"bytes"
	"crypto/x509"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/alb"
	"github.com/spraywatch/spraywatch/ingest/envoy"
	"github.com/spraywatch/spraywatch/ingest/haproxy"
	"github.com/spraywatch/spraywatch/ingest/nginx"
	"github.com/spraywatch/spraywatch/ingest/x509cert/certtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestSerialForms logs each recorded certificate's serial as every proxy
// writes it and checks that every parser gives the certificate's own
// canonical serial, the one its whole-certificate parse gives: identity by
// issuer and serial is then the same whichever proxy logged a request.
// nginx's and HAProxy's values are the recorded ones; Envoy writes BN_bn2hex
// in BoringSSL (lowercase, two digits a byte), Traefik's
// X-Forwarded-Tls-Client-Cert-Info the decimal integer (Go's big.Int), ALB
// uppercase hex. testdata/serials.golden lists the forms.
func TestSerialForms(t *testing.T) {
	nginxText, err := nginx.Compile(`log_format s '$time_iso8601 $ssl_client_serial';`)
	if err != nil {
		t.Fatal(err)
	}
	nginxJSON, err := nginx.Compile(`log_format s escape=json '{"t":"$time_iso8601","serial":"$ssl_client_serial"}';`)
	if err != nil {
		t.Fatal(err)
	}
	hap, err := haproxy.Compile(`"[%tr] serial=%[ssl_c_serial,hex]"`)
	if err != nil {
		t.Fatal(err)
	}
	envoyText, err := envoy.CompileText(`[%START_TIME%] %DOWNSTREAM_PEER_SERIAL%`)
	if err != nil {
		t.Fatal(err)
	}
	nginxCert, err := nginx.Compile("log_format cert " + recordedFormat(t, "nginx.conf", "log_format cert ", "log_format cert "))
	if err != nil {
		t.Fatal(err)
	}
	certLines := recordedLines(t, "nginx-cert.log")
	nginxLogged := loggedSerials(t, "nginx-rfc2253.log")
	haproxyLogged := loggedSerials(t, "haproxy-oneline.log")
	forms := []struct {
		proxy  string
		format ingest.Format
		value  func(name string, leaf *x509.Certificate) string // as the proxy writes it
		line   func(v string, leaf *x509.Certificate) string
	}{
		{"nginx $ssl_client_serial", nginxText,
			func(name string, _ *x509.Certificate) string { return nginxLogged[name] },
			func(v string, _ *x509.Certificate) string { return "2026-12-04T09:00:01+00:00 " + v }},
		{"nginx escape=json", nginxJSON,
			func(name string, _ *x509.Certificate) string { return nginxLogged[name] },
			func(v string, _ *x509.Certificate) string {
				return `{"t":"2026-12-04T09:00:01+00:00","serial":"` + v + `"}`
			}},
		{"haproxy %[ssl_c_serial,hex]", hap,
			func(name string, _ *x509.Certificate) string { return haproxyLogged[name] },
			func(v string, _ *x509.Certificate) string { return "[04/Dec/2026:09:00:01.123] serial=" + v }},
		{"envoy %DOWNSTREAM_PEER_SERIAL%", envoyText,
			func(_ string, leaf *x509.Certificate) string { return fmt.Sprintf("%x", bytesOf(leaf.SerialNumber)) },
			func(v string, _ *x509.Certificate) string { return "[2026-12-04T09:00:01.123Z] " + v }},
		{"nginx $ssl_client_escaped_cert", nginxCert,
			func(name string, _ *x509.Certificate) string { return certLines[name] },
			func(v string, _ *x509.Certificate) string { return v }},
		{"alb leaf_client_cert_serial_number", alb.ConnFormat{},
			func(_ string, leaf *x509.Certificate) string { return fmt.Sprintf("%X", bytesOf(leaf.SerialNumber)) },
			func(v string, _ *x509.Certificate) string {
				return `2026-12-04T09:00:00.100000Z 203.0.113.7 52344 443 TLSv1.3 TLS_AES_128_GCM_SHA256 43 "CN=x" NotBefore=2026-01-01T00:00:00Z;NotAfter=2027-01-01T00:00:00Z ` + v + ` Success TID_dc57cebed65b444ebc8177bb698fe166`
			}},
	}
	var out bytes.Buffer
	for _, c := range recorded {
		_, truth := recordedCert(t, c.name, c.subject)
		leaf := certtest.ReadLeaf(t, filepath.Join(recordedDir, c.name+".pem"))
		fmt.Fprintf(&out, "%s: certificate %s\n", c.name, truth.Serial)
		for _, f := range forms {
			v := f.value(c.name, leaf)
			if v == "" {
				t.Fatalf("%s: no recorded %s", c.name, f.proxy)
			}
			var r event.Record
			if err := f.format.NewParser().Parse([]byte(f.line(v, leaf)), &r); err != nil {
				t.Errorf("%s, %s: %v", c.name, f.proxy, err)
				continue
			}
			got := string(r.Get(event.TLSSerial))
			if got != truth.Serial {
				t.Errorf("%s, %s %s: serial %q, want the certificate's %q", c.name, f.proxy, v, got, truth.Serial)
			}
			certtest.CheckIdentity(t, &r)
			if len(v) > 24 {
				v = "(the whole certificate)"
			}
			fmt.Fprintf(&out, "  %-35s %-24s %s\n", f.proxy, v, got)
		}
	}
	golden := filepath.Join("testdata", "serials.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("serials differ from %s (run with -update after checking):\n%s", golden, out.Bytes())
	}
}

// loggedSerials reads the serial= values of a recorded log, by the
// certificate the request path names.
func loggedSerials(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(recordedDir, file))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	re := regexp.MustCompile(`"POST /([a-z0-9-]+) HTTP/1\.1".* serial=([^ ]*)`)
	for _, m := range re.FindAllStringSubmatch(string(data), -1) {
		out[m[1]] = m[2]
	}
	return out
}

// recordedLines reads the lines of a recorded log, by the certificate the
// request path names.
func recordedLines(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(recordedDir, file))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	re := regexp.MustCompile(`"POST /([a-z0-9-]+) HTTP/1\.1"`)
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			out[m[1]] = l
		}
	}
	return out
}

// bytesOf is an integer's bytes, as OpenSSL keeps a positive
// ASN1_INTEGER: big-endian, no sign byte, "00" for zero.
func bytesOf(n *big.Int) []byte {
	if b := n.Bytes(); len(b) > 0 {
		return b
	}
	return []byte{0}
}
