package replay

import (
	"context"
	"io"
	"math"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

// recordSource yields records of the given times, as a parsed log would.
type recordSource struct {
	times []int64
	stats ingest.Stats
}

func (s *recordSource) Next(_ context.Context, r *event.Record) error {
	if len(s.times) == 0 {
		return io.EOF
	}
	r.Reset()
	r.Kind, r.Time = event.App, s.times[0]
	r.Values[event.UserName] = []byte("alice")
	s.times = s.times[1:]
	s.stats.Parsed.Add(1)
	return nil
}

func (s *recordSource) Stats() *ingest.Stats { return &s.stats }

// Near the latest representable time, a record shortly after the previous
// one is not a leap ahead, however close newest+MaxTimeJump is to wrapping.
func TestMaxTimeJumpNearMaxTime(t *testing.T) {
	end := int64(math.MaxInt64)
	src := &recordSource{times: []int64{
		end - int64(30*time.Minute),
		end - int64(10*time.Minute), // 20 minutes on: in order
		end - int64(2*time.Hour),    // far behind: processed, counted
	}}
	eng, err := detect.NewEngine(detect.Config{Sink: alert.NewFanout()})
	if err != nil {
		t.Fatal(err)
	}
	var st Stats
	if err := RunOptions(context.Background(), []ingest.Source{src}, eng, Options{}, &st); err != nil {
		t.Fatal(err)
	}
	if n := st.AheadRejected.Load(); n != 0 {
		t.Errorf("%d records rejected as far ahead: %v", n, src.stats.Errors())
	}
	if n := st.Behind.Load(); n != 1 {
		t.Errorf("%d records behind, want 1", n)
	}
}
