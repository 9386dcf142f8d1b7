package detect

import (
	"encoding/binary"
	"unsafe"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
)

// certIdentity is the certificate identity a group reports: the subject,
// issuer, SHA-1 and SHA-256 fingerprints and serial number of the first
// event of the group that had one, in one string of its own made in one
// allocation. It starts with the five values' lengths as uvarints, then
// the values in that order. Unlike an *alert.Identity it holds no pointer
// the garbage collector must follow but its bytes'; alerts decode it.
// The zero value is no identity.
type certIdentity string

// identityFields are the fields of a certIdentity, in its order.
var identityFields = [...]event.Field{event.TLSSubject, event.TLSIssuer, event.TLSSHA1, event.TLSSHA256, event.TLSSerial}

// hasIdentity reports whether ev names a certificate a group can report.
func hasIdentity(ev *event.Event) bool {
	return ev.Values[event.TLSSHA1] != "" || ev.Values[event.TLSSHA256] != "" || ev.Values[event.TLSSubject] != ""
}

// makeCertIdentity returns ev's certificate identity.
func makeCertIdentity(ev *event.Event) certIdentity {
	b := appendCertIdentity(make([]byte, 0, certIdentitySize(ev)), ev)
	// b is not written again: it can be the string's bytes.
	return certIdentity(unsafe.String(unsafe.SliceData(b), len(b)))
}

// certIdentitySize returns the length of ev's certIdentity.
func certIdentitySize(ev *event.Event) int {
	n := 0
	for _, f := range identityFields {
		l := len(ev.Values[f])
		n += uvarintSize(l) + l
	}
	return n
}

// appendCertIdentity appends ev's certIdentity to b.
func appendCertIdentity(b []byte, ev *event.Event) []byte {
	for _, f := range identityFields {
		b = binary.AppendUvarint(b, uint64(len(ev.Values[f])))
	}
	for _, f := range identityFields {
		b = append(b, ev.Values[f]...)
	}
	return b
}

// identity returns c as an alert's identity: nil for none.
func (c certIdentity) identity() *alert.Identity {
	if c == "" {
		return nil
	}
	var lens [len(identityFields)]int
	i := 0
	for k := range lens {
		var x, shift uint
		for ; i < len(c); i++ {
			b := c[i]
			x |= uint(b&0x7f) << shift
			shift += 7
			if b < 0x80 {
				i++
				break
			}
		}
		lens[k] = int(x)
	}
	var v [len(identityFields)]string
	for k, l := range lens {
		v[k] = string(c[i : i+l])
		i += l
	}
	return &alert.Identity{Subject: v[0], Issuer: v[1], SHA1: v[2], SHA256: v[3], Serial: v[4]}
}

func uvarintSize(l int) int {
	n := 1
	for ; l >= 0x80; l >>= 7 {
		n++
	}
	return n
}
