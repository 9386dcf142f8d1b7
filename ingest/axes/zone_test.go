package axes

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
	f, err := New(readmePrefix)
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(`WARNING  [2026-07-01 12:00:01,234] [r1] axes.handlers.database: AXES: New login failure by {username: "alice", ip_address: "203.0.113.7", user_agent: "curl/8", path_info: "/login/"}. Created new record in the database.`)
	for _, c := range []struct {
		name string
		p    ingest.Parser
		want string
	}{
		{"Europe/Berlin", f.InZone(berlin).NewParser(), "2026-07-01T10:00:01.234Z"},
		{"UTC", f.NewParser(), "2026-07-01T12:00:01.234Z"},
	} {
		var r event.Record
		if err := c.p.Parse(line, &r); err != nil {
			t.Fatal(err)
		}
		if got := time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano); got != c.want {
			t.Errorf("%s: time %s, want %s", c.name, got, c.want)
		}
		if got := string(r.Get(event.UserName)); got != "alice" {
			t.Errorf("%s: username %q", c.name, got)
		}
	}
}
