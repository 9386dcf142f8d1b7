package replay

// MaxParseWorkers is the most parse workers a source may be given: each
// holds blocks of lines and a parser, so thousands would take gigabytes
// for no speed.
const MaxParseWorkers = 256

// ParseWorkers returns how many goroutines parse each source's lines (see
// ingest.PrefetchParallel), given a requested number n, GOMAXPROCS procs
// and the sources' sizes in bytes (0 when unknown, as for stdin).
//
// n > 0 gives every source n workers. n <= 0 chooses: the goroutine that
// merges and joins the records keeps a core, and the others (procs-1) are
// shared among the sources in proportion to their sizes (in equal shares
// when no size is known), each source getting at least one. On a machine
// with no more cores than sources, every source gets one worker. One big
// proxy log on many cores gets most of them. Workers parse only as far
// ahead as their blocks allow, so those the rules do not keep busy wait
// and leave their cores to the rules.
func ParseWorkers(n, procs int, sizes []int64) []int {
	out := make([]int, len(sizes))
	if n > 0 {
		for i := range out {
			out[i] = n
		}
		return out
	}
	spare := procs - 1
	var total float64 // in float: a sum of sizes may overflow int64
	for _, s := range sizes {
		if s > 0 {
			total += float64(s)
		}
	}
	for i, s := range sizes {
		out[i] = 1
		share := 1.0 / float64(len(sizes)) // no size known: equal shares
		if total > 0 {
			share = float64(max(s, 0)) / total
		}
		if w := int(float64(spare) * share); w > 1 {
			out[i] = w
		}
	}
	return out
}
