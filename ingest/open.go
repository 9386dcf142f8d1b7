package ingest

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
)

// Open opens a log file for reading; "-" is standard input. Gzip-compressed
// files are recognised by their magic bytes and decompressed; the members
// of a file of several are read one after another. A UTF-8 byte order mark
// at the very start of the file's text (in the compressed data, for a gzip
// file) is dropped, as Windows tools write one; one anywhere else is kept.
//
// Damaged compressed data (cut short, corrupt, failing its checksum, or
// followed by bytes that are not a gzip member) is a *DamagedError from
// Read, once every byte before the damage has been read: a reader of lines
// can keep the lines before it (see LineReader).
func Open(path string) (io.ReadCloser, error) {
	var f *os.File
	if path == "-" {
		f = os.Stdin
	} else {
		var err error
		if f, err = os.Open(path); err != nil {
			return nil, err
		}
		if st, err := f.Stat(); err == nil && st.IsDir() {
			f.Close()
			return nil, &os.PathError{Op: "open", Path: path, Err: errIsDir}
		}
	}
	br := bufio.NewReaderSize(f, 64<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			if !isDamage(err) {
				f.Close()
				return nil, fmt.Errorf("reading gzip header of %s: %w", path, err)
			}
			// A first member cut short or not gzip after its magic
			// bytes: a damaged file with no line.
			return &readCloser{Reader: failed{&DamagedError{Err: err}}, closers: []io.Closer{f}}, nil
		}
		// Reads as large as the caller's go past the buffer, which
		// only holds the bytes looked at for a byte order mark.
		zbr := bufio.NewReaderSize(inflater{zr}, 16)
		dropBOM(zbr)
		return &readCloser{Reader: zbr, closers: []io.Closer{zr, f}}, nil
	}
	dropBOM(br)
	return &readCloser{Reader: br, closers: []io.Closer{f}}, nil
}

// bom is the UTF-8 byte order mark.
var bom = []byte{0xef, 0xbb, 0xbf}

// dropBOM drops a byte order mark at the start of br. An error reading
// it is left for br's next Read.
func dropBOM(br *bufio.Reader) {
	if b, _ := br.Peek(len(bom)); bytes.Equal(b, bom) {
		br.Discard(len(bom))
	}
}

// A DamagedError reports a file whose data ends early at damage: its
// compressed data cut short (a copy interrupted, a file compressed while
// it was written) or corrupt. The lines before the damage can be read;
// those after it are lost. Readers of lines add the number of lines read
// before it, sources the file.
type DamagedError struct {
	Source string // the file
	// Line is how many lines were read before the damage, the last of
	// them possibly incomplete (it ended at the damage): 0 when none.
	Line int64
	Err  error // what the decompressor found
}

func (e *DamagedError) Error() string {
	var what, lost string
	switch {
	case errors.Is(e.Err, io.ErrUnexpectedEOF):
		what, lost = "the compressed data ends early", "the lines after it are lost"
	case errors.Is(e.Err, gzip.ErrChecksum):
		what, lost = "the compressed data fails its checksum", "lines before it may be wrong, and any data after it is not read"
	case errors.Is(e.Err, gzip.ErrHeader) && e.Line > 0:
		what, lost = "the compressed data is followed by bytes that are not gzip", "the rest of the file is not read"
	case errors.Is(e.Err, gzip.ErrHeader):
		what, lost = "the gzip header is not valid", "the file is not read"
	default:
		what, lost = "the compressed data is corrupt", "the lines after it are lost"
	}
	where := "before its first line"
	if e.Line > 0 {
		where = fmt.Sprintf("after line %d", e.Line)
	}
	msg := fmt.Sprintf("%s %s (%v): %s", what, where, e.Err, lost)
	if e.Source != "" {
		return e.Source + ": " + msg
	}
	return msg
}

func (e *DamagedError) Unwrap() error { return e.Err }

// damagedAt returns err with the file and the lines read before it set if
// it is a *DamagedError, or else err.
func damagedAt(err error, name string, lines int64) error {
	var de *DamagedError
	if !errors.As(err, &de) {
		return err
	}
	c := *de
	if name != "" {
		c.Source = name
	}
	c.Line = lines
	return &c
}

// isDamage reports whether err, from a gzip reader, says that its data is
// damaged, rather than that the file could not be read.
func isDamage(err error) bool {
	var ce flate.CorruptInputError
	var ie flate.InternalError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) ||
		errors.Is(err, gzip.ErrHeader) || errors.As(err, &ce) || errors.As(err, &ie)
}

// inflater is a gzip reader whose errors for damaged data are
// *DamagedError.
type inflater struct{ zr *gzip.Reader }

func (r inflater) Read(p []byte) (int, error) {
	n, err := r.zr.Read(p)
	if err != nil && err != io.EOF && isDamage(err) {
		err = &DamagedError{Err: err}
	}
	return n, err
}

// failed is a reader that fails with its error.
type failed struct{ err error }

func (r failed) Read([]byte) (int, error) { return 0, r.err }

// errIsDir is the error of Open for a directory, which os.Open opens.
var errIsDir = errors.New("is a directory, not a log file")

type readCloser struct {
	io.Reader
	closers []io.Closer
}

func (r *readCloser) Close() error {
	var first error
	for _, c := range r.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
