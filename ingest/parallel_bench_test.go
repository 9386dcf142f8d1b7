//go:build unix

package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/nginx"
)

// BenchmarkPrefetchParallel reads an nginx log (the sample day of traffic
// written 20 times over, or the file named by $SPRAYWATCH_BENCH_NGINX)
// through PrefetchParallel with 1 (Prefetch), 2 and 4 workers, parsing in
// full or skimming, and drains the records with Take as a replay does.
// ns/line is wall time per line, cpu-ns/line the process's CPU time (user
// and system, every goroutine) per line, the figure to compare on a busy
// machine; allocs/line counts every allocation of the run, setup included.
func BenchmarkPrefetchParallel(b *testing.B) {
	path := os.Getenv("SPRAYWATCH_BENCH_NGINX")
	if path == "" {
		day, err := os.ReadFile(filepath.Join("..", "samples", "data", "nginx-access.log"))
		if err != nil {
			b.Skip(err)
		}
		path = filepath.Join(b.TempDir(), "access.log")
		if err := os.WriteFile(path, bytes.Repeat(day, 20), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	login := func(r *event.Record) bool {
		return bytes.Equal(r.Get(event.Method), []byte("POST")) && bytes.Contains(r.Get(event.URLPath), []byte("login"))
	}
	f := nginx.Default()
	for _, skim := range []bool{false, true} {
		for _, workers := range []int{1, 2, 4} {
			name := fmt.Sprintf("full/workers=%d", workers)
			if skim {
				name = fmt.Sprintf("skim/workers=%d", workers)
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				var lines int64
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				mallocs := ms.Mallocs
				cpu := cpuTime()
				for b.Loop() {
					fs := ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.Proxy, Paths: []string{path}, Parser: f.NewParser(), NewParser: f.NewParser})
					if skim {
						fs.Skim(login)
					}
					p := ingest.PrefetchParallel(context.Background(), fs, workers)
					for {
						_, err := p.Take(context.Background())
						if errors.Is(err, io.EOF) {
							break
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					p.Close()
					lines += fs.Stats().Lines.Load()
				}
				cpu = cpuTime() - cpu
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(lines), "ns/line")
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(lines), "cpu-ns/line")
				b.ReportMetric(float64(ms.Mallocs-mallocs)/float64(lines), "allocs/line")
			})
		}
	}
}

// cpuTime returns the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
