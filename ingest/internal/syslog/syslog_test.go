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
		{"<134>1 2026-12-04T09:00:01Z h a p m [x a=\"\\", 0},
		{"<134>1 - h a p m - msg", 19},

		// The forms HAProxy writes (src/log.c, build_log_header).
		{"<134>Dec  5 16:48:42 haproxy[911]: 10.0.0.1:40000 [05/Dec/2026:16:48:42.123] msg", 35},  // local: no host
		{"<134>Dec  5 16:48:42 localhost haproxy[911]: msg", 45},                                  // rfc3164
		{"<134>Dec  5 16:48:42 haproxy: msg", 30},                                                 // local, no pid
		{"<134>1 2026-12-05T16:48:42.123456+00:00 lb1 haproxy 911 - - msg", 60},                   // rfc5424
		{"<134>10.0.0.1:40000 [05/Dec/2026:16:48:42.123] msg", 5},                                 // priority
		{"<6>10.0.0.1:40000 [05/Dec/2026:16:48:42.123] msg", 3},                                   // short
		{"<6>2026-12-05T16:48:42.123456+00:00 10.0.0.1:40000 [05/Dec/2026:16:48:42.123] msg", 36}, // timed
		{"2026-12-05T16:48:42.123456+00:00 10.0.0.1:40000 [05/Dec/2026:16:48:42.123] msg", 33},    // iso
		{"10.0.0.1:40000 [05/Dec/2026:16:48:42.123] msg", 0},                                      // raw

		// A header without a host takes the first word only, even when
		// the message looks like a tag.
		{"Dec  5 16:48:42 haproxy[911]: Proxy fe_mtls started.", 30},
		{"Dec  5 16:48:42 haproxy[911]: Not Found: /x", 30},
		{"Dec  5 16:48:42 gunicorn[812]: AXES: New login failure", 31},
		{"Dec  5 16:48:42 : msg", 0},
		{"<134>Dec  5 16:48:42 : msg", 5},
		// A priority, then no header: the message starts after the priority.
		{"<134>1 2026 h a p m [x a=\"\\", 5},
		{"<134>Dec  4 09:00:01 web1 two words: msg", 5},
		{"<134>Dec  4 09:00:01", 5},
		{"<6>", 0},
		// An ISO time, then a host and a tag or the message.
		{"2026-12-05T16:48:42Z msg", 21},
		{"2026-12-05T16:48:42Z ", 0},
		{"2026-12-05 16:48:42 msg", 0},
		{"2026-12-05Tx msg", 0},
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
	for _, h := range haproxyHeaders {
		f.Add(h + haproxyMessage)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n := Prefix([]byte(s)); n < 0 || n > len(s) {
			t.Errorf("Prefix(%q) = %d, outside the line", s, n)
		}
	})
}

// haproxyHeaders are the headers HAProxy 2.6 writes before a message, one
// per "log ... format" (src/log.c, build_log_header): local (the default
// without log-send-hostname), rfc3164 with and without a host name set,
// rfc5424, priority, short, timed, iso and raw.
var haproxyHeaders = []string{
	"<134>Dec  5 16:48:42 haproxy[911]: ",
	"<134>Dec  5 16:48:42 lb1 haproxy[911]: ",
	"<134>Dec  5 16:48:42 localhost haproxy[911]: ",
	"<134>1 2026-12-05T16:48:42.123456+00:00 lb1 haproxy 911 - - ",
	"<134>",
	"<6>",
	"<6>2026-12-05T16:48:42.123456+00:00 ",
	"2026-12-05T16:48:42.123456+00:00 ",
	"",
}

// haproxyMessage starts as HAProxy's log-formats do, with %ci:%cp [%tr].
const haproxyMessage = "10.0.0.1:40000 [05/Dec/2026:16:48:42.123] "

// FuzzPrefixHAProxy checks that each header HAProxy writes ends where it
// does whatever the message says after its start: text of the message is
// never taken for a header, nor a header for text.
func FuzzPrefixHAProxy(f *testing.F) {
	f.Add("fe_mtls~ be_app/app1 200 5 \"POST /x HTTP/1.1\" sdn=\"/CN=a: b\"")
	f.Add("haproxy[1]: lb1 x: y")
	f.Add("")
	f.Fuzz(func(t *testing.T, rest string) {
		for _, h := range haproxyHeaders {
			line := h + haproxyMessage + rest
			if n := Prefix([]byte(line)); n != len(h) {
				t.Errorf("Prefix(%q) = %d, want %d", line, n, len(h))
			}
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
