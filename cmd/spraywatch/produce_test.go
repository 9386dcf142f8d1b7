package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest/formats"
	ingestkafka "github.com/spraywatch/spraywatch/ingest/kafka"
	"github.com/spraywatch/spraywatch/internal/testpki"
)

const (
	sampleProxy = "../../samples/data/nginx-access.log"
	sampleApp   = "../../samples/data/django-auth.log"
)

type received struct {
	value     string
	partition int
}

// consume reads every message of a topic, partition by partition, until
// want messages arrived or the deadline passed.
func consume(t *testing.T, addr []string, topic string, parts, want int) []received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var (
		mu  sync.Mutex
		out []received
		wg  sync.WaitGroup
	)
	done := make(chan struct{})
	for p := 0; p < parts; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: addr, Topic: topic, Partition: p, MaxWait: 200 * time.Millisecond, Dialer: &kafka.Dialer{Timeout: 5 * time.Second}})
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					return
				}
				mu.Lock()
				out = append(out, received{string(m.Value), m.Partition})
				if len(out) == want {
					close(done)
				}
				mu.Unlock()
			}
		}(p)
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
	cancel()
	wg.Wait()
	if len(out) != want {
		t.Fatalf("%s: read %d messages, want %d", topic, len(out), want)
	}
	return out
}

func fileLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// requestIDs maps each line of a file to its request id, parsed with the
// format's own parser.
func requestIDs(t *testing.T, kind event.Kind, lines []string) map[string]string {
	t.Helper()
	var name string
	var parse func([]byte, *event.Record) error
	if kind == event.Proxy {
		f, err := formats.Proxy("nginx", "")
		if err != nil {
			t.Fatal(err)
		}
		name, parse = "nginx", f.NewParser().Parse
	} else {
		f, err := formats.App("django-json", "")
		if err != nil {
			t.Fatal(err)
		}
		name, parse = "django-json", f.NewParser().Parse
	}
	out := map[string]string{}
	var r event.Record
	for _, l := range lines {
		r.Reset()
		if parse([]byte(l), &r) == nil && len(r.Get(event.RequestID)) > 0 {
			out[l] = string(r.Get(event.RequestID))
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no request ids in the sample", name)
	}
	return out
}

// produceCluster starts a Kafka wire protocol broker with the topics proxy
// and app of parts partitions each, closed when t ends, and returns its
// addresses.
func produceCluster(t *testing.T, parts int32) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(parts, "proxy", "app"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// checkTopic checks that topic, of one partition on the broker at addr,
// holds the records want, in order.
func checkTopic(t *testing.T, addr []string, topic string, want []string) {
	t.Helper()
	if end := topicEnd(t, addr[0], topic); end != int64(len(want)) {
		t.Fatalf("%s holds %d records, want %d", topic, end, len(want))
	}
	if len(want) == 0 {
		return
	}
	for i, m := range consume(t, addr, topic, 1, len(want)) {
		if m.value != want[i] {
			t.Fatalf("%s record %d: %.60q, want %.60q", topic, i, m.value, want[i])
		}
	}
}

// TestProduceSamples sends the sample logs through a real Kafka wire
// protocol broker and checks every line arrives once and the two lines of a
// request sit on the same partition index of both topics.
func TestProduceSamples(t *testing.T) {
	const parts = 4
	addr := produceCluster(t, parts)

	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{"produce", "--brokers", strings.Join(addr, ","), "--proxy-topic", "proxy", "--app-topic", "app",
		"--rate", "0", "--proxy", sampleProxy, "--app", sampleApp}
	if code := run(ctx, args, &stderr, &stderr); code != 0 {
		t.Fatalf("produce exited %d: %s", code, stderr.String())
	}

	proxyLines, appLines := fileLines(t, sampleProxy), fileLines(t, sampleApp)
	gotProxy := consume(t, addr, "proxy", parts, len(proxyLines))
	gotApp := consume(t, addr, "app", parts, len(appLines))

	sameLines := func(topic string, got []received, want []string) {
		g := make([]string, len(got))
		for i, m := range got {
			g[i] = m.value
		}
		w := append([]string(nil), want...)
		sort.Strings(g)
		sort.Strings(w)
		if strings.Join(g, "\n") != strings.Join(w, "\n") {
			t.Fatalf("%s: the lines received differ from the file's", topic)
		}
	}
	sameLines("proxy", gotProxy, proxyLines)
	sameLines("app", gotApp, appLines)

	proxyIDs, appIDs := requestIDs(t, event.Proxy, proxyLines), requestIDs(t, event.App, appLines)
	partOf := map[string]int{}
	used := map[int]bool{}
	for _, m := range gotProxy {
		if id, ok := proxyIDs[m.value]; ok {
			partOf[id] = m.partition
			used[m.partition] = true
		}
	}
	pairs := 0
	for _, m := range gotApp {
		id, ok := appIDs[m.value]
		if !ok {
			continue
		}
		p, ok := partOf[id]
		if !ok {
			continue
		}
		pairs++
		if p != m.partition {
			t.Fatalf("request %s: proxy line on partition %d, app line on %d", id, p, m.partition)
		}
	}
	if pairs == 0 {
		t.Fatal("no request id found in both topics")
	}
	if len(used) != parts {
		t.Fatalf("keys spread over %d of %d partitions", len(used), parts)
	}
	// The same key goes to the same partition as librdkafka's default
	// partitioner (CRC32 of the key modulo the partition count).
	var crc kafka.CRC32Balancer
	for _, m := range gotProxy[:100] {
		if id, ok := proxyIDs[m.value]; ok {
			if want := crc.Balance(kafka.Message{Key: []byte(id)}, 0, 1, 2, 3); want != m.partition {
				t.Fatalf("request %s on partition %d, CRC32 says %d", id, m.partition, want)
			}
		}
	}
	if !strings.Contains(stderr.String(), "produced") {
		t.Fatalf("no summary: %q", stderr.String())
	}
}

func TestProduceCountLoopAndCreate(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.ListenAddrs()
	dir := t.TempDir()
	app := dir + "/auth.log"
	lines := fileLines(t, sampleApp)[:5]
	if err := os.WriteFile(app, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Twelve lines from a five-line file: twice round and two more.
	args := []string{"produce", "--brokers", addr[0], "--app-topic", "app2", "--partitions", "3",
		"--rate", "5000/s", "--app", app, "--loop", "--count", "12"}
	if code := run(ctx, args, &stderr, &stderr); code != 0 {
		t.Fatalf("produce exited %d: %s", code, stderr.String())
	}
	got := consume(t, addr, "app2", 3, 12)
	n := map[string]int{}
	for _, m := range got {
		n[m.value]++
	}
	for i, l := range lines {
		want := 2
		if i < 2 {
			want = 3
		}
		if n[l] != want {
			t.Fatalf("line %d sent %d times, want %d", i, n[l], want)
		}
	}
}

// TestProduceTLSSASL sends lines to a broker that requires TLS and SCRAM
// with serve's --tls-* and --sasl-* flags, and reads them back.
func TestProduceTLSSASL(t *testing.T) {
	pki := testpki.New(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "app"),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{pki.Server}}),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "producer", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := t.TempDir()
	app, pass := filepath.Join(dir, "auth.log"), filepath.Join(dir, "kafka.pass")
	lines := fileLines(t, sampleApp)[:5]
	if err := os.WriteFile(app, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pass, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{"produce", "--brokers", c.ListenAddrs()[0], "--app-topic", "app", "--rate", "0", "--app", app,
		"--tls-ca", pki.CAFile, "--sasl-mechanism", "scram-sha-512", "--sasl-username", "producer", "--sasl-password-file", pass}
	if code := run(ctx, args, &stderr, &stderr); code != 0 {
		t.Fatalf("produce exited %d: %s", code, stderr.String())
	}
	kc := ingestkafka.Config{Brokers: c.ListenAddrs(), TLS: &tls.Config{RootCAs: pki.Pool}, MaxWait: 200 * time.Millisecond,
		SASL: ingestkafka.SASL{Mechanism: "scram-sha-512", Username: "producer", Password: "s3cret"}}
	r, err := kc.PartitionReader("app", 0, kafka.FirstOffset)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i, want := range lines {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("reading line %d back: %v", i+1, err)
		}
		if string(m.Value) != want {
			t.Errorf("line %d: %q, want %q", i+1, m.Value, want)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1000/s", 1000, true}, {"60/m", 1, true}, {"250", 250, true}, {"0", 0, true},
		{"-1", 0, false}, {"fast", 0, false}, {"10/h", 0, false}, {"NaN", 0, false}, {"+Inf/s", 0, false},
	} {
		got, err := parseRate(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseRate(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestPacer(t *testing.T) {
	t0 := time.Unix(0, 0)
	p := newPacer(100, t0)
	if n := p.allowed(t0, 1000); n != 0 {
		t.Fatalf("at start %d allowed", n)
	}
	if n := p.allowed(t0.Add(50*time.Millisecond), 1000); n != 5 {
		t.Fatalf("after 50ms %d allowed, want 5", n)
	}
	p.took(5)
	if n := p.allowed(t0.Add(50*time.Millisecond), 1000); n != 0 {
		t.Fatalf("%d allowed twice", n)
	}
	if w := p.wait(); w != 10*time.Millisecond {
		t.Fatalf("wait %v, want 10ms", w)
	}
	// After a long stall, no more than a tenth of a second's worth at once.
	if n := p.allowed(t0.Add(10*time.Second), 1000); n != 11 {
		t.Fatalf("after a stall %d allowed, want 11", n)
	}
	if n := newPacer(0, t0).allowed(t0, 7); n != 7 {
		t.Fatalf("unlimited: %d", n)
	}
}

// BenchmarkProduce sends the sample day through kfake as fast as it goes.
func BenchmarkProduce(b *testing.B) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "proxy", "app"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	lines := 0
	for _, p := range []string{sampleProxy, sampleApp} {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		lines += bytes.Count(data, []byte("\n"))
	}
	args := []string{"produce", "--brokers", c.ListenAddrs()[0], "--proxy-topic", "proxy", "--app-topic", "app",
		"--rate", "0", "--proxy", sampleProxy, "--app", sampleApp}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var stderr bytes.Buffer
		if code := run(context.Background(), args, &stderr, &stderr); code != 0 {
			b.Fatalf("produce exited %d: %s", code, stderr.String())
		}
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
}
