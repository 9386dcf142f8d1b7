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

func TestSameLog(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"access.log.1", "access.log", true},
		{"access.log.2.gz", "access.log.1", true},
		{"access.log-20261203.gz", "access.log", true},
		{"0.log.20261203-235959.gz", "0.log", true},
		{"c-json.log.1", "c-json.log", true},
		{"a.log", "b.log", false},
		{"a.log.1", "b.log", false},
		{"x/access.log.1", "y/access.log", false},
		{"0.log", "1.log", false},
	} {
		if got := SameLog(tt.a, tt.b); got != tt.same {
			t.Errorf("SameLog(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
}
