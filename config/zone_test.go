package config

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata" // the tests need the zones whatever the machine has

	"github.com/spraywatch/spraywatch/event"
)

// TestTimeZone reads a python-logging source with and without time_zone:
// the asctime without offset is read in the zone, the one with an offset
// keeps it.
func TestTimeZone(t *testing.T) {
	dir := t.TempDir()
	log := "2026-07-01 12:00:00,000 WARNING auth [r1] Login failed for alice\n" +
		"2026-07-01T12:00:00+00:00 WARNING auth [r2] Login failed for bob\n"
	if err := os.WriteFile(filepath.Join(dir, "app.log"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	const src = `sources:
  - kind: app
    format: python-logging
    definition: |
      format: '%%(asctime)s %%(levelname)s %%(name)s [%%(request_id)s] %%(message)s'
      message_pattern: 'Login failed for (?P<username>\S+)'
      outcomes: {"": failure}
    paths: [app.log]
%s`
	for _, c := range []struct {
		name, extra string
		want        []string
	}{
		{"no time_zone", "", []string{"2026-07-01T12:00:00Z", "2026-07-01T12:00:00Z"}},
		{"Europe/Berlin", "    time_zone: Europe/Berlin\n", []string{"2026-07-01T10:00:00Z", "2026-07-01T12:00:00Z"}},
		{"fixed offset", "    time_zone: \"-05:00\"\n", []string{"2026-07-01T17:00:00Z", "2026-07-01T12:00:00Z"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse(filepath.Join(dir, "c.yml"), []byte(fmt.Sprintf(src, c.extra)))
			if err != nil {
				t.Fatal(err)
			}
			srcs, _, err := cfg.Open(&cfg.Sources[0])
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range c.want {
				var r event.Record
				if err := srcs[0].Next(context.Background(), &r); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				if got := time.Unix(0, r.Time).UTC().Format(time.RFC3339); got != want {
					t.Errorf("record %d (%s): time %s, want %s", i, r.Get(event.UserName), got, want)
				}
			}
		})
	}
}
