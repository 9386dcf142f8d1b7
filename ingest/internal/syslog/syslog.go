// Package syslog recognises the header a syslog daemon, journald or a
// program logging to syslog puts in front of a message.
package syslog

import "bytes"

// Prefix returns the length of the syslog header at the start of b, or 0
// when b has none. Recognised:
//
//	<134>Dec  4 09:00:01 host app[123]: msg              RFC 3164
//	<134>Dec  4 09:00:01 app[123]: msg                   RFC 3164 without HOSTNAME (HAProxy's default "local" format)
//	Dec  4 09:00:01 host app[123]: msg                   the same as a syslog daemon files it (journalctl -o short)
//	Dec  4 09:00:01 app[123]: msg                        the same without the host
//	Dec 04 09:00:01.123456 host app[123]: msg            journalctl -o short-precise
//	<134>1 2026-12-04T09:00:01.123Z host app 123 - - msg  RFC 5424
//	2026-12-04T09:00:01.123+00:00 host app[123]: msg     a daemon's high-precision file format, journalctl -o short-iso
//	<6>2026-12-04T09:00:01.123456+00:00 msg              HAProxy's "timed" format
//	2026-12-04T09:00:01.123456+00:00 msg                 HAProxy's "iso" format
//	<134>msg, <6>msg                                     a priority alone: HAProxy's "priority" and "short" formats
//
// The tag ("app[123]") holds no space and ends at the first ": ". Right
// after the timestamp, a word ending in ':' is the tag of a header without
// a host (a host name never ends in ':'); otherwise the header has a host,
// then the tag. Either way the header ends before any text of the
// message. After an ISO timestamp with no host and tag behind it, the
// message starts right after the timestamp; after a priority with no
// timestamp behind it, right after the priority. An RFC 5424 header is one
// whose timestamp is an ISO time or "-" ("<134>1 2026 ..." is a message
// starting "1 2026" behind a priority).
func Prefix(b []byte) int {
	i := 0 // the end of the priority, if any
	if len(b) > 2 && b[0] == '<' {
		j := 1
		for j < len(b) && j <= 4 && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == 1 || j >= len(b) || b[j] != '>' {
			return 0
		}
		i = j + 1
		if len(b) > i+1 && b[i] == '1' && b[i+1] == ' ' && rfc5424Time(b[i+2:]) {
			return rfc5424(b, i+2)
		}
	}
	switch {
	case isMonth(b[i:]):
		// "Dec  4 09:00:01" is 15 bytes, then ".123456" or nothing, then a space.
		if len(b) >= i+16 && b[i+3] == ' ' && b[i+9] == ':' && b[i+12] == ':' {
			t := i + 15
			if b[t] == '.' {
				t++
				for t < len(b) && b[t] >= '0' && b[t] <= '9' {
					t++
				}
			}
			if t < len(b) && b[t] == ' ' {
				t++
				if n := tagAt(b, t); n > 0 {
					return n
				}
				if n := hostTagAt(b, t); n > 0 {
					return n
				}
			}
		}
	case isISODate(b[i:]):
		if sp := bytes.IndexByte(b[i:], ' '); sp > 0 && i+sp+1 < len(b) {
			t := i + sp + 1
			if n := hostTagAt(b, t); n > 0 {
				return n
			}
			return t
		}
	}
	if i < len(b) {
		return i // a priority alone, or a priority and no header behind it
	}
	return 0
}

// tagAt returns where the message starts after a tag at t, a word ending
// in ':' followed by a space ("haproxy[911]: "), or 0 when there is none.
func tagAt(b []byte, t int) int {
	sp := bytes.IndexByte(b[t:], ' ')
	if sp < 2 || b[t+sp-1] != ':' {
		return 0
	}
	return t + sp + 1
}

// hostTagAt returns where the message starts after a host at t, a word,
// then a tag ending at the first ": " and holding no space, or 0 when
// there are none.
func hostTagAt(b []byte, t int) int {
	sp := bytes.IndexByte(b[t:], ' ')
	if sp <= 0 {
		return 0
	}
	tag := t + sp + 1
	end := bytes.Index(b[tag:], []byte(": "))
	if end <= 0 || bytes.IndexByte(b[tag:tag+end], ' ') >= 0 {
		return 0
	}
	return tag + end + 2
}

// rfc5424Time reports whether b starts with an RFC 5424 TIMESTAMP: the
// NILVALUE "-" or an ISO time, then a space.
func rfc5424Time(b []byte) bool {
	if len(b) > 1 && b[0] == '-' && b[1] == ' ' {
		return true
	}
	return isISODate(b)
}

// rfc5424 skips TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA.
func rfc5424(b []byte, i int) int {
	for range 5 {
		sp := bytes.IndexByte(b[i:], ' ')
		if sp < 0 {
			return 0
		}
		i += sp + 1
	}
	if i >= len(b) {
		return 0
	}
	if b[i] == '-' {
		i++
	} else {
		for i < len(b) && b[i] == '[' { // SD-ELEMENTs; ']' inside values is escaped as \]
			i++
			for i < len(b) && b[i] != ']' {
				if b[i] == '\\' {
					i++
				}
				i++
			}
			i++
		}
	}
	if i < len(b) && b[i] == ' ' {
		i++
	}
	if i > len(b) {
		return 0
	}
	return i
}

// isMonth reports whether b starts with an English month abbreviation
// ("Jan" ... "Dec", as syslog writes them) and has a byte after it.
func isMonth(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	switch uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) {
	case 'J'<<16 | 'a'<<8 | 'n', 'F'<<16 | 'e'<<8 | 'b', 'M'<<16 | 'a'<<8 | 'r', 'A'<<16 | 'p'<<8 | 'r',
		'M'<<16 | 'a'<<8 | 'y', 'J'<<16 | 'u'<<8 | 'n', 'J'<<16 | 'u'<<8 | 'l', 'A'<<16 | 'u'<<8 | 'g',
		'S'<<16 | 'e'<<8 | 'p', 'O'<<16 | 'c'<<8 | 't', 'N'<<16 | 'o'<<8 | 'v', 'D'<<16 | 'e'<<8 | 'c':
		return true
	}
	return false
}

// isISODate reports whether b starts with an ISO 8601 date and time to the
// second, "2026-12-04T09:00:01".
func isISODate(b []byte) bool {
	if len(b) < 19 {
		return false
	}
	for _, k := range []int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18} {
		if b[k] < '0' || b[k] > '9' {
			return false
		}
	}
	return b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':'
}
