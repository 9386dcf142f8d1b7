package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Request headers of a webhook with a secret. SignatureHeader signs the
// body alone: a captured request verifies again whenever it is replayed.
// TimestampHeader and TimedSignatureHeader sign the time of the attempt
// with the body, so that a receiver can refuse a request sent too long
// ago (see VerifyTimed).
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// request body under the secret (see Sign).
	SignatureHeader = "X-Spraywatch-Signature"
	// TimestampHeader carries the sender's clock at the attempt, in
	// decimal Unix seconds.
	TimestampHeader = "X-Spraywatch-Timestamp"
	// TimedSignatureHeader carries "sha256=" and the hex HMAC-SHA256 of
	// the timestamp, a '.' and the body under the secret (see SignTimed).
	TimedSignatureHeader = "X-Spraywatch-Signature-Timed"
)

// DefaultTolerance is the largest difference between a request's
// timestamp and the receiver's clock that VerifyTimed accepts when given
// no tolerance.
const DefaultTolerance = 5 * time.Minute

// Errors of VerifyTimed, wrapped with the details.
var (
	ErrTimestampMalformed = errors.New("webhook timestamp is not a decimal number of Unix seconds")
	ErrBadSignature       = errors.New("webhook signature does not match")
	ErrTimestampTooOld    = errors.New("webhook timestamp is too old")
	ErrTimestampInFuture  = errors.New("webhook timestamp is too far in the future")
)

// Webhook body formats.
const (
	FormatJSON  = "json"  // the alert's JSON line
	FormatSlack = "slack" // {"text": "..."} for Slack-compatible incoming webhooks
)

// WebhookOptions configure a webhook sink.
type WebhookOptions struct {
	Name          string
	URL           string
	Secret        []byte            // signs bodies when set
	Format        string            // FormatJSON (default) or FormatSlack
	Headers       map[string]string // extra request headers
	Timeout       time.Duration     // per request; default 10s
	SpoolDir      string            // required
	SpoolMaxBytes int64             // default 64 MiB
	SegmentBytes  int64             // spool segment size; default a quarter of SpoolMaxBytes
	MaxAttempts   int               // per alert; <= 0 retries until delivered
	DrainTimeout  time.Duration     // how long Close keeps delivering; default 5s
	Backoff       *Backoff
	TLS           *tls.Config      // for an https URL: CA, client certificate, server name; nil: Go's defaults
	Client        *http.Client     // default: a client with Timeout and TLS that follows no redirect
	Now           func() time.Time // clock of TimestampHeader, read at each attempt; default time.Now
}

// Webhook is a sink POSTing each alert to a URL. Send appends the body to an
// on-disk spool (fsync'd) and returns; a goroutine delivers the spool in
// order, retrying with backoff, and removes each alert once the receiver
// answered 2xx. Alerts left in the spool are delivered by the next Webhook
// opened on the same directory.
type Webhook struct {
	opts  WebhookOptions
	stats SinkStats
	sp    *spool
	dlog  *deliveryLog

	lifetime
	closing chan struct{} // closed by Close, under mu
}

// NewWebhook opens the spool and starts delivering; ctx bounds the sink's
// lifetime (its end closes the sink).
func NewWebhook(ctx context.Context, opts WebhookOptions) (*Webhook, error) {
	if opts.URL == "" {
		return nil, errors.New("webhook: url is required")
	}
	if opts.SpoolDir == "" {
		return nil, errors.New("webhook: spool_dir is required")
	}
	switch opts.Format {
	case "":
		opts.Format = FormatJSON
	case FormatJSON, FormatSlack:
	default:
		return nil, fmt.Errorf("webhook: unknown format %q (want json or slack)", opts.Format)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 5 * time.Second
	}
	if opts.Backoff == nil {
		opts.Backoff = &Backoff{}
	}
	if opts.Client == nil {
		opts.Client = newHTTPClient(opts.Timeout, opts.TLS)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Webhook{opts: opts, closing: make(chan struct{})}
	w.stats.Type, w.stats.Name = "webhook", opts.Name
	sp, err := openSpool(opts.SpoolDir, opts.SpoolMaxBytes, opts.SegmentBytes, &w.stats)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %w", opts.Name, err)
	}
	w.sp = sp
	w.dlog = newDeliveryLog(opts.Name, w.stats.Type)
	sp.dlog = w.dlog
	w.init(ctx)
	go w.run()
	w.closeWhenDone(ctx, w.Close)
	return w, nil
}

// Stats returns the sink's counters.
func (w *Webhook) Stats() *SinkStats { return &w.stats }

// deliveryLog returns the log of the sink's deliveries.
func (w *Webhook) deliveryLog() *deliveryLog { return w.dlog }

// Send formats a and appends it to the spool; an alert it cannot append
// is dropped (counted).
func (w *Webhook) Send(_ context.Context, a *Alert) error {
	err := w.send(a)
	if err != nil {
		w.stats.Dropped.Add(1)
	}
	return err
}

func (w *Webhook) send(a *Alert) error {
	body, err := w.format(a)
	if err != nil {
		return fmt.Errorf("webhook %s: encoding alert %s: %w", w.opts.Name, a.ID, err)
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	if err := w.sp.append(body); err != nil {
		return fmt.Errorf("webhook %s: alert %s: %w", w.opts.Name, a.ID, err)
	}
	return nil
}

func (w *Webhook) format(a *Alert) ([]byte, error) {
	if w.opts.Format == FormatSlack {
		return json.Marshal(struct {
			Text string `json:"text"`
		}{slackText(a)})
	}
	b, err := a.AppendJSON(nil)
	return bytes.TrimSuffix(b, []byte("\n")), err
}

// slackText renders an alert for Slack mrkdwn, escaping &, < and > so that
// values cannot form links or mentions.
func slackText(a *Alert) string {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s %s: %s", strings.ToUpper(a.Status), a.Severity, esc.Replace(a.Rule), esc.Replace(a.Summary))
	fmt.Fprintf(&b, "\nincident %s #%d, %d events, %d failures, %d distinct users, %s to %s",
		esc.Replace(a.IncidentID), a.Sequence, a.Count.Events, a.Count.Failures, a.Count.DistinctUsers,
		esc.Replace(a.FirstSeen), esc.Replace(a.LastSeen))
	if g := groupPairs(a.Group); g != "" {
		fmt.Fprintf(&b, "\ngroup %s", esc.Replace(g))
	}
	return b.String()
}

// Sign returns the X-Spraywatch-Signature value for body under key.
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is body's signature under key (constant time).
func Verify(key, body []byte, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(Sign(key, body)))
}

// SignTimed returns the X-Spraywatch-Signature-Timed value for body sent
// with the X-Spraywatch-Timestamp value timestamp: "sha256=" and the hex
// HMAC-SHA256 under key of the bytes of timestamp, a '.' and body.
func SignTimed(key, body []byte, timestamp string) string {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, timestamp)
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyTimed checks a request's X-Spraywatch-Timestamp and
// X-Spraywatch-Signature-Timed values against its body, in this order:
// the timestamp is 1 to 19 decimal digits (ErrTimestampMalformed); sig is
// SignTimed(key, body, timestamp), compared in constant time
// (ErrBadSignature); the timestamp is at most tolerance before now
// (ErrTimestampTooOld) and at most tolerance after it
// (ErrTimestampInFuture). A tolerance <= 0 is DefaultTolerance. An error
// is or wraps one of those; nil means the request is authentic and was
// sent within tolerance of now.
func VerifyTimed(key, body []byte, timestamp, sig string, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	secs, err := parseTimestamp(timestamp)
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(sig), []byte(SignTimed(key, body, timestamp))) {
		return ErrBadSignature
	}
	// Decide on whole seconds first: a timestamp far from now may lie
	// beyond what a time.Time holds.
	tooOld, inFuture := false, false
	nowSec, limit := now.Unix(), int64(tolerance/time.Second)+1
	switch {
	case secs > nowSec+limit:
		inFuture = true
	case secs < nowSec-limit:
		tooOld = true
	default:
		d := now.Sub(time.Unix(secs, 0))
		tooOld, inFuture = d > tolerance, d < -tolerance
	}
	switch {
	case tooOld:
		return fmt.Errorf("%w: %d, now %d (tolerance %v)", ErrTimestampTooOld, secs, nowSec, tolerance)
	case inFuture:
		return fmt.Errorf("%w: %d, now %d (tolerance %v)", ErrTimestampInFuture, secs, nowSec, tolerance)
	}
	return nil
}

// parseTimestamp parses a timestamp of decimal digits alone: no sign,
// space or fraction.
func parseTimestamp(s string) (int64, error) {
	const maxDigits = 19 // 9223372036854775807 (year 292277026596) fits in int64
	if s == "" || len(s) > maxDigits {
		return 0, fmt.Errorf("%w: %q", ErrTimestampMalformed, truncateString(s, maxDigits+1))
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: %q", ErrTimestampMalformed, truncateString(s, maxDigits+1))
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q out of range", ErrTimestampMalformed, s)
	}
	return n, nil
}

// truncateString cuts s to at most n bytes, for an error quoting a value
// the sender chose.
func truncateString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func (w *Webhook) run() {
	defer close(w.done)
	for {
		body, pos, ok := w.sp.next()
		if !ok {
			select {
			case <-w.sp.ready:
				continue
			case <-w.closing:
				if w.sp.pending() == 0 {
					return
				}
				// Records may be pending behind a dropped segment; retry.
				if !sleep(w.ctx, 10*time.Millisecond) {
					return
				}
				continue
			case <-w.ctx.Done():
				return
			}
		}
		if !w.deliver(body) {
			return
		}
		if err := w.sp.commit(pos); err != nil {
			w.stats.Failures.Add(1)
			w.dlog.failedAttempt(fmt.Errorf("webhook %s: %w", w.opts.Name, err))
		}
	}
}

// deliver posts body until it is accepted, refused for good or attempts run
// out; it returns false when the sink's lifetime ended first.
func (w *Webhook) deliver(body []byte) bool {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			w.stats.Retries.Add(1)
		}
		permanent, err := w.post(body)
		if err == nil {
			w.stats.Delivered.Add(1)
			w.dlog.delivered()
			return true
		}
		if w.ctx.Err() != nil {
			return false
		}
		w.stats.Failures.Add(1)
		w.dlog.failedAttempt(err)
		if permanent || (w.opts.MaxAttempts > 0 && attempt+1 >= w.opts.MaxAttempts) {
			w.stats.Dropped.Add(1)
			reason := dropAttempts
			switch {
			case errors.Is(err, errOversize):
				reason = dropOversize
			case permanent:
				reason = dropRefused
			}
			w.dlog.drop(1, reason, err)
			return true
		}
		if !sleep(w.ctx, w.opts.Backoff.Delay(attempt)) {
			return false
		}
	}
}

// post makes one attempt; permanent is true for answers that retrying will
// not change (4xx other than 408 and 429).
func (w *Webhook) post(body []byte) (permanent bool, err error) {
	ctx, cancel := context.WithTimeout(w.ctx, w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.opts.URL, bytes.NewReader(body))
	if err != nil {
		return true, fmt.Errorf("webhook %s: %w", w.opts.Name, hideURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "spraywatch")
	for k, v := range w.opts.Headers {
		if http.CanonicalHeaderKey(k) == "Host" {
			req.Host = v // Go's client sends req.Host, not a Host header
			continue
		}
		req.Header.Set(k, v)
	}
	if len(w.opts.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(w.opts.Secret, body))
		// The time of this attempt, not of the alert: a retry, or an alert
		// sent from the spool after a restart, is signed again.
		ts := strconv.FormatInt(w.opts.Now().Unix(), 10)
		req.Header.Set(TimestampHeader, ts)
		req.Header.Set(TimedSignatureHeader, SignTimed(w.opts.Secret, body, ts))
	}
	resp, err := w.opts.Client.Do(req)
	if err != nil {
		return false, fmt.Errorf("webhook %s: posting alert: %w", w.opts.Name, hideURL(err))
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, excerptBytes+1))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	err = fmt.Errorf("webhook %s: %w", w.opts.Name, answerError(resp, msg))
	c := resp.StatusCode
	if c == http.StatusRequestEntityTooLarge {
		err = &oversizeError{Err: err}
	}
	return c/100 == 4 && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests, err
}

// Close stops accepting alerts and keeps delivering the spool until it is
// empty or DrainTimeout passes; undelivered alerts stay in the spool.
func (w *Webhook) Close() error {
	_, err := w.shutdown(context.Background())
	return err
}

// shutdown is Close, cut short when ctx ends; it reports the alerts left
// in the spool.
func (w *Webhook) shutdown(ctx context.Context) (left, error) {
	if !w.shut(ctx, func() { close(w.closing) }) {
		return left{}, nil
	}
	w.drain(ctx, w.opts.DrainTimeout)
	closeIdle(w.opts.Client)
	err := w.sp.close()
	return left{spooled: w.stats.QueueDepth.Load()}, err
}
