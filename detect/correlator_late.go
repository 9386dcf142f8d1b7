package detect

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/spraywatch/spraywatch/event"
)

// maxExpired caps the records each side of the correlator remembers after
// they expired unmatched (see expiredIDs): MaxPending, at most this many.
const maxExpired = 1 << 16

// expiredIDs remembers the last records of one side that expired
// unmatched (app_only or proxy_only), so that a partner coming after the
// join window is told from a record that has none: a record that comes
// and finds no partner waiting looks its request id up here. It keeps a
// 64-bit hash of each request id (of the side's seed) and the record's
// event time, 24 bytes a record in a ring of at most max entries, plus an
// index of 8-byte buckets at most three in four used (at 65,536 records,
// 1.5 MB and 1 MB); it grows as records expire, so a correlator whose
// records all join keeps nothing. Once full,
// a record that expires makes the oldest one forgotten: a partner that
// comes after max more records of its side expired is an ordinary
// unmatched record. Two request ids of one hash (about max in 2^64 a
// lookup) would be taken for partners.
type expiredIDs struct {
	ring []expiredID
	max  int
	// next is the entry written next once the ring is full: the oldest.
	next int
	// n is the entries in the index: those not taken by a late partner.
	n     int
	index slotIndex
}

type expiredID struct {
	hash  uint64
	time  int64
	taken bool // by a late partner, and out of the index
}

// empty reports whether no request id is remembered: a lookup would find
// nothing.
func (x *expiredIDs) empty() bool { return x.n == 0 }

// add remembers a record whose request id has hash h, expired at event
// time t, forgetting the oldest one if the ring is full.
func (x *expiredIDs) add(h uint64, t int64) {
	var s int
	if len(x.ring) < x.max {
		if len(x.ring) == cap(x.ring) { // grow, never past max
			r := make([]expiredID, len(x.ring), min(max(2*cap(x.ring), 64), x.max))
			copy(r, x.ring)
			x.ring = r
		}
		s = len(x.ring)
		x.ring = append(x.ring, expiredID{})
	} else {
		s = x.next
		x.next = (x.next + 1) % x.max
		if old := &x.ring[s]; !old.taken {
			x.index.remove(tagOf(old.hash), int32(s))
			x.n--
		}
	}
	x.ring[s] = expiredID{hash: h, time: t}
	x.n++
	x.index.add(tagOf(h), int32(s), x.n)
}

// take returns the event time of the record remembered under hash h, and
// forgets it, so that it is a late partner once.
func (x *expiredIDs) take(h uint64) (int64, bool) {
	if x.n == 0 {
		return 0, false
	}
	tag := tagOf(h)
	for i := x.index.start(tag); ; i = x.index.next(i) {
		s, more := x.index.at(i, tag)
		if !more {
			return 0, false
		}
		if s >= 0 && x.ring[s].hash == h {
			e := &x.ring[s]
			x.index.remove(tag, s)
			e.taken = true
			x.n--
			return e.time, true
		}
	}
}

// latePartner counts r, a record of the kind late that found no partner
// waiting, if its request id (of hash h, in the other side's seed) is
// remembered as expired there.
func (k *Correlator) latePartner(late event.Kind, x *expiredIDs, h uint64, t int64) {
	pt, ok := x.take(h)
	if !ok {
		return
	}
	k.stats.late(late, t-pt)
}

// lateSample is how many gaps a side keeps for its median: the last ones.
const lateSample = 255

// lateGaps are the gaps between the records of one side that came late
// and their partners: the last lateSample of them.
type lateGaps struct {
	mu   sync.Mutex
	gaps [lateSample]int64
	n    int64 // gaps added, ever
}

func (g *lateGaps) add(d int64) {
	g.mu.Lock()
	g.gaps[g.n%lateSample] = d
	g.n++
	g.mu.Unlock()
}

// median returns the median of the gaps kept (the lower of the middle two
// of an even count), 0 if none.
func (g *lateGaps) median() time.Duration {
	var s [lateSample]int64
	g.mu.Lock()
	n := copy(s[:], g.gaps[:min(g.n, lateSample)])
	g.mu.Unlock()
	if n == 0 {
		return 0
	}
	slices.Sort(s[:n])
	return time.Duration(s[(n-1)/2])
}

// late counts a record of kind k that came gap after its partner, which
// had expired unmatched. The correlator's goroutine alone calls it.
func (j *JoinStats) late(k event.Kind, gap int64) {
	g := j.lateGaps.Load()
	if g == nil {
		g = new([2]lateGaps)
		j.lateGaps.Store(g)
	}
	if k == event.App {
		j.LateApp.Add(1)
		g[0].add(gap)
	} else {
		j.LateProxy.Add(1)
		g[1].add(gap)
	}
}

// LateGap returns the median gap between the records of kind late that
// came after their partner had expired unmatched and that partner: the
// late record's event time less the partner's, over the last 255 of them;
// 0 if none came.
func (j *JoinStats) LateGap(late event.Kind) time.Duration {
	g := j.lateGaps.Load()
	switch {
	case g == nil:
		return 0
	case late == event.App:
		return g[0].median()
	}
	return g[1].median()
}

// Hints below are given when the late partners of one side are at least
// lateHintMin and at least a lateHintShare-th of the records that expired
// unmatched (app_only and proxy_only).
const (
	lateHintMin   = 10
	lateHintShare = 10
)

// LateHints says, for each side whose records came after their partners
// had expired unmatched often enough to explain the unmatched records,
// that the two logs' times disagree: at least 10 records of a side came
// late, and they are at least a tenth of the app_only and proxy_only
// records. A median gap within a minute of a multiple of 15 minutes is
// taken for a time-zone offset; another asks whether the clocks differ or
// the requests take that long. A median gap within the join window is no
// disagreement of times: the late side's records were read that much
// after the other side's (a log written in batches, or shipped late), and
// the hint says so. Nil when neither side came late so.
func (j *JoinStats) LateHints() []string {
	var out []string
	unmatched := j.AppOnly.Load() + j.ProxyOnly.Load()
	for _, s := range []struct {
		late, other string
		kind        event.Kind
		n           int64
		order       string // of the app records to their proxy records
	}{
		{"app", "proxy", event.App, j.LateApp.Load(), "after"},
		{"proxy", "app", event.Proxy, j.LateProxy.Load(), "before"},
	} {
		if s.n < lateHintMin || s.n*lateHintShare < unmatched {
			continue
		}
		gap := j.LateGap(s.kind)
		if gap.Abs() <= j.window {
			out = append(out, fmt.Sprintf("%d %s records came after their %s records had expired unmatched, though logged a median %s from them, within the %s join window: the %s log was read behind the %s log by more than the join window: is it written in batches (a buffered log) or shipped late? (see docs/config.md)",
				s.n, s.late, s.other, gap.Abs().Round(time.Millisecond), j.window, s.late, s.other))
			continue
		}
		question := "do the two logs' clocks differ, or do requests last that long? (see docs/config.md)"
		if zoneOffset(gap) {
			question = "do both logs give times in the same zone? (a time without one is read as UTC; see docs/config.md)"
		}
		out = append(out, fmt.Sprintf("%d app records were logged a median %s %s their proxy records, past the %s join window: %s",
			s.n, gap.Round(time.Second), s.order, j.window, question))
	}
	return out
}

// DuplicateHint says, when request ids came twice on one side often
// enough to matter (at least lateHintMin, and at least a lateHintShare-th
// of the records joined or unmatched), what usually makes them: a log read
// twice, as a copy of a file under another name, a proxy or an
// application that reuses request ids, or an endpoint that makes several
// login attempts in one request. "" otherwise.
func (j *JoinStats) DuplicateHint() string {
	n := j.Duplicates.Load()
	all := j.Matched.Load() + j.AppOnly.Load() + j.ProxyOnly.Load()
	if n < lateHintMin || n*lateHintShare < all {
		return ""
	}
	return fmt.Sprintf("%d request ids came twice on one side within the join window: is a log read twice (a copy of a file under another name), does the proxy or the application reuse request ids, or does an endpoint make several login attempts in one request? (see docs/config.md)", n)
}

// zoneOffset reports whether gap is within a minute of a time-zone
// offset: a whole number of quarter hours, at least one.
func zoneOffset(gap time.Duration) bool {
	const q = 15 * time.Minute
	gap = gap.Abs()
	return gap >= q-time.Minute && (gap-gap.Round(q)).Abs() <= time.Minute
}
