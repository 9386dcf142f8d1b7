package traefik_test

import (
	"fmt"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
	"github.com/spraywatch/spraywatch/ingest/nginx"
	"github.com/spraywatch/spraywatch/ingest/traefik"
)

// TestSkimReplay replays the sample day rendered as Traefik writes it,
// skimmed and not.
func TestSkimReplay(t *testing.T) {
	evs, app := skimtest.SampleDay(t, nginx.Default().NewParser())
	f, err := traefik.New(traefik.Options{})
	if err != nil {
		t.Fatal(err)
	}
	skimtest.CheckReplays(t, f, skimtest.WriteLog(t, evs, func(e *event.Event) string {
		q := func(f event.Field) string { return fmt.Sprintf("%q", skimtest.Dash(e.Get(f))) }
		port := 40000 + e.Time/1e9%20000
		subject := ""
		if s := e.Get(event.TLSSubject); s != "" {
			subject = fmt.Sprintf(`"TLSClientSubject":%q,`, s)
		}
		return fmt.Sprintf(`{"ClientAddr":"%s:%d","ClientHost":"%s","ClientPort":"%d","ClientUsername":"-","DownstreamContentSize":%s,"DownstreamStatus":%s,"Duration":12345678,"RequestHost":"app.example.org","RequestMethod":%s,"RequestPath":%s,"RequestProtocol":"HTTP/1.1","StartUTC":"%s",%s"TLSVersion":"1.3","level":"info","msg":"","request_User-Agent":%s,"request_X-Request-Id":%s,"time":"2026-12-04T09:00:01Z"}`,
			e.Get(event.SourceIP), port, e.Get(event.SourceIP), port, skimtest.Dash(e.Get(event.BodyBytes)), skimtest.Dash(e.Get(event.Status)),
			q(event.Method), q(event.URLPath), skimtest.RFC3339(e.Time), subject, q(event.UserAgent), q(event.RequestID))
	}), app)
}
