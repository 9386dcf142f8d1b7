package dn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

// The subject used across proxies: C=US, ST=California, O=Example, Inc,
// OU=Eng+R&D, CN=José "JD" Doe;<x> (in certificate order).
const wantJose = `CN=José \"JD\" Doe\;\<x\>,OU=Eng\+R&D,O=Example\, Inc,ST=California,C=US`

// goSubject builds a real certificate with the subject above and returns
// what Go's pkix.Name.String prints for it (Traefik's TLSClientSubject).
func goSubject(t testing.TB, extra ...pkix.AttributeTypeAndValue) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject: pkix.Name{
			Country:            []string{"US"},
			Province:           []string{"California"},
			Organization:       []string{"Example, Inc"},
			OrganizationalUnit: []string{"Eng+R&D"},
			CommonName:         `José "JD" Doe;<x>`,
			ExtraNames:         extra,
		},
		NotBefore: time.Unix(0, 0),
		NotAfter:  time.Unix(1<<31, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert.Subject.String()
}

func canon(t *testing.T, in string) string {
	t.Helper()
	out, err := Canonical(nil, []byte(in))
	if err != nil {
		t.Fatalf("Canonical(%q): %v", in, err)
	}
	return string(out)
}

func TestSameNameFromEveryProxy(t *testing.T) {
	forms := []struct{ who, dn string }{
		// openssl x509 -nameopt RFC2253 (OpenSSL 3), what nginx logs for
		// $ssl_client_s_dn once its log escaping is undone.
		{"nginx rfc2253", `CN=Jos\C3\A9 \"JD\" Doe\;\<x\>,OU=Eng\+R&D,O=Example\, Inc,ST=California,C=US`},
		// X509_NAME_oneline (OpenSSL 3), nginx $ssl_client_s_dn_legacy,
		// but for the '+' it escapes (see TestOnelineEscapesKeepNamesApart).
		{"nginx legacy", `/C=US/ST=California/O=Example, Inc/OU=Eng+R&D/CN=Jos\xC3\xA9 "JD" Doe;<x>`},
		// HAProxy's own oneline: raw values.
		{"haproxy default", `/C=US/ST=California/O=Example, Inc/OU=Eng+R&D/CN=José "JD" Doe;<x>`},
		// HAProxy ssl_c_s_dn(,0,rfc2253) and Envoy: XN_FLAG_RFC2253.
		{"haproxy rfc2253", `CN=Jos\C3\A9 \"JD\" Doe\;\<x\>,OU=Eng\+R&D,O=Example\, Inc,ST=California,C=US`},
		// RFC 4514 writers that keep UTF-8 (Envoy XFCC Subject, hand-written).
		{"envoy utf-8", `CN=José \"JD\" Doe\;\<x\>,OU=Eng\+R&D,O=Example\, Inc,ST=California,C=US`},
		{"lower-case types and spaces", ` cn = José \"JD\" Doe\;\<x\> ,ou=Eng\+R&D,o=Example\2C Inc,st=California,c=US`},
		{"oid types", `2.5.4.3=José \"JD\" Doe\;\<x\>,2.5.4.11=Eng\+R&D,2.5.4.10=Example\, Inc,2.5.4.8=California,2.5.4.6=US`},
		{"go pkix.Name.String", goSubject(t)},
	}
	for _, f := range forms {
		if got := canon(t, f.dn); got != wantJose {
			t.Errorf("%s: Canonical(%q)\n got %s\nwant %s", f.who, f.dn, got, wantJose)
		}
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"CN=Jane Doe,OU=Eng,O=Example\\, Inc,C=US", "CN=Jane Doe,OU=Eng,O=Example\\, Inc,C=US"},
		{"/C=US/O=Example, Inc/CN=Jane Doe", "CN=Jane Doe,O=Example\\, Inc,C=US"},
		// Cyrillic as OpenSSL escapes it and as Go writes it.
		{`CN=\D0\B4\D0\BE\D0\BC,O=Example`, "CN=дом,O=Example"},
		{`/O=Example/CN=\xD0\xB4\xD0\xBE\xD0\xBC`, "CN=дом,O=Example"},
		// emailAddress: OpenSSL's name, and Go's OID=#DER form.
		{"emailAddress=jane@example.com,CN=Jane", "emailAddress=jane@example.com,CN=Jane"},
		{"1.2.840.113549.1.9.1=#16106a616e65406578616d706c652e636f6d,CN=Jane", "emailAddress=jane@example.com,CN=Jane"},
		{"/CN=Jane/emailAddress=jane@example.com", "emailAddress=jane@example.com,CN=Jane"},
		{"E=jane@example.com", "emailAddress=jane@example.com"},
		// DER strings of other types; BMPString decoded to UTF-8.
		{"CN=#0c03616263", "CN=abc"},
		{"CN=#1e0600e400f600fc", "CN=äöü"},
		{"CN=#1c08000000e4000000f6", "CN=äö"},
		// Not a DER string: stays #hex, lower case.
		{"1.2.3.4=#0401FF", "1.2.3.4=#0401ff"},
		{"1.2.3.4=#0c05ab", "1.2.3.4=#0c05ab"},
		// Escapes that need to stay, and leading/trailing specials.
		{`CN=\#not hex`, `CN=\#not hex`},
		{`CN=\ padded\ `, `CN=\ padded\ `},
		{`CN=a\=b`, `CN=a=b`},
		{`CN=back\\slash`, `CN=back\\slash`},
		{`/CN=#x`, `CN=\#x`},
		{`/CN= lead`, `CN=\ lead`},
		// Multi-valued RDNs kept, their attributes sorted by type, then
		// value.
		{"CN=a+UID=b,O=c", "CN=a+UID=b,O=c"},
		{"UID=b+CN=a,O=c", "CN=a+UID=b,O=c"},
		{"uid=b+2.5.4.3=a", "CN=a+UID=b"},
		{"O=x,OU=b+OU=a+OU=c,C=y", "O=x,OU=a+OU=b+OU=c,C=y"},
		{`OU=b\+c+OU=a\+d+OU=a`, `OU=a+OU=a\+d+OU=b\+c`},
		{`OU=b\\+OU=a\\`, `OU=a\\+OU=b\\`},
		{"OU=a+OU=a", "OU=a+OU=a"},
		{"1.2.3=a+1.2=b", "1.2=b+1.2.3=a"},
		{"CN=x+1.2.3.4=#0401FF", "1.2.3.4=#0401ff+CN=x"},
		{"CN=#0c0162+CN=a", "CN=a+CN=b"},
		{"OU=p+OU=o+OU=n+OU=m+OU=l+OU=k+OU=j+OU=i+OU=h+OU=g+OU=f+OU=e+OU=d+OU=c+OU=b+OU=a+OU=0",
			"OU=0+OU=a+OU=b+OU=c+OU=d+OU=e+OU=f+OU=g+OU=h+OU=i+OU=j+OU=k+OU=l+OU=m+OU=n+OU=o+OU=p"},
		// Oneline: a '+' is part of the value, escaped or not (OpenSSL
		// 3's multi-valued RDNs cannot be told from HAProxy's and OpenSSL
		// 1.1's raw '+'), and the entry is not sorted.
		{"/O=x/OU=b+OU=a/CN=y", `CN=y,OU=b\+OU=a,O=x`},
		{`/O=x/CN=a\+b`, `CN=a\\\+b,O=x`},
		{"/O=x/CN=a+b", `CN=a\+b,O=x`},
		{"/O=x/CN=a+ b=c", `CN=a\+ b=c,O=x`},
		{"/CN=z+UID=a+CN=y", `CN=z\+UID=a\+CN=y`},
		// Slash inside a oneline value, with and without OpenSSL 3's
		// escape, which is kept as written.
		{`/O=A/B Inc/CN=x`, `CN=x,O=A/B Inc`},
		{`/O=A\/B=C \ d, e/CN=x=y`, `CN=x=y,O=A\\/B=C \\ d\, e`},
		// \xHH: decoded for bytes outside printable ASCII (OpenSSL's
		// escapes), kept as text for the others.
		{`/CN=\x41\x7E\x7F\x1F`, `CN=\\x41\\x7E\7F\1F`},
		// Bytes that are not UTF-8 and control bytes.
		{`CN=\E9t\E9`, `CN=\E9t\E9`},
		{"/CN=tab\there", `CN=tab\09here`},
		// Empty value.
		{"CN=,O=x", "CN=,O=x"},
		{"/O=x/CN=", "CN=,O=x"},
		{"DC=com,dc=example,domainComponent=www", "DC=com,DC=example,DC=www"},
		{"SERIALNUMBER=42,STREET=Main St,POSTALCODE=1234", "serialNumber=42,street=Main St,postalCode=1234"},
	}
	for _, tt := range tests {
		if got := canon(t, tt.in); got != tt.want {
			t.Errorf("Canonical(%q)\n got %s\nwant %s", tt.in, got, tt.want)
		}
		// The canonical form is a fixed point.
		if got := canon(t, tt.want); got != tt.want {
			t.Errorf("Canonical(%q) = %q, not a fixed point", tt.want, got)
		}
	}
}

// TestMultiValuedRDN reads the subjects of two certificates with
// multi-valued RDNs as real proxies logged them: one issued by Go's x509
// package with two OUs (Go puts values of one type into one RDN), one made
// by openssl req -multivalue-rdn -subj
// "/C=US/O=Example Corp/OU=Services+OU=Batch/CN=svc-batch-02+UID=batch2".
// The strings are verbatim output of OpenSSL 3.0 (openssl x509 -nameopt
// RFC2253 / compat), nginx 1.22 ($ssl_client_s_dn, $ssl_client_s_dn_legacy)
// and HAProxy 2.6 (%[ssl_c_s_dn(,0,rfc2253)]), and Go's pkix.Name.String.
// Every form that tells the RDNs apart gives one canonical subject.
func TestMultiValuedRDN(t *testing.T) {
	for _, tc := range []struct {
		want  string
		forms []string
	}{
		{"CN=svc-batch-01,OU=Batch+OU=Services,O=Example Corp,C=US", []string{
			"CN=svc-batch-01,OU=Services+OU=Batch,O=Example Corp,C=US", // OpenSSL RFC 2253, nginx, HAProxy rfc2253
			"CN=svc-batch-01,OU=Batch+OU=Services,O=Example Corp,C=US", // Go, DER order inside the RDN
		}},
		{"CN=svc-batch-02+UID=batch2,OU=Batch+OU=Services,O=Example Corp,C=US", []string{
			"UID=batch2+CN=svc-batch-02,OU=Services+OU=Batch,O=Example Corp,C=US",
		}},
		// X509_NAME_oneline (nginx legacy): the '+' cannot be told from
		// one inside a value, so the entry is one attribute, as written.
		{`CN=svc-batch-01,OU=Batch\+OU=Services,O=Example Corp,C=US`, []string{
			"/C=US/O=Example Corp/OU=Batch+OU=Services/CN=svc-batch-01",
		}},
		{`CN=svc-batch-02\+UID=batch2,OU=Batch\+OU=Services,O=Example Corp,C=US`, []string{
			"/C=US/O=Example Corp/OU=Batch+OU=Services/CN=svc-batch-02+UID=batch2",
		}},
	} {
		for _, f := range tc.forms {
			if got := canon(t, f); got != tc.want {
				t.Errorf("Canonical(%q)\n got %s\nwant %s", f, got, tc.want)
			}
		}
	}
	// HAProxy's default DN form starts every attribute with '/', inside an
	// RDN too: the RDNs cannot be told apart, and the subject differs.
	const haproxy = "/C=US/O=Example Corp/OU=Batch/OU=Services/CN=svc-batch-01"
	if got := canon(t, haproxy); got != "CN=svc-batch-01,OU=Services,OU=Batch,O=Example Corp,C=US" {
		t.Errorf("Canonical(%q) = %s", haproxy, got)
	}
}

// TestOnelinePlusKeepsNamesApart: HAProxy's default %[ssl_c_s_dn] and
// OpenSSL 1.1's X509_NAME_oneline (nginx $ssl_client_s_dn_legacy) write a
// '+' inside a value raw, so a oneline '+' never splits nor reorders an
// entry: distinct subjects keep distinct canonical names.
func TestOnelinePlusKeepsNamesApart(t *testing.T) {
	for _, pair := range [][2]string{
		{"/O=Example/CN=admin+CN=x", "/O=Example/CN=x+CN=admin"},
		{"/O=Example/OU=a+OU=b/CN=x", "/O=Example/OU=b+OU=a/CN=x"},
		{"/CN=svc+UID=b", "/UID=b/CN=svc"},
		{"/CN=a+CN=b", "CN=a+CN=b"},
	} {
		a, b := canon(t, pair[0]), canon(t, pair[1])
		if a == b {
			t.Errorf("%q and %q both canonicalise to %q", pair[0], pair[1], a)
		}
	}
}

// TestOnelineEscapesKeepNamesApart: OpenSSL 3's X509_NAME_oneline (nginx
// $ssl_client_s_dn_legacy) writes a multi-valued RDN {CN=admin, CN=x} as
// /CN=admin+CN=x and a single CN "admin+CN=x" as /CN=admin\+CN=x; raw
// writers (HAProxy, OpenSSL 1.1) write a CN `admin\+CN=x`, backslash in
// the value, as /CN=admin\+CN=x. Two oneline names that differ (other
// than in the \xHH escape of a byte outside printable ASCII) never get
// one canonical name.
func TestOnelineEscapesKeepNamesApart(t *testing.T) {
	names := []string{
		`/O=Example/CN=admin+CN=x`,
		`/O=Example/CN=admin\+CN=x`,
		`/O=Example/CN=admin\\+CN=x`,
		`/O=Example/CN=a/b`,
		`/O=Example/CN=a\/b`,
		`/O=Example/CN=A`,
		`/O=Example/CN=\x41`,
		`/O=Example/CN=\\x41`,
		`/O=Example/CN=a\`,
		`/O=Example/CN=a\\`,
	}
	seen := map[string]string{}
	for _, n := range names {
		c := canon(t, n)
		if other, ok := seen[c]; ok {
			t.Errorf("%q and %q both canonicalise to %q", other, n, c)
		}
		seen[c] = n
	}
	// OpenSSL 3's escaped '+' is kept, backslash and all: such a value's
	// oneline canonical form differs from its RFC 2253 one.
	const legacy = `/C=US/ST=California/O=Example, Inc/OU=Eng\+R&D/CN=Jos\xC3\xA9 "JD" Doe;<x>`
	if got, want := canon(t, legacy), strings.Replace(wantJose, `OU=Eng\+R&D`, `OU=Eng\\\+R&D`, 1); got != want {
		t.Errorf("Canonical(%q)\n got %s\nwant %s", legacy, got, want)
	}
}

func TestGoEmailAttribute(t *testing.T) {
	oidEmail := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	s := goSubject(t, pkix.AttributeTypeAndValue{Type: oidEmail, Value: "jane@example.com"})
	// Go places attributes it has no field for last in the string.
	want := wantJose + ",emailAddress=jane@example.com"
	if got := canon(t, s); got != want {
		t.Errorf("Canonical(%q)\n got %s\nwant %s", s, got, want)
	}
}

func TestCanonicalErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		err    error
	}{
		{"CN", 0, errNoEquals},
		{"CN=a,O", 5, errNoEquals},
		{"CN=a,", 4, errTrailingSep},
		{"CN=a+", 4, errTrailingSep},
		{"=a", 0, errEmptyType},
		{"C N=a", 0, errBadType},
		{`CN=a\`, 4, errTrailingEscape},
		{"CN=#abc", 4, errBadHexValue},
		{"CN=#zz", 4, errBadHexValue},
		{"CN=#", 4, errBadHexValue},
		{"/CN", 0, errNoEquals},
		{"/=x", 0, errNoEquals},
	}
	for _, tt := range tests {
		out, err := Canonical([]byte("keep"), []byte(tt.in))
		var de *Error
		if !errors.As(err, &de) {
			t.Errorf("Canonical(%q) error = %v, want *Error", tt.in, err)
			continue
		}
		if de.Offset != tt.offset || !errors.Is(err, tt.err) {
			t.Errorf("Canonical(%q) error = %v, want offset %d: %v", tt.in, err, tt.offset, tt.err)
		}
		if string(out) != "keep" {
			t.Errorf("Canonical(%q) on error returned %q, want dst unchanged", tt.in, out)
		}
	}
}

func TestCanonicalAppends(t *testing.T) {
	out, err := Canonical([]byte("subject="), []byte("/C=US/CN=x"))
	if err != nil || string(out) != "subject=CN=x,C=US" {
		t.Fatalf("got %q, %v", out, err)
	}
}

func TestCanonicalAllocs(t *testing.T) {
	inputs := []string{
		`CN=Jos\C3\A9 \"JD\" Doe\;\<x\>,OU=Eng\+R&D,O=Example\, Inc,ST=California,C=US`,
		`/C=US/ST=California/O=Example, Inc/OU=Eng\+R&D/CN=Jos\xC3\xA9 "JD" Doe;<x>`,
		"1.2.840.113549.1.9.1=#16106a616e65406578616d706c652e636f6d,CN=Jane",
		"UID=batch2+CN=svc-batch-02,OU=Services+OU=Batch,O=Example Corp,C=US",
		"/C=US/O=Example Corp/OU=Services+OU=Batch/CN=svc-batch-02+UID=batch2",
	}
	dst := make([]byte, 0, 1024)
	for _, in := range inputs {
		src := []byte(in)
		n := testing.AllocsPerRun(100, func() {
			var err error
			if _, err = Canonical(dst[:0], src); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("Canonical(%q): %v allocations, want 0", in, n)
		}
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{
		wantJose,
		`CN=Jos\C3\A9 \"JD\" Doe\;\<x\>,OU=Eng\+R&D,O=Example\, Inc,ST=California,C=US`,
		`/C=US/ST=California/O=Example, Inc/OU=Eng\+R&D/CN=Jos\xC3\xA9 "JD" Doe;<x>`,
		"1.2.840.113549.1.9.1=#16106a616e65406578616d706c652e636f6d,CN=Jane",
		"CN=#1e0600e400f600fc", `/O=A\/B=C \ d, e/CN=x=y`, "CN=a+UID=b,O=c", `CN=\ padded\ `,
		"UID=b+CN=a,OU=b\\+c+OU=a", "/O=x/OU=b+OU=a/CN=y+UID=z",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonical(nil, in)
		if err != nil {
			return
		}
		again, err := Canonical(nil, out)
		if err != nil {
			t.Fatalf("Canonical(%q) = %q, which does not parse: %v", in, out, err)
		}
		if string(again) != string(out) {
			t.Fatalf("Canonical(%q) = %q, but Canonical of that = %q", in, out, again)
		}
	})
}

func BenchmarkCanonical(b *testing.B) {
	for _, bc := range []struct{ name, dn string }{
		{"rfc2253-plain", "CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"},
		{"rfc2253-escaped", `CN=Jos\C3\A9 \"JD\" Doe\;\<x\>,OU=Eng\+R&D,O=Example\, Inc,ST=California,C=US`},
		{"oneline", "/C=US/O=Example Corp/OU=Batch/CN=svc-batch-01"},
		{"rfc2253-multi-valued", "UID=batch2+CN=svc-batch-02,OU=Services+OU=Batch,O=Example Corp,C=US"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			src := []byte(bc.dn)
			dst := make([]byte, 0, 256)
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				dst, err = Canonical(dst[:0], src)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
