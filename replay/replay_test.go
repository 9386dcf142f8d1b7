package replay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/django"
	"github.com/spraywatch/spraywatch/ingest/nginx"
	"github.com/spraywatch/spraywatch/rules"
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
// runRecords replays src through an engine with no rules and returns the
// replay's statistics.
func runRecords(t *testing.T, src *recordSource) *Stats {
	t.Helper()
	eng, err := detect.NewEngine(detect.Config{Sink: alert.NewFanout()})
	if err != nil {
		t.Fatal(err)
	}
	var st Stats
	if err := RunOptions(context.Background(), []ingest.Source{src}, eng, Options{}, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func TestMaxTimeJumpNearMaxTime(t *testing.T) {
	end := int64(math.MaxInt64)
	src := &recordSource{times: []int64{
		end - int64(30*time.Minute),
		end - int64(10*time.Minute), // 20 minutes on: in order
		end - int64(2*time.Hour),    // far behind: processed, counted
	}}
	st := runRecords(t, src)
	if n := st.AheadRejected.Load(); n != 0 {
		t.Errorf("%d records rejected as far ahead: %v", n, src.stats.Errors())
	}
	if n := st.Behind.Load(); n != 1 {
		t.Errorf("%d records behind, want 1", n)
	}
}

// failAfter is a source that fails after n records of src.
type failAfter struct {
	ingest.Source
	n int
}

var errCut = errors.New("cut short")

func (s *failAfter) Next(ctx context.Context, r *event.Record) error {
	if s.n == 0 {
		return errCut
	}
	s.n--
	return s.Source.Next(ctx, r)
}

// A replay that stops on an error sends the alerts of the records taken
// before it, whatever the number of lanes.
func TestErrorSameAlertsAnyLanes(t *testing.T) {
	df, err := django.NewFormat(django.DefaultMapping())
	if err != nil {
		t.Fatal(err)
	}
	run := func(lanes int) (string, int) {
		ps := ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.Proxy, Paths: []string{"../samples/data/nginx-access.log"}, Parser: nginx.Default().NewParser(), Format: "nginx"})
		as := ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.App, Paths: []string{"../samples/data/django-auth.log"}, Parser: df.NewParser(), Format: "django"})
		var out bytes.Buffer
		eng, err := detect.NewEngine(detect.Config{Rules: rules.Default(), Lanes: lanes, Sink: alert.NewWriter(nopCloser{&out})})
		if err != nil {
			t.Fatal(err)
		}
		err = Run(context.Background(), []ingest.Source{&failAfter{ps, 9000}, as}, eng)
		if !errors.Is(err, errCut) {
			t.Fatalf("lanes %d: error %v, want %v", lanes, err, errCut)
		}
		return out.String(), strings.Count(out.String(), "\n")
	}
	one, n := run(1)
	if n < 20 {
		t.Fatalf("%d alerts before the error: the case proves nothing", n)
	}
	for _, lanes := range []int{2, 4} {
		if got, m := run(lanes); got != one {
			t.Errorf("lanes %d: %d alerts, want the %d of one lane", lanes, m, n)
		}
	}
}

// TestOutlierCounts checks how a record rejected as far ahead of its
// source's is counted: it stays in Parsed (counters never go down,
// Prometheus would take that for a restart) and is counted in Outliers and
// Rejected, so that Lines = Parsed + Ignored + Rejected - Outliers.
func TestOutlierCounts(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()
	tests := []struct {
		name     string
		times    []int64
		outliers int64
	}{
		{"in order", []int64{base, base + 1e9, base + 2e9}, 0},
		{"one a year ahead", []int64{base, base + int64(365*24*time.Hour), base + 1e9, base + 2e9}, 1},
		{"the first a year ahead", []int64{base + int64(365*24*time.Hour), base, base + 1e9}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &recordSource{times: tt.times}
			src.stats.Lines.Store(int64(len(tt.times)))
			st := runRecords(t, src)
			s := &src.stats
			n := int64(len(tt.times))
			if p, o, r := s.Parsed.Load(), s.Outliers.Load(), s.Rejected.Load(); p != n || o != tt.outliers || r != tt.outliers {
				t.Errorf("parsed %d, outliers %d, rejected %d; want %d, %d, %d", p, o, r, n, tt.outliers, tt.outliers)
			}
			if got := s.Records(); got != n-tt.outliers {
				t.Errorf("records %d, want %d", got, n-tt.outliers)
			}
			if got := st.AheadRejected.Load(); got != tt.outliers {
				t.Errorf("AheadRejected %d, want %d", got, tt.outliers)
			}
		})
	}
}

// TestNewestFirst: a source whose records go back in time from one to the
// next (a search's export, newest first) is named by Stats.Reversed; one
// whose writers interleave, or too short to tell, is not.
func TestNewestFirst(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()
	times := func(n int, at func(i int) int64) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = at(i)
		}
		return out
	}
	tests := []struct {
		name     string
		times    []int64
		reversed bool
	}{
		{"in order", times(500, func(i int) int64 { return base + int64(i)*1e9 }), false},
		{"newest first", times(500, func(i int) int64 { return base + int64(500-i)*1e9 }), true},
		// Two writers a second apart, interleaved: back every other step.
		{"interleaved", times(500, func(i int) int64 { return base + int64(i)*1e9 + int64(i%2)*2e9 }), false},
		{"newest first, too short to tell", times(100, func(i int) int64 { return base + int64(100-i)*1e9 }), false},
		// Records two by two at one time: a step that keeps the time
		// counts neither way.
		{"newest first, two records a second", times(500, func(i int) int64 { return base + int64((500-i)/2)*1e9 }), true},
	}
	for _, tt := range tests {
		src := &recordSource{times: tt.times}
		src.stats.Name = "src.log"
		st := runRecords(t, src)
		got := st.Reversed()
		if want := tt.reversed; (len(got) == 1 && got[0] == "src.log") != want || len(got) > 1 {
			t.Errorf("%s: Reversed() = %v, want the source named: %v", tt.name, got, want)
		}
	}
}
