package pylog

import (
	"testing"
	"time"
	_ "time/tzdata" // the tests need the zones whatever the machine has

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestInZone(t *testing.T) {
	const created = "%(levelname)-8s %(created)f %(name)s %(message)s"
	for _, c := range []struct {
		name, format, line, utc, zoned string
	}{
		{
			name: "asctime in winter", format: defaultFormat,
			line: "2026-12-04 10:00:01,123 WARNING netbox.auth.login [r1] Failed login attempt for username: alice",
			utc:  "2026-12-04T10:00:01.123Z", zoned: "2026-12-04T09:00:01.123Z",
		},
		{
			name: "asctime in summer", format: defaultFormat,
			line: "2026-07-01 12:00:00,000 WARNING netbox.auth.login [r1] Failed login attempt for username: alice",
			utc:  "2026-07-01T12:00:00Z", zoned: "2026-07-01T10:00:00Z",
		},
		{
			name: "asctime in the repeated hour", format: defaultFormat,
			line: "2026-10-25 02:30:00,000 WARNING netbox.auth.login [r1] Failed login attempt for username: alice",
			utc:  "2026-10-25T02:30:00Z", zoned: "2026-10-25T00:30:00Z",
		},
		{
			name: "asctime with an offset (a datefmt with %z)", format: defaultFormat,
			line: "2026-07-01T12:00:00+01:00 WARNING netbox.auth.login [r1] Failed login attempt for username: alice",
			utc:  "2026-07-01T11:00:00Z", zoned: "2026-07-01T11:00:00Z",
		},
		{
			name: "created is UTC", format: created,
			line: "WARNING  1764838801.250000 netbox.auth.login Failed login attempt for username: alice",
			utc:  "2025-12-04T09:00:01.25Z", zoned: "2025-12-04T09:00:01.25Z",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := New(Config{Format: c.format, MessagePattern: netboxPattern, Outcomes: netboxOutcomes})
			if err != nil {
				t.Fatal(err)
			}
			zf := f.InZone(berlin(t))
			for _, k := range []struct {
				f    ingest.Format
				want string
			}{{zf, c.zoned}, {f, c.utc}, {f.InZone(nil), c.utc}} {
				var r event.Record
				if err := k.f.NewParser().Parse([]byte(c.line), &r); err != nil {
					t.Fatal(err)
				}
				if got := time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano); got != k.want {
					t.Errorf("time = %s, want %s", got, k.want)
				}
			}
		})
	}
}

func TestInZoneNoAllocs(t *testing.T) {
	f, err := New(Config{Format: defaultFormat, MessagePattern: netboxPattern, Outcomes: netboxOutcomes, Loggers: []string{"netbox.auth"}})
	if err != nil {
		t.Fatal(err)
	}
	p := f.InZone(berlin(t)).NewParser()
	line := []byte("2026-12-04 09:00:01,123 INFO django.request [6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a] Not Found: /favicon.ico")
	var r event.Record
	if n := testing.AllocsPerRun(100, func() { p.Parse(line, &r) }); n != 0 {
		t.Errorf("filtered line in Europe/Berlin: %v allocs, want 0", n)
	}
}

// BenchmarkParseZone parses a login line (match) and a line the
// prefilter leaves out (filtered) with asctime read as UTC and read in
// Europe/Berlin.
func BenchmarkParseZone(b *testing.B) {
	f, err := New(Config{Format: defaultFormat, MessagePattern: netboxPattern, Outcomes: netboxOutcomes, Loggers: []string{"netbox.auth"}})
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range []struct{ name, line string }{
		{"match", "2026-12-04 09:00:01,123 WARNING netbox.auth.login [6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a] Failed login attempt for username: alice from 203.0.113.7"},
		{"filtered", "2026-12-04 09:00:01,123 INFO django.request [6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a] Not Found: /favicon.ico"},
	} {
		for _, z := range []struct {
			name string
			f    ingest.Format
		}{{"utc", f}, {"Europe-Berlin", f.InZone(berlin(b))}} {
			b.Run(l.name+"/"+z.name, func(b *testing.B) { skimtest.BenchAny(b, z.f.NewParser(), l.line) })
		}
	}
}
