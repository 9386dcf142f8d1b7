package metrics

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/formats"
	"github.com/spraywatch/spraywatch/replay"
	"github.com/spraywatch/spraywatch/rules"
	"github.com/spraywatch/spraywatch/samples"
)

// repoRoot returns the module's root directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Dir(filepath.Dir(file))
}

// campaign returns the labelled sample campaign with the given id.
func campaign(t testing.TB, id string) samples.Campaign {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "samples", "data", "campaigns.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cs, err := samples.ReadLabels(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("campaign %s not in the samples' labels", id)
	return samples.Campaign{}
}

// until ends a source at the first record after the cutoff, as if the
// logs had been read at that moment.
type until struct {
	ingest.Source
	cut int64
}

func (u until) Next(ctx context.Context, r *event.Record) error {
	if err := u.Source.Next(ctx, r); err != nil {
		return err
	}
	if r.Time > u.cut {
		return io.EOF
	}
	return nil
}

// sampleRun is the replay pipeline over the committed samples.
type sampleRun struct {
	sources []ingest.Source
	engine  *detect.Engine
	sink    *alert.Writer
}

// newSampleRun builds the replay pipeline over samples/data with the
// default rules, stopping at cut (0: read everything).
func newSampleRun(t testing.TB, cut time.Time) *sampleRun {
	t.Helper()
	root := repoRoot(t)
	proxyFmt, err := formats.Proxy("nginx", "")
	if err != nil {
		t.Fatal(err)
	}
	appFmt, err := formats.App("django-json", "")
	if err != nil {
		t.Fatal(err)
	}
	r := &sampleRun{sink: alert.NewWriter(nopWriteCloser{io.Discard})}
	for _, s := range []struct {
		kind   event.Kind
		file   string
		format ingest.Format
	}{
		{event.Proxy, "nginx-access.log", proxyFmt},
		{event.App, "django-auth.log", appFmt},
	} {
		r.sources = append(r.sources, ingest.NewFileSource(ingest.FileSourceConfig{
			Kind: s.kind, Paths: []string{filepath.Join(root, "samples", "data", s.file)},
			Parser: s.format.NewParser(), Format: s.format.Name(),
		}))
	}
	r.engine, err = detect.NewEngine(detect.Config{Rules: rules.Default(), Sink: r.sink})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// run replays the sources up to cut (zero: to the end).
func (r *sampleRun) run(ctx context.Context, cut time.Time) error {
	srcs := r.sources
	if !cut.IsZero() {
		srcs = make([]ingest.Source, len(r.sources))
		for i, s := range r.sources {
			srcs[i] = until{s, cut.UnixNano()}
		}
	}
	return replay.Run(ctx, srcs, r.engine)
}

// replayed replays the samples up to cut (zero: to the end) and returns
// the run and the metrics over it.
func replayed(ctx context.Context, t testing.TB, cut time.Time) (*sampleRun, *Metrics) {
	t.Helper()
	r := newSampleRun(t, cut)
	if err := r.run(ctx, cut); err != nil {
		t.Fatal(err)
	}
	m, err := New(r.config())
	if err != nil {
		t.Fatal(err)
	}
	return r, m
}

func (r *sampleRun) config() Config {
	return Config{
		Sources: func() []*ingest.Stats { return SourceStats(r.sources) },
		Engine:  func() *detect.Engine { return r.engine },
		Sinks:   func() []*alert.SinkStats { return SinkStats(r.sink) },
		Command: "replay",
	}
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

var errStop = errors.New("stop")

// defaultEngine returns an engine with the default rules whose alerts go
// nowhere.
func defaultEngine(t testing.TB) *detect.Engine {
	t.Helper()
	e, err := detect.NewEngine(detect.Config{Rules: rules.Default(), Sink: alert.NewWriter(nopWriteCloser{io.Discard})})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
