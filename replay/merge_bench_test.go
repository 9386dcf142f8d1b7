package replay

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/rules"
)

// takeSource hands out n partial proxy records in place, as a Prefetcher
// does: the lines a skim found were not logins, sixty a second.
type takeSource struct {
	n     int
	rec   event.Record
	stats ingest.Stats
}

func (s *takeSource) Take(context.Context) (*event.Record, error) {
	if s.n == 0 {
		return nil, io.EOF
	}
	s.n--
	s.rec.Time += int64(time.Second) / 60
	return &s.rec, nil
}

func (s *takeSource) Next(ctx context.Context, r *event.Record) error {
	rec, err := s.Take(ctx)
	if err == nil {
		*r = *rec
	}
	return err
}

func (s *takeSource) Stats() *ingest.Stats { return &s.stats }

// BenchmarkMergePartial measures what the replay's goroutine does for
// each record that is not a login (most lines of a proxy log): merge it,
// advance the engine's time and find that no app record waits for it.
func BenchmarkMergePartial(b *testing.B) {
	const n = 1 << 20
	line := []byte(`10.0.0.1 - - [04/Dec/2026:00:00:00 +0000] "GET /static/app.css HTTP/1.1" 200 310 rid=c31ec7bc9e67062e5c18b23fd4ee51e9`)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		eng, err := detect.NewEngine(detect.Config{Rules: rules.Default(), Sink: alert.NewFanout()})
		if err != nil {
			b.Fatal(err)
		}
		src := &takeSource{n: n}
		src.rec.Kind, src.rec.Raw = event.Proxy, line
		src.rec.Values[event.Method], src.rec.Values[event.URLPath] = line[44:47], line[48:62]
		src.rec.Values[event.RequestID] = line[len(line)-32:]
		b.StartTimer()
		if err := Run(context.Background(), []ingest.Source{src, &takeSource{}}, eng); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}
