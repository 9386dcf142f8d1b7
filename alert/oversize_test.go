package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// bigAlert is alert seq of incident inc with a username of n bytes.
func bigAlert(inc string, seq, n int) *Alert {
	return testAlert(inc, seq, strings.Repeat("u", n))
}

// oversizeBatch returns n alerts of which those at the indexes in big
// carry a username of size bytes.
func oversizeBatch(n, size int, big ...int) []*Alert {
	batch := make([]*Alert, n)
	for i := range batch {
		batch[i] = testAlert(fmt.Sprintf("inc-%d", i), 1, "bob")
		if slices.Contains(big, i) {
			batch[i] = bigAlert(fmt.Sprintf("inc-%d", i), 1, size)
		}
	}
	return batch
}

// ids returns the ids of alerts.
func ids(alerts []*Alert) []string {
	var out []string
	for _, a := range alerts {
		out = append(out, a.ID)
	}
	return out
}

// TestQueueIsolatesOversizeAlerts checks that an alert a delivery fails on
// for its size is dropped alone, with its own reason, whatever the output
// says of which alert it is, and that the others are delivered once.
func TestQueueIsolatesOversizeAlerts(t *testing.T) {
	const limit = 1000
	tooBig := func(a *Alert) bool { return len(a.Sample.UserNames[0]) > limit }
	cases := []struct {
		name string
		big  []int
		// deliver delivers batch into *got, or fails as the output does.
		deliver func(got *[]*Alert, batch []*Alert) error
	}{
		{"at: the alerts before it delivered", []int{2, 5}, func(got *[]*Alert, batch []*Alert) error {
			for i, a := range batch {
				if tooBig(a) {
					return &oversizeError{At: i, Err: errors.New("message too long")}
				}
				*got = append(*got, a)
			}
			return nil
		}},
		{"unknown: nothing delivered", []int{0, 7}, func(got *[]*Alert, batch []*Alert) error {
			if slices.ContainsFunc(batch, tooBig) {
				return &oversizeError{At: -1, Err: errors.New("413")}
			}
			*got = append(*got, batch...)
			return nil
		}},
		{"unknown: some delivered", []int{3}, func(got *[]*Alert, batch []*Alert) error {
			if !slices.ContainsFunc(batch, tooBig) {
				*got = append(*got, batch...)
				return nil
			}
			// Even alerts go in a batch that succeeds, odd ones fail
			// with the big one.
			var left []int
			for i, a := range batch {
				if i%2 == 0 && !tooBig(a) {
					*got = append(*got, a)
				} else {
					left = append(left, i)
				}
			}
			return &oversizeError{At: -1, Left: left, Err: kafka.MessageSizeTooLarge}
		}},
		{"every alert too big", []int{0, 1, 2, 3, 4, 5, 6, 7}, func(got *[]*Alert, batch []*Alert) error {
			return &oversizeError{At: -1, Err: errors.New("413")}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const n = 8
			batch := oversizeBatch(n, 2*limit, tc.big...)
			var got []*Alert
			stats := &SinkStats{Type: "test", Name: "t"}
			q := newQueue(context.Background(), stats, QueueOptions{MaxAttempts: 2, Backoff: &Backoff{Initial: time.Millisecond}},
				func(_ context.Context, b []*Alert) error { return tc.deliver(&got, b) })
			h := &recordingHandler{}
			q.dlog.setLogger(slog.New(h))
			q.send(batch)

			var want []*Alert
			for i, a := range batch {
				if !slices.Contains(tc.big, i) {
					want = append(want, a)
				}
			}
			slices.SortFunc(got, func(a, b *Alert) int { return strings.Compare(a.ID, b.ID) })
			if !slices.Equal(ids(got), ids(want)) {
				t.Errorf("delivered %v, want %v", ids(got), ids(want))
			}
			if d := stats.Delivered.Load(); d != uint64(len(want)) {
				t.Errorf("Delivered = %d, want %d", d, len(want))
			}
			if d := stats.Dropped.Load(); d != uint64(len(tc.big)) {
				t.Errorf("Dropped = %d, want %d", d, len(tc.big))
			}
			if r := stats.Retries.Load(); r != 0 {
				t.Errorf("Retries = %d: an oversize alert is not retried", r)
			}
			drops := h.with("alert output dropped alerts")
			if len(drops) == 0 || drops[0].attrs["reason"] != dropOversize {
				t.Errorf("drop lines %v, want reason %q", drops, dropOversize)
			}
		})
	}
}

// TestKafkaOversizeAlertDroppedAlone checks that an alert over the
// producer's or the broker's message size limit does not take the other
// alerts of its batch down with it.
func TestKafkaOversizeAlertDroppedAlone(t *testing.T) {
	cases := []struct {
		name        string
		brokerLimit int // message.max.bytes; 0: the default
		size        int
	}{
		{"over the broker's message.max.bytes", 50000, 100000},
		{"over the producer's batch bytes", 0, 2 << 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			opts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(1, "alerts")}
			if tc.brokerLimit > 0 {
				opts = append(opts, kfake.BrokerConfigs(map[string]string{"message.max.bytes": fmt.Sprint(tc.brokerLimit)}))
			}
			c, err := kfake.NewCluster(opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			k, err := NewKafka(ctx, KafkaOptions{Name: "soc", Brokers: c.ListenAddrs(), Topic: "alerts",
				Queue: QueueOptions{MaxAttempts: 2, Backoff: &Backoff{Initial: time.Millisecond}}})
			if err != nil {
				t.Fatal(err)
			}
			batch := oversizeBatch(5, tc.size, 2)
			k.queue.send(batch) // one batch, as the queue's goroutine makes them
			if err := k.Close(); err != nil {
				t.Fatal(err)
			}
			st := k.Stats()
			if st.Delivered.Load() != 4 || st.Dropped.Load() != 1 {
				t.Errorf("delivered %d, dropped %d; want 4 and 1", st.Delivered.Load(), st.Dropped.Load())
			}
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: c.ListenAddrs(), Topic: "alerts", MaxWait: 200 * time.Millisecond})
			defer r.Close()
			var got []string
			for range 4 {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(m.Key))
			}
			want := []string{"inc-0", "inc-1", "inc-3", "inc-4"}
			if !slices.Equal(got, want) {
				t.Errorf("topic holds %v, want %v", got, want)
			}
		})
	}
}

// TestSyslogUDPOversizeAlertDroppedAlone checks that an alert whose message
// does not fit in a datagram is dropped alone, the others of its batch
// sent once each.
func TestSyslogUDPOversizeAlertDroppedAlone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c := &collector{}
	go func() {
		buf := make([]byte, 65536)
		for {
			k, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			c.add(string(buf[:k]))
		}
	}()
	s, err := NewSyslog(ctx, SyslogOptions{Name: "siem", Network: "udp", Address: pc.LocalAddr().String(),
		Queue: QueueOptions{MaxAttempts: 2, Backoff: &Backoff{Initial: time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	batch := oversizeBatch(4, 70000, 1)
	s.queue.send(batch)
	waitFor(t, 5*time.Second, "3 datagrams", func() bool { return c.len() >= 3 })
	s.Close()
	st := s.Stats()
	if st.Delivered.Load() != 3 || st.Dropped.Load() != 1 {
		t.Errorf("delivered %d, dropped %d; want 3 and 1", st.Delivered.Load(), st.Dropped.Load())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var got []string
	for _, m := range c.msgs {
		p, err := parseSyslog(m)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.sd["incident"])
	}
	if want := []string{"inc-0", "inc-2", "inc-3"}; !slices.Equal(got, want) {
		t.Errorf("received %v, want %v", got, want)
	}
}

// TestAlertmanagerOversizeAlertDroppedAlone checks that a 413 (a proxy's
// body limit) drops only the alert that does not fit.
func TestAlertmanagerOversizeAlertDroppedAlone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.MaxBytesHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var as []amAlert
		if err := json.NewDecoder(r.Body).Decode(&as); err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, a := range as {
			got = append(got, a.Labels["identity"])
		}
	}), 20000))
	defer srv.Close()
	m, err := NewAlertmanager(ctx, AlertmanagerOptions{URL: srv.URL, ResendInterval: time.Hour,
		Queue: QueueOptions{MaxAttempts: 2, Backoff: &Backoff{Initial: time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	batch := oversizeBatch(3, 50000, 0)
	m.queue.send(batch)
	m.Close()
	st := m.Stats()
	if st.Delivered.Load() != 2 || st.Dropped.Load() != 1 {
		t.Errorf("delivered %d, dropped %d; want 2 and 1", st.Delivered.Load(), st.Dropped.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"CN=client-inc-1", "CN=client-inc-2"}; !slices.Equal(got, want) {
		t.Errorf("received %v, want %v", got, want)
	}
}

// amLimitServer is an Alertmanager behind a proxy whose body limit
// answers 413 to a post over limit bytes. It keeps the alerts of the
// posts it took.
type amLimitServer struct {
	*httptest.Server
	mu      sync.Mutex
	got     []amAlert
	refused int // posts answered 413
}

func newAMLimitServer(t *testing.T, limit int64) *amLimitServer {
	s := &amLimitServer{}
	s.Server = httptest.NewServer(http.MaxBytesHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var as []amAlert
		if err := json.NewDecoder(r.Body).Decode(&as); err != nil {
			s.mu.Lock()
			s.refused++
			s.mu.Unlock()
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.got = append(s.got, as...)
	}), limit))
	t.Cleanup(s.Close)
	return s
}

// refusals returns the number of posts answered 413.
func (s *amLimitServer) refusals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// keys returns the amKey of each alert the server took, sorted.
func (s *amLimitServer) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, a := range s.got {
		out = append(out, amKey(a))
	}
	slices.Sort(out)
	return out
}

// amKey names a posted alert: its identity and severity, and "ended" if
// it carries an endsAt.
func amKey(a amAlert) string {
	k := a.Labels["identity"] + " " + a.Labels["severity"]
	if a.EndsAt != "" {
		k += " ended"
	}
	return k
}

// escalate gives m a firing incident "end-i" for each size, its alert
// with a username of that many bytes, then gives up on the batch that
// escalates each to critical: m holds the end of each old label set,
// to send with its next post. It returns the names of those ends.
func escalate(m *Alertmanager, sizes []int) []string {
	var first, up []*Alert
	var ends []string
	for i, n := range sizes {
		inc := fmt.Sprintf("end-%d", i)
		first = append(first, bigAlert(inc, 1, n))
		a := testAlert(inc, 2, "u")
		a.Severity = SeverityCritical
		up = append(up, a)
		ends = append(ends, "CN=client-"+inc+" high ended")
	}
	_, _, changes := m.plan(first)
	m.apply(changes)
	m.gaveUp(up)
	return ends
}

// TestAlertmanagerPendingEndsApart checks that the ends of old label sets
// waiting for the next post cannot, for their size, take the alerts of
// that post down with them: the ends go apart, in parts that halve on a
// 413, and only an end too large alone is dropped.
func TestAlertmanagerPendingEndsApart(t *testing.T) {
	const limit = 8000
	cases := []struct {
		name    string
		ends    []int // username size of each ended incident's old alert
		tooBig  []int // indexes of the ends that do not fit alone
		wantRef bool  // a post is refused
	}{
		{"ends that fit with the batch", []int{10, 10}, nil, false},
		{"many ends", slices.Repeat([]int{300}, 40), nil, true},
		{"long ends", []int{3000, 3000, 3000, 3000}, nil, true},
		{"an end too large alone", []int{200, 2 * limit, 200}, []int{1}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv := newAMLimitServer(t, limit)
			m, err := NewAlertmanager(ctx, AlertmanagerOptions{URL: srv.URL, ResendInterval: time.Hour,
				Queue: QueueOptions{MaxAttempts: 2, Backoff: &Backoff{Initial: time.Millisecond}}})
			if err != nil {
				t.Fatal(err)
			}
			h := &recordingHandler{}
			m.dlog.setLogger(slog.New(h))
			ends := escalate(m, tc.ends)
			dropped0 := m.stats.Dropped.Load() // the escalations given up on
			batch := oversizeBatch(3, 0)
			m.queue.send(batch)
			m.Close()

			var want []string
			for i, e := range ends {
				if !slices.Contains(tc.tooBig, i) {
					want = append(want, e)
				}
			}
			for _, a := range batch {
				want = append(want, a.Group["tls.client.subject"]+" high")
			}
			slices.Sort(want)
			if got := srv.keys(); !slices.Equal(got, want) {
				t.Errorf("received %q,\nwant %q", got, want)
			}
			st := m.Stats()
			if d := st.Delivered.Load(); d != 3 {
				t.Errorf("Delivered = %d, want 3", d)
			}
			if d := st.Dropped.Load() - dropped0; d != uint64(len(tc.tooBig)) {
				t.Errorf("Dropped = %d, want %d", d, len(tc.tooBig))
			}
			if len(m.ending) != 0 {
				t.Errorf("%d ends still pending", len(m.ending))
			}
			if n := srv.refusals(); n > 0 != tc.wantRef {
				t.Errorf("%d posts refused", n)
			}
			if len(tc.tooBig) > 0 {
				drops := h.with("alert output dropped alerts")
				if len(drops) == 0 || drops[len(drops)-1].attrs["reason"] != dropOversize {
					t.Errorf("drop lines %v, want reason %q", drops, dropOversize)
				}
			}
		})
	}
}

// TestAlertmanagerResendSplitsOn413 checks that a periodic re-send
// answered 413 is split in halves down to single alerts: the alerts that
// fit are re-sent, and one that does not fit alone is dropped, counted
// and forgotten, so the next re-sends go through.
func TestAlertmanagerResendSplitsOn413(t *testing.T) {
	const limit = 8000
	cases := []struct {
		name   string
		firing []int // username size of each firing incident's alert
		ends   []int // username size of each pending end, as in escalate
		tooBig []string
	}{
		{"every alert fits", slices.Repeat([]int{300}, 30), nil, nil},
		{"one alert too large", []int{10, 10, 10, 2 * limit, 10, 10}, nil, []string{"CN=client-inc-3 high"}},
		{"every alert too large", []int{2 * limit, 2 * limit}, nil, []string{"CN=client-inc-0 high", "CN=client-inc-1 high"}},
		{"ends and firing", []int{300, 2 * limit, 300}, []int{3000, 2 * limit, 3000},
			[]string{"CN=client-inc-1 high", "CN=client-end-1 high ended"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv := newAMLimitServer(t, limit)
			m, err := NewAlertmanager(ctx, AlertmanagerOptions{URL: srv.URL, ResendInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			h := &recordingHandler{}
			m.dlog.setLogger(slog.New(h))
			var want []string
			for _, e := range escalate(m, tc.ends) {
				if !slices.Contains(tc.tooBig, e) {
					want = append(want, e)
				}
			}
			for i := range tc.ends {
				want = append(want, fmt.Sprintf("CN=client-end-%d critical", i))
			}
			var firing []*Alert
			for i, n := range tc.firing {
				a := bigAlert(fmt.Sprintf("inc-%d", i), 1, n)
				firing = append(firing, a)
				if k := a.Group["tls.client.subject"] + " high"; !slices.Contains(tc.tooBig, k) {
					want = append(want, k)
				}
			}
			_, _, changes := m.plan(firing)
			m.apply(changes)
			dropped0 := m.stats.Dropped.Load()
			slices.Sort(want)

			// The ticks run here, not on the queue's goroutine: the
			// re-send interval is an hour.
			m.tick(ctx)
			if got := srv.keys(); !slices.Equal(got, want) {
				t.Errorf("first re-send: received %q,\nwant %q", got, want)
			}
			st := m.Stats()
			if r := st.Resent.Load(); r != uint64(len(want)) {
				t.Errorf("Resent = %d, want %d", r, len(want))
			}
			if d := st.Dropped.Load() - dropped0; d != uint64(len(tc.tooBig)) {
				t.Errorf("Dropped = %d, want %d", d, len(tc.tooBig))
			}
			if len(m.ending) != 0 {
				t.Errorf("%d ends still pending", len(m.ending))
			}
			if len(tc.tooBig) > 0 {
				drops := h.with("alert output dropped alerts")
				if len(drops) == 0 || drops[len(drops)-1].attrs["reason"] != dropOversize {
					t.Errorf("drop lines %v, want reason %q", drops, dropOversize)
				}
			}
			if f := h.with("alert output failed to deliver"); len(f) > 0 {
				t.Errorf("a refusal for size logged as a failure: %v", f)
			}

			// The next re-send has every firing alert that fits, and
			// no end: they were sent.
			var again []string
			for _, k := range want {
				if !strings.HasSuffix(k, " ended") {
					again = append(again, k)
				}
			}
			m.tick(ctx)
			want = append(want, again...)
			slices.Sort(want)
			if got := srv.keys(); !slices.Equal(got, want) {
				t.Errorf("second re-send: received %q,\nwant %q", got, want)
			}
			if d := st.Dropped.Load() - dropped0; d != uint64(len(tc.tooBig)) {
				t.Errorf("Dropped = %d after the second re-send, want %d", d, len(tc.tooBig))
			}
		})
	}
}
