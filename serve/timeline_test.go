package serve

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/detect"
)

// TestTimeline feeds record times (in hours; a watermark is "w") to a
// timeline with a one-hour bound and checks what goes on, in order, and
// what is rejected.
func TestTimeline(t *testing.T) {
	const hour = int64(3600e9)
	cases := []struct {
		name     string
		newest   int64 // of the other inputs, in hours; -1: none
		in       string
		queued   string
		rejected string
	}{
		{"in order", -1, "1 1 2 2", "1 1 2 2", ""},
		{"behind goes on", -1, "5 1 5", "5 1 5", ""},
		{"lone far ahead", -1, "1 900 2 3", "1 2 3", "900"},
		{"gap confirmed", -1, "1 5 5 6", "1 5 5 6", ""},
		{"two far ahead in a row", -1, "1 900 901 2", "1 900 901 2", ""},
		{"far ahead of the others first", 1, "900 2 3", "2 3", "900"},
		{"first with nothing to compare", -1, "900 2", "900 2", ""},
		{"held until the next", -1, "1 900", "1", ""},
		{"watermark goes on", -1, "1 w 900 w 2", "1 w w 2", "900"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tl := timeline[*item]{jump: hour}
			var queued, rejected []string
			name := func(it *item) string {
				if it.kind == 0 {
					return "w"
				}
				return fmt.Sprint(it.time / hour)
			}
			for _, f := range strings.Fields(c.in) {
				it := &item{kind: 1}
				if f == "w" {
					it.kind = 0
				} else {
					var h int64
					fmt.Sscan(f, &h)
					it.time = h * hour
				}
				tl.take(it, it.time, it.kind != 0, c.newest*hour, c.newest >= 0,
					func(it *item) { queued = append(queued, name(it)) },
					func(it *item, _ string) { rejected = append(rejected, name(it)) })
			}
			if got := strings.Join(queued, " "); got != c.queued {
				t.Errorf("queued %q, want %q", got, c.queued)
			}
			if got := strings.Join(rejected, " "); got != c.rejected {
				t.Errorf("rejected %q, want %q", got, c.rejected)
			}
		})
	}
}

// TestMergeStates merges the rebuild states committed with the partitions:
// the earliest since, the latest from and each group's earliest need, none
// if a committed partition has none, and partitions never committed left
// out.
func TestMergeStates(t *testing.T) {
	st := func(since int64, needs ...int64) *rebuildState {
		s := &rebuildState{since: since, from: since - 10}
		for i := 0; i+1 < len(needs); i += 2 {
			s.needs = append(s.needs, detect.RebuildNeed{Group: uint64(needs[i]), From: needs[i+1]})
		}
		return s
	}
	withFrom := func(s *rebuildState, from int64) *rebuildState { s.from = from; return s }
	cases := []struct {
		name  string
		parts []*partition
		want  *rebuildState
	}{
		{"none committed", []*partition{{committed: -1}}, nil},
		{"one", []*partition{{committed: 5, state: st(100, 1, 50)}, {committed: -1}}, st(100, 1, 50)},
		{"merged", []*partition{{committed: 5, state: st(100, 1, 50, 2, 70)}, {committed: 9, state: st(80, 1, 40, 3, 60)}},
			withFrom(st(80, 1, 40, 2, 70, 3, 60), 90)},
		{"one without", []*partition{{committed: 5, state: st(100)}, {committed: 9}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := mergeStates(c.parts)
			if ok != (c.want != nil) {
				t.Fatalf("ok %v, want %v", ok, c.want != nil)
			}
			if got != nil {
				slices.SortFunc(got.needs, func(a, b detect.RebuildNeed) int { return cmp.Compare(a.Group, b.Group) })
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}
