package serve

import (
	"log/slog"
	"sync/atomic"

	"github.com/spraywatch/spraywatch/detect"
)

// lateWarning logs the hints of an engine's join counters
// (detect.JoinStats.LateHints: records that come after their partner
// expired, as when the two logs give times in different zones) once for
// the life of the process: the condition holds until the logs are fixed,
// and spraywatch_join_late_partners_total goes on counting.
type lateWarning struct{ done atomic.Bool }

// check logs the hints of e's join counters, if any and none were logged
// before.
func (w *lateWarning) check(log *slog.Logger, e *detect.Engine) {
	if w.done.Load() {
		return
	}
	j := e.JoinStats()
	hints := j.LateHints()
	if len(hints) == 0 {
		return
	}
	w.done.Store(true)
	for _, h := range hints {
		log.Warn(h, "late_app", j.LateApp.Load(), "late_proxy", j.LateProxy.Load(),
			"metric", "spraywatch_join_late_partners_total")
	}
}

// duplicateWarning logs the hint of an engine's join counters about
// request ids that come twice on one side (detect.JoinStats.DuplicateHint:
// a log read twice, ids reused, or several login attempts in one request)
// once for the life of the process, as lateWarning does its hints:
// spraywatch_join_outcomes_total{outcome="duplicate"} goes on counting.
type duplicateWarning struct{ done atomic.Bool }

// check logs the hint of e's join counters, if any and none was logged
// before.
func (w *duplicateWarning) check(log *slog.Logger, e *detect.Engine) {
	if w.done.Load() {
		return
	}
	j := e.JoinStats()
	hint := j.DuplicateHint()
	if hint == "" {
		return
	}
	w.done.Store(true)
	log.Warn(hint, "duplicates", j.Duplicates.Load(),
		"metric", `spraywatch_join_outcomes_total{outcome="duplicate"}`)
}
