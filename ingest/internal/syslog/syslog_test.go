package syslog

import (
	"strings"
	"testing"
)

func TestPrefix(t *testing.T) {
	for _, tc := range []struct {
		line string
		n    int
	}{
		{"<134>Dec  4 09:00:01 lb1 haproxy[1]: msg", 37},
		{"<134>Dec 14 09:00:01 lb1 haproxy: msg", 34},
		{"Dec  4 09:00:01 lb1 haproxy[1]: msg", 32},
		{"Dec 04 09:00:01.123456 web1 gunicorn[812]: msg", 43},
		{"Dec 04 09:00:01. web1 gunicorn[812]: msg", 37},
		{"2026-12-04T09:00:01.123+00:00 web1 gunicorn[812]: msg", 50},
		{"<134>1 2026-12-04T09:00:01Z lb1 haproxy 1 - - msg", 46},
		{"<134>1 2026-12-04T09:00:01Z lb1 app 1 - [x a=\"\\]\"] msg", 51},
		{"Dec  4 09:00:01 web1 gunicorn[812]: Not Found: /AXES: x", 36},
		{"Dec  4 09:00:01 web1 two words: msg", 0},
		{"Dec  4 09:00:01x web1 app: msg", 0},
		{"Dec  4 09:00:01", 0},
		{"10.0.0.1:1 [04/Dec/2026:09:00:01.123] msg", 0},
		{"Decimal things: msg", 0},
		{"AXES: New login failure by {}", 0},
		{"<134>", 0},
		{"<x>Dec  4 09:00:01 lb1 haproxy[1]: msg", 0},
		{"<134>1 2026 h a p m [x a=\"\\", 0},
	} {
		if got := Prefix([]byte(tc.line)); got != tc.n {
			t.Errorf("Prefix(%q) = %d, want %d", tc.line, got, tc.n)
		}
	}
}

func FuzzPrefix(f *testing.F) {
	f.Add("<134>Dec  4 09:00:01 lb1 haproxy[1]: msg")
	f.Add("Dec 04 09:00:01.123456 web1 gunicorn[812]: msg")
	f.Add("<134>1 2026 h a p m [x a=\"\\")
	f.Fuzz(func(t *testing.T, s string) {
		if n := Prefix([]byte(s)); n < 0 || n > len(s) {
			t.Errorf("Prefix(%q) = %d, outside the line", s, n)
		}
	})
}

func TestIsMonth(t *testing.T) {
	for _, m := range []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"} {
		if !isMonth([]byte(m + " ")) {
			t.Errorf("isMonth(%q) = false", m+" ")
		}
		if isMonth([]byte(m)) {
			t.Errorf("isMonth(%q) = true without a byte after it", m)
		}
		if isMonth([]byte(strings.ToLower(m) + " ")) {
			t.Errorf("isMonth(%q) = true", strings.ToLower(m)+" ")
		}
	}
	for _, s := range []string{"Jam ", "Dex ", "2026", "<134", "   "} {
		if isMonth([]byte(s)) {
			t.Errorf("isMonth(%q) = true", s)
		}
	}
}
