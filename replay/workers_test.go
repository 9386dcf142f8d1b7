package replay

import (
	"fmt"
	"testing"
)

func TestParseWorkers(t *testing.T) {
	for _, c := range []struct {
		n, procs int
		sizes    []int64
		want     string
	}{
		{3, 2, []int64{10, 0}, "[3 3]"},
		{0, 2, []int64{2 << 30, 200 << 20}, "[1 1]"},
		{0, 1, []int64{100}, "[1]"},
		{0, 4, []int64{100}, "[3]"},
		{0, 8, []int64{2 << 30, 200 << 20}, "[6 1]"},
		{0, 8, []int64{100, 100}, "[3 3]"},
		{0, 8, []int64{0, 0}, "[3 3]"},
		{0, 16, []int64{0}, "[15]"},
		{0, 16, []int64{0, 100}, "[1 15]"},
		{0, 16, []int64{1 << 62, 1 << 62, 1}, "[7 7 1]"},
		{0, 8, nil, "[]"},
	} {
		if got := fmt.Sprint(ParseWorkers(c.n, c.procs, c.sizes)); got != c.want {
			t.Errorf("ParseWorkers(%d, %d, %v) = %s, want %s", c.n, c.procs, c.sizes, got, c.want)
		}
	}
}
