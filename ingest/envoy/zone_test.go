package envoy

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
	text := func(layout string) func() (*Format, error) {
		return func() (*Format, error) {
			return CompileText(`[%START_TIME` + layout + `%] "%REQ(X-REQUEST-ID)%"`)
		}
	}
	json := func() (*Format, error) {
		return CompileJSON(`{start_time: "%START_TIME%", request_id: "%REQ(X-REQUEST-ID)%"}`)
	}
	for _, c := range []struct {
		name      string
		compile   func() (*Format, error)
		line      string
		when, utc string // the time read in Europe/Berlin, and as UTC
	}{
		{"RFC 3339 without offset", text(""), `[2026-12-04T10:00:01.123] "r1"`, "2026-12-04T09:00:01.123Z", "2026-12-04T10:00:01.123Z"},
		{"RFC 3339 with Z", text(""), `[2026-12-04T10:00:01.123Z] "r1"`, "2026-12-04T10:00:01.123Z", "2026-12-04T10:00:01.123Z"},
		{"layout without zone, summer", text("(%Y-%m-%d %H:%M:%S)"), `[2026-07-01 12:00:00] "r1"`, "2026-07-01T10:00:00Z", "2026-07-01T12:00:00Z"},
		{"layout without zone, spring gap", text("(%F %T.%3f)"), `[2026-03-29 02:30:00.250] "r1"`, "2026-03-29T01:30:00.25Z", "2026-03-29T02:30:00.25Z"},
		{"layout without zone, repeated hour", text("(%d/%b/%Y:%T)"), `[25/Oct/2026:02:30:00] "r1"`, "2026-10-25T00:30:00Z", "2026-10-25T02:30:00Z"},
		{"layout with %z", text("(%F %T %z)"), `[2026-07-01 12:00:00 +0000] "r1"`, "2026-07-01T12:00:00Z", "2026-07-01T12:00:00Z"},
		{"layout with a literal Z (Envoy's default)", text("(%Y-%m-%dT%H:%M:%S.%3fZ)"), `[2026-07-01T12:00:00.000Z] "r1"`, "2026-07-01T12:00:00Z", "2026-07-01T12:00:00Z"},
		{"layout with %Z", text("(%F %T %Z)"), `[2026-07-01 12:00:00 UTC] "r1"`, "2026-07-01T12:00:00Z", "2026-07-01T12:00:00Z"},
		{"layout with %s", text("(%s)"), `[1782907200] "r1"`, "2026-07-01T12:00:00Z", "2026-07-01T12:00:00Z"},
		{"JSON without offset", json, `{"start_time":"2026-12-04T10:00:01.123","request_id":"r1"}`, "2026-12-04T09:00:01.123Z", "2026-12-04T10:00:01.123Z"},
		{"JSON with offset", json, `{"start_time":"2026-12-04T10:00:01.123+01:00","request_id":"r1"}`, "2026-12-04T09:00:01.123Z", "2026-12-04T09:00:01.123Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := c.compile()
			if err != nil {
				t.Fatal(err)
			}
			want := map[event.Field]string{event.RequestID: "r1"}
			zf := f.InZone(berlin)
			skimtest.CheckParse(t, zf.NewParser(), c.line, c.when, want)
			skimtest.CheckParse(t, f.NewParser(), c.line, c.utc, want)
			var r event.Record
			if _, err := zf.NewParser().(ingest.Skimmer).Skim([]byte(c.line), &r, nil); err != nil {
				t.Fatal(err)
			}
			if got := skimtest.RFC3339(r.Time); got != c.when {
				t.Errorf("Skim: time %s, want %s", got, c.when)
			}
		})
	}
}
