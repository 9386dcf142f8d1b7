package detect_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/formats"
	"github.com/spraywatch/spraywatch/internal/leaktest"
	"github.com/spraywatch/spraywatch/rules"
	"github.com/spraywatch/spraywatch/samples"
)

// day is a generated day of proxy and app lines, each sorted by time.
type day struct{ proxy, app [][]byte }

func genDay(t testing.TB, scale float64, dur time.Duration) day {
	t.Helper()
	c := samples.DefaultConfig()
	c.Scale, c.Duration = scale, dur
	var p, a bytes.Buffer
	if _, _, err := samples.Generate(c, &p, &a); err != nil {
		t.Fatal(err)
	}
	lines := func(b []byte) [][]byte { return bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) }
	return day{lines(p.Bytes()), lines(a.Bytes())}
}

// side reads one log's lines into records.
type side struct {
	lines [][]byte
	p     ingest.Parser
	kind  event.Kind
	rec   event.Record
	ok    bool
}

// next parses the next usable line.
func (s *side) next(t testing.TB) {
	s.ok = false
	for len(s.lines) > 0 {
		line := s.lines[0]
		s.lines = s.lines[1:]
		s.rec = event.Record{}
		err := s.p.Parse(line, &s.rec)
		if errors.Is(err, ingest.ErrIgnore) {
			continue
		}
		if err != nil {
			t.Fatalf("parsing %q: %v", line, err)
		}
		s.rec.Kind = s.kind
		s.ok = true
		return
	}
}

// run replays d through an engine made with c (Rules and Sink are set
// here) and returns the alerts as written and the counters.
func run(t testing.TB, d day, c detect.Config, sink alert.Sink) (*detect.Engine, error) {
	return runInto(t, d, c, sink, nil)
}

// runInto is run that sets *into to the engine before the replay.
func runInto(t testing.TB, d day, c detect.Config, sink alert.Sink, into **detect.Engine) (*detect.Engine, error) {
	t.Helper()
	pf, err := formats.Proxy("nginx", "")
	if err != nil {
		t.Fatal(err)
	}
	af, err := formats.App("django-json", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Rules == nil {
		c.Rules = rules.Default()
	}
	c.Sink = sink
	e, err := detect.NewEngine(c)
	if err != nil {
		t.Fatal(err)
	}
	if into != nil {
		*into = e
	}
	ctx := context.Background()
	p := &side{lines: d.proxy, p: pf.NewParser(), kind: event.Proxy}
	a := &side{lines: d.app, p: af.NewParser(), kind: event.App}
	p.next(t)
	a.next(t)
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for n := 0; p.ok || a.ok; n++ {
		s := p
		if !p.ok || a.ok && a.rec.Time < p.rec.Time {
			s = a
		}
		keep(e.Add(ctx, &s.rec))
		if n%1000 == 999 {
			// A jump of event time with no record: a sweep of its own.
			keep(e.Advance(ctx, s.rec.Time+1))
		}
		s.next(t)
	}
	keep(e.Close(ctx))
	return e, first
}

// counters writes every counter of e.
func counters(e *detect.Engine) string {
	var b strings.Builder
	s := e.Stats()
	fmt.Fprintf(&b, "events %d late %d evicted %d dropped %d alerts %d open %d suppressed %d watermark %d\n",
		s.Events.Load(), s.Late.Load(), s.GroupsEvicted.Load(), s.EventsDropped.Load(), s.Alerts.Load(), s.Open.Load(), s.Suppressed.Load(), s.Watermark.Load())
	j := e.JoinStats()
	fmt.Fprintf(&b, "join %d %d %d %d %d %d %d\n", j.Matched.Load(), j.AppOnly.Load(), j.ProxyOnly.Load(), j.Duplicates.Load(), j.Evicted.Load(), j.Unrelated.Load(), j.Pending.Load())
	for _, r := range e.RuleStats() {
		fmt.Fprintf(&b, "%s matched %d groups %d alerts %d suppressed %d\n", r.Rule, r.Matched.Load(), r.Groups.Load(), r.Alerts.Load(), r.Suppressed.Load())
	}
	return b.String()
}

// TestLanesSameOutput replays generated days with the default pack on 1,
// 2, 3 and 9 lanes: the alerts must be the same bytes in the same order,
// and every counter the same. The capped case keeps few groups and few
// events per group, so that groups are evicted and windows dropped from.
func TestLanesSameOutput(t *testing.T) {
	cases := []struct {
		name  string
		scale float64
		dur   time.Duration
		cfg   detect.Config
	}{
		{"day", 1, 24 * time.Hour, detect.Config{}},
		{"busy", 3, 3 * time.Hour, detect.Config{}},
		{"capped", 2, 8 * time.Hour, detect.Config{MaxGroups: 40, MaxGroupsTotal: 150, MaxGroupEvents: 50,
			Correlator: detect.CorrelatorConfig{MaxPending: 50}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := genDay(t, tc.scale, tc.dur)
			var want, wantTrace []byte
			var wantStats string
			for _, n := range []int{1, 2, 3, 9} {
				c := tc.cfg
				c.Lanes = n
				var out bytes.Buffer
				// The trace interleaves the events OnEvent sees with the
				// alerts, as the report collector counts them; now and
				// then OnEvent ranks the groups, as the metrics do.
				tr := &traceSink{next: alert.NewWriter(&out)}
				var e *detect.Engine
				var top []detect.GroupValue
				c.OnEvent = func(ev *event.Event) {
					fmt.Fprintf(&tr.buf, "E %d %s\n", ev.Time, ev.Values[event.RequestID])
					if tr.events++; tr.events%500 == 0 {
						top, _ = e.TopGroups("cert-identity-spray", 3, top)
						e.WindowEntries()
					}
				}
				e, err := runInto(t, d, c, tr, &e)
				if err != nil {
					t.Fatalf("%d lanes: %v", n, err)
				}
				if got := e.Lanes(); got != n {
					t.Fatalf("asked for %d lanes, got %d", n, got)
				}
				stats := counters(e)
				if n == 1 {
					want, wantStats, wantTrace = out.Bytes(), stats, tr.buf.Bytes()
					if bytes.Count(want, []byte("\n")) < 5 {
						t.Fatalf("only %d alerts: the case tests little", bytes.Count(want, []byte("\n")))
					}
					if tc.cfg.MaxGroups > 0 && e.Stats().GroupsEvicted.Load() == 0 {
						t.Fatal("no group evicted: the caps are not reached")
					}
					continue
				}
				if !bytes.Equal(out.Bytes(), want) {
					t.Errorf("%d lanes: alerts differ from one lane's\n%s", n, firstDiff(out.Bytes(), want))
				}
				if !bytes.Equal(tr.buf.Bytes(), wantTrace) {
					t.Errorf("%d lanes: events and alerts interleave differently\n%s", n, firstDiff(tr.buf.Bytes(), wantTrace))
				}
				if stats != wantStats {
					t.Errorf("%d lanes: counters differ:\n%s\none lane:\n%s", n, stats, wantStats)
				}
			}
		})
	}
}

// traceSink notes each alert in the trace and passes it on.
type traceSink struct {
	buf    bytes.Buffer
	events int
	next   alert.Sink
}

func (s *traceSink) Send(ctx context.Context, a *alert.Alert) error {
	fmt.Fprintf(&s.buf, "A %s\n", a.ID)
	return s.next.Send(ctx, a)
}
func (s *traceSink) Close() error { return nil }

// firstDiff shows the first differing alert line of got and want.
func firstDiff(got, want []byte) string {
	g, w := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; i < len(g) || i < len(w); i++ {
		var a, b []byte
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if !bytes.Equal(a, b) {
			return fmt.Sprintf("line %d:\n got %s\nwant %s", i+1, a, b)
		}
	}
	return ""
}

// failSink fails from its n-th alert on.
type failSink struct {
	n, sent int
}

var errSinkDown = errors.New("sink down")

func (f *failSink) Send(context.Context, *alert.Alert) error {
	f.sent++
	if f.sent >= f.n {
		return errSinkDown
	}
	return nil
}
func (f *failSink) Close() error { return nil }

// TestLanesSinkError: a sink's error comes back from a later Add, Advance
// or Close whatever the number of lanes, and every alert is still offered
// to the sink, in order.
func TestLanesSinkError(t *testing.T) {
	d := genDay(t, 1, 12*time.Hour)
	var sent []int
	for _, n := range []int{1, 2, 3} {
		f := &failSink{n: 3}
		_, err := run(t, d, detect.Config{Lanes: n}, f)
		if !errors.Is(err, errSinkDown) {
			t.Errorf("%d lanes: error %v, want the sink's", n, err)
		}
		sent = append(sent, f.sent)
	}
	if sent[0] < 3 || sent[1] != sent[0] || sent[2] != sent[0] {
		t.Errorf("alerts offered to the sink by 1, 2, 3 lanes: %v", sent)
	}
}

// TestLanesAuto: LanesAuto is capped by the number of rules; no lanes
// asked means one.
func TestLanesAuto(t *testing.T) {
	one, err := rules.Parse("t", []byte("rules:\n  - {id: a, match: {event.outcome: failure}, group_by: [identity], distinct: user.name, window: 10s, threshold: 3}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rules []*rules.Rule
		asked int
		want  int
	}{
		{one, detect.LanesAuto, 1},
		{one, 4, 1},
		{rules.Default(), 0, 1},
		{rules.Default(), 1, 1},
		{rules.Default(), 100, len(rules.Default())},
	} {
		e, err := detect.NewEngine(detect.Config{Rules: tc.rules, Lanes: tc.asked, Sink: &failSink{n: 1 << 30}})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Lanes(); got != tc.want {
			t.Errorf("%d rules, %d asked: %d lanes, want %d", len(tc.rules), tc.asked, got, tc.want)
		}
	}
}

// BenchmarkLanes replays a generated day (parsing included, on the
// feeding goroutine) with the default pack on 1 and 2 lanes; ns/op and
// allocs/op are per record.
func BenchmarkLanes(b *testing.B) {
	d := genDay(b, 3, 24*time.Hour)
	recs := len(d.proxy) + len(d.app)
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("lanes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := run(b, d, detect.Config{Lanes: n}, &failSink{n: 1 << 62}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*recs), "ns/record")
			b.ReportMetric(float64(b.N*recs)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// TestLanesAfterClose: an engine goes on after Close (its lanes start
// again) and gives what one lane gives.
func TestLanesAfterClose(t *testing.T) {
	d := genDay(t, 1, 24*time.Hour)
	half := day{d.proxy[:len(d.proxy)/2], d.app[:len(d.app)/2]}
	rest := day{d.proxy[len(d.proxy)/2:], d.app[len(d.app)/2:]}
	var outs [2]bytes.Buffer
	for i, n := range []int{1, 4} {
		var e *detect.Engine
		// The second replay goes on with the first's engine.
		_, err := runInto(t, half, detect.Config{Lanes: n}, alert.NewWriter(&outs[i]), &e)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		pf, _ := formats.Proxy("nginx", "")
		af, _ := formats.App("django-json", "")
		p := &side{lines: rest.proxy, p: pf.NewParser(), kind: event.Proxy}
		a := &side{lines: rest.app, p: af.NewParser(), kind: event.App}
		p.next(t)
		a.next(t)
		for p.ok || a.ok {
			s := p
			if !p.ok || a.ok && a.rec.Time < p.rec.Time {
				s = a
			}
			if err := e.Add(ctx, &s.rec); err != nil {
				t.Fatal(err)
			}
			s.next(t)
		}
		if err := e.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if outs[0].Len() == 0 || !bytes.Equal(outs[0].Bytes(), outs[1].Bytes()) {
		t.Errorf("4 lanes after Close: alerts differ from one lane's (%d and %d bytes)\n%s", outs[1].Len(), outs[0].Len(), firstDiff(outs[1].Bytes(), outs[0].Bytes()))
	}
}

// TestLanesSync: after Sync, the alerts of every record added so far are
// sent, on several lanes as on one; after Stop, no lane goroutine runs.
func TestLanesSync(t *testing.T) {
	d := genDay(t, 1, 12*time.Hour)
	pf, _ := formats.Proxy("nginx", "")
	af, _ := formats.App("django-json", "")
	ctx := context.Background()
	check := leaktest.Check(t)
	var outs [2]bytes.Buffer
	var es [2]*detect.Engine
	var sides [2][2]*side
	for i, n := range []int{1, 3} {
		e, err := detect.NewEngine(detect.Config{Rules: rules.Default(), Lanes: n, Sink: alert.NewWriter(&outs[i])})
		if err != nil {
			t.Fatal(err)
		}
		es[i] = e
		sides[i] = [2]*side{
			{lines: d.proxy, p: pf.NewParser(), kind: event.Proxy},
			{lines: d.app, p: af.NewParser(), kind: event.App},
		}
		sides[i][0].next(t)
		sides[i][1].next(t)
	}
	synced := 0
	for n := 0; ; n++ {
		for i, e := range es {
			p, a := sides[i][0], sides[i][1]
			if !p.ok && !a.ok {
				continue
			}
			s := p
			if !p.ok || a.ok && a.rec.Time < p.rec.Time {
				s = a
			}
			if err := e.Add(ctx, &s.rec); err != nil {
				t.Fatal(err)
			}
			s.next(t)
		}
		end := !sides[0][0].ok && !sides[0][1].ok
		if n%97 == 96 || end {
			if err := es[1].Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(outs[1].Bytes(), outs[0].Bytes()) {
				t.Fatalf("after %d records: %d bytes of alerts on 3 lanes, %d on one", n+1, outs[1].Len(), outs[0].Len())
			}
			if outs[0].Len() > synced {
				synced++
			}
		}
		if end {
			break
		}
	}
	if synced < 3 {
		t.Fatalf("alerts grew at %d syncs only", synced)
	}
	for _, e := range es {
		if err := e.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	check()
}
