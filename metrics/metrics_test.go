package metrics

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/rules"
)

// series returns the gathered series of one metric as label strings
// ("a=x,b=y") mapped to their values.
func series(t *testing.T, g prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gathering: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			out[strings.Join(ls, ",")] = value(mf, m)
		}
	}
	return out
}

func value(mf *dto.MetricFamily, m *dto.Metric) float64 {
	switch mf.GetType() {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	case dto.MetricType_HISTOGRAM:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return m.GetUntyped().GetValue()
}

func TestCollectorOverSamples(t *testing.T) {
	c := campaign(t, "fast_spray-1")
	r, m := replayed(context.Background(), t, c.End)
	reg := m.Registry()

	read := series(t, reg, "spraywatch_lines_read_total")
	rejected := series(t, reg, "spraywatch_lines_rejected_total")
	if len(read) != len(r.sources) {
		t.Fatalf("lines_read_total has %d series, want one per source (%d): %v", len(read), len(r.sources), read)
	}
	for _, s := range r.sources {
		st := s.Stats()
		k := fmt.Sprintf("format=%s,kind=%s,source=%s", st.Format, st.Kind, st.Name)
		if got, want := read[k], float64(st.Lines.Load()); got != want || want == 0 {
			t.Errorf("lines_read_total{%s} = %v, want %v (non-zero)", k, got, want)
		}
		if got, want := rejected[k], float64(st.Rejected.Load()); got != want {
			t.Errorf("lines_rejected_total{%s} = %v, want %v", k, got, want)
		}
	}

	join := series(t, reg, "spraywatch_join_outcomes_total")
	j := r.engine.JoinStats()
	if join["outcome=matched"] != float64(j.Matched.Load()) || j.Matched.Load() == 0 {
		t.Errorf("join matched = %v, engine says %d", join["outcome=matched"], j.Matched.Load())
	}
	if len(join) != 6 {
		t.Errorf("join outcomes: %v", join)
	}

	alerts := series(t, reg, "spraywatch_alert_records_total")
	if alerts["rule=cert-identity-spray,severity=high"] < 1 {
		t.Errorf("no alert record for cert-identity-spray while %s was running: %v", c.ID, alerts)
	}
	var total float64
	for _, v := range alerts {
		total += v
	}
	if total != float64(r.engine.Stats().Alerts.Load()) {
		t.Errorf("alert records by rule add up to %v, engine wrote %d", total, r.engine.Stats().Alerts.Load())
	}
	if got := series(t, reg, "spraywatch_sink_delivered_total"); got["sink=stdout,type=stdout"] != total || len(got) != 1 {
		t.Errorf("sink deliveries %v, want stdout = %v", got, total)
	}

	wm := series(t, reg, "spraywatch_event_time_watermark_seconds")[""]
	if wm <= float64(c.Start.Unix()) || wm > float64(c.End.Unix())+1 {
		t.Errorf("watermark %v not within the campaign (%v - %v)", wm, c.Start, c.End)
	}
	if lag := series(t, reg, "spraywatch_event_time_lag_seconds")[""]; lag < float64(time.Since(c.End)/time.Second)-5 {
		t.Errorf("event-time lag %v, want about %v", lag, time.Since(c.End))
	}
	if n := series(t, reg, "spraywatch_build_info"); len(n) != 1 {
		t.Errorf("build_info: %v", n)
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "spraywatch_window_groups", "spraywatch_join_pending_records", "spraywatch_join_held_records"} {
		if len(series(t, reg, name)) == 0 {
			t.Errorf("%s missing", name)
		}
	}

	// Top identities: the campaign's certificate leads while it sprays.
	if got := series(t, reg, "spraywatch_top_identity_failed_usernames"); len(got) != 0 {
		t.Errorf("top identities before any refresh: %v", got)
	}
	m.TopK().Refresh(r.engine)
	top, ok := r.engine.TopGroups(DefaultTopRule, 1, nil)
	if !ok || len(top) != 1 || top[0].Identity == nil {
		t.Fatalf("TopGroups = %+v, %v", top, ok)
	}
	if !strings.EqualFold(strings.ReplaceAll(top[0].Identity.SHA1, ":", ""), c.Identities[0]) {
		t.Errorf("top identity's SHA-1 %q, want the campaign's %s", top[0].Identity.SHA1, c.Identities[0])
	}
	if top[0].Value < 10 || top[0].Value > float64(len(c.Users)) {
		t.Errorf("top identity's distinct failed usernames %v, want between the threshold 10 and the %d users tried", top[0].Value, len(c.Users))
	}
	got := series(t, reg, "spraywatch_top_identity_failed_usernames")
	key := fmt.Sprintf("identity=%s,rule=%s,subject=%s", top[0].Values[0], DefaultTopRule, top[0].Identity.Subject)
	if got[key] != top[0].Value {
		t.Errorf("top identities %v, want %s = %v", got, key, top[0].Value)
	}
	for _, v := range got {
		if v > top[0].Value {
			t.Errorf("series %v above the top group's %v", got, top[0].Value)
		}
	}
}

// failures feeds the engine n failed logins of distinct usernames from one
// identity at time at.
func failures(t testing.TB, e *detect.Engine, id string, n int, at int64) {
	t.Helper()
	var ev event.Event
	for i := range n {
		ev = event.Event{Time: at + int64(i)}
		ev.Values[event.Identity] = id
		ev.Values[event.TLSSubject] = "CN=" + id
		ev.Values[event.UserName] = fmt.Sprintf("user%03d", i)
		ev.Values[event.Outcome] = event.OutcomeFailure
		if err := e.AddEvent(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTopKSeriesBounded(t *testing.T) {
	const identities = 10_000
	for _, k := range []int{1, DefaultTopK} {
		t.Run(fmt.Sprint("k=", k), func(t *testing.T) {
			e := defaultEngine(t)
			m, err := New(Config{Engine: func() *detect.Engine { return e }, TopK: k})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int{}
			base := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC).UnixNano()
			for i := range identities {
				id := fmt.Sprintf("id%05d", i)
				n := 1 + (i*7919)%17 // 1..17 usernames, well spread
				failures(t, e, id, n, base+int64(i)*int64(time.Millisecond))
				want[id] = n
				if i%500 == 499 {
					m.TopK().Refresh(e)
					if got := series(t, m.Registry(), "spraywatch_top_identity_failed_usernames"); len(got) > k {
						t.Fatalf("after %d identities: %d series, K is %d", i+1, len(got), k)
					}
				}
			}
			m.TopK().Refresh(e)
			fed := 0
			for _, n := range want {
				fed += n
			}
			if held := series(t, m.Registry(), "spraywatch_window_entries")["rule="+DefaultTopRule]; held != float64(fed) {
				t.Errorf("window entries of %s = %v, want the %d events fed within its window", DefaultTopRule, held, fed)
			}
			got := series(t, m.Registry(), "spraywatch_top_identity_failed_usernames")
			if len(got) != k {
				t.Fatalf("%d series, want K=%d", len(got), k)
			}
			// The series are the K identities with the most usernames.
			ids := make([]string, 0, len(want))
			for id := range want {
				ids = append(ids, id)
			}
			sort.Slice(ids, func(a, b int) bool {
				if want[ids[a]] != want[ids[b]] {
					return want[ids[a]] > want[ids[b]]
				}
				return ids[a] < ids[b]
			})
			for _, id := range ids[:k] {
				key := fmt.Sprintf("identity=%s,rule=%s,subject=CN=%s", id, DefaultTopRule, id)
				if got[key] != float64(want[id]) {
					t.Errorf("%s = %v, want %d (series %v)", id, got[key], want[id], got)
				}
			}

			// Ten minutes later (event time) only new identities count:
			// the old ones' series are gone, not left at their last value.
			later := base + int64(time.Hour)
			failures(t, e, "late-a", 3, later)
			failures(t, e, "late-b", 2, later+int64(time.Second))
			m.TopK().Refresh(e)
			got = series(t, m.Registry(), "spraywatch_top_identity_failed_usernames")
			wantLate := map[string]float64{
				"identity=late-a,rule=cert-identity-spray,subject=CN=late-a": 3,
				"identity=late-b,rule=cert-identity-spray,subject=CN=late-b": 2,
			}
			if k == 1 {
				delete(wantLate, "identity=late-b,rule=cert-identity-spray,subject=CN=late-b")
			}
			if fmt.Sprint(got) != fmt.Sprint(wantLate) {
				t.Errorf("an hour later: %v, want %v", got, wantLate)
			}
		})
	}
}

// TestTopKCountsOnlyTheWindow checks that events that left the window
// since the group was last evaluated do not count.
func TestTopKCountsOnlyTheWindow(t *testing.T) {
	e := defaultEngine(t)
	base := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC).UnixNano()
	failures(t, e, "old", 8, base)                         // window 12:00-12:10
	failures(t, e, "new", 4, base+int64(6*time.Minute))    // still inside at 12:14
	failures(t, e, "other", 1, base+int64(14*time.Minute)) // moves the watermark
	top, ok := e.TopGroups(DefaultTopRule, 10, nil)
	if !ok {
		t.Fatal("default rule not found")
	}
	var got []string
	for _, g := range top {
		got = append(got, fmt.Sprintf("%s=%v", g.Values[0], g.Value))
	}
	if want := "[new=4 other=1]"; fmt.Sprint(got) != want {
		t.Errorf("top groups at 12:14 = %v, want %s", got, want)
	}
	if _, ok := e.TopGroups("no-such-rule", 10, nil); ok {
		t.Error("TopGroups found a rule that does not exist")
	}
}

func TestTickRefreshesOnlyWhenScraped(t *testing.T) {
	e := defaultEngine(t)
	m, err := New(Config{Engine: func() *detect.Engine { return e }, TopInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC).UnixNano()
	failures(t, e, "a", 5, base)
	m.TopK().Tick(e)
	if got := series(t, m.Registry(), "spraywatch_top_identity_failed_usernames"); len(got) != 0 {
		t.Fatalf("refreshed without a scrape: %v", got)
	}
	// That scrape asked for a refresh; the next tick does it.
	m.TopK().Tick(e)
	if got := series(t, m.Registry(), "spraywatch_top_identity_failed_usernames"); len(got) != 1 {
		t.Fatalf("after a scrape and a tick: %v", got)
	}
	// Within the interval, a scrape asks for nothing more.
	failures(t, e, "b", 7, base+1000)
	m.TopK().Tick(e)
	if got := series(t, m.Registry(), "spraywatch_top_identity_failed_usernames"); len(got) != 1 {
		t.Fatalf("refreshed again within the interval: %v", got)
	}
	m.TopK().Tick(e)
	if got := series(t, m.Registry(), "spraywatch_top_identity_failed_usernames"); len(got) != 1 {
		t.Fatalf("refreshed again within the interval: %v", got)
	}
}

type partitions []PartitionStats

func (p partitions) Partitions() []PartitionStats { return p }

func TestKafkaAndLatency(t *testing.T) {
	m, err := New(Config{Kafka: partitions{
		{Topic: "proxy", Partition: 0, Committed: 120, Lag: 5},
		{Topic: "proxy", Partition: 1, Committed: -1, Lag: 9},
	}})
	if err != nil {
		t.Fatal(err)
	}
	lag := series(t, m.Registry(), "spraywatch_kafka_consumer_lag")
	if lag["partition=0,topic=proxy"] != 5 || lag["partition=1,topic=proxy"] != 9 || len(lag) != 2 {
		t.Errorf("lag %v", lag)
	}
	com := series(t, m.Registry(), "spraywatch_kafka_committed_offset")
	if com["partition=0,topic=proxy"] != 120 || len(com) != 1 {
		t.Errorf("committed %v (nothing committed on partition 1)", com)
	}
	m.Observe(3 * time.Millisecond)
	m.Observe(2 * time.Second)
	if got := series(t, m.Registry(), "spraywatch_processing_latency_seconds")[""]; got != 2 {
		t.Errorf("latency observations %v, want 2", got)
	}
}

type stream Stream

func (s stream) Stream() Stream { return Stream(s) }

func TestStream(t *testing.T) {
	m, err := New(Config{Stream: stream{
		Late: 1, Forced: 2, Buffered: 3, Muted: 4, Rebuilds: 5, Unrebuilt: 6,
		Rewind: 90 * time.Minute, Commits: 7, CommitErrs: 8, FetchErrs: 9, Published: 10, PublishErrs: 11,
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want map[string]float64
	}{
		{"spraywatch_stream_records_late_total", map[string]float64{"": 1}},
		{"spraywatch_stream_records_forced_total", map[string]float64{"": 2}},
		{"spraywatch_stream_reorder_buffered_records", map[string]float64{"": 3}},
		{"spraywatch_stream_muted_total", map[string]float64{"": 4}},
		{"spraywatch_stream_rebuilds_total", map[string]float64{"": 5}},
		{"spraywatch_stream_incidents_unrebuilt_total", map[string]float64{"": 6}},
		{"spraywatch_stream_rewind_seconds", map[string]float64{"": 5400}},
		{"spraywatch_stream_commits_total", map[string]float64{"": 7}},
		{"spraywatch_stream_errors_total", map[string]float64{"op=commit": 8, "op=fetch": 9, "op=publish": 11}},
		{"spraywatch_stream_events_published_total", map[string]float64{"": 10}},
	} {
		if got := series(t, m.Registry(), c.name); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	// Without a streaming server (replay), no stream series.
	m, err = New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := series(t, m.Registry(), "spraywatch_stream_rebuilds_total"); len(got) != 0 {
		t.Errorf("replay has stream series %v", got)
	}
}

func TestHandler(t *testing.T) {
	c := campaign(t, "fast_spray-1")
	_, m := replayed(context.Background(), t, c.End)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for _, want := range []string{
		"# TYPE spraywatch_lines_read_total counter",
		"# TYPE spraywatch_processing_latency_seconds histogram",
		`spraywatch_join_outcomes_total{outcome="matched"}`,
		"spraywatch_build_info{",
		"go_memstats_heap_inuse_bytes",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestLinesSkimmed checks the skimmed and dropped lines' counters: one
// series per source (and reason), as the other line counters, zero for a
// source that skims or drops none.
func TestLinesSkimmed(t *testing.T) {
	proxy := &ingest.Stats{Name: "access.log", Kind: event.Proxy, Format: "nginx"}
	proxy.Lines.Store(10)
	proxy.Parsed.Store(9)
	proxy.Skimmed.Store(7)
	proxy.Rejected.Store(1)
	proxy.Outliers.Store(1)
	proxy.Incomplete.Store(2)
	app := &ingest.Stats{Name: "auth.log", Kind: event.App, Format: "django-json"}
	app.Lines.Store(4)
	app.Parsed.Store(4)
	m, err := New(Config{Sources: func() []*ingest.Stats { return []*ingest.Stats{proxy, app} }})
	if err != nil {
		t.Fatal(err)
	}
	got := series(t, m.Registry(), "spraywatch_lines_skimmed_total")
	want := map[string]float64{
		"format=nginx,kind=proxy,source=access.log":   7,
		"format=django-json,kind=app,source=auth.log": 0,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lines_skimmed_total: %v, want %v", got, want)
	}
	got = series(t, m.Registry(), "spraywatch_lines_dropped_total")
	want = map[string]float64{
		"format=nginx,kind=proxy,reason=full_parse,source=access.log":     2,
		"format=nginx,kind=proxy,reason=time_outlier,source=access.log":   1,
		"format=django-json,kind=app,reason=full_parse,source=auth.log":   0,
		"format=django-json,kind=app,reason=time_outlier,source=auth.log": 0,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lines_dropped_total: %v, want %v", got, want)
	}
}

// TestTopKPrivacy ranks a rule grouped by username: the gauge's identity
// label shows the username as the privacy mode shows it in alerts.
func TestTopKPrivacy(t *testing.T) {
	rs, err := rules.Parse("per-user.yml", []byte(`rules:
  - id: per-user
    type: count
    match: {event.outcome: failure}
    group_by: [source.ip, user.name]
    window: 10m
    threshold: 100
`))
	if err != nil {
		t.Fatal(err)
	}
	hm := alert.Privacy{Mode: alert.PrivacyHMAC, Key: []byte("key")}
	for _, tt := range []struct {
		p    alert.Privacy
		want string
	}{
		{alert.Privacy{Mode: alert.PrivacyPlain}, "192.0.2.7,kate.moreau"},
		{hm, "192.0.2.7," + hm.Username("kate.moreau")},
		{alert.Privacy{Mode: alert.PrivacyOmit}, "192.0.2.7,"},
	} {
		t.Run(tt.p.Mode, func(t *testing.T) {
			e, err := detect.NewEngine(detect.Config{Rules: rs, Sink: alert.NewWriter(nopWriteCloser{io.Discard})})
			if err != nil {
				t.Fatal(err)
			}
			m, err := New(Config{Engine: func() *detect.Engine { return e }, TopRule: "per-user", Privacy: tt.p})
			if err != nil {
				t.Fatal(err)
			}
			base := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC).UnixNano()
			for i := range 3 {
				var ev event.Event
				ev.Time = base + int64(i)
				ev.Values[event.SourceIP] = "192.0.2.7"
				ev.Values[event.UserName] = "kate.moreau"
				ev.Values[event.Outcome] = event.OutcomeFailure
				if err := e.AddEvent(context.Background(), &ev); err != nil {
					t.Fatal(err)
				}
			}
			m.TopK().Refresh(e)
			got := series(t, m.Registry(), "spraywatch_top_identity_failed_usernames")
			if key := "identity=" + tt.want + ",rule=per-user,subject="; len(got) != 1 || got[key] != 3 {
				t.Errorf("series %v, want %s = 3", got, key)
			}
			// The engine's group keeps its values.
			top, _ := e.TopGroups("per-user", 1, nil)
			if len(top) != 1 || strings.Join(top[0].Values, ",") != "192.0.2.7,kate.moreau" {
				t.Errorf("the group's values changed: %+v", top)
			}
		})
	}
}

// TestBuildInfoCommand checks build_info's command label, which tells a
// replay from serve in the alerting rules.
func TestBuildInfoCommand(t *testing.T) {
	for _, tt := range []struct {
		command string
		want    string // the label, "" when absent
	}{
		{"", ""},
		{"serve", "command=serve"},
		{"replay", "command=replay"},
	} {
		t.Run(tt.command, func(t *testing.T) {
			m, err := New(Config{Command: tt.command, Version: "v1"})
			if err != nil {
				t.Fatal(err)
			}
			got := series(t, m.Registry(), "spraywatch_build_info")
			if len(got) != 1 {
				t.Fatalf("build_info: %v", got)
			}
			for labels := range got {
				has := strings.Contains(labels, "command=")
				if tt.want == "" && has || tt.want != "" && !strings.Contains(labels, tt.want) {
					t.Errorf("build_info labels %s, want %q", labels, tt.want)
				}
			}
		})
	}
}

// TestSourceSeriesPerConfiguredSource checks that a replay's series are
// bounded by its configured sources, not by the files their globs match:
// the counts of every file of a source are added up under its label.
func TestSourceSeriesPerConfiguredSource(t *testing.T) {
	tests := []struct {
		name  string
		files int
		label func(i int) string // the Source of file i
		want  map[string]float64 // lines read by series
	}{
		{"200 rotated files of one source", 200, func(int) string { return "proxy" },
			map[string]float64{"format=nginx,kind=proxy,source=proxy": 200 * 3}},
		{"two named sources", 4, func(i int) string { return []string{"edge", "lb"}[i%2] },
			map[string]float64{"format=nginx,kind=proxy,source=edge": 2 * 3, "format=nginx,kind=proxy,source=lb": 2 * 3}},
		{"no source: by file", 2, func(int) string { return "" },
			map[string]float64{"format=nginx,kind=proxy,source=access.log.0": 3, "format=nginx,kind=proxy,source=access.log.1": 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stats []*ingest.Stats
			for i := range tt.files {
				s := &ingest.Stats{Name: fmt.Sprintf("access.log.%d", i), Source: tt.label(i), Kind: event.Proxy, Format: "nginx"}
				s.Lines.Store(3)
				s.Parsed.Store(3)
				stats = append(stats, s)
			}
			m, err := New(Config{Sources: func() []*ingest.Stats { return stats }})
			if err != nil {
				t.Fatal(err)
			}
			if got := series(t, m.Registry(), "spraywatch_lines_read_total"); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("lines_read_total %v, want %v", got, tt.want)
			}
			if got := series(t, m.Registry(), "spraywatch_lines_parsed_total"); len(got) != len(tt.want) {
				t.Errorf("%d lines_parsed_total series, want %d", len(got), len(tt.want))
			}
		})
	}
}

// TestFilesDamaged checks that the damaged files of a source's files are
// added up under its label, and that a source without any has its series.
func TestFilesDamaged(t *testing.T) {
	var stats []*ingest.Stats
	for i, src := range []string{"edge", "edge", "edge", "auth"} {
		s := &ingest.Stats{Name: fmt.Sprintf("f%d.log.gz", i), Source: src, Kind: event.Proxy, Format: "nginx"}
		if src == "edge" && i > 0 {
			s.Damage(&ingest.DamagedError{Source: s.Name, Line: 10, Err: io.ErrUnexpectedEOF})
		}
		stats = append(stats, s)
	}
	m, err := New(Config{Sources: func() []*ingest.Stats { return stats }})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"format=nginx,kind=proxy,source=edge": 2, "format=nginx,kind=proxy,source=auth": 0}
	if got := series(t, m.Registry(), "spraywatch_files_damaged_total"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("files_damaged_total %v, want %v", got, want)
	}
}
