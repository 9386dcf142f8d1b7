package x509cert

import "github.com/spraywatch/spraywatch/ingest/dn"

// Bounds of a Normalizer's memory of DNs: how many it remembers before it
// starts afresh, how many bytes of them, and the longest one it remembers.
const (
	maxMemo      = 4096
	maxMemoBytes = 1 << 20
	maxMemoDN    = 1024
)

// A Normalizer turns identity values as proxies log them into their
// canonical form, into scratch space reused from one line to the next. It
// remembers the canonical form of recently seen DNs, since a client
// certificate's DN repeats on many lines. Not safe for concurrent use.
type Normalizer struct {
	buf      []byte
	dns      map[string][]byte
	dnsBytes int
}

// Reset starts a new line: values returned before are no longer valid.
func (n *Normalizer) Reset() { n.buf = n.buf[:0] }

// Copy returns a copy of v in the scratch space.
func (n *Normalizer) Copy(v []byte) []byte {
	s := len(n.buf)
	n.buf = append(n.buf, v...)
	return n.buf[s:len(n.buf):len(n.buf)]
}

// Fingerprint returns the canonical form of a hex fingerprint (see
// AppendFingerprint).
func (n *Normalizer) Fingerprint(v []byte) ([]byte, error) {
	canonical := len(v) > 0
	for _, c := range v {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			canonical = false
			break
		}
	}
	if canonical {
		return n.Copy(v), nil
	}
	s := len(n.buf)
	var err error
	n.buf, err = AppendFingerprint(n.buf, v)
	if err != nil {
		n.buf = n.buf[:s]
		return nil, err
	}
	return n.buf[s:len(n.buf):len(n.buf)], nil
}

// Serial returns the canonical form of a hex serial (see AppendSerial).
func (n *Normalizer) Serial(v []byte) ([]byte, error) {
	s := len(n.buf)
	var err error
	n.buf, err = AppendSerial(n.buf, v)
	if err != nil {
		n.buf = n.buf[:s]
		return nil, err
	}
	return n.buf[s:len(n.buf):len(n.buf)], nil
}

// DN returns the canonical form of a distinguished name (see dn.Canonical).
func (n *Normalizer) DN(v []byte) ([]byte, error) {
	if c, ok := n.dns[string(v)]; ok {
		return c, nil
	}
	if len(v) > maxMemoDN {
		s := len(n.buf)
		var err error
		n.buf, err = dn.Canonical(n.buf, v)
		if err != nil {
			n.buf = n.buf[:s]
			return nil, err
		}
		return n.buf[s:len(n.buf):len(n.buf)], nil
	}
	c, err := dn.Canonical(nil, v)
	if err != nil {
		return nil, err
	}
	if n.dns == nil || len(n.dns) >= maxMemo || n.dnsBytes >= maxMemoBytes {
		n.dns = make(map[string][]byte)
		n.dnsBytes = 0
	}
	n.dns[string(v)] = c
	n.dnsBytes += len(v) + len(c)
	return c, nil
}

// Mark returns the current end of the scratch space, for Since.
func (n *Normalizer) Mark() int { return len(n.buf) }

// Append appends v to the scratch space; see Since.
func (n *Normalizer) Append(v ...byte) { n.buf = append(n.buf, v...) }

// Since returns what was appended to the scratch space after mark.
func (n *Normalizer) Since(mark int) []byte { return n.buf[mark:len(n.buf):len(n.buf)] }
