package serve

import (
	"log/slog"
	"sync/atomic"

	"github.com/spraywatch/spraywatch/detect"
)

// joinWarnings logs the hints of an engine's join counters once each for
// the life of the process: the conditions hold until the logs are fixed,
// and the metrics go on counting. The late hints
// (detect.JoinStats.LateHints) tell of records that come after their
// partner expired, as when the two logs give times in different zones; the
// duplicate hint (detect.JoinStats.DuplicateHint) of request ids that come
// twice on one side: a log read twice, ids reused, or several login
// attempts in one request.
type joinWarnings struct{ late, dups atomic.Bool }

// check logs the hints of e's join counters that there are and that were
// not logged before.
func (w *joinWarnings) check(log *slog.Logger, e *detect.Engine) {
	j := e.JoinStats()
	if !w.late.Load() {
		if hints := j.LateHints(); len(hints) > 0 {
			w.late.Store(true)
			for _, h := range hints {
				log.Warn(h, "late_app", j.LateApp.Load(), "late_proxy", j.LateProxy.Load(),
					"metric", "spraywatch_join_late_partners_total")
			}
		}
	}
	if !w.dups.Load() {
		if h := j.DuplicateHint(); h != "" {
			w.dups.Store(true)
			log.Warn(h, "duplicates", j.Duplicates.Load(),
				"metric", `spraywatch_join_outcomes_total{outcome="duplicate"}`)
		}
	}
}
