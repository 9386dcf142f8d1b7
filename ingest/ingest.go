// Package ingest reads log lines from files, stdin and streams and turns them
// into records with the parsers of its subpackages (one per log format).
package ingest

import (
	"errors"
	"fmt"

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
	// Method and URLPath, as Parse sets them); full reports which. It
	// checks the rest of a line it does not read in full as far as Parse
	// would, without building its values: Skim accepts exactly the lines
	// Parse accepts. want is called at most once, once r holds the
	// line's final Method and URLPath (it may hold other fields or not yet). A line
	// Skim rejects is parsed again for Parse's error.
	Skim(line []byte, r *event.Record, want func(*event.Record) bool) (full bool, err error)
	// NewParser returns another parser of the same format, with its own
	// scratch space, to complete skimmed records on another goroutine.
	NewParser() Parser
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
