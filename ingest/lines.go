package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// DefaultMaxLineBytes is the default cap on a line's length. Longer lines are
// counted and skipped, never buffered whole.
const DefaultMaxLineBytes = 256 << 10

// MaxLineBytesLimit is the largest cap on a line's length a configuration
// or a flag may set: every file read holds a buffer of the cap's size, so a
// cap past any real log line would cost memory to no purpose, and one of
// terabytes would not be allocated at all.
const MaxLineBytesLimit = 16 << 20

// LineReader splits a stream into lines without allocating per line. A line
// longer than the cap, which is on the line without its line ending (\n or
// \r\n), is skipped and counted; a last line without a newline is returned
// like any other, and so is the line a read error cuts short: the error
// comes at the next call (a *DamagedError with the lines read before it,
// for damaged compressed data; see Open).
type LineReader struct {
	br      *bufio.Reader
	max     int   // the longest line kept
	n       int64 // lines returned or skipped so far
	long    int64 // lines skipped for length
	offset  int64 // bytes consumed
	discard bool  // inside an over-long line
	err     error // the read error, after the line it cut short
}

// NewLineReader returns a reader of lines of at most maxLine bytes (without
// the line ending); maxLine <= 0 means DefaultMaxLineBytes.
func NewLineReader(r io.Reader, maxLine int) *LineReader {
	maxLine = lineCap(maxLine)
	// bufio needs room for the line ending too.
	return &LineReader{br: bufio.NewReaderSize(r, maxLine+2), max: maxLine}
}

// Next returns the next line without its line ending and its 1-based number.
// The slice is valid until the next call. At the end it returns io.EOF.
func (l *LineReader) Next() ([]byte, int64, error) {
	if l.err != nil {
		return nil, l.n, l.err
	}
	for {
		b, err := l.br.ReadSlice('\n')
		l.offset += int64(len(b))
		switch {
		case err == nil:
			if l.discard {
				l.discard = false
				continue
			}
			l.n++
			if b = trimEOL(b); len(b) > l.max {
				l.long++
				continue
			}
			return b, l.n, nil
		case errors.Is(err, bufio.ErrBufferFull):
			if !l.discard {
				l.discard = true
				l.n++
				l.long++
			}
			continue
		case errors.Is(err, io.EOF):
			if len(b) == 0 || l.discard {
				l.discard = false
				return nil, l.n, io.EOF
			}
			l.n++
			if b = trimEOL(b); len(b) > l.max {
				// Also a last line that fills the buffer, which bufio
				// returns when its reader gives the last bytes and the
				// end at once.
				l.long++
				return nil, l.n, io.EOF
			}
			return b, l.n, nil
		default:
			// The bytes before the error are a last line, as at the
			// end of the file.
			if len(b) == 0 || l.discard {
				l.discard = false
				l.err = damagedAt(err, "", l.n)
				return nil, l.n, l.err
			}
			l.n++
			l.err = damagedAt(err, "", l.n)
			if b = trimEOL(b); len(b) > l.max {
				l.long++
				return nil, l.n, l.err
			}
			return b, l.n, nil
		}
	}
}

// lineCap is the longest line, without its line ending, that a LineReader
// of maxLine keeps.
func lineCap(maxLine int) int {
	if maxLine <= 0 {
		return DefaultMaxLineBytes
	}
	return maxLine
}

// Skipped returns how many lines were skipped for being too long.
func (l *LineReader) Skipped() int64 { return l.long }

// Offset returns how many bytes were consumed.
func (l *LineReader) Offset() int64 { return l.offset }

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}
