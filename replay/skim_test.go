package replay

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/django"
	"github.com/spraywatch/spraywatch/ingest/nginx"
	"github.com/spraywatch/spraywatch/rules"
)

// replayResult is everything a replay produces that skimming must not
// change, and the lines the proxy source skimmed lazily.
type replayResult struct {
	alerts  string
	events  []string
	counts  string
	skimmed int64
}

// replayMode is how replayFiles reads the proxy log: skimmed (lazily, or
// checking every line) or not, read ahead (by Prefetch, or by
// PrefetchParallel with two workers) or not.
type replayMode struct {
	skim, checkAll     bool
	prefetch, parallel bool
}

func (m replayMode) String() string {
	return fmt.Sprintf("skim %v check all %v prefetch %v parallel %v", m.skim, m.checkAll, m.prefetch, m.parallel)
}

// replayFiles replays an nginx and a Django log with the default rules,
// reading the proxy log as m says.
func replayFiles(t *testing.T, proxy, app string, m replayMode) replayResult {
	t.Helper()
	df, err := django.NewFormat(django.DefaultMapping())
	if err != nil {
		t.Fatal(err)
	}
	ps := ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.Proxy, Paths: []string{proxy}, Parser: nginx.Default().NewParser(), Format: "nginx"})
	as := ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.App, Paths: []string{app}, Parser: df.NewParser(), Format: "django"})
	var res replayResult
	var out bytes.Buffer
	cfg := detect.Config{
		Rules: rules.Default(),
		Sink:  alert.NewWriter(nopCloser{&out}),
		OnEvent: func(e *event.Event) {
			res.events = append(res.events, fmt.Sprintf("%d %q", e.Time, e.Values))
		},
	}
	if m.skim {
		ps.Skim(detect.NewLoginFilter(cfg.Correlator).Full)
		ps.CheckAllLines(m.checkAll)
	}
	eng, err := detect.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srcs := []ingest.Source{ps, as}
	for i, s := range srcs {
		var p *ingest.Prefetcher
		switch {
		case m.parallel:
			p = ingest.PrefetchParallel(context.Background(), s, 2)
		case m.prefetch:
			p = ingest.Prefetch(context.Background(), s, 3)
		default:
			continue
		}
		defer p.Close()
		srcs[i] = p
	}
	if err := Run(context.Background(), srcs, eng); err != nil {
		t.Fatal(err)
	}
	res.alerts = out.String()
	var b strings.Builder
	for _, s := range []*ingest.Stats{ps.Stats(), as.Stats()} {
		fmt.Fprintf(&b, "%s: %d lines %d parsed %d ignored %d rejected %q\n", s.Kind, s.Lines.Load(), s.Records(), s.Ignored.Load(), s.Rejected.Load(), s.Errors())
	}
	j := eng.JoinStats()
	fmt.Fprintf(&b, "join: %d matched %d app_only %d proxy_only %d duplicates %d evicted %d unrelated\n",
		j.Matched.Load(), j.AppOnly.Load(), j.ProxyOnly.Load(), j.Duplicates.Load(), j.Evicted.Load(), j.Unrelated.Load())
	res.counts = b.String()
	res.skimmed = ps.Stats().SkimmedRecords()
	if n := as.Stats().Skimmed.Load(); n != 0 {
		t.Errorf("%v: %d app lines skimmed", m, n)
	}
	return res
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

// checkSkimReplay replays the files in every mode and checks that the
// results are the full parse's: the same alerts and events, the same
// counts when every line is checked, and the same counts but for lines the
// full parse rejects when skimming lazily: a lazy skim accepts a line that
// is not a login whatever its values beyond its time, request and request
// id, and rejects it only if the correlator completes it. It returns the
// full parse's result and the lazy skim's.
func checkSkimReplay(t *testing.T, proxy, app string) (full, lazy replayResult) {
	t.Helper()
	want := replayFiles(t, proxy, app, replayMode{})
	if want.skimmed != 0 {
		t.Errorf("full parse: %d lines skimmed", want.skimmed)
	}
	for _, m := range []replayMode{
		{prefetch: true}, {parallel: true},
		{skim: true, checkAll: true}, {skim: true, checkAll: true, prefetch: true}, {skim: true, checkAll: true, parallel: true},
		{skim: true}, {skim: true, prefetch: true}, {skim: true, parallel: true},
	} {
		got := replayFiles(t, proxy, app, m)
		if got.alerts != want.alerts {
			t.Errorf("%v: alerts differ:\n%s\nwant\n%s", m, got.alerts, want.alerts)
		}
		if strings.Join(got.events, "\n") != strings.Join(want.events, "\n") {
			t.Errorf("%v: events differ:\n%s\nwant\n%s", m, strings.Join(got.events, "\n"), strings.Join(want.events, "\n"))
		}
		if !m.skim || m.checkAll {
			if got.counts != want.counts || got.skimmed != 0 {
				t.Errorf("%v: counts differ:\n%s%d skimmed\nwant\n%s", m, got.counts, got.skimmed, want.counts)
			}
			continue
		}
		if lazy.counts == "" {
			lazy = got
		} else if got.counts != lazy.counts || got.skimmed != lazy.skimmed {
			t.Errorf("%v: counts differ:\n%s%d skimmed\nwant\n%s%d skimmed", m, got.counts, got.skimmed, lazy.counts, lazy.skimmed)
		}
	}
	return want, lazy
}

// TestSkimSamples replays the committed sample day of traffic.
func TestSkimSamples(t *testing.T) {
	dir := filepath.Join("..", "samples", "data")
	proxy, app := filepath.Join(dir, "nginx-access.log"), filepath.Join(dir, "django-auth.log")
	if _, err := os.Stat(proxy); err != nil {
		t.Skip(err)
	}
	res, lazy := checkSkimReplay(t, proxy, app)
	if res.alerts == "" || len(res.events) == 0 || !strings.Contains(res.counts, " 0 rejected") {
		t.Fatalf("the samples gave no alerts or no events, or rejected lines:\n%s", res.counts)
	}
	// No line of the samples is malformed: the lazy skim counts alike.
	if lazy.counts != res.counts || lazy.skimmed == 0 {
		t.Errorf("lazy skim: counts\n%s%d skimmed\nwant\n%ssome skimmed", lazy.counts, lazy.skimmed, res.counts)
	}
}

// TestSkimJoins replays small logs whose non-login lines complete waiting
// app records, carry no request id, or carry a bad value past the fields a
// skim reads: a lazy skim accepts such a line (skimmed), and rejects it,
// with its error, only if it completes an app record.
func TestSkimJoins(t *testing.T) {
	const cert = `verify=SUCCESS fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819 serial=4F2A9C0D11E3B7A1 dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example CA,O=Example Corp,C=US" rt=0.012`
	proxyLine := func(sec int, req, rid, tail string) string {
		return fmt.Sprintf(`203.0.113.7 - - [04/Dec/2026:09:00:%02d +0000] "%s HTTP/1.1" 200 512 "-" "curl/8.5" rid=%s %s`, sec, req, rid, tail)
	}
	appLine := func(sec int, rid, user string) string {
		return fmt.Sprintf(`{"timestamp":"2026-12-04T09:00:%02d.000000Z","level":"warning","logger":"accounts.auth","event":"login_failed","request_id":"%s","username":"%s","ip":"10.0.5.10"}`, sec, rid, user)
	}
	rid := func(i int) string { return fmt.Sprintf("%032x", i) }
	tests := []struct {
		name       string
		proxy, app []string
		wantJoin   string
		skimmed    int64    // lines the lazy skim skimmed
		lazy       []string // what its counts hold, if not the full parse's
	}{
		{
			name:     "a non-login line completes a waiting app record",
			app:      []string{appLine(1, rid(1), "alice")},
			proxy:    []string{proxyLine(2, "GET /api/v1/session", rid(1), cert)},
			wantJoin: "join: 1 matched 0 app_only 0 proxy_only 0 duplicates 0 evicted 0 unrelated",
			skimmed:  1,
		},
		{
			name:     "a login line waits, a non-login line is unrelated",
			app:      []string{appLine(3, rid(2), "bob")},
			proxy:    []string{proxyLine(1, "GET /static/app.js", rid(9), cert), proxyLine(2, "POST /accounts/login/", rid(2), cert)},
			wantJoin: "join: 1 matched 0 app_only 0 proxy_only 0 duplicates 0 evicted 1 unrelated",
			skimmed:  1,
		},
		{
			name:     "lines without request id",
			app:      []string{appLine(1, rid(3), "carol")},
			proxy:    []string{proxyLine(2, "GET /", "-", cert), proxyLine(3, "POST /accounts/login/", "-", cert)},
			wantJoin: "join: 0 matched 1 app_only 1 proxy_only 0 duplicates 0 evicted 1 unrelated",
			skimmed:  1,
		},
		{
			name: "a non-login line with a bad value further along is rejected",
			app:  []string{appLine(1, rid(4), "dave")},
			proxy: []string{
				proxyLine(2, "GET /api/v1/session", rid(4), strings.Replace(cert, `dn="CN=svc-batch-01,`, `dn="CN=svc-batch-01,,`, 1)),
				proxyLine(3, "GET /api/v1/other", rid(5), strings.Replace(cert, "fp=0d5f", "fp=zz5f", 1)),
			},
			wantJoin: "join: 0 matched 1 app_only 0 proxy_only 0 duplicates 0 evicted 0 unrelated",
			// Skimmed lazily: the line the app record joins is rejected
			// when completed, with its error; the other is unrelated.
			skimmed: 1,
			lazy: []string{
				"proxy: 2 lines 1 parsed 0 ignored 1 rejected",
				`p.log:1:224: $ssl_client_s_dn: distinguished name: offset 16: attribute without '='"]`,
				"join: 0 matched 1 app_only 0 proxy_only 0 duplicates 0 evicted 1 unrelated",
			},
		},
		{
			name: "a non-login line far ahead of its file is rejected",
			app:  []string{appLine(1, rid(6), "erin")},
			proxy: []string{
				proxyLine(2, "GET /a", rid(7), cert),
				strings.Replace(proxyLine(3, "GET /b", rid(8), cert), "04/Dec/2026", "06/Dec/2026", 1),
				proxyLine(4, "GET /c", rid(9), cert),
			},
			wantJoin: "join: 0 matched 1 app_only 0 proxy_only 0 duplicates 0 evicted 2 unrelated",
			// The record rejected leaves Parsed and Skimmed alike.
			skimmed: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			proxy, app := filepath.Join(dir, "p.log"), filepath.Join(dir, "a.log")
			if err := os.WriteFile(proxy, []byte(strings.Join(tt.proxy, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(app, []byte(strings.Join(tt.app, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			res, lazy := checkSkimReplay(t, proxy, app)
			if !strings.Contains(res.counts, tt.wantJoin) {
				t.Errorf("counts:\n%s\nwant %q", res.counts, tt.wantJoin)
			}
			if lazy.skimmed != tt.skimmed {
				t.Errorf("lazy skim: %d skimmed, want %d", lazy.skimmed, tt.skimmed)
			}
			if tt.lazy == nil && lazy.counts != res.counts {
				t.Errorf("lazy skim: counts\n%s\nwant\n%s", lazy.counts, res.counts)
			}
			for _, w := range tt.lazy {
				if !strings.Contains(lazy.counts, w) {
					t.Errorf("lazy skim: counts\n%s\nwant %q in them", lazy.counts, w)
				}
			}
		})
	}
}
