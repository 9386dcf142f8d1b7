package alert

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// A spool is an on-disk FIFO of records: append-only segment files named
// <seq>.seg, each record framed as a 4-byte big-endian length, a 4-byte
// CRC-32C of the payload and the payload. Appends are fsync'd. A cursor file
// records the position of the oldest record not yet delivered. The spool is
// bounded in bytes: when an append would exceed the bound, the oldest
// segments are removed and their undelivered records counted as dropped.
type spool struct {
	dir      string
	maxBytes int64
	segBytes int64
	stats    *SinkStats
	dlog     *deliveryLog  // logs the records dropped
	ready    chan struct{} // signalled after each append
	lock     *os.File      // holds the spool's lock until close

	mu    sync.Mutex
	segs  []*segment // oldest first; segs[0] holds the read cursor
	w     *os.File   // last segment, open for appending
	r     *os.File   // segs[0], open for reading
	roff  int64      // read cursor in segs[0]
	rrec  int        // records of segs[0] before roff
	total int64
}

type segment struct {
	seq     uint64
	size    int64
	records int
}

// spoolPos is the position after a record returned by next.
type spoolPos struct {
	seq uint64
	off int64
}

const recHeader = 8

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func segName(seq uint64) string { return fmt.Sprintf("%016d.seg", seq) }

// errTooLarge is the error of a record that does not fit in the spool.
var errTooLarge = errors.New("exceeds the spool bound")

// openSpool opens or creates the spool in dir, truncating a torn record at
// the end of a segment (left by a crash during an append).
func openSpool(dir string, maxBytes, segBytes int64, stats *SinkStats) (_ *spool, err error) {
	if maxBytes <= 0 {
		maxBytes = 64 << 20
	}
	if segBytes <= 0 || segBytes > maxBytes/4 {
		segBytes = max(maxBytes/4, 1)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("opening spool: %w", err)
	}
	lock, err := lockSpool(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()
	s := &spool{dir: dir, maxBytes: maxBytes, segBytes: segBytes, stats: stats, ready: make(chan struct{}, 1), lock: lock}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("opening spool: %w", err)
	}
	var seqs []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok {
			continue
		}
		seq, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	cseq, coff := s.readCursor()
	for _, seq := range seqs {
		if seq < cseq {
			os.Remove(filepath.Join(dir, segName(seq)))
			continue
		}
		seg, err := s.scan(seq)
		if err != nil {
			return nil, err
		}
		s.segs = append(s.segs, seg)
		s.total += seg.size
	}
	if len(s.segs) > 0 {
		if err := s.openReader(); err != nil {
			return nil, err
		}
	}
	if len(s.segs) > 0 && s.segs[0].seq == cseq {
		// Count the delivered records before the cursor.
		for s.roff < coff {
			_, next, err := s.readAt(s.roff)
			if err != nil {
				break
			}
			s.roff = next
			s.rrec++
		}
	}
	next := uint64(1)
	if len(s.segs) > 0 {
		next = s.segs[len(s.segs)-1].seq + 1
	}
	if err := s.newSegment(next); err != nil {
		return nil, err
	}
	s.publish()
	return s, nil
}

func (s *spool) readCursor() (uint64, int64) {
	b, err := os.ReadFile(filepath.Join(s.dir, "cursor"))
	if err != nil {
		return 0, 0
	}
	var seq uint64
	var off int64
	if _, err := fmt.Sscanf(string(b), "%d %d", &seq, &off); err != nil {
		return 0, 0
	}
	return seq, off
}

func (s *spool) writeCursor() error {
	var seq uint64
	if len(s.segs) > 0 {
		seq = s.segs[0].seq
	}
	tmp := filepath.Join(s.dir, "cursor.tmp")
	// Made anew, with the mode of the spool's other files: an earlier
	// cursor.tmp left by a crash keeps the mode it was made with.
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("writing spool cursor: %w", err)
	}
	fmt.Fprintf(f, "%d %d\n", seq, s.roff)
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, "cursor"))
	}
	if err != nil {
		return fmt.Errorf("writing spool cursor: %w", err)
	}
	return nil
}

// scan counts a segment's valid records and truncates anything after them.
func (s *spool) scan(seq uint64) (*segment, error) {
	path := filepath.Join(s.dir, segName(seq))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("opening spool segment: %w", err)
	}
	defer f.Close()
	seg := &segment{seq: seq}
	var h [recHeader]byte
	var buf []byte
	for {
		if _, err := f.ReadAt(h[:], seg.size); err != nil {
			break
		}
		n := int64(binary.BigEndian.Uint32(h[:4]))
		if n > s.maxBytes {
			break
		}
		buf = append(buf[:0], make([]byte, n)...)
		if _, err := f.ReadAt(buf, seg.size+recHeader); err != nil {
			break
		}
		if crc32.Checksum(buf, crcTable) != binary.BigEndian.Uint32(h[4:]) {
			break
		}
		seg.size += recHeader + n
		seg.records++
	}
	if st, err := f.Stat(); err == nil && st.Size() > seg.size {
		if err := f.Truncate(seg.size); err != nil {
			return nil, fmt.Errorf("truncating torn spool record: %w", err)
		}
	}
	return seg, nil
}

func (s *spool) newSegment(seq uint64) error {
	f, err := os.OpenFile(filepath.Join(s.dir, segName(seq)), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("creating spool segment: %w", err)
	}
	if s.w != nil {
		s.w.Close()
	}
	s.w = f
	s.segs = append(s.segs, &segment{seq: seq})
	if len(s.segs) == 1 {
		return s.openReader()
	}
	return nil
}

func (s *spool) openReader() error {
	if s.r != nil {
		s.r.Close()
		s.r = nil
	}
	f, err := os.Open(filepath.Join(s.dir, segName(s.segs[0].seq)))
	if err != nil {
		return fmt.Errorf("opening spool segment: %w", err)
	}
	s.r, s.roff, s.rrec = f, 0, 0
	return nil
}

func (s *spool) readAt(off int64) ([]byte, int64, error) {
	var h [recHeader]byte
	if _, err := s.r.ReadAt(h[:], off); err != nil {
		return nil, 0, err
	}
	n := int64(binary.BigEndian.Uint32(h[:4]))
	rec := make([]byte, n)
	if _, err := s.r.ReadAt(rec, off+recHeader); err != nil {
		return nil, 0, err
	}
	if crc32.Checksum(rec, crcTable) != binary.BigEndian.Uint32(h[4:]) {
		return nil, 0, errors.New("spool record checksum mismatch")
	}
	return rec, off + recHeader + n, nil
}

// append adds rec, fsync'd, dropping the oldest segments when full.
func (s *spool) append(rec []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return ErrClosed
	}
	need := int64(recHeader + len(rec))
	if need > s.maxBytes {
		return fmt.Errorf("spooling alert: record of %d bytes: %w of %d", need, errTooLarge, s.maxBytes)
	}
	if last := s.segs[len(s.segs)-1]; last.size > 0 && (last.size+need > s.segBytes || s.total+need > s.maxBytes) {
		if err := s.newSegment(last.seq + 1); err != nil {
			return err
		}
	}
	for s.total+need > s.maxBytes && len(s.segs) > 1 {
		s.dropOldest()
	}
	var h [recHeader]byte
	binary.BigEndian.PutUint32(h[:4], uint32(len(rec)))
	binary.BigEndian.PutUint32(h[4:], crc32.Checksum(rec, crcTable))
	buf := append(h[:], rec...)
	if _, err := s.w.Write(buf); err != nil {
		return fmt.Errorf("spooling alert: %w", err)
	}
	if err := s.w.Sync(); err != nil {
		return fmt.Errorf("spooling alert: %w", err)
	}
	last := s.segs[len(s.segs)-1]
	last.size += need
	last.records++
	s.total += need
	s.publish()
	select {
	case s.ready <- struct{}{}:
	default:
	}
	return nil
}

// dropOldest removes segs[0], counting its undelivered records as dropped.
func (s *spool) dropOldest() {
	seg := s.segs[0]
	s.stats.Dropped.Add(uint64(seg.records - s.rrec))
	s.dlog.drop(seg.records-s.rrec, dropSpoolFull, nil)
	s.r.Close()
	s.r = nil
	os.Remove(filepath.Join(s.dir, segName(seg.seq)))
	s.total -= seg.size
	s.segs = s.segs[1:]
	s.openReader()
	s.writeCursor()
}

// next returns the oldest undelivered record and the position to commit
// once it is delivered.
func (s *spool) next() ([]byte, spoolPos, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.r == nil || len(s.segs) == 0 {
		return nil, spoolPos{}, false
	}
	if err := s.advance(); err != nil {
		return nil, spoolPos{}, false
	}
	seg := s.segs[0]
	if s.roff >= seg.size {
		return nil, spoolPos{}, false
	}
	rec, next, err := s.readAt(s.roff)
	if err != nil {
		// Cannot happen for records written and scanned by this spool;
		// skip the rest of the segment rather than loop on it.
		s.stats.Dropped.Add(uint64(seg.records - s.rrec))
		s.dlog.drop(seg.records-s.rrec, dropUnreadable, fmt.Errorf("reading spool segment %s: %w", segName(seg.seq), err))
		s.rrec = seg.records
		s.roff = seg.size
		return nil, spoolPos{}, false
	}
	return rec, spoolPos{seq: seg.seq, off: next}, true
}

// commit marks the record ending at pos delivered.
func (s *spool) commit(pos spoolPos) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.segs) == 0 || s.segs[0].seq != pos.seq || pos.off <= s.roff {
		return nil // its segment was dropped meanwhile
	}
	s.roff = pos.off
	s.rrec++
	if err := s.advance(); err != nil {
		return err
	}
	s.publish()
	return s.writeCursor()
}

// advance removes fully delivered segments other than the last.
func (s *spool) advance() error {
	for s.roff >= s.segs[0].size && len(s.segs) > 1 {
		seg := s.segs[0]
		s.r.Close()
		s.r = nil
		os.Remove(filepath.Join(s.dir, segName(seg.seq)))
		s.total -= seg.size
		s.segs = s.segs[1:]
		if err := s.openReader(); err != nil {
			return err
		}
	}
	return nil
}

// pending returns the number of undelivered records.
func (s *spool) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pendingLocked()
}

func (s *spool) pendingLocked() int {
	n := -s.rrec
	for _, seg := range s.segs {
		n += seg.records
	}
	return n
}

func (s *spool) publish() {
	s.stats.QueueDepth.Store(int64(s.pendingLocked()))
	s.stats.SpoolBytes.Store(s.total)
}

func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.w != nil {
		err = s.w.Close()
		s.w = nil
	}
	if s.r != nil {
		s.r.Close()
		s.r = nil
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
	return err
}
