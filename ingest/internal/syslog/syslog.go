// Package syslog recognises the header a syslog daemon, journald or a
// program logging to syslog puts in front of a message.
package syslog

import "bytes"

// Prefix returns the length of the syslog header at the start of b, or 0
// when b has none. Recognised:
//
//	<134>Dec  4 09:00:01 host app[123]: msg              RFC 3164
//	Dec  4 09:00:01 host app[123]: msg                   the same as a syslog daemon files it (journalctl -o short)
//	Dec 04 09:00:01.123456 host app[123]: msg            journalctl -o short-precise
//	<134>1 2026-12-04T09:00:01.123Z host app 123 - - msg  RFC 5424
//	2026-12-04T09:00:01.123+00:00 host app[123]: msg     a daemon's high-precision file format, journalctl -o short-iso
//
// The tag ("app[123]") holds no space and ends at the first ": ", so the
// header ends before any text of the message.
func Prefix(b []byte) int {
	i := 0
	if len(b) > 2 && b[0] == '<' {
		j := 1
		for j < len(b) && j <= 4 && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == 1 || j >= len(b) || b[j] != '>' {
			return 0
		}
		i = j + 1
		if len(b) > i+1 && b[i] == '1' && b[i+1] == ' ' {
			return rfc5424(b, i+2)
		}
	}
	var t int
	switch {
	case isMonth(b[i:]):
		// "Dec  4 09:00:01" is 15 bytes, then ".123456" or nothing, then a space.
		if len(b) < i+16 || b[i+3] != ' ' || b[i+9] != ':' || b[i+12] != ':' {
			return 0
		}
		t = i + 15
		if b[t] == '.' {
			t++
			for t < len(b) && b[t] >= '0' && b[t] <= '9' {
				t++
			}
		}
		if t >= len(b) || b[t] != ' ' {
			return 0
		}
		t++
	case isISODate(b[i:]):
		sp := bytes.IndexByte(b[i:], ' ')
		if sp < 0 {
			return 0
		}
		t = i + sp + 1
	default:
		return 0
	}
	// host, then the tag ending in ": ".
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

func isISODate(b []byte) bool {
	if len(b) < 11 {
		return false
	}
	for _, k := range []int{0, 1, 2, 3, 5, 6, 8, 9} {
		if b[k] < '0' || b[k] > '9' {
			return false
		}
	}
	return b[4] == '-' && b[7] == '-' && b[10] == 'T'
}
