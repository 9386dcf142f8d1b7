package serve

import (
	"encoding/base64"
	"encoding/binary"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/spraywatch/spraywatch/detect"
)

// DefaultMaxRebuild bounds how much event time a restart reads again
// before the committed position to rebuild the incidents firing (see
// Config.MaxRebuild). A firing incident's rebuild starts up to its rule's
// window before its first event, so with the default pack's 12-hour
// slow-spray window an incident a day long needs 36 hours; 48 leaves room.
const DefaultMaxRebuild = 48 * time.Hour

// metadataPrefix starts the metadata a Server commits with each offset:
// the prefix, then how much event time (in nanoseconds) before the
// committed offset a restart must read again (see rebuilder).
const metadataPrefix = "spraywatch.rewind="

// rebuilder decides, each time positions are committed, from which event
// time a restart must read the input again: the span the windows need
// before the records processed, or earlier, back to the first event of
// every incident firing (and of every resolved one whose cooldown still
// counts: see detect.Engine.RebuildNeeds), so that a restart rebuilds
// them whole, with the same ids and records. It never goes back more than
// max(span, maxRebuild): an incident firing older than that is counted
// (once) in stats.Unrebuilt and logged, and a restart opens a new incident
// for it, as before; a resolved one is logged, and a restart loses its
// cooldown.
//
// A server keeps one rebuilder for its lifetime, set again (see set) for
// each engine it builds: an incident counted when it went beyond the
// bound is not counted again when a rule reload or a rebalance rebuilds
// the engine.
type rebuilder struct {
	span       time.Duration // the windows, the join window and the lateness
	window     time.Duration // the longest rule window
	maxRebuild time.Duration // the longer of the span and bound
	bound      time.Duration // the longest rebuild asked for
	stats      *Stats
	log        *slog.Logger

	needs []detect.RebuildNeed
	// since is the time the needs were asked about, and read where a
	// restart reads again from, as of the last from (see state).
	since, read int64
	// beyond are the incidents found older than the bound, counted once.
	beyond, next map[string]bool
}

// newRebuilder returns a rebuilder bounded by maxRebuild (0: the
// default), to be set for each engine.
func newRebuilder(maxRebuild time.Duration, stats *Stats, log *slog.Logger) *rebuilder {
	if maxRebuild <= 0 {
		maxRebuild = DefaultMaxRebuild
	}
	return &rebuilder{bound: maxRebuild, stats: stats, log: log, beyond: map[string]bool{}, next: map[string]bool{}}
}

// set makes r decide for an engine whose windows' span and longest rule
// window are span and window (0: an engine that keeps no incidents).
func (r *rebuilder) set(span, window time.Duration) {
	r.span, r.window, r.maxRebuild = span, window, max(span, r.bound)
}

// limit is the most event time a restart reads again.
func (r *rebuilder) limit() time.Duration { return r.maxRebuild }

// from returns the event time from which the records must be read again
// after a restart, the newest record processed being at released.
func (r *rebuilder) from(eng *detect.Engine, released int64) int64 {
	from := released - int64(r.span)
	if eng != nil && r.window > 0 {
		floor := released - int64(r.maxRebuild)
		// Records are needed earlier than their events by as much as
		// the span adds to the windows (join window, lateness).
		margin := int64(r.span - r.window)
		r.since = released - int64(r.window)
		r.needs = eng.RebuildNeeds(r.since, r.needs[:0])
		clear(r.next)
		for _, n := range r.needs {
			t := n.From - margin
			if t < floor {
				r.next[n.Incident] = true
				switch {
				case r.beyond[n.Incident]:
				case n.Firing:
					r.stats.Unrebuilt.Add(1)
					r.log.Warn("an incident began before the longest rebuild: a restart will not rebuild it whole",
						"rule", n.Rule, "incident", n.Incident,
						"rebuild_from", time.Unix(0, n.From).UTC().Format(time.RFC3339), "max_rebuild", r.maxRebuild)
				default:
					// Resolved: a restart loses its cooldown, and may
					// open an incident that the cooldown keeps closed.
					r.log.Info("a resolved incident began before the longest rebuild: a restart will not keep its cooldown",
						"rule", n.Rule, "incident", n.Incident,
						"rebuild_from", time.Unix(0, n.From).UTC().Format(time.RFC3339), "max_rebuild", r.maxRebuild)
				}
				t = floor
			}
			from = min(from, t)
		}
		r.beyond, r.next = r.next, r.beyond
	}
	r.read = from
	r.stats.Rewind.Store(released - from)
	return from
}

// state returns what an engine rebuilt from the positions saved with the
// last from needs to know (detect.Engine.Rebuilding), or nil for an
// engine that keeps no incidents.
func (r *rebuilder) state() *rebuildState {
	if r.window <= 0 {
		return nil
	}
	st := &rebuildState{since: r.since, from: r.read}
	seen := make(map[uint64]bool, len(r.needs))
	for _, n := range r.needs {
		// The needs come by From: a group's first is its earliest.
		if !seen[n.Group] {
			seen[n.Group] = true
			st.needs = append(st.needs, detect.RebuildNeed{Group: n.Group, From: n.From})
		}
	}
	return st
}

// rebuildState is what a rebuilt engine is told (detect.Engine.Rebuilding):
// the time RebuildNeeds was asked about and its needs' groups and Froms,
// saved with the positions.
type rebuildState struct {
	since int64
	needs []detect.RebuildNeed
	// from is the event time a restart reads again from: the events
	// before it are missing (detect.Engine.MissingBefore).
	from int64
}

// maxSavedNeeds bounds the needs saved with a Kafka offset: the metadata
// of an offset is at most 4096 bytes by default (offset.metadata.max.bytes),
// the rest takes at most about 100 of them and a need at most 24. Beyond
// it, the state is not saved and a restart rebuilds without it, as before
// it was saved.
const maxSavedNeeds = 160

// appendState appends st to the metadata b: ";since=" and the time,
// ";from=" and the time, then ";needs=" and, base64 (URL alphabet, no
// padding), each need's group (8 bytes, little-endian) and since less its
// From (varint). It appends nothing for a nil st or one with too many
// needs.
func appendState(b []byte, st *rebuildState) []byte {
	if st == nil || len(st.needs) > maxSavedNeeds {
		return b
	}
	var raw []byte
	for _, n := range st.needs {
		raw = binary.LittleEndian.AppendUint64(raw, n.Group)
		raw = binary.AppendVarint(raw, st.since-n.From)
	}
	b = append(b, ";since="...)
	b = strconv.AppendInt(b, st.since, 10)
	b = append(b, ";from="...)
	b = strconv.AppendInt(b, st.from, 10)
	b = append(b, ";needs="...)
	return base64.RawURLEncoding.AppendEncode(b, raw)
}

// parseState reads what appendState wrote after the rewind; nil if
// nothing (or anything malformed) is there.
func parseState(s string) *rebuildState {
	since, ok := strings.CutPrefix(s, ";since=")
	if !ok {
		return nil
	}
	since, from, ok := strings.Cut(since, ";from=")
	if !ok {
		return nil
	}
	from, needs, ok := strings.Cut(from, ";needs=")
	if !ok {
		return nil
	}
	st := &rebuildState{}
	var err error
	if st.since, err = strconv.ParseInt(since, 10, 64); err != nil {
		return nil
	}
	if st.from, err = strconv.ParseInt(from, 10, 64); err != nil {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(needs)
	if err != nil {
		return nil
	}
	for len(raw) > 0 {
		if len(raw) < 8 {
			return nil
		}
		g := binary.LittleEndian.Uint64(raw)
		d, n := binary.Varint(raw[8:])
		if n <= 0 {
			return nil
		}
		st.needs = append(st.needs, detect.RebuildNeed{Group: g, From: st.since - d})
		raw = raw[8+n:]
	}
	return st
}
