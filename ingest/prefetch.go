package ingest

import (
	"context"
	"errors"
	"io"
	"math/bits"
	"sync"
	"unsafe"

	"github.com/spraywatch/spraywatch/event"
)

// Prefetch runs src in its own goroutine, reading and parsing ahead in
// batches while the caller works on earlier records. Records come out in
// the same order as from src, so the result of a replay does not change;
// it only uses another core. Close (or cancelling ctx) stops the goroutine.
//
// Each record's values are copied into its batch's arena, because a
// parser's scratch space is reused by the next line. A partial record (see
// event.Record) takes a few words besides: its request id, method, path and
// line as places in the arena.
func Prefetch(ctx context.Context, src Source, batchSize int) *Prefetcher {
	if batchSize <= 0 {
		batchSize = 1024
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Prefetcher{
		src:     src,
		full:    make(chan *batch, 4),
		free:    make(chan *batch, 6),
		cancel:  cancel,
		workers: 1,
	}
	for i := 0; i < 6; i++ {
		p.free <- &batch{
			parts: make([]part, batchSize),
			packs: make([]event.Packed, batchSize),
			arena: make([]byte, 0, 64<<10),
		}
	}
	p.wg.Add(1)
	go p.run(ctx)
	return p
}

// Prefetcher is a Source that reads ahead; see Prefetch.
type Prefetcher struct {
	src    Source
	full   chan *batch
	free   chan *batch
	cancel context.CancelFunc
	wg     sync.WaitGroup

	cur *batch
	i   int
	err error

	// The partial record handed out last, which holds no values but
	// partFields'; the last record handed out of a batch's packs.
	part event.Record
	own  event.Record

	// Chunk-parallel reading: cur is not ready yet (wait), the next of
	// its errors to count (ei), and how many workers parse.
	wait    bool
	ei      int
	workers int

	// Records of cur before end are handed out with no other check: cur
	// is ready and none of its errors is to be counted before them.
	end int
}

// batch.set has a bit per field.
var _ [32 - event.NumFields]struct{}

type batch struct {
	recs  []event.Record  // made when first needed: most records are parts
	set   []uint32        // the fields set in recs[i], which only run writes
	parts []part          // parts[i].partial: the i-th record is there, not in recs
	packs []event.Packed  // parts[i].owned: the i-th record's values
	rest  event.Completer // the completer of the partial records
	n     int
	arena []byte
	err   error // set on the last batch: io.EOF or the source's error

	// Chunk-parallel reading (see PrefetchParallel): a worker parses the
	// lines of blk into the batch and then signals ready; the reader
	// counts in Stats what tally holds when it takes the batch.
	ready chan struct{}
	blk   *block
	tally tally
}

func (p *Prefetcher) run(ctx context.Context) {
	defer p.wg.Done()
	defer close(p.full)
	fs, ok := p.src.(*FileSource)
	skims := ok && fs.skim != nil
	var tmp event.Record
	for {
		var b *batch
		select {
		case b = <-p.free:
		case <-ctx.Done():
			return
		}
		b.n, b.arena, b.rest, b.err = 0, b.arena[:0], nil, nil
		for b.n < len(b.parts) {
			if err := p.src.Next(ctx, &tmp); err != nil {
				b.err = err
				break
			}
			if tmp.Kind == event.App || skims && tmp.Raw == nil {
				// A record the correlator keeps (every app record, a
				// skimmed line read in full): copied here, it is not
				// copied again on the goroutine that joins them.
				tmp.Own()
			}
			b.add(&tmp)
		}
		select {
		case p.full <- b:
		case <-ctx.Done():
			return
		}
		if b.err != nil {
			return
		}
	}
}

// add copies r into the batch.
func (b *batch) add(r *event.Record) {
	pt := &b.parts[b.n]
	pt.owned = r.Raw == nil && r.Rest == nil && r.RawLine == 0 && !r.Owned.IsZero()
	if pt.partial = r.Raw != nil && (b.rest == nil || b.rest == r.Rest) && onlyPartFields(r); pt.partial {
		b.rest = r.Rest
		b.arena = copyPart(pt, r, b.arena, nil, nil)
	} else if pt.owned {
		pt.kind, pt.time = r.Kind, r.Time
		b.packs[b.n] = r.Owned
	} else {
		var in []byte
		if b.blk != nil {
			in = b.blk.data
		}
		if b.recs == nil {
			b.recs, b.set = make([]event.Record, len(b.parts)), make([]uint32, len(b.parts))
		}
		b.arena = copyRecord(&b.recs[b.n], r, b.arena, &b.set[b.n], in)
	}
	b.n++
}

// part is a partial record in a batch: the few words the reader goes
// through in order, instead of a whole event.Record. Its values and line
// are places in the batch's block when they lie there, as a parser of the
// block's lines leaves most of them, and else in the batch's arena; its
// completer is the batch's. A record that owns its values (see
// event.Record.Own), and has no line, is its kind and time there too, and
// its values in the batch's packs.
type part struct {
	partial bool
	owned   bool  // not partial: a record of kind and time whose values are packs[i]
	inArena uint8 // a bit per vals: the value is in the arena, not in the block
	kind    event.Kind
	time    int64
	rawLine int64
	vals    [len(partFields) + 1]span32 // partFields' values, then the line
}

// span32 is a value's place in a batch's block or arena.
type span32 struct{ off, end uint32 }

// partFields are the fields a partial record may hold, in the order of a
// part's vals (copyPart and takePart name them in this order).
var partFields = [...]event.Field{event.RequestID, event.Method, event.URLPath}

const partMask = 1<<event.RequestID | 1<<event.Method | 1<<event.URLPath

// onlyPartFields reports whether r holds no value but partFields': the
// lengths of all its values add up to those of partFields' (a sum over the
// array, four values a step, costs less than looking up the other fields
// one by one).
func onlyPartFields(r *event.Record) bool {
	n := 0
	for s := r.Values[:]; ; s = s[4:] {
		if len(s) < 4 {
			for i := range s {
				n += len(s[i])
			}
			break
		}
		n += len(s[0]) + len(s[1]) + len(s[2]) + len(s[3])
	}
	return n == len(r.Values[event.RequestID])+len(r.Values[event.Method])+len(r.Values[event.URLPath])
}

// copyPart notes in pt the places of src's values and line: in block, the
// batch's block of lines, for those that lie in it, else in arena, to
// which they are appended. raw, if not nil, is the line's place in block.
func copyPart(pt *part, src *event.Record, arena, block []byte, raw *span32) []byte {
	pt.kind, pt.time, pt.rawLine, pt.inArena = src.Kind, src.Time, src.RawLine, 0
	// place, with its usual case here, field by field (partFields).
	start, n := uintptr(unsafe.Pointer(unsafe.SliceData(block))), uintptr(len(block))
	var in [len(partFields)]bool
	pt.vals[0], in[0] = inBlock(src.Values[event.RequestID], start, n)
	pt.vals[1], in[1] = inBlock(src.Values[event.Method], start, n)
	pt.vals[2], in[2] = inBlock(src.Values[event.URLPath], start, n)
	if !in[0] || !in[1] || !in[2] {
		for i, f := range partFields {
			if !in[i] {
				pt.vals[i], arena = place(src.Values[f], arena, block, &pt.inArena, i)
			}
		}
	}
	if raw != nil {
		pt.vals[len(partFields)] = *raw
		return arena
	}
	pt.vals[len(partFields)], arena = place(src.Raw, arena, block, &pt.inArena, len(partFields))
	return arena
}

// inBlock returns v's place in the n bytes at start if it lies there, or
// if it is empty (an empty place).
func inBlock(v []byte, start, n uintptr) (span32, bool) {
	d := uintptr(unsafe.Pointer(unsafe.SliceData(v))) - start
	if d < n && uintptr(len(v)) <= n-d {
		return span32{uint32(d), uint32(d) + uint32(len(v))}, true
	}
	return span32{}, len(v) == 0
}

// place returns v's place in block if it lies there, and else appends v
// to arena, returns its place there and sets bit i of inArena.
func place(v, arena, block []byte, inArena *uint8, i int) (span32, []byte) {
	if within(v, block) {
		off := uint32(uintptr(unsafe.Pointer(unsafe.SliceData(v))) - uintptr(unsafe.Pointer(unsafe.SliceData(block))))
		return span32{off, off + uint32(len(v))}, arena
	}
	*inArena |= 1 << i
	start := len(arena)
	arena = append(arena, v...)
	return span32{uint32(start), uint32(len(arena))}, arena
}

// takePart makes p.part the partial record pt of batch b.
func (p *Prefetcher) takePart(b *batch, pt *part) *event.Record {
	r := &p.part
	r.Kind, r.Time, r.RawLine = pt.kind, pt.time, pt.rawLine
	if r.Rest != b.rest {
		r.Rest = b.rest
	}
	var block []byte
	if b.blk != nil {
		block = b.blk.data
	}
	if pt.inArena == 0 {
		// The usual case: every value, and the line, in the block.
		r.Values[event.RequestID] = value(block, pt.vals[0])
		r.Values[event.Method] = value(block, pt.vals[1])
		r.Values[event.URLPath] = value(block, pt.vals[2])
		sp := pt.vals[len(partFields)]
		r.Raw = block[sp.off:sp.end:sp.end]
		return r
	}
	for i, f := range partFields {
		var v []byte
		if sp := pt.vals[i]; sp.end > sp.off {
			v = b.at(block, pt.inArena, i, sp)
		}
		r.Values[f] = v
	}
	r.Raw = b.at(block, pt.inArena, len(partFields), pt.vals[len(partFields)])
	return r
}

// value returns the value at sp in block; nil if it is empty.
func value(block []byte, sp span32) []byte {
	if sp.end > sp.off {
		return block[sp.off:sp.end:sp.end]
	}
	return nil
}

// takeOwned makes p.own the record of kind and time pt whose values are vals.
func (p *Prefetcher) takeOwned(pt *part, vals event.Packed) *event.Record {
	r := &p.own
	r.Kind, r.Time = pt.kind, pt.time
	r.SetOwned(vals, r.Owned.Fields())
	return r
}

// at returns the bytes at sp: in the arena if bit i of inArena is set,
// else in block.
func (b *batch) at(block []byte, inArena uint8, i int, sp span32) []byte {
	if inArena&(1<<i) != 0 {
		block = b.arena
	}
	return block[sp.off:sp.end:sp.end]
}

// copyRecord appends src's values (and the line of a partial record) to
// arena and points dst's values at the copies. set holds the fields set in
// dst, which are the only ones to clear. When append moves the arena,
// earlier values keep pointing at the old array, which still holds their
// bytes and is not written again.
//
// Values that lie in in, the block of lines the record was parsed from
// (which lives as long as the arena), are not copied: most values of a
// parsed line are a part of it. Nor are the values of a record that owns
// them (event.Record.Owned).
func copyRecord(dst, src *event.Record, arena []byte, set *uint32, in []byte) []byte {
	dst.Kind, dst.Time = src.Kind, src.Time
	dst.Raw, dst.Rest, dst.RawLine, dst.Owned = nil, src.Rest, src.RawLine, src.Owned
	owned := !src.Owned.IsZero()
	var now uint32
	for f := range src.Values { // by index: ranging over the array would copy it
		v := src.Values[f]
		if len(v) == 0 {
			continue
		}
		now |= 1 << f
		if owned || within(v, in) {
			dst.Values[f] = v[:len(v):len(v)]
			continue
		}
		start := len(arena)
		arena = append(arena, v...)
		dst.Values[f] = arena[start:len(arena):len(arena)]
	}
	// The line after the values: the reader of a partial record looks at
	// its request id, method and path, which then share a cache line.
	if within(src.Raw, in) {
		dst.Raw = src.Raw[:len(src.Raw):len(src.Raw)]
	} else if src.Raw != nil {
		start := len(arena)
		arena = append(arena, src.Raw...)
		dst.Raw = arena[start:len(arena):len(arena)]
		if dst.Raw == nil {
			dst.Raw = []byte{}
		}
	}
	for stale := *set &^ now; stale != 0; stale &= stale - 1 {
		dst.Values[bits.TrailingZeros32(stale)] = nil
	}
	*set = now
	return arena
}

// Next returns the next record. r's values stay valid until the next call.
func (p *Prefetcher) Next(ctx context.Context, r *event.Record) error {
	rec, err := p.Take(ctx)
	if err != nil {
		return err
	}
	*r = *rec
	return nil
}

// Take is Next without the copy: it returns the next record where it lies
// in its batch. The record and its values stay valid until the next call
// of Take or Next; the caller must not change them.
func (p *Prefetcher) Take(ctx context.Context) (*event.Record, error) {
	if i := p.i; i < p.end {
		// record, here.
		p.i++
		b := p.cur
		switch pt := &b.parts[i]; {
		case pt.partial:
			return p.takePart(b, pt), nil
		case pt.owned:
			return p.takeOwned(pt, b.packs[i]), nil
		}
		return &b.recs[i], nil
	}
	return p.take(ctx)
}

// record returns record p.i of b, and moves past it.
func (p *Prefetcher) record(b *batch) *event.Record {
	i := p.i
	p.i++
	switch pt := &b.parts[i]; {
	case pt.partial:
		return p.takePart(b, pt)
	case pt.owned:
		return p.takeOwned(pt, b.packs[i])
	}
	return &b.recs[i]
}

// take is Take past the records before p.end: it waits for the next batch,
// or for cur to be parsed, and counts cur's errors in place.
func (p *Prefetcher) take(ctx context.Context) (*event.Record, error) {
	p.end = 0
	for {
		if p.err != nil {
			return nil, p.err
		}
		if b := p.cur; b != nil {
			if p.wait {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				select {
				case <-b.ready:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				p.wait = false
				p.count(b)
			}
			if p.ei < len(b.tally.errs) {
				p.reject(b, p.i)
			}
			if p.i < b.n {
				p.end = b.n
				if p.ei < len(b.tally.errs) {
					p.end = min(b.n, b.tally.errs[p.ei].at)
				}
				return p.record(b), nil
			}
			if blk := b.blk; blk != nil && blk.damage != nil && (b.err == nil || b.err == blk.damage) {
				// Past the lines of a damaged file, as Next would be
				// (a strict source's worker may have stopped before).
				p.src.Stats().Damage(blk.damage)
				blk.damage = nil
			}
			if b.err != nil {
				p.err = b.err
				continue
			}
			p.free <- b
			p.cur = nil
		}
		// A batch may be ready as well: once ctx is done the caller gets
		// its error (here and above), not whichever of the two select
		// picks.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		select {
		case b, ok := <-p.full:
			if !ok {
				p.err = io.EOF
				if err := ctx.Err(); err != nil {
					p.err = err
				}
				continue
			}
			p.cur, p.i, p.ei, p.wait = b, 0, 0, b.ready != nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Stats returns the wrapped source's counters.
func (p *Prefetcher) Stats() *Stats { return p.src.Stats() }

// Close stops the read-ahead goroutine and waits for it.
func (p *Prefetcher) Close() error {
	p.cancel()
	for b := range p.full {
		_ = b
	}
	p.wg.Wait()
	if p.err != nil && !errors.Is(p.err, io.EOF) && !errors.Is(p.err, context.Canceled) {
		return p.err
	}
	return nil
}

// within reports whether v, not empty, lies in data.
func within(v, data []byte) bool {
	if len(v) == 0 || len(data) == 0 {
		return false
	}
	// Addresses compared, never converted back to pointers.
	p := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
	start := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	return p >= start && len(v) <= len(data) && p-start <= uintptr(len(data)-len(v))
}
