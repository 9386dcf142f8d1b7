package event

import "unsafe"

// Kind tells which log a record came from.
type Kind uint8

// Record kinds.
const (
	Proxy Kind = iota + 1 // a reverse-proxy access log line
	App                   // an application (Django) authentication log line
)

func (k Kind) String() string {
	switch k {
	case Proxy:
		return "proxy"
	case App:
		return "app"
	}
	return "unknown"
}

// Record is one parsed log line. Its values alias the line and the parser's
// scratch space: they are valid until the parser's next call, and whoever
// keeps a record longer must copy it (see Event.SetFromRecord).
//
// A record may be partial: a source that skimmed its line read only Time and
// the fields that tell what the line is (RequestID, Method, URLPath), found
// that its reader did not want it in full, and kept the line itself in Raw.
// Whoever needs any other field asks Complete for the full record.
type Record struct {
	Kind   Kind
	Time   int64 // event time, Unix nanoseconds
	Values [NumFields][]byte

	// Raw is the whole log line of a partial record, nil when the record
	// is complete. It has the lifetime of Values.
	Raw []byte
	// Rest completes a partial record: it parses Raw in full. It belongs
	// to the goroutine that consumes the source's records.
	Rest Completer
	// RawLine is Raw's 1-based line number in its file, for the error
	// should the completion reject the line.
	RawLine int64

	// Owned, when not zero, holds the record's values in a string of
	// their own (see Own), into which Values point: whoever keeps the
	// values keeps Owned instead of copying them.
	Owned Packed
}

// A Completer parses the lines of partial records in full.
type Completer interface {
	// Complete parses r.Raw in full into a record of its own, which it
	// returns; r is not changed. The record is valid until the next call.
	// On error the line has been counted as rejected by its source.
	Complete(r *Record) (*Record, error)
}

// Partial reports whether r holds only the fields a skim reads.
func (r *Record) Partial() bool { return r.Raw != nil }

// Complete returns r itself if it is complete, else the complete record
// that r.Rest parsed from r.Raw, valid until the next completion. An error
// means the line was rejected (and counted so) after all.
func (r *Record) Complete() (*Record, error) {
	if r.Raw == nil {
		return r, nil
	}
	return r.Rest.Complete(r)
}

// Reset clears the record for reuse without freeing anything.
func (r *Record) Reset() {
	*r = Record{}
}

// Get returns a field's value; empty when absent.
func (r *Record) Get(f Field) []byte { return r.Values[f] }

// Set sets a field's value. A nil or empty value means absent.
func (r *Record) Set(f Field, v []byte) { r.Values[f] = v }

// Event is an owned set of field values at one event time: an authentication
// event built by the correlator, or a record kept past its parser's next call.
type Event struct {
	Time   int64 // event time, Unix nanoseconds
	Values [NumFields]string
}

// Get returns a field's value; empty when absent.
func (e *Event) Get(f Field) string { return e.Values[f] }

// SetFromRecord copies a record's values into e, allocating one string for
// all of them, or points e's values into r.Owned if r has one.
func (e *Event) SetFromRecord(r *Record) {
	e.Time = r.Time
	if !r.Owned.IsZero() {
		r.Owned.Unpack(&e.Values)
		return
	}
	n := 0
	for i := range r.Values { // by index: ranging over the array would copy it
		n += len(r.Values[i])
	}
	buf := make([]byte, n)
	// buf is not written again once copied, nor seen by anyone else: it
	// can be the string's bytes, as in strings.Builder.
	all, off := unsafe.String(unsafe.SliceData(buf), n), 0
	for i := range r.Values {
		l := copy(buf[off:], r.Values[i])
		e.Values[i] = all[off : off+l]
		off += l
	}
}

// Merge fills the fields of e that are empty with the values of o.
func (e *Event) Merge(o *Event) {
	for i, v := range o.Values {
		if e.Values[i] == "" {
			e.Values[i] = v
		}
	}
}
