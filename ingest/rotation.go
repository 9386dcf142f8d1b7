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
	sort.SliceStable(paths, func(i, j int) bool { return RotatedBefore(paths[i], paths[j]) })
}

// RotatedBefore reports whether file a comes before file b in the reading
// order of SortRotated.
func RotatedBefore(a, b string) bool {
	ra, rb := rotationOf(a), rotationOf(b)
	if ra.base != rb.base {
		return ra.base < rb.base
	}
	if ra.class != rb.class {
		return ra.class < rb.class
	}
	switch ra.class {
	case 0:
		if ra.date != rb.date {
			return ra.date < rb.date
		}
	case 1:
		if ra.num != rb.num {
			return ra.num > rb.num
		}
	}
	return a < b
}

// SameLog reports whether a and b are files of one log: the live file and
// its rotations (access.log, access.log.1, access.log.2.gz,
// access.log-20261203.gz). Paths are compared as given.
func SameLog(a, b string) bool { return rotationOf(a).base == rotationOf(b).base }

// Continues reports whether file b continues file a: both are one log's
// files, and b is the one a writer that was writing a when it rotated went
// on in (access.log.1 then access.log, access.log.3.gz then
// access.log.2.gz; access.log-20261203.gz then a later dated file or
// access.log). A live file continues no file of its log but its last
// rotation (access.log.1, or a dated one), nor does a file continue itself
// or a later one. Paths are compared as given: files in two directories
// are two logs.
func Continues(a, b string) bool {
	ra, rb := rotationOf(a), rotationOf(b)
	if ra.base != rb.base {
		return false
	}
	switch ra.class {
	case 0: // dated: a later dated file, or the live file
		return rb.class == 2 || rb.class == 0 && ra.date < rb.date
	case 1: // numbered: the next lower number, the live file after .1
		return rb.class == 1 && rb.num == ra.num-1 || rb.class == 2 && ra.num == 1
	}
	return false // the live file: nothing of its log comes after it
}
