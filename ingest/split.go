package ingest

import (
	"bytes"
	"io"
)

// splitter cuts a file into blocks of whole lines, reading straight into
// the blocks. It keeps and skips exactly the lines a LineReader of the
// same cap does: a line longer than max bytes (without its line ending,
// \n or \r\n) is skipped, and counted in the block with the next line kept.
type splitter struct {
	r       io.Reader
	max     int    // the longest line kept
	lines   int    // lines per block: blockLines
	bytes   int    // bytes per block, about: blockBytes
	n       int64  // lines so far, kept or skipped
	long    int64  // over-long lines skipped since the last line kept
	discard bool   // inside an over-long line
	tail    []byte // the unfinished line the last block ended with
	eof     bool   // r has ended
	err     error  // r failed (a *DamagedError, in the last block, has the lines read before it)
	empty   int    // reads in a row that gave nothing
}

// minRead is the least room a block keeps for a read.
const minRead = 32 << 10

// fill reads lines into blk (emptied) until it holds s.lines lines or
// s.bytes bytes, or the file ends or fails. The lines of a read that are
// all kept, and fit in the block, are noted as one run, found by two
// passes over their bytes (bytes.Count, which is vectorized, and a look at
// one line every s.max bytes), not one by one; a read with an over-long
// line, or more lines than the block's room, is cut line by line. In the
// last block (final: the file ended, or failed with s.err), the over-long
// lines not yet counted are in a last line with none set.
func (s *splitter) fill(blk *block) (final bool) {
	data := append(blk.data[:0], s.tail...)
	blk.lines, blk.count = blk.lines[:0], 0
	start, scan := 0, 0 // the unfinished line; bytes from start to scan have no newline
	for {
		// The whole lines read, at once when none is over-long and they
		// fit in the block: a run, whose lines the worker finds.
		if !s.discard && scan < len(data) {
			if last := bytes.LastIndexByte(data[scan:], '\n'); last >= 0 {
				end := scan + last + 1
				if k := bytes.Count(data[scan:end], newline); blk.count+k <= s.lines && s.fits(data[start:end]) {
					blk.lines = append(blk.lines, blockLine{off: start, end: end, n: s.n + 1, long: s.long, run: true})
					blk.count += k
					s.n += int64(k)
					s.long = 0
					start, scan = end, end
				}
			}
		}
		for blk.count < s.lines {
			i := bytes.IndexByte(data[scan:], '\n')
			if i < 0 {
				scan = len(data)
				break
			}
			end := scan + i
			s.cut(blk, data, start, end)
			start, scan = end+1, end+1
		}
		if scan == len(data) { // data[start:] is an unfinished line
			if s.discard {
				data, scan = data[:start], start
			} else if len(data)-start > s.max+1 { // room for a '\r' before the newline
				s.skip()
				data, scan = data[:start], start
			}
		}
		if blk.count == s.lines || start >= s.bytes || s.eof || s.err != nil {
			break
		}
		if cap(data)-len(data) < minRead {
			grown := make([]byte, len(data), 2*cap(data)+minRead)
			copy(grown, data)
			data = grown
		}
		n, err := s.r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		switch {
		case err == io.EOF:
			s.eof = true
		case err != nil:
			s.err = err
		case n == 0:
			if s.empty++; s.empty == 100 {
				s.err = io.ErrNoProgress
			}
		default:
			s.empty = 0
		}
	}
	// With fewer than s.lines lines, every line read is cut.
	if final = (s.eof || s.err != nil) && blk.count < s.lines; final {
		if start < len(data) {
			// The last line, without a newline: the file's, or the
			// one a read error cut short, as a LineReader gives it.
			s.cut(blk, data, start, len(data))
		}
		start = len(data)
		s.discard = false
		if s.long > 0 {
			blk.lines = append(blk.lines, blockLine{n: s.n, long: s.long, none: true})
			s.long = 0
		}
		if s.err != nil {
			s.err = damagedAt(s.err, "", s.n) // with the lines read, as a LineReader's
		}
	}
	s.tail = data[start:]
	blk.data = data
	return final
}

// cut ends the line data[start:end] (end at its newline or the end of the
// file).
func (s *splitter) cut(blk *block, data []byte, start, end int) {
	if s.discard {
		s.discard = false
		return
	}
	e := end
	if e > start && data[e-1] == '\r' {
		e--
	}
	if e-start > s.max {
		s.n++
		s.long++
		return
	}
	s.n++
	blk.lines = append(blk.lines, blockLine{off: start, end: e, n: s.n, long: s.long})
	blk.count++
	s.long = 0
}

var newline = []byte{'\n'}

// fits reports whether no line of lines, whole lines each ending with a
// newline, is longer than s.max bytes (without its newline; a \r\n line of
// s.max bytes does not fit, and is cut on its own). It looks at
// a few bytes every s.max bytes: the last newline within s.max+1 bytes of
// a line's start ends that line and every line before it in that stretch.
func (s *splitter) fits(lines []byte) bool {
	for len(lines) > s.max+1 {
		i := bytes.LastIndexByte(lines[:s.max+1], '\n')
		if i < 0 {
			return false
		}
		lines = lines[i+1:]
	}
	return true
}

// skip counts the unfinished line as over-long and drops the rest of it.
func (s *splitter) skip() {
	s.n++
	s.long++
	s.discard = true
}
