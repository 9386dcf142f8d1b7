package envoy

import (
	"fmt"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/jsonscan"
	"github.com/spraywatch/spraywatch/ingest/x509cert"
)

// span is where a value was in the line.
type span struct{ off, end int }

// deferred is a JSON member a skim read before asking want: its value is in
// parser.dbuf.
type deferred struct {
	key, val span
	it       *jsonItem
}

// decides reports whether a skim reads op's value as Parse does: the time
// and the fields that tell what the line is.
func decides(op operator) bool {
	switch op.act {
	case actSkip, actTime, actPath:
		return true
	case actField:
		return op.field == event.RequestID || op.field == event.Method
	}
	return false
}

// givesRequest reports whether op gives the method or the path.
func givesRequest(op operator) bool {
	return op.act == actPath || op.act == actField && op.field == event.Method
}

// prepareSkim works out, once the format is compiled, how a parser skims
// its lines.
func (f *Format) prepareSkim() {
	f.skimmable = true
	f.decide = -1
	check := func(op operator) {
		if op.act == actCert || op.act == actXFCC {
			f.skimmable = false
		}
	}
	if f.text != nil {
		// After the last method or path: a later one would change the
		// record want was asked about.
		for i, op := range f.text.ops {
			check(op)
			if givesRequest(op) {
				f.decide = i
			}
		}
		return
	}
	// A JSON line is asked about once every key giving the method or path
	// was read, in whatever order the line holds them (see jsonItem.once).
	n := 0
	for i := range f.index.items {
		it, k := &f.index.items[i], f.index.names[i]
		keep, request := false, false
		if it.text != nil {
			keep = true // its literals are checked
			for _, op := range it.text.ops {
				check(op)
				request = request || givesRequest(op)
			}
		} else {
			check(it.op)
			request = givesRequest(it.op)
			keep = it.op.act != actSkip && (decides(it.op) || it.op.act == actField && x509cert.Checked(it.op.field))
		}
		if request {
			if n < 64 {
				it.once = 1 << n
				f.requestKeys |= it.once
			} else {
				f.skimmable = false // no bit left to tell a key read twice
			}
			n++
		}
		if keep {
			f.skimOnly.Add(k)
		}
	}
}

// Skim reads one line's time, request id, method and path into r, and asks
// want, as soon as it has the method and path, whether to read the rest in
// full. Otherwise it checks the other values as Parse does, so that it
// accepts exactly the lines Parse accepts, but keeps none of them: no
// canonical fingerprints, serials or names, no copies. A format holding
// %DOWNSTREAM_PEER_CERT% or an x-forwarded-client-cert header, whose checks
// are the full parse, is read in full.
func (p *parser) Skim(line []byte, r *event.Record, want func(*event.Record) bool) (bool, error) {
	if !p.f.skimmable {
		return true, p.Parse(line, r)
	}
	return p.sk.Skim(line, r, want, p.parse, p)
}

// NewParser returns another parser of the same format.
func (p *parser) NewParser() ingest.Parser { return p.f.NewParser() }

var _ ingest.Skimmer = (*parser)(nil)

// checkField checks a value that a skim does not keep as setField would.
func (p *parser) checkField(op operator, v []byte) error {
	if err := p.certs.Check(&p.norm, op.field, v); err != nil {
		return fmt.Errorf("%s: %w", op.name, err)
	}
	return nil
}

// decideText asks want, once the operators up to i are read, whether to
// read the line in full, and if so reads in full the operators skimmed so
// far.
func (p *parser) decideText(line []byte, i int) error {
	if !p.sk.Ask(p.r) {
		return nil
	}
	for j, op := range p.f.text.ops[:i] {
		if decides(op) {
			continue
		}
		sp := p.spans[j]
		if err := p.apply(op, line[sp.off:sp.end], false); err != nil {
			return &ingest.SyntaxError{Column: sp.off + 1, Msg: err.Error()}
		}
	}
	return nil
}

// skimMember reads a JSON member before want is asked: it reads the
// deciding values, checks the others and keeps them aside in case want
// asks for the line in full; once every key giving the method or path
// was read it asks.
func (p *parser) skimMember(key []byte, it *jsonItem, val []byte, kind jsonscan.Kind) error {
	if kind != jsonscan.Null {
		if err := p.item(key, it, val); err != nil {
			return err
		}
	}
	if kind != jsonscan.Null && (it.text != nil || !decides(it.op)) {
		k := len(p.dbuf)
		p.dbuf = append(p.dbuf, key...)
		v := len(p.dbuf)
		p.dbuf = append(p.dbuf, val...)
		p.defers = append(p.defers, deferred{key: span{k, v}, val: span{v, len(p.dbuf)}, it: it})
	}
	if p.f.requestKeys == 0 || p.once != p.f.requestKeys {
		return nil
	}
	if !p.sk.Ask(p.r) {
		p.sc.Only = &p.f.skimOnly
		return nil
	}
	// A value mixing text and operators may hold deciding operators too,
	// which were read in order already.
	r := p.r
	t, id, m, path := r.Time, r.Values[event.RequestID], r.Values[event.Method], r.Values[event.URLPath]
	for _, d := range p.defers {
		if err := p.item(p.dbuf[d.key.off:d.key.end], d.it, p.dbuf[d.val.off:d.val.end]); err != nil {
			return err
		}
	}
	r.Time, r.Values[event.RequestID], r.Values[event.Method], r.Values[event.URLPath] = t, id, m, path
	return nil
}
