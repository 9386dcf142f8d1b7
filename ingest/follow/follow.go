// Package follow reads log files as they grow, with the semantics of
// `tail -F`, and remembers how far it read so a restart resumes where the
// previous run stopped.
//
// A Source follows every file matching its paths (globs allowed, re-expanded
// at every poll, so new files are picked up). It notices rotation by rename
// (the path now names another file: the old file is read to its end and kept
// open for RotateWait after its last data, then the new file is read from
// its start) and by truncation (copytruncate: the file is shorter than what
// was read, or its first line changed: reading restarts at 0). A new file of
// the same log whose first line is that of a file read (the copy
// copytruncate makes, when a glob matches it) is read only beyond what was
// read of that file (see copy.go). Changes are found by polling stat every
// PollInterval (250 ms by default); no inotify.
// A last line without its newline is held until the newline arrives, and
// delivered as a line when its file is rotated away or truncated. "-" is
// standard input, followed as a stream with no position.
//
// # Positions and the serve loop
//
// A file is identified by device and inode, plus a fingerprint (a hash of
// its first line) that tells a reused inode from the same file. Position
// returns where the record last returned by Next ends. Positions are saved
// to the state file only by Commit, which the caller calls once the effects
// of the records up to those positions are durable (alerts handed to the
// sinks): at-least-once, as with Kafka offsets. The one position saved
// without Commit is where reading of a file started (its beginning, or its
// end with FromEnd), with its first line: it precedes every record of the
// file. A restart resumes at the saved positions, including the rest of a
// file that was renamed away (while spraywatch was stopped, or before any
// of its positions was committed), if it still sits in the same directory:
// it is found there by device and inode, whatever its name. A file with a
// saved position that is gone is reported by Lost.
//
// Next blocks until a record arrives or ctx ends. When no record arrived for
// IdleInterval it returns ErrIdle instead, so the caller can advance its
// watermark (the source is idle, not finished) and then call Next again.
// Next, Position and Checkpoint must be called from one goroutine; Commit
// and Stats may be called from any goroutine.
//
// A serve loop runs Next on a reader goroutine, copies each record with its
// Position, treats ErrIdle as "nothing pending from this source" for its
// watermark, and after the alerts of the processed records were handed to
// the sinks calls Commit with the positions of those records. Commit keeps,
// per file, the furthest position it was given, so a file's position may be
// committed only once every earlier record of that file was processed; a
// FIFO queue per source gives that. Standard input has no positions: what
// was read from it is not resumed.
package follow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

// ErrIdle is returned by Next when no record arrived for the idle interval.
// The source is still following; call Next again.
var ErrIdle = errors.New("follow: idle")

// Defaults for Config.
const (
	DefaultPollInterval = 250 * time.Millisecond
	DefaultIdleInterval = time.Second
	DefaultRotateWait   = time.Second
)

// Config configures a Source.
type Config struct {
	Name   string // for Stats; defaults to the first path
	Format string // for Stats
	Kind   event.Kind
	// Paths are files or glob patterns; "-" is standard input.
	Paths  []string
	Parser ingest.Parser
	// MaxLineBytes caps a line's length; longer lines are counted and
	// skipped (0 means ingest.DefaultMaxLineBytes).
	MaxLineBytes int
	// StateFile keeps the committed read positions ("" keeps none). Each
	// Source needs its own.
	StateFile string
	// PollInterval is how often paths are expanded and files stat'ed.
	PollInterval time.Duration
	// IdleInterval is how long Next waits for a record before returning
	// ErrIdle (negative: never).
	IdleInterval time.Duration
	// RotateWait is how long a file that was renamed away or removed is
	// still read after its last data (writers often write a little more
	// before they reopen their log).
	RotateWait time.Duration
	// FromEnd starts files found at the first start-up (the state file,
	// if any, holds no position yet) at their end instead of their
	// beginning. Files appearing later, or found at a restart without a
	// saved position (created by a rotation while stopped), are read from
	// their beginning.
	FromEnd bool
	// Logger logs, at info level, each file recognised as a copy of a
	// file read before (nil logs nothing).
	Logger *slog.Logger
}

// Position is where a record ends in a followed file.
type Position struct {
	Path        string // the path the file was read under
	Dev, Inode  uint64
	Fingerprint uint64 // hash of the first line (see Source)
	Generation  uint32 // truncations of the file seen while following it
	Offset      int64  // bytes of the file up to and including the record's line
}

// Counters count what happened to the followed files. Safe to read while
// the source runs.
type Counters struct {
	Opened    atomic.Int64 // files opened
	Rotated   atomic.Int64 // files renamed away or removed, then closed
	Truncated atomic.Int64 // truncations seen (reading restarted at 0)
	Resumed   atomic.Int64 // files resumed at a saved position
	Skipped   atomic.Int64 // matching files not read (compressed)
	// Copies counts the new files recognised as copies of a file read
	// before (copytruncate); CopiedBytes the bytes of theirs not read,
	// because they were read from the file copied.
	Copies      atomic.Int64
	CopiedBytes atomic.Int64
	Commits     atomic.Int64 // state file writes
	// Lost counts the files with a saved position that a start (New) or
	// a Rewind could not find to read again (see Lost), each once.
	Lost atomic.Int64
}

type fileID struct{ dev, ino uint64 }

// Source follows files. See the package documentation.
type Source struct {
	cfg      Config
	maxLine  int
	parser   ingest.Parser
	joiner   ingest.Joiner // parser, if it joins split lines
	joinFile *file         // the file whose split lines the joiner holds
	stats    *ingest.Stats
	counters Counters

	files   []*file // read in this order; successors wait behind them
	byID    map[fileID]*file
	stdin   *file
	cur     int // index of the file read last
	polled  int // loop turns, for the periodic checks while busy
	started bool
	last    Position

	lastPoll   time.Time
	lastRecord time.Time
	wake       chan struct{} // stdin data ready

	state *state

	retiredMu sync.Mutex
	retired   []Position // final positions of the files closed since Retired
	lost      []Position // saved positions of the files not found (see Lost)
	// lostSeen are the positions reported lost so far: a file that is
	// still in its directory, but no longer holds what was read, stays in
	// the state file and is reported again by each Rewind; it is counted
	// once.
	lostSeen map[Position]bool

	// marks say how far each file was read before: before the last Rewind,
	// or by an earlier run (MarkRead). Lines read again up to there are
	// counted only in Stats().Reread. closed are the marks of the files
	// closed since the last Rewind.
	marks  map[fileID]mark
	closed []markAt
	again  ingest.Stats // the counts of the lines read again, not reported
	// flagsIn is the stats whose Flagged the parser counts in: stats,
	// or again while lines are read again.
	flagsIn *ingest.Stats
	// lastAgain says the record Next returned last was read before.
	lastAgain bool
}

// mark is how far a file was read: up to offset off of generation gen of
// the file with fingerprint fp.
type mark struct {
	fp  uint64
	gen uint32
	off int64
}

// maxClosedMarks bounds the marks of closed files kept until the next
// Rewind: the oldest were committed long before, and are not read again.
const maxClosedMarks = 1024

type markAt struct {
	id fileID
	m  mark
}

// New returns a source following c.Paths, resuming at the positions saved
// in c.StateFile.
func New(c Config) (*Source, error) {
	if c.Parser == nil {
		return nil, errors.New("follow: no parser")
	}
	if len(c.Paths) == 0 {
		return nil, errors.New("follow: no paths")
	}
	for _, p := range c.Paths {
		if _, err := filepath.Match(p, ""); err != nil {
			return nil, fmt.Errorf("follow: pattern %q: %w", p, err)
		}
		// A path that matches no file yet may name a log still to be
		// written (see Unmatched); a directory is a mistake.
		if fi, err := os.Stat(p); err == nil && fi.IsDir() && !isPattern(p) {
			return nil, fmt.Errorf("follow: %q is a directory, not a log file (a pattern such as %s follows the files in it)", p, filepath.Join(p, "*.log"))
		}
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.IdleInterval == 0 {
		c.IdleInterval = DefaultIdleInterval
	}
	if c.RotateWait <= 0 {
		c.RotateWait = DefaultRotateWait
	}
	maxLine := c.MaxLineBytes
	if maxLine <= 0 {
		maxLine = ingest.DefaultMaxLineBytes
	}
	name := c.Name
	if name == "" {
		name = c.Paths[0]
	}
	st, err := loadState(c.StateFile)
	if err != nil {
		return nil, err
	}
	if st != nil && len(st.files) > 0 {
		// A restart: a file with no saved position appeared while the
		// source was stopped (the log was rotated), and its lines are
		// new. FromEnd only applies to a first start.
		c.FromEnd = false
	}
	s := &Source{
		cfg:     c,
		maxLine: maxLine,
		parser:  c.Parser,
		stats:   &ingest.Stats{Name: name, Kind: c.Kind, Format: c.Format},
		byID:    map[fileID]*file{},
		wake:    make(chan struct{}, 1),
		state:   st,
	}
	s.flagsIn = s.stats
	ingest.CountFlags(c.Parser, &s.stats.Flagged)
	if j, ok := c.Parser.(ingest.Joiner); ok && j.Joins() {
		s.joiner = j
		j.SetMaxLineBytes(maxLine)
	}
	return s, nil
}

// Stats returns the line counters.
func (s *Source) Stats() *ingest.Stats { return s.stats }

// Counters returns the file counters.
func (s *Source) Counters() *Counters { return &s.counters }

// Position returns where the record last returned by Next ends. Records
// read from standard input have the zero Position.
func (s *Source) Position() Position { return s.last }

// Checkpoint returns the positions of every open file: everything Next
// returned or skipped so far. Committing them once the records returned so
// far are durable is the simplest way to use Commit.
func (s *Source) Checkpoint() []Position {
	out := make([]Position, 0, len(s.files))
	for _, f := range s.files {
		for ; f != nil; f = f.successor {
			if f.id != (fileID{}) && f.fpOK && !f.held {
				out = append(out, f.position())
			}
		}
	}
	return out
}

// Commit records that the records up to ps are durable and saves the
// positions to the state file (written to a temporary file, synced and
// renamed over the old one). A position never moves a file backwards;
// zero Positions are ignored. Safe to call from any goroutine.
func (s *Source) Commit(ps ...Position) error {
	if s.state == nil {
		return nil
	}
	changed, err := s.state.commit(ps)
	if changed {
		s.counters.Commits.Add(1)
	}
	return err
}

// Rewind closes every file and makes the next call to Next start again from
// the saved positions, as a new Source on the same state file would: a file
// with no committed position is read again from where its reading started,
// renamed away or not, and a file not read before from its beginning,
// whatever FromEnd says. It fails when no state file is kept or standard input is
// followed (neither can be read again). Not safe to call while Next runs.
func (s *Source) Rewind() error {
	if s.state == nil {
		return errors.New("follow: rewinding needs a state file")
	}
	for _, p := range s.cfg.Paths {
		if p == "-" {
			return errors.New("follow: standard input cannot be read again")
		}
	}
	// The lines read so far are read again: marks of the files open and
	// of those closed since the last Rewind (older ones were read to
	// their end before it, and their marks are among those closed since,
	// if they are read again).
	old := s.marks
	s.marks = nil
	for _, c := range s.closed {
		s.mark(c.id, c.m)
	}
	for _, head := range s.files {
		for f := head; f != nil; f = f.successor {
			if f.id == (fileID{}) {
				continue
			}
			f.fingerprint()
			if !f.fpOK {
				continue
			}
			if m, ok := old[f.id]; ok {
				s.mark(f.id, m)
			}
			s.mark(f.id, markOf(f))
		}
	}
	s.closed = nil
	s.Close()
	s.byID = map[fileID]*file{}
	s.cur, s.polled, s.started, s.last = 0, 0, false, Position{}
	s.cfg.FromEnd = false
	s.retiredMu.Lock()
	s.retired = nil
	s.retiredMu.Unlock()
	return nil
}

// MarkRead says the lines up to the positions ps were read before (by an
// earlier run, whose positions these are): when they are read again they
// are counted only in Stats().Reread, as Rewind arranges for the lines read
// before it. Positions of files the source does not follow are ignored.
// Call it before the first Next, or between Rewind and the next Next.
func (s *Source) MarkRead(ps ...Position) {
	for _, p := range ps {
		if p.Fingerprint != 0 || p.Offset > 0 {
			s.mark(fileID{p.Dev, p.Inode}, mark{p.Fingerprint, p.Generation, p.Offset})
		}
	}
}

// mark notes that file id was read up to m, unless it was read further.
func (s *Source) mark(id fileID, m mark) {
	if id == (fileID{}) {
		return
	}
	if s.marks == nil {
		s.marks = map[fileID]mark{}
	}
	if old, ok := s.marks[id]; ok && old.fp == m.fp && (old.gen > m.gen || old.gen == m.gen && old.off >= m.off) {
		return
	}
	s.marks[id] = m
}

// markOf returns how far f was read: its last line, or further if it is
// being read again.
func markOf(f *file) mark {
	off := f.lineOff
	if f.rereadGen == f.gen && f.rereadTo > off {
		off = f.rereadTo
	}
	return mark{f.fp, f.gen, off}
}

// applyMark tells f, just opened, how far it was read before.
func (s *Source) applyMark(f *file) {
	m, ok := s.marks[f.id]
	if !ok {
		return
	}
	f.fingerprint()
	if f.fpOK && f.fp == m.fp {
		f.rereadTo, f.rereadGen = m.off, m.gen
	}
}

// Again reports whether the record Next returned last was read before
// (see MarkRead and Rewind): its line was counted only in Stats().Reread.
func (s *Source) Again() bool { return s.lastAgain }

// Close closes every open file. The positions not committed are not saved.
func (s *Source) Close() error {
	for _, f := range s.files {
		for ; f != nil; f = f.successor {
			f.close()
		}
	}
	if s.stdin != nil {
		s.stdin.close()
	}
	s.files = nil
	s.joinFile = nil
	return nil
}

// Next reads lines until one parses into r. It blocks until then, until
// ctx ends, or until IdleInterval passed without a record (ErrIdle). When
// only standard input is followed, its end is io.EOF.
func (s *Source) Next(ctx context.Context, r *event.Record) error {
	if !s.started {
		s.started = true
		if err := s.start(); err != nil {
			return err
		}
		s.lastRecord = time.Now()
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if s.polled++; s.polled&255 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if time.Since(s.lastPoll) >= s.cfg.PollInterval {
				s.poll(time.Now())
			}
		}
		line, f, err := s.readLine()
		if err != nil {
			return err
		}
		if f != nil {
			if f.unsaved {
				s.saveOrigin(f)
			}
			if s.parse(line, f, r) {
				s.lastRecord = time.Now()
				return nil
			}
			continue
		}
		// Nothing to read now.
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(s.files) == 0 && s.stdin == nil && s.onlyStdin() {
			return io.EOF
		}
		now := time.Now()
		if now.Sub(s.lastPoll) >= s.cfg.PollInterval {
			if s.poll(now) {
				continue
			}
		}
		wait := s.cfg.PollInterval - now.Sub(s.lastPoll)
		if s.cfg.IdleInterval > 0 {
			idle := s.cfg.IdleInterval - now.Sub(s.lastRecord)
			if idle <= 0 {
				s.lastRecord = now
				return ErrIdle
			}
			wait = min(wait, idle)
		}
		wait = max(wait, time.Millisecond)
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		case <-timer.C:
		}
	}
}

func (s *Source) onlyStdin() bool {
	for _, p := range s.cfg.Paths {
		if p != "-" {
			return false
		}
	}
	return true
}

// parse parses one line into r; false when the line was skipped.
func (s *Source) parse(line []byte, f *file, r *event.Record) bool {
	st := s.stats
	again := f.again()
	if again {
		st.Reread.Add(1)
		st = &s.again // counted when first read
	}
	if st != s.flagsIn {
		ingest.CountFlags(s.parser, &st.Flagged)
		s.flagsIn = st
	}
	st.Lines.Add(1)
	r.Reset()
	r.Kind = s.cfg.Kind
	if s.joiner != nil {
		s.joinState(f)
	}
	err := s.parser.Parse(line, r)
	switch {
	case err == nil:
		st.Parsed.Add(1)
		s.lastAgain = again
		if f.id != (fileID{}) {
			f.fingerprint()
			s.last = f.position()
		} else {
			s.last = Position{}
		}
		return true
	case errors.Is(err, ingest.ErrIgnore):
		st.Ignored.Add(1)
	default:
		if ingest.IsTooLong(err) {
			st.TooLong.Add(1)
		}
		var se *ingest.SyntaxError
		if errors.As(err, &se) {
			c := *se
			c.Source, c.Line = f.path, f.line
			err = &c
		} else {
			err = &ingest.SyntaxError{Source: f.path, Line: f.line, Msg: err.Error()}
		}
		if f.resumed {
			// Line numbers count from where reading resumed.
			se = err.(*ingest.SyntaxError)
			se.Msg = fmt.Sprintf("(line counted from the resumed position) %s", se.Msg)
		}
		st.Reject(err)
	}
	return false
}

// joinState gives the joiner the split lines of f (the parts of a line
// its writer split are in one file, and files are read in turns): it keeps
// those of the file it read last in that file.
func (s *Source) joinState(f *file) {
	if f == s.joinFile && f.gen == f.joinGen {
		return
	}
	if g := s.joinFile; g != nil && g != f {
		g.join = s.joiner.AppendJoinState(g.join[:0])
	}
	if f.gen != f.joinGen {
		// Truncated: its lines start again.
		f.join, f.joinGen = f.join[:0], f.gen
	}
	s.joiner.SetJoinState(f.join)
	s.joinFile = f
}

// endJoin hands the parts of split lines kept for f, a file rotated away
// and read to its end, to the file now at its path when that is read from
// its start: a rotation can fall between the parts of a line, and the
// writer went on in the new file. Otherwise they are dropped, counted
// (Joiner.EndOfLog).
func (s *Source) endJoin(f *file) {
	if s.joiner == nil {
		return
	}
	s.joinState(f)
	if g := f.successor; g != nil && g.line == 0 && !g.resumed {
		g.join, g.joinGen = s.joiner.AppendJoinState(g.join[:0]), g.gen
		s.joinFile = g // the joiner holds g's state
		return
	}
	s.joiner.EndOfLog()
}

// startInside prepares the joiner for f, whose reading starts past its
// beginning (at a saved position, or at its end): the lines just before
// the start may have left parts of a split line, whose end is still to
// come. A tracker follows those lines (from the first line that begins in
// the last 2*maxLine bytes), and their parts pending are dropped
// (Joiner.DropKept), so that the end of their line is rejected, not read
// as a line of its own.
func (s *Source) startInside(f *file) {
	if s.joiner == nil || f.off == 0 || f.f == nil {
		return
	}
	from := max(f.off-2*int64(s.maxLine), 0)
	buf := make([]byte, f.off-from)
	if _, err := f.f.ReadAt(buf, from); err != nil {
		return // read as before: the reading itself reports the error
	}
	if from > 0 {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			return
		}
		buf = buf[i+1:]
	} else {
		buf = bytes.TrimPrefix(buf, bom) // as next reads the first line
	}
	t := s.joiner.NewJoinTracker()
	for len(buf) > 0 {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break // no line end before the start: the start is inside this line
		}
		if i > s.maxLine {
			t.Skipped()
		} else {
			t.Track(trimCR(buf[:i]))
		}
		buf = buf[i+1:]
	}
	state := t.AppendState(nil)
	if len(state) == 0 {
		return
	}
	s.joinState(f)
	s.joiner.SetJoinState(state)
	s.joiner.DropKept()
	f.join, f.joinGen = s.joiner.AppendJoinState(f.join[:0]), f.gen
}

// readLine returns the next complete line of any file, reading up to a
// batch of lines from one file before moving to the next, or a nil file
// when no file has a line now.
func (s *Source) readLine() ([]byte, *file, error) {
	all := s.slots()
	for i := 0; i < len(all); i++ {
		k := (s.cur + i) % len(all)
		f := all[k]
		line, ok, err := f.next()
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", f.path, err)
		}
		s.countLong(f, ok)
		if f.truncCount > 0 {
			s.counters.Truncated.Add(f.truncCount)
			f.truncCount = 0
		}
		if ok {
			if f.batch++; f.batch >= 1024 {
				f.batch = 0
				s.cur = nextLog(all, k)
			} else {
				s.cur = k
			}
			return line, f, nil
		}
		f.batch = 0
		if f == s.stdin && f.eof {
			f.close()
			s.stdin = nil
			return s.readLine()
		}
	}
	return nil, nil, nil
}

// nextLog returns the index in all of the first file of the log after the
// log of all[k] (the files of one log are next to each other, see order),
// or 0 after the last log.
func nextLog(all []*file, k int) int {
	j := k + 1
	for j < len(all) && ingest.SameLog(all[j].path, all[k].path) {
		j++
	}
	if j == len(all) {
		return 0
	}
	return j
}

// order sorts the files being read so that the files of one log are read
// oldest first, as replay reads them (access.log.2, access.log.1, then
// access.log; see ingest.SortRotated): a glob matching a log's rotated
// files as well as its live file finds them together, at the start or when
// the log is rotated, and reading them in turns would interleave records
// hours apart, which would then reach the engine late. readLine goes on
// with the file it read last while that has lines, and after a batch moves
// on to the next log, starting again with its oldest file.
func (s *Source) order() {
	if len(s.files) < 2 {
		return
	}
	var cur *file
	if s.cur < len(s.files) {
		cur = s.files[s.cur]
	}
	sort.SliceStable(s.files, func(i, j int) bool { return ingest.RotatedBefore(s.files[i].path, s.files[j].path) })
	if cur != nil {
		// Go on with the log read last, from its oldest file.
		s.cur = slices.IndexFunc(s.files, func(f *file) bool { return ingest.SameLog(f.path, cur.path) })
	}
}

// slots returns the files read now: every file at the head of its chain of
// successors, and standard input.
func (s *Source) slots() []*file {
	if s.stdin == nil {
		return s.files
	}
	return append(s.files[:len(s.files):len(s.files)], s.stdin)
}

// countLong rejects the over-long lines f skipped since the last call,
// each with its own line number: the lines just before f.line when f
// returned line f.line (kept), else the lines up to f.line.
func (s *Source) countLong(f *file, kept bool) {
	if f.long == f.longSeen {
		return
	}
	line := f.line - (f.long - f.longSeen)
	if !kept {
		line++
	}
	line = max(line, 1) // numbered anew since the file was truncated
	st := s.stats
	if f.again() {
		st = &s.again // counted when first read
	}
	for ; f.longSeen < f.long; f.longSeen++ {
		if st != s.stats {
			s.stats.Reread.Add(1)
		}
		st.Lines.Add(1)
		st.TooLong.Add(1)
		st.Reject(&ingest.SyntaxError{Source: f.path, Line: line, Msg: fmt.Sprintf("line longer than %d bytes skipped", s.maxLine)})
		line++
	}
	if s.joiner != nil {
		s.joinState(f)
		s.joiner.Skipped()
	}
}

// isPattern reports whether a path holds glob characters.
func isPattern(p string) bool { return strings.ContainsAny(p, "*?[") }

// Unmatched returns the paths that match no regular file now, in the
// order given: a log not written yet, which the source follows once it
// appears, or a typo.
func (s *Source) Unmatched() []string {
	var out []string
	for _, p := range s.cfg.Paths {
		if p == "-" {
			continue
		}
		matches, _ := filepath.Glob(p)
		found := false
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
				found = true
				break
			}
		}
		if !found {
			out = append(out, p)
		}
	}
	return out
}

// start opens standard input and the files found now.
func (s *Source) start() error {
	for _, p := range s.cfg.Paths {
		if p == "-" && s.stdin == nil {
			s.stdin = newStdin(os.Stdin, s.maxLine, s.wake)
		}
	}
	s.pollAt(time.Now(), true)
	return nil
}

// poll expands the paths and looks for new, rotated and truncated files. It
// reports whether anything changed that may have made lines readable.
func (s *Source) poll(now time.Time) bool { return s.pollAt(now, false) }

func (s *Source) pollAt(now time.Time, first bool) bool {
	s.lastPoll = now
	changed := false
	// Which file does each matching path name now?
	seen := map[fileID]string{}
	var order []string
	for _, pat := range s.cfg.Paths {
		if pat == "-" {
			continue
		}
		matches, _ := filepath.Glob(pat)
		for _, p := range matches {
			fi, err := os.Stat(p)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			id := idOf(fi)
			if _, dup := seen[id]; dup {
				continue
			}
			seen[id] = p
			order = append(order, p)
		}
	}
	// Compressed files not read: forget them once they are gone.
	for id, f := range s.byID {
		if _, ok := seen[id]; !ok && f.skipped {
			delete(s.byID, id)
		}
	}
	// Files already followed: renamed, rotated away, truncated.
	for _, head := range s.files {
		for f := head; f != nil; f = f.successor {
			p, ok := seen[f.id]
			if !ok {
				if f.orphaned.IsZero() {
					f.orphaned = now
					f.lastData = now
				}
				continue
			}
			if f.path != p {
				f.path = p
			}
			f.orphaned = time.Time{}
			if f.checkTruncated() {
				s.counters.Truncated.Add(1)
				changed = true
			}
		}
	}
	// New files, each log's live file first: a copy among them is told
	// by the file it copies.
	sort.SliceStable(order, func(i, j int) bool { return ingest.RotatedBefore(order[j], order[i]) })
	for _, p := range order {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		id := idOf(fi)
		if s.byID[id] != nil {
			continue
		}
		f, err := s.open(p, id, first)
		if err != nil || f == nil {
			continue
		}
		changed = true
		s.byID[id] = f
		// A new file at the path of a file rotated away waits for it.
		if prev := s.atPath(p, f); prev != nil {
			for prev.successor != nil {
				prev = prev.successor
			}
			prev.successor = f
			continue
		}
		s.files = append(s.files, f)
	}
	if first {
		s.recoverRotated(seen)
	}
	if s.settle() {
		changed = true
	}
	// Close files rotated away and drained.
	kept := s.files[:0]
	for _, f := range s.files {
		for f != nil && f.doneRotating(now, s.cfg.RotateWait) {
			if f.pendingPartial() {
				break // deliver the held partial line first
			}
			s.counters.Rotated.Add(1)
			s.endJoin(f)
			s.retire(f)
			f = f.successor
			changed = true
		}
		if f != nil {
			kept = append(kept, f)
		}
	}
	clear(s.files[len(kept):])
	s.files = kept
	s.order()
	return changed
}

// atPath returns the followed file rotated away from path p, other than f.
func (s *Source) atPath(p string, f *file) *file {
	for _, head := range s.files {
		for g := head; g != nil; g = g.successor {
			if g != f && g.path == p && !g.orphaned.IsZero() {
				return g
			}
		}
	}
	return nil
}

// retire closes a drained file and tells the state it is gone.
func (s *Source) retire(f *file) {
	if s.state != nil && f.id != (fileID{}) && f.fpOK {
		// Only a source with a state file can Rewind.
		if len(s.closed) >= maxClosedMarks {
			s.closed = append(s.closed[:0], s.closed[1:]...)
		}
		s.closed = append(s.closed, markAt{f.id, markOf(f)})
	}
	f.close()
	delete(s.byID, f.id)
	if s.state != nil {
		s.state.retire(f.id, f.fp, f.lineOff)
	}
	if f.id != (fileID{}) {
		s.retiredMu.Lock()
		s.retired = append(s.retired, f.position())
		s.retiredMu.Unlock()
	}
}

// Retired returns the final positions of the files closed since the last
// call: files rotated away (or removed) and read to their end, after every
// record of theirs was returned by Next. Next returns nothing more of them,
// so once a final position is committed the caller can forget the file:
// the state file drops its entry when it is committed. A new file may later
// reuse the inode; it has its own fingerprint. Safe to call from any
// goroutine.
func (s *Source) Retired() []Position {
	s.retiredMu.Lock()
	defer s.retiredMu.Unlock()
	ps := s.retired
	s.retired = nil
	return ps
}

// open opens a file found at path p and places it at its saved position.
func (s *Source) open(p string, id fileID, first bool) (*file, error) {
	osf, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	fi, err := osf.Stat()
	if err != nil || idOf(fi) != id {
		osf.Close()
		return nil, errors.New("changed while opening")
	}
	f := newFile(osf, p, id, s.maxLine)
	if f.compressed() {
		osf.Close()
		s.counters.Skipped.Add(1)
		s.byID[id] = &file{id: id, path: p, skipped: true}
		return nil, nil
	}
	s.counters.Opened.Add(1)
	var saved *entry
	if s.state != nil {
		saved = s.state.lookup(id)
	}
	resumed := false
	switch {
	case saved != nil:
		f.fingerprint()
		if f.fpOK && f.fp == saved.Fingerprint && fi.Size() >= saved.Offset {
			resumed = true
			f.seek(saved.Offset)
			f.gen = saved.Generation
			if saved.Offset > 0 || saved.Generation > 0 {
				s.counters.Resumed.Add(1)
			}
			s.startInside(f)
		} else if saved.Offset > 0 {
			// Truncated while stopped: what was read of the generation
			// before is its saved position, for a copy of it
			// (recognise).
			f.prevFp, f.prevOff, f.prevGen, f.prevOK = saved.Fingerprint, saved.Offset, saved.Generation, true
		}
	case first && s.cfg.FromEnd:
		f.seek(fi.Size())
		s.startInside(f)
	}
	if f.off == 0 {
		s.recognise(f) // a copy is read from where its original was left
	}
	if s.state != nil && !resumed {
		// Where reading starts is saved with the first line, so that a
		// Rewind or a restart before any position of the file is
		// committed finds the file, renamed or not, and reads it again
		// from there.
		f.unsaved, f.origin, f.originGen = true, f.off, f.gen
		s.saveOrigin(f) // now if it has a first line
	}
	s.applyMark(f)
	return f, nil
}

// saveOrigin saves where reading of f started as its position in the
// state file, once f has a first line (its fingerprint): when it is opened,
// or else with the first line read. That position
// precedes every record of f, so saving it before the records are
// processed keeps reading at least once. A write that fails is done
// again by the next Commit.
func (s *Source) saveOrigin(f *file) {
	f.fingerprint()
	if !f.fpOK {
		return
	}
	f.unsaved = false
	p := Position{Path: f.path, Dev: f.id.dev, Inode: f.id.ino, Fingerprint: f.fp, Generation: f.originGen, Offset: f.origin}
	if f.gen != f.originGen {
		p.Generation, p.Offset = f.gen, 0
	}
	s.state.commit([]Position{p})
}

// Lost returns the saved positions of the files that Next, starting (after
// New or Rewind), could not find since the last call: a file renamed away
// is looked for by device and inode in the directory of the path it was
// read under, and is lost when it is no longer there (deleted, or moved
// elsewhere), was compressed, or no longer holds what was read (another
// first line, or shorter than the position). Its lines from the position
// on are not read again. Safe to call from any goroutine.
func (s *Source) Lost() []Position {
	s.retiredMu.Lock()
	defer s.retiredMu.Unlock()
	ps := s.lost
	s.lost = nil
	return ps
}

func (s *Source) addLost(e entry) {
	s.retiredMu.Lock()
	defer s.retiredMu.Unlock()
	p := Position(e)
	s.lost = append(s.lost, p)
	if !s.lostSeen[p] {
		if s.lostSeen == nil || len(s.lostSeen) >= maxClosedMarks {
			s.lostSeen = map[Position]bool{}
		}
		s.lostSeen[p] = true
		s.counters.Lost.Add(1)
	}
}

// recoverRotated finds, at start-up, files with a saved position that were
// renamed away while the source was stopped, and reads their rest first.
func (s *Source) recoverRotated(seen map[fileID]string) {
	if s.state == nil {
		return
	}
	for _, e := range s.state.entries() {
		id := fileID{e.Dev, e.Inode}
		if _, ok := seen[id]; ok || s.byID[id] != nil {
			continue
		}
		p := findInDir(filepath.Dir(e.Path), id)
		if p == "" {
			s.state.drop(id)
			s.addLost(e)
			continue
		}
		osf, err := os.Open(p)
		if err != nil {
			s.addLost(e)
			continue
		}
		fi, err := osf.Stat()
		if err != nil || idOf(fi) != id {
			osf.Close()
			s.addLost(e)
			continue
		}
		f := newFile(osf, p, id, s.maxLine)
		f.fingerprint()
		if !f.fpOK || f.fp != e.Fingerprint || fi.Size() < e.Offset || f.compressed() {
			osf.Close()
			s.addLost(e)
			continue
		}
		f.seek(e.Offset)
		f.gen = e.Generation
		s.startInside(f)
		s.applyMark(f)
		// It was renamed before reading started: its writer had a
		// RotateWait to go on with it before then, and it is closed once
		// read to its end and not written for RotateWait (not once it was
		// not read for that long: it may be read long after it was
		// written, while the other log is read ahead of it).
		now := time.Now()
		f.orphaned, f.lastData, f.recovered = now.Add(-s.cfg.RotateWait), now, true
		s.counters.Opened.Add(1)
		if e.Offset > 0 || e.Generation > 0 {
			s.counters.Resumed.Add(1)
		}
		s.byID[id] = f
		// It goes before whatever now sits at its old path.
		for i, g := range s.files {
			if g.path == e.Path {
				f.successor = g
				s.files[i] = f
				f = nil
				break
			}
		}
		if f != nil {
			s.files = append(s.files, f)
		}
	}
}

func findInDir(dir string, id fileID) string {
	des, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		fi, err := de.Info()
		if err == nil && idOf(fi) == id {
			return filepath.Join(dir, de.Name())
		}
	}
	return ""
}

func idOf(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	}
	return fileID{}
}

// stdinReader reads standard input on its own goroutine (a pipe read
// blocks) and hands chunks to the source.
type stdinReader struct {
	ch   chan []byte
	buf  []byte
	done bool
	err  error
	mu   sync.Mutex

	quit     chan struct{} // closed by stop: the reading goroutine ends
	stopOnce sync.Once
}

// stop has the reading goroutine end: at once if it waits to hand over a
// chunk, after its read returns if it is reading (a read of standard
// input cannot be interrupted).
func (r *stdinReader) stop() { r.stopOnce.Do(func() { close(r.quit) }) }

func newStdin(r io.Reader, maxLine int, wake chan struct{}) *file {
	sr := &stdinReader{ch: make(chan []byte, 4), quit: make(chan struct{})}
	go func() {
		for {
			b := make([]byte, 64<<10)
			n, err := r.Read(b)
			if n > 0 {
				select {
				case sr.ch <- b[:n]:
				case <-sr.quit:
					return
				}
				notify(wake)
			}
			if err != nil {
				if err != io.EOF {
					sr.mu.Lock()
					sr.err = err
					sr.mu.Unlock()
				}
				close(sr.ch)
				notify(wake)
				return
			}
		}
	}()
	f := &file{path: "-", r: sr, buf: lineBuffer(maxLine), stream: true}
	return f
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Read returns what the reading goroutine has, 0 and nil when it has
// nothing now, io.EOF once standard input ended.
func (r *stdinReader) Read(p []byte) (int, error) {
	if len(r.buf) == 0 {
		if r.done {
			return 0, io.EOF
		}
		select {
		case b, ok := <-r.ch:
			if !ok {
				r.done = true
				r.mu.Lock()
				err := r.err
				r.mu.Unlock()
				if err != nil {
					return 0, err
				}
				return 0, io.EOF
			}
			r.buf = b
		default:
			return 0, nil
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}
