package ingest

// A Joiner is a Parser that joins the parts of a line its writer split:
// container runtimes write a long line as several partial lines (CRI tag
// P, Docker json-file entries without the final newline), and the Joiner
// keeps the parts until the part that ends the line, whose Parse reads the
// whole line. Its state is that of one file's lines read in order:
//
//   - readers tell it of the lines they skip unread (Skipped), before
//     the next line, so that no part of a line is joined across a gap
//     and the end of a line whose head was skipped is not read alone;
//   - a log's state goes on from one of its files to the file that
//     continues it (a rotation can fall between the parts of a line:
//     Continues): readers of several files call EndOfLog where a log
//     ends, at the end of its last file or before a file that does not
//     continue it (another log's, or its own out of rotation order), or
//     save and restore each file's
//     state when they switch between files (AppendJoinState,
//     SetJoinState), handing it to the file that replaced a rotated one;
//   - a reader that starts inside a file (at a saved position, or at its
//     end) has a JoinTracker follow the lines just before its start, and
//     drops the parts pending there (DropKept): their line's head may be
//     missing, and their end must not be read alone;
//   - PrefetchParallel, whose workers parse blocks of a file at once, has
//     a JoinTracker follow the state over every line on the goroutine that
//     reads, and each worker starts its block from the state the lines
//     before the block left;
//   - a reader of a stream that mixes writers, whose parts cannot be put
//     back together (a Kafka topic keyed by request id scatters them over
//     partitions), calls RejectParts.
type Joiner interface {
	Parser
	// Joins reports whether the parser's lines can be split at all.
	Joins() bool
	// SetMaxLineBytes caps the length of a joined line: a longer one is
	// rejected as too long (a SyntaxError with TooLong set), once, and
	// its remaining parts are dropped. n <= 0 means DefaultMaxLineBytes.
	SetMaxLineBytes(n int)
	// RejectParts makes the parser reject the parts of a split line
	// that more parts follow, rather than keep them for joining; the
	// part that ends such a line is rejected too, not read as a line.
	RejectParts()
	// Skipped notes that the reader skipped a line unread (over the
	// length cap) just before the next line it gives: the parts of
	// a line that it may have been one of are dropped, up to the one
	// that ends the line, which is not read as a line of its own.
	Skipped()
	// EndOfLog notes that the log ended: its last file was read, or the
	// next file is another log's. The parts kept are dropped, and counted
	// (FlagSplitUnjoined): a line whose end never came.
	EndOfLog()
	// DropKept drops the parts kept, which may lack their line's head (a
	// reader starting inside a file tracked only the lines just before
	// its start): the rest of each such line is dropped up to its end,
	// which is rejected, not read as a line of its own.
	DropKept()
	// SetJoinState replaces the kept parts with those of state, which
	// AppendJoinState or a JoinTracker's AppendState gave; empty: none.
	SetJoinState(state []byte)
	// AppendJoinState appends the kept parts to dst, for SetJoinState.
	AppendJoinState(dst []byte) []byte
	// NewJoinTracker returns a tracker of the parser's state.
	NewJoinTracker() JoinTracker
}

// A JoinTracker follows a Joiner's state over lines, in file order,
// without parsing them (it reads only what tells a part of a split line
// apart). It is not safe for concurrent use.
type JoinTracker interface {
	// Track follows line as the Joiner's Parse would take it.
	Track(line []byte)
	// Skipped follows a line skipped unread as Joiner.Skipped does.
	Skipped()
	// AppendState appends the state the lines tracked leave, for
	// Joiner.SetJoinState.
	AppendState(dst []byte) []byte
	// Reset forgets the lines tracked: a file starts.
	Reset()
}

// joinerOf returns p as a Joiner if it joins split lines, nil otherwise.
func joinerOf(p Parser) Joiner {
	if j, ok := p.(Joiner); ok && j.Joins() {
		return j
	}
	return nil
}
