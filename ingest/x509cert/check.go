package x509cert

import "github.com/spraywatch/spraywatch/event"

// Checked reports whether a Checker checks values of f: the fingerprints,
// the serial and the DNs, the identity values a Normalizer can reject.
func Checked(f event.Field) bool {
	switch f {
	case event.TLSSHA1, event.TLSSHA256, event.TLSSerial, event.TLSSubject, event.TLSIssuer:
		return true
	}
	return false
}

// A Checker checks identity values as a Normalizer canonicalizes them,
// without keeping their canonical forms: a parser that skims a line must
// reject exactly what its full parse rejects. It remembers the last valid
// value of each field, since a client certificate's values appear on many
// lines in a row. The zero Checker is ready to use; it is not safe for
// concurrent use.
type Checker struct {
	buf    []byte                  // scratch space for fingerprints and serials
	lastOK [event.NumFields][]byte // the last value of each field found valid
}

// Check returns the error the Normalizer would return for v as the value
// of f: Fingerprint's for the SHA-1 and SHA-256 fields, Serial's for the
// serial, DN's for the subject and issuer. DNs are checked with n, whose
// memory of them it shares. Values of fields not Checked are accepted,
// and so is an empty value, which parsers take as unset.
func (c *Checker) Check(n *Normalizer, f event.Field, v []byte) error {
	if !Checked(f) || string(v) == string(c.lastOK[f]) {
		return nil
	}
	var err error
	switch f {
	case event.TLSSHA1, event.TLSSHA256:
		c.buf, err = AppendFingerprint(c.buf[:0], v)
	case event.TLSSerial:
		c.buf, err = AppendSerial(c.buf[:0], v)
	default:
		_, err = n.DN(v)
	}
	if err != nil {
		return err
	}
	c.lastOK[f] = append(c.lastOK[f][:0], v...)
	return nil
}
