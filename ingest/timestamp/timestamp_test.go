package timestamp

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func ns(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixNano()
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string // substring of the error; empty means success
	}{
		// RFC 3339 and its log variants.
		{in: "2026-12-04T09:00:01Z", want: ns("2026-12-04T09:00:01Z")},
		{in: "2026-12-04t09:00:01z", want: ns("2026-12-04T09:00:01Z")},
		{in: "2026-12-04T09:00:01.123456Z", want: ns("2026-12-04T09:00:01.123456Z")},
		{in: "2026-12-04T09:00:01.1Z", want: ns("2026-12-04T09:00:01.1Z")},
		{in: "2026-12-04T09:00:01.123456789Z", want: ns("2026-12-04T09:00:01.123456789Z")},
		{in: "2026-12-04T09:00:01+01:00", want: ns("2026-12-04T08:00:01Z")},
		{in: "2026-12-04T09:00:01-05:30", want: ns("2026-12-04T14:30:01Z")},
		{in: "2026-12-04T09:00:01+0100", want: ns("2026-12-04T08:00:01Z")},
		{in: "2026-12-04 09:00:01.123456+00:00", want: ns("2026-12-04T09:00:01.123456Z")},
		{in: "2026-12-04 09:00:01,123", want: ns("2026-12-04T09:00:01.123Z")},
		{in: "2026-12-04 09:00:01", want: ns("2026-12-04T09:00:01Z")},
		{in: "1970-01-01T00:00:00Z", want: 0},
		{in: "2024-02-29T23:59:59Z", want: ns("2024-02-29T23:59:59Z")},
		{in: "2000-02-29T00:00:00Z", want: ns("2000-02-29T00:00:00Z")},
		{in: "2262-04-11T23:47:16.854775807Z", want: 1<<63 - 1},
		{in: "2262-04-12T00:47:16.854775807+01:00", want: 1<<63 - 1},
		{in: "2262-04-11T23:47:16.854775808Z", wantErr: "expected a time between"},
		{in: "2263-01-01T00:00:00Z", wantErr: "expected a time between"},
		{in: "9999-12-31T23:59:59Z", wantErr: "expected a time between"},
		{in: "1970-01-01T00:30:00+01:00", wantErr: "expected a time between"},
		{in: "1969-12-31T23:59:59Z", wantErr: "expected a year from 1970"},
		{in: "0000-01-01T00:00:00Z", wantErr: "expected a year from 1970"},
		{in: "2025-02-29T00:00:00Z", wantErr: "day that exists"},
		{in: "1900-02-29T00:00:00Z", wantErr: "year from 1970"},
		{in: "2026-04-31T00:00:00Z", wantErr: "day that exists"},
		{in: "2026-00-01T00:00:00Z", wantErr: "month 01-12"},
		{in: "2026-13-01T00:00:00Z", wantErr: "month 01-12"},
		{in: "2026-12-00T00:00:00Z", wantErr: "day that exists"},
		{in: "2026-12-04T24:00:00Z", wantErr: "hour 00-23"},
		{in: "2026-12-04T09:60:00Z", wantErr: "minute 00-59"},
		{in: "2026-12-31T23:59:60Z", wantErr: "second 00-59"},
		{in: "2026-12-04T09:00:01.Z", wantErr: "digit after the decimal"},
		{in: "2026-12-04T09:00:01.1234567890Z", wantErr: "at most 9 fraction digits"},
		{in: "2026-12-04T09:00:01+01", wantErr: "zone minutes"},
		{in: "2026-12-04T09:00:01+24:00", wantErr: "below 24:00"},
		{in: "2026-12-04T09:00:01+01:60", wantErr: "zone minutes below 60"},
		{in: "2026-12-04T09:00:01Z ", wantErr: "expected 'Z' or a zone"},
		{in: "2026-12-04T09:00:01+01:00x", wantErr: "end of the timestamp"},
		{in: "2026-12-04X09:00:01Z", wantErr: "'T' or ' '"},
		{in: "2026/12/04T09:00:01Z", wantErr: "expected a digit or '.'"},
		{in: "2026-12-04", wantErr: "like 2026-12-04T09:00:01Z"},
		{in: "2026-1a-04T09:00:01Z", wantErr: "two-digit month"},
		{in: "2026-12-04T09-00:01Z", wantErr: "':' after the hour"},

		// Common log format.
		{in: "04/Dec/2026:09:00:01 +0000", want: ns("2026-12-04T09:00:01Z")},
		{in: "04/dec/2026:09:00:01 +0000", want: ns("2026-12-04T09:00:01Z")},
		{in: "04/Dec/2026:09:00:01 +0100", want: ns("2026-12-04T08:00:01Z")},
		{in: "04/Dec/2026:09:00:01 -07:00", want: ns("2026-12-04T16:00:01Z")},
		{in: "29/Feb/2028:00:00:00 +0000", want: ns("2028-02-29T00:00:00Z")},
		{in: "29/Feb/2027:00:00:00 +0000", wantErr: "day that exists"},
		{in: "04/Dez/2026:09:00:01 +0000", wantErr: "month name"},
		{in: "04/Dec/2026:09:00:01", wantErr: "like 04/Dec/2026"},
		{in: "04/Dec/2026:09:00:01 Z0000", wantErr: "zone offset like +0000"},
		{in: "04/Dec/2026 09:00:01 +0000", wantErr: "':' after the year"},
		{in: "04/Dec/2026:09:00:01 +0000 ", wantErr: "end of the timestamp"},

		// Epoch seconds.
		{in: "1764838801", want: 1764838801 * 1e9},
		{in: "1764838801.123", want: 1764838801*1e9 + 123e6},
		{in: "1764838801.000000001", want: 1764838801*1e9 + 1},
		{in: "0", want: 0},
		{in: "9223372036.854775807", want: 1<<63 - 1},
		{in: "9223372036.854775808", wantErr: "expected a time between"},
		{in: "9223372037", wantErr: "expected a time between"},
		{in: "99999999999999999999999", wantErr: "seconds before 2262"},
		{in: "1764838801.", wantErr: "digit after the decimal"},
		{in: "1764838801.1234567891", wantErr: "at most 9"},
		{in: "1764838801e3", wantErr: "digit or '.'"},
		{in: "1764838801.5x", wantErr: "end of the timestamp"},
		{in: "-1", wantErr: "expected an RFC 3339"},
		{in: "", wantErr: "expected an RFC 3339"},
	}
	for _, tt := range tests {
		got, err := Parse([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil {
				t.Errorf("Parse(%q) = %d, want error containing %q", tt.in, got, tt.wantErr)
			} else if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) error %q, want it to contain %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
		} else if got != tt.want {
			t.Errorf("Parse(%q) = %d (%s), want %d (%s)", tt.in, got,
				time.Unix(0, got).UTC().Format(time.RFC3339Nano), tt.want,
				time.Unix(0, tt.want).UTC().Format(time.RFC3339Nano))
		}
	}
}

func TestUnix(t *testing.T) {
	for _, tc := range []struct {
		sec, nsec int64
		want      string // "" for ErrRange
	}{
		{0, 0, "1970-01-01T00:00:00Z"},
		{1796374801, 250_000_000, "2026-12-04T09:00:01.25Z"},
		{9223372036, 854775807, "2262-04-11T23:47:16.854775807Z"},
		{9223372036, 854775808, ""},
		{9223372037, 0, ""},
		{99999999999, 0, ""},
		{-1, 999_999_999, ""},
		{1, -1, ""},
		{1, 1_000_000_000, ""},
	} {
		got, err := Unix(tc.sec, tc.nsec)
		switch {
		case tc.want == "" && !errors.Is(err, ErrRange):
			t.Errorf("Unix(%d, %d) = %d, %v, want ErrRange", tc.sec, tc.nsec, got, err)
		case tc.want != "" && (err != nil || got != ns(tc.want)):
			t.Errorf("Unix(%d, %d) = %d, %v, want %s", tc.sec, tc.nsec, got, err, tc.want)
		}
	}
}

func TestErrorOffset(t *testing.T) {
	_, err := ParseRFC3339([]byte("2026-13-04T09:00:01Z"))
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("error %v is not *Error", err)
	}
	if te.Offset != 5 {
		t.Errorf("offset %d, want 5", te.Offset)
	}
	if got := err.Error(); got != "timestamp: expected a month 01-12 at byte 5" {
		t.Errorf("Error() = %q", got)
	}
}

// TestEveryDay walks every day from 1970 to 2262 and compares with the
// standard library, which catches any slip in the day arithmetic.
func TestEveryDay(t *testing.T) {
	buf := make([]byte, 0, 32)
	for d := time.Date(1970, 1, 1, 13, 7, 9, 0, time.UTC); d.Year() < 2262; d = d.AddDate(0, 0, 1) {
		buf = d.AppendFormat(buf[:0], time.RFC3339)
		got, err := ParseRFC3339(buf)
		if err != nil || got != d.UnixNano() {
			t.Fatalf("ParseRFC3339(%s) = %d, %v; want %d", buf, got, err, d.UnixNano())
		}
		buf = d.AppendFormat(buf[:0], "02/Jan/2006:15:04:05 -0700")
		got, err = ParseCommonLog(buf)
		if err != nil || got != d.UnixNano() {
			t.Fatalf("ParseCommonLog(%s) = %d, %v; want %d", buf, got, err, d.UnixNano())
		}
	}
}

func TestNoAllocs(t *testing.T) {
	inputs := [][]byte{
		[]byte("2026-12-04T09:00:01.123456Z"),
		[]byte("04/Dec/2026:09:00:01 +0000"),
		[]byte("1764838801.123"),
	}
	for _, in := range inputs {
		if n := testing.AllocsPerRun(100, func() { Parse(in) }); n != 0 {
			t.Errorf("Parse(%q) allocates %v times", in, n)
		}
	}
}

var (
	strictRFC3339   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$`)
	strictCommonLog = regexp.MustCompile(`^\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d [+-]([01]\d|2[0-3])[0-5]\d$`)
)

// inRange says whether t is representable as int64 Unix nanoseconds.
func inRange(t time.Time) bool {
	return !t.Before(time.Unix(0, 0)) && !t.After(time.Unix(0, 1<<63-1))
}

// normalize rewrites an input ParseRFC3339 accepted into the form
// time.RFC3339Nano parses.
func normalize(s string) string {
	b := []byte(s)
	b[10] = 'T'
	if len(b) > 19 && b[19] == ',' {
		b[19] = '.'
	}
	s = strings.ToUpper(string(b))
	i := strings.LastIndexAny(s, "Z+-")
	if i < 19 {
		return s + "Z"
	}
	if s[i] != 'Z' && len(s)-i == 5 { // +hhmm
		s = s[:i+3] + ":" + s[i+3:]
	}
	return s
}

func FuzzRFC3339(f *testing.F) {
	for _, s := range []string{
		"2026-12-04T09:00:01Z", "2026-12-04 09:00:01,123", "2026-12-04T09:00:01.123456789-05:30",
		"2026-12-04T09:00:01+0100", "2024-02-29T23:59:59Z", "2262-04-11T23:47:16.854775807Z",
		"1970-01-01T00:00:00+00:01", "2026-12-04T09:00:01.Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseRFC3339([]byte(s))
		if err == nil {
			want, perr := time.Parse(time.RFC3339Nano, normalize(s))
			if perr != nil {
				t.Fatalf("ParseRFC3339(%q) = %d but time.Parse(%q): %v", s, got, normalize(s), perr)
			}
			if want.UnixNano() != got {
				t.Fatalf("ParseRFC3339(%q) = %d, time.Parse = %d", s, got, want.UnixNano())
			}
			return
		}
		// Whatever the standard library accepts in the strict RFC 3339
		// shape (it is laxer elsewhere: one-digit hours, zone minutes of 60)
		// within range, ParseRFC3339 accepts too.
		ref, perr := time.Parse(time.RFC3339Nano, s)
		if perr != nil || !strictRFC3339.MatchString(s) || !inRange(ref) {
			return
		}
		t.Fatalf("ParseRFC3339(%q): %v, but time.Parse accepts it as %s", s, err, ref.Format(time.RFC3339Nano))
	})
}

func FuzzCommonLog(f *testing.F) {
	for _, s := range []string{
		"04/Dec/2026:09:00:01 +0000", "29/Feb/2028:23:59:59 -0700", "31/apr/2026:00:00:00 +0000",
		"01/Jan/1970:00:00:00 +0000", "04/Dec/2026:09:00:01 +01:00",
	} {
		f.Add(s)
	}
	const layout = "02/Jan/2006:15:04:05 -0700"
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseCommonLog([]byte(s))
		if err == nil {
			n := s
			if len(n) == 27 { // +hh:mm
				n = n[:24] + n[25:]
			}
			want, perr := time.Parse(layout, n)
			if perr != nil {
				t.Fatalf("ParseCommonLog(%q) = %d but time.Parse: %v", s, got, perr)
			}
			if want.UnixNano() != got {
				t.Fatalf("ParseCommonLog(%q) = %d, time.Parse = %d", s, got, want.UnixNano())
			}
			return
		}
		ref, perr := time.Parse(layout, s)
		if perr != nil || !strictCommonLog.MatchString(s) || !inRange(ref) {
			return
		}
		t.Fatalf("ParseCommonLog(%q): %v, but time.Parse accepts it as %s", s, err, ref.Format(time.RFC3339Nano))
	})
}

func FuzzEpoch(f *testing.F) {
	for _, s := range []string{"1764838801", "1764838801.123", "0.000000001", "9223372036.854775807", "1.", ".5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseEpoch([]byte(s))
		intPart, frac, hasDot := strings.Cut(s, ".")
		sec, serr := strconv.ParseUint(intPart, 10, 64)
		valid := serr == nil && intPart[0] != '+' && (!hasDot || len(frac) >= 1 && len(frac) <= 9)
		var fns uint64
		if valid && hasDot {
			for _, c := range frac {
				if c < '0' || c > '9' {
					valid = false
				}
			}
			if valid {
				fns, _ = strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
			}
		}
		valid = valid && (sec < 9223372036 || sec == 9223372036 && fns <= 854775807)
		if valid != (err == nil) {
			t.Fatalf("ParseEpoch(%q) = %d, %v; want valid=%v", s, got, err, valid)
		}
		if valid && got != int64(sec)*1e9+int64(fns) {
			t.Fatalf("ParseEpoch(%q) = %d, want %d", s, got, int64(sec)*1e9+int64(fns))
		}
	})
}

var sink int64

func BenchmarkParse(b *testing.B) {
	for _, in := range []string{
		"2026-12-04T09:00:01.123456Z",
		"2026-12-04 09:00:01,123",
		"2026-12-04T09:00:01+01:00",
		"04/Dec/2026:09:00:01 +0000",
		"1764838801.123",
	} {
		buf := []byte(in)
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				v, err := Parse(buf)
				if err != nil {
					b.Fatal(err)
				}
				sink += v
			}
		})
	}
}
