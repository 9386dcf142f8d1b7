package envelope

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"github.com/spraywatch/spraywatch/ingest"
)

// joins keeps the parts of the split lines of each stream (stdout,
// stderr) until the part that ends them.
type joins struct {
	max    int       // the longest joined line
	reject bool      // parts are rejected, not kept (RejectParts)
	part   [2][]byte // the parts so far
	drop   [2]bool   // the rest of an over-long line: its parts are dropped up to the last
	whole  []byte    // the line last joined

	unjoined *atomic.Int64 // parts dropped unjoined (abandon)
}

// splitKind is what a split line's parts are called.
type splitKind struct {
	parts   string // in errors: "CRI partial lines"
	partial error  // wraps the ingest.ErrIgnore returned for a part kept to be joined
}

var (
	criParts    = &splitKind{"CRI partial lines", fmt.Errorf("CRI partial line: %w", ingest.ErrIgnore)}
	dockerParts = &splitKind{"Docker partial entries", fmt.Errorf("Docker partial entry: %w", ingest.ErrIgnore)}
)

// errDropped is wrapped by the ingest.ErrIgnore returned for the parts of
// a split line that come after it grew over the cap (the line was
// rejected, and counted, once).
var errDropped = fmt.Errorf("rest of a split line over the length cap: %w", ingest.ErrIgnore)

// add takes a part of a line of stream s, which more parts follow (more)
// or which ends the line, and returns the whole line when the part ends
// one: part itself if it is all of it, else the parts joined (in j.whole,
// unless onlyTrack).
func (j *joins) add(s int, more bool, part []byte, onlyTrack bool, k *splitKind) ([]byte, error) {
	kept := len(j.part[s])
	switch {
	case j.drop[s]:
		j.drop[s] = more
		return nil, errDropped
	case more && j.reject:
		return nil, &ingest.SyntaxError{Msg: k.parts + " are not joined in a stream that mixes writers: have the shipper merge them"}
	case (more || kept > 0) && kept+len(part) > j.max:
		j.part[s], j.drop[s] = j.part[s][:0], more
		return nil, &ingest.SyntaxError{Msg: fmt.Sprintf("line joined from %s longer than %d bytes skipped", k.parts, j.max), TooLong: true}
	case more:
		j.part[s] = append(j.part[s], part...)
		return nil, k.partial
	case kept == 0:
		return part, nil
	}
	if !onlyTrack {
		j.whole = append(append(j.whole[:0], j.part[s]...), part...)
	}
	j.part[s] = j.part[s][:0]
	return j.whole, nil
}

// abandon drops the parts kept for stream s, counting them, when a line
// that cannot end them comes: the line they were taken for the head of is
// lost, but no later line is glued to it.
func (j *joins) abandon(s int) {
	if len(j.part[s]) > 0 {
		j.unjoined.Add(1)
	}
	j.part[s], j.drop[s] = j.part[s][:0], false
}

// open reports whether a line is being joined or dropped.
func (j *joins) open() bool {
	return len(j.part[0]) > 0 || len(j.part[1]) > 0 || j.drop[0] || j.drop[1]
}

// appendState appends the parts kept: per stream, a byte (1: dropping the
// rest of a line), the length of the parts as a uvarint, the parts.
func (j *joins) appendState(dst []byte) []byte {
	if !j.open() {
		return dst
	}
	for s := range j.part {
		var d byte
		if j.drop[s] {
			d = 1
		}
		dst = append(dst, d)
		dst = binary.AppendUvarint(dst, uint64(len(j.part[s])))
		dst = append(dst, j.part[s]...)
	}
	return dst
}

// setState makes the parts kept those of state (appendState's).
func (j *joins) setState(state []byte) {
	for s := range j.part {
		j.part[s], j.drop[s] = j.part[s][:0], false
		if len(state) == 0 {
			continue
		}
		j.drop[s] = state[0] == 1
		n, k := binary.Uvarint(state[1:])
		if k <= 0 || uint64(len(state)-1-k) < n {
			panic("envelope: malformed join state")
		}
		state = state[1+k:]
		j.part[s] = append(j.part[s], state[:n]...)
		state = state[n:]
	}
}

// UnjoinedParts returns how many split lines the parser dropped because
// an entry that cannot be one of their parts came next on their stream
// (Docker parts followed by another writer's record).
func (p *Parser) UnjoinedParts() int64 { return p.joins.unjoined.Load() }

// Joins reports whether lines can be split: CRI lines, and Docker
// json-file entries (the key "log").
func (p *Parser) Joins() bool { return p.cri || p.docker }

// SetMaxLineBytes caps the length of a joined line (n <= 0:
// ingest.DefaultMaxLineBytes).
func (p *Parser) SetMaxLineBytes(n int) {
	if n <= 0 {
		n = ingest.DefaultMaxLineBytes
	}
	p.joins.max = n
}

// RejectParts makes the parser reject the parts of a split line that more
// parts follow, for a stream that mixes writers.
func (p *Parser) RejectParts() { p.joins.reject = true }

// SetJoinState replaces the parts kept with those of state.
func (p *Parser) SetJoinState(state []byte) { p.joins.setState(state) }

// AppendJoinState appends the parts kept to dst.
func (p *Parser) AppendJoinState(dst []byte) []byte { return p.joins.appendState(dst) }

// NewJoinTracker returns a tracker of the parser's state.
func (p *Parser) NewJoinTracker() ingest.JoinTracker {
	t := &tracker{p: wrap(nil, string(p.key))}
	t.p.track = true
	t.p.joins.max, t.p.joins.reject = p.joins.max, p.joins.reject
	return t
}

// tracker follows a Parser's parts: it unwraps lines and keeps their
// parts as the parser does, without parsing or joining them.
type tracker struct {
	p *Parser
}

func (t *tracker) Track(line []byte) {
	if t.p.docker && len(line) < DockerSplit && !t.p.joins.open() {
		// Too short to hold a partial entry, and no line to end.
		return
	}
	t.p.unwrap(line)
}

func (t *tracker) AppendState(dst []byte) []byte { return t.p.joins.appendState(dst) }

func (t *tracker) Reset() { t.p.joins.setState(nil) }

var _ ingest.Joiner = (*Parser)(nil)
