package alert

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// AlertmanagerOptions configure an Alertmanager sink.
type AlertmanagerOptions struct {
	Name           string
	URL            string // Alertmanager base URL, e.g. http://127.0.0.1:9093
	AlertName      string // value of the alertname label; default "PasswordSpraying"
	GeneratorURL   string // optional link back to spraywatch: an absolute URL or path (url.ParseRequestURI)
	ResendInterval time.Duration
	MaxActive      int // firing incidents remembered for re-sending; default 10000
	Timeout        time.Duration
	Queue          QueueOptions
	TLS            *tls.Config  // for an https URL: CA, client certificate, server name; nil: Go's defaults
	Client         *http.Client // default: a client with Timeout and TLS that follows no redirect
}

// Alertmanager is a sink posting alerts to Alertmanager's API v2
// (POST /api/v2/alerts). Firing incidents are re-sent every ResendInterval
// (default 1m) until resolved, as Alertmanager expects of its clients.
//
// startsAt is the alert's first_seen (event time). Firing alerts carry no
// endsAt, so Alertmanager sets it to its own receipt time plus its
// resolve_timeout; the re-sends keep the alert active and, if spraywatch
// stops, Alertmanager resolves it after resolve_timeout. Resolved alerts
// carry endsAt = last_seen.
//
// Recall records an incident whose alerts went out before (from an
// earlier process) as firing, so that the re-sends keep it active. After
// a rebuild (BeginRebuild, EndRebuild) it re-sends only the incidents
// recalled or sent during the rebuild.
type Alertmanager struct {
	opts   AlertmanagerOptions
	stats  SinkStats
	active map[string]*amActive // by incident id; used only on the queue's goroutine
	order  uint64
	// ending are old label sets whose end (endsAt) was in a batch
	// given up on: sent with the next post. Queue goroutine only.
	ending []amAlert
	// posts counts the posts made and taken the ones Alertmanager
	// took; postErr is the error of the last that failed other than
	// for its size (reset by tick). Queue goroutine only.
	posts, taken int
	postErr      error

	// recalled are the changes of the alerts Recall was told of, by
	// incident, the last one of each, not applied yet: the queue
	// goroutine applies them before a delivery, a re-send, or when
	// recallC wakes it. Guarded by recallMu.
	recallMu  sync.Mutex
	recalled  map[string]amRecall
	recallSeq uint64
	recallC   chan struct{}
	// sent is the number of alerts Send queued. rebuild is the rebuild
	// under way (nil: none), ended the last one ended and not applied
	// yet (see EndRebuild). Guarded by recallMu.
	sent    uint64
	rebuild *amRebuild
	ended   *amRebuild
	*queue
}

// amRebuild is a rebuild (BeginRebuild): the firing incidents recalled
// or sent since it began, which are kept when it is applied.
type amRebuild struct {
	kept  map[string]struct{}
	after uint64 // the alerts queued before it began
}

// amRecall is the change a recalled alert makes to the firing incidents.
type amRecall struct {
	amChange
	lastSeen string
	seq      uint64 // the order of the Recall calls
}

type amActive struct {
	alert amAlert
	order uint64
}

// amAlert is postableAlert of the Alertmanager API v2.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     string            `json:"startsAt,omitempty"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// NewAlertmanager returns an Alertmanager sink; ctx bounds its lifetime.
func NewAlertmanager(ctx context.Context, opts AlertmanagerOptions) (*Alertmanager, error) {
	return newAlertmanager(ctx, opts, nil)
}

// newAlertmanager is NewAlertmanager re-sending on ticks, if not nil,
// instead of every ResendInterval.
func newAlertmanager(ctx context.Context, opts AlertmanagerOptions, ticks <-chan time.Time) (*Alertmanager, error) {
	if opts.URL == "" {
		return nil, errors.New("alertmanager: url is required")
	}
	if err := checkGeneratorURL(opts.GeneratorURL); err != nil {
		return nil, err
	}
	opts.URL = strings.TrimSuffix(opts.URL, "/")
	if opts.AlertName == "" {
		opts.AlertName = "PasswordSpraying"
	}
	if opts.ResendInterval <= 0 {
		opts.ResendInterval = time.Minute
	}
	if opts.MaxActive <= 0 {
		opts.MaxActive = 10000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Client == nil {
		opts.Client = newHTTPClient(opts.Timeout, opts.TLS)
	}
	m := &Alertmanager{opts: opts, active: map[string]*amActive{}, recalled: map[string]amRecall{}, recallC: make(chan struct{}, 1)}
	m.stats.Type, m.stats.Name = "alertmanager", opts.Name
	m.queue = newQueue(ctx, &m.stats, opts.Queue, m.deliver)
	m.queue.tick, m.queue.every, m.queue.ticks = m.tick, opts.ResendInterval, ticks
	m.queue.gaveUp = m.gaveUp
	m.queue.wake, m.queue.onWake = m.recallC, m.applyRecalled
	m.queue.onClosed = func() { closeIdle(opts.Client) }
	m.queue.start()
	return m, nil
}

// Stats returns the sink's counters.
func (m *Alertmanager) Stats() *SinkStats { return &m.stats }

// amLabel makes s a valid label value (UTF-8).
func amLabel(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func (m *Alertmanager) convert(a *Alert) amAlert {
	labels := map[string]string{
		"alertname": amLabel(m.opts.AlertName),
		"rule":      amLabel(a.Rule),
		"severity":  amLabel(a.Severity),
	}
	if id := groupValues(a.Group); id != "" {
		labels["identity"] = amLabel(id)
	}
	desc := a.Description
	if desc == "" {
		desc = a.Summary
	}
	var ev strings.Builder
	fmt.Fprintf(&ev, "incident=%s sequence=%d events=%d failures=%d successes=%d distinct_users=%d observed=%g threshold=%g window=%s",
		a.IncidentID, a.Sequence, a.Count.Events, a.Count.Failures, a.Count.Successes, a.Count.DistinctUsers, a.Observed, a.Threshold, a.Window)
	if len(a.Sample.UserNames) > 0 {
		b, _ := json.Marshal(a.Sample.UserNames)
		fmt.Fprintf(&ev, " user.name=%s", b)
	}
	if len(a.Sample.SourceIPs) > 0 {
		fmt.Fprintf(&ev, " source.ip=%s", strings.Join(a.Sample.SourceIPs, ","))
	}
	if a.Identity != nil && a.Identity.SHA256 != "" {
		fmt.Fprintf(&ev, " tls.client.hash.sha256=%s", a.Identity.SHA256)
	}
	out := amAlert{
		Labels: labels,
		Annotations: map[string]string{
			"summary":     amLabel(a.Summary),
			"description": amLabel(desc),
			"evidence":    amLabel(ev.String()),
		},
		StartsAt:     a.FirstSeen,
		GeneratorURL: m.opts.GeneratorURL,
	}
	if a.Status == StatusResolved {
		out.EndsAt = a.LastSeen
	}
	return out
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// amChange is the change a delivered alert makes to the firing incidents.
type amChange struct {
	id       string
	alert    amAlert
	resolved bool
}

// plan converts batch, with the end of every label set an incident left
// (a severity escalation), without changing the firing incidents: the
// changes are applied once Alertmanager took the alerts (or they were
// given up on), so a retry sends the same ends again.
func (m *Alertmanager) plan(batch []*Alert) (out, ends []amAlert, changes []amChange) {
	out = make([]amAlert, 0, len(batch))
	now := map[string]*amAlert{} // labels as of the batch so far; nil: resolved
	for _, a := range batch {
		am := m.convert(a)
		prev, ok := now[a.IncidentID]
		if !ok {
			if act, found := m.active[a.IncidentID]; found {
				prev = &act.alert
			}
		}
		if prev != nil && !sameLabels(prev.Labels, am.Labels) {
			// The label set changed (a severity escalation): end the old one.
			old := *prev
			old.EndsAt = a.LastSeen
			ends = append(ends, old)
			out = append(out, old)
		}
		c := amChange{id: a.IncidentID, alert: am, resolved: a.Status == StatusResolved}
		changes = append(changes, c)
		if c.resolved {
			now[a.IncidentID] = nil
		} else {
			now[a.IncidentID] = &c.alert
		}
		out = append(out, am)
	}
	return out, ends, changes
}

// apply applies changes to the firing incidents.
func (m *Alertmanager) apply(changes []amChange) {
	for _, c := range changes {
		if c.resolved {
			delete(m.active, c.id)
			continue
		}
		m.order++
		m.active[c.id] = &amActive{alert: c.alert, order: m.order}
		m.evict()
	}
}

func (m *Alertmanager) deliver(ctx context.Context, batch []*Alert) error {
	m.applyRecalled()
	out, _, changes := m.plan(batch)
	if len(m.ending) > 0 {
		err := m.post(ctx, append(slices.Clip(m.ending), out...))
		if err == nil {
			m.ending = nil
			m.apply(changes)
			return nil
		}
		if !errors.Is(err, errOversize) {
			return err
		}
		// Over a body limit: the ends go apart, so that their size
		// cannot take the batch's alerts down with them.
		m.stats.Failures.Add(1)
		if err := m.sendEnding(ctx); err != nil {
			return err
		}
	}
	if err := m.post(ctx, out); err != nil {
		return err
	}
	m.apply(changes)
	return nil
}

// sendEnding posts the pending ends on their own, in parts halved on a
// 413; an end refused alone is dropped. It stops at another failure,
// keeping the ends not sent.
func (m *Alertmanager) sendEnding(ctx context.Context) error {
	n, err := m.postSplit(ctx, m.ending, func(int, int) {}, func(_ int, err error) { m.dropOversize(err) })
	m.ending = slices.Delete(m.ending, 0, n)
	if len(m.ending) == 0 {
		m.ending = nil
	}
	return err
}

// gaveUp applies the changes of a batch that was not delivered, so the
// re-sends carry the incidents' current labels, and keeps the ends of
// their old label sets for the next post: MaxActive of them at most, the
// oldest beyond that dropped.
func (m *Alertmanager) gaveUp(batch []*Alert) {
	m.applyRecalled()
	_, ends, changes := m.plan(batch)
	m.end(ends)
	m.apply(changes)
}

// end keeps ends for the next post: MaxActive of them at most, the
// oldest beyond that dropped.
func (m *Alertmanager) end(ends []amAlert) {
	m.ending = append(m.ending, ends...)
	if over := len(m.ending) - m.opts.MaxActive; over > 0 {
		m.ending = slices.Delete(m.ending, 0, over)
		m.stats.Dropped.Add(uint64(over))
		m.dlog.drop(over, dropForgotten, nil)
	}
}

// Send queues a for delivery. A firing incident sent during a rebuild
// (see BeginRebuild) is kept by it.
func (m *Alertmanager) Send(ctx context.Context, a *Alert) error {
	m.recallMu.Lock()
	defer m.recallMu.Unlock()
	m.keep(a)
	err := m.queue.Send(ctx, a)
	if err == nil {
		m.sent++
	}
	return err
}

// keep records the incident of a as kept by the rebuild under way and
// the one ended and not applied yet, if any. recallMu is held.
func (m *Alertmanager) keep(a *Alert) {
	for _, r := range []*amRebuild{m.rebuild, m.ended} {
		switch {
		case r == nil:
		case a.Status == StatusResolved:
			delete(r.kept, a.IncidentID)
		default:
			r.kept[strings.Clone(a.IncidentID)] = struct{}{}
		}
	}
}

// BeginRebuild begins a rebuild: the firing incidents known when it is
// ended (EndRebuild) are forgotten, without an end sent, unless they
// were recalled or sent since. A rebuild under way begins again.
func (m *Alertmanager) BeginRebuild() {
	m.recallMu.Lock()
	m.rebuild = &amRebuild{kept: map[string]struct{}{}, after: m.sent}
	m.recallMu.Unlock()
}

// EndRebuild ends the rebuild under way, if any. The queue goroutine
// applies it once it has delivered (or given up on) every alert queued
// before the rebuild began, so that such an alert does not bring back an
// incident the rebuild left out; the incidents recalled or sent until
// then are kept.
func (m *Alertmanager) EndRebuild() {
	m.recallMu.Lock()
	if m.rebuild == nil {
		m.recallMu.Unlock()
		return
	}
	m.ended, m.rebuild = m.rebuild, nil
	m.recallMu.Unlock()
	select {
	case m.recallC <- struct{}{}:
	default: // a wake is pending
	}
}

// Recall records the incident of a, an alert that went out before (from
// an earlier process, or before a rule reload) and is not sent again, as
// if a had been delivered: a firing or updated alert makes the incident
// firing, re-sent with a's labels and annotations from the next re-send
// on; a resolution ends it. An incident recalled again is updated, not
// duplicated. When the incident was firing here with other labels (or a
// resolves it), the label set firing here is ended with the next post,
// as on a severity escalation. Recall posts nothing itself. Beyond
// MaxActive incidents recalled and not applied yet (the delivery
// goroutine is held by retries), a recall of another incident is dropped
// and counted.
func (m *Alertmanager) Recall(a *Alert) {
	r := amRecall{amChange: amChange{id: strings.Clone(a.IncidentID), alert: cloneAM(m.convert(a)), resolved: a.Status == StatusResolved},
		lastSeen: strings.Clone(a.LastSeen)}
	m.recallMu.Lock()
	m.keep(a)
	if _, ok := m.recalled[r.id]; !ok && len(m.recalled) >= m.opts.MaxActive {
		m.recallMu.Unlock()
		m.stats.Dropped.Add(1)
		m.dlog.drop(1, dropForgotten, nil)
		return
	}
	m.recallSeq++
	r.seq = m.recallSeq
	m.recalled[r.id] = r
	m.recallMu.Unlock()
	select {
	case m.recallC <- struct{}{}:
	default: // a wake is pending
	}
}

// cloneAM returns a copy of a sharing no string or map with it: the
// strings of an alert may share a buffer its sender reuses.
func cloneAM(a amAlert) amAlert {
	cp := func(m map[string]string) map[string]string {
		c := make(map[string]string, len(m))
		for k, v := range m {
			c[strings.Clone(k)] = strings.Clone(v)
		}
		return c
	}
	return amAlert{Labels: cp(a.Labels), Annotations: cp(a.Annotations), StartsAt: strings.Clone(a.StartsAt),
		EndsAt: strings.Clone(a.EndsAt), GeneratorURL: a.GeneratorURL}
}

// applyRecalled applies the recalled changes, in the order of the
// recalls, to the firing incidents, then the rebuild ended, if every
// alert queued before it began was handled (queue goroutine only).
func (m *Alertmanager) applyRecalled() {
	m.recallMu.Lock()
	var ended *amRebuild
	if m.ended != nil && m.queue.handled >= m.ended.after {
		ended, m.ended = m.ended, nil
	}
	if len(m.recalled) == 0 {
		m.recallMu.Unlock()
		m.forget(ended)
		return
	}
	rs := make([]amRecall, 0, len(m.recalled))
	for _, r := range m.recalled {
		rs = append(rs, r)
	}
	clear(m.recalled)
	m.recallMu.Unlock()
	defer m.forget(ended)
	slices.SortFunc(rs, func(a, b amRecall) int { return cmp.Compare(a.seq, b.seq) })
	var ends []amAlert
	changes := make([]amChange, 0, len(rs))
	for _, r := range rs {
		if act, ok := m.active[r.id]; ok && (r.resolved || !sameLabels(act.alert.Labels, r.alert.Labels)) {
			old := act.alert
			old.EndsAt = r.lastSeen
			ends = append(ends, old)
		}
		changes = append(changes, r.amChange)
	}
	m.end(ends)
	m.apply(changes)
}

// dropOversize counts and logs an alert dropped because Alertmanager
// (a proxy's body limit) refused it alone for its size; err is the
// refusal.
func (m *Alertmanager) dropOversize(err error) {
	m.stats.Dropped.Add(1)
	m.dlog.drop(1, dropOversize, err)
}

// forget forgets the firing incidents r, if not nil, did not keep.
func (m *Alertmanager) forget(r *amRebuild) {
	if r == nil {
		return
	}
	for id := range m.active {
		if _, ok := r.kept[id]; !ok {
			delete(m.active, id)
		}
	}
}

// evict forgets the oldest firing incidents beyond MaxActive.
func (m *Alertmanager) evict() {
	for len(m.active) > m.opts.MaxActive {
		var oldest string
		var o uint64
		for id, a := range m.active {
			if oldest == "" || a.order < o {
				oldest, o = id, a.order
			}
		}
		delete(m.active, oldest)
		m.stats.Dropped.Add(1)
		m.dlog.drop(1, dropForgotten, nil)
	}
}

// tick re-sends the firing incidents and logs the outcome of the posts,
// if any: a failure, or a recovery after failures. A post a stop cut
// short is not a failure, nor is one refused for its size (split, or
// its alert dropped and logged as such).
func (m *Alertmanager) tick(ctx context.Context) {
	m.applyRecalled()
	posts, taken := m.posts, m.taken
	m.postErr = nil
	m.resend(ctx)
	switch {
	case m.posts == posts || ctx.Err() != nil:
	case m.postErr != nil:
		m.dlog.failedAttempt(m.postErr)
	case m.taken > taken:
		m.dlog.delivered()
	}
}

// resendChunk is the number of alerts in a re-send's post at most.
const resendChunk = 500

// resend posts every firing incident again, and the ends not sent yet,
// in posts of resendChunk alerts split in halves on a 413. An alert
// refused alone for its size is dropped: an end is not sent again, and
// an incident is no longer re-sent (Alertmanager resolves it after its
// resolve_timeout).
func (m *Alertmanager) resend(ctx context.Context) {
	if len(m.active) == 0 && len(m.ending) == 0 {
		return
	}
	ends := len(m.ending)
	all := make([]amAlert, 0, ends+len(m.active))
	all = append(all, m.ending...)
	ids := make([]string, 0, len(m.active)) // the incident of all[ends+i]
	for id, a := range m.active {
		all = append(all, a.alert)
		ids = append(ids, id)
	}
	done := make([]bool, ends) // the ends sent or dropped
	var tooLarge []string      // the incidents dropped
	for i := 0; i < len(all); i += resendChunk {
		chunk := all[i:min(i+resendChunk, len(all))]
		_, err := m.postSplit(ctx, chunk, func(lo, hi int) {
			// Successful re-sends are counted too, so that one that
			// failed is not taken for the only attempt made.
			m.stats.Resent.Add(uint64(hi - lo))
			for j := i + lo; j < i+hi && j < ends; j++ {
				done[j] = true
			}
		}, func(j int, err error) {
			m.dropOversize(err)
			if j += i; j < ends {
				done[j] = true
			} else {
				tooLarge = append(tooLarge, ids[j-ends])
			}
		})
		if err != nil {
			m.stats.Failures.Add(1)
		}
	}
	for _, id := range tooLarge {
		delete(m.active, id)
	}
	kept := m.ending[:0]
	for j, a := range m.ending {
		if !done[j] {
			kept = append(kept, a)
		}
	}
	clear(m.ending[len(kept):])
	m.ending = kept
	if len(m.ending) == 0 {
		m.ending = nil
	}
}

// postSplit posts alerts, splitting a post answered 413 (a proxy's body
// limit) in halves down to single alerts. It calls sent with the bounds
// of each part taken, and tooLarge with the index of each alert refused
// alone, and the refusal. It stops at the first other failure, and
// returns its error and the number of alerts before the part that failed
// (sent or too large). The refusals for size are counted as failures;
// the error returned is not.
func (m *Alertmanager) postSplit(ctx context.Context, alerts []amAlert, sent func(lo, hi int), tooLarge func(i int, err error)) (int, error) {
	done := 0 // the alerts before done are sent or too large
	var split func(lo, hi int) error
	split = func(lo, hi int) error {
		err := m.post(ctx, alerts[lo:hi])
		switch {
		case err == nil:
			sent(lo, hi)
			done = hi
			return nil
		case !errors.Is(err, errOversize):
			return err
		}
		m.stats.Failures.Add(1)
		if hi-lo == 1 {
			tooLarge(lo, err)
			done = hi
			return nil
		}
		mid := lo + (hi-lo)/2
		if err := split(lo, mid); err != nil {
			return err
		}
		return split(mid, hi)
	}
	if len(alerts) == 0 {
		return 0, nil
	}
	err := split(0, len(alerts))
	return done, err
}

// post makes one POST of alerts. A refusal for size is not kept as the
// last error: the callers split the post or drop its alert.
func (m *Alertmanager) post(ctx context.Context, alerts []amAlert) error {
	m.posts++
	err := m.postOnce(ctx, alerts)
	switch {
	case err == nil:
		m.taken++
	case !errors.Is(err, errOversize):
		m.postErr = err
	}
	return err
}

func (m *Alertmanager) postOnce(ctx context.Context, alerts []amAlert) error {
	body, err := json.Marshal(alerts)
	if err != nil {
		return fmt.Errorf("alertmanager %s: encoding: %w", m.opts.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.opts.URL+"/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("alertmanager %s: %w", m.opts.Name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "spraywatch")
	resp, err := m.opts.Client.Do(req)
	if err != nil {
		return fmt.Errorf("alertmanager %s: posting alerts: %w", m.opts.Name, err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		err := fmt.Errorf("alertmanager %s: posting alerts: %w", m.opts.Name, answerError(resp, msg))
		if resp.StatusCode == http.StatusRequestEntityTooLarge {
			// A proxy's body limit: the alerts that fit go without
			// the one that does not.
			return &oversizeError{At: -1, Err: err}
		}
		return err
	}
	return nil
}
