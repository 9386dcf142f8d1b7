// Package x509cert reads client certificates that proxies log or forward
// whole: URL-escaped PEM (nginx $ssl_client_escaped_cert, Envoy
// %DOWNSTREAM_PEER_CERT%, the Cert= key of x-forwarded-client-cert), plain
// PEM, or base64 DER without PEM armour (Traefik's
// X-Forwarded-Tls-Client-Cert). It turns them into the canonical identity
// values every spraywatch parser uses: lowercase hex fingerprints without
// colons, uppercase hex serials without leading zeros, and DNs in the form of
// package dn.
package x509cert

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/maphash"
	"math/big"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest/dn"
)

// Info is what spraywatch keeps of a certificate. Its values are canonical:
// the same certificate gives the same Info whichever proxy logged it.
type Info struct {
	Subject   string // canonical subject DN (package dn)
	Issuer    string // canonical issuer DN (package dn)
	Serial    string // uppercase hex, no colons, no leading zeros ("0" for zero)
	SHA1      string // lowercase hex SHA-1 of the DER encoding
	SHA256    string // lowercase hex SHA-256 of the DER encoding
	URISANs   []string
	DNSSANs   []string
	NotBefore time.Time
	NotAfter  time.Time

	// GoSubject is the canonical form of the subject as Go's
	// pkix.Name.String renders it, which Traefik logs as TLSClientSubject:
	// Go reorders the attributes, merges those of one type into one RDN
	// and keeps only the last CN and serialNumber. Empty when Go's
	// rendering does not parse.
	GoSubject string

	// byte views of the strings above, so that Fill does not allocate.
	subject, issuer, serial, sha1, sha256, uri []byte
}

// Fill sets the record's TLS identity fields that are still empty from the
// certificate: subject, issuer, SHA-1, SHA-256, serial and the first URI SAN.
// The values alias i, which must outlive the record's use.
func (i *Info) Fill(r *event.Record) {
	fill := func(f event.Field, v []byte) {
		if len(r.Values[f]) == 0 && len(v) > 0 {
			r.Values[f] = v
		}
	}
	fill(event.TLSSubject, i.subject)
	fill(event.TLSIssuer, i.issuer)
	fill(event.TLSSHA1, i.sha1)
	fill(event.TLSSHA256, i.sha256)
	fill(event.TLSSerial, i.serial)
	fill(event.TLSURISAN, i.uri)
}

// ErrNoCertificate reports a value that holds no certificate at all (empty,
// "-", or PEM without a CERTIFICATE block).
var ErrNoCertificate = errors.New("no certificate")

// Parse decodes and parses one certificate, without caching. raw may be
// URL-escaped PEM, PEM, or base64 DER with or without PEM armour; when it
// holds several certificates (a chain, or Traefik's comma-separated list) the
// first one, the client's own, is read.
func Parse(raw []byte) (*Info, error) {
	der, err := Decode(raw)
	if err != nil {
		return nil, err
	}
	return ParseDER(der)
}

// Decode returns the DER bytes of the first certificate in raw (see Parse).
func Decode(raw []byte) ([]byte, error) {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 || (len(b) == 1 && b[0] == '-') {
		return nil, ErrNoCertificate
	}
	if bytes.IndexByte(b, '%') >= 0 {
		u, err := unescape(b)
		if err != nil {
			return nil, fmt.Errorf("decoding certificate: %w", err)
		}
		b = u
	}
	if bytes.Contains(b, []byte("-----BEGIN")) {
		rest := b
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				return nil, fmt.Errorf("decoding certificate: %w", ErrNoCertificate)
			}
			if blk.Type == "CERTIFICATE" {
				return blk.Bytes, nil
			}
		}
	}
	// Base64 DER without armour; several certificates are comma-separated.
	if i := bytes.IndexByte(b, ','); i >= 0 {
		b = b[:i]
	}
	clean := make([]byte, 0, len(b))
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			clean = append(clean, c)
		}
	}
	der := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(der, clean)
	if err != nil {
		// Some writers drop the padding.
		raw := bytes.TrimRight(clean, "=")
		der = make([]byte, base64.RawStdEncoding.DecodedLen(len(raw)))
		n, err = base64.RawStdEncoding.Decode(der, raw)
		if err != nil {
			return nil, fmt.Errorf("decoding certificate: not PEM or base64 DER: %w", err)
		}
	}
	return der[:n], nil
}

// unescape decodes %XX sequences; unlike query unescaping it leaves '+'
// alone, since base64 uses it.
func unescape(b []byte) ([]byte, error) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '%' {
			out = append(out, c)
			continue
		}
		if i+2 >= len(b) {
			return nil, fmt.Errorf("truncated escape at byte %d", i+1)
		}
		h, l := unhex(b[i+1]), unhex(b[i+2])
		if h < 0 || l < 0 {
			return nil, fmt.Errorf("bad escape %q at byte %d", b[i:i+3], i+1)
		}
		out = append(out, byte(h<<4|l))
		i += 2
	}
	return out, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// ParseDER parses a DER-encoded certificate.
func ParseDER(der []byte) (*Info, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing certificate: %w", err)
	}
	subj, err := canonicalName(c.RawSubject)
	if err != nil {
		return nil, fmt.Errorf("parsing certificate subject: %w", err)
	}
	iss, err := canonicalName(c.RawIssuer)
	if err != nil {
		return nil, fmt.Errorf("parsing certificate issuer: %w", err)
	}
	goSubj, err := dn.Canonical(nil, []byte(c.Subject.String()))
	if err != nil {
		goSubj = nil
	}
	s1 := sha1.Sum(c.Raw)
	s256 := sha256.Sum256(c.Raw)
	i := &Info{
		Subject:   subj,
		GoSubject: string(goSubj),
		Issuer:    iss,
		Serial:    SerialHex(c.SerialNumber),
		SHA1:      hex.EncodeToString(s1[:]),
		SHA256:    hex.EncodeToString(s256[:]),
		DNSSANs:   c.DNSNames,
		NotBefore: c.NotBefore,
		NotAfter:  c.NotAfter,
	}
	for _, u := range c.URIs {
		i.URISANs = append(i.URISANs, u.String())
	}
	i.subject = []byte(i.Subject)
	i.issuer = []byte(i.Issuer)
	i.serial = []byte(i.Serial)
	i.sha1 = []byte(i.SHA1)
	i.sha256 = []byte(i.SHA256)
	if len(i.URISANs) > 0 {
		i.uri = []byte(i.URISANs[0])
	}
	return i, nil
}

// SerialHex formats a serial number the canonical way: uppercase hex, no
// leading zeros. Negative serials (which RFC 5280 forbids but exist) keep
// their sign.
func SerialHex(n *big.Int) string {
	if n == nil {
		return ""
	}
	return strings.ToUpper(n.Text(16))
}

// canonicalName renders a DER-encoded Name in RFC 4514 form, in the order of
// the certificate, then hands it to package dn for the canonical form. Go
// writes the attributes of a multi-valued RDN in DER order where OpenSSL
// reverses them; dn sorts them, so both give one canonical name.
func canonicalName(raw []byte) (string, error) {
	var seq pkix.RDNSequence
	rest, err := asn1.Unmarshal(raw, &seq)
	if err != nil {
		return "", err
	}
	if len(rest) > 0 {
		return "", errors.New("trailing data after name")
	}
	s := seq.String()
	out, err := dn.Canonical(nil, []byte(s))
	if err != nil {
		return "", fmt.Errorf("canonical form of %q: %w", s, err)
	}
	return string(out), nil
}

// Cache parses certificates once: a certificate carried on thousands of lines
// costs one hash and one comparison per line after the first. It is safe for
// concurrent use. Failures are cached too, so a broken value costs the same.
type Cache struct {
	seed maphash.Seed
	lru  *lru.Cache[uint64, *entry]
}

type entry struct {
	raw  string
	info *Info
	err  error
}

// NewCache returns a cache holding at most size certificates (size <= 0
// means 4096).
func NewCache(size int) *Cache {
	if size <= 0 {
		size = 4096
	}
	l, err := lru.New[uint64, *entry](size)
	if err != nil { // only for size <= 0, excluded above
		panic(err)
	}
	return &Cache{seed: maphash.MakeSeed(), lru: l}
}

// MaxCachedBytes is the longest value a Cache keeps; longer ones (no client
// certificate is this large) are parsed each time, so that the cache's memory
// stays bounded whatever the input.
const MaxCachedBytes = 16 << 10

// Parse returns the certificate in raw (see the package function Parse),
// parsing it only the first time it is seen.
func (c *Cache) Parse(raw []byte) (*Info, error) {
	if len(raw) > MaxCachedBytes {
		return Parse(raw)
	}
	k := maphash.Bytes(c.seed, raw)
	if e, ok := c.lru.Get(k); ok && e.raw == string(raw) {
		return e.info, e.err
	}
	info, err := Parse(raw)
	c.lru.Add(k, &entry{raw: string(raw), info: info, err: err})
	return info, err
}

// Len returns the number of cached certificates.
func (c *Cache) Len() int { return c.lru.Len() }
