package event

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
type Record struct {
	Kind   Kind
	Time   int64 // event time, Unix nanoseconds
	Values [NumFields][]byte
}

// Reset clears the record for reuse without freeing anything.
func (r *Record) Reset() {
	r.Kind = 0
	r.Time = 0
	for i := range r.Values {
		r.Values[i] = nil
	}
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
// all of them.
func (e *Event) SetFromRecord(r *Record) {
	e.Time = r.Time
	n := 0
	for _, v := range r.Values {
		n += len(v)
	}
	buf := make([]byte, 0, n)
	for _, v := range r.Values {
		buf = append(buf, v...)
	}
	all := string(buf)
	off := 0
	for i, v := range r.Values {
		e.Values[i] = all[off : off+len(v)]
		off += len(v)
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
