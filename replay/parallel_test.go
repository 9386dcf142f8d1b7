package replay

import (
	"bytes"
	"compress/gzip"
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
	"github.com/spraywatch/spraywatch/samples"
)

// parallelInputs writes the generated sample day as two proxy files, the
// second gzipped and cut short, and an app file, with rejected lines,
// ignored lines, an over-long line and a lone timestamp far in the future
// among them.
func parallelInputs(t *testing.T) (proxy []string, app string) {
	var p, a bytes.Buffer
	if _, _, err := samples.Generate(samples.DefaultConfig(), &p, &a); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(p.String(), "\n")
	var first, second strings.Builder
	for i, l := range lines {
		w := &first
		if i >= len(lines)/2 {
			w = &second
		}
		switch {
		case i == 7 || i == 2510 || i >= len(lines)/2 && i%613 == 7:
			fmt.Fprintf(w, "not an access log line %d\n", i)
		case i == 1500:
			w.WriteString(strings.Repeat("A", 5000) + "\n")
		case i == 2500:
			w.WriteString(strings.Replace(l, "/Dec/2026:", "/Dec/2031:", 1))
			continue
		}
		w.WriteString(l)
	}
	// The gzip file is cut short in the middle of a line three quarters
	// in, as a copy interrupted leaves it.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	cut := second.Len() * 3 / 4
	zw.Write([]byte(second.String()[:cut]))
	zw.Flush()
	kept := gz.Len()
	zw.Write([]byte(second.String()[cut:]))
	zw.Close()
	gz.Truncate(kept)
	var appOut strings.Builder
	for i, l := range strings.SplitAfter(a.String(), "\n") {
		switch i % 401 {
		case 11:
			appOut.WriteString(`{"timestamp":"2026-12-04T09:00:01Z","event":"logout"}` + "\n")
		case 12:
			appOut.WriteString("{broken\n")
		}
		appOut.WriteString(l)
	}
	dir := t.TempDir()
	proxy = []string{filepath.Join(dir, "access.log.1"), filepath.Join(dir, "access.log.gz")}
	app = filepath.Join(dir, "auth.log")
	for path, data := range map[string][]byte{proxy[0]: []byte(first.String()), proxy[1]: gz.Bytes(), app: []byte(appOut.String())} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return proxy, app
}

// replayParallel replays the files with the default rules, the proxy files
// skimmed, each source read through PrefetchParallel with the given
// workers (0: no read-ahead at all), and describes the alerts, events,
// counts and kept errors, or the error that stopped the replay.
func replayParallel(t *testing.T, proxy []string, app string, workers int, strict bool) (replayResult, []int) {
	t.Helper()
	df, err := django.NewFormat(django.DefaultMapping())
	if err != nil {
		t.Fatal(err)
	}
	nf := nginx.Default()
	ps := ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.Proxy, Paths: proxy, Parser: nf.NewParser(), NewParser: nf.NewParser,
		Format: "nginx", MaxLineBytes: 4096, Strict: strict})
	as := ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.App, Paths: []string{app}, Parser: df.NewParser(), NewParser: df.NewParser,
		Format: "django", MaxLineBytes: 4096, Strict: strict})
	var res replayResult
	var out bytes.Buffer
	cfg := detect.Config{
		Rules: rules.Default(),
		Sink:  alert.NewWriter(nopCloser{&out}),
		OnEvent: func(e *event.Event) {
			res.events = append(res.events, fmt.Sprintf("%d %q", e.Time, e.Values))
		},
	}
	ps.Skim(detect.NewLoginFilter(cfg.Correlator).Full)
	eng, err := detect.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srcs := []ingest.Source{ps, as}
	var used []int
	if workers > 0 {
		for i, s := range srcs {
			p := ingest.PrefetchParallel(context.Background(), s, workers)
			defer p.Close()
			srcs[i] = p
			used = append(used, p.Workers())
		}
	}
	var st Stats
	runErr := RunOptions(context.Background(), srcs, eng, Options{}, &st)
	res.alerts = out.String()
	var b strings.Builder
	if runErr != nil {
		fmt.Fprintf(&b, "error: %v\n", runErr)
	}
	for _, s := range []*ingest.Stats{ps.Stats(), as.Stats()} {
		fmt.Fprintf(&b, "%s: %d lines %d parsed %d ignored %d rejected %d too long\n", s.Kind, s.Lines.Load(), s.Parsed.Load(), s.Ignored.Load(), s.Rejected.Load(), s.TooLong.Load())
		for _, err := range s.Errors() {
			fmt.Fprintf(&b, "  rejected: %v\n", err)
		}
		for _, err := range s.Damages() {
			fmt.Fprintf(&b, "  damaged: %v\n", err)
		}
	}
	fmt.Fprintf(&b, "merge: %d ahead rejected %d behind\n", st.AheadRejected.Load(), st.Behind.Load())
	if runErr == nil {
		j := eng.JoinStats()
		fmt.Fprintf(&b, "join: %d matched %d app_only %d proxy_only %d duplicates %d evicted %d unrelated\n",
			j.Matched.Load(), j.AppOnly.Load(), j.ProxyOnly.Load(), j.Duplicates.Load(), j.Evicted.Load(), j.Unrelated.Load())
	}
	res.counts = b.String()
	return res, used
}

// TestParseWorkersSameOutput replays the same inputs without read-ahead
// and with 1, 2 and 4 parse workers per source: alerts, events, counts
// and kept errors must be identical; a strict replay must stop with the
// same error and the same counts of the file it stops in.
func TestParseWorkersSameOutput(t *testing.T) {
	proxy, app := parallelInputs(t)
	for _, strict := range []bool{false, true} {
		want, _ := replayParallel(t, proxy, app, 0, strict)
		switch {
		case !strict && (want.alerts == "" || !strings.Contains(want.counts, "1 too long") || !strings.Contains(want.counts, "1 ahead rejected") ||
			!strings.Contains(want.counts, "access.log.gz:") || !strings.Contains(want.counts, "skipped: more than") ||
			!strings.Contains(want.counts, "damaged: "+proxy[1]+": the compressed data ends early after line ")):
			t.Fatalf("the inputs miss a case:\n%s", want.counts)
		case strict && !strings.HasPrefix(want.counts, "error: "+proxy[0]+":8:1: "):
			t.Fatalf("strict replay did not stop at the first bad line:\n%s", want.counts)
		}
		for _, workers := range []int{1, 2, 4} {
			got, used := replayParallel(t, proxy, app, workers, strict)
			if fmt.Sprint(used) != fmt.Sprint([]int{workers, workers}) {
				t.Errorf("%d workers asked, %v used", workers, used)
			}
			if got.alerts != want.alerts {
				t.Errorf("strict %v, %d workers: alerts differ:\n%s\nwant\n%s", strict, workers, got.alerts, want.alerts)
			}
			if strings.Join(got.events, "\n") != strings.Join(want.events, "\n") {
				t.Errorf("strict %v, %d workers: %d events differ from %d", strict, workers, len(got.events), len(want.events))
			}
			if strict {
				// The run stopped at the proxy file's first bad line: the
				// app source read ahead by as much as it had time to.
				got.counts, want.counts = strictPart(got.counts), strictPart(want.counts)
			}
			if got.counts != want.counts {
				t.Errorf("strict %v, %d workers: counts differ:\n%s\nwant\n%s", strict, workers, got.counts, want.counts)
			}
		}
	}
}

// strictPart is the error and the proxy source's counts.
func strictPart(counts string) string {
	s, _, _ := strings.Cut(counts, "app: ")
	return s
}
