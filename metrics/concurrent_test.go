package metrics

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// TestScrapeWhileReplaying scrapes continuously while the engine runs with
// the top-identities refresh hooked on its goroutine, as replay and serve
// wire it (run with -race), and checks the refreshes did happen.
func TestScrapeWhileReplaying(t *testing.T) {
	r := newSampleRun(t, time.Time{})
	var m *Metrics
	var eng *detect.Engine
	var err error
	eng, err = detect.NewEngine(detect.Config{
		Rules:   rules.Default(),
		Sink:    r.sink,
		OnEvent: func(*event.Event) { m.TopK().Tick(eng) },
	})
	if err != nil {
		t.Fatal(err)
	}
	r.engine = eng
	cfg := r.config()
	cfg.TopInterval = time.Nanosecond // refresh at every scrape
	if m, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	scrapes := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if _, err := m.Registry().Gather(); err != nil {
				t.Errorf("gathering while replaying: %v", err)
				return
			}
			scrapes++
		}
	}()
	runErr := r.run(context.Background(), time.Time{})
	cancel()
	wg.Wait()
	if runErr != nil {
		t.Fatal(runErr)
	}
	if scrapes == 0 || m.TopK().last.Load() == 0 {
		t.Fatalf("%d scrapes, last refresh %d: the engine goroutine never refreshed the ranking", scrapes, m.TopK().last.Load())
	}
	if got := series(t, m.Registry(), "spraywatch_events_total")[""]; got != float64(eng.Stats().Events.Load()) || got == 0 {
		t.Errorf("events_total %v, engine %d", got, eng.Stats().Events.Load())
	}
}

func BenchmarkScrape(b *testing.B) {
	r, m := replayed(context.Background(), b, time.Time{})
	m.TopK().Refresh(r.engine)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Registry().Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTopGroups ranks 50,000 identities (the default group cap).
func BenchmarkTopGroups(b *testing.B) {
	e, base := rankedEngine(b)
	for i := range 50_000 {
		failures(b, e, "id"+itoa(i), 1+i%9, base+int64(i)*int64(time.Millisecond))
	}
	var buf []detect.GroupValue
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.TopGroups(DefaultTopRule, DefaultTopK, buf)
	}
}

// BenchmarkTopGroupsFlood ranks a flood: 20,000 identities with one
// failure each (single entries, see detect) and one sprayed certificate,
// so that the top K ends in groups of one event.
func BenchmarkTopGroupsFlood(b *testing.B) {
	e, base := rankedEngine(b)
	failures(b, e, "sprayed", 12, base)
	for i := range 20_000 {
		failures(b, e, "id"+itoa(i), 1, base+int64(i)*int64(time.Millisecond))
	}
	var buf []detect.GroupValue
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.TopGroups(DefaultTopRule, DefaultTopK, buf)
	}
	if len(buf) != DefaultTopK || buf[0].Value != 12 {
		b.Fatalf("ranking %+v, want the sprayed certificate first of %d", buf, DefaultTopK)
	}
}

// rankedEngine returns an engine of the default pack for the ranking
// benchmarks to fill, and the event time they start at.
func rankedEngine(b *testing.B) (*detect.Engine, int64) {
	e := defaultEngine(b)
	return e, time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC).UnixNano()
}

// BenchmarkTickIdle is the per-event cost of the hook when no refresh is due.
func BenchmarkTickIdle(b *testing.B) {
	m, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	e := defaultEngine(b)
	top := m.TopK()
	b.ReportAllocs()
	for b.Loop() {
		top.Tick(e)
	}
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		if i /= 10; i == 0 {
			return string(b[n:])
		}
	}
}
