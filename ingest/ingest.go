// Package ingest reads log lines from files, stdin and streams and turns them
// into records with the parsers of its subpackages (one per log format).
package ingest

import (
	"errors"
	"fmt"
	"time"

	"github.com/spraywatch/spraywatch/event"
)

// A Parser turns one log line into a record. Implementations keep scratch
// space between calls, so a Parser is not safe for concurrent use, and the
// record's values are valid only until the next call.
//
// Parse returns ErrIgnore for a well-formed line that carries nothing to
// detect on (a Django logout, say), and an error describing what was expected
// for a line it cannot read.
type Parser interface {
	Parse(line []byte, r *event.Record) error
}

// A Skimmer is a Parser that can also skim a line: find out what the line is
// before paying for a full parse (see FileSource.Skim).
type Skimmer interface {
	Parser
	// Skim reads line into r in full if want says so, and else only the
	// event time and the fields that tell what the line is (RequestID,
	// Method and URLPath, as Parse sets them); full reports which. A line
	// want accepts is read as Parse reads it: the same record, accepted
	// or rejected alike. Skim accepts at least the lines Parse accepts,
	// with the same time, request id, method and path; a line it does not
	// read in full may be one Parse would reject, since its other values
	// may go unchecked (a LazySkimmer's do; other skimmers check them as
	// far as Parse would, and accept exactly the lines Parse accepts). It
	// checks the time, request id, method and path as Parse does: a line
	// with a bad one is rejected. want is called at most once, once r
	// holds the line's final Method and URLPath (it may hold other fields
	// or not yet). A line Skim rejects is parsed again for Parse's error.
	Skim(line []byte, r *event.Record, want func(*event.Record) bool) (full bool, err error)
	// NewParser returns another parser of the same format, with its own
	// scratch space, to complete skimmed records on another goroutine.
	NewParser() Parser
}

// A LazySkimmer is a Skimmer whose Skim, by default, reads of a line it
// does not read in full only what tells the line apart (its time, request
// and request id), leaving its other values unchecked: most lines of a
// proxy log are not logins, and their other values are needed only if a
// consumer completes the record, which then parses it in full (and counts
// it rejected if it fails). Such lines are counted in Stats.Skimmed.
type LazySkimmer interface {
	Skimmer
	// CheckAllLines makes Skim check every value of every line as Parse
	// does (all: Skim then accepts exactly the lines Parse accepts), or
	// skim lazily again (the default).
	CheckAllLines(all bool)
	// SkimsLazily reports whether Skim leaves the values of a line it
	// does not read in full unchecked (not after CheckAllLines(true);
	// a format may also always check them).
	SkimsLazily() bool
}

// ErrIgnore reports a line that parsed but is of no interest.
var ErrIgnore = errors.New("ignored")

// SyntaxError says where and why a line could not be parsed. Parsers return
// it with Column and Msg set; sources add the position.
type SyntaxError struct {
	Source string // file name or stream
	Line   int64  // 1-based line number, 0 when unknown
	Column int    // 1-based byte offset in the line, 0 when unknown
	Msg    string // what was expected
	// TooLong marks a line over the length cap (a line a Joiner joined
	// from parts): sources count it in Stats.TooLong too.
	TooLong bool
}

// IsTooLong reports whether err is a SyntaxError for a line over the
// length cap.
func IsTooLong(err error) bool {
	var se *SyntaxError
	return errors.As(err, &se) && se.TooLong
}

func (e *SyntaxError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.Source, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.Source, e.Line, e.Msg)
	case e.Column > 0:
		return fmt.Sprintf("column %d: %s", e.Column, e.Msg)
	}
	if e.Source != "" {
		return e.Source + ": " + e.Msg
	}
	return e.Msg
}

// A Format is a compiled log format definition. It hands out parsers, one per
// goroutine.
type Format interface {
	// Name says what the format is ("nginx", "django-json", ...).
	Name() string
	// NewParser returns a parser with its own scratch space.
	NewParser() Parser
}

// A Zoner is a Format whose lines can hold local times: times without a
// zone offset, which its parsers read as UTC.
type Zoner interface {
	Format
	// InZone returns the format reading local times in loc instead (see
	// timestamp.Zone for the times daylight saving time makes absent or
	// repeated); times with an offset or Z keep theirs. A nil loc is UTC.
	InZone(loc *time.Location) Format
}
