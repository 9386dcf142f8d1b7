package traefik

import (
	"fmt"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/jsonscan"
)

// Deciding members read so far, as bits of parser.seen.
const (
	seenMethod uint8 = 1 << iota
	seenPath
	seenBoth = seenMethod | seenPath
)

// seenBit returns the bit of parser.seen that a slot sets.
func seenBit(s slot) uint8 {
	switch s {
	case slotMethod:
		return seenMethod
	case slotPath:
		return seenPath
	}
	return 0
}

// deferred is a member a skim read before asking want, whose value (in
// parser.dbuf) it does not keep.
type deferred struct {
	s        slot
	off, end int
}

// dropped reports whether a skim leaves out a slot's value: nothing in it
// can make Parse reject a line (certificate headers that do not parse are
// ignored, not rejected).
func dropped(s slot) bool {
	switch s {
	case slotIP, slotPort, slotAddr, slotStatus, slotBytes, slotUA, slotCert, slotCertInfo:
		return true
	}
	return false
}

// Skim reads one line's time, request id, method and path into r, and asks
// want, as soon as it has the method and path, whether to read the rest in
// full. Otherwise it checks the line as Parse does, so that it accepts
// exactly the lines Parse accepts, but leaves out the client address,
// status, size and user agent once want has said no.
func (p *parser) Skim(line []byte, r *event.Record, want func(*event.Record) bool) (bool, error) {
	return p.sk.Skim(line, r, want, p.parse, p)
}

// NewParser returns another parser of the same format.
func (p *parser) NewParser() ingest.Parser { return p.f.NewParser() }

var _ ingest.Skimmer = (*parser)(nil)

// skimMember reads a member while skimming: the values that decide or that
// the end of the line checks as Parse does, the others aside until want is
// asked, which is as soon as the method and path are read.
func (p *parser) skimMember(s slot, val []byte, kind jsonscan.Kind) error {
	if kind != jsonscan.Null && !isUnset(val) {
		switch {
		case !dropped(s):
			p.set(s, val)
		case p.sk.Asking():
			off := len(p.dbuf)
			p.dbuf = append(p.dbuf, val...)
			p.defers = append(p.defers, deferred{s: s, off: off, end: len(p.dbuf)})
		}
	}
	if !p.sk.Asking() || p.seen != seenBoth {
		return nil
	}
	if !p.sk.Ask(p.r) {
		p.sc.Only = &p.f.skimKeys
		return nil
	}
	for _, d := range p.defers {
		p.set(d.s, p.dbuf[d.off:d.end])
	}
	return nil
}

// checkFinish checks the end of a skimmed line as finish does: the time,
// which it keeps, and TLSClientSubject. Nothing else finish reads can
// reject a line.
func (p *parser) checkFinish() error {
	if err := p.setTime(); err != nil {
		return err
	}
	if p.subject != nil {
		if err := p.certs.Check(&p.norm, event.TLSSubject, p.subject); err != nil {
			return &ingest.SyntaxError{Msg: fmt.Sprintf("TLSClientSubject: %v", err)}
		}
	}
	return nil
}
