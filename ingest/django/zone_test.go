package django

import (
	"testing"
	"time"
	_ "time/tzdata" // the tests need the zones whatever the machine has

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

func TestInZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	f := mustFormat(t, DefaultMapping())
	zf := f.InZone(berlin)
	for _, c := range []struct {
		name, ts  string
		when, utc string // the time read in Europe/Berlin, and as UTC
	}{
		{"isoformat of a naive datetime", `"2026-12-04T10:00:01.123456"`, "2026-12-04T09:00:01.123456Z", "2026-12-04T10:00:01.123456Z"},
		{"asctime, summer", `"2026-07-01 12:00:00,000"`, "2026-07-01T10:00:00Z", "2026-07-01T12:00:00Z"},
		{"offset", `"2026-07-01T12:00:00+02:00"`, "2026-07-01T10:00:00Z", "2026-07-01T10:00:00Z"},
		{"Z", `"2026-07-01T12:00:00Z"`, "2026-07-01T12:00:00Z", "2026-07-01T12:00:00Z"},
		{"common log", `"01/Jul/2026:12:00:00 +0000"`, "2026-07-01T12:00:00Z", "2026-07-01T12:00:00Z"},
		{"epoch seconds", `1782907200`, "2026-07-01T12:00:00Z", "2026-07-01T12:00:00Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			line := []byte(`{"timestamp":` + c.ts + `,"event":"login_failed","username":"alice","request_id":"r1"}`)
			for _, k := range []struct {
				p    ingest.Parser
				want string
			}{{zf.NewParser(), c.when}, {f.NewParser(), c.utc}} {
				var r event.Record
				if err := k.p.Parse(line, &r); err != nil {
					t.Fatal(err)
				}
				if got := time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano); got != k.want {
					t.Errorf("time %s, want %s", got, k.want)
				}
			}
		})
	}
	// The mapping is the original's.
	if got := zf.(*Format).Mapping().Time; got != "timestamp" {
		t.Errorf("time key %q after InZone", got)
	}
}
