package envelope

import (
	"encoding/binary"
	"fmt"

	"github.com/spraywatch/spraywatch/ingest"
)

// joins keeps the parts of the split lines of each stream (stdout,
// stderr) until the part that ends them.
type joins struct {
	max    int       // the longest joined line
	reject bool      // parts are rejected, not kept (RejectParts)
	part   [2][]byte // the parts so far
	drop   [2]uint8  // dropRest, dropTail: the stream's parts are dropped up to the one that ends a line
	whole  []byte    // the line last joined

	flags *ingest.Flagged // the source's counters (Parser.CountFlags), or nil
}

// What is dropped of a stream's parts, up to the one that ends a line.
const (
	dropNone uint8 = iota
	// dropRest: the rest of a line that grew over the cap, rejected once.
	dropRest
	// dropTail: the rest of a line whose head was rejected, skipped or
	// dropped unjoined. The part that ends it is rejected, not parsed: its
	// first bytes are wherever the writer split the line, which may be
	// client text, and would read as a line of their own.
	dropTail
)

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

// errHeadless is wrapped by the ingest.ErrIgnore returned for the parts
// of a split line whose head was dropped, but the last (see dropTail).
var errHeadless = fmt.Errorf("part of a split line whose head was dropped: %w", ingest.ErrIgnore)

// add takes a part of a line of stream s, which more parts follow (more)
// or which ends the line, and returns the whole line when the part ends
// one: part itself if it is all of it, else the parts joined (in j.whole,
// unless onlyTrack).
func (j *joins) add(s int, more bool, part []byte, onlyTrack bool, k *splitKind) ([]byte, error) {
	kept := len(j.part[s])
	switch {
	case more && j.reject:
		// Its other parts are elsewhere: the ones here up to the last
		// are dropped with it.
		j.drop[s] = dropTail
		return nil, &ingest.SyntaxError{Msg: k.parts + " are not joined in a stream that mixes writers: have the shipper merge them"}
	case j.drop[s] == dropRest:
		if !more {
			j.drop[s] = dropNone
		}
		return nil, errDropped
	case j.drop[s] == dropTail && more:
		return nil, errHeadless
	case j.drop[s] == dropTail:
		j.drop[s] = dropNone
		j.flags.Add(ingest.FlagSplitHeadless)
		return nil, &ingest.SyntaxError{Msg: "end of a line split into " + k.parts + " whose head was dropped, skipped"}
	case (more || kept > 0) && kept+len(part) > j.max:
		j.part[s] = j.part[s][:0]
		if more {
			j.drop[s] = dropRest
		}
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
// lost, and its other parts, which may still come, are dropped up to the
// last (dropTail), so that no later line is glued to it and its end is
// not read as a line of its own.
func (j *joins) abandon(s int) {
	if len(j.part[s]) > 0 {
		j.flags.Add(ingest.FlagSplitUnjoined)
		j.drop[s] = dropTail
	}
	j.part[s] = j.part[s][:0]
}

// MaxDockerPartEntry bounds the length of a json-file entry that holds a
// part of a split line: DockerSplit bytes of log, each at most 6 bytes
// once JSON-escaped (\u0001, or \ufffd for an invalid UTF-8 byte), and
// the entry's other members (stream, time, the attrs a log-opt adds). A
// longer line is no Docker part, but some other writer's record (a
// shipper's merged line, for instance).
const MaxDockerPartEntry = 6*DockerSplit + 16<<10

// skipped notes a line its reader skipped unread (over the length cap)
// before the next: on a stream with parts kept it was one of their line's
// (they are dropped unjoined, and their line's other parts up to the
// last). With docker set and a cap under MaxDockerPartEntry, the line
// skipped may also be a Docker part (Docker's lines are split every 16
// KiB) whose head came before it unseen, so the next part that ends a
// line of each stream is dropped; at a cap over it (the default), the line
// skipped cannot be a part, and the streams owe no tail. A CRI line over
// the cap is whole as often as not (containerd's split size can be raised
// or lifted), so a CRI stream with no parts kept is left as it is.
func (j *joins) skipped(docker bool) {
	tail := docker && j.max < MaxDockerPartEntry
	for s := range j.part {
		j.abandon(s)
		if tail && j.drop[s] == dropNone {
			j.drop[s] = dropTail
		}
	}
}

// open reports whether a line is being joined or dropped.
func (j *joins) open() bool {
	return len(j.part[0]) > 0 || len(j.part[1]) > 0 || j.drop[0] != dropNone || j.drop[1] != dropNone
}

// appendState appends the parts kept: per stream, a byte (what is
// dropped: dropNone, dropRest, dropTail), the length of the parts as a uvarint, the parts.
func (j *joins) appendState(dst []byte) []byte {
	if !j.open() {
		return dst
	}
	for s := range j.part {
		dst = append(dst, j.drop[s])
		dst = binary.AppendUvarint(dst, uint64(len(j.part[s])))
		dst = append(dst, j.part[s]...)
	}
	return dst
}

// setState makes the parts kept those of state (appendState's).
func (j *joins) setState(state []byte) {
	for s := range j.part {
		j.part[s], j.drop[s] = j.part[s][:0], dropNone
		if len(state) == 0 {
			continue
		}
		j.drop[s] = state[0]
		n, k := binary.Uvarint(state[1:])
		if k <= 0 || uint64(len(state)-1-k) < n {
			panic("envelope: malformed join state")
		}
		state = state[1+k:]
		j.part[s] = append(j.part[s], state[:n]...)
		state = state[n:]
	}
}

// CountFlags has the parser count in c the split lines it drops unjoined
// because an entry that cannot be one of their parts came next on their
// stream, Docker parts followed by another writer's record
// (ingest.FlagSplitUnjoined), and the ends of split lines it rejects
// rather than read as lines of their own, their head dropped: rejected as
// a part in a stream that mixes writers, skipped over the length cap, or
// dropped unjoined (ingest.FlagSplitHeadless). It has its inner parser
// count what it flags. It implements ingest.Flagger.
func (p *Parser) CountFlags(c *ingest.Flagged) {
	p.joins.flags = c
	if p.inner != nil {
		ingest.CountFlags(p.inner, c)
	}
}

// Skipped notes a line skipped unread (over the length cap) just before
// the next line given to Parse (see joins.skipped).
func (p *Parser) Skipped() { p.joins.skipped(p.docker) }

// EndOfLog drops the parts kept, the log having ended before the lines
// they began: each stream's are counted as a split line dropped unjoined
// (ingest.FlagSplitUnjoined). It implements ingest.Joiner.
func (p *Parser) EndOfLog() {
	for s := range p.joins.part {
		if len(p.joins.part[s]) > 0 {
			p.joins.flags.Add(ingest.FlagSplitUnjoined)
		}
	}
	p.joins.setState(nil)
}

// DropKept drops the parts kept, which may lack their line's head: each
// stream's line is dropped up to its end, which is rejected (counted as
// ingest.FlagSplitHeadless), not read as a line of its own. It implements
// ingest.Joiner.
func (p *Parser) DropKept() {
	for s := range p.joins.part {
		if len(p.joins.part[s]) > 0 {
			p.joins.part[s] = p.joins.part[s][:0]
			p.joins.drop[s] = dropTail
		}
	}
}

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

func (t *tracker) Skipped() { t.p.Skipped() }

func (t *tracker) AppendState(dst []byte) []byte { return t.p.joins.appendState(dst) }

func (t *tracker) Reset() { t.p.joins.setState(nil) }

var _ ingest.Joiner = (*Parser)(nil)
