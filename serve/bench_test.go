package serve

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
)

// line is one log line to produce, with its event time.
type line struct {
	topic string
	text  []byte
	time  int64
	key   []byte // nil: the request id
}

// corpus returns the samples repeated for days consecutive days (dates
// shifted), merged in event-time order.
func corpus(tb testing.TB, days int) []line {
	tb.Helper()
	pf, af := formatsFor(tb)
	var out []line
	var r event.Record
	for d := range days {
		date := fmt.Sprintf("%02d", 4+d)
		p, a := pf.NewParser(), af.NewParser()
		for _, l := range readLines(tb, proxySample) {
			l = bytes.Replace(l, []byte("[04/Dec/2026:"), []byte("["+date+"/Dec/2026:"), 1)
			if p.Parse(l, &r) == nil {
				out = append(out, line{topic: "proxy", text: l, time: r.Time})
			}
		}
		for _, l := range readLines(tb, appSample) {
			l = bytes.Replace(l, []byte(`"2026-12-04T`), []byte(`"2026-12-`+date+`T`), 1)
			if a.Parse(l, &r) == nil {
				out = append(out, line{topic: "app", text: l, time: r.Time})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].time < out[j].time })
	return out
}

func writers(c *kfake.Cluster) map[string]*kafkago.Writer {
	ws := map[string]*kafkago.Writer{}
	for _, topic := range []string{"proxy", "app"} {
		ws[topic] = &kafkago.Writer{
			Addr:         kafkago.TCP(c.ListenAddrs()...),
			Topic:        topic,
			Balancer:     &kafkago.CRC32Balancer{},
			Transport:    &kafkago.Transport{},
			BatchSize:    10000,
			BatchBytes:   1 << 20,
			BatchTimeout: time.Millisecond,
			// Acknowledged writes keep each partition's batches in
			// order: unacknowledged ones may overtake each other on
			// the transport's several connections.
			RequiredAcks: kafkago.RequireOne,
		}
	}
	return ws
}

// produceLines writes lines keyed by request id.
func produceLines(tb testing.TB, ws map[string]*kafkago.Writer, lines []line) {
	tb.Helper()
	pf, af := formatsFor(tb)
	keys := map[string]func([]byte) []byte{"proxy": keyByRequestID(tb, pf), "app": keyByRequestID(tb, af)}
	msgs := map[string][]kafkago.Message{}
	for _, l := range lines {
		key := l.key
		if key == nil {
			key = keys[l.topic](l.text)
		}
		msgs[l.topic] = append(msgs[l.topic], kafkago.Message{Key: key, Value: l.text})
	}
	var wg sync.WaitGroup
	for topic, m := range msgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ws[topic].WriteMessages(context.Background(), m...); err != nil {
				tb.Error(err)
			}
		}()
	}
	wg.Wait()
}

// sentinels returns, for each topic and each of its partitions, a line
// dated a day after the last line of lines (keyed to land on that
// partition): the records a stream that goes on would bring next.
func sentinels(tb testing.TB, lines []line, parts int) []line {
	tb.Helper()
	last := map[string][]byte{}
	for _, l := range lines {
		last[l.topic] = l.text
	}
	pf, af := formatsFor(tb)
	balancer := &kafkago.CRC32Balancer{}
	partitions := make([]int, parts)
	for i := range partitions {
		partitions[i] = i
	}
	var out []line
	for _, topic := range []string{"proxy", "app"} {
		l := last[topic]
		p, from, to := pf.NewParser(), "[%02d/Dec/2026:", "[%02d/Dec/2026:"
		if topic == "app" {
			p, from, to = af.NewParser(), `"2026-12-%02dT`, `"2026-12-%02dT`
		}
		var r, n event.Record
		if err := p.Parse(l, &r); err != nil {
			tb.Fatal(err)
		}
		day := time.Unix(0, r.Time).UTC().Day()
		next := bytes.Replace(l, fmt.Appendf(nil, from, day), fmt.Appendf(nil, to, day+1), 1)
		if err := p.Parse(next, &n); err != nil || n.Time <= r.Time {
			tb.Fatalf("dating a %s line a day later: %q", topic, next)
		}
		keys := make([][]byte, parts)
		for i, found := 0, 0; found < parts; i++ {
			key := fmt.Appendf(nil, "sentinel-%d", i)
			if k := balancer.Balance(kafkago.Message{Key: key}, partitions...); keys[k] == nil {
				keys[k] = key
				found++
			}
		}
		for _, key := range keys {
			out = append(out, line{topic: topic, text: next, time: n.Time, key: key})
		}
	}
	return out
}

// BenchmarkThroughput measures records per second from the proxy and app
// topics (4 partitions each, already written) through the watermark and
// the engine, for one and two instances of one consumer group, from the
// first record released to the last record of the backlog released.
//
// With stream=on, every partition then holds one record a day newer than
// the backlog, as a stream that goes on would: the watermark passes the
// whole backlog as fast as it is read. With stream=stopped, the input
// stops after the backlog: the records within the allowed lateness of the
// newest are released one idle timeout (1 s) after the last record
// arrived, as the watermark is designed to; that fixed wait is reported
// as tail-ms (time from 99% to all of the records), and records/s
// includes it.
func BenchmarkThroughput(b *testing.B) {
	lines := corpus(b, 16)
	const parts = 4
	c := cluster(b, parts, kfake.SeedTopics(parts, "proxy-stopped", "app-stopped"))
	produceLines(b, writers(c), append(lines[:len(lines):len(lines)], sentinels(b, lines, parts)...))
	stopped := map[string]*kafkago.Writer{}
	for topic, w := range writers(c) {
		w.Topic = topic + "-stopped"
		stopped[topic] = w
	}
	produceLines(b, stopped, lines)
	for _, bc := range []struct {
		stream    string
		instances int
	}{{"stopped", 1}, {"on", 1}, {"on", 2}} {
		b.Run(fmt.Sprintf("stream=%s/instances=%d", bc.stream, bc.instances), func(b *testing.B) {
			n := bc.instances
			var records, steadyRecords, late int64
			var busy, steady, cpu time.Duration
			for i := range b.N {
				group := fmt.Sprintf("bench-%s-%d-%d", bc.stream, n, i)
				var rs []*running
				for range n {
					cfg := serverConfig(b, c, group, alert.NewFanout())
					if bc.stream == "stopped" {
						cfg.ProxyTopic, cfg.AppTopic = "proxy-stopped", "app-stopped"
					}
					cfg.Logger = nil
					cfg.Kafka.MaxWait = 0 // the default, as deployed
					cfg.IdleTimeout = DefaultIdleTimeout
					rs = append(rs, start1(b, cfg))
				}
				total := func() int64 {
					var s int64
					for _, r := range rs {
						s += r.s.Stats().Records.Load()
					}
					return s
				}
				deadline := time.Now().Add(2 * time.Minute)
				for total() == 0 && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				first, cpu0 := time.Now(), cpuTime()
				most := int64(len(lines)) * 99 / 100
				for total() < most && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				steady += time.Since(first)
				steadyRecords += most
				for total() < int64(len(lines)) && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				if total() < int64(len(lines)) {
					b.Fatalf("%d of %d records released in 2 minutes", total(), len(lines))
				}
				for _, r := range rs {
					late += r.s.Stats().Late.Load()
				}
				busy += time.Since(first)
				cpu += cpuTime() - cpu0
				records += int64(len(lines))
				for _, r := range rs {
					r.shutdown(b)
				}
			}
			// Group joins and rebalances are left out: the clock starts at
			// the first record released.
			b.ReportMetric(float64(records)/busy.Seconds(), "records/s")
			b.ReportMetric(float64(steadyRecords)/steady.Seconds(), "records/s-99%")
			b.ReportMetric(float64((busy-steady).Milliseconds())/float64(b.N), "tail-ms")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(records), "cpu-ns/record")
			b.ReportMetric(float64(late)/float64(b.N), "late")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// cpuTime returns the CPU time the process used so far (user and system,
// the in-process broker included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func start1(tb testing.TB, cfg Config) *running {
	tb.Helper()
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	return r
}

// timedSink records when each alert arrives.
type timedSink struct {
	mu   sync.Mutex
	seen []timedAlert
}

type timedAlert struct {
	at       time.Time
	lastSeen int64
	status   string
}

func (s *timedSink) Send(_ context.Context, a *alert.Alert) error {
	t, err := time.Parse(time.RFC3339Nano, a.LastSeen)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.seen = append(s.seen, timedAlert{time.Now(), t.UnixNano(), a.Status})
	s.mu.Unlock()
	return nil
}

func (s *timedSink) Close() error { return nil }

// BenchmarkAlertLatency produces the corpus at a steady rate (records/s
// over both topics) and measures, for each firing or updated alert, the
// wall time from the production of the record that completed it (the
// first record at or after the alert's last_seen) to the alert.
func BenchmarkAlertLatency(b *testing.B) {
	for _, rate := range []int{50_000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			var lat []time.Duration
			for i := range b.N {
				lines := corpus(b, 12)
				c := cluster(b, 4)
				ws := writers(c)
				sink := &timedSink{}
				cfg := serverConfig(b, c, fmt.Sprintf("latency-%d", i), sink)
				cfg.Logger = nil
				cfg.IdleTimeout = DefaultIdleTimeout
				r := start1(b, cfg)
				deadline := time.Now().Add(30 * time.Second)
				for r.s.Stats().Partitions.Load() == 0 && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				produced := make([]time.Time, len(lines))
				const tick = 10 * time.Millisecond
				per := rate / int(time.Second/tick)
				t0 := time.Now()
				for off, k := 0, 0; off < len(lines); k++ {
					if d := time.Until(t0.Add(time.Duration(k) * tick)); d > 0 {
						time.Sleep(d)
					}
					end := min(off+per, len(lines))
					now := time.Now()
					for j := off; j < end; j++ {
						produced[j] = now
					}
					produceLines(b, ws, lines[off:end])
					off = end
				}
				for r.s.Stats().Records.Load() < int64(len(lines)) && time.Now().Before(deadline.Add(30*time.Second)) {
					time.Sleep(10 * time.Millisecond)
				}
				time.Sleep(1500 * time.Millisecond)
				r.shutdown(b)
				sink.mu.Lock()
				for _, a := range sink.seen {
					if a.status == alert.StatusResolved {
						continue
					}
					j := sort.Search(len(lines), func(j int) bool { return lines[j].time >= a.lastSeen })
					if j < len(lines) {
						lat = append(lat, a.at.Sub(produced[j]))
					}
				}
				sink.mu.Unlock()
				for _, w := range ws {
					w.Close()
				}
				c.Close()
			}
			if len(lat) == 0 {
				b.Fatal("no alerts")
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
			b.ReportMetric(float64(len(lat)), "alerts")
			b.ReportMetric(0, "ns/op")
		})
	}
}
