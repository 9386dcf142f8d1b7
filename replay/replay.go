// Package replay runs the detection engine over finished log files: the
// sources are merged in event-time order, so the alerts depend only on the
// files' contents, never on how fast they are read.
package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

// DefaultMaxTimeJump is how far a record may run ahead of the records
// before it in its source without the next record confirming the jump.
const DefaultMaxTimeJump = time.Hour

// Options tune a replay.
type Options struct {
	// MaxTimeJump bounds how far one record may leap ahead of its source's
	// timeline on its own. A record more than this after the newest record
	// accepted from its source (or a source's first record) is accepted
	// only if the source's next record is no more than MaxTimeJump before
	// it: a gap in the traffic. Otherwise it is a lone timestamp far in the
	// future (a broken clock, a corrupted line) and is rejected, counted in
	// the source's Stats with the reason, so that it cannot hold back the
	// merge or carry the engine's watermark and windows away. Zero means
	// DefaultMaxTimeJump; a negative value turns the check off.
	MaxTimeJump time.Duration
}

// Stats counts what the merge did with records' times. Safe to read while
// the replay runs.
type Stats struct {
	// AheadRejected counts records rejected for a timestamp far ahead of
	// the records around them in their source.
	AheadRejected atomic.Int64
	// Behind counts records more than MaxTimeJump older than the newest
	// record accepted from their source. They are processed (they cannot
	// move the watermark back); rules count them as late if their window
	// has moved on.
	Behind atomic.Int64

	mu       sync.Mutex
	reversed []string
}

// Reversed names the sources whose records went back in time from one to
// the next far more often than forward (see newestFirst): written newest
// first, as a search's export may be. Their records are processed, mostly
// as late ones. Set when the replay ends.
func (s *Stats) Reversed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reversed...)
}

// Run reads every source to its end, feeding the engine the records in
// event-time order (ties go to the source listed first), then closes the
// engine. Each source is expected to be roughly in time order, as log files
// are; disorder within a source is absorbed by the engine's join window.
// Run uses the default Options.
func Run(ctx context.Context, sources []ingest.Source, eng *detect.Engine) error {
	return RunOptions(ctx, sources, eng, Options{}, nil)
}

// RunOptions is Run with options; st, if not nil, receives the merge's
// counters.
func RunOptions(ctx context.Context, sources []ingest.Source, eng *detect.Engine, o Options, st *Stats) error {
	if st == nil {
		st = new(Stats)
	}
	jump := int64(o.MaxTimeJump)
	if jump == 0 {
		jump = int64(DefaultMaxTimeJump)
	}
	heads := make([]head, len(sources))
	for i, s := range sources {
		heads[i].src, heads[i].jump, heads[i].stats = s, jump, st
		heads[i].take, _ = s.(taker)
	}
	err := merge(ctx, heads, eng)
	for i := range heads {
		if heads[i].newestFirst() {
			st.mu.Lock()
			st.reversed = append(st.reversed, heads[i].src.Stats().Name)
			st.mu.Unlock()
		}
	}
	if err != nil {
		// The alerts of the records taken before the error go out, with
		// any number of lanes; what waits to be joined does not, the
		// input having not ended.
		return errors.Join(err, eng.Stop(ctx))
	}
	return eng.Close(ctx)
}

// merge hands to the records of heads' sources in event-time order, ties
// going to the source listed first. The head whose record is next keeps
// going, without the others being looked at again, as long as its records
// come before the next of every other source: a source's records come in
// runs (a block of a file parsed together, a second of traffic), and most
// of a replay's records are merged so.
func merge(ctx context.Context, heads []head, to adder) error {
	live, err := start(ctx, heads)
	if err != nil {
		return err
	}
	for live > 0 {
		best := earliest(heads)
		// The record after which another source's comes first: the first
		// of the earliest of the other sources (at its time, best's
		// records come first if best is listed before it).
		other, first, alone := int64(0), false, true
		for i := range heads {
			if h := &heads[i]; i != best && !h.done && (alone || h.rec.Time < other) {
				other, first, alone = h.rec.Time, best < i, false
			}
		}
		h := &heads[best]
		for {
			if err := to.Add(ctx, h.rec); err != nil {
				return err
			}
			ok, err := h.next(ctx)
			if err != nil {
				return err
			}
			if !ok {
				live--
				break
			}
			if t := h.rec.Time; !alone && (t > other || t == other && !first) {
				break
			}
		}
	}
	return nil
}

// start reads the first record of every head and returns how many have
// one.
func start(ctx context.Context, heads []head) (live int, err error) {
	for i := range heads {
		ok, err := heads[i].next(ctx)
		if err != nil {
			return 0, err
		}
		if ok {
			live++
		}
	}
	return live, nil
}

// earliest returns the head with the earliest record, the first listed of
// those at its time, or -1 when every head is done.
func earliest(heads []head) int {
	best := -1
	for i := range heads {
		if h := &heads[i]; !h.done && (best < 0 || h.rec.Time < heads[best].rec.Time) {
			best = i
		}
	}
	return best
}

// adder takes the merged records: a *detect.Engine.
type adder interface {
	Add(context.Context, *event.Record) error
}

// taker is a source that hands out its records in place, valid until its
// next call (ingest.Prefetcher).
type taker interface {
	Take(context.Context) (*event.Record, error)
}

// head is one source's next record in the merge.
type head struct {
	src   ingest.Source
	take  taker // src, if it has a Take
	rec   *event.Record
	bufs  [2]event.Record // what rec and look point at when src has no Take
	done  bool
	jump  int64 // MaxTimeJump in nanoseconds; <= 0: no check
	stats *Stats

	started bool  // a record was accepted from src
	last    int64 // newest accepted record time

	// prev is the time of the record accepted last; back and forward
	// count the records accepted before and after the one before them.
	prev, back, forward int64

	// A record far ahead is copied into held (values in arena) while the
	// source's next record, look, is read to confirm or refute it.
	held    event.Record
	arena   []byte
	look    *event.Record
	pending bool // look is the source's next record
	eof     bool // the source ended after look
}

func (h *head) next(ctx context.Context) (bool, error) {
	for {
		switch {
		case h.pending:
			h.rec, h.pending = h.look, false
		case h.eof:
			h.done = true
			return false, nil
		case h.take != nil:
			// read, with its usual case here.
			r, err := h.take.Take(ctx)
			if err != nil {
				return false, h.end(err)
			}
			h.rec = r
		default:
			if ok, err := h.read(ctx, &h.rec, 0); !ok {
				return false, err
			}
		}
		t := h.rec.Time
		if h.jump <= 0 || (h.started && Within(t, h.last, h.jump)) {
			h.accept(t)
			return true, nil
		}
		// The first record, or a leap ahead: let the next record decide.
		h.arena = copyRecord(&h.held, h.rec, h.arena[:0])
		ok, err := h.read(ctx, &h.look, 1)
		if err != nil {
			return false, err
		}
		if !ok {
			// Nothing after it contradicts it.
			h.done, h.eof = false, true
			h.rec = &h.held
			h.accept(t)
			return true, nil
		}
		h.pending = true
		if Within(t, h.look.Time, h.jump) {
			h.rec = &h.held
			h.accept(t)
			return true, nil
		}
		h.reject(&h.held)
	}
}

// Within reports whether event time a is at most d (> 0) after b, without
// the wrap-around of b+d or a-d near the ends of int64: the test of
// MaxTimeJump, which `serve` applies to its inputs too.
func Within(a, b, d int64) bool {
	return a <= b || uint64(a-b) <= uint64(d)
}

// AheadError is the rejection of a record at t (Unix ns) of source more
// than jump (ns) ahead of ahead (the newest record accepted before it, or
// what stands for it) and of the record after it, with its request id.
func AheadError(source string, t, jump int64, ahead string, rid []byte) error {
	return &ingest.SyntaxError{Source: source, Msg: fmt.Sprintf(
		"record at %s skipped: more than %s ahead of %s and of the record after it (request id %q)",
		time.Unix(0, t).UTC().Format(time.RFC3339Nano), time.Duration(jump), ahead, rid)}
}

// read points *r at the source's next record; false at the end. Without
// Take, the record is read into bufs[buf]: rec and look use one each, and a
// record is copied to held before look is read.
func (h *head) read(ctx context.Context, r **event.Record, buf int) (bool, error) {
	var err error
	if h.take != nil {
		*r, err = h.take.Take(ctx)
	} else {
		*r = &h.bufs[buf]
		err = h.src.Next(ctx, *r)
	}
	if err == nil {
		return true, nil
	}
	return false, h.end(err)
}

// end ends the source after its error: nil at its end (io.EOF). An error
// that names its file already is returned as it is.
func (h *head) end(err error) error {
	h.done = true
	if errors.Is(err, io.EOF) {
		return nil
	}
	if located(err) {
		return err
	}
	return fmt.Errorf("reading %s: %w", h.src.Stats().Name, err)
}

// located reports whether err names the file it is about: a line's error
// (a strict source's), a damaged file's, a file's that could not be opened
// or read.
func located(err error) bool {
	var se *ingest.SyntaxError
	var de *ingest.DamagedError
	var pe *fs.PathError
	return errors.As(err, &se) && se.Source != "" || errors.As(err, &de) && de.Source != "" || errors.As(err, &pe)
}

func (h *head) accept(t int64) {
	if h.started {
		switch {
		case t < h.prev:
			h.back++
		case t > h.prev:
			h.forward++
		}
	}
	h.prev = t
	switch {
	case !h.started:
		h.started, h.last = true, t
	case t > h.last:
		h.last = t
	case h.jump > 0 && !Within(h.last, t, h.jump):
		h.stats.Behind.Add(1)
	}
}

// newestFirst reports whether h's records went back in time far more
// often than forward: at least 100 steps back, and nine in ten of the
// steps that changed the time. A log written as it happens goes back only
// where writers interleave, a little and now and then.
func (h *head) newestFirst() bool {
	return h.back >= 100 && h.back >= 9*h.forward
}

func (h *head) reject(r *event.Record) {
	h.stats.AheadRejected.Add(1)
	st := h.src.Stats()
	what := "the first records"
	if h.started {
		what = time.Unix(0, h.last).UTC().Format(time.RFC3339Nano)
	}
	st.RejectOutlier(r, AheadError(st.Name, r.Time, h.jump, what, r.Values[event.RequestID]))
}

// copyRecord appends src's values (and the line of a partial record) to
// arena and points dst's values at the copies.
func copyRecord(dst, src *event.Record, arena []byte) []byte {
	n := len(src.Raw)
	for _, v := range src.Values {
		n += len(v)
	}
	if cap(arena) < n {
		arena = make([]byte, 0, n)
	}
	dst.Kind, dst.Time = src.Kind, src.Time
	dst.Raw, dst.Rest, dst.RawLine, dst.Owned = nil, src.Rest, src.RawLine, src.Owned
	if src.Raw != nil {
		arena = append(arena, src.Raw...)
		dst.Raw = arena[:len(arena):len(arena)]
		if dst.Raw == nil {
			dst.Raw = []byte{}
		}
	}
	for f, v := range src.Values {
		if len(v) == 0 {
			dst.Values[f] = nil
			continue
		}
		start := len(arena)
		arena = append(arena, v...)
		dst.Values[f] = arena[start:len(arena):len(arena)]
	}
	return arena
}
