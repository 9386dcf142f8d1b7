package serve

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/follow"
	"github.com/spraywatch/spraywatch/internal/owndir"
	"github.com/spraywatch/spraywatch/metrics"
	"github.com/spraywatch/spraywatch/replay"
	"github.com/spraywatch/spraywatch/rules"
)

// FilesConfig configures a Follower: the single-host mode that follows
// log files (or standard input) instead of Kafka topics.
type FilesConfig struct {
	// ProxyFiles and AppFiles are paths or glob patterns of the proxy and
	// application logs; "-" is standard input (for one of them at most).
	ProxyFiles, AppFiles   []string
	ProxyFormat, AppFormat ingest.Format
	// ProxyFormatName and AppFormatName label the sources' counters.
	ProxyFormatName, AppFormatName string
	MaxLineBytes                   int

	// StateDir keeps the read positions and what was already alerted on,
	// so that a restart resumes without losing or repeating alerts; ""
	// keeps nothing (a restart starts over).
	StateDir string
	// FromEnd starts the files at their end on the first start (no
	// positions saved yet); see follow.Config.FromEnd.
	FromEnd bool

	// Engine configures the correlator, the limits and the rules; its
	// Sink is set by the follower.
	Engine detect.Config
	// Sink receives the alerts. The follower does not close it.
	Sink alert.Sink

	// Lateness, IdleTimeout, CommitInterval and MaxBuffered are as in
	// Config.
	Lateness       time.Duration
	IdleTimeout    time.Duration
	CommitInterval time.Duration
	MaxBuffered    int
	// MaxRebuild is as in Config: the read positions are saved at most
	// that much event time (or the windows' span) behind the records
	// processed.
	MaxRebuild time.Duration
	// MaxTimeJump is as in Config, for each source's records.
	MaxTimeJump time.Duration
	// PollInterval is how often the files are checked for growth and
	// rotation (default follow.DefaultPollInterval).
	PollInterval time.Duration
	// RotateWait is how long a file renamed away or removed is still read
	// after its last data (default follow.DefaultRotateWait).
	RotateWait time.Duration

	Logger *slog.Logger
	// Observe and Tick are as in Config.
	Observe func(time.Duration)
	Tick    func(*detect.Engine)
}

// Follower runs the engine over followed files until its context ends.
//
// Its state survives restarts this way: the positions saved with each
// source (follow.Source.Commit) trail the processed records by the span
// the engine's windows need, or more, back to the first event of every
// incident firing (at most MaxRebuild), so a restart reads that span
// again and rebuilds the windows and the incidents; the positions of the
// records processed so far are saved in StateDir/alerted.json, and the
// alerts of records at or before them are muted while the span is read
// again.
type Follower struct {
	cfg     FilesConfig
	stats   Stats
	rules   *ruleSet
	rebuild *rebuilder // how far a restart rewinds; set for each run
	srcs    []*follow.Source
	engine  atomic.Pointer[detect.Engine]
	alive   atomic.Bool
	ready   atomic.Bool
	alerted map[fileKey]follow.Position // muted up to these positions
	counts  engineCounts                // the engines' counters for the life of the process
	warn    joinWarnings                // warns once of late join partners, once of request ids twice
	// counted says, per file, how far its records were counted in the
	// stream counters, across the runs of the process (see fileCounted);
	// closed are the files closed, oldest first, whose marks are kept
	// until maxClosedCounted newer ones are.
	counted map[fileKey]fileCounted
	closed  []fileKey
}

// fileCounted says how far the records of a file were counted: those at or
// before taken were queued (stream late) or rejected as time outliers,
// those at or before released were released (stream forced). A source
// queues and releases the records of each file in file order. A rule
// reload reads the files again from the saved positions, and so reads
// again what was taken, or released, before it but not processed: it
// counts none of it again (the lines read again are counted by the source
// in Stats().Reread only).
type fileCounted struct {
	taken, released follow.Position // zero: none yet
}

// maxClosedCounted bounds the marks of closed files kept: a rebuild reads a
// closed file again only until its final position is saved.
const maxClosedCounted = 1024

// wasTaken reports whether the record at p was taken (queued or rejected)
// before.
func (f *Follower) wasTaken(p follow.Position) bool {
	c, ok := f.counted[keyOf(p)]
	return ok && c.taken != (follow.Position{}) && p != (follow.Position{}) && before(p, c.taken)
}

// wasReleased reports whether the record at p was released before.
func (f *Follower) wasReleased(p follow.Position) bool {
	c, ok := f.counted[keyOf(p)]
	return ok && c.released != (follow.Position{}) && p != (follow.Position{}) && before(p, c.released)
}

// took notes that the record at p was taken (and, if released, released).
func (f *Follower) took(p follow.Position, released bool) {
	if p == (follow.Position{}) {
		return
	}
	k := keyOf(p)
	c, ok := f.counted[k]
	if !ok {
		// A file truncated, or a new file reusing the inode: what was
		// there before is not read again.
		for o := range f.counted {
			if o.Dev == k.Dev && o.Inode == k.Inode {
				delete(f.counted, o)
			}
		}
	}
	if c.taken == (follow.Position{}) || before(c.taken, p) {
		c.taken = p
	}
	if released && (c.released == (follow.Position{}) || before(c.released, p)) {
		c.released = p
	}
	f.counted[k] = c
}

// closedCounted notes that the files at ps were closed: their marks are
// dropped once maxClosedCounted files closed after them.
func (f *Follower) closedCounted(ps []follow.Position) {
	for _, p := range ps {
		if _, ok := f.counted[keyOf(p)]; !ok {
			continue
		}
		f.closed = append(f.closed, keyOf(p))
	}
	for len(f.closed) > maxClosedCounted {
		delete(f.counted, f.closed[0])
		f.closed = f.closed[1:]
	}
}

// fileKey identifies a followed file across restarts.
type fileKey struct {
	Dev, Inode, Fingerprint uint64
}

func keyOf(p follow.Position) fileKey { return fileKey{p.Dev, p.Inode, p.Fingerprint} }

// inodeKey identifies a file open in a source: a source opens a new file
// with a reused inode, or reads a truncated file again, only after every
// record of the previous content was returned, so the latest position per
// inode is the one that counts.
type inodeKey struct{ Dev, Inode uint64 }

func inodeOf(p follow.Position) inodeKey { return inodeKey{p.Dev, p.Inode} }

// sortPositions orders positions by path, then generation (then inode and
// offset), so that what is saved does not depend on map order.
func sortPositions(ps []follow.Position) []follow.Position {
	slices.SortFunc(ps, func(a, b follow.Position) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Generation, b.Generation),
			cmp.Compare(a.Dev, b.Dev), cmp.Compare(a.Inode, b.Inode), cmp.Compare(a.Offset, b.Offset))
	})
	return ps
}

// before reports whether a is at or before b in the same file.
func before(a, b follow.Position) bool {
	if a.Generation != b.Generation {
		return a.Generation < b.Generation
	}
	return a.Offset <= b.Offset
}

// NewFollower checks c and opens the sources (nothing is read before Run).
func NewFollower(c FilesConfig) (*Follower, error) {
	if len(c.ProxyFiles) == 0 || len(c.AppFiles) == 0 {
		return nil, errors.New("serve: both the proxy and the app files are required")
	}
	if c.ProxyFormat == nil || c.AppFormat == nil {
		return nil, errors.New("serve: the proxy and app formats are required")
	}
	if c.Sink == nil {
		return nil, errors.New("serve: no alert sink")
	}
	pacingDefaults(&c.Lateness, &c.IdleTimeout, &c.CommitInterval, &c.MaxBuffered, &c.Logger)
	f := &Follower{cfg: c, alerted: map[fileKey]follow.Position{}, rules: newRuleSet(c.Engine.Rules), counted: map[fileKey]fileCounted{}}
	f.rebuild = newRebuilder(c.MaxRebuild, &f.stats, c.Logger)
	if c.StateDir != "" {
		if err := os.MkdirAll(c.StateDir, 0o750); err != nil {
			return nil, fmt.Errorf("creating the state directory: %w", err)
		}
		// Another user who can write its files could move the positions
		// past an attack's lines or mark its alerts as sent.
		if err := owndir.Check(c.StateDir); err != nil {
			return nil, fmt.Errorf("state directory: %w: another user could change the read positions and the alerts marked as sent; use a directory of its own", err)
		}
		if err := f.loadAlerted(); err != nil {
			return nil, err
		}
	}
	for _, s := range []struct {
		name   string
		kind   event.Kind
		paths  []string
		format ingest.Format
		fname  string
	}{
		{"proxy", event.Proxy, c.ProxyFiles, c.ProxyFormat, c.ProxyFormatName},
		{"app", event.App, c.AppFiles, c.AppFormat, c.AppFormatName},
	} {
		fc := follow.Config{
			Name:         "file:" + s.name,
			Format:       s.fname,
			Kind:         s.kind,
			Paths:        s.paths,
			Parser:       s.format.NewParser(),
			MaxLineBytes: c.MaxLineBytes,
			PollInterval: c.PollInterval,
			RotateWait:   c.RotateWait,
			IdleInterval: c.IdleTimeout,
			FromEnd:      c.FromEnd,
			Logger:       c.Logger,
		}
		if c.StateDir != "" {
			fc.StateFile = filepath.Join(c.StateDir, s.name+".positions")
		}
		src, err := follow.New(fc)
		if err != nil {
			return nil, fmt.Errorf("following the %s files: %w", s.name, err)
		}
		// A log may appear later; until it does, no login of this side
		// is joined, so a typo in its name must show.
		for _, p := range src.Unmatched() {
			c.Logger.Warn("path matches no file yet; waiting for it (until it appears, every login is "+oneSided(s.kind)+")", "source", s.name, "path", p)
		}
		// The lines up to the positions processed before a restart are
		// read again: they were counted then.
		src.MarkRead(slices.Collect(maps.Values(f.alerted))...)
		f.srcs = append(f.srcs, src)
	}
	// So were the records up to them taken and released.
	for _, p := range f.alerted {
		f.took(p, true)
	}
	// The engine must accept the configuration before anything is read.
	if _, err := f.newEngine(alert.NewFanout()); err != nil {
		return nil, err
	}
	return f, nil
}

// oneSided is the join of every login while the logs of kind k are
// missing.
func oneSided(k event.Kind) string {
	if k == event.Proxy {
		return event.JoinAppOnly
	}
	return event.JoinProxyOnly
}

func (f *Follower) newEngine(sink alert.Sink) (*detect.Engine, error) {
	c := f.cfg.Engine
	c.Sink = sink
	c.Rules = f.rules.current()
	return detect.NewEngine(c)
}

// ReloadRules replaces the rule set, as Server.ReloadRules does: the
// positions are saved, the files are read again from the saved positions
// (which trail the records processed by the span the windows need) with a
// new engine, and the alerts of the records processed before stay muted,
// as after a restart. It needs StateDir and files (standard input cannot
// be read again). A rule set the engine refuses is not installed and the
// error says why.
func (f *Follower) ReloadRules(rs []*rules.Rule) error {
	if f.cfg.StateDir == "" {
		return f.rules.refused(errors.New("following files reloads rules only with a state directory"))
	}
	for _, p := range slices.Concat(f.cfg.ProxyFiles, f.cfg.AppFiles) {
		if p == "-" {
			return f.rules.refused(errors.New("standard input cannot be read again"))
		}
	}
	return f.rules.replace(f.cfg.Engine, rs)
}

// Stats returns the follower's counters (the Kafka ones stay zero).
func (f *Follower) Stats() *Stats { return &f.stats }

// Stream returns the follower's counters for the metrics
// (metrics.StreamStats).
func (f *Follower) Stream() metrics.Stream { return f.stats.stream() }

// SourceStats returns the line counters of the proxy and app sources.
func (f *Follower) SourceStats() []*ingest.Stats {
	return []*ingest.Stats{f.srcs[0].Stats(), f.srcs[1].Stats()}
}

// FileStats returns the file counters of the proxy and app sources
// (follow.Counters), labelled as their line counters.
func (f *Follower) FileStats() []metrics.FileStats {
	out := make([]metrics.FileStats, len(f.srcs))
	for i, src := range f.srcs {
		st, c := src.Stats(), src.Counters()
		out[i] = metrics.FileStats{
			Source: st.Name, Kind: st.Kind.String(), Format: st.Format,
			Opened: c.Opened.Load(), Resumed: c.Resumed.Load(), Rotated: c.Rotated.Load(),
			Truncated: c.Truncated.Load(), Skipped: c.Skipped.Load(), Lost: c.Lost.Load(),
			Copies: c.Copies.Load(), CopiedBytes: c.CopiedBytes.Load(), StateWrites: c.Commits.Load(),
		}
	}
	return out
}

// EngineCounts returns the engine counters for the life of the process,
// as Server.EngineCounts.
func (f *Follower) EngineCounts() detect.Counts { return f.counts.counts() }

// Engine returns the engine in use (nil before Run).
func (f *Follower) Engine() *detect.Engine { return f.engine.Load() }

// Ready reports whether the windows were rebuilt from the saved span.
func (f *Follower) Ready() bool { return f.ready.Load() }

// Handler serves /healthz, /readyz and /metrics, as Server.Handler.
func (f *Follower) Handler(metrics http.Handler) http.Handler {
	return handler(f.alive.Load, f.ready.Load, metrics)
}

const alertedFile = "alerted.json"

func (f *Follower) loadAlerted() error {
	b, err := os.ReadFile(filepath.Join(f.cfg.StateDir, alertedFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the follow state: %w", err)
	}
	var ps []follow.Position
	if err := json.Unmarshal(b, &ps); err != nil {
		return fmt.Errorf("reading the follow state %s: %w", filepath.Join(f.cfg.StateDir, alertedFile), err)
	}
	for _, p := range ps {
		if a, ok := f.alerted[keyOf(p)]; !ok || before(a, p) {
			f.alerted[keyOf(p)] = p // the furthest per file
		}
	}
	return nil
}

func (f *Follower) saveAlerted(ps []follow.Position) error {
	b, err := json.Marshal(ps)
	if err != nil {
		return err
	}
	return f.saveState(alertedFile, b)
}

// rebuildFile holds, in the state directory, the rebuild state that goes
// with the positions saved (see detect.Engine.Rebuilding) and their time,
// which is left out while positions are being saved (see commit).
const rebuildFile = "rebuild.json"

// savedState is rebuildFile's content.
type savedState struct {
	// Since and Needs are the rebuild state, absent for an engine that
	// keeps no incidents.
	Since *int64      `json:"since,omitempty"`
	Needs []savedNeed `json:"needs,omitempty"`
	// Resumed is the time of the positions saved (the events before
	// them are not read again), absent while none are.
	Resumed *int64 `json:"resumed,omitempty"`
}

type savedNeed struct {
	Group uint64 `json:"group"`
	From  int64  `json:"from"`
}

// saveRebuild saves st (nil: an engine that keeps no incidents) and the
// time of the positions about to be saved.
func (f *Follower) saveRebuild(st *rebuildState, resumed *int64) error {
	s := savedState{Resumed: resumed}
	if st != nil {
		s.Since = &st.since
		s.Needs = make([]savedNeed, len(st.needs))
		for i, n := range st.needs {
			s.Needs[i] = savedNeed{Group: n.Group, From: n.From}
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return f.saveState(rebuildFile, b)
}

// loadRebuild returns the rebuild state saved last and the time of the
// positions saved with it; a nil state if none was saved (an older
// version saved none, an engine without rules has none) or the file does
// not read, which it logs: the rebuild then goes without it.
func (f *Follower) loadRebuild() (*rebuildState, *int64) {
	path := filepath.Join(f.cfg.StateDir, rebuildFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	var s savedState
	if err == nil {
		err = json.Unmarshal(b, &s)
	}
	if err != nil {
		f.cfg.Logger.Warn("reading the rebuild state, rebuilding without it", "path", path, "err", err)
		return nil, nil
	}
	if s.Since == nil {
		return nil, s.Resumed
	}
	st := &rebuildState{since: *s.Since}
	for _, n := range s.Needs {
		st.needs = append(st.needs, detect.RebuildNeed{Group: n.Group, From: n.From})
	}
	return st, s.Resumed
}

// saveState writes b to the state directory's file name, whole or not at
// all.
func (f *Follower) saveState(name string, b []byte) error {
	path := filepath.Join(f.cfg.StateDir, name)
	tmp, err := os.CreateTemp(f.cfg.StateDir, name+".*")
	if err != nil {
		return fmt.Errorf("saving the follow state: %w", err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("saving the follow state: %w", err)
	}
	return nil
}

// filed is a record (or an idle or end notice) from a source's reader.
type filed struct {
	src   int
	it    *item
	pos   follow.Position
	again bool // read before (see follow.Source.Again): counted then
	idle  bool
	err   error // io.EOF: the source ended (standard input closed)
	// retired are the final positions of the files the source closed
	// before returning this: they apply once the records queued before
	// them are processed.
	retired []follow.Position
	// lost are the saved positions of the files the source could not
	// find to read again (follow.Source.Lost).
	lost []follow.Position
}

type fileQueue struct {
	q        []filed
	seen     bool
	lastSeen int64
	idle     bool      // the source said it has nothing pending
	idleAt   time.Time // when it said so
	arrival  time.Time // when its last record arrived
	ended    bool
	// processed is, per file, the position of the last record processed
	// (the final position once the source closed the file).
	processed map[inodeKey]follow.Position
	// gone holds the final positions of the files the source closed, until
	// they are committed; then the files are forgotten.
	gone map[inodeKey]follow.Position
}

// checkpoint is what was processed up to an event time.
type checkpoint struct {
	time int64
	pos  [2][]follow.Position
}

// maxCheckpoints bounds the checkpoints kept to rebuild the windows and
// the incidents.
const maxCheckpoints = 1024

// Run follows the files until ctx ends (or standard input, when it is the
// only input of both, ends); then it releases what it holds, commits and
// returns nil. It returns an error when alerts cannot be handed to the sink.
func (f *Follower) Run(ctx context.Context) error {
	f.alive.Store(true)
	defer f.alive.Store(false)
	defer func() {
		for _, s := range f.srcs {
			s.Close()
		}
	}()
	f.stats.Rebuilds.Add(1)
	for {
		reload, err := f.run(ctx)
		if err != nil || !reload {
			return err
		}
		// Start again from the saved state, as a restart would.
		f.cfg.Logger.Info("rebuilding state with the reloaded rules")
		for _, s := range f.srcs {
			if err := s.Rewind(); err != nil {
				return fmt.Errorf("reloading rules: %w", err)
			}
		}
		clear(f.alerted)
		if err := f.loadAlerted(); err != nil {
			return fmt.Errorf("reloading rules: %w", err)
		}
		f.stats.Rebuilds.Add(1)
	}
}

// run processes the files until ctx ends or the input ends (false) or the
// rules are reloaded (true); either way it releases what the watermark
// lets through and saves the positions before it returns.
func (f *Follower) run(ctx context.Context) (reload bool, err error) {
	sink := &muteSink{sink: f.cfg.Sink, stats: &f.stats, counts: &f.counts}
	// The outputs forget the incidents this rebuild does not recall nor
	// send: those of rules removed by a reload (see alert.Rebuilder).
	alert.BeginRebuild(f.cfg.Sink)
	eng, err := f.newEngine(sink)
	if err != nil {
		return false, err
	}
	// On several lanes the engine runs goroutines of its own: they end
	// with the run (a reload or a restart of Run makes a new engine).
	defer func() {
		if serr := eng.Stop(context.WithoutCancel(ctx)); err == nil {
			err = serr
		}
	}()
	f.engine.Store(eng)
	f.counts.use(eng)
	f.ready.Store(len(f.alerted) == 0)
	// A restart (or a reload) reads again what was processed, from the
	// positions saved: the engine is told the rebuild state saved with
	// them, and that the events before them are missing.
	rebuilding := len(f.alerted) > 0
	// resumed is the time of the positions saved last, if any.
	st, resumed := f.loadRebuild()
	// atFirst says, for each source, that the time of the positions is
	// not known (an older version's state): the first record of a source
	// that resumed a file at a saved position tells instead. resumedFiles
	// are the files each source resumed before this run.
	var atFirst [2]bool
	var resumedFiles [2]int64
	if rebuilding {
		if resumed != nil {
			eng.MissingBefore(*resumed)
		} else {
			for i, src := range f.srcs {
				atFirst[i], resumedFiles[i] = true, src.Counters().Resumed.Load()
			}
		}
		if st != nil {
			eng.Rebuilding(st.since, st.needs)
		}
	}
	// rebuilt ends the rebuild's hold once nothing is left to read again:
	// what comes after was not processed before. The outputs are told
	// the rebuild ended (ending) once the alerts muted in it reached
	// them: after the engine's next Sync.
	ending := false
	rebuilt := func() {
		if rebuilding {
			rebuilding, ending = false, true
			eng.Rebuilt()
			f.counts.rebuilt()
		}
	}
	if !rebuilding {
		f.counts.rebuilt() // nothing is read again
		alert.EndRebuild(f.cfg.Sink)
	}
	span := f.cfg.Lateness + eng.MaxWindow()
	if jw := f.cfg.Engine.Correlator.JoinWindow; jw > 0 {
		span += jw
	} else {
		span += detect.DefaultJoinWindow
	}
	rb := f.rebuild
	rb.set(span, eng.MaxWindow())

	poll := f.cfg.PollInterval
	if poll <= 0 {
		poll = follow.DefaultPollInterval
	}

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in := make(chan filed, 4096)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for i, src := range f.srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rec event.Record
			for {
				err := src.Next(rctx, &rec)
				gone, lost := src.Retired(), src.Lost()
				var fd filed
				switch {
				case err == nil:
					it := itemPool.Get().(*item)
					it.hold(&rec)
					it.fetched = time.Now()
					fd = filed{src: i, it: it, pos: src.Position(), again: src.Again()}
				case errors.Is(err, follow.ErrIdle):
					fd = filed{src: i, idle: true}
				case rctx.Err() != nil:
					return
				default:
					fd = filed{src: i, err: err}
				}
				fd.retired, fd.lost = gone, lost
				select {
				case in <- fd:
				case <-rctx.Done():
					return
				}
				if fd.err != nil {
					return
				}
			}
		}()
	}

	qs := [2]*fileQueue{}
	for i := range qs {
		qs[i] = &fileQueue{processed: map[inodeKey]follow.Position{}, gone: map[inodeKey]follow.Position{}}
	}
	var cps []checkpoint
	var released int64
	// retire notes the final positions of closed files, once every record
	// queued before the notice was processed.
	retire := func(q *fileQueue, ps []follow.Position) {
		f.closedCounted(ps)
		for _, p := range ps {
			q.processed[inodeOf(p)] = p
			q.gone[inodeOf(p)] = p
			// No record of the file comes any more: nothing to mute.
			if _, ok := f.alerted[keyOf(p)]; ok {
				delete(f.alerted, keyOf(p))
				if len(f.alerted) == 0 {
					f.ready.Store(true)
					rebuilt()
				}
			}
		}
	}
	// lines check each source's record times (see timeline); newest is
	// the newest record time queued, if any (queued).
	var lines [2]timeline[filed]
	for i := range lines {
		lines[i].jump = maxTimeJump(f.cfg.MaxTimeJump)
	}
	var newest int64
	var queued bool
	// retireAfter hands retired notices to the record they follow: the
	// last queued (or held) record of the source, or retires them now.
	retireAfter := func(src int, ps []follow.Position) {
		q := qs[src]
		switch n := len(q.q); {
		case lines[src].holding:
			lines[src].held.retired = append(lines[src].held.retired, ps...)
		case n > 0:
			q.q[n-1].retired = append(q.q[n-1].retired, ps...)
		default:
			retire(q, ps)
		}
	}
	queue := func(fd filed) {
		q := qs[fd.src]
		if fd.it.time < released && !f.wasTaken(fd.pos) {
			f.stats.Late.Add(1)
		}
		f.took(fd.pos, false)
		if !q.seen || fd.it.time > q.lastSeen {
			q.seen, q.lastSeen = true, fd.it.time
		}
		if !queued || fd.it.time > newest {
			newest, queued = fd.it.time, true
		}
		q.q = append(q.q, fd)
		f.stats.Buffered.Add(1)
	}
	reject := func(fd filed, ahead string) {
		if !f.wasTaken(fd.pos) { // else counted when first taken
			err := replay.AheadError(fmt.Sprintf("%s:%d", fd.pos.Path, fd.pos.Offset), fd.it.time, lines[fd.src].jump, ahead, fd.it.value(event.RequestID))
			f.srcs[fd.src].Stats().RejectOutlier(nil, err)
			f.cfg.Logger.Warn("record rejected", "err", err)
		}
		f.took(fd.pos, false)
		itemPool.Put(fd.it)
		if len(fd.retired) > 0 {
			retireAfter(fd.src, fd.retired)
		}
	}
	// A file gone since its position was saved (deleted, compressed)
	// cannot be read again: the first record its source reads instead
	// sets cut, and the records read again before it are left out, so
	// that the join does not see one log without the other there; the
	// incidents firing on what is lost are not rebuilt, nor opened again
	// under new ids (see detect.Engine.Unrebuildable).
	var cut int64
	var cutting [2]bool
	accept := func(fd filed) error {
		q := qs[fd.src]
		for _, p := range fd.lost {
			cutting[fd.src] = true
			f.cfg.Logger.Warn("a file read before is gone (deleted, moved out of its directory, or compressed): its lines from the saved position on are not read again; the rebuild starts at the first record read after it, in both logs",
				"source", []string{"proxy", "app"}[fd.src], "path", p.Path, "inode", p.Inode, "offset", p.Offset)
		}
		if len(fd.retired) > 0 && fd.it == nil && (fd.err == nil || fd.err == io.EOF) {
			retireAfter(fd.src, fd.retired)
		}
		switch {
		case fd.err == io.EOF:
			lines[fd.src].flush(queue)
			q.ended, q.idle = true, true
		case fd.err != nil:
			return fmt.Errorf("reading the %s files: %w", []string{"proxy", "app"}[fd.src], fd.err)
		case fd.idle:
			q.idle, q.idleAt = true, time.Now()
			if qs[0].idle && qs[1].idle && len(qs[0].q) == 0 && len(qs[1].q) == 0 {
				f.ready.Store(true) // nothing more to read again
				rebuilt()
			}
		default:
			q.idle, q.arrival = false, time.Now()
			if cutting[fd.src] {
				cutting[fd.src] = false
				if fd.it.time > cut {
					cut = fd.it.time
					eng.MissingBefore(cut)
					var needs []detect.RebuildNeed
					if st != nil {
						needs = st.needs
					}
					eng.Unrebuildable(cut, needs)
					f.cfg.Logger.Warn("rebuilding from the first record after a file that is gone: the records read again before it are left out, and the incidents firing then are not rebuilt (their alerts until a rule window after it are lost)",
						"from", time.Unix(0, cut).UTC().Format(time.RFC3339Nano), "incidents", len(needs))
				}
			}
			lines[fd.src].take(fd, fd.it.time, true, newest, queued, queue, reject)
		}
		return nil
	}
	// save saves the positions (commit, defined below) and notes when;
	// release calls it too, so that a long pass (a backlog) saves on the
	// commit interval as well.
	var save func()
	lastCommit := time.Now()
	release := func(pctx context.Context, all bool) error {
		for n := 0; ; {
			h := -1
			for i, q := range qs {
				if len(q.q) > 0 && (h < 0 || q.q[0].it.time < qs[h].q[0].it.time) {
					h = i
				}
			}
			if h < 0 {
				return nil
			}
			fd := qs[h].q[0]
			t := fd.it.time
			// Beyond MaxBuffered the head goes whatever the other source:
			// a source far behind in time must not make the other's
			// records pile up in memory.
			forced := f.stats.Buffered.Load() > int64(f.cfg.MaxBuffered)
			if forced && !f.wasReleased(fd.pos) {
				f.stats.Forced.Add(1)
			}
			if o := qs[1-h]; !all && !forced && time.Since(later(fd.it.fetched, o.arrival)) <= f.cfg.IdleTimeout {
				// The other source holds the head back unless it has a
				// record, is far enough ahead, or said it had nothing
				// pending after a poll that followed the head's arrival.
				idle := o.idle && o.idleAt.After(fd.it.fetched.Add(poll))
				if len(o.q) == 0 && !idle && (!o.seen || o.lastSeen-int64(f.cfg.Lateness) < t) {
					return nil
				}
			}
			f.took(fd.pos, true)
			qs[h].q[0] = filed{}
			qs[h].q = qs[h].q[1:]
			if len(qs[h].q) == 0 {
				qs[h].q = nil
			}
			f.stats.Buffered.Add(-1)
			mute := false
			if fd.pos != (follow.Position{}) {
				if a, ok := f.alerted[keyOf(fd.pos)]; ok {
					if before(fd.pos, a) {
						mute = true
					} else {
						delete(f.alerted, keyOf(fd.pos))
						if len(f.alerted) == 0 {
							f.ready.Store(true)
						}
					}
				}
			}
			if fd.again && fd.it.time < cut {
				// Read again before the cut: its partners may be gone.
				itemPool.Put(fd.it)
				if fd.pos != (follow.Position{}) {
					qs[h].processed[inodeOf(fd.pos)] = fd.pos
				}
				retire(qs[h], fd.retired)
				continue
			}
			if atFirst[h] {
				atFirst[h] = false
				if f.srcs[h].Counters().Resumed.Load() > resumedFiles[h] {
					eng.MissingBefore(t)
				}
			}
			if len(f.alerted) == 0 {
				rebuilt() // past every saved position
			}
			if err := sink.set(pctx, eng, mute); err != nil {
				itemPool.Put(fd.it)
				return err
			}
			var rec event.Record
			fd.it.record(&rec)
			if t > released {
				released = t
				f.stats.Watermark.Store(t)
			}
			f.stats.Records.Add(1)
			err := eng.Add(pctx, &rec)
			if f.cfg.Observe != nil {
				f.cfg.Observe(time.Since(fd.it.fetched))
			}
			itemPool.Put(fd.it)
			if err != nil {
				return err
			}
			if fd.pos != (follow.Position{}) {
				k := inodeOf(fd.pos)
				if g, ok := qs[h].gone[k]; ok && g.Fingerprint != fd.pos.Fingerprint {
					delete(qs[h].gone, k) // a new file reuses the inode
				}
				qs[h].processed[k] = fd.pos
			}
			retire(qs[h], fd.retired)
			// The record's alerts were handed to the sink (once the
			// engine's lanes sent them) and its position noted: the
			// state is what it is between passes.
			if n++; n%256 == 0 && time.Since(lastCommit) >= f.cfg.CommitInterval {
				if err := eng.Sync(pctx); err != nil {
					return err
				}
				save()
			}
		}
	}
	commit := func() error {
		if f.cfg.StateDir == "" {
			return nil
		}
		var cp checkpoint
		cp.time = released
		var all []follow.Position
		for i, q := range qs {
			cp.pos[i] = sortPositions(slices.Collect(maps.Values(q.processed)))
			all = append(all, cp.pos[i]...)
		}
		// Alerts of the records up to here were handed to the sink.
		// Not passed yet: still muted after a restart.
		all = append(all, sortPositions(slices.Collect(maps.Values(f.alerted)))...)
		if err := f.saveAlerted(all); err != nil {
			return err
		}
		// Thin the checkpoints to about maxCheckpoints over the longest
		// rebuild.
		if n := len(cps); n == 0 || cp.time-cps[n-1].time >= int64(rb.limit())/maxCheckpoints {
			cps = append(cps, cp)
		}
		// The source positions trail by span, or more for the incidents
		// firing: a restart reads that again.
		from := rb.from(eng, released)
		k := -1
		for i, c := range cps {
			if c.time <= from || len(cps)-i > maxCheckpoints {
				k = i
			}
		}
		// A file opened and closed after the checkpoint k (the middle
		// one of two rotations) is read again all the same: its source
		// saved where its reading started (see follow.Source.Lost).
		st := rb.state()
		if k >= 0 {
			// Until the positions are saved, their time is not known:
			// a restart in between falls back to the first records.
			if err := f.saveRebuild(st, nil); err != nil {
				return err
			}
			for i, s := range f.srcs {
				ps := mergeCheckpoints(cps[:k+1], i)
				if err := s.Commit(ps...); err != nil {
					return err
				}
				// Closed files whose final position is saved now: the
				// state file dropped them; forget them here too.
				q := qs[i]
				for key, g := range q.gone {
					if !slices.Contains(ps, g) {
						continue
					}
					delete(q.gone, key)
					if q.processed[key] == g {
						delete(q.processed, key)
					}
					for j := k + 1; j < len(cps); j++ {
						cps[j].pos[i] = slices.DeleteFunc(cps[j].pos[i], func(p follow.Position) bool { return p == g })
					}
				}
			}
			t := cps[k].time
			resumed = &t
			cps = append(cps[:0], cps[k+1:]...)
		}
		// The time of the positions only once they are saved.
		if err := f.saveRebuild(st, resumed); err != nil {
			return err
		}
		f.stats.Commits.Add(1)
		return nil
	}
	save = func() {
		if err := commit(); err != nil {
			f.stats.CommitErrs.Add(1)
			f.cfg.Logger.Warn("saving read positions", "err", err)
		}
		lastCommit = time.Now()
	}

	tick := time.NewTicker(max(min(f.cfg.IdleTimeout/4, 50*time.Millisecond), time.Millisecond))
	defer tick.Stop()
	for {
		done := false
		select {
		case fd := <-in:
			if err := accept(fd); err != nil {
				return false, err
			}
		drain:
			for range 4096 {
				select {
				case fd := <-in:
					if err := accept(fd); err != nil {
						return false, err
					}
				default:
					break drain
				}
			}
		case <-tick.C:
		case <-ctx.Done():
			done = true
		case <-f.rules.reloaded:
			done, reload = true, true
		}
		ended := qs[0].ended && qs[1].ended
		pctx := ctx
		if done || ended {
			var stop context.CancelFunc
			pctx, stop = context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer stop()
		}
		if err := release(pctx, ended); err != nil {
			return false, err
		}
		// The alerts of the records released are sent (on several
		// lanes the engine sends them in batches) before their
		// positions are saved, and without waiting for more records.
		if err := eng.Sync(pctx); err != nil {
			return false, err
		}
		if ending {
			ending = false
			alert.EndRebuild(f.cfg.Sink)
		}
		f.warn.check(f.cfg.Logger, eng)
		if f.cfg.Tick != nil {
			f.cfg.Tick(eng)
		}
		if done || ended || time.Since(lastCommit) >= f.cfg.CommitInterval {
			save()
		}
		if done || ended {
			cancel()
			wg.Wait()
			for _, q := range qs {
				for _, fd := range q.q {
					itemPool.Put(fd.it)
				}
			}
			f.stats.Buffered.Store(0)
			return reload && ctx.Err() == nil && !ended, nil
		}
	}
}

// mergeCheckpoints returns the positions of source i in cps, the latest
// per file: a file may be missing from the last checkpoint (forgotten once
// its final position was committed) and its position must not be lost.
func mergeCheckpoints(cps []checkpoint, i int) []follow.Position {
	m := map[inodeKey]follow.Position{}
	for _, c := range cps {
		for _, p := range c.pos[i] {
			m[inodeOf(p)] = p // checkpoints are in processing order
		}
	}
	return sortPositions(slices.Collect(maps.Values(m)))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
