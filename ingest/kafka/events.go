package kafka

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/jsonscan"
)

// Joined authentication events travel between the correlate and detect
// stages as one JSON object per message (schema "spraywatch.event.v1"):
//
//	{"@timestamp":"2026-12-04T09:00:01.123456Z","schema":"spraywatch.event.v1",
//	 "http.request.id":"...","source.ip":"10.0.0.1","tls.client.hash.sha256":"...",
//	 "user.name":"alice","event.outcome":"failure","spraywatch.join":"matched",
//	 "spraywatch.identity":"sha256:...", ...}
//
// Keys are the ECS (or spraywatch) field names of package event, in Field
// order; empty fields are left out. Unknown keys are ignored when reading.

// EventSchema is the value of every joined event's "schema" member.
const EventSchema = "spraywatch.event.v1"

// AppendEvent appends ev as one JSON object (no newline).
func AppendEvent(b []byte, ev *event.Event) []byte {
	b = append(b, `{"@timestamp":"`...)
	b = time.Unix(0, ev.Time).UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","schema":"`+EventSchema+`"`...)
	for f := event.Field(0); int(f) < event.NumFields; f++ {
		v := ev.Values[f]
		if v == "" {
			continue
		}
		b = append(b, ',')
		b = appendJSONString(b, f.String())
		b = append(b, ':')
		b = appendJSONString(b, v)
	}
	return append(b, '}')
}

// WatermarkSchema is the "schema" of a watermark message: the correlate
// stage writes one to every partition of the events topic as its event time
// advances, so that a detect instance whose partitions are quiet still
// moves its windows forward (incidents resolve on time).
const WatermarkSchema = "spraywatch.watermark.v1"

// AppendWatermark appends a watermark message for event time t.
func AppendWatermark(b []byte, t int64) []byte {
	b = append(b, `{"@timestamp":"`...)
	b = time.Unix(0, t).UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, `","schema":"`+WatermarkSchema+`"}`...)
}

// EventKey returns the partition key of a joined event: its certificate
// identity, or its source address when it has none, so that each rule of the
// default pack sees all events of one group in one partition.
func EventKey(ev *event.Event) string {
	if id := ev.Values[event.Identity]; id != "" {
		return id
	}
	return ev.Values[event.SourceIP]
}

func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// EventFormat reads joined events written by AppendEvent.
type EventFormat struct{}

// Name returns "spraywatch-event".
func (EventFormat) Name() string { return "spraywatch-event" }

// NewParser returns a parser of joined events.
func (EventFormat) NewParser() ingest.Parser { return &eventParser{} }

type eventParser struct {
	sc   jsonscan.Scanner
	buf  []byte
	ends [event.NumFields][2]int
	time int64
	seen bool
	mark bool
}

// Parse reads one joined event into r; a watermark message gives a
// record of kind 0 with only a time. The record's values live in the
// parser's scratch space until the next call.
func (p *eventParser) Parse(line []byte, r *event.Record) error {
	p.buf = p.buf[:0]
	p.ends = [event.NumFields][2]int{}
	p.seen, p.mark = false, false
	err := p.sc.Scan(line, p.member)
	if err != nil {
		return err
	}
	if !p.seen {
		return &ingest.SyntaxError{Msg: "joined event without @timestamp"}
	}
	r.Time = p.time
	if p.mark {
		// A watermark carries no event: the record has no kind.
		r.Kind = 0
		return nil
	}
	for f, e := range p.ends {
		if e[1] > e[0] {
			r.Values[f] = p.buf[e[0]:e[1]:e[1]]
		}
	}
	return nil
}

func (p *eventParser) member(key, val []byte, kind jsonscan.Kind) error {
	if string(key) == event.TimestampName {
		t, err := time.Parse(time.RFC3339Nano, string(val))
		if err != nil {
			return &ingest.SyntaxError{Msg: fmt.Sprintf("@timestamp %s: expected RFC 3339", strconv.Quote(string(val)))}
		}
		p.time, p.seen = t.UnixNano(), true
		return nil
	}
	if kind != jsonscan.String {
		return nil
	}
	if string(key) == "schema" {
		p.mark = string(val) == WatermarkSchema
		return nil
	}
	f, ok := event.LookupField(string(key))
	if !ok {
		return nil
	}
	start := len(p.buf)
	p.buf = append(p.buf, val...)
	p.ends[f] = [2]int{start, len(p.buf)}
	return nil
}
