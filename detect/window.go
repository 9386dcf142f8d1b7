package detect

// entry is one event in a group's window: only what counts and samples need.
type entry struct {
	t       int64
	outcome uint8
	val     string // the rule's distinct field
	user    string
	rid     string
	ip      string
}

const (
	outcomeUnknown uint8 = iota
	outcomeSuccess
	outcomeFailure
)

// window is a sliding event-time window over one group's events, kept in
// time order, with exact distinct counts of one field.
type window struct {
	entries  []entry
	head     int
	end      int64 // newest time seen: the window is (end-length, end]
	distinct map[string]int32
	dropped  int64 // entries dropped because the window was full
}

func newWindow(distinct bool) *window {
	w := &window{}
	if distinct {
		w.distinct = make(map[string]int32)
	}
	return w
}

// len returns the number of events in the window.
func (w *window) len() int { return len(w.entries) - w.head }

// value returns the rule's measure: distinct values, or events.
func (w *window) value() int {
	if w.distinct != nil {
		return len(w.distinct)
	}
	return w.len()
}

// add inserts e in time order, dropping the oldest entry when the window
// holds max entries. It reports false when e is older than the window.
func (w *window) add(e entry, length int64, max int) bool {
	if e.t > w.end {
		w.end = e.t
	}
	if e.t <= w.end-length {
		return false
	}
	if w.len() >= max {
		w.removeHead()
		w.dropped++
	}
	if w.head > 0 && w.head >= len(w.entries)/2 && w.head >= 64 {
		n := copy(w.entries, w.entries[w.head:])
		clear(w.entries[n:])
		w.entries = w.entries[:n]
		w.head = 0
	}
	i := len(w.entries)
	w.entries = append(w.entries, e)
	for i > w.head && w.entries[i-1].t > e.t {
		w.entries[i] = w.entries[i-1]
		i--
	}
	w.entries[i] = e
	if w.distinct != nil {
		w.distinct[e.val]++
	}
	return true
}

func (w *window) removeHead() entry {
	e := w.entries[w.head]
	w.entries[w.head] = entry{}
	w.head++
	if w.distinct != nil {
		if n := w.distinct[e.val] - 1; n > 0 {
			w.distinct[e.val] = n
		} else {
			delete(w.distinct, e.val)
		}
	}
	if w.head == len(w.entries) {
		w.entries = w.entries[:0]
		w.head = 0
	}
	return e
}

// expire moves the window's end to now (if later) and drops the oldest
// event if it fell out, returning the time it left the window. Call it
// until ok is false.
func (w *window) expire(now, length int64) (left int64, ok bool) {
	if now > w.end {
		w.end = now
	}
	if w.len() == 0 || w.entries[w.head].t > w.end-length {
		return 0, false
	}
	e := w.removeHead()
	return e.t + length, true
}

// each calls fn for the events in the window, oldest first.
func (w *window) each(fn func(*entry)) {
	for i := w.head; i < len(w.entries); i++ {
		fn(&w.entries[i])
	}
}

// first returns the oldest event's time.
func (w *window) first() int64 {
	if w.len() == 0 {
		return 0
	}
	return w.entries[w.head].t
}

// last returns the newest event's time.
func (w *window) last() int64 {
	if w.len() == 0 {
		return 0
	}
	return w.entries[len(w.entries)-1].t
}
