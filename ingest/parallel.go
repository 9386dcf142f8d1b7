package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"

	"github.com/spraywatch/spraywatch/event"
)

// Sizes of the blocks of lines PrefetchParallel hands to its workers: a
// block ends after blockLines lines or once it holds blockBytes bytes
// (a block holds at least one line, however long).
const (
	blockLines = 1024
	blockBytes = 256 << 10
)

// PrefetchParallel is Prefetch for files: a FileSource's files are read
// on one goroutine, in blocks of whole lines, and the blocks are parsed by
// workers goroutines, each with its own parser (a single worker parses on
// the goroutine that reads, each block as soon as it is read, while its
// bytes are still in that core's cache). The records come out in
// file order, and the source's Stats (counts and the rejected lines kept,
// the first MaxReportedErrors in line order) end up exactly as if the
// source had been read by Next, whatever the number of workers; a strict
// source stops at its first bad line, or damaged file, in file order. The Stats count a
// block's lines, and the lines its parser flagged, when the caller reaches
// the block (not as a worker parses it ahead), and a rejected line's
// error when the caller reaches its place, so that the errors the caller
// adds (completing partial records, rejecting a record in a replay) are
// kept in line order too.
//
// Several workers need more parsers of the source's format:
// FileSourceConfig.NewParser, or a parser with a NewParser method (a
// Skimmer; a skimming source needs a Skimmer for each worker). Without
// them, or when workers < 1, one worker parses. A source that is not a
// *FileSource is read by Prefetch(ctx, src, 0). The source must not be
// used otherwise once handed over; its Close is not needed (the reader
// closes each file).
//
// Memory is bounded: 2*workers+2 blocks and their batches are in flight,
// and reused.
func PrefetchParallel(ctx context.Context, src Source, workers int) *Prefetcher {
	fs, ok := src.(*FileSource)
	if !ok {
		return Prefetch(ctx, src, 0)
	}
	ws := fs.workers(max(workers, 1))
	if ws == nil {
		ws = fs.workers(1)
	}
	return prefetchChunks(ctx, fs, ws)
}

// Workers returns how many goroutines parse the source's lines.
func (p *Prefetcher) Workers() int { return p.workers }

// prefetchChunks reads fs's files into blocks parsed by ws.
func prefetchChunks(ctx context.Context, fs *FileSource, ws []*chunkWorker) *Prefetcher {
	ctx, cancel := context.WithCancel(ctx)
	n := 2*len(ws) + 2
	p := &Prefetcher{
		src:     fs,
		full:    make(chan *batch, n),
		free:    make(chan *batch, n),
		cancel:  cancel,
		workers: len(ws),
	}
	work := make(chan *batch, n)
	for i := 0; i < n; i++ {
		p.free <- &batch{
			parts: make([]part, blockLines),
			packs: make([]event.Packed, blockLines),
			arena: make([]byte, 0, 64<<10),
			ready: make(chan struct{}, 1),
			blk: &block{
				data:  make([]byte, 0, blockCap),
				lines: make([]blockLine, 0, blockLines+1),
			},
		}
	}
	// A single worker parses on the goroutine that reads, each block
	// while its lines are still in that core's cache.
	var own *chunkWorker
	if len(ws) == 1 {
		own, ws = ws[0], nil
	}
	p.wg.Add(1 + len(ws))
	go p.readBlocks(ctx, fs, work, own)
	for _, w := range ws {
		go func() {
			defer p.wg.Done()
			for b := range work {
				w.parse(b)
				b.ready <- struct{}{}
			}
		}()
	}
	return p
}

// block is whole lines of one file, for a worker to parse.
type block struct {
	data  []byte
	lines []blockLine
	count int             // lines kept: runs count all their lines
	name  string          // the file
	rest  event.Completer // the file's completer when the source skims
	max   int             // the line length cap, for the error
	err   error           // after the lines: io.EOF, or what ended the reading
	join  []byte          // a Joiner's state before the block's lines (see JoinTracker)
	// damage: the file's data ends early at damage after the block's
	// lines (a *DamagedError), counted when the reader of the records is
	// past them.
	damage error
	// endsLog: the block is the last of its log's (the file's, and the
	// next file is another log's or there is none): a Joiner's parts
	// kept after its lines are dropped (Joiner.EndOfLog).
	endsLog bool
}

// blockLine is a line of a block, or a run of lines, and the over-long
// lines skipped just before it.
type blockLine struct {
	off, end int   // the line in data, without its line ending; a run's lines, each with its newline
	n        int64 // its number in its file; a run's first line's
	long     int64 // over-long lines skipped just before it (see firstLong)
	none     bool  // there is no line: the file ended after the skipped ones, the last of them line n
	run      bool  // data[off:end] is whole lines, none over-long, each ending with a newline
}

// firstLong returns the number of the first of the over-long lines
// skipped before ln: they are the lines just before it, or, when there is
// no line, the lines up to ln.n.
func (ln *blockLine) firstLong() int64 {
	if ln.none {
		return ln.n - ln.long + 1
	}
	return ln.n - ln.long
}

// tally is what a worker found in a block, for the Stats.
type tally struct {
	lines, parsed, skimmed, ignored, rejected, tooLong int64
	flagged                                            [NumFlags]int64 // by flag, the lines the worker's parser flagged
	errs                                               []placedError
}

// placedError is a rejected line's error and its place among a batch's
// records: it comes before the record at. long is how many over-long
// lines it stands for, if any: its own, and the lines after it in its run
// whose errors are not kept.
type placedError struct {
	at   int
	err  error
	long int64
}

// lines returns how many lines e stands for.
func (e *placedError) lines() int64 { return max(e.long, 1) }

func (t *tally) reset() {
	clear(t.errs)
	*t = tally{errs: t.errs[:0]}
}

// keep reports whether a rejected line's error is to be kept: a batch
// keeps the first MaxReportedErrors, which are all the Stats can keep.
func (t *tally) keep() bool { return len(t.errs) < MaxReportedErrors }

// count adds a ready batch's counts to the Stats; its kept errors are
// counted in place (see reject).
func (p *Prefetcher) count(b *batch) {
	st, t := p.src.Stats(), &b.tally
	// The lines of the kept errors are counted with them (reject), so that
	// the counts balance if reading stops before them.
	var kept, long int64
	for i := range t.errs {
		kept += t.errs[i].lines()
		long += t.errs[i].long
	}
	st.Lines.Add(t.lines - kept)
	st.Parsed.Add(t.parsed)
	st.Skimmed.Add(t.skimmed)
	st.Ignored.Add(t.ignored)
	st.TooLong.Add(t.tooLong - long)
	st.Rejected.Add(t.rejected - kept)
	for f, n := range t.flagged {
		if n != 0 {
			st.Flagged[f].Add(n)
		}
	}
}

// reject counts the batch's kept errors that come before record i.
func (p *Prefetcher) reject(b *batch, i int) {
	st := p.src.Stats()
	for ; p.ei < len(b.tally.errs) && b.tally.errs[p.ei].at <= i; p.ei++ {
		e := &b.tally.errs[p.ei]
		n := e.lines()
		st.Lines.Add(n)
		st.TooLong.Add(e.long)
		st.Rejected.Add(n - 1)
		st.Reject(e.err)
	}
}

// workers returns n parsers for fs's lines, or nil if fs cannot make them.
func (s *FileSource) workers(n int) []*chunkWorker {
	ws := make([]*chunkWorker, n)
	for i := range ws {
		var p Parser
		switch {
		case i == 0:
			p = s.parser
		case s.newParser != nil:
			p = s.newParser()
		default:
			np, ok := s.parser.(interface{ NewParser() Parser })
			if !ok {
				return nil
			}
			p = np.NewParser()
		}
		w := &chunkWorker{parser: p, kind: s.kind, strict: s.strict}
		// The parser counts in the worker's counters, which parse
		// moves to each block's tally: the Stats count a block's flags
		// when the caller reaches it, as they count its lines, not as
		// the worker parses ahead.
		CountFlags(p, &w.flags)
		if s.joiner != nil {
			// Each worker starts its blocks from the state the
			// lines before them leave (readBlocks tracks it).
			if w.joiner = joinerOf(p); w.joiner == nil {
				return nil
			}
			w.joiner.SetMaxLineBytes(lineCap(s.maxLine))
		}
		if s.skim != nil {
			sk, ok := p.(Skimmer)
			if !ok {
				return nil
			}
			w.sk, w.want, w.lazy = sk, s.skim.want, s.skim.lazy
			if lazy := setUp(sk, s.checkAll); lazy != s.skim.lazy {
				return nil // a worker must skim as the source's completer counts
			}
		}
		ws[i] = w
	}
	return ws
}

// readBlocks reads fs's files into blocks, sends each to a worker (work),
// or has own parse it, and, in order, to the reader of the records
// (p.full).
func (p *Prefetcher) readBlocks(ctx context.Context, fs *FileSource, work chan<- *batch, own *chunkWorker) {
	defer p.wg.Done()
	defer close(p.full)
	defer close(work)
	b := p.freeBatch(ctx)
	if b == nil {
		return
	}
	var joins JoinTracker
	if fs.joiner != nil {
		joins = fs.joiner.NewJoinTracker()
	}
	send := func(err error) bool {
		b.blk.err = err
		if own != nil {
			own.parse(b)
			b.ready <- struct{}{}
		} else {
			work <- b
		}
		p.full <- b
		if err != nil {
			return false
		}
		if b = p.freeBatch(ctx); b == nil {
			return false
		}
		// Empty, for the last block, which may get no lines.
		b.blk.data, b.blk.lines, b.blk.count = b.blk.data[:0], b.blk.lines[:0], 0
		return true
	}
	for i, path := range fs.paths {
		rc, err := Open(path)
		if err != nil {
			send(fmt.Errorf("opening %s log: %w", fs.kind, err))
			return
		}
		var rest event.Completer
		if fs.skim != nil {
			rest = &completer{name: path, full: fs.skim.full, stats: fs.stats, lazy: fs.skim.lazy}
		}
		sp := &splitter{r: rc, max: lineCap(fs.maxLine), lines: blockLines, bytes: blockBytes}
		if joins != nil && i > 0 && !Continues(fs.paths[i-1], path) {
			// Parts of a split line go on into the file that
			// replaced a rotated one, not into another log.
			joins.Reset()
		}
		for {
			b.blk.start(path, rest, sp.max)
			final := sp.fill(b.blk)
			if joins != nil {
				b.blk.join = joins.AppendState(b.blk.join[:0])
				b.blk.track(joins)
			}
			if final && sp.err != nil {
				var de *DamagedError
				if !errors.As(sp.err, &de) {
					rc.Close()
					send(fmt.Errorf("reading %s: %w", path, sp.err))
					return
				}
				// The file ends at the damage, counted once the
				// reader of the records is past the block's lines;
				// the next file is read, unless the source is strict.
				b.blk.damage = damagedAt(sp.err, path, sp.n)
				if fs.strict {
					rc.Close()
					send(b.blk.damage)
					return
				}
			}
			if final {
				break
			}
			if !send(nil) {
				rc.Close()
				return
			}
		}
		rc.Close()
		b.blk.endsLog = i == len(fs.paths)-1 || !Continues(path, fs.paths[i+1])
		if (len(b.blk.lines) > 0 || b.blk.endsLog && joins != nil || b.blk.damage != nil) && !send(nil) {
			return
		}
	}
	send(io.EOF)
}

// blockCap is a block's room for data: blockBytes and a read after it.
const blockCap = blockBytes + 2*minRead

// start empties the block for lines of the file path. A block grown for a
// long line goes back to its usual size, so that a few long lines do not
// keep every block large.
func (blk *block) start(path string, rest event.Completer, max int) {
	if cap(blk.data) > 4*blockCap {
		blk.data = make([]byte, 0, blockCap)
	}
	blk.data, blk.lines, blk.count = blk.data[:0], blk.lines[:0], 0
	blk.name, blk.rest, blk.max, blk.err, blk.endsLog, blk.damage = path, rest, max, nil, false, nil
}

// track has t follow the block's lines, as a worker gives them to its
// parser.
func (blk *block) track(t JoinTracker) {
	for i := range blk.lines {
		ln := &blk.lines[i]
		if ln.long > 0 && !ln.none {
			t.Skipped()
		}
		switch {
		case ln.none:
		case !ln.run:
			t.Track(blk.data[ln.off:ln.end])
		default:
			data := blk.data[:ln.end]
			for off := ln.off; off < len(data); {
				end := off + bytes.IndexByte(data[off:], '\n')
				next := end + 1
				if end > off && data[end-1] == '\r' {
					end--
				}
				t.Track(data[off:end])
				off = next
			}
		}
	}
}

// freeBatch waits for a batch to fill; nil when ctx ends.
func (p *Prefetcher) freeBatch(ctx context.Context) *batch {
	select {
	case b := <-p.free:
		return b
	case <-ctx.Done():
		return nil
	}
}

// chunkWorker parses blocks with a parser of its own, as FileSource.Next
// parses lines.
type chunkWorker struct {
	parser Parser
	sk     Skimmer // nil: every line is parsed in full
	want   func(*event.Record) bool
	lazy   bool // sk skims lazily: its partial records are counted in Skimmed
	kind   event.Kind
	strict bool
	joiner Joiner  // parser, if it joins split lines
	flags  Flagged // what parser flags, moved to each block's tally (parse)
	rec    event.Record
	set    uint32 // the fields rec may hold values of
	bare   bool   // rec holds no line, completer or owned values
}

// allFields has a bit per field.
const allFields = 1<<event.NumFields - 1

// parse fills b with the records of b.blk's lines and b.tally with what
// the lines counted, the lines the parser flagged among them too.
func (w *chunkWorker) parse(b *batch) {
	w.parseLines(b)
	for f := range b.tally.flagged {
		b.tally.flagged[f] = w.flags[f].Swap(0)
	}
}

// parseLines is parse but for the flags.
func (w *chunkWorker) parseLines(b *batch) {
	blk, t := b.blk, &b.tally
	b.n, b.arena, b.rest, b.err = 0, b.arena[:0], blk.rest, nil
	t.reset()
	if w.joiner != nil {
		w.joiner.SetJoinState(blk.join)
	}
	for i := range blk.lines {
		ln := &blk.lines[i]
		if ln.long > 0 {
			t.lines += ln.long
			t.tooLong += ln.long
			t.rejected += ln.long
			// Each line of the run is an error of its own, as many as
			// are kept (a strict source stops at the first).
			first := ln.firstLong()
			for k := int64(0); k < ln.long && (t.keep() || w.strict); k++ {
				err := &SyntaxError{Source: blk.name, Line: first + k, Msg: fmt.Sprintf("line longer than %d bytes skipped", blk.max)}
				if t.keep() {
					// The last error kept of the run stands for its
					// lines not kept, as does a strict source's first.
					n := int64(1)
					if w.strict || k == ln.long-1 || len(t.errs) == MaxReportedErrors-1 {
						n = ln.long - k
					}
					t.errs = append(t.errs, placedError{b.n, err, n})
				}
				if w.strict {
					b.err = err
					return
				}
			}
		}
		if ln.none {
			continue
		}
		if ln.long > 0 && w.joiner != nil {
			w.joiner.Skipped()
		}
		if !ln.run {
			if !w.line(b, ln.off, ln.end, ln.n) {
				return
			}
			continue
		}
		data := blk.data[:ln.end]
		for off, n := ln.off, ln.n; off < len(data); n++ {
			end := off + bytes.IndexByte(data[off:], '\n')
			next := end + 1
			if end > off && data[end-1] == '\r' {
				end--
			}
			if !w.line(b, off, end, n) {
				return
			}
			off = next
		}
	}
	if blk.endsLog && w.joiner != nil {
		w.joiner.EndOfLog()
	}
	b.err = blk.err
}

// line adds the record of line n, b.blk.data[off:end], to b, or counts
// why it has none. It reports false when a strict source stops there,
// with b.err set.
func (w *chunkWorker) line(b *batch, off, end int, n int64) bool {
	blk, t, r := b.blk, &b.tally, &w.rec
	t.lines++
	line := blk.data[off:end:end]
	clearRecord(r, w.set, w.bare)
	w.set, w.bare = allFields, false
	r.Kind = w.kind
	if w.sk != nil {
		full, err := w.sk.Skim(line, r, w.want)
		if err == nil {
			t.parsed++
			if full {
				// A line read in full is one the correlator keeps.
				r.Own()
				b.add(r)
			} else {
				if w.lazy {
					t.skimmed++
				}
				if b.addPart(r, off, end, n) {
					// Its line was not set in r: r holds
					// partFields' values and nothing else.
					w.set, w.bare = partMask, r.Raw == nil && r.Rest == nil && r.Owned.IsZero()
				} else {
					r.Raw, r.Rest, r.RawLine = line, blk.rest, n
					b.add(r)
				}
			}
			return true
		}
		clearRecord(r, allFields, false)
		r.Kind = w.kind
	}
	perr := w.parser.Parse(line, r)
	switch {
	case perr == nil:
		t.parsed++
		if r.Kind == event.App {
			// The correlator keeps every app record: copied
			// here, on a worker, it is not copied again.
			r.Own()
		}
		b.add(r)
	case errors.Is(perr, ErrIgnore):
		t.ignored++
	default:
		t.rejected++
		if IsTooLong(perr) {
			t.tooLong++
		}
		if t.keep() || w.strict {
			perr = positioned(perr, blk.name, n)
			if t.keep() {
				t.errs = append(t.errs, placedError{at: b.n, err: perr})
			}
			if w.strict {
				b.err = perr
				return false
			}
		}
	}
	return true
}

// addPart adds the partial record r of line n, data[off:end] of the
// batch's block, if it holds no value but partFields' and the line can be
// noted as a place in the block (it is not copied); else it reports false,
// and r is to be added with its line (add). r's line is not set in r.
func (b *batch) addPart(r *event.Record, off, end int, n int64) bool {
	if end > math.MaxUint32 || !onlyPartFields(r) {
		return false
	}
	pt := &b.parts[b.n]
	pt.partial, pt.owned = true, false
	b.arena = copyPart(pt, r, b.arena, b.blk.data, &span32{uint32(off), uint32(end)})
	pt.rawLine = n
	b.n++
	return true
}

// clearRecord is r.Reset for a record that holds no values but those of
// the fields in set, and, if bare, no line, completer or owned values: it
// writes only those, where Reset clears every byte of the record (and
// each pointer written is a write barrier while the collector marks).
func clearRecord(r *event.Record, set uint32, bare bool) {
	if set&^partMask != 0 {
		// More than a partial record's few values: the whole array
		// cleared at once costs less than a store per field.
		clear(r.Values[:])
	} else {
		for ; set != 0; set &= set - 1 {
			r.Values[bits.TrailingZeros32(set)] = nil
		}
	}
	r.Kind, r.Time, r.RawLine = 0, 0, 0
	if !bare {
		r.Raw, r.Rest, r.Owned = nil, nil, event.Packed{}
	}
}
