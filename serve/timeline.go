package serve

import (
	"time"

	"github.com/spraywatch/spraywatch/replay"
)

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
		if replay.Within(tl.heldTime, t, tl.jump) {
			tl.flush(queue)
		} else {
			h := tl.held
			var zero T
			tl.held, tl.holding = zero, false
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
	if tl.jump > 0 && timed && known && !replay.Within(t, ref, tl.jump) {
		tl.held, tl.heldTime, tl.holding = v, t, true
		return
	}
	if timed {
		tl.accept(t)
	}
	queue(v)
}

// flush passes a held record on, if any: the record after it confirmed it,
// or nothing after it contradicts it (its input ended).
func (tl *timeline[T]) flush(queue func(T)) {
	if !tl.holding {
		return
	}
	h := tl.held
	var zero T
	tl.held, tl.holding = zero, false
	tl.accept(tl.heldTime)
	queue(h)
}

func (tl *timeline[T]) accept(t int64) {
	if !tl.started || t > tl.last {
		tl.started, tl.last = true, t
	}
}

// maxTimeJump returns the check's bound in nanoseconds for a configured
// d: replay.DefaultMaxTimeJump for 0, none (0) for a negative d.
func maxTimeJump(d time.Duration) int64 {
	switch {
	case d == 0:
		return int64(replay.DefaultMaxTimeJump)
	case d < 0:
		return 0
	}
	return int64(d)
}
