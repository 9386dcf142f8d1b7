package follow

import (
	"bytes"
	"hash/fnv"
	"io"
	"os"
	"time"
)

// fingerprintBytes caps the bytes of the first line hashed into a file's
// fingerprint.
const fingerprintBytes = 4096

// file is one followed file (or standard input, a stream).
type file struct {
	path   string
	id     fileID
	f      *os.File  // nil for a stream
	r      io.Reader // f, or the stream's reader
	stream bool

	buf        []byte // holds at most one line and its newline
	rp, wp     int    // buf[rp:wp] is read and not consumed
	off        int64  // file offset of buf[rp]: bytes consumed
	lineOff    int64  // file offset after the last whole line consumed
	readOff    int64  // file offset of buf[wp]
	discarding bool   // inside an over-long line
	line       int64  // lines consumed (counted from the first read offset)
	resumed    bool   // reading started past the beginning: line numbers are relative
	long       int64  // over-long lines skipped
	longSeen   int64  // of which reported
	batch      int    // lines returned in a row
	eof        bool   // the stream ended
	drained    bool   // the last read found no more data

	fp   uint64
	fpOK bool
	gen  uint32 // truncations seen

	// The generation before the last truncation, as far as it was read:
	// a copy of it (copytruncate) is read only beyond that (see
	// Source.recognise).
	prevFp  uint64
	prevOff int64
	prevGen uint32
	prevOK  bool

	// held: not read for now. A copy of the file copyOf (generation
	// copyGen), waiting for that generation to end, or, with copyOf nil,
	// a new file waiting for its first line to be told from a copy.
	held    bool
	copyOf  *file
	copyGen uint32

	truncCount int64 // truncations found while reading, not yet counted by the source

	// rereadTo is how far the file was read before (see Source.MarkRead),
	// in generation rereadGen: lines ending there or before are read
	// again. 0: none.
	rereadTo  int64
	rereadGen uint32

	orphaned time.Time // when the path stopped naming this file
	lastData time.Time // when data was last read
	// recovered says the file was found renamed away when reading
	// started (see Source.recoverRotated): it was read at a saved
	// position, often long after it was written, so when it was last
	// written is its modification time, not when its data was read.
	recovered    bool
	flushPartial bool  // deliver the held partial line, then close
	truncated    bool  // restart at 0 once the buffered lines are consumed
	skipped      bool  // a placeholder for a file not read
	successor    *file // the file now at this one's old path, read next

	// unsaved says where reading started (origin, in generation
	// originGen) is not in the state file yet: it is saved with the
	// file's first line (see Source.saveOrigin).
	unsaved   bool
	origin    int64
	originGen uint32

	join    []byte // the parts of split lines kept, while another file is read (see Source.joinState)
	joinGen uint32 // gen when join was kept
}

func newFile(f *os.File, path string, id fileID, maxLine int) *file {
	return &file{path: path, id: id, f: f, r: f, buf: lineBuffer(maxLine), lastData: time.Now()}
}

// next returns the next complete line (valid until the next call), or false
// when none is complete now.
func (f *file) next() ([]byte, bool, error) {
	if f.skipped || f.held || f.r == nil {
		return nil, false, nil
	}
	for {
		if f.off == 0 {
			f.dropBOM()
		}
		if i := bytes.IndexByte(f.buf[f.rp:f.wp], '\n'); i >= 0 {
			line := f.buf[f.rp : f.rp+i]
			f.rp += i + 1
			f.off += int64(i + 1)
			f.lineOff = f.off
			if f.discarding {
				f.discarding = false
				continue
			}
			f.line++
			if line = trimCR(line); len(line) > f.max() {
				f.long++
				continue
			}
			return line, true, nil
		}
		if f.wp-f.rp == len(f.buf) {
			// No newline in a full buffer: the line is too long.
			if !f.discarding {
				f.discarding = true
				f.line++
				f.long++
			}
			f.off += int64(f.wp - f.rp)
			f.rp, f.wp = 0, 0
		} else if f.rp > 0 {
			copy(f.buf, f.buf[f.rp:f.wp])
			f.wp -= f.rp
			f.rp = 0
		}
		if f.truncated || f.flushPartial || f.eof {
			if line, ok := f.takePartial(); ok {
				return line, true, nil
			}
			if f.truncated {
				f.truncated = false
				if f.fpOK {
					// Everything read of this generation was consumed:
					// a copy of it is read only beyond readOff.
					f.prevFp, f.prevOff, f.prevGen, f.prevOK = f.fp, f.readOff, f.gen, true
				}
				f.fpOK = false
				f.gen++
				f.resumed = false
				f.seek(0)
				continue
			}
			return nil, false, nil
		}
		if f.checkTruncated() {
			// Truncated (and perhaps written again) since the last read:
			// checked before every read, a stat and a read of the first
			// line, so data of the new content is never read at the old
			// offset.
			f.truncCount++
			continue
		}
		n, err := f.r.Read(f.buf[f.wp:])
		f.wp += n
		f.readOff += int64(n)
		if n > 0 {
			f.lastData = time.Now()
			f.drained = false
			// The fingerprint of what was read, for a copy of this
			// generation to be recognised even when none of its lines
			// parsed.
			f.fingerprint()
			continue
		}
		if err == io.EOF && f.stream {
			f.eof = true
			continue
		}
		if err != nil && err != io.EOF {
			return nil, false, err
		}
		f.drained = true
		return nil, false, nil
	}
}

// takePartial consumes and returns the held bytes of an unfinished line.
func (f *file) takePartial() ([]byte, bool) {
	if f.wp == f.rp {
		return nil, false
	}
	n := f.wp - f.rp
	line := f.buf[f.rp:f.wp]
	f.rp, f.wp = 0, 0
	f.off += int64(n)
	f.lineOff = f.off
	if f.discarding {
		f.discarding = false
		return nil, false
	}
	f.line++
	if line = trimCR(line); len(line) > f.max() {
		f.long++
		return nil, false
	}
	return line, true
}

// lineBuffer returns a buffer for lines of at most maxLine bytes, without
// their line ending (\n or \r\n).
func lineBuffer(maxLine int) []byte { return make([]byte, maxLine+2) }

// max is the longest line kept, without its line ending.
func (f *file) max() int { return len(f.buf) - 2 }

func (f *file) pendingPartial() bool { return f.wp > f.rp && !f.discarding }

// seek places the reader at offset o of the file.
func (f *file) seek(o int64) {
	if f.f == nil {
		return
	}
	if _, err := f.f.Seek(o, io.SeekStart); err != nil {
		o = 0
		f.f.Seek(0, io.SeekStart)
	}
	f.rp, f.wp = 0, 0
	f.off, f.readOff, f.lineOff = o, o, o
	f.discarding, f.drained = false, false
	f.line = 0
	f.resumed = o > 0
}

// fingerprint computes the hash of the first line, once there is one.
func (f *file) fingerprint() {
	if f.fpOK || f.f == nil {
		return
	}
	fp, ok := fingerprintOf(f.f)
	f.fp, f.fpOK = fp, ok
}

func fingerprintOf(r io.ReaderAt) (uint64, bool) {
	var b [fingerprintBytes]byte
	n, _ := r.ReadAt(b[:], 0)
	data := b[:n]
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[:i+1]
	} else if n < fingerprintBytes {
		return 0, false
	}
	h := fnv.New64a()
	h.Write(data)
	return h.Sum64(), true
}

// checkTruncated notices a file that shrank below what was read, or whose
// first line changed (truncated and written again), and arranges for
// reading to restart at 0.
func (f *file) checkTruncated() bool {
	if f.f == nil || f.truncated {
		return false
	}
	fi, err := f.f.Stat()
	if err != nil {
		return false
	}
	shrank := fi.Size() < f.readOff
	if !shrank && f.fpOK {
		fp, ok := fingerprintOf(f.f)
		shrank = !ok || fp != f.fp
	}
	if shrank {
		f.truncated = true
	}
	return shrank
}

// doneRotating reports whether a file rotated away was read to its end and
// had no new data for wait.
func (f *file) doneRotating(now time.Time, wait time.Duration) bool {
	if f.skipped || f.held && f.copyOf != nil {
		// Nothing of it is to be read (a held copy: the file it copies
		// holds its lines).
		return !f.orphaned.IsZero()
	}
	// A file waiting behind the one before it at its path was not read
	// yet: it is read to its end first.
	if f.orphaned.IsZero() || !f.drained || now.Sub(f.orphaned) < wait {
		return false
	}
	if now.Sub(f.lastData) < wait && !(f.recovered && f.quietFor(now, wait)) {
		return false
	}
	if bytes.IndexByte(f.buf[f.rp:f.wp], '\n') >= 0 {
		return false
	}
	if f.pendingPartial() {
		f.flushPartial = true
	}
	return true
}

// quietFor reports whether f was last modified at least wait before now.
func (f *file) quietFor(now time.Time, wait time.Duration) bool {
	if f.f == nil {
		return true
	}
	fi, err := f.f.Stat()
	return err == nil && now.Sub(fi.ModTime()) >= wait
}

// compressed reports a gzip file (a rotated log compressed in place).
func (f *file) compressed() bool {
	var m [2]byte
	n, _ := f.f.ReadAt(m[:], 0)
	return n == 2 && m[0] == 0x1f && m[1] == 0x8b
}

// again reports whether the line consumed last was read before.
func (f *file) again() bool {
	return f.rereadTo > 0 && f.gen == f.rereadGen && f.lineOff <= f.rereadTo
}

func (f *file) position() Position {
	return Position{Path: f.path, Dev: f.id.dev, Inode: f.id.ino, Fingerprint: f.fp, Generation: f.gen, Offset: f.lineOff}
}

func (f *file) close() {
	if f.f != nil {
		f.f.Close()
		f.f, f.r = nil, nil
	}
	if sr, ok := f.r.(*stdinReader); ok {
		sr.stop()
	}
}

// dropBOM consumes a UTF-8 byte order mark at the start of the file's
// data in the buffer, as ingest.Open does for replay: it is no part of
// the first line, nor of its length, so a first line at the length cap
// is kept with one. It is called while nothing was consumed; with fewer
// bytes read than a byte order mark, the next call looks again.
func (f *file) dropBOM() {
	if bytes.HasPrefix(f.buf[f.rp:f.wp], bom) {
		f.rp += len(bom)
		f.off += int64(len(bom))
	}
}

var bom = []byte{0xef, 0xbb, 0xbf}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}
