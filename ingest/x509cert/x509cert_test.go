package x509cert

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest/dn"
	"github.com/spraywatch/spraywatch/ingest/x509cert/certtest"
)

func canon(t testing.TB, s string) string {
	t.Helper()
	b, err := dn.Canonical(nil, []byte(s))
	if err != nil {
		t.Fatalf("dn.Canonical(%q): %v", s, err)
	}
	return string(b)
}

func testCert(t testing.TB) *certtest.Cert {
	return certtest.New(t, certtest.Options{
		Subject: pkix.Name{Country: []string{"ES"}, Organization: []string{"Example Corp"},
			OrganizationalUnit: []string{"devices"}, CommonName: "José García"},
		Issuer: pkix.Name{Country: []string{"ES"}, Organization: []string{"Example Corp"},
			CommonName: "Example Issuing CA 1"},
		Serial: new(big.Int).SetBytes([]byte{0x00, 0x0a, 0xbc, 0xde, 0xf0}),
		URIs:   []string{"spiffe://example.org/ns/prod/sa/batch"},
		DNS:    []string{"batch.example.org", "www.example.org"},
	})
}

func TestParseEncodings(t *testing.T) {
	c := testCert(t)
	s1 := sha1.Sum(c.DER)
	s256 := sha256.Sum256(c.DER)
	b64 := base64.StdEncoding.EncodeToString(c.DER)
	pemBody := strings.NewReplacer("-----BEGIN CERTIFICATE-----", "", "-----END CERTIFICATE-----", "", "\n", "").Replace(string(c.PEM))
	if pemBody != b64 {
		t.Fatalf("test setup: PEM body differs from base64 DER")
	}
	inputs := map[string]string{
		"pem":                string(c.PEM),
		"url-escaped pem":    c.EscapedPEM(),
		"lowercase escapes":  strings.ToLower(c.EscapedPEM()[:0]) + strings.ReplaceAll(c.EscapedPEM(), "%0A", "%0a"),
		"base64 der":         b64,
		"query-escaped b64":  strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(b64),
		"b64 list":           b64 + "," + b64[:40],
		"unpadded b64":       strings.TrimRight(b64, "="),
		"pem with ws around": "  \n" + string(c.PEM) + "\n ",
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			info, err := Parse([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			want := Info{
				Subject: canon(t, "CN=José García,OU=devices,O=Example Corp,C=ES"),
				Issuer:  canon(t, "CN=Example Issuing CA 1,O=Example Corp,C=ES"),
				Serial:  "ABCDEF0",
				SHA1:    hex.EncodeToString(s1[:]),
				SHA256:  hex.EncodeToString(s256[:]),
			}
			if info.Subject != want.Subject || info.Issuer != want.Issuer || info.Serial != want.Serial ||
				info.SHA1 != want.SHA1 || info.SHA256 != want.SHA256 {
				t.Errorf("got %+v\nwant %+v", *info, want)
			}
			if len(info.URISANs) != 1 || info.URISANs[0] != "spiffe://example.org/ns/prod/sa/batch" {
				t.Errorf("URI SANs = %q", info.URISANs)
			}
			if strings.Join(info.DNSSANs, " ") != "batch.example.org www.example.org" {
				t.Errorf("DNS SANs = %q", info.DNSSANs)
			}
			if !info.NotBefore.Equal(c.Leaf.NotBefore) || !info.NotAfter.Equal(c.Leaf.NotAfter) {
				t.Errorf("validity %v..%v", info.NotBefore, info.NotAfter)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	c := testCert(t)
	for name, in := range map[string]string{
		"empty":          "",
		"dash":           "-",
		"bad escape":     "%ZZ" + c.EscapedPEM(),
		"truncated esc":  c.EscapedPEM() + "%2",
		"not base64":     "this is not a certificate!",
		"garbage der":    base64.StdEncoding.EncodeToString([]byte("0123456789")),
		"key not cert":   "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"truncated cert": base64.StdEncoding.EncodeToString(c.DER[:len(c.DER)/2]),
	} {
		t.Run(name, func(t *testing.T) {
			if info, err := Parse([]byte(in)); err == nil {
				t.Errorf("Parse(%.40q) = %+v, want error", in, info)
			}
		})
	}
	if _, err := Parse([]byte("-")); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("Parse(-) error %v, want ErrNoCertificate", err)
	}
}

func TestSerialHex(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{[]byte{0}, "0"},
		{[]byte{0x00, 0x01}, "1"},
		{[]byte{0xf3, 0x82, 0x8e, 0xb2, 0x4f, 0xd7, 0x79, 0xd0}, "F3828EB24FD779D0"},
		{[]byte{0x00, 0x00, 0xab}, "AB"},
	} {
		if got := SerialHex(new(big.Int).SetBytes(tc.in)); got != tc.want {
			t.Errorf("SerialHex(%x) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFill(t *testing.T) {
	c := testCert(t)
	info, err := Parse(c.PEM)
	if err != nil {
		t.Fatal(err)
	}
	var r event.Record
	r.Set(event.TLSSubject, []byte("CN=from-the-log"))
	info.Fill(&r)
	if got := string(r.Get(event.TLSSubject)); got != "CN=from-the-log" {
		t.Errorf("Fill overwrote subject: %q", got)
	}
	for f, want := range map[event.Field]string{
		event.TLSIssuer: info.Issuer, event.TLSSHA1: info.SHA1, event.TLSSHA256: info.SHA256,
		event.TLSSerial: info.Serial, event.TLSURISAN: "spiffe://example.org/ns/prod/sa/batch",
	} {
		if got := string(r.Get(f)); got != want || got == "" {
			t.Errorf("%v = %q, want %q", f, got, want)
		}
	}
}

func TestCache(t *testing.T) {
	a, b := testCert(t), testCert(t)
	cache := NewCache(1)
	ia, err := cache.Parse(a.PEM)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := cache.Parse(bytes.Clone(a.PEM))
	if again != ia {
		t.Error("second lookup of the same bytes parsed again")
	}
	ib, err := cache.Parse(b.PEM)
	if err != nil || ib.SHA256 == ia.SHA256 {
		t.Fatalf("second cert: %v, %v", ib, err)
	}
	if cache.Len() != 1 {
		t.Errorf("cache holds %d entries, bound is 1", cache.Len())
	}
	_, err1 := cache.Parse([]byte("garbage!"))
	_, err2 := cache.Parse([]byte("garbage!"))
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
		t.Errorf("cached failure: %v then %v", err1, err2)
	}
}

func TestCacheNoAllocs(t *testing.T) {
	c := testCert(t)
	cache := NewCache(16)
	raw := []byte(c.EscapedPEM())
	if _, err := cache.Parse(raw); err != nil {
		t.Fatal(err)
	}
	var r event.Record
	n := testing.AllocsPerRun(100, func() {
		info, err := cache.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		r.Reset()
		info.Fill(&r)
	})
	if n != 0 {
		t.Errorf("cached Parse+Fill allocates %v times per call", n)
	}
}

func BenchmarkCacheHit(b *testing.B) {
	c := testCert(b)
	cache := NewCache(16)
	raw := []byte(c.EscapedPEM())
	var r event.Record
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		info, err := cache.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		r.Reset()
		info.Fill(&r)
	}
}

func BenchmarkParseUncached(b *testing.B) {
	c := testCert(b)
	raw := []byte(c.EscapedPEM())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParse(f *testing.F) {
	c := testCert(f)
	f.Add(c.PEM)
	f.Add([]byte(c.EscapedPEM()))
	f.Add([]byte(base64.StdEncoding.EncodeToString(c.DER)))
	f.Add([]byte("-"))
	f.Add([]byte("%41%4"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	cache := NewCache(8)
	f.Fuzz(func(t *testing.T, raw []byte) {
		i1, err1 := Parse(raw)
		i2, err2 := cache.Parse(raw)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("cache and direct parse disagree: %v vs %v", err1, err2)
		}
		if err1 == nil && (i1.SHA256 != i2.SHA256 || len(i1.SHA256) != 64 || len(i1.SHA1) != 40) {
			t.Fatalf("bad result %+v / %+v", i1, i2)
		}
	})
}

func TestCacheSkipsHugeValues(t *testing.T) {
	cache := NewCache(4)
	huge := bytes.Repeat([]byte("A"), MaxCachedBytes+1)
	if _, err := cache.Parse(huge); err == nil {
		t.Fatal("huge garbage parsed as a certificate")
	}
	if cache.Len() != 0 {
		t.Errorf("cache kept a %d-byte value", len(huge))
	}
}

func TestCacheConcurrent(t *testing.T) {
	certs := []*certtest.Cert{testCert(t), testCert(t), testCert(t)}
	cache := NewCache(2)
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			var err error
			for i := 0; i < 200 && err == nil; i++ {
				c := certs[(g+i)%len(certs)]
				var info *Info
				info, err = cache.Parse(c.PEM)
				if err == nil && info.SHA256 != hex.EncodeToString(func() []byte { s := sha256.Sum256(c.DER); return s[:] }()) {
					err = errors.New("wrong certificate returned")
				}
			}
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if cache.Len() > 2 {
		t.Errorf("cache holds %d, bound 2", cache.Len())
	}
}
