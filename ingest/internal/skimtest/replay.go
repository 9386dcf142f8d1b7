package skimtest

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
	"github.com/spraywatch/spraywatch/replay"
	"github.com/spraywatch/spraywatch/rules"
)

// SampleDay reads the committed sample day of nginx traffic
// (samples/data/nginx-access.log) as events, parsing it with nginx, a
// parser of nginx's default format, and returns them with the path of the
// day's Django log; it skips the test without them.
func SampleDay(t *testing.T, nginx ingest.Parser) ([]event.Event, string) {
	t.Helper()
	dir := filepath.Join(moduleRoot(t), "samples", "data")
	data, err := os.ReadFile(filepath.Join(dir, "nginx-access.log"))
	if err != nil {
		t.Skip(err)
	}
	var evs []event.Event
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var r event.Record
		if err := nginx.Parse(l, &r); err != nil {
			t.Fatalf("sample line %q: %v", l, err)
		}
		var e event.Event
		e.SetFromRecord(&r)
		evs = append(evs, e)
	}
	return evs, filepath.Join(dir, "django-auth.log")
}

// moduleRoot returns the directory holding go.mod above the test's
// working directory.
func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Skip("no go.mod above the working directory")
		}
		dir = up
	}
}

// WriteLog renders each event with line into a file of the test's
// temporary directory, one line an event, and returns its path.
func WriteLog(t *testing.T, evs []event.Event, line func(*event.Event) string) string {
	t.Helper()
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

// Dash returns v, or "-" for an empty value, as proxies log one.
func Dash(v string) string {
	if v == "" {
		return "-"
	}
	return v
}

// RFC3339 formats an event time (Unix nanoseconds) in UTC with as many
// fractional digits as it needs.
func RFC3339(t int64) string { return time.Unix(0, t).UTC().Format(time.RFC3339Nano) }

// CheckReplays replays a proxy log of format f with the Django log app and
// the default rules, once read in full and once skimmed with the
// correlator's login filter, and checks that the sample day gives alerts,
// events and no rejected line, and that skimming changes no alert, event
// or count.
func CheckReplays(t *testing.T, f ingest.Format, proxy, app string) {
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
		ps.Skim(detect.NewLoginFilter(cfg.Correlator).Full)
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
