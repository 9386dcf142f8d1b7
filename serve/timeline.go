package serve

import (
	"fmt"
	"time"

	"github.com/spraywatch/spraywatch/ingest"
)

// DefaultMaxTimeJump is how far a record may run ahead of the records
// before it in its input without the next record confirming the jump (see
// Config.MaxTimeJump); replay's default too.
const DefaultMaxTimeJump = time.Hour

// timeline checks the record times of one input (a partition, a followed
// source) as replay checks a file's: a record more than jump after the
// newest accepted from the input (or, for its first, from any input of
// the server) waits for the input's next record. If that one is no more
// than jump before it, the wait was a gap in the traffic and the record
// goes on; otherwise it is a lone timestamp far ahead (a broken clock, a
// corrupted line) and is rejected, so that it cannot carry the watermark,
// the windows and every later record with it. Unlike a replay, which
// holds a file's first record for its second, a server takes the very
// first record it reads as it comes: it has nothing to compare it with.
type timeline[T any] struct {
	jump     int64 // <= 0: no check
	started  bool  // a record was accepted
	last     int64 // the newest accepted record's time
	held     T     // waiting for the next record, if holding
	heldTime int64
	holding  bool
}

// take passes v, a record at t, on (queue), or holds it for the input's
// next record; a held record it takes is passed on first, or rejected
// (reject, with the time it was ahead of). newest is the newest record
// accepted from any input, if any (ok). A record without a time of its own
// (a watermark: timed false) goes on.
func (tl *timeline[T]) take(v T, t int64, timed bool, newest int64, ok bool, queue func(T), reject func(v T, ahead string)) {
	if tl.holding {
		h, ht := tl.held, tl.heldTime
		var zero T
		tl.held, tl.holding = zero, false
		if within(ht, t, tl.jump) {
			tl.accept(ht)
			queue(h)
		} else {
			ref := newest
			if tl.started {
				ref = tl.last
			}
			reject(h, time.Unix(0, ref).UTC().Format(time.RFC3339Nano))
		}
	}
	ref, known := newest, ok
	if tl.started {
		ref, known = tl.last, true
	}
	if tl.jump > 0 && timed && known && !within(t, ref, tl.jump) {
		tl.held, tl.heldTime, tl.holding = v, t, true
		return
	}
	if timed {
		tl.accept(t)
	}
	queue(v)
}

func (tl *timeline[T]) accept(t int64) {
	if !tl.started || t > tl.last {
		tl.started, tl.last = true, t
	}
}

// within reports whether a is at most d after b (d > 0), without the
// wrap-around of b+d or a-d near the ends of int64.
func within(a, b, d int64) bool {
	return a <= b || uint64(a-b) <= uint64(d)
}

// aheadError is the rejection of a record at t far ahead of ahead, for
// its input's stats.
func aheadError(source string, t, jump int64, ahead string, rid []byte) error {
	return &ingest.SyntaxError{Source: source, Msg: fmt.Sprintf(
		"record at %s skipped: more than %s ahead of %s and of the record after it (request id %q)",
		time.Unix(0, t).UTC().Format(time.RFC3339Nano), time.Duration(jump), ahead, rid)}
}

// maxTimeJump returns the check's bound in nanoseconds for a configured
// d: DefaultMaxTimeJump for 0, none (0) for a negative d.
func maxTimeJump(d time.Duration) int64 {
	switch {
	case d == 0:
		return int64(DefaultMaxTimeJump)
	case d < 0:
		return 0
	}
	return int64(d)
}
