// Package certtest makes client certificates for tests: a CA and a leaf
// signed by it, with the subject, serial and SANs a test asks for.
package certtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
)

// Options describe the leaf certificate to make.
type Options struct {
	Subject pkix.Name
	Issuer  pkix.Name // the CA's subject
	Serial  *big.Int
	URIs    []string
	DNS     []string
}

// Cert is a generated leaf certificate.
type Cert struct {
	DER  []byte
	PEM  []byte
	Leaf *x509.Certificate
}

// New makes a CA and a leaf certificate signed by it.
func New(t testing.TB, o Options) *Cert {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	na := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               o.Issuer,
		NotBefore:             nb,
		NotAfter:              na,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial := o.Serial
	if serial == nil {
		serial = big.NewInt(0x1234)
	}
	leaf := &x509.Certificate{
		SerialNumber: serial,
		Subject:      o.Subject,
		NotBefore:    nb,
		NotAfter:     na,
		DNSNames:     o.DNS,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, s := range o.URIs {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		leaf.URIs = append(leaf.URIs, u)
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Cert{
		DER:  der,
		PEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Leaf: parsed,
	}
}

// EscapedPEM returns the PEM URL-escaped the way nginx's
// $ssl_client_escaped_cert and Envoy's %DOWNSTREAM_PEER_CERT% write it.
func (c *Cert) EscapedPEM() string {
	return url.PathEscape(string(c.PEM))
}

// CheckIdentity fails t when a record's identity fields are not in canonical
// form: lowercase hex fingerprints, an uppercase hex
// serial without leading zeros (after a '-' for a negative one).
func CheckIdentity(t testing.TB, r *event.Record) {
	t.Helper()
	hexOf := func(f event.Field) {
		v := r.Get(f)
		if len(v) == 0 {
			return
		}
		for _, c := range v {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				t.Fatalf("%v = %q: not lowercase hex", f, v)
			}
		}
	}
	hexOf(event.TLSSHA1)
	hexOf(event.TLSSHA256)
	if v := r.Get(event.TLSSerial); len(v) > 0 {
		if len(v) > 1 && v[0] == '-' {
			v = v[1:]
		}
		if len(v) > 1 && v[0] == '0' {
			t.Fatalf("serial %q has a leading zero", v)
		}
		for _, c := range v {
			if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
				t.Fatalf("serial %q: not uppercase hex", v)
			}
		}
	}
}

// ReadLeaf parses the first PEM certificate of the file at path.
func ReadLeaf(t testing.TB, path string) *x509.Certificate {
	t.Helper()
	p, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(p)
	if blk == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return leaf
}
