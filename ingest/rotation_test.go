package ingest

import (
	"reflect"
	"testing"
)

func TestSortRotated(t *testing.T) {
	tests := []struct{ in, want []string }{
		{
			[]string{"access.log", "access.log.1", "access.log.10.gz", "access.log.2.gz", "access.log.3.gz"},
			[]string{"access.log.10.gz", "access.log.3.gz", "access.log.2.gz", "access.log.1", "access.log"},
		},
		{
			[]string{"a.log-20261204.gz", "a.log", "a.log-20261202.gz", "a.log-20261203"},
			[]string{"a.log-20261202.gz", "a.log-20261203", "a.log-20261204.gz", "a.log"},
		},
		{ // two logs: each in rotation order, logs by name
			[]string{"b.log", "a.log.1", "b.log.1.gz", "a.log"},
			[]string{"a.log.1", "a.log", "b.log.1.gz", "b.log"},
		},
		{ // the kubelet's container logs
			[]string{"0.log", "0.log.20261204-010203", "0.log.20261203-235959.gz", "1.log"},
			[]string{"0.log.20261203-235959.gz", "0.log.20261204-010203", "0.log", "1.log"},
		},
		{ // Docker's json-file
			[]string{"c-json.log", "c-json.log.2", "c-json.log.1"},
			[]string{"c-json.log.2", "c-json.log.1", "c-json.log"},
		},
	}
	for _, tt := range tests {
		got := append([]string(nil), tt.in...)
		SortRotated(got)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SortRotated(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestContinues(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"access.log.1", "access.log", true},
		{"access.log.2.gz", "access.log.1", true},
		{"access.log.3.gz", "access.log.2.gz", true},
		{"access.log-20261203.gz", "access.log", true},
		{"access.log-20261203.gz", "access.log-20261204", true},
		{"0.log.20261203-235959.gz", "0.log", true},
		{"0.log.20261203-235959.gz", "0.log.20261204-010203", true},
		{"c-json.log.1", "c-json.log", true},
		{"logs/a.log.1", "logs/a.log", true},
		// Not rotations of one log.
		{"a.log", "b.log", false},
		{"a.log.1", "b.log", false},
		{"x/access.log.1", "y/access.log", false},
		{"0.log", "1.log", false},
		// One log's files, but b is not where a's writer went on.
		{"access.log", "access.log.1", false},
		{"access.log.1", "access.log.2.gz", false},
		{"access.log.3.gz", "access.log.1", false},
		{"access.log.2.gz", "access.log", false},
		{"access.log", "access.log", false},
		{"access.log.1", "access.log.1.gz", false},
		{"access.log.gz", "access.log", false},
		{"access.log-20261204", "access.log-20261203.gz", false},
		{"access.log", "access.log-20261203.gz", false},
		{"-", "-", false},
	} {
		if got := Continues(tt.a, tt.b); got != tt.want {
			t.Errorf("Continues(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestSortRotatedContinues: each file SortRotated puts after another of
// its log continues it, the files of a log given whole.
func TestSortRotatedContinues(t *testing.T) {
	for _, paths := range [][]string{
		{"access.log", "access.log.1", "access.log.2.gz", "access.log.3.gz"},
		{"a.log-20261204.gz", "a.log", "a.log-20261202.gz", "a.log-20261203"},
		{"0.log", "0.log.20261204-010203", "0.log.20261203-235959.gz"},
	} {
		SortRotated(paths)
		for i := 1; i < len(paths); i++ {
			if !Continues(paths[i-1], paths[i]) {
				t.Errorf("%v: %s does not continue %s", paths, paths[i], paths[i-1])
			}
		}
	}
}
