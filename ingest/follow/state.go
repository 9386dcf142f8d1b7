package follow

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// maxDropped bounds the closed files remembered after their entry was
// dropped.
const maxDropped = 4096

// stateVersion is the state file's format version.
const stateVersion = 1

// entry is one file's committed position in the state file.
type entry struct {
	Path        string `json:"path"`
	Dev         uint64 `json:"dev"`
	Inode       uint64 `json:"inode"`
	Fingerprint uint64 `json:"fingerprint"`
	Generation  uint32 `json:"generation,omitempty"`
	Offset      int64  `json:"offset"`
}

// retiredMark is where a closed file ended: its entry goes once committed
// that far.
type retiredMark struct {
	fp  uint64
	off int64
}

type stateFile struct {
	Version int     `json:"version"`
	Files   []entry `json:"files"`
}

// state holds the committed positions and writes them to path.
type state struct {
	path string

	mu      sync.Mutex
	files   map[fileID]*entry
	retired map[fileID]retiredMark // closed files: dropped once committed to their end
	// dropped are closed files whose entry was dropped: committing their
	// final position (Source.Retired) must not add them again. Forgotten at
	// a later commit of the final position, when another file has the
	// inode, or beyond maxDropped.
	dropped map[fileID]retiredMark
	// copies are the positions of copies of a file read (see
	// Source.recognise), placed past what was read of the file they copy:
	// saved once that file's position is committed that far (or past the
	// generation copied), unless the copy's own position is saved first.
	copies map[fileID]copyMark
	dirty  bool
}

// copyMark is the position of a copy, saved once the file copied (src,
// fingerprint fp) is committed up to offset off of generation gen.
type copyMark struct {
	pos Position
	src fileID
	fp  uint64
	gen uint32
	off int64
}

func loadState(path string) (*state, error) {
	if path == "" {
		return nil, nil
	}
	st := &state{path: path, files: map[fileID]*entry{}, retired: map[fileID]retiredMark{}, dropped: map[fileID]retiredMark{}, copies: map[fileID]copyMark{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading follow state: %w", err)
	}
	var sf stateFile
	if err := json.Unmarshal(b, &sf); err != nil {
		return nil, fmt.Errorf("reading follow state %s: %w", path, err)
	}
	if sf.Version != stateVersion {
		return nil, fmt.Errorf("reading follow state %s: version %d, expected %d", path, sf.Version, stateVersion)
	}
	for i := range sf.Files {
		e := sf.Files[i]
		st.files[fileID{e.Dev, e.Inode}] = &e
	}
	return st, nil
}

func (st *state) lookup(id fileID) *entry {
	st.mu.Lock()
	defer st.mu.Unlock()
	if e := st.files[id]; e != nil {
		c := *e
		return &c
	}
	return nil
}

func (st *state) entries() []entry {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]entry, 0, len(st.files))
	for _, e := range st.files {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// drop forgets a file that no longer exists.
func (st *state) drop(id fileID) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.files[id]; ok {
		delete(st.files, id)
		st.dirty = true
	}
}

// retire notes that the file with fingerprint fp was closed at offset off:
// its entry goes once the records up to off are committed.
func (st *state) retire(id fileID, fp uint64, off int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.retired[id] = retiredMark{fp, off}
}

// copied notes the position p of a copy of the file src, saved once src
// is committed up to offset off of generation gen.
func (st *state) copied(p Position, src fileID, fp uint64, gen uint32, off int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.copies) >= maxDropped {
		for k := range st.copies {
			delete(st.copies, k)
			break
		}
	}
	st.copies[fileID{p.Dev, p.Inode}] = copyMark{p, src, fp, gen, off}
}

// commit merges positions and writes the state file if anything changed.
func (st *state) commit(ps []Position) (bool, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, p := range ps {
		if p.Inode == 0 && p.Dev == 0 {
			continue
		}
		id := fileID{p.Dev, p.Inode}
		if d, ok := st.dropped[id]; ok {
			if p.Fingerprint == d.fp {
				if p.Offset >= d.off {
					delete(st.dropped, id) // its final position
				}
				continue
			}
			delete(st.dropped, id) // a new file reuses the inode
		}
		e := st.files[id]
		switch {
		case e == nil:
			st.files[id] = new(entry(p))
		case p.Generation > e.Generation || p.Fingerprint != e.Fingerprint && p.Generation == e.Generation:
			*e = entry(p)
		case p.Generation == e.Generation && (p.Offset > e.Offset || p.Path != e.Path):
			e.Offset = max(e.Offset, p.Offset)
			e.Path = p.Path
		default:
			continue
		}
		st.dirty = true
	}
	for id, m := range st.retired {
		// The mark waits for the closed file's end to be committed: an
		// entry with another fingerprint may still be the file at an
		// earlier generation, and a file with no entry yet may get one
		// (positions are committed after the records are processed).
		if e := st.files[id]; e != nil && e.Fingerprint == m.fp && e.Offset >= m.off {
			delete(st.files, id)
			delete(st.retired, id)
			st.dirty = true
			// The final position may be committed again (it cannot be
			// told from the last record's): remember the file, a bounded
			// number of them.
			if len(st.dropped) >= maxDropped {
				for k := range st.dropped {
					delete(st.dropped, k)
					break
				}
			}
			st.dropped[id] = m
		}
	}
	for id, c := range st.copies {
		if e := st.files[id]; e != nil && e.Fingerprint == c.pos.Fingerprint {
			delete(st.copies, id) // its own position was committed
			continue
		}
		if d, ok := st.dropped[id]; ok && d.fp == c.pos.Fingerprint {
			delete(st.copies, id) // closed, and its final position committed
			continue
		}
		src := st.files[c.src]
		done := src != nil && (src.Generation > c.gen || src.Generation == c.gen && src.Fingerprint == c.fp && src.Offset >= c.off)
		if d, ok := st.dropped[c.src]; ok && d.fp == c.fp && d.off >= c.off {
			done = true // committed to its end, and closed
		}
		if !done {
			continue
		}
		p := c.pos
		st.files[id] = new(entry(p))
		delete(st.copies, id)
		st.dirty = true
	}
	if !st.dirty {
		return false, nil
	}
	if err := st.write(); err != nil {
		return false, err
	}
	st.dirty = false
	return true, nil
}

// write replaces the state file atomically: temporary file, fsync, rename,
// fsync of the directory.
func (st *state) write() error {
	sf := stateFile{Version: stateVersion, Files: make([]entry, 0, len(st.files))}
	for _, e := range st.files {
		sf.Files = append(sf.Files, *e)
	}
	sort.Slice(sf.Files, func(i, j int) bool {
		a, b := sf.Files[i], sf.Files[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Inode < b.Inode
	})
	b, err := json.MarshalIndent(sf, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(st.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(st.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing follow state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("writing follow state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("syncing follow state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing follow state: %w", err)
	}
	if err := os.Rename(tmp.Name(), st.path); err != nil {
		return fmt.Errorf("replacing follow state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
