package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/nginx"
)

// BenchmarkReadNginx reads an nginx log (the sample day of traffic, or the
// file named by $SPRAYWATCH_BENCH_NGINX) parsing every line in full or
// skimming the lines that are not POSTs to a login path (lazily, or
// checking every line), through Prefetch or not, and draining the records
// as a replay would. ns/op is per line.
func BenchmarkReadNginx(b *testing.B) {
	path := os.Getenv("SPRAYWATCH_BENCH_NGINX")
	if path == "" {
		path = filepath.Join("..", "samples", "data", "nginx-access.log")
	}
	if _, err := os.Stat(path); err != nil {
		b.Skip(err)
	}
	login := func(r *event.Record) bool {
		return bytes.Equal(r.Get(event.Method), []byte("POST")) && bytes.Contains(r.Get(event.URLPath), []byte("login"))
	}
	for _, c := range []struct {
		name                     string
		skim, checkAll, prefetch bool
	}{
		{"full", false, false, false}, {"skim", true, false, false}, {"skim-check-all", true, true, false},
		{"full-prefetch", false, false, true}, {"skim-prefetch", true, false, true}, {"skim-check-all-prefetch", true, true, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			lines := 0
			for b.Loop() {
				fs := ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.Proxy, Paths: []string{path}, Parser: nginx.Default().NewParser()})
				if c.skim {
					fs.Skim(login)
					fs.CheckAllLines(c.checkAll)
				}
				var src ingest.Source = fs
				var p *ingest.Prefetcher
				if c.prefetch {
					p = ingest.Prefetch(context.Background(), fs, 0)
					src = p
				}
				var r event.Record
				for {
					var err error
					if p != nil {
						_, err = p.Take(context.Background())
					} else {
						err = src.Next(context.Background(), &r)
					}
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				if p != nil {
					p.Close()
				}
				lines += int(fs.Stats().Lines.Load())
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(lines), "ns/line")
		})
	}
}
