package ingest

import "github.com/spraywatch/spraywatch/event"

// SkimState is what a Skimmer keeps while it skims one line: whether it is
// skimming, the question it has yet to ask, and whether the answer was to
// read the line in full. A parser holds one and runs its pass over a line
// through Skim; the pass asks (Ask) once the record holds the line's final
// method and path.
type SkimState struct {
	// Skimming is true while a pass checks the values it does not keep
	// rather than building them.
	Skimming bool
	want     func(*event.Record) bool
	wanted   bool
}

// Reset ends any skim: a full parse calls it before its pass.
func (s *SkimState) Reset() { s.Skimming, s.want = false, nil }

// Asking reports whether the question is still to be asked.
func (s *SkimState) Asking() bool { return s.want != nil }

// Ask asks the question about r, at most once per line, and reports the
// answer: true means the pass reads the rest of the line in full (and has
// to read in full what it skimmed so far); Skimming is false from then on.
func (s *SkimState) Ask(r *event.Record) bool {
	want := s.want
	s.want = nil
	if want == nil || !want(r) {
		return false
	}
	s.Skimming, s.wanted = false, true
	return true
}

// Skim runs pass over line skimming, with want the question, and reports
// whether r was read in full. When the pass never asked (the format, or
// the line, lacks the method or the path), Skim asks at the end and a
// wanted line is read again by full.
func (s *SkimState) Skim(line []byte, r *event.Record, want func(*event.Record) bool, pass func([]byte, *event.Record) error, full Parser) (bool, error) {
	s.Skimming, s.want, s.wanted = true, want, false
	err := pass(line, r)
	s.Skimming = false
	if err != nil {
		s.want = nil
		return false, err
	}
	if s.wanted {
		return true, nil
	}
	if s.Ask(r) {
		return true, full.Parse(line, r)
	}
	return false, nil
}
