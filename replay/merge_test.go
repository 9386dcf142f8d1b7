package replay

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

// tagSource yields records of the given times, each with its source's name
// and its index as request id; with take, in place as a Prefetcher does.
type tagSource struct {
	name  string
	times []int64
	i     int
	rec   event.Record
	stats ingest.Stats
}

func (s *tagSource) fill(r *event.Record) error {
	if s.i == len(s.times) {
		return io.EOF
	}
	r.Reset()
	r.Kind, r.Time = event.Proxy, s.times[s.i]
	r.Values[event.RequestID] = fmt.Appendf(nil, "%s%d", s.name, s.i)
	s.i++
	return nil
}

func (s *tagSource) Next(_ context.Context, r *event.Record) error { return s.fill(r) }
func (s *tagSource) Stats() *ingest.Stats                          { return &s.stats }

type takeTagSource struct{ tagSource }

func (s *takeTagSource) Take(context.Context) (*event.Record, error) {
	if err := s.fill(&s.rec); err != nil {
		return nil, err
	}
	return &s.rec, nil
}

// addFunc is an adder.
type addFunc func(*event.Record) error

func (f addFunc) Add(_ context.Context, r *event.Record) error { return f(r) }

// mergeEach is merge as it was: the earliest head is looked for before
// every record.
func mergeEach(ctx context.Context, heads []head, to adder) error {
	live, err := start(ctx, heads)
	if err != nil {
		return err
	}
	for live > 0 {
		h := &heads[earliest(heads)]
		if err := to.Add(ctx, h.rec); err != nil {
			return err
		}
		ok, err := h.next(ctx)
		if err != nil {
			return err
		}
		if !ok {
			live--
		}
	}
	return nil
}

// order merges sources of the given times with m and lists the records
// it hands out, with the merge's counts.
func order(m func(context.Context, []head, adder) error, times [][]int64, take bool) string {
	heads := make([]head, len(times))
	st := new(Stats)
	for i, ts := range times {
		var s ingest.Source = &tagSource{name: string(rune('a' + i)), times: ts}
		if take {
			s = &takeTagSource{tagSource{name: string(rune('a' + i)), times: ts}}
		}
		heads[i].src, heads[i].jump, heads[i].stats = s, int64(time.Hour), st
		heads[i].take, _ = s.(taker)
	}
	var b strings.Builder
	err := m(context.Background(), heads, addFunc(func(r *event.Record) error {
		fmt.Fprintf(&b, "%s@%d ", r.Values[event.RequestID], r.Time)
		return nil
	}))
	fmt.Fprintf(&b, "| err %v, %d ahead, %d behind", err, st.AheadRejected.Load(), st.Behind.Load())
	return b.String()
}

// TestMergeRuns: merging a source's run of records at once hands out the
// same records in the same order as looking for the earliest source before
// each: ties to the source listed first, disorder within a source, sources
// ending, records far ahead rejected.
func TestMergeRuns(t *testing.T) {
	h := int64(time.Hour)
	cases := []struct {
		name  string
		times [][]int64
	}{
		{"none", nil},
		{"one", [][]int64{{1, 2, 3}}},
		{"empty sources", [][]int64{{}, {1, 1}, {}}},
		{"interleaved", [][]int64{{1, 3, 5, 7}, {2, 4, 6, 8}}},
		{"runs", [][]int64{{1, 2, 3, 10, 11}, {4, 5, 6, 7, 12}}},
		{"ties", [][]int64{{1, 2, 2, 2, 3}, {2, 2, 3, 3}, {2, 3}}},
		{"ties to the first listed", [][]int64{{5, 5}, {1, 5, 5, 6}}},
		{"disorder", [][]int64{{3, 10, 5, 1}, {7, 2, 8}}},
		{"one ends", [][]int64{{1}, {2, 3, 4}, {0, 9}}},
		{"far ahead", [][]int64{{1, 2 + 3*h, 3, 4}, {2, 5}}},
		{"a gap", [][]int64{{1, 2 + 3*h, 3 + 3*h}, {2, 5 + 3*h}}},
		{"far behind", [][]int64{{3 * h, 1, 3*h + 1}, {2 * h, 3 * h}}},
	}
	for _, c := range cases {
		for _, take := range []bool{false, true} {
			want := order(mergeEach, c.times, take)
			if got := order(merge, c.times, take); got != want {
				t.Errorf("%s (take %v):\ngot  %s\nwant %s", c.name, take, got, want)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		times := make([][]int64, 1+rng.IntN(4))
		for i := range times {
			t := int64(rng.IntN(20))
			for range rng.IntN(30) {
				t += int64(rng.IntN(7)) - 1
				if rng.IntN(40) == 0 {
					t += 2 * h
				}
				times[i] = append(times[i], t)
			}
		}
		take := n%2 == 0
		if got, want := order(merge, times, take), order(mergeEach, times, take); got != want {
			t.Fatalf("%v (take %v):\ngot  %s\nwant %s", times, take, got, want)
		}
	}
}
