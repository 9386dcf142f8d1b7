package config

import (
	"fmt"
	"os"
)

// Repeat is a file named a second time among one source's files: by the
// same name, another name for it or a link to it (os.SameFile). The
// source reads it once, at its first name.
type Repeat struct {
	Path  string // the later name
	First string // the name it is read at
}

// distinctFiles returns files with each file once, at its first name, in
// the order given, and the later names of files already named. "-" and
// names that cannot be read are kept as they are (CheckFiles reports
// those).
func distinctFiles(files []string) (kept []string, repeats []Repeat) {
	type named struct {
		path string
		fi   os.FileInfo
	}
	bySize := map[int64][]named{}
	for _, p := range files {
		if p == "-" {
			kept = append(kept, p)
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			kept = append(kept, p)
			continue
		}
		first := ""
		for _, n := range bySize[fi.Size()] {
			if os.SameFile(n.fi, fi) {
				first = n.path
				break
			}
		}
		if first != "" {
			repeats = append(repeats, Repeat{Path: p, First: first})
			continue
		}
		bySize[fi.Size()] = append(bySize[fi.Size()], named{p, fi})
		kept = append(kept, p)
	}
	return kept, repeats
}

// pathList is one of a source's keys naming files, with its patterns.
type pathList struct {
	key  string
	pats []string
}

// pathLists returns the source's keys naming files: paths, and an alb
// source's conn_paths and access_paths.
func (s *Source) pathLists() []pathList {
	return []pathList{{"paths", s.Paths}, {"conn_paths", s.ConnPaths}, {"access_paths", s.AccessPaths}}
}

// Repeats lists the files named more than once among the source's files
// (see Files), or among an alb source's connection logs or its access
// logs, which it reads once.
func (s *Source) Repeats() ([]Repeat, error) {
	var out []Repeat
	for _, l := range s.pathLists() {
		files, err := Expand(l.pats)
		if err != nil {
			return nil, err
		}
		_, r := distinctFiles(files)
		out = append(out, r...)
	}
	return out, nil
}

// CheckShared reports a file that two sources read, or that an alb
// source's connection and access logs both name: a file is one log, and
// read twice its records would be counted twice and every request id
// duplicated. Open checks it; serve, following the files, checks the
// files there are when it starts.
func (c *Config) CheckShared() error {
	type owner struct {
		src  int    // the source's index in c.Sources
		key  string // the key naming the file
		what string
		path string
		fi   os.FileInfo
	}
	var seen []owner
	for i := range c.Sources {
		s := &c.Sources[i]
		for _, l := range s.pathLists() {
			if len(l.pats) == 0 {
				continue
			}
			files, err := Expand(l.pats)
			if err != nil {
				continue // reported when the source is opened
			}
			what := s.describe()
			if s.Kind == KindALB {
				what += " (" + l.key + ")"
			}
			for _, p := range files {
				if p == "-" {
					continue
				}
				fi, err := os.Stat(p)
				if err != nil {
					continue
				}
				for _, o := range seen {
					if (o.src != i || o.key != l.key) && os.SameFile(o.fi, fi) {
						first, second := o.what, what
						if first == second {
							// Sources without a name describe
							// themselves alike: say which ones.
							first += fmt.Sprintf(" (source %d)", o.src+1)
							second += fmt.Sprintf(" (source %d)", i+1)
						}
						return fmt.Errorf("file %q is read by %s and by %s (as %q): each file is one log of one source", o.path, first, second, p)
					}
				}
				seen = append(seen, owner{i, l.key, what, p, fi})
			}
		}
	}
	return nil
}
