package serve

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/formats"
	"github.com/spraywatch/spraywatch/ingest/kafka"
	"github.com/spraywatch/spraywatch/replay"
	"github.com/spraywatch/spraywatch/rules"
)

const (
	proxySample = "../samples/data/nginx-access.log"
	appSample   = "../samples/data/django-auth.log"
)

// cluster starts an in-process kfake broker on 127.0.0.1 with the given
// topics, each with parts partitions.
func cluster(t testing.TB, parts int32, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	opts = append([]kfake.Opt{
		kfake.NumBrokers(1),
		kfake.GroupMinSessionTimeout(500 * time.Millisecond),
		kfake.SeedTopics(parts, "proxy", "app", "auth-events", DefaultSubnetTopic),
	}, opts...)
	c, err := kfake.NewCluster(opts...) // listens on 127.0.0.1
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func kafkaConfig(c *kfake.Cluster, group string) kafka.Config {
	return kafka.Config{
		Brokers:           c.ListenAddrs(),
		GroupID:           group,
		MaxWait:           200 * time.Millisecond,
		SessionTimeout:    3 * time.Second,
		HeartbeatInterval: 200 * time.Millisecond,
		RebalanceTimeout:  2 * time.Second,
		DialTimeout:       2 * time.Second,
	}
}

func readLines(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

// produce writes lines to topic, keyed by the given function (nil: no key).
func produce(t testing.TB, c *kfake.Cluster, topic string, lines [][]byte, key func([]byte) []byte) {
	t.Helper()
	w := kafkaWriter(c, topic)
	defer w.Close()
	msgs := make([]kafkago.Message, len(lines))
	for i, l := range lines {
		msgs[i].Value = l
		if key != nil {
			msgs[i].Key = key(l)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("producing to %s: %v", topic, err)
	}
}

func formatsFor(t testing.TB) (ingest.Format, ingest.Format) {
	t.Helper()
	p, err := formats.Proxy("nginx", "")
	if err != nil {
		t.Fatal(err)
	}
	a, err := formats.App("django-json", "")
	if err != nil {
		t.Fatal(err)
	}
	return p, a
}

// replayAlerts runs the replay pipeline in-process over the given files,
// with the default rules, and returns its alert lines.
func replayAlerts(t testing.TB, proxy, app []string) []string {
	t.Helper()
	return replayRules(t, rules.Default(), proxy, app)
}

// replayRules is replayAlerts with the rules rs.
func replayRules(t testing.TB, rs []*rules.Rule, proxy, app []string) []string {
	t.Helper()
	pf, af := formatsFor(t)
	var srcs []ingest.Source
	for _, p := range proxy {
		srcs = append(srcs, ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.Proxy, Paths: []string{p}, Parser: pf.NewParser()}))
	}
	for _, p := range app {
		srcs = append(srcs, ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.App, Paths: []string{p}, Parser: af.NewParser()}))
	}
	out := &collector{}
	eng, err := detect.NewEngine(detect.Config{Rules: rs, Sink: out})
	if err != nil {
		t.Fatal(err)
	}
	if err := replay.Run(context.Background(), srcs, eng); err != nil {
		t.Fatal(err)
	}
	return out.snapshot()
}

// kafkaWriter returns a writer producing to topic, each batch acknowledged
// by every replica.
func kafkaWriter(c *kfake.Cluster, topic string) *kafkago.Writer {
	return &kafkago.Writer{
		Addr:         kafkago.TCP(c.ListenAddrs()...),
		Topic:        topic,
		Balancer:     &kafkago.CRC32Balancer{},
		Transport:    &kafkago.Transport{},
		BatchSize:    5000,
		BatchTimeout: 5 * time.Millisecond,
		RequiredAcks: kafkago.RequireAll,
	}
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// collector is a sink keeping alert lines in arrival order.
type collector struct {
	mu    sync.Mutex
	lines []string
}

func (c *collector) Send(_ context.Context, a *alert.Alert) error {
	b, err := a.AppendJSON(nil)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.lines = append(c.lines, strings.TrimSuffix(string(b), "\n"))
	c.mu.Unlock()
	return nil
}

func (c *collector) Close() error { return nil }

func (c *collector) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// distinctSorted returns the distinct lines, sorted.
func distinctSorted(lines []string) []string {
	m := map[string]bool{}
	for _, l := range lines {
		m[l] = true
	}
	out := make([]string, 0, len(m))
	for l := range m {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

func serverConfig(t testing.TB, c *kfake.Cluster, group string, sink alert.Sink) Config {
	pf, af := formatsFor(t)
	return Config{
		Role:        RoleAll,
		Kafka:       kafkaConfig(c, group),
		ProxyTopic:  "proxy",
		AppTopic:    "app",
		ProxyFormat: pf,
		AppFormat:   af,
		Engine:      detect.Config{Rules: rules.Default()},
		Sink:        sink,
		IdleTimeout: idleTimeout,
		Logger:      testLogger(t),
	}
}

// idleTimeout is the idle timeout of the tests' servers, longer than any
// test runs. On a loaded machine (the race detector, other work on the
// two cores) a partition reader may be starved of CPU for seconds; taken
// for an idle one, it would have records released without it, which join
// otherwise than in replay. A test that needs every record of its input
// released ends the input with closeInput instead of waiting for an idle
// timeout; one that stops a server before the end of the input waits for
// the records releasable tells.
const idleTimeout = 10 * time.Minute

// patience bounds the waits of the tests for an outcome: far more than a
// slow machine needs, so that a test fails on a wait only when the
// outcome does not come.
const patience = 3 * time.Minute

// newestTime returns the newest event time of the lines that parse
// (proxy lines with the proxy format, app lines with the app format).
func newestTime(t testing.TB, proxy, app [][]byte) int64 {
	t.Helper()
	pf, af := formatsFor(t)
	var newest int64
	var r event.Record
	for _, in := range []struct {
		lines [][]byte
		p     ingest.Parser
	}{{proxy, pf.NewParser()}, {app, af.NewParser()}} {
		for _, l := range in.lines {
			if err := in.p.Parse(l, &r); err == nil {
				newest = max(newest, r.Time)
			}
		}
	}
	if newest == 0 {
		t.Fatal("no line with an event time")
	}
	return newest
}

// closingLines returns a proxy line (a health check, which joins no app
// line) dated the default lateness, rounded up to the second, after
// newest, and an app line (a login) a second newer.
func closingLines(newest int64) (proxy, app []byte) {
	at := time.Unix(0, newest).UTC().Add(DefaultLateness + time.Second - 1).Truncate(time.Second)
	proxy = fmt.Appendf(nil, `10.0.0.3 - - [%s] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.31" rid=closing verify=NONE fp=- serial=- dn="-" idn="-" rt=0.001`,
		at.Format("02/Jan/2006:15:04:05 -0700"))
	app = fmt.Appendf(nil, `{"timestamp":"%s","level":"info","logger":"accounts.auth","event":"login_succeeded","request_id":"closing","username":"closing","ip":"10.0.0.3"}`,
		at.Add(time.Second).Format("2006-01-02T15:04:05.000000Z07:00"))
	return proxy, app
}

// closeInput writes to each of the proxyParts partitions of the proxy
// topic and the appParts partitions of the app topic a closing record (see
// closingLines) after the test's input, whose newest event time is
// newest, as a stream going on behind that input would. The watermark then
// releases every record of the input at once, not one idle timeout after
// the input stopped. Of the closing records, one proxy record is released
// (all partitions hold a record, and it is the oldest) and the others are
// held back: the offsets committed reach one past the proxy input and the
// end of the app input.
func closeInput(t testing.TB, c *kfake.Cluster, proxyParts, appParts int, newest int64) {
	t.Helper()
	proxy, app := closingLines(newest)
	for part := range proxyParts {
		produceTo(t, c, "proxy", part, [][]byte{proxy})
	}
	for part := range appParts {
		produceTo(t, c, "app", part, [][]byte{app})
	}
}

// releasable returns up to which offsets a server commits the proxy and
// app lines, written to one partition each, once it has read them all and
// nothing comes after them: a record of the source whose newest record is
// the newer, newer than the other's newest, waits for the other (for the
// idle timeout), and so do the lines after it. Lines that are not records
// (ignored, rejected) hold nothing back.
func releasable(t testing.TB, proxy, app [][]byte) (np, na int) {
	t.Helper()
	pf, af := formatsFor(t)
	const none = -1 // not a record
	times := func(lines [][]byte, p ingest.Parser) []int64 {
		var out []int64
		var r event.Record
		for _, l := range lines {
			if err := p.Parse(l, &r); err != nil {
				out = append(out, none)
				continue
			}
			out = append(out, r.Time)
		}
		return out
	}
	pt, at := times(proxy, pf.NewParser()), times(app, af.NewParser())
	pl, al := slices.Max(pt), slices.Max(at)
	if pl == none || al == none {
		t.Fatal("releasable: a source without records")
	}
	// firstHeld is the offset of the first record newer than other.
	firstHeld := func(ts []int64, other int64) int {
		for i, x := range ts {
			if x == other {
				t.Fatalf("releasable: a record at the time of the other source's newest: the order of release is not known")
			}
			if x > other {
				return i
			}
		}
		return len(ts)
	}
	switch {
	case al > pl:
		return len(pt), firstHeld(at, pl)
	case pl > al:
		return firstHeld(pt, al), len(at)
	}
	t.Fatal("releasable: both sources end at the same time: the order of release is not known")
	return 0, 0
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// running is a server running in the background.
type running struct {
	s    *Server
	stop context.CancelFunc
	done chan error
}

func start(t testing.TB, cfg Config) *running {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, s)
}

func startServer(t testing.TB, s *Server) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() { r.shutdown(t) })
	return r
}

// shutdown stops the server and waits for Run to return (at most 15 s).
func (r *running) shutdown(t testing.TB) {
	t.Helper()
	r.stop()
	select {
	case err, ok := <-r.done:
		if ok && err != nil {
			t.Errorf("Run: %v", err)
		}
		if ok {
			close(r.done)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("Run did not return within 15 s of cancellation")
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !eventually(d, cond) {
		t.Fatalf("timed out after %s waiting for %s", d, what)
	}
}

// eventually polls cond until it holds (true) or d passes (false).
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// settle waits until n() has not changed for quiet, at most d.
func settle(t testing.TB, d, quiet time.Duration, n func() int) {
	t.Helper()
	deadline := time.Now().Add(d)
	last, since := n(), time.Now()
	for time.Since(since) < quiet {
		if time.Now().After(deadline) {
			t.Fatalf("still changing after %s", d)
		}
		time.Sleep(20 * time.Millisecond)
		if v := n(); v != last {
			last, since = v, time.Now()
		}
	}
}

// halves splits the sample files at the event time of the middle proxy
// line: the records before it and the records from it on.
func halves(t testing.TB) (proxy1, proxy2, app1, app2 [][]byte) {
	t.Helper()
	pf, af := formatsFor(t)
	proxy := readLines(t, proxySample)
	app := readLines(t, appSample)
	var r event.Record
	if err := pf.NewParser().Parse(proxy[len(proxy)/2], &r); err != nil {
		t.Fatal(err)
	}
	mid := r.Time
	split := func(lines [][]byte, p ingest.Parser) ([][]byte, [][]byte) {
		for i, l := range lines {
			if err := p.Parse(l, &r); err == nil && r.Time >= mid {
				return lines[:i], lines[i:]
			}
		}
		return lines, nil
	}
	proxy1, proxy2 = split(proxy, pf.NewParser())
	app1, app2 = split(app, af.NewParser())
	return
}

// committedOffsets reads the group's committed offsets of topic.
func committedOffsets(t testing.TB, c *kfake.Cluster, group, topic string, parts int) map[int]int64 {
	t.Helper()
	cl := &kafkago.Client{Addr: kafkago.TCP(c.ListenAddrs()...), Timeout: 5 * time.Second, Transport: &kafkago.Transport{}}
	ps := make([]int, parts)
	for i := range ps {
		ps[i] = i
	}
	res, err := cl.OffsetFetch(context.Background(), &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ps}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]int64{}
	for _, p := range res.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// report logs a server's counters.
func (r *running) report(t testing.TB, name string) {
	st := r.s.Stats()
	t.Logf("%s: partitions %d records %d late %d forced %d muted %d rebuilds %d published %d commits %d/%d errs fetch %d publish %d ready %v",
		name, st.Partitions.Load(), st.Records.Load(), st.Late.Load(), st.Forced.Load(), st.Muted.Load(), st.Rebuilds.Load(),
		st.Published.Load(), st.Commits.Load(), st.CommitErrs.Load(), st.FetchErrs.Load(), st.PublishErrs.Load(), r.s.Ready())
}
