package timestamp

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// A Zone reads the local times of a log that writes its times without a
// zone offset (Python logging's asctime, HAProxy's %tr) as times in a
// location, by its rules: a local time is converted with the offset the
// location has at that time. Times that carry an offset or Z keep it.
//
// Daylight saving time makes some local times absent and some repeated.
// Both are read with the offset in effect before the transition:
//
//   - a time in the gap of a spring-forward transition, which no clock
//     showed, is read with the offset before the gap: 02:30 on the day
//     Europe/Berlin goes from +01:00 to +02:00 is 01:30Z, the instant a
//     clock showed as 03:30 after the change, and 02:30 on the day
//     America/New_York goes from -05:00 to -04:00 is 07:30Z;
//   - a time in the hour repeated at a fall-back transition is read as
//     the earlier of its two instants, with the offset before the
//     transition: 02:30 on the day Europe/Berlin goes back from +02:00 to
//     +01:00 is 00:30Z, never 01:30Z. Lines a log writes in the second
//     pass of that hour are read an hour early.
//
// A Zone caches the offset and the range of local times it holds for, so
// that the times of a log, which mostly stay within one such range, are
// converted without looking the location up; it is not safe for
// concurrent use: each parser has its own. A nil *Zone reads local times
// as UTC.
type Zone struct {
	loc *time.Location
	// Local seconds (the civil time counted as if it were UTC) in
	// [lo, hi) are read with off seconds east of UTC. lo == hi: nothing
	// cached yet.
	lo, hi, off int64
}

// NewZone returns a Zone reading local times in loc, or nil (UTC) if loc
// is nil.
func NewZone(loc *time.Location) *Zone {
	if loc == nil {
		return nil
	}
	return &Zone{loc: loc}
}

// Location returns the zone's location, nil for a nil Zone.
func (z *Zone) Location() *time.Location {
	if z == nil {
		return nil
	}
	return z.loc
}

// Offset returns the offset in seconds east of UTC of the local time
// whose civil date and time, counted as if they were UTC, are local
// seconds since the epoch.
func (z *Zone) Offset(local int64) int64 {
	if z == nil {
		return 0
	}
	if local >= z.lo && local < z.hi {
		return z.off
	}
	z.lookup(local)
	return z.off
}

// lookup finds the zone period of the location whose local times include
// local, by the rules of the Zone documentation, and caches it. A period
// with offset o that starts at instant s (after a period with offset p)
// and ends at instant e (before one with offset n) holds the local times
// from s+max(o, p) to e+max(o, n): where two periods' local times
// overlap, the earlier period keeps them; where there is a gap between
// them, the earlier period takes it.
func (z *Zone) lookup(local int64) {
	t := time.Unix(local, 0).In(z.loc)
	// Periods last hours at the least and offsets differ by less than a
	// day, so a few steps reach the right one from the first guess; the
	// bound only guards against a location with a broken table.
	for range 64 {
		_, o := t.Zone()
		off := int64(o)
		start, end := t.ZoneBounds()
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		var before, after time.Time
		if !start.IsZero() {
			before = start.Add(-time.Second)
			_, p := before.Zone()
			lo = start.Unix() + max(off, int64(p))
		}
		if !end.IsZero() {
			after = end
			_, n := end.Zone()
			hi = end.Unix() + max(off, int64(n))
		}
		switch {
		case local < lo:
			t = before
		case local >= hi:
			t = after
		default:
			z.lo, z.hi, z.off = lo, hi, off
			return
		}
	}
	// Not reached with Go's zone tables: read with the last offset seen,
	// without caching it.
	_, o := t.Zone()
	z.lo, z.hi, z.off = 0, 0, int64(o)
}

// Unix returns the Unix nanoseconds of the local time local seconds (see
// Offset) and nsec nanoseconds (0 to 999999999), with the package's range
// checks (see the package function Unix).
func (z *Zone) Unix(local, nsec int64) (int64, error) {
	return Unix(local-z.Offset(local), nsec)
}

// ParseRFC3339 is the package's ParseRFC3339 reading a time without a zone
// offset in z.
func (z *Zone) ParseRFC3339(b []byte) (int64, error) { return parseRFC3339(b, z) }

// Parse is the package's Parse reading an RFC 3339 time without a zone
// offset in z.
func (z *Zone) Parse(b []byte) (int64, error) { return parse(b, z) }

// LoadLocation returns the location a time_zone setting names: an IANA
// time zone name such as Europe/Berlin, America/New_York or UTC, or a
// fixed offset east of UTC written +hh:mm or +hhmm (-05:00, +0530). The
// time zone database comes from the system or, if the program embeds one
// (time/tzdata), from the program. "Local", whose meaning depends on the
// machine, and "" are refused.
func LoadLocation(name string) (*time.Location, error) {
	switch {
	case name == "":
		return nil, errors.New("expected a time zone name such as Europe/Berlin or an offset such as +01:00")
	case name == "Local":
		return nil, errors.New(`"Local" depends on the machine reading the log: expected a time zone name such as Europe/Berlin or an offset such as +01:00`)
	case name[0] == '+' || name[0] == '-':
		b := []byte(name)
		if len(b) < 5 {
			return nil, fmt.Errorf("offset %q: expected +hh:mm or +hhmm", name)
		}
		off, err := zoneOffset(b, 0, false)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				err = errors.New(strings.Replace(e.Msg, "like +0000", "like +01:00", 1))
			}
			return nil, fmt.Errorf("offset %q: %w", name, err)
		}
		return time.FixedZone(name, int(off)), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: expected an IANA time zone name such as Europe/Berlin or an offset such as +01:00", name)
	}
	return loc, nil
}
