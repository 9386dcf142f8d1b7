package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// logLine is one record a recordingHandler took: its level, message and
// attributes as text.
type logLine struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (l logLine) String() string { return fmt.Sprintf("%s %q %v", l.level, l.msg, l.attrs) }

// recordingHandler is a slog handler keeping the records it is given.
type recordingHandler struct {
	mu    sync.Mutex
	lines []logLine
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler            { return h }

func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	l := logLine{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		l.attrs[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, l)
	return nil
}

// all returns the records taken so far.
func (h *recordingHandler) all() []logLine {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]logLine(nil), h.lines...)
}

// with returns the records of message msg.
func (h *recordingHandler) with(msg string) []logLine {
	var out []logLine
	for _, l := range h.all() {
		if l.msg == msg {
			out = append(out, l)
		}
	}
	return out
}

// sum adds up the integer attribute key of the records of message msg.
func (h *recordingHandler) sum(t *testing.T, msg, key string) uint64 {
	t.Helper()
	var n uint64
	for _, l := range h.with(msg) {
		v, err := strconv.ParseUint(l.attrs[key], 10, 64)
		if err != nil {
			t.Fatalf("%s: attribute %s: %v", l, key, err)
		}
		n += v
	}
	return n
}

const (
	msgFailed    = "alert output failed to deliver"
	msgRecovered = "alert output recovered"
	msgDropped   = "alert output dropped alerts"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestDeliveryLogPace drives one output's log with failures, deliveries,
// drops and ticks on a clock of its own: the first failure of each outage
// and the first drop are logged at once, then one line per interval at
// most, counting what was not logged; a delivery after a logged failure
// logs the recovery; a tick logs what was held back once its interval
// passed, and flush whatever the pace.
func TestDeliveryLogPace(t *testing.T) {
	refused := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	status := errors.New("HTTP 500 Internal Server Error")
	type step struct {
		after time.Duration // clock moves first
		do    func(d *deliveryLog)
	}
	fail := func(err error) func(*deliveryLog) { return func(d *deliveryLog) { d.failedAttempt(err) } }
	ok := func(d *deliveryLog) { d.delivered() }
	drop := func(n int, reason string, err error) func(*deliveryLog) {
		return func(d *deliveryLog) { d.drop(n, reason, err) }
	}
	flush := func(d *deliveryLog) { d.flush() }
	tick := func(d *deliveryLog) { d.tick() }
	type line struct {
		msg   string
		attrs map[string]string // checked; output and type are always
	}
	failed := func(n, err string) line { return line{msgFailed, map[string]string{"failed": n, "err": err}} }
	tests := []struct {
		name  string
		steps []step
		want  []line
	}{
		{"first failure at once, then one line per interval", []step{
			{0, fail(refused)},
			{time.Second, fail(refused)},
			{time.Second, fail(status)},
			{10 * time.Second, fail(status)},  // 12s: held back
			{18 * time.Second, fail(refused)}, // 30s: due
			{time.Second, flush},              // nothing held back
		}, []line{
			failed("1", refused.Error()),
			failed("4", refused.Error()),
		}},
		{"recovery after a logged failure", []step{
			{0, fail(refused)},
			{time.Second, fail(status)},
			{2 * time.Second, ok},
			{time.Second, ok}, // up: nothing more
		}, []line{
			failed("1", refused.Error()),
			{msgRecovered, map[string]string{"failed": "2", "down_for": "3s", "last_err": status.Error()}},
		}},
		{"a new outage within the interval after a recovery is logged at once", []step{
			{0, fail(refused)},
			{time.Second, ok},
			{time.Second, fail(status)}, // 2s after the failure line: a new outage
			{time.Second, ok},
			{40 * time.Second, fail(refused)},
		}, []line{
			failed("1", refused.Error()),
			{msgRecovered, map[string]string{"failed": "1", "down_for": "1s"}},
			failed("1", status.Error()),
			{msgRecovered, map[string]string{"failed": "1", "down_for": "1s", "last_err": status.Error()}},
			failed("1", refused.Error()),
		}},
		{"a second outage over before the interval ends is logged", []step{
			{0, fail(refused)},
			{time.Second, ok},
			{5 * time.Second, fail(status)}, // 6s: logged at once
			{time.Second, fail(status)},     // held back
			{time.Second, fail(status)},
			{time.Second, fail(status)},
			{time.Second, ok}, // 10s: the recovery counts them
			{time.Hour, tick}, // nothing held back
		}, []line{
			failed("1", refused.Error()),
			{msgRecovered, map[string]string{"failed": "1", "down_for": "1s"}},
			failed("1", status.Error()),
			{msgRecovered, map[string]string{"failed": "4", "down_for": "4s", "last_err": status.Error()}},
		}},
		{"failures held back are logged at the first tick an interval after the last line", []step{
			{0, fail(refused)},
			{time.Second, fail(refused)},
			{time.Second, fail(status)},
			{10 * time.Second, tick},    // 12s: not due
			{17 * time.Second, tick},    // 29s: not due
			{time.Second, tick},         // 30s: due
			{time.Minute, tick},         // nothing held back
			{time.Second, fail(status)}, // 91s: due, at once
		}, []line{
			failed("1", refused.Error()),
			failed("2", status.Error()),
			failed("1", status.Error()),
		}},
		{"a burst of drops is logged at the first tick an interval after the first", []step{
			{0, drop(1, dropQueueFull, nil)},
			{0, drop(998, dropQueueFull, nil)},
			{time.Second, drop(1, dropStopped, nil)},
			{28 * time.Second, tick}, // 29s: not due
			{time.Second, tick},      // 30s: due
			{time.Hour, tick},        // nothing held back
			{0, flush},
		}, []line{
			{msgDropped, map[string]string{"dropped": "1", "reason": dropQueueFull}},
			{msgDropped, map[string]string{"dropped": "999", "reason": dropStopped, "reasons": dropQueueFull + ": 998, " + dropStopped + ": 1"}},
		}},
		{"drops: first at once, then one line per interval, reasons counted", []step{
			{0, drop(1, dropQueueFull, refused)},
			{time.Second, drop(3, dropQueueFull, nil)},
			{time.Second, drop(2, dropAttempts, status)},
			{30 * time.Second, drop(1, dropAttempts, status)},
			{time.Second, drop(5, dropStopped, nil)},
			{0, flush},
		}, []line{
			{msgDropped, map[string]string{"dropped": "1", "reason": dropQueueFull, "err": refused.Error()}},
			{msgDropped, map[string]string{"dropped": "6", "reason": dropAttempts, "err": status.Error(),
				"reasons": dropAttempts + ": 3, " + dropQueueFull + ": 3"}},
			{msgDropped, map[string]string{"dropped": "5", "reason": dropStopped, "err": ""}},
		}},
		{"failures and drops are paced apart", []step{
			{0, fail(refused)},
			{time.Second, drop(1, dropAttempts, refused)},
			{time.Second, fail(refused)},
			{time.Second, flush},
		}, []line{
			failed("1", refused.Error()),
			{msgDropped, map[string]string{"dropped": "1", "reason": dropAttempts}},
			failed("1", refused.Error()),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			var h recordingHandler
			d := newDeliveryLog("am", "alertmanager")
			d.setLimit(LogLimit{Every: 30 * time.Second, Now: clock.Now})
			d.setLogger(slog.New(&h))
			for _, s := range tt.steps {
				clock.advance(s.after)
				s.do(d)
			}
			got := h.all()
			if len(got) != len(tt.want) {
				t.Fatalf("%d lines, want %d:\n%v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				l := got[i]
				if l.msg != w.msg || l.attrs["output"] != "am" || l.attrs["type"] != "alertmanager" {
					t.Errorf("line %d: %v, want message %q of output am", i, l, w.msg)
				}
				for k, v := range w.attrs {
					if l.attrs[k] != v {
						t.Errorf("line %d: %s=%q, want %q (%v)", i, k, l.attrs[k], v, l)
					}
				}
			}
		})
	}
}

// TestDeliveryLogBeforeLogger: what happens before a fan-out gives the
// log a logger is logged once it has one.
func TestDeliveryLogBeforeLogger(t *testing.T) {
	var h recordingHandler
	d := newDeliveryLog("hook", "webhook")
	d.setLimit(LogLimit{Every: time.Hour})
	refused := errors.New("connection refused")
	d.failedAttempt(refused)
	d.failedAttempt(refused)
	d.drop(2, dropSpoolFull, nil)
	d.setLogger(slog.New(&h))
	if got := h.with(msgFailed); len(got) != 1 || got[0].attrs["failed"] != "2" {
		t.Errorf("failure lines %v, want one counting 2", got)
	}
	if got := h.with(msgDropped); len(got) != 1 || got[0].attrs["dropped"] != "2" || got[0].attrs["reason"] != dropSpoolFull {
		t.Errorf("drop lines %v, want one counting 2", got)
	}
	d.delivered()
	if got := h.with(msgRecovered); len(got) != 1 || got[0].attrs["failed"] != "2" {
		t.Errorf("recovery lines %v, want one counting 2", got)
	}
	if first, last := d.causes(); first != refused || last != refused {
		t.Errorf("causes %v, %v; want the failures", first, last)
	}
}

// refusingSink refuses every alert, counting it dropped, as a file output
// whose disk is full does.
type refusingSink struct{ stats SinkStats }

func (s *refusingSink) Send(context.Context, *Alert) error {
	s.stats.Dropped.Add(1)
	return errors.New("disk full")
}
func (s *refusingSink) Close() error      { return nil }
func (s *refusingSink) Stats() *SinkStats { return &s.stats }

// TestFanoutLogsHeldBackOnTick: a burst of drops after the first drop
// line is logged at the first tick an interval later, with no further
// drop to carry it, while the fan-out runs; closing or shutting the
// fan-out down stops its ticks (the goroutine taking them has ended when
// Close or Shutdown returns). The limit is set after the logger, as
// serve may: the ticks follow it.
func TestFanoutLogsHeldBackOnTick(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(f *Fanout) error
	}{
		{"close", func(f *Fanout) error { return f.Close() }},
		{"shutdown", func(f *Fanout) error {
			_, err := f.Shutdown(context.Background())
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			ticks := make(chan time.Time)
			// tick has the fan-out look for what is due; the second send
			// is taken once the first tick's lines are logged.
			tick := func() {
				ticks <- clock.Now()
				ticks <- clock.Now()
			}
			var h recordingHandler
			s := &refusingSink{}
			s.stats.Type, s.stats.Name = "file", "archive"
			f := NewFanout(Routed{Sink: s})
			f.SetLogger(slog.New(&h))
			f.SetLogLimit(LogLimit{Now: clock.Now, Tick: ticks})
			for i := range 1000 {
				f.Send(context.Background(), testAlert("i", i+1, "u"))
			}
			tick()
			if got := h.sum(t, msgDropped, "dropped"); got != 1 {
				t.Errorf("before the interval, %d drops logged, want the first alone: %v", got, h.all())
			}
			clock.advance(DefaultLogEvery)
			tick()
			if got := h.sum(t, msgDropped, "dropped"); got != 1000 {
				t.Errorf("an interval after 1000 drops, %d logged: %v", got, h.all())
			}
			if err := tt.end(f); err != nil {
				t.Fatal(err)
			}
			select {
			case ticks <- clock.Now():
				t.Error("a tick was taken after the fan-out ended")
			default:
			}
			if n := len(h.all()); n != 2 {
				t.Errorf("%d lines, want 2: %v", n, h.all())
			}
		})
	}
}

// TestFanoutTicksByDefault: with no ticks of its own, a fan-out logs what
// it held back within its interval, on its own ticker (run on the fake
// clock of a synctest bubble, which also requires the ticker's goroutine
// to end with Close).
func TestFanoutTicksByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var h recordingHandler
		s := &refusingSink{}
		s.stats.Type, s.stats.Name = "file", "archive"
		f := NewFanout(Routed{Sink: s})
		f.SetLogger(slog.New(&h))
		for i := range 10 {
			f.Send(context.Background(), testAlert("i", i+1, "u"))
		}
		time.Sleep(DefaultLogEvery - time.Second)
		synctest.Wait()
		if got := h.sum(t, msgDropped, "dropped"); got != 1 {
			t.Errorf("within the interval, %d drops logged, want the first alone: %v", got, h.all())
		}
		time.Sleep(LogLimit{}.tickEvery() + time.Second)
		synctest.Wait()
		if got := h.sum(t, msgDropped, "dropped"); got != 10 {
			t.Errorf("a tick after the interval, %d drops logged of 10: %v", got, h.all())
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// flaky answers the first n requests with status and body, then 200.
type flaky struct {
	n      atomic.Int64
	status int
	body   string
	ok     atomic.Int64
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.n.Add(-1) >= 0 {
		http.Error(w, f.body, f.status)
		return
	}
	f.ok.Add(1)
}

// hostileBody is what a receiver might echo of an alert: a username with
// a terminal escape, and a newline starting a forged log line.
const hostileBody = "bad user \x1b[31malice\x1b[0m\ntime=2026-01-01T00:00:00Z level=INFO msg=\"alert output recovered\" output=x"

// TestFanoutLogsDeliveryFailures runs outputs against real receivers on
// 127.0.0.1 (a closed port, an HTTP server answering 500 or 400 before
// 200) through a fan-out, and checks the lines logged: the first failure
// with its cause, the recovery, the drops with their reason, every drop
// accounted for once the fan-out is closed, and no receiver's text
// unescaped in the log.
func TestFanoutLogsDeliveryFailures(t *testing.T) {
	const n = 6
	backoff := func() *Backoff {
		return &Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond, Rand: rand.New(rand.NewPCG(1, 2))}
	}
	queue := func(attempts int) QueueOptions {
		return QueueOptions{MaxBatch: 1, MaxAttempts: attempts, DrainTimeout: 10 * time.Second, Backoff: backoff()}
	}
	server := func(t *testing.T, h http.Handler) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	tests := []struct {
		name string
		open func(t *testing.T, ctx context.Context) StatsSink
		// The lines wanted: err of the first failure holds cause; a
		// recovery line or none; drops with reason, or none.
		cause     string
		recovered bool
		reason    string
	}{
		{"alertmanager, closed port", func(t *testing.T, ctx context.Context) StatsSink {
			s, err := NewAlertmanager(ctx, AlertmanagerOptions{Name: "am", URL: "http://" + freeAddr(t), Queue: queue(2)})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, "connection refused", false, dropAttempts},
		{"syslog tcp, closed port", func(t *testing.T, ctx context.Context) StatsSink {
			s, err := NewSyslog(ctx, SyslogOptions{Name: "siem", Network: "tcp", Address: freeAddr(t), Queue: queue(2)})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, "connection refused", false, dropAttempts},
		{"alertmanager, 500 then 200", func(t *testing.T, ctx context.Context) StatsSink {
			f := &flaky{status: http.StatusInternalServerError, body: hostileBody}
			f.n.Store(3)
			s, err := NewAlertmanager(ctx, AlertmanagerOptions{Name: "am", URL: server(t, f), Queue: queue(-1)})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, "HTTP 500 Internal Server Error: body ", true, ""},
		{"webhook, 500 then 200", func(t *testing.T, ctx context.Context) StatsSink {
			f := &flaky{status: http.StatusInternalServerError, body: hostileBody}
			f.n.Store(3)
			s, err := NewWebhook(ctx, WebhookOptions{Name: "hook", URL: server(t, f), SpoolDir: filepath.Join(t.TempDir(), "spool"), Backoff: backoff()})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, "HTTP 500 Internal Server Error: body ", true, ""},
		{"webhook, 400 then 200", func(t *testing.T, ctx context.Context) StatsSink {
			f := &flaky{status: http.StatusBadRequest, body: hostileBody}
			f.n.Store(2)
			s, err := NewWebhook(ctx, WebhookOptions{Name: "hook", URL: server(t, f), SpoolDir: filepath.Join(t.TempDir(), "spool"), Backoff: backoff()})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, "HTTP 400 Bad Request: body ", true, dropRefused},
		{"webhook, closed port, attempts exhausted", func(t *testing.T, ctx context.Context) StatsSink {
			s, err := NewWebhook(ctx, WebhookOptions{Name: "hook", URL: "http://" + freeAddr(t), SpoolDir: filepath.Join(t.TempDir(), "spool"),
				MaxAttempts: 2, Backoff: backoff()})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, "connection refused", false, dropAttempts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out := tt.open(t, ctx)
			var h recordingHandler
			var text bytes.Buffer
			var textMu sync.Mutex
			fan := NewFanout(Routed{Sink: out})
			fan.SetLogger(slog.New(teeHandler{&h, slog.NewTextHandler(lockedWriter{&text, &textMu}, nil)}))
			clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} // still: one line of each kind until the flush
			fan.SetLogLimit(LogLimit{Every: time.Minute, Now: clock.Now})
			for i := range n {
				if err := fan.Send(ctx, testAlert("i", i+1, "u")); err != nil {
					t.Fatal(err)
				}
			}
			st := out.Stats()
			waitFor(t, 20*time.Second, "every alert delivered or dropped", func() bool {
				return st.Delivered.Load()+st.Dropped.Load() >= n
			})
			if err := fan.Close(); err != nil {
				t.Fatal(err)
			}

			failed := h.with(msgFailed)
			if len(failed) == 0 || !strings.Contains(failed[0].attrs["err"], tt.cause) || failed[0].attrs["failed"] != "1" || failed[0].level != slog.LevelWarn {
				t.Errorf("first failure line %v, want one failure with %q in err", failed, tt.cause)
			}
			if got := h.sum(t, msgFailed, "failed") + recoveredFailures(t, &h); got != st.Failures.Load() {
				t.Errorf("failures logged %d, counted %d:\n%v", got, st.Failures.Load(), h.all())
			}
			rec := h.with(msgRecovered)
			if tt.recovered != (len(rec) == 1) || len(rec) > 1 {
				t.Errorf("recovery lines %v, want recovered=%v", rec, tt.recovered)
			}
			drops := h.with(msgDropped)
			if tt.reason == "" && len(drops) > 0 {
				t.Errorf("drop lines %v, want none", drops)
			}
			if tt.reason != "" && (len(drops) == 0 || drops[0].attrs["reason"] != tt.reason || drops[0].level != slog.LevelError) {
				t.Errorf("drop lines %v, want the first for %q", drops, tt.reason)
			}
			if got := h.sum(t, msgDropped, "dropped"); got != st.Dropped.Load() {
				t.Errorf("drops logged %d, counted %d:\n%v", got, st.Dropped.Load(), h.all())
			}
			if d := fan.Deliveries()[0]; d.Cause == nil || !strings.Contains(d.Cause.Error(), tt.cause) {
				t.Errorf("Deliveries: cause %v, want %q in it", d.Cause, tt.cause)
			}

			// The receiver's text is quoted: one record per line, no
			// escape character.
			textMu.Lock()
			logged := text.String()
			textMu.Unlock()
			lines := strings.Split(strings.TrimSuffix(logged, "\n"), "\n")
			if len(lines) != len(h.all()) {
				t.Errorf("%d log lines for %d records:\n%s", len(lines), len(h.all()), logged)
			}
			for _, l := range lines {
				if !strings.HasPrefix(l, "time=") || strings.HasPrefix(l, "time=2026-01-01T00:00:00Z") {
					t.Errorf("log line not a record of its own: %q", l)
				}
			}
			if strings.Contains(logged, "\x1b") {
				t.Errorf("escape character in the log:\n%q", logged)
			}
		})
	}
}

// recoveredFailures adds up the failures the recovery lines count beyond
// the failure lines before them: each recovery line counts the failures
// of its outage, the first of which (at least) a failure line counted.
func recoveredFailures(t *testing.T, h *recordingHandler) uint64 {
	t.Helper()
	var n, sinceLine uint64
	for _, l := range h.all() {
		switch l.msg {
		case msgFailed:
			v, _ := strconv.ParseUint(l.attrs["failed"], 10, 64)
			sinceLine += v
		case msgRecovered:
			v, _ := strconv.ParseUint(l.attrs["failed"], 10, 64)
			if v > sinceLine {
				n += v - sinceLine
			}
			sinceLine = 0
		}
	}
	return n
}

// teeHandler hands each record to two handlers.
type teeHandler struct{ a, b slog.Handler }

func (t teeHandler) Enabled(context.Context, slog.Level) bool { return true }
func (t teeHandler) WithAttrs([]slog.Attr) slog.Handler       { return t }
func (t teeHandler) WithGroup(string) slog.Handler            { return t }
func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	return errors.Join(t.a.Handle(ctx, r.Clone()), t.b.Handle(ctx, r))
}

// lockedWriter serializes writes to a buffer.
type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func TestStatusError(t *testing.T) {
	long := strings.Repeat("é", excerptBytes) // 2 bytes each: cut within
	tests := []struct {
		name string
		code int
		body string
		want string
	}{
		{"no body", 503, "  \n", "HTTP 503 Service Unavailable"},
		{"body quoted", 500, "oops\x1b[31m\n", `HTTP 500 Internal Server Error: body "oops\x1b[31m"`},
		{"invalid UTF-8", 400, "a\xffb", `HTTP 400 Bad Request: body "a\xffb"`},
		{"long body cut at a rune", 500, long, `HTTP 500 Internal Server Error: body "` + long[:excerptBytes] + `" (cut)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := statusError(tt.code, []byte(tt.body)).Error(); got != tt.want {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}
