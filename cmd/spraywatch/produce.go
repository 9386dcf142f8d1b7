package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/formats"
	ingestkafka "github.com/spraywatch/spraywatch/ingest/kafka"
)

type produceFlags struct {
	brokers      string
	proxyTopic   string
	appTopic     string
	rate         string
	proxy, app   string
	proxyFormat  string
	logFormat    string
	appFormat    string
	appFormatDef string
	loop         bool
	count        int64
	partitions   int
	maxLineBytes int
	kafkaSecurityFlags
}

func runProduce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("produce", flag.ContinueOnError)
	var f produceFlags
	fs.StringVar(&f.brokers, "brokers", "127.0.0.1:9092", "comma-separated Kafka `host:port` list")
	fs.StringVar(&f.proxyTopic, "proxy-topic", "proxy-logs", "topic for the proxy access log lines")
	fs.StringVar(&f.appTopic, "app-topic", "app-logs", "topic for the Django auth log lines")
	fs.StringVar(&f.rate, "rate", "1000/s", "lines per second over both topics (`N/s`, N/m, N; 0 = as fast as possible)")
	fs.StringVar(&f.proxy, "proxy", "", "proxy access log `file` to send")
	fs.StringVar(&f.app, "app", "", "Django auth log `file` to send")
	fs.StringVar(&f.proxyFormat, "proxy-format", "nginx", "proxy log format: "+strings.Join(formats.ProxyNames(), ", "))
	fs.StringVar(&f.logFormat, "log-format", "", "the proxy's format definition, or a `file` holding it")
	fs.StringVar(&f.appFormat, "app-format", "django-json", "app log format: "+strings.Join(formats.AppNames(), ", "))
	fs.StringVar(&f.appFormatDef, "app-format-def", "", "the app format's definition or a `file` holding it")
	fs.BoolVar(&f.loop, "loop", false, "start again at the end of the files (event times repeat)")
	fs.Int64Var(&f.count, "count", 0, "stop after this many lines (0: at the end of the files, or never with --loop)")
	fs.IntVar(&f.partitions, "partitions", 0, "create both topics with this many partitions if they do not exist (0: create none)")
	fs.IntVar(&f.maxLineBytes, "max-line-bytes", ingest.DefaultMaxLineBytes, "longer lines are counted and skipped")
	f.kafkaSecurityFlags.register(fs)
	if err := parseArgs(fs, args, stderr,
		"usage: spraywatch produce --brokers HOST:PORT --proxy FILE --app FILE [--rate N/s] [--loop] [flags]",
		"\nSends log lines to Kafka, keyed by request id and placed with the CRC32 partitioner (librdkafka's",
		"default), so the proxy and app topics are co-partitioned when they have the same partition count.",
	); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q (name files with --proxy and --app)", fs.Arg(0))}
	}
	if f.proxy == "" && f.app == "" {
		fs.Usage()
		return errUsage
	}
	rate, err := parseRate(f.rate)
	if err != nil {
		return usageError{err}
	}
	if err := f.check(); err != nil {
		return usageError{err}
	}
	brokers := splitList(f.brokers)
	proxyDef, err := definition("log-format", f.logFormat)
	if err != nil {
		return err
	}
	proxyFmt, err := formats.Proxy(f.proxyFormat, proxyDef)
	if err != nil {
		return err
	}
	appDef, err := definition("app-format-def", f.appFormatDef)
	if err != nil {
		return err
	}
	appFmt, err := formats.App(f.appFormat, appDef)
	if err != nil {
		return err
	}
	kc := ingestkafka.Config{Brokers: brokers, ClientID: "spraywatch-produce"}
	if err := f.kafkaSecurityFlags.apply(&kc); err != nil {
		return err
	}
	transport, err := kc.Transport()
	if err != nil {
		return err
	}
	defer transport.CloseIdleConnections()
	if f.partitions > 0 {
		if err := createTopics(ctx, brokers, transport, f.partitions, f.proxyTopic, f.appTopic); err != nil {
			return err
		}
	}
	w := &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Balancer:               &kafka.CRC32Balancer{},
		Transport:              transport,
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           2 * time.Millisecond,
		BatchSize:              1000,
		AllowAutoTopicCreation: true,
	}
	defer w.Close()

	// A damaged file is told as replay tells it, and a file's first line
	// over the cap by its number, once, however many times --loop reads it.
	warn := func(err error) { fmt.Fprintf(stderr, "spraywatch produce: warning: %v\n", err) }
	maxLine := f.maxLineBytes
	if maxLine <= 0 {
		maxLine = ingest.DefaultMaxLineBytes
	}
	var streams []*lineStream
	if f.proxy != "" {
		streams = append(streams, &lineStream{path: f.proxy, topic: f.proxyTopic, kind: event.Proxy, parser: proxyFmt.NewParser(), maxLine: maxLine, warn: warn})
	}
	if f.app != "" {
		streams = append(streams, &lineStream{path: f.app, topic: f.appTopic, kind: event.App, parser: appFmt.NewParser(), maxLine: maxLine, warn: warn})
	}
	for _, s := range streams {
		if err := s.open(); err != nil {
			return err
		}
		defer s.close()
	}
	p := newPacer(rate, time.Now())
	var sent int64
	batch := make([]kafka.Message, 0, 1000)
	start := time.Now()
	for {
		if err := ctx.Err(); err != nil {
			break
		}
		n := p.allowed(time.Now(), cap(batch))
		if n == 0 {
			select {
			case <-ctx.Done():
			case <-time.After(p.wait()):
			}
			continue
		}
		if f.count > 0 {
			n = int(min(int64(n), f.count-sent))
		}
		batch = batch[:0]
		for len(batch) < n {
			m, ok, err := nextByTime(streams, f.loop)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			batch = append(batch, m)
		}
		if len(batch) == 0 {
			break
		}
		if err := w.WriteMessages(ctx, batch...); err != nil {
			if ctx.Err() != nil {
				break
			}
			return fmt.Errorf("writing to Kafka: %w", err)
		}
		p.took(len(batch))
		sent += int64(len(batch))
		if f.count > 0 && sent >= f.count {
			break
		}
	}
	el := time.Since(start).Seconds()
	fmt.Fprintf(stderr, "produced %d lines in %.1fs (%.0f lines/s)%s\n", sent, el, float64(sent)/max(el, 1e-9), skippedSummary(streams, maxLine))
	return nil
}

// skippedSummary tells how many lines over the cap the streams skipped,
// in all and per file, for produce's closing line: "" for none.
func skippedSummary(streams []*lineStream, maxLine int) string {
	var total int64
	var per []string
	for _, s := range streams {
		if s.tooLong > 0 {
			total += s.tooLong
			per = append(per, fmt.Sprintf("%d in %s", s.tooLong, s.path))
		}
	}
	if total == 0 {
		return ""
	}
	return fmt.Sprintf("; %s longer than %d bytes skipped (%s)", plural(int(total), "line"), maxLine, strings.Join(per, ", "))
}

// check rejects the negative counts, which would otherwise be taken for
// 0 (or, for --max-line-bytes, the default), a --max-line-bytes over the
// limit, and the values wrong on their face (see flagcheck.go).
func (f *produceFlags) check() error {
	var errs []error
	if f.count < 0 {
		errs = append(errs, fmt.Errorf("--count %d: expected 0 (no limit) or more", f.count))
	}
	if f.partitions < 0 {
		errs = append(errs, fmt.Errorf("--partitions %d: expected 0 (create no topic) or more", f.partitions))
	}
	if len(splitList(f.brokers)) == 0 {
		errs = append(errs, fmt.Errorf("--brokers %q: expected a comma-separated list of HOST:PORT", f.brokers))
	}
	errs = append(errs, nonNegative("max-line-bytes", f.maxLineBytes), maxLineBytes(f.maxLineBytes),
		formatFlag("proxy-format", f.proxyFormat, formats.ProxyNames(), false),
		formatFlag("app-format", f.appFormat, formats.AppNames(), false))
	return errors.Join(append(errs, f.kafkaSecurityFlags.check()...)...)
}

// parseRate reads "N/s", "N/m" or "N" (per second).
func parseRate(s string) (float64, error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), "/")
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || !(v >= 0) || math.IsInf(v, 1) {
		return 0, fmt.Errorf("--rate %q: expected N/s, N/m or N lines per second, N 0 (no limit) or more", s)
	}
	switch unit {
	case "", "s":
		return v, nil
	case "m":
		return v / 60, nil
	}
	return 0, fmt.Errorf("--rate %q: unit %q, expected s or m", s, unit)
}

// pacer lets through rate lines per second on average, in batches.
type pacer struct {
	rate  float64 // 0: no limit
	start time.Time
	done  int64
	now   time.Time
}

func newPacer(rate float64, start time.Time) *pacer { return &pacer{rate: rate, start: start} }

// allowed returns how many lines may go now, at most max.
func (p *pacer) allowed(now time.Time, max int) int {
	p.now = now
	if p.rate == 0 {
		return max
	}
	due := int64(now.Sub(p.start).Seconds()*p.rate) - p.done
	if due <= 0 {
		return 0
	}
	// Do not burst more than a tenth of a second's worth after a stall.
	if burst := int64(p.rate/10) + 1; due > burst {
		p.done += due - burst
		due = burst
	}
	return int(min(due, int64(max)))
}

// took records lines sent.
func (p *pacer) took(n int) { p.done += int64(n) }

// wait returns how long until the next line is due.
func (p *pacer) wait() time.Duration {
	next := p.start.Add(time.Duration(float64(p.done+1) / p.rate * float64(time.Second)))
	return max(next.Sub(p.now), time.Millisecond)
}

// lineStream reads one log file and keys each line with its request id.
// A file whose data ends early at damage (see ingest.DamagedError) ends
// there, after its lines before the damage: warn is called with the
// damage the first time. A line longer than maxLine is skipped and
// counted in tooLong once the stream has gone past it (its next line was
// taken, or the file ended): warn is called with the first one.
type lineStream struct {
	path     string
	topic    string
	kind     event.Kind
	parser   ingest.Parser
	maxLine  int
	warn     func(error)
	told     bool  // warn was called with the damage
	toldLong bool  // warn was called with a line over the cap
	tooLong  int64 // lines skipped for length, over every pass

	rc      io.ReadCloser
	lr      *ingest.LineReader
	rec     event.Record
	pending *kafka.Message
	// The lines over the cap just before pending: how many, and the
	// number of the first.
	pendingLong, pendingFirstLong int64
	time                          int64
	ended                         bool
}

func (s *lineStream) open() error {
	rc, err := ingest.Open(s.path)
	if err != nil {
		return fmt.Errorf("opening %s log: %w", s.kind, err)
	}
	s.rc, s.lr, s.ended = rc, ingest.NewLineReader(bufio.NewReader(rc), s.maxLine), false
	return nil
}

func (s *lineStream) close() {
	if s.rc != nil {
		s.rc.Close()
	}
}

// peek reads the stream's next line into pending; false at its end.
func (s *lineStream) peek() (bool, error) {
	if s.pending != nil {
		return true, nil
	}
	if s.ended {
		return false, nil
	}
	long := s.lr.Skipped()
	line, n, err := s.lr.Next()
	if skipped := s.lr.Skipped() - long; skipped > 0 {
		// The over-long lines skipped are the ones just before line n,
		// or, at the end, line n and the ones before it.
		s.pendingLong, s.pendingFirstLong = skipped, n-skipped
		if err != nil {
			s.pendingFirstLong++
			s.skipLong()
		}
	}
	if err == io.EOF {
		s.ended = true
		return false, nil
	}
	var de *ingest.DamagedError
	if errors.As(err, &de) {
		s.ended = true
		if !s.told {
			s.told = true
			d := *de
			d.Source = s.path
			s.warn(&d)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", s.path, err)
	}
	m := &kafka.Message{Topic: s.topic, Value: append([]byte(nil), line...)}
	s.rec.Reset()
	s.rec.Kind = s.kind
	if err := s.parser.Parse(line, &s.rec); err == nil {
		if id := s.rec.Get(event.RequestID); len(id) > 0 {
			m.Key = append([]byte(nil), id...)
		}
		if s.rec.Time != 0 {
			s.time = s.rec.Time
		}
	}
	// Lines that do not parse go out unkeyed, at the time of the line before.
	s.pending = m
	return true, nil
}

// take returns the pending line, which peek read, and counts the lines
// over the cap skipped before it.
func (s *lineStream) take() kafka.Message {
	m := *s.pending
	s.pending = nil
	s.skipLong()
	return m
}

// skipLong counts the lines over the cap the stream has gone past, and
// warns of the first of the file.
func (s *lineStream) skipLong() {
	if s.pendingLong == 0 {
		return
	}
	s.tooLong += s.pendingLong
	if !s.toldLong {
		s.toldLong = true
		s.warn(fmt.Errorf("%s: line %d is longer than %d bytes (--max-line-bytes): it is skipped, not sent, as is any other line over the cap (counted at the end)", s.path, s.pendingFirstLong, s.maxLine))
	}
	s.pendingLong, s.pendingFirstLong = 0, 0
}

// nextByTime returns the pending line of the earliest event time across
// the streams, so a request's proxy and app lines go out close together.
// With loop, the files start again once all of them ended.
func nextByTime(streams []*lineStream, loop bool) (kafka.Message, bool, error) {
	for round := 0; round < 2; round++ {
		var best *lineStream
		for _, s := range streams {
			ok, err := s.peek()
			if err != nil {
				return kafka.Message{}, false, err
			}
			if ok && (best == nil || s.time < best.time) {
				best = s
			}
		}
		if best != nil {
			return best.take(), true, nil
		}
		if !loop {
			break
		}
		for _, s := range streams {
			s.close()
			if err := s.open(); err != nil {
				return kafka.Message{}, false, err
			}
			s.time = 0
		}
	}
	return kafka.Message{}, false, nil
}

// createTopics creates the topics with n partitions each; topics that exist
// are left as they are.
func createTopics(ctx context.Context, brokers []string, t *kafka.Transport, n int, topics ...string) error {
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: t, Timeout: 10 * time.Second}
	req := &kafka.CreateTopicsRequest{}
	for _, tp := range topics {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: tp, NumPartitions: n, ReplicationFactor: 1})
	}
	resp, err := c.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("creating topics: %w", err)
	}
	for tp, err := range resp.Errors {
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return fmt.Errorf("creating topic %s: %w", tp, err)
		}
	}
	return nil
}
