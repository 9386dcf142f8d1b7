package haproxy

import (
	"testing"
	"time"
	_ "time/tzdata" // the tests need the zones whatever the machine has

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

func TestInZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, format, line string
		loc                *time.Location
		when, utc          string // the time read in loc, and as UTC
	}{
		{"%tr in Berlin, winter", `"[%tr] %ST"`, `[04/Dec/2026:10:00:01.123] 200`, berlin, "2026-12-04T09:00:01.123Z", "2026-12-04T10:00:01.123Z"},
		{"%tr in Berlin, summer", `"[%tr] %ST"`, `[01/Jul/2026:12:00:00.000] 200`, berlin, "2026-07-01T10:00:00Z", "2026-07-01T12:00:00Z"},
		{"%tr without milliseconds", `"[%tr] %ST"`, `[01/Jul/2026:12:00:00] 200`, berlin, "2026-07-01T10:00:00Z", "2026-07-01T12:00:00Z"},
		{"%t in New York, spring gap", `"[%t] %ST"`, `[08/Mar/2026:02:30:00.500] 200`, newYork, "2026-03-08T07:30:00.5Z", "2026-03-08T02:30:00.5Z"},
		{"%t in New York, repeated hour", `"[%t] %ST"`, `[01/Nov/2026:01:30:00.000] 200`, newYork, "2026-11-01T05:30:00Z", "2026-11-01T01:30:00Z"},
		{"%t, fixed offset", `"[%t] %ST"`, `[04/Dec/2026:09:00:01.000] 200`, time.FixedZone("+05:30", 5*3600+1800), "2026-12-04T03:30:01Z", "2026-12-04T09:00:01Z"},
		{"%trg keeps its offset", `"[%t] %trg %ST"`, `[04/Dec/2026:09:00:00.999] 04/Dec/2026:10:00:05 +0100 200`, berlin, "2026-12-04T09:00:05Z", "2026-12-04T09:00:05Z"},
		{"%Ts is UTC", `"[%t] %Ts %ST"`, `[04/Dec/2026:09:00:00.999] 1796374805 200`, berlin, "2026-12-04T09:00:05Z", "2026-12-04T09:00:05Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Compile(c.format)
			if err != nil {
				t.Fatal(err)
			}
			zf := f.InZone(c.loc)
			skimtest.CheckParse(t, zf.NewParser(), c.line, c.when, map[event.Field]string{event.Status: "200"})
			// Skim reads the same time.
			var r event.Record
			if _, err := zf.NewParser().(ingest.Skimmer).Skim([]byte(c.line), &r, nil); err != nil {
				t.Fatal(err)
			}
			if got := skimtest.RFC3339(r.Time); got != c.when {
				t.Errorf("Skim: time %s, want %s", got, c.when)
			}
			// The format itself still reads UTC.
			skimtest.CheckParse(t, f.NewParser(), c.line, c.utc, map[event.Field]string{event.Status: "200"})
		})
	}
}

func TestInZoneRange(t *testing.T) {
	f, err := Compile(`"[%tr] %ST"`)
	if err != nil {
		t.Fatal(err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	var r event.Record
	if err := f.InZone(berlin).NewParser().Parse([]byte(`[01/Jan/1970:00:30:00.000] 200`), &r); err == nil {
		t.Errorf("a local time before the epoch in Berlin parsed as %d", r.Time)
	}
}

// BenchmarkParseZone parses the reference mTLS line, whose %tr has no
// offset, read as UTC and in Europe/Berlin.
func BenchmarkParseZone(b *testing.B) {
	f, err := Compile(mtlsFormat)
	if err != nil {
		b.Fatal(err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	for _, z := range []struct {
		name string
		f    ingest.Format
	}{{"utc", f}, {"Europe-Berlin", f.InZone(berlin)}} {
		b.Run(z.name, func(b *testing.B) { skimtest.BenchParse(b, z.f.NewParser(), skimLine) })
	}
}
