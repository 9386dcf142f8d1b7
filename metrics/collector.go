package metrics

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(Namespace+"_"+name, help, labels, nil)
}

var (
	sourceLabels = []string{"source", "kind", "format"}
	sinkLabels   = []string{"sink", "type"}
	partLabels   = []string{"topic", "partition"}

	linesRead     = desc("lines_read_total", "Lines read from a source, including rejected ones.", sourceLabels...)
	linesParsed   = desc("lines_parsed_total", "Lines that became records.", sourceLabels...)
	linesIgnored  = desc("lines_ignored_total", "Well-formed lines of no interest (not an authentication line, say).", sourceLabels...)
	linesRejected = desc("lines_rejected_total", "Lines rejected: they did not parse (including over-long ones), or their record was a time outlier (see lines_dropped_total).", sourceLabels...)
	linesTooLong  = desc("lines_too_long_total", "Lines over the length cap, skipped (also counted as rejected).", sourceLabels...)
	linesDropped  = desc("lines_dropped_total", "Lines counted in lines_parsed_total whose record was dropped afterwards, by reason: time_outlier (a time far ahead of its source's records; also counted in lines_rejected_total), full_parse (a line skimmed lazily that its full parse then rejected or ignored; also counted in lines_rejected_total or lines_ignored_total). lines_read_total = lines_parsed_total + lines_ignored_total + lines_rejected_total - lines_dropped_total.", append(sourceLabels, "reason")...)
	linesFlagged  = desc("lines_flagged_total", "Lines a parser flagged, by reason: ambiguous (django-axes: username or address left empty, a repeated key making it ambiguous), masked (django-axes: a masked value left empty), cert_header_ignored (traefik: a client certificate header ignored, sent by the client), split_unjoined (a split line whose parts were dropped unjoined), split_headless (the end of a split line whose head was dropped, rejected), several_self (alb: several Self fields in trace_id, no request id). Also counted in the other lines_ counters.", append(sourceLabels, "reason")...)
	linesReread   = desc("lines_reread_total", "Lines a streaming server read again to rebuild its state after a restart, a partition rebalance or a rule reload: counted when first read, they are not counted again in the other lines_* counters.", sourceLabels...)
	filesDamaged  = desc("files_damaged_total", "Files whose data ends early at damage (compressed data cut short, corrupt or failing its checksum): their lines before it are read and counted, those after it are lost.", sourceLabels...)
	linesSkimmed  = desc("lines_skimmed_total", "Of the lines parsed, those read only as far as telling they are not logins (time, request, request id): their other values were not checked.", sourceLabels...)

	joinOutcomes = desc("join_outcomes_total", "Records by join outcome: matched (app record joined to its proxy record), app_only, proxy_only (login request with no app record), duplicate (request id already waiting), evicted (pushed out of a full buffer), unrelated (proxy record not on a login path).", "outcome")
	joinPending  = desc("join_pending_records", "Records waiting for their partner now, both sides.")
	joinHeld     = desc("join_held_records", "Proxy records held for app records that may come after them: those that joined one, for the other attempts of their request, and POSTs off the login paths.")
	joinLate     = desc("join_late_partners_total", "Records that came after their partner had expired unmatched, by the kind of the late record: app (its proxy record was proxy_only) or proxy (its app record was app_only). Many mean the two logs' times are in different zones.", "kind")
	joinLateGap  = desc("join_late_partner_gap_seconds", "Median gap between the last late records of a kind and their partners (the late record's event time less the partner's), in the engine in use.", "kind")

	eventsTotal    = desc("events_total", "Authentication events built by the correlator and evaluated by the rules.")
	eventsLate     = desc("events_late_total", "Events older than their group's window, not counted.")
	eventsDropped  = desc("window_events_dropped_total", "Events dropped from full group windows.")
	groupsEvicted  = desc("window_groups_evicted_total", "Groups evicted because a rule held its maximum number of groups or events (idle groups forgotten are not counted).")
	windowGroups   = desc("window_groups", "Groups (identities, subnets, ...) a rule holds in its windows now.", "rule")
	ruleMatches    = desc("rule_matches_total", "Events that passed a rule's filter and were added to its windows.", "rule", "severity")
	ruleSuppressed = desc("rule_suppressed_events_total", "Matching events silenced by a rule's suppression (allowlist) entries.", "rule")
	alertRecords   = desc("alert_records_total", "Alert records written (firing, updated and resolved).", "rule", "severity")
	incidentsOpen  = desc("incidents_open", "Incidents firing now.")
	incidentsQuiet = desc("incidents_cooldown_suppressed_total", "Incidents not opened because their group was in its cooldown.")
	watermark      = desc("event_time_watermark_seconds", "Newest event time the engine has seen, Unix seconds.")
	eventTimeLag   = desc("event_time_lag_seconds", "Wall-clock time minus the event-time watermark: how far behind real time detection is.")
	sinkDelivered  = desc("sink_delivered_total", "Alerts delivered by a sink.", sinkLabels...)
	sinkFailures   = desc("sink_failures_total", "Failed delivery attempts of a sink.", sinkLabels...)
	sinkRetries    = desc("sink_retries_total", "Delivery attempts made after a failure.", sinkLabels...)
	sinkResent     = desc("sink_resent_total", "Alerts a sink posted again to keep them active at their destination (Alertmanager's periodic re-sends of firing incidents), successfully; not counted as delivered. Failed re-sends count in sink_failures_total.", sinkLabels...)
	sinkDropped    = desc("sink_dropped_total", "Alerts a sink gave up on (queue or spool full, attempts exhausted).", sinkLabels...)
	sinkQueue      = desc("sink_queue_depth", "Alerts accepted by a sink and not yet delivered.", sinkLabels...)
	sinkSpool      = desc("sink_spool_bytes", "Bytes held in a sink's on-disk spool.", sinkLabels...)
	kafkaLag       = desc("kafka_consumer_lag", "Messages between the consumer's position and the partition's high watermark.", partLabels...)
	kafkaCommitted = desc("kafka_committed_offset", "The consumer group's committed offset of a partition.", partLabels...)
	streamLate     = desc("stream_records_late_total", "Records older than what the engine had already seen when released (a source far behind the others).")
	streamForced   = desc("stream_records_forced_total", "Records released before the lateness had passed because the reorder buffer was full.")
	streamBuffered = desc("stream_reorder_buffered_records", "Records waiting in the reorder buffer now.")
	streamMuted    = desc("stream_muted_total", "Alerts (or joined events) not sent while the state was rebuilt after a restart, rebalance or rule reload: they went out before.")
	streamRebuilds = desc("stream_rebuilds_total", "State rebuilds: start, partition rebalance, rule reload.")
	streamUnbuilt  = desc("stream_incidents_unrebuilt_total", "Incidents firing found, when committing, to have begun further back than a restart reads again (--max-rebuild): a restart would open them again under a new id.")
	streamRewind   = desc("stream_rewind_seconds", "Event time before the newest record processed that a restart reads again, as of the last commit.")
	streamCommits  = desc("stream_commits_total", "Positions saved: Kafka offset commits, or follow-mode state files.")
	streamErrors   = desc("stream_errors_total", "Failed operations of a streaming server, by operation: commit, fetch, publish.", "op")
	streamPublish  = desc("stream_events_published_total", "Joined events written to the events topic (correlate role).")
	followOpened   = desc("follow_files_opened_total", "Files a followed source opened: at its start, as they appeared (rotation, new files matching its paths), and again after a rule reload.", sourceLabels...)
	followResumed  = desc("follow_files_resumed_total", "Files opened at a saved position (after a restart or a rule reload) rather than at their beginning or end.", sourceLabels...)
	followRotated  = desc("follow_files_rotated_total", "Files renamed away or removed, read to their end and closed.", sourceLabels...)
	followTrunc    = desc("follow_files_truncated_total", "Truncations seen of followed files (copytruncate): reading started again at the beginning.", sourceLabels...)
	followSkipped  = desc("follow_files_skipped_total", "Files matching a followed source's paths that were not read: compressed.", sourceLabels...)
	followLost     = desc("follow_files_lost_total", "Files with a saved position that were gone (deleted, moved out of their directory, compressed, or rewritten) when a start or a rebuild looked for them: their lines from the position on were not read again.", sourceLabels...)
	followCopies   = desc("follow_copies_total", "New files recognised as copies of a file read before (copytruncate): read only beyond what was read of the file copied.", sourceLabels...)
	followCopied   = desc("follow_copy_skipped_bytes_total", "Bytes of the copies recognised that were not read, as they were read from the file copied.", sourceLabels...)
	followWrites   = desc("follow_state_writes_total", "Writes of a followed source's state file (its saved positions).", sourceLabels...)
	topIdentity    = desc("top_identity_failed_usernames", "The identities ranking highest on the top rule (default: distinct usernames that failed and did not log in within the rule's window), at most K series.", "rule", "identity", "subject")
	topRefreshed   = desc("top_identity_refresh_timestamp_seconds", "When the top-identities ranking was last computed, Unix seconds.")
	windowEntries  = desc("window_entries", "Entries the windows of a rule hold (events; distinct values for long windows), as of the last top-identities refresh: what the windows' memory grows with.", "rule")
	allDescs       = []*prometheus.Desc{linesRead, linesParsed, linesIgnored, linesRejected, linesTooLong, linesSkimmed, linesDropped, linesFlagged, linesReread, filesDamaged, joinOutcomes, joinPending, joinHeld, joinLate, joinLateGap, eventsTotal, eventsLate, eventsDropped, groupsEvicted, windowGroups, ruleMatches, ruleSuppressed, alertRecords, incidentsOpen, incidentsQuiet, watermark, eventTimeLag, sinkDelivered, sinkFailures, sinkRetries, sinkResent, sinkDropped, sinkQueue, sinkSpool, kafkaLag, kafkaCommitted, streamLate, streamForced, streamBuffered, streamMuted, streamRebuilds, streamUnbuilt, streamRewind, streamCommits, streamErrors, streamPublish, followOpened, followResumed, followRotated, followTrunc, followSkipped, followLost, followCopies, followCopied, followWrites, topIdentity, topRefreshed, windowEntries}
)

// collector reads the atomic counters at scrape time.
type collector struct {
	c   Config
	top *TopK
}

func newCollector(c Config, top *TopK) *collector { return &collector{c: c, top: top} }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	now := c.c.Now()
	c.sources(ch)
	c.engine(ch, now)
	c.sinks(ch)
	c.kafka(ch)
	c.stream(ch)
	c.files(ch)
	c.topIdentities(ch, now)
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func (c *collector) sources(ch chan<- prometheus.Metric) {
	if c.c.Sources == nil {
		return
	}
	// The files of one configured source (a glob's, in a replay) carry
	// the same labels, as may two sources (one file given twice): their
	// counts are added, as one series may appear only once.
	type key struct{ name, kind, format string }
	type counts struct {
		read, parsed, ignored, rejected, long, skimmed, outliers, incomplete, reread, damaged int64
		flagged                                                                               [ingest.NumFlags]int64
	}
	var sum sums[key, counts]
	for _, s := range c.c.Sources() {
		if s == nil {
			continue
		}
		name := s.Source
		if name == "" {
			name = s.Name
		}
		n := sum.of(key{strings.TrimSpace(name), s.Kind.String(), s.Format})
		n.read += s.Lines.Load()
		n.parsed += s.Parsed.Load()
		n.ignored += s.Ignored.Load()
		n.rejected += s.Rejected.Load()
		n.long += s.TooLong.Load()
		n.skimmed += s.Skimmed.Load()
		n.outliers += s.Outliers.Load()
		n.incomplete += s.Incomplete.Load()
		n.reread += s.Reread.Load()
		n.damaged += s.Damaged.Load()
		for f := range ingest.NumFlags {
			n.flagged[f] += s.Flagged.Load(f)
		}
	}
	for _, k := range sum.keys {
		n := sum.m[k]
		counter(ch, linesRead, float64(n.read), k.name, k.kind, k.format)
		counter(ch, linesParsed, float64(n.parsed), k.name, k.kind, k.format)
		counter(ch, linesIgnored, float64(n.ignored), k.name, k.kind, k.format)
		counter(ch, linesRejected, float64(n.rejected), k.name, k.kind, k.format)
		counter(ch, linesTooLong, float64(n.long), k.name, k.kind, k.format)
		counter(ch, linesSkimmed, float64(n.skimmed), k.name, k.kind, k.format)
		counter(ch, linesDropped, float64(n.outliers), k.name, k.kind, k.format, "time_outlier")
		counter(ch, linesDropped, float64(n.incomplete), k.name, k.kind, k.format, "full_parse")
		counter(ch, linesReread, float64(n.reread), k.name, k.kind, k.format)
		counter(ch, filesDamaged, float64(n.damaged), k.name, k.kind, k.format)
		for f := range ingest.NumFlags {
			counter(ch, linesFlagged, float64(n.flagged[f]), k.name, k.kind, k.format, f.String())
		}
	}
}

func (c *collector) engine(ch chan<- prometheus.Metric, now time.Time) {
	var e *detect.Engine
	if c.c.Engine != nil {
		e = c.c.Engine()
	}
	var n detect.Counts
	switch {
	case c.c.Counts != nil:
		n = c.c.Counts()
	case e != nil:
		n = e.Counts()
	default:
		return
	}
	for _, o := range []struct {
		name string
		v    int64
	}{
		{"matched", n.Join.Matched},
		{"app_only", n.Join.AppOnly},
		{"proxy_only", n.Join.ProxyOnly},
		{"duplicate", n.Join.Duplicates},
		{"evicted", n.Join.Evicted},
		{"unrelated", n.Join.Unrelated},
	} {
		counter(ch, joinOutcomes, float64(o.v), o.name)
	}
	counter(ch, joinLate, float64(n.Join.LateApp), "app")
	counter(ch, joinLate, float64(n.Join.LateProxy), "proxy")
	counter(ch, eventsTotal, float64(n.Events))
	counter(ch, eventsLate, float64(n.Late))
	counter(ch, eventsDropped, float64(n.EventsDropped))
	counter(ch, groupsEvicted, float64(n.GroupsEvicted))
	counter(ch, incidentsQuiet, float64(n.Suppressed))
	// A rule may come with several severities over reloads: its
	// suppressed events, labelled by rule alone, are added up.
	type ruleKey struct{ rule, severity string }
	seen := map[ruleKey]bool{}
	var suppressed sums[string, int64]
	for _, r := range n.Rules {
		k := ruleKey{r.Rule, r.Severity}
		if seen[k] {
			continue // never emit a series twice
		}
		seen[k] = true
		counter(ch, ruleMatches, float64(r.Matched), r.Rule, r.Severity)
		counter(ch, alertRecords, float64(r.Alerts), r.Rule, r.Severity)
		*suppressed.of(r.Rule) += r.Suppressed
	}
	for _, rule := range suppressed.keys {
		counter(ch, ruleSuppressed, float64(*suppressed.m[rule]), rule)
	}
	if e == nil {
		return
	}
	j := e.JoinStats()
	gauge(ch, joinPending, float64(j.Pending.Load()))
	gauge(ch, joinHeld, float64(j.Held.Load()))
	if j.LateApp.Load() > 0 {
		gauge(ch, joinLateGap, j.LateGap(event.App).Seconds(), "app")
	}
	if j.LateProxy.Load() > 0 {
		gauge(ch, joinLateGap, j.LateGap(event.Proxy).Seconds(), "proxy")
	}
	s := e.Stats()
	gauge(ch, incidentsOpen, float64(s.Open.Load()))
	if wm := s.Watermark.Load(); wm > 0 {
		gauge(ch, watermark, float64(wm)/1e9)
		gauge(ch, eventTimeLag, float64(now.UnixNano()-wm)/1e9)
	}
	held := map[string]bool{}
	for _, r := range e.RuleStats() {
		if held[r.Rule] {
			continue // rule ids are unique in a loaded set; never emit a series twice
		}
		held[r.Rule] = true
		gauge(ch, windowGroups, float64(r.Groups.Load()), r.Rule)
	}
}

func (c *collector) sinks(ch chan<- prometheus.Metric) {
	if c.c.Sinks == nil {
		return
	}
	type key struct{ name, typ string }
	type counts struct {
		delivered, failures, retries, resent, dropped uint64
		queue, spool                                  int64
	}
	var sum sums[key, counts]
	for _, s := range c.c.Sinks() {
		if s == nil {
			continue
		}
		k := key{s.Name, s.Type}
		if k.name == "" {
			k.name = k.typ // an unnamed sink (replay's stdout) goes by its type
		}
		n := sum.of(k)
		n.delivered += s.Delivered.Load()
		n.failures += s.Failures.Load()
		n.retries += s.Retries.Load()
		n.resent += s.Resent.Load()
		n.dropped += s.Dropped.Load()
		n.queue += s.QueueDepth.Load()
		n.spool += s.SpoolBytes.Load()
	}
	for _, k := range sum.keys {
		n := sum.m[k]
		counter(ch, sinkDelivered, float64(n.delivered), k.name, k.typ)
		counter(ch, sinkFailures, float64(n.failures), k.name, k.typ)
		counter(ch, sinkRetries, float64(n.retries), k.name, k.typ)
		counter(ch, sinkResent, float64(n.resent), k.name, k.typ)
		counter(ch, sinkDropped, float64(n.dropped), k.name, k.typ)
		gauge(ch, sinkQueue, float64(n.queue), k.name, k.typ)
		gauge(ch, sinkSpool, float64(n.spool), k.name, k.typ)
	}
}

func (c *collector) kafka(ch chan<- prometheus.Metric) {
	if c.c.Kafka == nil {
		return
	}
	type key struct {
		topic string
		part  int
	}
	seen := map[key]bool{}
	for _, p := range c.c.Kafka.Partitions() {
		k := key{p.Topic, p.Partition}
		if seen[k] {
			continue
		}
		seen[k] = true
		part := strconv.Itoa(p.Partition)
		if p.Lag >= 0 {
			gauge(ch, kafkaLag, float64(p.Lag), p.Topic, part)
		}
		if p.Committed >= 0 {
			gauge(ch, kafkaCommitted, float64(p.Committed), p.Topic, part)
		}
	}
}

func (c *collector) stream(ch chan<- prometheus.Metric) {
	if c.c.Stream == nil {
		return
	}
	s := c.c.Stream.Stream()
	counter(ch, streamLate, float64(s.Late))
	counter(ch, streamForced, float64(s.Forced))
	gauge(ch, streamBuffered, float64(s.Buffered))
	counter(ch, streamMuted, float64(s.Muted))
	counter(ch, streamRebuilds, float64(s.Rebuilds))
	counter(ch, streamUnbuilt, float64(s.Unrebuilt))
	gauge(ch, streamRewind, s.Rewind.Seconds())
	counter(ch, streamCommits, float64(s.Commits))
	counter(ch, streamErrors, float64(s.CommitErrs), "commit")
	counter(ch, streamErrors, float64(s.FetchErrs), "fetch")
	counter(ch, streamErrors, float64(s.PublishErrs), "publish")
	counter(ch, streamPublish, float64(s.Published))
}

func (c *collector) files(ch chan<- prometheus.Metric) {
	if c.c.Files == nil {
		return
	}
	type key struct{ name, kind, format string }
	var sum sums[key, FileStats]
	for _, f := range c.c.Files() {
		n := sum.of(key{strings.TrimSpace(f.Source), f.Kind, f.Format})
		n.Opened += f.Opened
		n.Resumed += f.Resumed
		n.Rotated += f.Rotated
		n.Truncated += f.Truncated
		n.Skipped += f.Skipped
		n.Lost += f.Lost
		n.Copies += f.Copies
		n.CopiedBytes += f.CopiedBytes
		n.StateWrites += f.StateWrites
	}
	for _, k := range sum.keys {
		n := sum.m[k]
		for _, v := range []struct {
			d *prometheus.Desc
			v int64
		}{
			{followOpened, n.Opened},
			{followResumed, n.Resumed},
			{followRotated, n.Rotated},
			{followTrunc, n.Truncated},
			{followSkipped, n.Skipped},
			{followLost, n.Lost},
			{followCopies, n.Copies},
			{followCopied, n.CopiedBytes},
			{followWrites, n.StateWrites},
		} {
			counter(ch, v.d, float64(v.v), k.name, k.kind, k.format)
		}
	}
}

func (c *collector) topIdentities(ch chan<- prometheus.Metric, now time.Time) {
	t := c.top
	t.request(now)
	rows, entries := t.snapshot()
	for _, e := range entries {
		gauge(ch, windowEntries, float64(e.n), e.rule)
	}
	if last := t.last.Load(); last > 0 {
		gauge(ch, topRefreshed, float64(last)/1e9)
	}
	seen := make(map[string]bool, len(rows))
	for _, r := range rows {
		if seen[r.identity] {
			continue
		}
		seen[r.identity] = true
		gauge(ch, topIdentity, r.value, t.rule, r.identity, r.subject)
	}
}

// SinkStats returns the counters of the sinks that keep them: a fanout's
// sinks, or the sink itself.
func SinkStats(s alert.Sink) []*alert.SinkStats {
	switch s := s.(type) {
	case *alert.Fanout:
		return s.Stats()
	case alert.StatsSink:
		return []*alert.SinkStats{s.Stats()}
	}
	return nil
}

// SourceStats returns the counters of the sources.
func SourceStats(sources []ingest.Source) []*ingest.Stats {
	out := make([]*ingest.Stats, len(sources))
	for i, s := range sources {
		out[i] = s.Stats()
	}
	return out
}

// sums adds counts V up by key K, keeping the keys in the order first
// seen, so that the series of several sources or sinks with one key come
// out once, summed, and in a stable order.
type sums[K comparable, V any] struct {
	keys []K
	m    map[K]*V
}

// of returns the sum of k, zero the first time.
func (s *sums[K, V]) of(k K) *V {
	v := s.m[k]
	if v == nil {
		if s.m == nil {
			s.m = map[K]*V{}
		}
		v = new(V)
		s.m[k] = v
		s.keys = append(s.keys, k)
	}
	return v
}
