package kafka

import (
	"errors"
	"fmt"

	"github.com/segmentio/kafka-go"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/envelope"
)

// Decoder turns message values into records with one parser. It is not safe
// for concurrent use: use one per partition reader.
type Decoder struct {
	kind    event.Kind
	parser  ingest.Parser
	stats   *ingest.Stats
	maxLine int
	// again counts the messages read again (see Reread), which the
	// stats count only in Reread.
	again ingest.Stats
}

// NewDecoder returns a decoder of kind records in format f. envelopeKey, if
// not empty, names the shipper envelope member holding the line ("message"
// for Vector and Filebeat, "log" for Fluent Bit, "cri"); the parts of split
// lines (CRI partial lines, Docker partial entries) are rejected, not
// joined (see ingest.Joiner). stats is shared by
// the decoders of one topic; maxLine caps value sizes (0: the ingest
// default).
func NewDecoder(kind event.Kind, f ingest.Format, envelopeKey string, stats *ingest.Stats, maxLine int) *Decoder {
	p := f.NewParser()
	if envelopeKey != "" {
		p = envelope.Wrap(p, envelopeKey)
	}
	if maxLine <= 0 {
		maxLine = ingest.DefaultMaxLineBytes
	}
	if j, ok := p.(ingest.Joiner); ok && j.Joins() {
		// The parts of a line a container runtime split cannot be put
		// back together here: a topic mixes many writers' lines, and
		// shippers key messages by request id, which scatters the parts
		// over partitions. The shipper has to merge them.
		j.RejectParts()
		// The joiner judges a value skipped over the cap by the cap.
		j.SetMaxLineBytes(maxLine)
	}
	ingest.CountFlags(p, &stats.Flagged)
	return &Decoder{kind: kind, parser: p, stats: stats, maxLine: maxLine}
}

// NewStats returns the counters for a topic's decoders.
func NewStats(topic string, kind event.Kind, f ingest.Format, envelopeKey string) *ingest.Stats {
	name := f.Name()
	if envelopeKey != "" {
		name += "+" + envelopeKey
	}
	return &ingest.Stats{Name: "kafka:" + topic, Kind: kind, Format: name}
}

// Decode parses m's value into r. It reports false for a value that
// carries no record: ignored (well-formed, of no interest) or rejected
// (malformed, too long), both counted in the stats with the message's
// position.
func (d *Decoder) Decode(m *kafka.Message, r *event.Record) bool {
	d.stats.Lines.Add(1)
	line := m.Value
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	if len(line) > d.maxLine {
		d.stats.TooLong.Add(1)
		d.stats.Reject(&ingest.SyntaxError{Source: position(m), Msg: fmt.Sprintf("message longer than %d bytes skipped", d.maxLine)})
		if j, ok := d.parser.(ingest.Joiner); ok && j.Joins() {
			j.Skipped()
		}
		return false
	}
	r.Reset()
	r.Kind = d.kind
	err := d.parser.Parse(line, r)
	switch {
	case err == nil:
		d.stats.Parsed.Add(1)
		return true
	case errors.Is(err, ingest.ErrIgnore):
		d.stats.Ignored.Add(1)
		return false
	}
	var se *ingest.SyntaxError
	if errors.As(err, &se) {
		// Messages have no line number: keep the column in the message
		// so that the position is printed.
		msg := se.Msg
		if se.Column > 0 {
			msg = fmt.Sprintf("column %d: %s", se.Column, se.Msg)
		}
		err = &ingest.SyntaxError{Source: position(m), Msg: msg}
	} else {
		err = &ingest.SyntaxError{Source: position(m), Msg: err.Error()}
	}
	d.stats.Reject(err)
	return false
}

// Reread decodes a message read again, as Decode does, to rebuild a
// server's state after a restart, a rebalance or a rule reload: it was
// counted when first read, and is counted only in the stats' Reread now.
func (d *Decoder) Reread(m *kafka.Message, r *event.Record) bool {
	st := d.stats
	st.Reread.Add(1)
	d.stats = &d.again
	ingest.CountFlags(d.parser, &d.again.Flagged)
	ok := d.Decode(m, r)
	ingest.CountFlags(d.parser, &st.Flagged)
	d.stats = st
	return ok
}

func position(m *kafka.Message) string {
	return fmt.Sprintf("%s/%d@%d", m.Topic, m.Partition, m.Offset)
}
