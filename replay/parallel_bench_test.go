//go:build unix

package replay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/django"
	"github.com/spraywatch/spraywatch/ingest/nginx"
	"github.com/spraywatch/spraywatch/rules"
	"github.com/spraywatch/spraywatch/samples"
)

// BenchmarkReplayParseWorkers replays a generated day of nginx and Django
// logs (samples at scale 4) with the default rules, the proxy log skimmed,
// each source read through ingest.PrefetchParallel with 1, 2 and 4 parse
// workers. lines/s is wall-clock, cpu-ns/line the process's CPU time per
// line (the figure to compare on a busy machine).
func BenchmarkReplayParseWorkers(b *testing.B) {
	c := samples.DefaultConfig()
	c.Scale = 4
	var p, a bytes.Buffer
	if _, _, err := samples.Generate(c, &p, &a); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	proxy, app := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	if err := os.WriteFile(proxy, p.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(app, a.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	df, err := django.NewFormat(django.DefaultMapping())
	if err != nil {
		b.Fatal(err)
	}
	nf := nginx.Default()
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			var lines int64
			cpu := cpuTime()
			for b.Loop() {
				ps := ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.Proxy, Paths: []string{proxy}, Parser: nf.NewParser(), NewParser: nf.NewParser})
				as := ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.App, Paths: []string{app}, Parser: df.NewParser(), NewParser: df.NewParser})
				cfg := detect.Config{Rules: rules.Default(), Sink: alert.NewWriter(discard{})}
				ps.Skim(detect.NewLoginFilter(cfg.Correlator).Full)
				eng, err := detect.NewEngine(cfg)
				if err != nil {
					b.Fatal(err)
				}
				srcs := []ingest.Source{ingest.PrefetchParallel(context.Background(), ps, workers), ingest.PrefetchParallel(context.Background(), as, workers)}
				if err := Run(context.Background(), srcs, eng); err != nil {
					b.Fatal(err)
				}
				for _, s := range srcs {
					s.(*ingest.Prefetcher).Close()
				}
				lines += ps.Stats().Lines.Load() + as.Stats().Lines.Load()
			}
			cpu = cpuTime() - cpu
			b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(lines), "cpu-ns/line")
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Close() error                { return nil }

var _ io.WriteCloser = discard{}

// cpuTime returns the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
