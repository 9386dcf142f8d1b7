package haproxy_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest/haproxy"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
	"github.com/spraywatch/spraywatch/ingest/nginx"
)

// TestSkimReplay replays the sample day rendered in the Reference
// log-format behind a syslog prefix, skimmed and not.
func TestSkimReplay(t *testing.T) {
	evs, app := skimtest.SampleDay(t, nginx.Default().NewParser())
	f, err := haproxy.Compile(haproxy.Reference)
	if err != nil {
		t.Fatal(err)
	}
	skimtest.CheckReplays(t, f, skimtest.WriteLog(t, evs, func(e *event.Event) string {
		v := func(f event.Field) string { return skimtest.Dash(e.Get(f)) }
		tm := time.Unix(0, e.Time).UTC()
		used, verify := "1", "0"
		if e.Get(event.TLSSubject) == "" {
			used = "0"
		}
		return fmt.Sprintf(`<134>%s lb1 haproxy[2301]: %s:%d [%s] fe_mtls~ be_app/app1 %s %s "%s %s HTTP/1.1" id=%s used=%s verify=%s sha1=%s sha256=- serial=%s sdn="%s" idn="%s"`,
			tm.Format(time.Stamp), e.Get(event.SourceIP), 40000+e.Time/1e9%20000, tm.Format("02/Jan/2006:15:04:05.000"), v(event.Status), v(event.BodyBytes),
			v(event.Method), v(event.URLPath), v(event.RequestID), used, verify, v(event.TLSSHA1), v(event.TLSSerial),
			e.Get(event.TLSSubject), e.Get(event.TLSIssuer))
	}), app)
}
