package timestamp

import "testing"

func TestRFC3339Shape(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"2026-12-04T09:00:01", true},
		{"2026-12-04t09:00:01.123456Z", true},
		{"2026-12-04 09:00:01,123", true},
		{"1970-01-01T00:00:00+00:00", true},
		{"9999-99-99T99:99:99", true}, // the shape only; civil checks the ranges
		{"2026-12-04X09:00:01", false},
		{"2026/12/04T09:00:01", false},
		{"2026-12-04T09-00-01", false},
		{"2026-12-04T09:00:0a", false},
		{"2026-12-04T09:00a01", false},
		{"20a6-12-04T09:00:01", false},
		{"2026-1:-04T09:00:01", false},
		{"2026-12-0/T09:00:01", false},
		{"2026-12-04T0\xff:00:01", false},
		{"2026-12-04\xffT9:00:01", false},
		{"\xfa026-12-04T09:00:01", false},
	} {
		if got := rfc3339Shape([]byte(c.in)); got != c.want {
			t.Errorf("rfc3339Shape(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// FuzzRFC3339Fast checks that ParseRFC3339, which reads the date and time
// eight bytes at a time when it can, agrees with reading them byte by
// byte.
func FuzzRFC3339Fast(f *testing.F) {
	for _, s := range []string{
		"2026-12-04T09:00:01Z", "2026-12-04 09:00:01,123", "2026-12-04T09:00:01.123456789-05:30",
		"2024-02-29T23:59:59Z", "2023-02-29T23:59:59Z", "2262-04-11T23:47:16.854775807Z", "1969-12-31T23:59:59Z",
		"2026-13-04T09:00:01Z", "2026-12-04T24:00:01Z", "2026-12-04T09:00:01.Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		got, err := ParseRFC3339(b)
		if len(b) < 19 {
			return
		}
		want, werr := slowRFC3339(b, nil)
		if got != want || (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
			t.Fatalf("ParseRFC3339(%q) = %d, %v; byte by byte %d, %v", s, got, err, want, werr)
		}
	})
}

// FuzzDaysFromCivil checks daysFromCivil against Howard Hinnant's
// days_from_civil over the dates it is given.
func FuzzDaysFromCivil(f *testing.F) {
	f.Add(uint16(1970), uint8(1), uint8(1))
	f.Add(uint16(2000), uint8(2), uint8(29))
	f.Add(uint16(2100), uint8(3), uint8(1))
	f.Fuzz(func(t *testing.T, y uint16, m, d uint8) {
		yy, mm, dd := 1970+int(y)%8000, 1+int(m)%12, 1+int(d)%31
		if dd > daysIn(yy, mm) {
			return
		}
		if got, want := daysFromCivil(yy, mm, dd), hinnant(yy, mm, dd); got != want {
			t.Fatalf("daysFromCivil(%d, %d, %d) = %d, want %d", yy, mm, dd, got, want)
		}
	})
}

func hinnant(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
