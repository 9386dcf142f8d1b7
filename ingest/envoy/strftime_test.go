package envoy

import (
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
)

func TestStartTimeFormats(t *testing.T) {
	for _, tc := range []struct{ layout, value, want string }{
		{"%Y-%m-%dT%H:%M:%S.%3fZ", "2026-12-04T09:00:01.123Z", "2026-12-04T09:00:01.123Z"},
		{"%Y/%m/%dT%H:%M:%S%z", "2026/12/04T10:00:01+0100", "2026-12-04T09:00:01Z"},
		{"%F %T.%6f %z", "2026-12-04 09:00:01.123456 -02:30", "2026-12-04T11:30:01.123456Z"},
		{"%d/%b/%Y:%T %z", "04/Dec/2026:09:00:01 +0000", "2026-12-04T09:00:01Z"},
		{"%b %e %T %Y %Z", "Dec  4 09:00:01 2026 GMT", "2026-12-04T09:00:01Z"},
		{"%s.%3f", "1796374801.250", "2026-12-04T09:00:01.25Z"},
		{"%s", "1796374801", "2026-12-04T09:00:01Z"},
		{"%FT%T.%fZ", "2026-12-04T09:00:01.5Z", "2026-12-04T09:00:01.5Z"},
		{"100%% %F", "100% 2026-12-04", "2026-12-04T00:00:00Z"},
	} {
		f, err := CompileText("%START_TIME(" + tc.layout + ")% %RESPONSE_CODE%")
		if err != nil {
			t.Fatalf("%s: %v", tc.layout, err)
		}
		var r event.Record
		if err := f.NewParser().Parse([]byte(tc.value+" 200"), &r); err != nil {
			t.Errorf("%s / %q: %v", tc.layout, tc.value, err)
			continue
		}
		want, _ := time.Parse(time.RFC3339Nano, tc.want)
		if r.Time != want.UnixNano() {
			t.Errorf("%s / %q = %v, want %v", tc.layout, tc.value, time.Unix(0, r.Time).UTC(), want)
		}
	}
}

// TestStartTimeRange: instants an int64 of Unix nanoseconds cannot hold
// are rejected, as package timestamp rejects them, never wrapped; the
// ends of the range are read.
func TestStartTimeRange(t *testing.T) {
	for _, tc := range []struct{ layout, value, want string }{
		{"%s", "99999999999", "expected a time between 1970"},
		{"%s", "999999999999", "expected a time between 1970"},
		{"%s", "9223372037", "expected a time between 1970"},
		{"%s.%9f", "9223372036.854775808", "expected a time between 1970"},
		{"%s.%9f", "9223372036.854775807", ""},
		{"%s", "1", ""},
		{"%Y-%m-%dT%H:%M:%S", "1969-12-31T23:59:59", "expected a time between 1970"},
		{"%Y-%m-%dT%H:%M:%S", "2300-01-01T00:00:00", "expected a time between 1970"},
		{"%Y-%m-%dT%H:%M:%S", "1678-01-01T00:00:00", "expected a time between 1970"},
		{"%Y-%m-%dT%H:%M:%S%z", "1970-01-01T00:59:59+0100", "expected a time between 1970"},
		{"%Y-%m-%dT%H:%M:%S%z", "1970-01-01T01:00:01+0100", ""},
		{"%Y-%m-%dT%H:%M:%S.%9f", "2262-04-11T23:47:16.854775807", ""},
		{"%Y-%m-%dT%H:%M:%S.%9f", "2262-04-11T23:47:16.854775808", "expected a time between 1970"},
		{"%Y-%m-%dT%H:%M:%S", "9999-12-31T23:59:59", "expected a time between 1970"},
	} {
		f, err := CompileText(`[%START_TIME(` + tc.layout + `)%] "%REQ(X-REQUEST-ID)%"`)
		if err != nil {
			t.Fatal(err)
		}
		var r event.Record
		err = f.NewParser().Parse([]byte("["+tc.value+`] "rid"`), &r)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.value, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: accepted as %d, or not with a range error: %v", tc.value, r.Time, err)
		}
	}
}

func TestStartTimeFormatErrors(t *testing.T) {
	for _, layout := range []string{"%Y %q", "%Y %3x", "%Y %"} {
		if _, err := CompileText("%START_TIME(" + layout + ")% %RESPONSE_CODE%"); err == nil || !strings.Contains(err.Error(), "START_TIME") {
			t.Errorf("layout %q: %v", layout, err)
		}
	}
	f, err := CompileText("%START_TIME(%Y-%m-%d %H:%M:%S)% %RESPONSE_CODE%")
	if err != nil {
		t.Fatal(err)
	}
	p := f.NewParser()
	for _, v := range []string{"2026-02-30 09:00:01", "2026-13-01 09:00:01", "2026-12-04 09:00", "2026-12-04 09:00:01x", "26-12-04 09:00:01"} {
		var r event.Record
		if err := p.Parse([]byte(v+" 200"), &r); err == nil {
			t.Errorf("time %q accepted as %v", v, time.Unix(0, r.Time).UTC())
		}
	}
	var r event.Record
	line := []byte("2026-12-04 09:00:01 200")
	if n := testing.AllocsPerRun(100, func() { p.Parse(line, &r) }); n != 0 {
		t.Errorf("%v allocations per line", n)
	}
}
