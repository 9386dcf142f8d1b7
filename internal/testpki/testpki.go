// Package testpki makes, for tests, a certificate authority with a server
// certificate for 127.0.0.1 and a client certificate, as PEM files.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// ServerName is the DNS name the server certificate holds besides the
// address 127.0.0.1.
const ServerName = "receiver.soc.internal"

// ClientName is the common name of the client certificate.
const ClientName = "spraywatch-client"

// PKI is a CA with a server certificate for 127.0.0.1 and ServerName and a
// client certificate, all valid for an hour either side of now.
type PKI struct {
	Pool   *x509.CertPool  // holds the CA
	Server tls.Certificate // the server's certificate and key
	// CAFile, CertFile and KeyFile are PEM files, in a temporary
	// directory of the test: the CA, the client certificate and its key.
	CAFile, CertFile, KeyFile string
}

// New returns a new PKI; its files are removed when t ends.
func New(t testing.TB) *PKI {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "SOC test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP, dns []string) ([]byte, *ecdsa.PrivateKey) {
		k := newKey()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: ips, DNSNames: dns,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	srvDER, srvKey := issue(2, "receiver", x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)}, []string{ServerName})
	cliDER, cliKey := issue(3, ClientName, x509.ExtKeyUsageClientAuth, nil, nil)
	cliKeyDER, err := x509.MarshalECPrivateKey(cliKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &PKI{
		Pool:     pool,
		Server:   tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey},
		CAFile:   write("ca.pem", "CERTIFICATE", caDER),
		CertFile: write("client.pem", "CERTIFICATE", cliDER),
		KeyFile:  write("client.key", "EC PRIVATE KEY", cliKeyDER),
	}
}
