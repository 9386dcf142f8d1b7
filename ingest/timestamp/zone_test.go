package timestamp

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests need the zones whatever the machine has
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestZoneParseRFC3339(t *testing.T) {
	for _, c := range []struct {
		zone, in, want string
	}{
		// Europe/Berlin: +01:00 in winter, +02:00 in summer.
		{"Europe/Berlin", "2026-12-04 10:00:01,123", "2026-12-04T09:00:01.123Z"},
		{"Europe/Berlin", "2026-07-01T12:00:00", "2026-07-01T10:00:00Z"},
		{"Europe/Berlin", "2026-01-01T00:30:00", "2025-12-31T23:30:00Z"},
		// The spring gap of 2026-03-29: 02:00-03:00 was not shown by any
		// clock; it is read with the offset before it.
		{"Europe/Berlin", "2026-03-29 01:59:59", "2026-03-29T00:59:59Z"},
		{"Europe/Berlin", "2026-03-29 02:00:00", "2026-03-29T01:00:00Z"},
		{"Europe/Berlin", "2026-03-29 02:30:00", "2026-03-29T01:30:00Z"},
		{"Europe/Berlin", "2026-03-29 02:59:59.999", "2026-03-29T01:59:59.999Z"},
		{"Europe/Berlin", "2026-03-29 03:00:00", "2026-03-29T01:00:00Z"},
		// The repeated hour of 2026-10-25: 02:00-03:00 was shown twice, at
		// +02:00 then at +01:00; it is read as the earlier instant.
		{"Europe/Berlin", "2026-10-25 01:59:59", "2026-10-24T23:59:59Z"},
		{"Europe/Berlin", "2026-10-25 02:00:00", "2026-10-25T00:00:00Z"},
		{"Europe/Berlin", "2026-10-25 02:30:00", "2026-10-25T00:30:00Z"},
		{"Europe/Berlin", "2026-10-25 02:59:59", "2026-10-25T00:59:59Z"},
		{"Europe/Berlin", "2026-10-25 03:00:00", "2026-10-25T02:00:00Z"},
		// America/New_York: -05:00 in winter, -04:00 in summer, the same
		// rules west of UTC.
		{"America/New_York", "2026-12-04T04:00:01", "2026-12-04T09:00:01Z"},
		{"America/New_York", "2026-07-01T08:00:00", "2026-07-01T12:00:00Z"},
		{"America/New_York", "2026-03-08T02:30:00", "2026-03-08T07:30:00Z"},
		{"America/New_York", "2026-03-08T03:00:00", "2026-03-08T07:00:00Z"},
		{"America/New_York", "2026-11-01T01:30:00", "2026-11-01T05:30:00Z"},
		{"America/New_York", "2026-11-01T02:00:00", "2026-11-01T07:00:00Z"},
		// Fixed offsets and UTC.
		{"+01:00", "2026-07-01T12:00:00", "2026-07-01T11:00:00Z"},
		{"-0530", "2026-07-01T12:00:00", "2026-07-01T17:30:00Z"},
		{"UTC", "2026-07-01T12:00:00", "2026-07-01T12:00:00Z"},
		// A time with an offset or Z keeps it.
		{"Europe/Berlin", "2026-07-01T12:00:00Z", "2026-07-01T12:00:00Z"},
		{"Europe/Berlin", "2026-07-01T12:00:00-05:00", "2026-07-01T17:00:00Z"},
		{"America/New_York", "2026-12-04 09:00:01.5+00:00", "2026-12-04T09:00:01.5Z"},
		{"+01:00", "2026-07-01T12:00:00+0000", "2026-07-01T12:00:00Z"},
	} {
		z := NewZone(mustLoad(t, c.zone))
		want := ns(c.want)
		if got, err := z.ParseRFC3339([]byte(c.in)); err != nil || got != want {
			t.Errorf("%s: ParseRFC3339(%q) = %s, %v; want %s", c.zone, c.in, time.Unix(0, got).UTC().Format(time.RFC3339Nano), err, c.want)
		}
		// The byte-by-byte reading, for shapes the eight-byte test
		// refuses, reads the time in the zone too.
		if got, err := slowRFC3339([]byte(c.in), z); err != nil || got != want {
			t.Errorf("%s: slowRFC3339(%q) = %d, %v; want %s", c.zone, c.in, got, err, c.want)
		}
		if got, err := z.Parse([]byte(c.in)); err != nil || got != ns(c.want) {
			t.Errorf("%s: Parse(%q) = %d, %v; want %s", c.zone, c.in, got, err, c.want)
		}
	}
}

func TestNilZone(t *testing.T) {
	var z *Zone
	if z.Location() != nil || NewZone(nil) != nil {
		t.Fatal("a nil location makes a nil Zone")
	}
	for _, in := range []string{"2026-12-04 09:00:01,123", "2026-12-04T09:00:01+01:00", "04/Dec/2026:09:00:01 +0000", "1764838801.5"} {
		got, err := z.Parse([]byte(in))
		want, werr := Parse([]byte(in))
		if got != want || err != werr {
			t.Errorf("nil Zone: Parse(%q) = %d, %v; Parse %d, %v", in, got, err, want, werr)
		}
	}
}

func TestZoneUnixRange(t *testing.T) {
	z := NewZone(mustLoad(t, "Europe/Berlin"))
	// 1970-01-01T00:30 in Berlin is before the epoch.
	if _, err := z.Unix(1800, 0); err != ErrRange {
		t.Errorf("Unix(1800, 0) in Berlin: err = %v, want ErrRange", err)
	}
	if _, err := z.ParseRFC3339([]byte("1970-01-01T00:30:00")); err == nil || !strings.Contains(err.Error(), "expected a time between") {
		t.Errorf("ParseRFC3339 before the epoch in Berlin: err = %v", err)
	}
	if got, err := z.Unix(7200, 5); err != nil || got != 3600*nsPerSec+5 {
		t.Errorf("Unix(7200, 5) in Berlin = %d, %v; want %d", got, err, 3600*nsPerSec+5)
	}
}

// oracle converts the local time local (civil seconds counted as UTC) in
// loc by brute force: of the instants local-o, o an offset loc has within
// two days (every three hours; the zones tested keep an offset longer),
// those loc shows as local; the earliest, or, if there is none (a gap),
// local read with the offset of the earliest candidate instant, which
// lies before the gap.
func oracle(loc *time.Location, local int64) int64 {
	var offs []int64
	for d := int64(-2 * 86400); d <= 2*86400; d += 3 * 3600 {
		_, o := time.Unix(local+d, 0).In(loc).Zone()
		offs = append(offs, int64(o))
	}
	best, earliest := int64(0), int64(1<<62)
	found := false
	for _, o := range offs {
		u := local - o
		earliest = min(earliest, u)
		if _, uo := time.Unix(u, 0).In(loc).Zone(); int64(uo) == o && (!found || u < best) {
			best, found = u, true
		}
	}
	if found {
		return best
	}
	_, o := time.Unix(earliest, 0).In(loc).Zone()
	return local - int64(o)
}

// TestZoneOracle converts every 20 minutes of years with transitions of
// several kinds, in order (as a log is read, mostly from the cache) and
// one by one with a fresh Zone, and compares both with the oracle.
func TestZoneOracle(t *testing.T) {
	for _, name := range []string{
		"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", // a 30-minute shift
		"Pacific/Apia",      // 2011-12-30 left out: a gap of a whole day
		"Africa/Casablanca", // DST suspended for Ramadan
		"America/Sao_Paulo", "Asia/Kolkata", "UTC", "+05:45",
	} {
		loc := mustLoad(t, name)
		for _, year := range []int{2011, 2026} {
			z := NewZone(loc)
			from := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
			to := time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
			for w, n := from, 0; w < to; w, n = w+1200, n+1 {
				want := oracle(loc, w)
				if got := w - z.Offset(w); got != want {
					t.Fatalf("%s: %s read in order = %s, want %s", name, time.Unix(w, 0).UTC().Format("2006-01-02T15:04:05"),
						time.Unix(got, 0).UTC().Format(time.RFC3339), time.Unix(want, 0).UTC().Format(time.RFC3339))
				}
				if n%97 == 0 {
					if got := w - NewZone(loc).Offset(w); got != want {
						t.Fatalf("%s: %s read alone = %d, want %d", name, time.Unix(w, 0).UTC().Format("2006-01-02T15:04:05"), got, want)
					}
				}
			}
		}
	}
}

// TestZoneBackwards reads times going back and forth across transitions
// with one Zone: the cache must give what a fresh lookup gives.
func TestZoneBackwards(t *testing.T) {
	loc := mustLoad(t, "Europe/Berlin")
	z := NewZone(loc)
	base := time.Date(2026, 10, 25, 2, 30, 0, 0, time.UTC).Unix()
	for _, d := range []int64{0, -86400 * 200, 3600, 86400 * 150, -3600, 0, -86400 * 210, 1800} {
		w := base + d
		if got, want := z.Offset(w), NewZone(loc).Offset(w); got != want {
			t.Errorf("offset of %d after others = %d, fresh %d", w, got, want)
		}
	}
}

func TestLoadLocation(t *testing.T) {
	for _, c := range []struct {
		in      string
		off     int // offset on 2026-07-01, when no error
		wantErr string
	}{
		{in: "Europe/Berlin", off: 7200},
		{in: "America/New_York", off: -4 * 3600},
		{in: "UTC", off: 0},
		{in: "+01:00", off: 3600},
		{in: "-05:30", off: -5*3600 - 1800},
		{in: "+0545", off: 5*3600 + 45*60},
		{in: "-00:00", off: 0},
		{in: "", wantErr: "expected a time zone name"},
		{in: "Local", wantErr: "depends on the machine"},
		{in: "Europe/Berln", wantErr: `unknown time zone "Europe/Berln"`},
		{in: "europe/berlin", wantErr: `unknown time zone`},
		{in: "+1", wantErr: `offset "+1": expected +hh:mm or +hhmm`},
		{in: "+01", wantErr: `offset "+01"`},
		{in: "+24:00", wantErr: "below 24:00"},
		{in: "+01:60", wantErr: "zone minutes below 60"},
		{in: "+01:00x", wantErr: "expected the end"},
		{in: "+0a:00", wantErr: "two digits of zone hours"},
	} {
		loc, err := LoadLocation(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("LoadLocation(%q) = %v, %v; want an error with %q", c.in, loc, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("LoadLocation(%q): %v", c.in, err)
			continue
		}
		if _, off := time.Date(2026, 7, 1, 0, 0, 0, 0, loc).Zone(); off != c.off {
			t.Errorf("LoadLocation(%q): offset %d, want %d", c.in, off, c.off)
		}
	}
}

func TestZoneNoAllocs(t *testing.T) {
	z := NewZone(mustLoad(t, "Europe/Berlin"))
	winter, summer := []byte("2026-12-04 09:00:01,123"), []byte("2026-07-01 09:00:01,123")
	for _, in := range [][]byte{winter, summer} {
		if n := testing.AllocsPerRun(100, func() { z.ParseRFC3339(in) }); n != 0 {
			t.Errorf("Zone.ParseRFC3339(%q) allocates %v times", in, n)
		}
	}
	// A lookup outside the cached range does not allocate either.
	if n := testing.AllocsPerRun(100, func() { z.ParseRFC3339(winter); z.ParseRFC3339(summer) }); n != 0 {
		t.Errorf("Zone.ParseRFC3339 across a transition allocates %v times", n)
	}
}

func BenchmarkZone(b *testing.B) {
	berlin := NewZone(mustLoad(b, "Europe/Berlin"))
	buf := []byte("2026-12-04 09:00:01,123")
	for _, c := range []struct {
		name  string
		parse func([]byte) (int64, error)
	}{
		{"utc", ParseRFC3339},
		{"Europe-Berlin", berlin.ParseRFC3339},
		{"Europe-Berlin-uncached", func(b []byte) (int64, error) { berlin.lo, berlin.hi = 0, 0; return berlin.ParseRFC3339(b) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v, err := c.parse(buf)
				if err != nil {
					b.Fatal(err)
				}
				sink += v
			}
		})
	}
}
