package follow

import "github.com/spraywatch/spraywatch/ingest"

// Copies of a file read (copytruncate).
//
// logrotate's copytruncate copies the live file (auth.log to auth.log.1)
// and then truncates it. A glob that matches the copy finds a new file
// whose lines up to the follower's position were read already, from the
// live file. A new file of the same log (ingest.SameLog) whose fingerprint
// (the hash of its first line, see fingerprintOf) equals that of a
// followed file's generation is taken for its copy:
//
//   - the generation copied ended (the file was truncated, or closed):
//     the copy is read from where that generation's reading stopped, or
//     from its end if it is no longer than that;
//   - the generation is still being read (the copy was found between the
//     copy and the truncation, or the log is rotated with copy, which
//     never truncates): the copy is held, not read, until it ends;
//   - at a restart, a saved position of another file of the log with that
//     fingerprint (the live file at the generation copied) tells how far
//     it was read.
//
// Only the fingerprint and the offset of each followed file's current and
// previous generation are kept. A new file whose first line is not
// complete yet is held until it is, when another file of its log is
// followed.

// recognise looks at f, a new file to be read from its start, and holds
// it or places it past what was read of the file it copies.
func (s *Source) recognise(f *file) {
	f.fingerprint()
	if !f.fpOK {
		// The first line is not complete: a copy being made cannot be
		// told yet.
		f.held = s.sameLogFollowed(f)
		return
	}
	s.match(f)
}

// sameLogFollowed reports whether a file of f's log other than f is
// followed.
func (s *Source) sameLogFollowed(f *file) bool {
	for _, head := range s.files {
		for g := head; g != nil; g = g.successor {
			if g != f && !g.skipped && ingest.SameLog(g.path, f.path) {
				return true
			}
		}
	}
	return false
}

// match compares f, whose fingerprint is known, with the files of its log.
func (s *Source) match(f *file) {
	f.held, f.copyOf = false, nil
	for _, head := range s.files {
		for g := head; g != nil; g = g.successor {
			if g == f || g.skipped || g.held || g.f == nil || !ingest.SameLog(g.path, f.path) {
				continue
			}
			g.fingerprint()
			switch {
			case g.fpOK && g.fp == f.fp && g.truncated:
				// Truncated, the lines read before still to be
				// consumed: nothing more of that generation is read.
				s.skipCopy(f, g.path, g.id, g.fp, g.gen, g.readOff)
				return
			case g.fpOK && g.fp == f.fp:
				f.held, f.copyOf, f.copyGen = true, g, g.gen
				return
			case g.prevOK && g.prevFp == f.fp:
				s.skipCopy(f, g.path, g.id, g.prevFp, g.prevGen, g.prevOff)
				return
			}
		}
	}
	if s.state == nil {
		return
	}
	// A restart: the saved position of the file copied.
	for _, e := range s.state.entries() {
		id := fileID{e.Dev, e.Inode}
		if id == f.id || e.Fingerprint != f.fp || e.Offset <= 0 || !ingest.SameLog(e.Path, f.path) {
			continue
		}
		s.skipCopy(f, e.Path, id, e.Fingerprint, e.Generation, e.Offset)
		return
	}
}

// settle decides about the files held, and reports whether any is read
// now.
func (s *Source) settle() bool {
	changed := false
	for _, head := range s.files {
		for f := head; f != nil; f = f.successor {
			if !f.held {
				continue
			}
			g := f.copyOf
			switch {
			case g == nil:
				f.fingerprint()
				if f.fpOK {
					s.match(f)
				} else if !f.orphaned.IsZero() {
					f.held = false // rotated away: read what it holds
				}
			case g.gen == f.copyGen && (g.truncated || g.f == nil):
				// The generation copied ended (truncated, or read to its
				// end and closed): readOff is how far it was read.
				s.skipCopy(f, g.path, g.id, g.fp, g.gen, g.readOff)
			case g.gen == f.copyGen+1 && g.prevOK && g.prevGen == f.copyGen:
				s.skipCopy(f, g.path, g.id, g.prevFp, g.prevGen, g.prevOff)
			case g.gen != f.copyGen:
				// Truncated twice since: how far the generation copied
				// was read is not known, and the copy is read whole.
				f.held, f.copyOf = false, nil
				s.logf("new file is a copy of a file truncated again since; reading it from its start", "path", f.path, "copy_of", g.path)
			}
			if !f.held {
				changed = true
			}
		}
	}
	return changed
}

// skipCopy places f, a copy of generation gen of the file src (id,
// fingerprint fp), past the off bytes read of that generation.
func (s *Source) skipCopy(f *file, src string, id fileID, fp uint64, gen uint32, off int64) {
	f.held, f.copyOf = false, nil
	fi, err := f.f.Stat()
	if err != nil || off <= 0 {
		return
	}
	to := min(off, fi.Size())
	f.seek(to)
	// The line the reading of the file copied ended in, without its
	// newline, was delivered as it was: the rest of it in the copy is no
	// line of its own.
	var last [1]byte
	if _, err := f.f.ReadAt(last[:], to-1); err == nil && last[0] != '\n' {
		f.discarding = true
	}
	s.startInside(f)
	if m, ok := s.marks[id]; ok && m.fp == fp && m.gen == gen && m.off > to {
		// Read before the last Rewind, or by an earlier run, beyond.
		f.rereadTo, f.rereadGen = m.off, f.gen
	}
	s.counters.Copies.Add(1)
	s.counters.CopiedBytes.Add(to)
	if s.state != nil {
		s.state.copied(f.position(), id, fp, gen, off)
	}
	s.logf("new file is a copy of a file read before (copytruncate); reading only what it holds beyond what was read", "path", f.path, "copy_of", src, "skipped_bytes", to)
}

func (s *Source) logf(msg string, args ...any) {
	if s.cfg.Logger != nil {
		s.cfg.Logger.Info(msg, append([]any{"source", s.stats.Name}, args...)...)
	}
}
