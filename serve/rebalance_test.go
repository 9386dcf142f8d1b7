package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest/kafka"
)

// amReceiver records the posts an Alertmanager output makes: for each,
// the certificates (kiosk-13, kiosk-14, told by their fingerprints) of
// its alerts still firing.
type amReceiver struct {
	mu    sync.Mutex
	posts [][]string
}

func (r *amReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var as []struct {
		Labels map[string]string `json:"labels"`
		EndsAt string            `json:"endsAt"`
	}
	if err := json.NewDecoder(req.Body).Decode(&as); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var firing []string
	for _, a := range as {
		if a.EndsAt == "" {
			id := a.Labels["identity"]
			switch {
			case strings.Contains(id, "bb22bb22"):
				id = "kiosk-13"
			case strings.Contains(id, "cc33cc33"):
				id = "kiosk-14"
			}
			firing = append(firing, id)
		}
	}
	slices.Sort(firing)
	r.mu.Lock()
	r.posts = append(r.posts, firing)
	r.mu.Unlock()
}

// since returns the posts from the nth on.
func (r *amReceiver) since(n int) [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.posts[min(n, len(r.posts)):])
}

func (r *amReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.posts)
}

// rebuildLog is an output keeping what it is told: the rebuilds begun
// and ended, the incidents recalled and sent (by their ids, or by key
// when it is set), in order.
type rebuildLog struct {
	key func(*alert.Alert) string
	mu  sync.Mutex
	log []string
}

func (l *rebuildLog) of(a *alert.Alert) string {
	if l.key != nil {
		return l.key(a)
	}
	return a.IncidentID
}

func (l *rebuildLog) add(s string) {
	l.mu.Lock()
	l.log = append(l.log, s)
	l.mu.Unlock()
}

func (l *rebuildLog) Send(_ context.Context, a *alert.Alert) error {
	l.add("send " + l.of(a))
	return nil
}
func (l *rebuildLog) Recall(a *alert.Alert) { l.add("recall " + l.of(a)) }
func (l *rebuildLog) BeginRebuild()         { l.add("begin") }
func (l *rebuildLog) EndRebuild()           { l.add("end") }
func (l *rebuildLog) Close() error          { return nil }

func (l *rebuildLog) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.log)
}

// ends returns how many rebuilds ended.
func (l *rebuildLog) ends() int { return count(l.snapshot(), "end") }

func count(log []string, s string) int {
	n := 0
	for _, x := range log {
		if x == s {
			n++
		}
	}
	return n
}

// produceEvents writes to partition part of the events topic a joined
// event every 15 s from campaignStart for 30 minutes: a failed login, with
// a new username each time, through the certificate whose SHA-1
// fingerprint is fp, and then a watermark 10 s after the last. It returns
// how many events it wrote.
func produceEvents(t *testing.T, c *kfake.Cluster, part int, fp string) int {
	t.Helper()
	w := kafkaWriter(c, DefaultEventsTopic)
	w.Balancer = kafkago.BalancerFunc(func(kafkago.Message, ...int) int { return part })
	defer w.Close()
	var msgs []kafkago.Message
	var at time.Time
	for i := 0; i <= 120; i++ {
		at = campaignStart.Add(time.Duration(i) * 15 * time.Second)
		var ev event.Event
		ev.Time = at.UnixNano()
		ev.Values[event.RequestID] = fmt.Sprintf("%s-%d", fp[:4], i)
		ev.Values[event.SourceIP] = "10.0.6.66"
		ev.Values[event.TLSSHA1] = fp
		ev.Values[event.TLSVerify] = "SUCCESS"
		ev.Values[event.UserName] = fmt.Sprintf("user%03d", i)
		ev.Values[event.Outcome] = "failure"
		ev.Values[event.Action] = "login_failed"
		ev.Values[event.Join] = "matched"
		ev.Values[event.Identity] = "sha1:" + fp
		msgs = append(msgs, kafkago.Message{Value: kafka.AppendEvent(nil, &ev), Time: at})
	}
	n := len(msgs)
	end := at.Add(10 * time.Second)
	msgs = append(msgs, kafkago.Message{Value: kafka.AppendWatermark(nil, end.UnixNano()), Time: end,
		Headers: []kafkago.Header{{Key: kafka.PartitionHeader, Value: strconv.AppendInt(nil, int64(part), 10)}}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("producing to %s/%d: %v", DefaultEventsTopic, part, err)
	}
	return n
}

// TestKafkaRebalanceForgetsRevoked runs a detect server alone in its
// consumer group over the two partitions of the events topic, each
// holding the events of one certificate's campaign (kiosk-13 on
// partition 0, kiosk-14 on partition 1): its Alertmanager output re-sends
// both incidents, still firing at the end of the input. A second server
// joins the group and takes one of the partitions. Each rebuilds the incident of its
// partitions, recalled to its output between the rebuild's begin and
// end; afterwards, each output re-sends the incident of its own
// partitions only: the first server no longer re-sends the one whose
// partitions it lost, which the second keeps active in Alertmanager.
func TestKafkaRebalanceForgetsRevoked(t *testing.T) {
	t.Parallel()
	cl := cluster(t, 2)
	events := produceEvents(t, cl, 0, "bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22") // kiosk-13
	events += produceEvents(t, cl, 1, "cc33cc33cc33cc33cc33cc33cc33cc33cc33cc33") // kiosk-14

	type instance struct {
		am  *amReceiver
		log *rebuildLog
		r   *running
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run := func(name string) *instance {
		in := &instance{am: &amReceiver{}, log: &rebuildLog{}}
		srv := httptest.NewServer(in.am)
		t.Cleanup(srv.Close)
		am, err := alert.NewAlertmanager(ctx, alert.AlertmanagerOptions{Name: name, URL: srv.URL, ResendInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { am.Close() })
		cfg := serverConfig(t, cl, "rebalance", alert.NewFanout(alert.Routed{Sink: am}, alert.Routed{Sink: in.log}))
		cfg.Role = RoleDetect
		cfg.Engine.Rules = longRules(t)
		cfg.CommitInterval = 20 * time.Millisecond
		in.r = start(t, cfg)
		return in
	}
	// latest reports whether the last posts of in, and all after the
	// nth, say that exactly want is firing.
	latest := func(in *instance, n int, want ...string) func() bool {
		return func() bool {
			ps := in.am.since(n)
			return len(ps) >= 3 && slices.Equal(ps[len(ps)-1], want) && slices.Equal(ps[len(ps)-2], want)
		}
	}

	a := run("a")
	waitFor(t, patience, "the first server to release and commit every event", func() bool {
		var n int64
		for _, p := range a.r.s.Partitions() {
			n += max(p.Committed, 0)
		}
		return n >= int64(events) // and one watermark, the oldest
	})
	waitFor(t, patience, "the first server to re-send both incidents", latest(a, 0, "kiosk-13", "kiosk-14"))

	b := run("b")
	waitFor(t, patience, "both servers to own a partition and end their rebuilds", func() bool {
		return a.r.s.Stats().Partitions.Load() == 1 && b.r.s.Stats().Partitions.Load() == 1 &&
			a.log.ends() >= 2 && b.log.ends() >= 1 && a.r.s.Ready() && b.r.s.Ready()
	})
	kept := map[*instance]string{}
	for _, in := range []*instance{a, b} {
		ps := in.r.s.Partitions()
		if len(ps) != 1 {
			t.Fatalf("a server owns %+v: want one partition", ps)
		}
		kept[in] = []string{"kiosk-13", "kiosk-14"}[ps[0].Partition]
	}
	na, nb := a.am.count(), b.am.count()
	if !eventually(patience, latest(a, na, kept[a])) || !eventually(patience, latest(b, nb, kept[b])) {
		last := func(ps [][]string) [][]string { return ps[max(len(ps)-3, 0):] }
		t.Errorf("after the rebalance the first server re-sends %q, the second %q (the last posts); want %s and %s",
			last(a.am.since(na)), last(b.am.since(nb)), kept[a], kept[b])
	}
	logs := map[string][]string{"first": a.log.snapshot(), "second": b.log.snapshot()}
	// (Stopping one server rebalances the other.)
	a.r.shutdown(t)
	b.r.shutdown(t)

	// The last rebuild of each server told its output of its incident
	// between its begin and its end, and of no other.
	for name, log := range logs {
		last := -1
		for i, x := range log {
			if x == "begin" {
				last = i
			}
		}
		if last < 0 {
			t.Fatalf("%s server: no rebuild began", name)
		}
		end := slices.Index(log[last:], "end")
		if end < 0 {
			t.Fatalf("%s server: its last rebuild did not end: %q", name, log[last:])
		}
		var told []string
		for _, x := range log[last : last+end] {
			if _, id, ok := strings.Cut(x, " "); ok && !slices.Contains(told, id) {
				told = append(told, id)
			}
		}
		if len(told) != 1 {
			t.Errorf("%s server: its last rebuild told of incidents %q, want one", name, told)
			continue
		}
		if !slices.Contains(log[last:last+end], "recall "+told[0]) {
			t.Errorf("%s server: its last rebuild did not recall its incident: %q", name, log[last:last+end])
		}
	}
}
