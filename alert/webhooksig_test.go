package alert

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSignKnownAnswer pins the bytes each signature covers; the values
// were computed with Python's hmac module.
func TestSignKnownAnswer(t *testing.T) {
	key, body := []byte("s3cret"), []byte(`{"id":"a1"}`)
	if got, want := Sign(key, body), "sha256=22c2912dd187b8ebbba89770a5aa110876daf4dbe9cd43c105b41e275bf8c088"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	// HMAC-SHA256(key, "1767000000." + body)
	if got, want := SignTimed(key, body, "1767000000"), "sha256=7063b1a07a107e7682e98f8780e74c7cec3858bb2d0c72f06dd0e41738806303"; got != want {
		t.Errorf("SignTimed = %s, want %s", got, want)
	}
}

func TestVerifyTimed(t *testing.T) {
	key, body := []byte("s3cret"), []byte(`{"id":"a1","sequence":1}`)
	now := time.Unix(1767000000, 0)
	ts := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	signed := func(d time.Duration) (string, string) { return ts(d), SignTimed(key, body, ts(d)) }
	nowTS, nowSig := signed(0)

	type tc struct {
		name      string
		key, body []byte
		timestamp string
		sig       string
		now       time.Time
		tolerance time.Duration
		want      error
	}
	cases := []tc{
		{name: "valid", timestamp: nowTS, sig: nowSig},
		{name: "valid, receiver clock ahead within tolerance", timestamp: nowTS, sig: nowSig, now: now.Add(299 * time.Second)},
		{name: "valid at the tolerance, in the past", timestamp: nowTS, sig: nowSig, now: now.Add(300 * time.Second)},
		{name: "valid at the tolerance, in the future", timestamp: nowTS, sig: nowSig, now: now.Add(-300 * time.Second)},
		{name: "leading zeros are signed as sent", timestamp: "0" + nowTS, sig: SignTimed(key, body, "0"+nowTS)},
		{name: "tampered body", body: []byte(`{"id":"a1","sequence":2}`), timestamp: nowTS, sig: nowSig, want: ErrBadSignature},
		{name: "tampered timestamp", timestamp: ts(time.Second), sig: nowSig, want: ErrBadSignature},
		{name: "wrong key", key: []byte("s3cret2"), timestamp: nowTS, sig: nowSig, want: ErrBadSignature},
		{name: "body-only signature", timestamp: nowTS, sig: Sign(key, body), want: ErrBadSignature},
		{name: "hex without the scheme", timestamp: nowTS, sig: nowSig[len("sha256="):], want: ErrBadSignature},
		{name: "empty signature", timestamp: nowTS, want: ErrBadSignature},
		{name: "stale", timestamp: nowTS, sig: nowSig, now: now.Add(301 * time.Second), want: ErrTimestampTooOld},
		{name: "stale by a fraction of a second", timestamp: nowTS, sig: nowSig, now: now.Add(300*time.Second + time.Millisecond), want: ErrTimestampTooOld},
		{name: "stale and tampered: the signature first", body: []byte(`{}`), timestamp: nowTS, sig: nowSig, now: now.Add(time.Hour), want: ErrBadSignature},
		{name: "future", timestamp: nowTS, sig: nowSig, now: now.Add(-301 * time.Second), want: ErrTimestampInFuture},
		{name: "epoch", timestamp: "0", sig: SignTimed(key, body, "0"), want: ErrTimestampTooOld},
		{name: "largest int64", timestamp: "9223372036854775807", sig: SignTimed(key, body, "9223372036854775807"), want: ErrTimestampInFuture},
		{name: "default tolerance, within", timestamp: nowTS, sig: nowSig, now: now.Add(299 * time.Second), tolerance: -1},
		{name: "default tolerance, stale", timestamp: nowTS, sig: nowSig, now: now.Add(301 * time.Second), tolerance: -1, want: ErrTimestampTooOld},
		{name: "narrow tolerance", timestamp: nowTS, sig: nowSig, now: now.Add(11 * time.Second), tolerance: 10 * time.Second, want: ErrTimestampTooOld},
	}
	for _, bad := range []string{"", "-1767000000", "+1767000000", " 1767000000", "1767000000 ", "1767000000.5",
		"1.767e9", "0x69550e80", "t=1767000000", "1767000000,1767000001", "١٧٦٧", "9223372036854775808", "12345678901234567890123"} {
		cases = append(cases, tc{name: "malformed " + strconv.Quote(bad), timestamp: bad, sig: SignTimed(key, body, bad), want: ErrTimestampMalformed})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, b, n, tol := key, body, now, 300*time.Second
			if c.key != nil {
				k = c.key
			}
			if c.body != nil {
				b = c.body
			}
			if !c.now.IsZero() {
				n = c.now
			}
			if c.tolerance != 0 {
				tol = c.tolerance
			}
			err := VerifyTimed(k, b, c.timestamp, c.sig, n, tol)
			if c.want == nil {
				if err != nil {
					t.Fatalf("VerifyTimed = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("VerifyTimed = %v, want %v", err, c.want)
			}
			for _, other := range []error{ErrTimestampMalformed, ErrBadSignature, ErrTimestampTooOld, ErrTimestampInFuture} {
				if other != c.want && errors.Is(err, other) {
					t.Errorf("VerifyTimed = %v: is %v as well as %v", err, other, c.want)
				}
			}
		})
	}
}

// stepClock returns a clock that reads start, then start+step, and so on.
func stepClock(start time.Time, step time.Duration) (now func() time.Time, reads func() int64) {
	var n atomic.Int64
	now = func() time.Time { return start.Add(time.Duration(n.Add(1)-1) * step) }
	return now, n.Load
}

// signedRequest is what a receiver saw of one request.
type signedRequest struct {
	body                      []byte
	sig, timestamp, timedSig  string
	hasTimestamp, hasTimedSig bool
}

// TestWebhookTimedSignature: each attempt carries the time of that
// attempt, read from the webhook's clock, and a signature over it and
// the body; the body signature stays as it was. A retry and an alert
// sent from the spool after a restart are signed again with their own
// time, so a receiver refusing old timestamps takes them and refuses a
// replay of an earlier attempt.
func TestWebhookTimedSignature(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	key := []byte("s3cret")
	var (
		mu   sync.Mutex
		reqs []signedRequest
		fail atomic.Int64 // requests still to answer 503
	)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		h := r.Header
		mu.Lock()
		reqs = append(reqs, signedRequest{body: body, sig: h.Get(SignatureHeader),
			timestamp: h.Get(TimestampHeader), timedSig: h.Get(TimedSignatureHeader),
			hasTimestamp: len(h.Values(TimestampHeader)) > 0, hasTimedSig: len(h.Values(TimedSignatureHeader)) > 0})
		mu.Unlock()
		if fail.Add(-1) >= 0 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	received := func() []signedRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]signedRequest(nil), reqs...)
	}
	checkSigned := func(i int, r signedRequest, at time.Time) {
		t.Helper()
		if !Verify(key, r.body, r.sig) || r.sig != Sign(key, r.body) {
			t.Errorf("request %d: %s %q does not sign the body", i, SignatureHeader, r.sig)
		}
		if want := strconv.FormatInt(at.Unix(), 10); r.timestamp != want {
			t.Errorf("request %d: %s %q, want %s (the clock at the attempt)", i, TimestampHeader, r.timestamp, want)
		}
		if err := VerifyTimed(key, r.body, r.timestamp, r.timedSig, at, DefaultTolerance); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}

	t0 := time.Unix(1767000000, 0)
	now1, reads1 := stepClock(t0, 10*time.Second)
	opts := WebhookOptions{Name: "soc", URL: "http://" + l.Addr().String(), Secret: key, SpoolDir: t.TempDir(),
		Now: now1, DrainTimeout: 100 * time.Millisecond, Backoff: &Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}}
	w1, err := NewWebhook(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w1.Close()

	// A retry: the first attempt is answered 503, the second 200.
	fail.Store(1)
	a := testAlert("inc", 1, "alice")
	if err := w1.Send(ctx, a); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the delivery", func() bool { return w1.Stats().Delivered.Load() == 1 })
	got := received()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2 (a 503, then its retry)", len(got))
	}
	if reads1() != 2 {
		t.Errorf("the clock was read %d times for 2 attempts", reads1())
	}
	first, retry := got[0], got[1]
	checkSigned(0, first, t0)
	checkSigned(1, retry, t0.Add(10*time.Second))
	if string(first.body) != string(retry.body) || first.sig != retry.sig {
		t.Errorf("the retry changed the body or its signature:\n%s %s\n%s %s", first.body, first.sig, retry.body, retry.sig)
	}
	if first.timedSig == retry.timedSig {
		t.Errorf("the retry carries the first attempt's timed signature %s", retry.timedSig)
	}
	want, err := a.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(retry.body)+"\n" != string(want) {
		t.Errorf("body %s, want the alert's JSON line %s", retry.body, want)
	}
	// A receiver with a 5s tolerance, at the time of the retry, refuses
	// the first attempt sent again.
	if err := VerifyTimed(key, first.body, first.timestamp, first.timedSig, t0.Add(10*time.Second), 5*time.Second); !errors.Is(err, ErrTimestampTooOld) {
		t.Errorf("replay of the first attempt at the retry's time: %v, want %v", err, ErrTimestampTooOld)
	}

	// An alert left in the spool is signed with the time of the attempt
	// of the webhook that sends it after a restart.
	fail.Store(1 << 30)
	b := testAlert("inc", 2, "alice")
	if err := w1.Send(ctx, b); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a failed attempt", func() bool { return len(received()) >= 3 })
	if err := w1.Close(); err != nil {
		t.Fatal(err)
	}
	if d := w1.Stats().QueueDepth.Load(); d != 1 {
		t.Fatalf("%d alerts spooled after close, want 1", d)
	}
	fail.Store(0)
	t1 := t0.Add(365 * 24 * time.Hour) // later than any attempt of w1's clock could read
	opts.Now, _ = stepClock(t1, time.Second)
	w2, err := NewWebhook(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	waitFor(t, 10*time.Second, "the spooled alert", func() bool { return w2.Stats().Delivered.Load() == 1 })
	// An attempt of w1 cut short by its close may reach the handler late:
	// the requests after the restart are told apart by their timestamp.
	got = received()
	var after []int
	for i, r := range got[2:] {
		sec, err := strconv.ParseInt(r.timestamp, 10, 64)
		if err != nil {
			t.Fatalf("request %d: timestamp %q: %v", i+2, r.timestamp, err)
		}
		if sec >= t1.Unix() {
			after = append(after, i+2)
		}
	}
	if len(after) != 1 {
		t.Fatalf("requests %v after the restart, want 1", after)
	}
	spooled := got[after[0]]
	checkSigned(after[0], spooled, t1)
	if string(spooled.body) != string(got[2].body) || spooled.sig != got[2].sig {
		t.Errorf("the spooled alert changed: %s %s, first sent as %s %s", spooled.body, spooled.sig, got[2].body, got[2].sig)
	}
	if after[0] == 2 {
		t.Fatal("the alert was not attempted before the restart")
	}
	// The alert was first attempted long before: a receiver checks the
	// attempt's time, not the alert's age.
	if err := VerifyTimed(key, got[2].body, got[2].timestamp, got[2].timedSig, t1, DefaultTolerance); !errors.Is(err, ErrTimestampTooOld) {
		t.Errorf("the attempt before the restart, checked at the restart: %v, want %v", err, ErrTimestampTooOld)
	}
}

// TestWebhookUnsignedWithoutKey: without a secret, no signature header
// and no timestamp is sent.
func TestWebhookUnsignedWithoutKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var mu sync.Mutex
	var hdrs []http.Header
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		defer mu.Unlock()
		hdrs = append(hdrs, r.Header.Clone())
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	for _, format := range []string{FormatJSON, FormatSlack} {
		w, err := NewWebhook(ctx, WebhookOptions{URL: "http://" + l.Addr().String(), Format: format, SpoolDir: t.TempDir(),
			Now: func() time.Time { t.Error("the clock was read without a key"); return time.Time{} }})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Send(ctx, testAlert("x", 1, "alice")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the delivery", func() bool { return w.Stats().Delivered.Load() == 1 })
		w.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hdrs) != 2 {
		t.Fatalf("%d requests, want 2", len(hdrs))
	}
	for i, h := range hdrs {
		for _, name := range []string{SignatureHeader, TimestampHeader, TimedSignatureHeader} {
			if v := h.Values(name); len(v) > 0 {
				t.Errorf("request %d carries %s: %q", i, name, v)
			}
		}
	}
}
