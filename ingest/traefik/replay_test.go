package traefik_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/django"
	"github.com/spraywatch/spraywatch/ingest/nginx"
	"github.com/spraywatch/spraywatch/ingest/traefik"
	"github.com/spraywatch/spraywatch/replay"
	"github.com/spraywatch/spraywatch/rules"
)

// sampleDay reads the committed sample day of nginx traffic as events, and
// returns them with the path of its Django log; it skips without them.
func sampleDay(t *testing.T) ([]event.Event, string) {
	dir := filepath.Join("..", "..", "samples", "data")
	data, err := os.ReadFile(filepath.Join(dir, "nginx-access.log"))
	if err != nil {
		t.Skip(err)
	}
	p := nginx.Default().NewParser()
	var evs []event.Event
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var r event.Record
		if err := p.Parse(l, &r); err != nil {
			t.Fatalf("sample line %q: %v", l, err)
		}
		var e event.Event
		e.SetFromRecord(&r)
		evs = append(evs, e)
	}
	return evs, filepath.Join(dir, "django-auth.log")
}

// writeLog renders the events with line into a file.
func writeLog(t *testing.T, evs []event.Event, line func(*event.Event) string) string {
	var b strings.Builder
	for i := range evs {
		b.WriteString(line(&evs[i]))
		b.WriteByte('\n')
	}
	name := filepath.Join(t.TempDir(), "proxy.log")
	if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// replayed replays a proxy log of format f with the Django log and the
// default rules, skimming the proxy log or not, and returns the alerts,
// events and counts.
func replayed(t *testing.T, f ingest.Format, proxy, app string, skim bool) (alerts, events, counts string) {
	t.Helper()
	df, err := django.NewFormat(django.DefaultMapping())
	if err != nil {
		t.Fatal(err)
	}
	ps := ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.Proxy, Paths: []string{proxy}, Parser: f.NewParser(), Format: f.Name()})
	as := ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.App, Paths: []string{app}, Parser: df.NewParser(), Format: "django"})
	var out bytes.Buffer
	var ev strings.Builder
	cfg := detect.Config{
		Rules: rules.Default(),
		Sink:  alert.NewWriter(nopCloser{&out}),
		OnEvent: func(e *event.Event) {
			fmt.Fprintf(&ev, "%d %q\n", e.Time, e.Values)
		},
	}
	if skim {
		ps.Skim(detect.NewLoginFilter(cfg.Correlator).Login)
	}
	eng, err := detect.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := replay.Run(context.Background(), []ingest.Source{ps, as}, eng); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, s := range []*ingest.Stats{ps.Stats(), as.Stats()} {
		fmt.Fprintf(&b, "%s: %d lines %d parsed %d ignored %d rejected %q\n", s.Kind, s.Lines.Load(), s.Parsed.Load(), s.Ignored.Load(), s.Rejected.Load(), s.Errors())
	}
	j := eng.JoinStats()
	fmt.Fprintf(&b, "join: %d matched %d app_only %d proxy_only %d duplicates %d evicted %d unrelated\n",
		j.Matched.Load(), j.AppOnly.Load(), j.ProxyOnly.Load(), j.Duplicates.Load(), j.Evicted.Load(), j.Unrelated.Load())
	return out.String(), ev.String(), b.String()
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

// checkReplays checks that skimming the proxy log changes no alert, event
// or count, and that the day gives alerts.
func checkReplays(t *testing.T, f ingest.Format, proxy, app string) {
	t.Helper()
	a1, e1, c1 := replayed(t, f, proxy, app, false)
	a2, e2, c2 := replayed(t, f, proxy, app, true)
	t.Logf("%s: %d alert bytes\n%s", f.Name(), len(a1), c1)
	if a1 == "" || e1 == "" || !strings.Contains(c1, " 0 rejected") {
		t.Fatalf("%s: the sample day gives no alerts or no events, or rejected lines:\n%s", f.Name(), c1)
	}
	if a1 != a2 {
		t.Errorf("%s: skimmed replay's alerts differ:\n%s\nwant\n%s", f.Name(), a2, a1)
	}
	if e1 != e2 {
		t.Errorf("%s: skimmed replay's events differ", f.Name())
	}
	if c1 != c2 {
		t.Errorf("%s: skimmed replay's counts differ:\n%s\nwant\n%s", f.Name(), c2, c1)
	}
}

func dash(v string) string {
	if v == "" {
		return "-"
	}
	return v
}

func rfc3339(t int64) string { return time.Unix(0, t).UTC().Format(time.RFC3339Nano) }

// TestSkimReplay replays the sample day rendered as Traefik writes it,
// skimmed and not.
func TestSkimReplay(t *testing.T) {
	evs, app := sampleDay(t)
	f, err := traefik.New(traefik.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkReplays(t, f, writeLog(t, evs, func(e *event.Event) string {
		q := func(f event.Field) string { return fmt.Sprintf("%q", dash(e.Get(f))) }
		port := 40000 + e.Time/1e9%20000
		subject := ""
		if s := e.Get(event.TLSSubject); s != "" {
			subject = fmt.Sprintf(`"TLSClientSubject":%q,`, s)
		}
		return fmt.Sprintf(`{"ClientAddr":"%s:%d","ClientHost":"%s","ClientPort":"%d","ClientUsername":"-","DownstreamContentSize":%s,"DownstreamStatus":%s,"Duration":12345678,"RequestHost":"app.example.org","RequestMethod":%s,"RequestPath":%s,"RequestProtocol":"HTTP/1.1","StartUTC":"%s",%s"TLSVersion":"1.3","level":"info","msg":"","request_User-Agent":%s,"request_X-Request-Id":%s,"time":"2026-12-04T09:00:01Z"}`,
			e.Get(event.SourceIP), port, e.Get(event.SourceIP), port, dash(e.Get(event.BodyBytes)), dash(e.Get(event.Status)),
			q(event.Method), q(event.URLPath), rfc3339(e.Time), subject, q(event.UserAgent), q(event.RequestID))
	}), app)
}
