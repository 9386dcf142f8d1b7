// Package timestamp parses the timestamps found in proxy and application logs
// into Unix nanoseconds without allocating.
//
// Three shapes are understood:
//
//	RFC 3339    2026-12-04T09:00:01Z, 2026-12-04T09:00:01.123456+01:00,
//	            2026-12-04 09:00:01.123456+00:00, 2026-12-04 09:00:01,123
//	common log  04/Dec/2026:09:00:01 +0000 (nginx $time_local, Apache %t)
//	epoch       1764838801 or 1764838801.123 (seconds, nginx $msec, Python's created)
//
// Results are Unix nanoseconds in an int64, so the representable range is
// 1970-01-01T00:00:00Z through 2262-04-11T23:47:16.854775807Z; instants
// outside it are reported as errors rather than wrapped.
//
// An RFC 3339 time without a zone offset is read as UTC, or in the time
// zone of a Zone (see Zone.ParseRFC3339).
package timestamp

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// Error says why a timestamp could not be parsed.
type Error struct {
	Offset int    // 0-based byte offset in the input where the problem is
	Msg    string // what was expected
}

func (e *Error) Error() string {
	return "timestamp: " + e.Msg + " at byte " + strconv.Itoa(e.Offset)
}

func fail(off int, msg string) error { return &Error{Offset: off, Msg: msg} }

const (
	nsPerSec = 1_000_000_000
	// maxSec is the last whole second whose nanoseconds fit in an int64.
	maxSec = (1<<63 - 1) / nsPerSec
)

// num reads exactly n decimal digits at b[i:].
func num(b []byte, i, n int) (int, bool) {
	if i+n > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		d := c - '0'
		if d > 9 {
			return 0, false
		}
		v = v*10 + int(d)
	}
	return v, true
}

// fraction reads 1-9 digits at b[i:] and returns them as nanoseconds and the
// index after them.
func fraction(b []byte, i int) (int64, int, error) {
	var ns int64
	n := 0
	for _, c := range b[i:] {
		d := c - '0'
		if d > 9 {
			break
		}
		if n == 9 {
			return 0, i + n, fail(i+n, "expected at most 9 fraction digits")
		}
		ns = ns*10 + int64(d)
		n++
	}
	if n == 0 {
		return 0, i, fail(i, "expected a digit after the decimal separator")
	}
	return ns * pow10[(9-n)&15], i + n, nil
}

// pow10 scales a fraction of n digits to nanoseconds: pow10[9-n].
var pow10 = [16]int64{1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

var monthDays = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func daysIn(y, m int) int {
	if m == 2 && isLeap(y) {
		return 29
	}
	return monthDays[m]
}

// daysBefore is the number of days before each month in a common year.
var daysBefore = [13]uint16{0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334}

// leapsBefore1970 is the number of leap years before 1970 (from year 1).
const leapsBefore1970 = 1969/4 - 1969/100 + 1969/400

// daysFromCivil returns the number of days since 1970-01-01 of a proleptic
// Gregorian date from 1970 on, with valid month and day. Unsigned division
// by constants compiles to multiplications.
func daysFromCivil(y, m, d int) int64 {
	u := uint64(y)
	p := u - 1
	days := 365*(u-1970) + p/4 - p/100 + p/400 - leapsBefore1970 + uint64(daysBefore[m&15]) + uint64(d) - 1
	if m > 2 && u%4 == 0 && (u%100 != 0 || u%400 == 0) {
		days++
	}
	return int64(days)
}

// clock reads "hh:mm:ss" at b[at:]; the caller has checked the length.
func clock(b []byte, at int) (h, mi, s int, err error) {
	var ok bool
	if h, ok = num(b, at, 2); !ok {
		return 0, 0, 0, fail(at, "expected a two-digit hour")
	}
	if b[at+2] != ':' {
		return 0, 0, 0, fail(at+2, "expected ':' after the hour")
	}
	if mi, ok = num(b, at+3, 2); !ok {
		return 0, 0, 0, fail(at+3, "expected two-digit minutes")
	}
	if b[at+5] != ':' {
		return 0, 0, 0, fail(at+5, "expected ':' after the minutes")
	}
	if s, ok = num(b, at+6, 2); !ok {
		return 0, 0, 0, fail(at+6, "expected two-digit seconds")
	}
	return h, mi, s, nil
}

// civil validates a date and time and returns its Unix seconds, before any
// zone offset. offs holds the input offsets of year, month, day, hour,
// minute and second, for errors.
func civil(y, mo, d, h, mi, s int, offs *[6]int) (int64, error) {
	if y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 28 && d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59 {
		return 0, civilErr(y, mo, d, h, mi, offs)
	}
	return daysFromCivil(y, mo, d)*86400 + int64(h)*3600 + int64(mi)*60 + int64(s), nil
}

func civilErr(y, mo, d, h, mi int, offs *[6]int) error {
	switch {
	case y < 1970:
		return fail(offs[0], "expected a year from 1970")
	case mo < 1 || mo > 12:
		return fail(offs[1], "expected a month 01-12")
	case d < 1 || d > daysIn(y, mo):
		return fail(offs[2], "expected a day that exists in the month")
	case h > 23:
		return fail(offs[3], "expected an hour 00-23")
	case mi > 59:
		return fail(offs[4], "expected a minute 00-59")
	}
	return fail(offs[5], "expected a second 00-59")
}

// Offsets of the date and time parts in the two fixed layouts.
var (
	rfc3339Offs   = [6]int{0, 5, 8, 11, 14, 17}
	commonLogOffs = [6]int{7, 3, 0, 12, 15, 18}
)

// combine turns seconds, nanoseconds and a zone offset in seconds into Unix
// nanoseconds, rejecting instants an int64 cannot hold.
func combine(sec, ns, zone int64, off int) (int64, error) {
	sec -= zone
	if sec < 0 || sec > maxSec || (sec == maxSec && ns > (1<<63-1)%nsPerSec) {
		return 0, fail(off, "expected a time between 1970-01-01T00:00:00Z and 2262-04-11T23:47:16.854775807Z")
	}
	return sec*nsPerSec + ns, nil
}

// ErrRange is Unix's error for an instant outside the range an int64 of
// Unix nanoseconds holds from the epoch on.
var ErrRange = errors.New("timestamp: expected a time between 1970-01-01T00:00:00Z and 2262-04-11T23:47:16.854775807Z")

// Unix returns the Unix nanoseconds of sec seconds and nsec nanoseconds
// (0 to 999999999) after the epoch, for parsers of other timestamp shapes
// (strftime layouts) that need the same range checks: an instant before
// the epoch or after 2262-04-11T23:47:16.854775807Z is ErrRange, never a
// wrapped value.
func Unix(sec, nsec int64) (int64, error) {
	if nsec < 0 || nsec >= nsPerSec || sec < 0 || sec > maxSec || (sec == maxSec && nsec > (1<<63-1)%nsPerSec) {
		return 0, ErrRange
	}
	return sec*nsPerSec + nsec, nil
}

// zoneOffset reads "Z", "+hh:mm", "-hh:mm" or "+hhmm" at b[i:], which must
// end the input, and returns the offset in seconds east of UTC.
func zoneOffset(b []byte, i int, allowZ bool) (int64, error) {
	if allowZ && len(b)-i == 1 && (b[i] == 'Z' || b[i] == 'z') {
		return 0, nil
	}
	if b[i] != '+' && b[i] != '-' {
		if allowZ {
			return 0, fail(i, "expected 'Z' or a zone offset like +01:00")
		}
		return 0, fail(i, "expected a zone offset like +0000")
	}
	h, ok := num(b, i+1, 2)
	if !ok {
		return 0, fail(i+1, "expected two digits of zone hours")
	}
	j := i + 3
	if j < len(b) && b[j] == ':' {
		j++
	}
	m, ok := num(b, j, 2)
	if !ok {
		return 0, fail(j, "expected two digits of zone minutes")
	}
	if j+2 != len(b) {
		return 0, fail(j+2, "expected the end of the timestamp")
	}
	if h > 23 {
		return 0, fail(i+1, "expected a zone offset below 24:00")
	}
	if m > 59 {
		return 0, fail(j, "expected zone minutes below 60")
	}
	z := int64(h*3600 + m*60)
	if b[i] == '-' {
		z = -z
	}
	return z, nil
}

// ParseRFC3339 parses an RFC 3339 timestamp and the variants logs write:
// a space instead of the T, a comma instead of the decimal point (Python's
// logging asctime), a zone offset without colon (+0100), or no zone at all,
// which means UTC (Zone.ParseRFC3339 reads it in a time zone). Fractions
// have 1 to 9 digits; leap seconds (:60) are rejected.
func ParseRFC3339(b []byte) (int64, error) { return parseRFC3339(b, nil) }

// parseRFC3339 is ParseRFC3339 reading a time without an offset in z.
func parseRFC3339(b []byte, z *Zone) (int64, error) {
	// 2026-12-04T09:00:01
	// 0123456789012345678
	if len(b) < 19 {
		return 0, fail(len(b), "expected a timestamp like 2026-12-04T09:00:01Z")
	}
	if !rfc3339Shape(b) {
		return slowRFC3339(b, z)
	}
	y := int(b[0]-'0')*1000 + int(b[1]-'0')*100 + int(b[2]-'0')*10 + int(b[3]-'0')
	mo := int(b[5]-'0')*10 + int(b[6]-'0')
	d := int(b[8]-'0')*10 + int(b[9]-'0')
	h := int(b[11]-'0')*10 + int(b[12]-'0')
	mi := int(b[14]-'0')*10 + int(b[15]-'0')
	s := int(b[17]-'0')*10 + int(b[18]-'0')
	return rfc3339Rest(b, y, mo, d, h, mi, s, z)
}

// slowRFC3339 reads b[:19] byte by byte, for the error of a timestamp that
// does not have the shape rfc3339Shape looks for; a time without an offset
// is read in z.
func slowRFC3339(b []byte, z *Zone) (int64, error) {
	y, ok := num(b, 0, 4)
	if !ok {
		return 0, fail(0, "expected a four-digit year")
	}
	if b[4] != '-' {
		return 0, fail(4, "expected '-' after the year")
	}
	mo, ok := num(b, 5, 2)
	if !ok {
		return 0, fail(5, "expected a two-digit month")
	}
	if b[7] != '-' {
		return 0, fail(7, "expected '-' after the month")
	}
	d, ok := num(b, 8, 2)
	if !ok {
		return 0, fail(8, "expected a two-digit day")
	}
	if c := b[10]; c != 'T' && c != 't' && c != ' ' {
		return 0, fail(10, "expected 'T' or ' ' between date and time")
	}
	h, mi, s, err := clock(b, 11)
	if err != nil {
		return 0, err
	}
	return rfc3339Rest(b, y, mo, d, h, mi, s, z)
}

// rfc3339Rest checks the date and time read from b[:19] and reads the
// fraction and zone after them; without a zone, the time is read in z.
func rfc3339Rest(b []byte, y, mo, d, h, mi, s int, z *Zone) (int64, error) {
	sec, err := civil(y, mo, d, h, mi, s, &rfc3339Offs)
	if err != nil {
		return 0, err
	}
	i := 19
	var ns int64
	if i < len(b) && (b[i] == '.' || b[i] == ',') {
		if ns, i, err = fraction(b, i+1); err != nil {
			return 0, err
		}
	}
	var zone int64
	if i < len(b) {
		if zone, err = zoneOffset(b, i, true); err != nil {
			return 0, err
		}
	} else if z != nil {
		zone = z.Offset(sec)
	}
	return combine(sec, ns, zone, 0)
}

// monthAbbr returns the number of the month whose three-letter English
// abbreviation b[:3] is, in any case, or 0.
func monthAbbr(b []byte) int {
	key := (int(b[0]|0x20) << 16) | (int(b[1]|0x20) << 8) | int(b[2]|0x20)
	switch key {
	case 'j'<<16 | 'a'<<8 | 'n':
		return 1
	case 'f'<<16 | 'e'<<8 | 'b':
		return 2
	case 'm'<<16 | 'a'<<8 | 'r':
		return 3
	case 'a'<<16 | 'p'<<8 | 'r':
		return 4
	case 'm'<<16 | 'a'<<8 | 'y':
		return 5
	case 'j'<<16 | 'u'<<8 | 'n':
		return 6
	case 'j'<<16 | 'u'<<8 | 'l':
		return 7
	case 'a'<<16 | 'u'<<8 | 'g':
		return 8
	case 's'<<16 | 'e'<<8 | 'p':
		return 9
	case 'o'<<16 | 'c'<<8 | 't':
		return 10
	case 'n'<<16 | 'o'<<8 | 'v':
		return 11
	case 'd'<<16 | 'e'<<8 | 'c':
		return 12
	}
	return 0
}

// ParseCommonLog parses the Common Log Format time written by nginx's
// $time_local and Apache's %t, without the brackets: 04/Dec/2026:09:00:01 +0000.
// Month names are matched without regard to case; the zone offset is required
// and may be written +hhmm or +hh:mm.
func ParseCommonLog(b []byte) (int64, error) {
	// 04/Dec/2026:09:00:01 +0000
	// 01234567890123456789012345
	if len(b) < 26 {
		return 0, fail(len(b), "expected a timestamp like 04/Dec/2026:09:00:01 +0000")
	}
	d, ok := num(b, 0, 2)
	if !ok {
		return 0, fail(0, "expected a two-digit day")
	}
	if b[2] != '/' {
		return 0, fail(2, "expected '/' after the day")
	}
	mo := monthAbbr(b[3:6])
	if mo == 0 {
		return 0, fail(3, "expected a month name like Dec")
	}
	if b[6] != '/' {
		return 0, fail(6, "expected '/' after the month")
	}
	y, ok := num(b, 7, 4)
	if !ok {
		return 0, fail(7, "expected a four-digit year")
	}
	if b[11] != ':' {
		return 0, fail(11, "expected ':' after the year")
	}
	h, mi, s, err := clock(b, 12)
	if err != nil {
		return 0, err
	}
	sec, err := civil(y, mo, d, h, mi, s, &commonLogOffs)
	if err != nil {
		return 0, err
	}
	if b[20] != ' ' {
		return 0, fail(20, "expected ' ' before the zone offset")
	}
	zone, err := zoneOffset(b, 21, false)
	if err != nil {
		return 0, err
	}
	return combine(sec, 0, zone, 0)
}

// ParseEpoch parses seconds since the Unix epoch with an optional fraction
// of 1 to 9 digits: 1764838801 or 1764838801.123 (nginx's $msec, Python
// logging's created). Signs, exponents and integer milliseconds or
// nanoseconds are not accepted: an integer is always seconds.
func ParseEpoch(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, fail(0, "expected seconds since the epoch")
	}
	var sec int64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if sec > maxSec/10 {
			return 0, fail(i, "expected seconds before 2262-04-11T23:47:16Z")
		}
		sec = sec*10 + int64(b[i]-'0')
	}
	if i == 0 {
		return 0, fail(0, "expected a digit")
	}
	var ns int64
	if i < len(b) {
		if b[i] != '.' {
			return 0, fail(i, "expected a digit or '.'")
		}
		var err error
		if ns, i, err = fraction(b, i+1); err != nil {
			return 0, err
		}
		if i != len(b) {
			return 0, fail(i, "expected the end of the timestamp")
		}
	}
	return combine(sec, ns, 0, 0)
}

// Parse recognises an RFC 3339, common log or epoch timestamp by its shape
// and parses it with ParseRFC3339, ParseCommonLog or ParseEpoch.
func Parse(b []byte) (int64, error) { return parse(b, nil) }

// parse is Parse reading an RFC 3339 time without a zone offset in z.
func parse(b []byte, z *Zone) (int64, error) {
	switch {
	case len(b) > 4 && b[4] == '-':
		return parseRFC3339(b, z)
	case len(b) > 2 && b[2] == '/':
		return ParseCommonLog(b)
	case len(b) > 0 && b[0] >= '0' && b[0] <= '9':
		return ParseEpoch(b)
	}
	return 0, fail(0, "expected an RFC 3339, common log or epoch-seconds timestamp")
}

// Masks for reading "2026-12-04T09:00:01" eight bytes at a time: the bytes
// of a little-endian word that hold digits in b[0:8] ("2026-12-") and
// b[8:16] ("04T09:00"), and the separators of the first word.
const (
	digits0 = 0x00ffff00ffffffff
	digits1 = 0xffff00ffff00ffff
	seps0   = 0xff0000ff00000000
	dashes0 = 0x2d00002d00000000 // '-' at bytes 4 and 7
	colon1  = 0x0000ff0000000000
	colons1 = 0x00003a0000000000 // ':' at byte 5
	highs   = 0xf0f0f0f0f0f0f0f0
	zeros   = 0x3030303030303030
	sixes   = 0x0606060606060606
)

// allDigits reports whether the bytes of w that m selects are ASCII digits:
// their high nibble is 3, and stays 3 when 6 is added. The addition carries
// into the next byte only from a byte of 0xfa or more, and such a byte
// fails either test wherever it is: selected, it has no high nibble 3;
// not selected, the caller finds it is not the separator it expects.
func allDigits(w, m uint64) bool {
	return w&m&highs == zeros&m && (w+sixes)&m&highs == zeros&m
}

// rfc3339Shape reports whether b[:19] is "yyyy-mm-ddThh:mm:ss" (T, t or a
// space between date and time), testing eight bytes at a time; len(b) >= 19.
func rfc3339Shape(b []byte) bool {
	w0 := binary.LittleEndian.Uint64(b)
	w1 := binary.LittleEndian.Uint64(b[8:])
	t := b[10]
	return allDigits(w0, digits0) && w0&seps0 == dashes0 && allDigits(w1, digits1) && w1&colon1 == colons1 &&
		(t == 'T' || t == 't' || t == ' ') && b[16] == ':' && b[17]-'0' <= 9 && b[18]-'0' <= 9
}
