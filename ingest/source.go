package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/spraywatch/spraywatch/event"
)

// A Source yields parsed records, one per call, until io.EOF. Lines that do
// not parse are counted in Stats and skipped unless the source is strict,
// and so is a file whose data ends early at damage (see DamagedError).
type Source interface {
	Next(ctx context.Context, r *event.Record) error
	Stats() *Stats
}

// MaxReportedErrors is how many rejected lines a Stats keeps for reporting.
const MaxReportedErrors = 5

// Stats counts what a source read. Counters are safe to read while the
// source runs.
type Stats struct {
	Name   string     // what the user called the source, or its file
	Kind   event.Kind // proxy or app
	Format string     // the format's name
	// Source is the configured source the file belongs to (its name, or
	// its kind for one given by a flag), which the metrics label its
	// counts with, those of all its files added up: "" is Name.
	Source string

	Lines    atomic.Int64 // lines read, including rejected ones
	Parsed   atomic.Int64 // lines that became records
	Ignored  atomic.Int64 // well-formed lines of no interest
	Rejected atomic.Int64 // lines that did not parse, or whose record was dropped as a time outlier
	TooLong  atomic.Int64 // lines over the length cap (also counted in Rejected)
	// Skimmed counts, of Parsed, the lines a LazySkimmer read only as far
	// as telling they are not wanted (their time, request and request id):
	// their other values were not checked, unless a consumer completed the
	// record.
	Skimmed atomic.Int64
	// Every counter only grows. A record counted in Parsed that is dropped
	// afterwards is counted again where it ends, and in one of these:
	// Outliers, a record rejected for a time far ahead of its source's
	// records (also in Rejected); Incomplete, a line skimmed lazily that
	// its full parse, when a consumer completed it, rejected or ignored
	// (also in Rejected or Ignored). SkimDropped counts those of Skimmed.
	// So Lines = Parsed + Ignored + Rejected - Outliers - Incomplete, and
	// Records() is what became a record and stayed one.
	Outliers    atomic.Int64
	Incomplete  atomic.Int64
	SkimDropped atomic.Int64
	// Reread counts the lines a streaming source read again, to rebuild
	// its state after a restart, a rebalance or a rule reload: they were
	// counted when first read, and are counted only here then.
	Reread atomic.Int64
	// Flagged counts, by flag, the lines the source's parsers flagged
	// (see Flag): lines kept (or, for some flags, dropped) that their
	// reader should know about. The lines are also counted above.
	Flagged Flagged

	// Damaged counts the files whose data ends early at damage (see
	// DamagedError): their lines before it are counted above, those after
	// it are lost.
	Damaged atomic.Int64

	mu      sync.Mutex
	errors  []error
	damages []error
}

// Damage counts a damaged file and keeps its error (a *DamagedError) if
// fewer than MaxReportedErrors are kept.
func (s *Stats) Damage(err error) {
	s.Damaged.Add(1)
	s.mu.Lock()
	if len(s.damages) < MaxReportedErrors {
		s.damages = append(s.damages, err)
	}
	s.mu.Unlock()
}

// Damages returns the first damaged files' errors.
func (s *Stats) Damages() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.damages...)
}

// Reject counts a rejected line and keeps its error if fewer than
// MaxReportedErrors are kept.
func (s *Stats) Reject(err error) {
	s.Rejected.Add(1)
	s.mu.Lock()
	if len(s.errors) < MaxReportedErrors {
		s.errors = append(s.errors, err)
	}
	s.mu.Unlock()
}

// Unparse counts a record the source gave as parsed and its consumer
// drops after all, its full parse having rejected or ignored the line
// (counted so by the caller): in Incomplete, and in SkimDropped if it is a
// partial record the source skimmed lazily.
func (s *Stats) Unparse(r *event.Record) {
	s.Incomplete.Add(1)
	s.dropSkimmed(r)
}

// RejectOutlier counts a record the source gave as parsed and its reader
// rejects for a time far ahead of its source's records (err says so): in
// Outliers and Rejected, and in SkimDropped if r (which may be nil) is a
// partial record the source skimmed lazily.
func (s *Stats) RejectOutlier(r *event.Record, err error) {
	s.Outliers.Add(1)
	if r != nil {
		s.dropSkimmed(r)
	}
	s.Reject(err)
}

func (s *Stats) dropSkimmed(r *event.Record) {
	if c, ok := r.Rest.(*completer); ok && r.Raw != nil && c.lazy {
		s.SkimDropped.Add(1)
	}
}

// Records returns how many lines became records and stayed records:
// Parsed less those dropped afterwards.
func (s *Stats) Records() int64 {
	return s.Parsed.Load() - s.Outliers.Load() - s.Incomplete.Load()
}

// SkimmedRecords returns how many of Records were skimmed lazily.
func (s *Stats) SkimmedRecords() int64 { return s.Skimmed.Load() - s.SkimDropped.Load() }

// Errors returns the first rejected lines' errors.
func (s *Stats) Errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errors...)
}

// FileSource reads records from files in order ("-" is stdin).
type FileSource struct {
	paths   []string
	parser  Parser
	kind    event.Kind
	maxLine int
	strict  bool
	stats   *Stats

	newParser func() Parser // more parsers of the format, for PrefetchParallel; may be nil
	joiner    Joiner        // parser, if it joins split lines

	i      int
	cur    io.ReadCloser
	lr     *LineReader
	name   string
	polled int

	skim     *skimState // nil: every line is parsed in full
	checkAll bool       // a skim checks every line as a full parse would
}

// skimState is what a skimming FileSource needs: its parser as a Skimmer,
// the predicate that wants a line in full, and the completer of the file
// being read.
type skimState struct {
	sk   Skimmer
	want func(*event.Record) bool
	full *fullParser // completes partial records on the consumer's goroutine
	file *completer
	lazy bool // sk leaves the values of lines it does not read in full unchecked
}

// setUp tells a skimmer that can skim lazily whether to (all: check every
// line as Parse would), and reports whether it does.
func setUp(sk Skimmer, all bool) (lazy bool) {
	ls, ok := sk.(LazySkimmer)
	if !ok {
		return false
	}
	ls.CheckAllLines(all)
	return ls.SkimsLazily()
}

// fullParser is the consumer's parser and the record it fills.
type fullParser struct {
	parser Parser
	rec    event.Record
}

// completer completes the partial records of one file with the consumer's
// parser, counting a line the full parse rejects.
type completer struct {
	name  string
	full  *fullParser
	stats *Stats
	lazy  bool // the file's lines were skimmed lazily: counted in Skimmed
}

func (c *completer) Complete(r *event.Record) (*event.Record, error) {
	out := &c.full.rec
	out.Reset()
	out.Kind = r.Kind
	err := c.full.parser.Parse(r.Raw, out)
	if err == nil {
		return out, nil
	}
	out.Reset()
	// A line skimmed lazily may be one the full parse rejects, for a value
	// the skim did not check: it is counted so, in the line's place if the
	// consumer completes records in order.
	c.stats.Unparse(r)
	if errors.Is(err, ErrIgnore) {
		c.stats.Ignored.Add(1)
		return nil, err
	}
	err = positioned(err, c.name, r.RawLine)
	c.stats.Reject(err)
	return nil, err
}

// positioned adds a file and line to a parser's error.
func positioned(err error, name string, n int64) error {
	var se *SyntaxError
	if errors.As(err, &se) {
		c := *se
		c.Source, c.Line = name, n
		return &c
	}
	return &SyntaxError{Source: name, Line: n, Msg: err.Error()}
}

// Skim makes the source skim each line when its parser is a Skimmer: a
// line is parsed in full only when want, given the skimmed record (its
// method and path at least; see Skimmer), says it is needed. Other lines come out as
// partial records (see event.Record), which their consumer completes if it
// needs them. A LazySkimmer (nginx) reads of such a line only what tells
// what it is, leaving its other values unchecked: the line is counted in
// Parsed and Skimmed, and should a consumer complete the record and the
// full parse reject the line, it is counted rejected then (see Stats.Skimmed
// and CheckAllLines). Other skimmers accept exactly the lines Parse accepts.
// A nil want, or a parser that cannot skim, parses every line in full.
// Call Skim before the first Next.
func (s *FileSource) Skim(want func(*event.Record) bool) {
	sk, ok := s.parser.(Skimmer)
	if want == nil || !ok {
		s.skim = nil
		return
	}
	full := sk.NewParser()
	CountFlags(full, &s.stats.Flagged)
	s.skim = &skimState{sk: sk, want: want, full: &fullParser{parser: full}}
	s.skim.lazy = setUp(sk, s.checkAll)
}

// CheckAllLines makes a skimming source check every line as a full parse
// would, also the lines it does not read in full (all), rather than
// skimming them lazily (the default): a malformed line that is not wanted
// is then rejected rather than skimmed. It is slower. Call it before the
// first Next.
func (s *FileSource) CheckAllLines(all bool) {
	s.checkAll = all
	if s.skim != nil {
		s.skim.lazy = setUp(s.skim.sk, all)
	}
}

// FileSourceConfig configures a FileSource.
type FileSourceConfig struct {
	Name         string // for Stats; defaults to the first path
	Source       string // for Stats (see Stats.Source)
	Format       string // for Stats
	Kind         event.Kind
	Paths        []string
	Parser       Parser
	MaxLineBytes int  // 0 means DefaultMaxLineBytes
	Strict       bool // the first rejected line, or damaged file, ends the source with its error
	// NewParser returns another parser of Parser's format (Format.NewParser),
	// so that PrefetchParallel can parse on several goroutines. Nil: only a
	// parser with a NewParser method of its own (a Skimmer) can.
	NewParser func() Parser
}

// NewFileSource returns a source reading the given files one after another.
func NewFileSource(c FileSourceConfig) *FileSource {
	name := c.Name
	if name == "" && len(c.Paths) > 0 {
		name = c.Paths[0]
	}
	s := &FileSource{
		paths:   c.Paths,
		parser:  c.Parser,
		kind:    c.Kind,
		maxLine: c.MaxLineBytes,
		strict:  c.Strict,
		stats:   &Stats{Name: name, Source: c.Source, Kind: c.Kind, Format: c.Format},

		newParser: c.NewParser,
	}
	CountFlags(c.Parser, &s.stats.Flagged)
	if s.joiner = joinerOf(c.Parser); s.joiner != nil {
		s.joiner.SetMaxLineBytes(lineCap(c.MaxLineBytes))
	}
	return s
}

// Paths returns the files the source reads, in order.
func (s *FileSource) Paths() []string { return s.paths }

// Stats returns the source's counters.
func (s *FileSource) Stats() *Stats { return s.stats }

// Next reads lines until one parses into r, or the files end (io.EOF). A
// file whose data ends early at damage (see DamagedError) ends there: it
// is counted in Stats.Damaged and the next file is read, or, for a strict
// source, Next returns the *DamagedError.
func (s *FileSource) Next(ctx context.Context, r *event.Record) error {
	for {
		if s.lr == nil {
			if s.i >= len(s.paths) {
				if s.joiner != nil {
					s.joiner.EndOfLog()
				}
				return io.EOF
			}
			rc, err := Open(s.paths[s.i])
			if err != nil {
				return fmt.Errorf("opening %s log: %w", s.kind, err)
			}
			s.cur, s.name = rc, s.paths[s.i]
			s.lr = NewLineReader(rc, s.maxLine)
			if s.joiner != nil && s.i > 0 && !Continues(s.paths[s.i-1], s.paths[s.i]) {
				// Parts of a split line go on into the file that
				// replaced a rotated one, not into another log.
				s.joiner.EndOfLog()
			}
			if s.skim != nil {
				s.skim.file = &completer{name: s.name, full: s.skim.full, stats: s.stats, lazy: s.skim.lazy}
			}
			s.i++
		}
		if s.polled++; s.polled&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		long := s.lr.Skipped()
		line, n, err := s.lr.Next()
		if skipped := s.lr.Skipped() - long; skipped > 0 {
			// The over-long lines skipped are the ones just before line n,
			// or, at the end, line n and the ones before it.
			first := n - skipped
			if err != nil {
				first++
			}
			if serr := s.tooLong(first, skipped); serr != nil {
				return serr
			}
			if s.joiner != nil && err == nil {
				s.joiner.Skipped()
			}
		}
		if err == io.EOF {
			s.cur.Close()
			s.lr, s.cur = nil, nil
			continue
		}
		if err != nil {
			var de *DamagedError
			if !errors.As(err, &de) {
				return fmt.Errorf("reading %s: %w", s.name, err)
			}
			// The file ends at the damage; the next one is read,
			// unless the source is strict.
			err = damagedAt(err, s.name, de.Line)
			s.stats.Damage(err)
			if s.strict {
				return err
			}
			s.cur.Close()
			s.lr, s.cur = nil, nil
			continue
		}
		s.stats.Lines.Add(1)
		r.Reset()
		r.Kind = s.kind
		if sk := s.skim; sk != nil {
			full, err := sk.sk.Skim(line, r, sk.want)
			if err == nil {
				if !full {
					r.Raw, r.Rest, r.RawLine = line, sk.file, n
					if sk.lazy {
						s.stats.Skimmed.Add(1)
					}
				}
				s.stats.Parsed.Add(1)
				return nil
			}
			r.Reset()
			r.Kind = s.kind
		}
		perr := s.parser.Parse(line, r)
		switch {
		case perr == nil:
			s.stats.Parsed.Add(1)
			return nil
		case errors.Is(perr, ErrIgnore):
			s.stats.Ignored.Add(1)
		default:
			if IsTooLong(perr) {
				s.stats.TooLong.Add(1)
			}
			perr = positioned(perr, s.name, n)
			s.stats.Reject(perr)
			if s.strict {
				return perr
			}
		}
	}
}

// tooLong counts the run of skipped over-long lines first to
// first+skipped-1 of the file being read, each rejected with its own line
// number (as many as the Stats keep). A strict source returns the first
// one's error.
func (s *FileSource) tooLong(first, skipped int64) error {
	s.stats.Lines.Add(skipped)
	s.stats.TooLong.Add(skipped)
	kept := min(skipped, MaxReportedErrors)
	if s.strict {
		kept = 1
	}
	s.stats.Rejected.Add(skipped - kept)
	var firstErr error
	for k := range kept {
		err := &SyntaxError{Source: s.name, Line: first + k, Msg: fmt.Sprintf("line longer than %d bytes skipped", s.lr.max)}
		s.stats.Reject(err)
		if k == 0 {
			firstErr = err
		}
	}
	if s.strict {
		return firstErr
	}
	return nil
}

// Close releases the file being read.
func (s *FileSource) Close() error {
	if s.cur != nil {
		return s.cur.Close()
	}
	return nil
}
