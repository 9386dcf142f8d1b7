package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// receiver is a webhook receiver recording the alerts it accepted.
type receiver struct {
	key      []byte
	slowN    atomic.Int64 // requests still to answer slower than the client waits
	slow     time.Duration
	mu       sync.Mutex
	got      []Alert
	badSig   int
	requests atomic.Int64
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.requests.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if rc.slowN.Add(-1) >= 0 {
		select {
		case <-time.After(rc.slow):
		case <-r.Context().Done():
		}
		if r.Context().Err() != nil {
			// The client gave up; a transactional receiver discards the request.
			return
		}
	} else {
		time.Sleep(5 * time.Millisecond)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !Verify(rc.key, body, r.Header.Get(SignatureHeader)) {
		rc.badSig++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	// Every attempt, retried or sent from the spool after a restart,
	// is signed with its own time.
	if err := VerifyTimed(rc.key, body, r.Header.Get(TimestampHeader), r.Header.Get(TimedSignatureHeader), time.Now(), DefaultTolerance); err != nil {
		rc.badSig++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var a Alert
	if err := json.Unmarshal(body, &a); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.got = append(rc.got, a)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

func TestWebhookOutageSlowAndRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr := freeAddr(t) // receiver down: nothing listens yet
	dir := t.TempDir()
	key := []byte("s3cret")
	opts := WebhookOptions{
		Name: "soc", URL: "http://" + addr + "/hook", Secret: key,
		Timeout: 150 * time.Millisecond, SpoolDir: dir, DrainTimeout: 200 * time.Millisecond,
		Backoff: &Backoff{Initial: 10 * time.Millisecond, Max: 80 * time.Millisecond, Rand: rand.New(rand.NewPCG(1, 2))},
	}
	w1, err := NewWebhook(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	incidents := []string{"a", "b", "c"}
	var want []string
	send := func(w *Webhook, seqs ...int) {
		for _, seq := range seqs {
			for _, inc := range incidents {
				a := testAlert(inc, seq, "alice")
				if err := w.Send(ctx, a); err != nil {
					t.Fatal(err)
				}
				want = append(want, a.ID)
			}
		}
	}
	send(w1, 1, 2)
	waitFor(t, 5*time.Second, "failed attempts against the down receiver", func() bool { return w1.Stats().Failures.Load() >= 3 })
	if r := w1.Stats().Retries.Load(); r == 0 {
		t.Error("no retries counted")
	}
	// Restart with every alert still spooled.
	if err := w1.Close(); err != nil {
		t.Fatal(err)
	}
	if d := w1.Stats().QueueDepth.Load(); d != 6 {
		t.Fatalf("queue depth after close = %d, want 6 spooled", d)
	}
	if b := w1.Stats().SpoolBytes.Load(); b <= 0 {
		t.Fatalf("spool bytes = %d", b)
	}
	if err := w1.Send(ctx, testAlert("a", 9, "x")); err != ErrClosed {
		t.Fatalf("Send after Close = %v, want ErrClosed", err)
	}

	w2, err := NewWebhook(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := w2.Stats().QueueDepth.Load(); d != 6 {
		t.Fatalf("reopened spool holds %d alerts, want 6", d)
	}
	send(w2, 3, 4)

	// Receiver comes up slow: the first answers take longer than the client waits.
	rc := &receiver{key: key, slow: 400 * time.Millisecond}
	rc.slowN.Store(2)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rc}
	go srv.Serve(l)
	defer srv.Close()

	waitFor(t, 15*time.Second, "all alerts at the receiver", func() bool { return rc.count() >= len(want) })
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.badSig != 0 {
		t.Errorf("%d requests with a bad signature", rc.badSig)
	}
	seen := map[string]int{}
	lastSeq := map[string]int{}
	for _, a := range rc.got {
		seen[a.ID]++
		if a.Sequence <= lastSeq[a.IncidentID] {
			t.Errorf("incident %s: sequence %d after %d", a.IncidentID, a.Sequence, lastSeq[a.IncidentID])
		}
		lastSeq[a.IncidentID] = a.Sequence
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Errorf("alert %s arrived %d times, want once", id, seen[id])
		}
	}
	if len(rc.got) != len(want) {
		t.Errorf("receiver got %d alerts, want %d", len(rc.got), len(want))
	}
	if rc.requests.Load() <= int64(len(want)) {
		t.Errorf("%d requests for %d alerts: the slow answers were not retried", rc.requests.Load(), len(want))
	}
	if d := w2.Stats().QueueDepth.Load(); d != 0 {
		t.Errorf("queue depth after delivery = %d", d)
	}
	if n := w2.Stats().Delivered.Load(); n != uint64(len(want)) {
		t.Errorf("delivered = %d, want %d", n, len(want))
	}
}

func TestWebhookPermanentRefusalAndSlack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var mu sync.Mutex
	var bodies []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		n := len(bodies)
		mu.Unlock()
		for _, h := range []string{SignatureHeader, TimestampHeader, TimedSignatureHeader} {
			if r.Header.Get(h) != "" {
				t.Errorf("%s sent without a key", h)
			}
		}
		if n == 1 {
			http.Error(w, "no", http.StatusBadRequest) // refused for good: dropped, not retried
		}
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	w, err := NewWebhook(ctx, WebhookOptions{URL: "http://" + l.Addr().String(), Format: FormatSlack, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert("x", 1, "alice")
	a.Summary = "<!channel> & <http://evil|click>"
	w.Send(ctx, a)
	w.Send(ctx, testAlert("x", 2, "alice"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 {
		t.Fatalf("%d requests, want 2 (no retry of a 400)", len(bodies))
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(bodies[0]), &m); err != nil {
		t.Fatal(err)
	}
	want := "[FIRING] high spray.distinct_users: &lt;!channel&gt; &amp; &lt;http://evil|click&gt;"
	if got := m["text"]; len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("slack text = %q, want prefix %q", got, want)
	}
	if s := w.Stats(); s.Dropped.Load() != 1 || s.Delivered.Load() != 1 {
		t.Errorf("dropped=%d delivered=%d, want 1 and 1", s.Dropped.Load(), s.Delivered.Load())
	}
}

func TestSpoolBoundedAndTornTail(t *testing.T) {
	dir := t.TempDir()
	var st SinkStats
	sp, err := openSpool(dir, 400, 100, &st)
	if err != nil {
		t.Fatal(err)
	}
	rec := make([]byte, 42) // 50 bytes framed: two per segment
	for i := range 20 {
		rec[0] = byte(i)
		if err := sp.append(rec); err != nil {
			t.Fatal(err)
		}
		if b := st.SpoolBytes.Load(); b > 400 {
			t.Fatalf("spool holds %d bytes, bound 400", b)
		}
	}
	dropped := st.Dropped.Load()
	if dropped == 0 {
		t.Fatal("nothing dropped from a full spool")
	}
	if int(dropped)+sp.pending() != 20 {
		t.Fatalf("dropped %d + pending %d != 20 appended", dropped, sp.pending())
	}
	// A crash during an append leaves a torn record at the end.
	sp.close()
	ents, _ := os.ReadDir(dir)
	var last string
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ".seg" {
			last = e.Name()
		}
	}
	f, _ := os.OpenFile(filepath.Join(dir, last), os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{0, 0, 0, 42, 1, 2})
	f.Close()
	sp, err = openSpool(dir, 400, 100, &st)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	// The survivors are the newest records, oldest first.
	first := 20 - sp.pending()
	for i := first; i < 20; i++ {
		got, pos, ok := sp.next()
		if !ok || got[0] != byte(i) {
			t.Fatalf("record %d: ok=%v got %v", i, ok, got[:1])
		}
		if err := sp.commit(pos); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, ok := sp.next(); ok {
		t.Fatal("record after the last one")
	}
}

func TestBackoffDeterministic(t *testing.T) {
	a := &Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Rand: rand.New(rand.NewPCG(7, 7))}
	b := &Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Rand: rand.New(rand.NewPCG(7, 7))}
	for i := range 8 {
		da, db := a.Delay(i), b.Delay(i)
		if da != db {
			t.Fatalf("attempt %d: %v != %v with the same seed", i, da, db)
		}
		full := min(100*time.Millisecond<<i, time.Second)
		if da < full/2 || da > full {
			t.Errorf("attempt %d: delay %v outside [%v, %v]", i, da, full/2, full)
		}
	}
}

// TestWebhookSpoolSurvivesCrash copies the spool of a running webhook whose
// receiver is down (the state a crash leaves on disk) and delivers it from a
// new webhook.
func TestWebhookSpoolSurvivesCrash(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()
	w1, err := NewWebhook(ctx, WebhookOptions{URL: "http://" + freeAddr(t), SpoolDir: dir, SegmentBytes: 2000,
		Backoff: &Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond}, DrainTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w1.Close()
	const n = 12
	for i := 1; i <= n; i++ {
		if err := w1.Send(ctx, testAlert("k", i, "u")); err != nil {
			t.Fatal(err)
		}
	}
	crashed := t.TempDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	segs := 0
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Ext(e.Name()) == ".seg" {
			segs++
		}
		os.WriteFile(filepath.Join(crashed, e.Name()), b, 0o600)
	}
	if segs < 2 {
		t.Fatalf("%d segments; the test wants several", segs)
	}
	rc := &receiver{key: []byte("k")}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rc}
	go srv.Serve(l)
	defer srv.Close()
	w2, err := NewWebhook(ctx, WebhookOptions{URL: "http://" + l.Addr().String(), SpoolDir: crashed, Secret: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the spooled alerts", func() bool { return rc.count() >= n })
	w2.Close()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i, a := range rc.got {
		if a.Sequence != i+1 {
			t.Fatalf("alert %d has sequence %d", i, a.Sequence)
		}
	}
	if len(rc.got) != n {
		t.Errorf("got %d alerts, want %d", len(rc.got), n)
	}
	// Delivered segments are removed.
	left, _ := filepath.Glob(filepath.Join(crashed, "*.seg"))
	if len(left) != 1 {
		t.Errorf("%d segments left after delivery, want the active one", len(left))
	}
}

// TestHTTPOutputsDoNotFollowRedirects: a receiver that redirects has not
// taken the alert. Followed, a 301, 302 or 303 would become a GET without
// the body whose 2xx counts the alert delivered, and a 307 or 308 would
// take the body and its headers to another URL.
func TestHTTPOutputsDoNotFollowRedirects(t *testing.T) {
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		for _, typ := range []string{"webhook", "alertmanager"} {
			t.Run(fmt.Sprintf("%s %d", typ, code), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				var elsewhere atomic.Int64
				mux := http.NewServeMux()
				mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body)
					http.Redirect(w, r, "/elsewhere", code)
				})
				mux.HandleFunc("/elsewhere/", func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) })
				mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) })
				srv := httptest.NewServer(mux)
				defer srv.Close()
				backoff := &Backoff{Initial: time.Millisecond, Max: time.Millisecond}
				var s interface {
					StatsSink
					deliveryLog() *deliveryLog
				}
				var err error
				if typ == "webhook" {
					s, err = NewWebhook(ctx, WebhookOptions{Name: "hook", URL: srv.URL + "/hook", SpoolDir: t.TempDir(),
						Headers: map[string]string{"X-Api-Key": "k"}, MaxAttempts: 2, Backoff: backoff})
				} else {
					s, err = NewAlertmanager(ctx, AlertmanagerOptions{Name: "am", URL: srv.URL, Queue: QueueOptions{MaxAttempts: 2, Backoff: backoff}})
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Send(ctx, testAlert("r", 1, "alice")); err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				st := s.Stats()
				if st.Delivered.Load() != 0 || st.Dropped.Load() != 1 || st.Failures.Load() != 2 {
					t.Errorf("delivered=%d dropped=%d failures=%d, want 0, 1 (attempts exhausted) and 2", st.Delivered.Load(), st.Dropped.Load(), st.Failures.Load())
				}
				if n := elsewhere.Load(); n != 0 {
					t.Errorf("the redirect was followed: %d requests to its target", n)
				}
				_, last := s.deliveryLog().causes()
				want := fmt.Sprintf(`HTTP %d %s: redirect to "/elsewhere" not followed`, code, http.StatusText(code))
				if last == nil || !strings.Contains(last.Error(), want) {
					t.Errorf("last failure %v, want it to say %q", last, want)
				}
			})
		}
	}
}

// TestWebhookSpoolDirIsExclusive: a spool is delivered by one webhook. A
// second one opened on its directory (another output, another process)
// would take its records to another URL and delete its segments; it is
// refused until the first is closed.
func TestWebhookSpoolDirIsExclusive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir := t.TempDir()
	opts := WebhookOptions{Name: "a", URL: "http://" + freeAddr(t), SpoolDir: dir, DrainTimeout: time.Millisecond,
		Backoff: &Backoff{Initial: time.Millisecond, Max: time.Millisecond}}
	a, err := NewWebhook(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Send(ctx, testAlert("x", 1, "u")); err != nil {
		t.Fatal(err)
	}
	other := opts
	other.Name = "b"
	if b, err := NewWebhook(ctx, other); err == nil {
		b.Close()
		t.Fatal("a second webhook opened the spool of a running one")
	} else if want := "spool_dir " + dir + " is in use by another webhook output or spraywatch process"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q, want it to contain %q", err, want)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := NewWebhook(ctx, other)
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	defer b.Close()
	if d := b.Stats().QueueDepth.Load(); d != 1 {
		t.Errorf("the spool holds %d alerts, want the 1 the first left", d)
	}
}

// TestDeliveryErrorsHideURLPath: the errors of a failed delivery, which
// are logged and printed in summaries, name the receiver's scheme and
// host but not the URL's path, query or user info, which can be the
// receiver's credential (a Slack incoming webhook's token is its path).
func TestDeliveryErrorsHideURLPath(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addr := freeAddr(t) // nothing listens: every attempt fails
	const secret = "T000/B000/XXXXSECRET"
	url := "http://user:pw@" + addr + "/services/" + secret + "?token=QSECRET"
	var logs bytes.Buffer
	var mu sync.Mutex
	check := func(what, s string) {
		t.Helper()
		for _, leak := range []string{secret, "QSECRET", "pw@", "/services"} {
			if strings.Contains(s, leak) {
				t.Errorf("%s shows %q: %s", what, leak, s)
			}
		}
		if !strings.Contains(s, "http://"+addr+"/...") {
			t.Errorf("%s does not name the receiver: %s", what, s)
		}
	}

	w, err := NewWebhook(ctx, WebhookOptions{URL: url, SpoolDir: t.TempDir(), MaxAttempts: 1, DrainTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w.deliveryLog().setLogger(slog.New(slog.NewTextHandler(lockedWriter{&logs, &mu}, nil)))
	if err := w.Send(ctx, testAlert("k", 1, "u")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	first, last := w.deliveryLog().causes()
	if first == nil || last == nil {
		t.Fatal("no delivery error recorded")
	}
	check("the first error", first.Error())
	check("the last error", last.Error())
	mu.Lock()
	check("the log", logs.String())
	mu.Unlock()

}
