package haproxy

import (
	"bytes"
	"fmt"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/x509cert"
)

// span is where a value was in the line (after the syslog prefix).
type span struct{ off, end int }

// decides reports whether a skim reads its value as Parse does: the time
// and the fields that tell what the line is.
func decides(it item) bool {
	switch it.act {
	case actSkip, actTime, actRequest, actPath:
		return true
	case actField:
		return it.field == event.RequestID || it.field == event.Method
	}
	return false
}

// givesRequest reports whether it gives the method or the path.
func givesRequest(it item) bool {
	return it.act == actRequest || it.act == actPath || it.act == actField && it.field == event.Method
}

// prepareSkim works out, once the format is compiled, how a parser skims
// its lines.
func (f *Format) prepareSkim() {
	f.skimmable, f.decide = true, -1
	for i, it := range f.items {
		f.items[i].deciding = decides(it)
		if it.act == actCert {
			f.skimmable = false
		}
		// After the last method or path: a later one would change the
		// record want was asked about.
		if givesRequest(it) {
			f.decide = i
		}
	}
}

// Skim reads one line's time, request id, method and path into r, and asks
// want, as soon as it has the method and path, whether to read the rest in
// full. Otherwise it checks the other values as Parse does, so that it
// accepts exactly the lines Parse accepts, but keeps none of them: no
// canonical fingerprints, serials or names, no unescaping. A format
// holding the whole certificate (%[ssl_c_der,base64]), whose check is the
// full parse, is read in full.
func (p *parser) Skim(line []byte, r *event.Record, want func(*event.Record) bool) (bool, error) {
	if !p.f.skimmable {
		return true, p.Parse(line, r)
	}
	return p.sk.Skim(line, r, want, p.parse, p)
}

// NewParser returns another parser of the same format.
func (p *parser) NewParser() ingest.Parser { return p.f.NewParser() }

var _ ingest.Skimmer = (*parser)(nil)

// decide asks want, once the items up to i are read, whether to read the
// line in full, and if so reads in full the items skimmed so far. line is
// the line after its syslog prefix of base bytes.
func (p *parser) decide(line []byte, base, i int) error {
	if !p.sk.Ask(p.r) {
		return nil
	}
	for j := range p.f.items[:i] {
		it := &p.f.items[j]
		if it.deciding {
			continue
		}
		sp := p.spans[j]
		if err := p.apply(it, line[sp.off:sp.end]); err != nil {
			return &ingest.SyntaxError{Column: base + sp.off + 1, Msg: fmt.Sprintf("%s: %v", it.name, err)}
		}
	}
	return nil
}

// check checks a value that a skim does not keep as apply would.
func (p *parser) check(it *item, v []byte) error {
	if it.act != actUsed && (it.act != actField || !x509cert.Checked(it.field)) {
		return nil
	}
	if it.hash && bytes.IndexByte(v, '#') >= 0 {
		v = p.unescape(v)
	}
	if it.act == actUsed {
		_, err := usedValue(v)
		return err
	}
	return p.certs.Check(&p.norm, it.field, v)
}
