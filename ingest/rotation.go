package ingest

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var (
	// access.log.1, <id>-json.log.2.gz (logrotate, Docker's json-file)
	numbered = regexp.MustCompile(`^(.*)\.(\d{1,6})$`)
	// access.log-20261203, access.log-2026120314 (logrotate's dateext)
	dated = regexp.MustCompile(`^(.*)-(\d{8}(?:\d{2})?)$`)
	// 0.log.20261203-141502 (the kubelet's container logs)
	stamped = regexp.MustCompile(`^(.*)\.(\d{8}-\d{6})$`)
)

// rotation describes a file name as a log and its place among its rotated
// files.
type rotation struct {
	base  string
	class int // 0 dated, 1 numbered, 2 live
	num   int
	date  string
}

func rotationOf(path string) rotation {
	n := strings.TrimSuffix(path, ".gz")
	if m := numbered.FindStringSubmatch(n); m != nil {
		k, _ := strconv.Atoi(m[2])
		return rotation{base: m[1], class: 1, num: k}
	}
	if m := dated.FindStringSubmatch(n); m != nil {
		return rotation{base: m[1], class: 0, date: m[2]}
	}
	if m := stamped.FindStringSubmatch(n); m != nil {
		return rotation{base: m[1], class: 0, date: m[2]}
	}
	return rotation{base: n, class: 2}
}

// SortRotated sorts file names into reading order: for each log, its
// rotated files oldest first, then the live file; logs by name. Numbered
// rotations go by number descending (access.log.3.gz, access.log.2.gz,
// access.log.1, access.log), dated ones by date (access.log-20261203.gz,
// logrotate's dateext; 0.log.20261203-141502.gz, the kubelet's).
func SortRotated(paths []string) {
	sort.SliceStable(paths, func(i, j int) bool {
		a, b := rotationOf(paths[i]), rotationOf(paths[j])
		if a.base != b.base {
			return a.base < b.base
		}
		if a.class != b.class {
			return a.class < b.class
		}
		switch a.class {
		case 0:
			if a.date != b.date {
				return a.date < b.date
			}
		case 1:
			if a.num != b.num {
				return a.num > b.num
			}
		}
		return paths[i] < paths[j]
	})
}

// SameLog reports whether the files a and b are one log's, rotated
// (access.log.1 and access.log): a writer that was writing a when it
// rotated went on in b.
func SameLog(a, b string) bool { return rotationOf(a).base == rotationOf(b).base }
