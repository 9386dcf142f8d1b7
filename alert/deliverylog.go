package alert

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Reasons an output drops alerts, as its log lines (the reason attribute)
// give them.
const (
	dropQueueFull  = "queue full"
	dropAttempts   = "attempts exhausted"
	dropRefused    = "refused by the receiver"
	dropSpoolFull  = "spool full"
	dropTooLarge   = "larger than the spool"
	dropStopped    = "stopped before delivery"
	dropClosed     = "output closed"
	dropNotTaken   = "not taken"
	dropForgotten  = "too many firing incidents to re-send"
	dropUnreadable = "unreadable spool record"
	dropOversize   = "too large for the output"
)

// DefaultLogEvery is how often at most a fan-out logs the delivery
// failures of one output, and its drops, after the first of each.
const DefaultLogEvery = 30 * time.Second

// LogLimit paces the log lines of each output of a fan-out.
type LogLimit struct {
	// Every is how often at most an output's failed deliveries are
	// logged, and how often its drops are: the first at once (and the
	// first failure of each outage), then at most one line per Every
	// saying how many since the last line, logged once Every has passed
	// even if nothing more happens. Default DefaultLogEvery.
	Every time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Tick, if set, is when the fan-out looks for what is held back and
	// due (tests drive it by hand); by default a ticker every Every/4.
	Tick <-chan time.Time
}

// tickEvery is how often the fan-out looks for lines held back, when
// LogLimit.Tick is not set: a line due is logged at most this late.
func (l LogLimit) tickEvery() time.Duration {
	every := l.Every
	if every <= 0 {
		every = DefaultLogEvery
	}
	return max(every/4, time.Millisecond)
}

// deliveryLog logs what befalls one output's alerts: its failed delivery
// attempts, its recovery, the alerts it drops. A sink that delivers on a
// goroutine of its own reports to its deliveryLog from there; a fan-out
// reports the alerts an output refused in Send. It logs nothing until a
// fan-out gives it a logger. Every method may be called on nil.
//
// Lines carry the output's name and type, counts, constant reasons and
// errors as slog attributes: no alert content goes into a message.
type deliveryLog struct {
	mu        sync.Mutex
	log       *slog.Logger // nil: not logging (yet)
	every     time.Duration
	now       func() time.Time
	name, typ string

	first, cause error // the first and the last failure: of a delivery attempt, or of a drop

	// Failed delivery attempts.
	down      bool      // the last attempt failed
	announced bool      // a line said the output fails, since down
	since     time.Time // when down began
	episode   uint64    // attempts failed since down began
	failedAt  time.Time // when the last failure line was logged
	failed    uint64    // attempts failed since that line
	failErr   error     // the last attempt's error

	// Drops.
	droppedAt time.Time         // when the last drop line was logged
	dropped   uint64            // alerts dropped since that line
	reasons   map[string]uint64 // their reasons
	reason    string            // the last drop's reason
	dropErr   error             // the last drop's cause, if known
}

func newDeliveryLog(name, typ string) *deliveryLog {
	return &deliveryLog{name: name, typ: typ, every: DefaultLogEvery, now: time.Now}
}

// label sets the name and type the lines give.
func (d *deliveryLog) label(name, typ string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.name, d.typ = name, typ
}

// setLogger starts logging to l, with what happened before if nothing
// was logged yet (a webhook starts delivering its spool when opened).
func (d *deliveryLog) setLogger(l *slog.Logger) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.log = l
	now := d.now()
	if d.failed > 0 && d.failedAt.IsZero() {
		d.logFailed(now)
		d.announced = d.down
	}
	if d.dropped > 0 && d.droppedAt.IsZero() {
		d.logDropped(now)
	}
}

// setLimit sets the pace of the lines.
func (d *deliveryLog) setLimit(lim LogLimit) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.every, d.now = DefaultLogEvery, time.Now
	if lim.Every > 0 {
		d.every = lim.Every
	}
	if lim.Now != nil {
		d.now = lim.Now
	}
}

// due reports whether a line last logged at t may be followed by another
// now.
func (d *deliveryLog) due(t, now time.Time) bool {
	return d.log != nil && (t.IsZero() || now.Sub(t) >= d.every)
}

func (d *deliveryLog) attrs(extra ...any) []any {
	return append([]any{"output", d.name, "type", d.typ}, extra...)
}

// failedAttempt records a failed delivery attempt and its error: logged
// at once if it begins an outage (the output delivered since the last
// one) or no failure line was logged for an interval, else counted for
// the next line.
func (d *deliveryLog) failedAttempt(err error) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	d.setCause(err)
	d.failErr = err
	begins := !d.down
	if begins {
		d.down, d.announced, d.since, d.episode = true, false, now, 0
	}
	d.episode++
	d.failed++
	if d.log != nil && (begins || d.due(d.failedAt, now)) {
		d.logFailed(now)
		d.announced = true
	}
}

func (d *deliveryLog) logFailed(now time.Time) {
	d.log.Warn("alert output failed to deliver", d.attrs("failed", d.failed, "err", d.failErr)...)
	d.failedAt, d.failed = now, 0
}

// delivered records a delivery attempt that succeeded: if a line said the
// output fails, another says it recovered.
func (d *deliveryLog) delivered() {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.down {
		return
	}
	d.down = false
	if !d.announced || d.log == nil {
		return // the failures not logged go with the next line
	}
	now := d.now()
	d.log.Info("alert output recovered", d.attrs("failed", d.episode, "down_for", now.Sub(d.since), "last_err", d.failErr)...)
	d.failed = 0 // counted in the line above
}

// drop records n alerts dropped for reason, with err the cause when
// known: logged at once if no drop line was logged for an interval, else
// counted for the next line.
func (d *deliveryLog) drop(n int, reason string, err error) {
	if d == nil || n <= 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	d.dropErr = err
	if err != nil {
		d.setCause(err)
	} else if d.cause == nil {
		d.setCause(errors.New(reason))
	}
	d.dropped += uint64(n)
	if d.reasons == nil {
		d.reasons = map[string]uint64{}
	}
	d.reasons[reason] += uint64(n)
	d.reason = reason
	if d.due(d.droppedAt, now) {
		d.logDropped(now)
	}
}

func (d *deliveryLog) logDropped(now time.Time) {
	attrs := d.attrs("dropped", d.dropped, "reason", d.reason)
	if len(d.reasons) > 1 {
		keys := make([]string, 0, len(d.reasons))
		for r := range d.reasons {
			keys = append(keys, r)
		}
		sort.Strings(keys)
		var b strings.Builder
		for i, r := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s: %d", r, d.reasons[r])
		}
		attrs = append(attrs, "reasons", b.String())
	}
	if d.dropErr != nil {
		attrs = append(attrs, "err", d.dropErr)
	}
	d.log.Error("alert output dropped alerts", attrs...)
	d.droppedAt, d.dropped, d.dropErr = now, 0, nil
	clear(d.reasons)
}

// tick logs the failures and drops held back whose interval has passed:
// a fan-out calls it on every tick of its LogLimit, so that what the pace
// held back is logged with no further failure or drop to carry it.
func (d *deliveryLog) tick() { d.logHeld(false) }

// flush logs the failures and drops not logged yet, whatever the pace: a
// fan-out calls it once its outputs are closed.
func (d *deliveryLog) flush() { d.logHeld(true) }

// logHeld logs the failures and drops held back: with all, every one of
// them; otherwise those whose interval has passed.
func (d *deliveryLog) logHeld(all bool) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.log == nil {
		return
	}
	now := d.now()
	if d.failed > 0 && (all || d.due(d.failedAt, now)) {
		d.logFailed(now)
		if d.down && !all {
			d.announced = true
		}
	}
	if d.dropped > 0 && (all || d.due(d.droppedAt, now)) {
		d.logDropped(now)
	}
}

// setCause records err as the last failure, and the first if none was.
func (d *deliveryLog) setCause(err error) {
	if d.first == nil {
		d.first = err
	}
	d.cause = err
}

// causes returns the first and the last failure recorded: of a delivery
// attempt or the cause of a drop; nil if none.
func (d *deliveryLog) causes() (first, last error) {
	if d == nil {
		return nil, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.first, d.cause
}

// excerptBytes is how much of a receiver's answer an error quotes at most.
const excerptBytes = 256

// statusError describes a receiver's answer that is not 2xx: its status
// code with the code's standard text (not the receiver's reason phrase)
// and the start of its body, quoted in Go syntax so that control
// characters and invalid UTF-8 are escaped: what a receiver echoes of an
// alert cannot forge log lines or reach a terminal as escape sequences.
func statusError(code int, body []byte) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return fmt.Errorf("HTTP %d %s", code, http.StatusText(code))
	}
	more := ""
	if len(body) > excerptBytes {
		cut := excerptBytes
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		body, more = body[:cut], " (cut)"
	}
	return fmt.Errorf("HTTP %d %s: body %q%s", code, http.StatusText(code), body, more)
}

// answerError is statusError for resp, whose body starts with body; a
// redirect says where to, quoted, since redirects are not followed (see
// newHTTPClient).
func answerError(resp *http.Response, body []byte) error {
	err := statusError(resp.StatusCode, body)
	if resp.StatusCode/100 == 3 {
		to := resp.Header.Get("Location")
		if len(to) > excerptBytes {
			to = to[:excerptBytes]
		}
		err = fmt.Errorf("%w: redirect to %q not followed: set the url the receiver answers at", err, to)
	}
	return err
}

// hideURL returns err, a failed request's error, with the URL it names
// cut to its scheme and host (hiddenURL). The path and query of a webhook
// URL can be its credential (a Slack or Teams incoming webhook's token is
// its path), and delivery errors are logged and printed in summaries.
func hideURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = hiddenURL(ue.URL)
	}
	return err
}

// hiddenURL returns s, an output's URL, with what follows its host
// replaced by "/...": its scheme and host only, so that an error naming
// it names no credential. A string with no host (no scheme, say) keeps
// what comes before its first "/", "?" or "#".
func hiddenURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		hidden := u.Scheme + "://" + u.Host
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
			hidden += "/..."
		}
		return hidden
	}
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + len("://")
	}
	if i := strings.IndexAny(s[start:], "/?#"); i >= 0 && start+i+1 < len(s) {
		return s[:start+i] + "/..."
	}
	return s
}

// newHTTPClient returns the client of an HTTP output, which does not
// follow redirects: Go's client turns a POST redirected with 301, 302 or
// 303 into a GET without a body, whose 2xx would count an alert
// delivered that the receiver never got, and a 307 or 308 would take the
// body, its signature and the configured headers to another URL. A
// redirect is an answer other than 2xx, retried and logged.
// With tc, the client's connections use it (a CA, a client certificate,
// a server name) on a transport of its own, which closeIdle closes when
// the output is closed; without, Go's defaults.
func newHTTPClient(timeout time.Duration, tc *tls.Config) *http.Client {
	c := &http.Client{
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if tc != nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tc
		c.Transport = t
	}
	return c
}

// closeIdle closes the idle connections of c's transport if it is its
// own, not Go's default transport, which other clients share.
func closeIdle(c *http.Client) {
	if c != nil && c.Transport != nil && c.Transport != http.DefaultTransport {
		c.CloseIdleConnections()
	}
}
