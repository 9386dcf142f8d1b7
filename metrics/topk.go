package metrics

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
)

// TopK holds the identities with the highest figure of one rule (for the
// default per-identity rule: distinct usernames that failed and did not
// log in, over the rule's window) as of the last refresh. At most K are
// kept, so spraywatch_top_identity_failed_usernames never has more than K series:
// an identity that leaves the top K disappears at the next scrape.
//
// The engine is not safe for concurrent use, so the refresh runs on the
// goroutine that feeds it: a scrape only marks the ranking due (at most
// once per interval) and the next Tick there recomputes it, together with
// the number of entries each rule's windows hold.
type TopK struct {
	rule    string
	k       int
	every   time.Duration
	privacy alert.Privacy

	due  atomic.Bool
	last atomic.Int64 // wall-clock Unix ns of the last refresh

	buf []detect.GroupValue // engine goroutine only

	mu      sync.Mutex
	rows    []topRow
	known   bool // the rule exists in the engine last ranked
	entries []ruleEntries
}

// ruleEntries is what one rule's windows held at the last refresh.
type ruleEntries struct {
	rule string
	n    int64
}

type topRow struct {
	identity, subject string
	value             float64
}

func newTopK(rule string, k int, every time.Duration, p alert.Privacy) *TopK {
	return &TopK{rule: rule, k: k, every: every, privacy: p}
}

// Rule returns the ranked rule's id.
func (t *TopK) Rule() string { return t.rule }

// K returns how many identities are kept at most.
func (t *TopK) K() int { return t.k }

// Tick refreshes the ranking from e if a scrape asked for it. Call it on
// the goroutine that feeds e (after each record or batch, say): when no
// refresh is due it costs one atomic load.
func (t *TopK) Tick(e *detect.Engine) {
	if t.due.Load() {
		t.Refresh(e)
	}
}

// Refresh ranks e's groups now. Like Tick, it must not run concurrently
// with the engine (call it on its goroutine, or once it has stopped).
func (t *TopK) Refresh(e *detect.Engine) {
	t.due.Store(false)
	t.last.Store(time.Now().UnixNano())
	if e == nil {
		return
	}
	var ok bool
	t.buf, ok = e.TopGroups(t.rule, t.k, t.buf)
	rows := make([]topRow, 0, len(t.buf))
	for _, g := range t.buf {
		r := topRow{identity: labelValue(t.identity(&g)), value: g.Value}
		if g.Identity != nil {
			r.subject = labelValue(g.Identity.Subject)
		}
		rows = append(rows, r)
	}
	clear(t.buf) // keep no group alive past the ranking
	held := e.WindowEntries()
	entries := make([]ruleEntries, len(held))
	for i, rs := range e.RuleStats() {
		entries[i] = ruleEntries{rs.Rule, held[i]}
	}
	t.mu.Lock()
	t.rows, t.known, t.entries = rows, ok, entries
	t.mu.Unlock()
}

// labelValue makes s, a value from the logs (a client chose it), a label
// value: cut as alerts cut a long value (alert.CutValue), and valid UTF-8
// as Alertmanager labels are. A label value that is not valid UTF-8 would
// fail the whole metric family at each scrape.
func labelValue(s string) string {
	return strings.ToValidUTF8(alert.CutValue(s), "\uFFFD")
}

// identity returns the label of g: its values joined as the Alertmanager
// output's identity label joins them (alert.JoinValues: "," and "\"
// escaped where there are several), a username among them shown as the
// privacy mode says.
func (t *TopK) identity(g *detect.GroupValue) string {
	vals := g.Values
	cloned := false
	for i, f := range g.Fields {
		if f != alert.UserNameKey || i >= len(vals) {
			continue
		}
		if !cloned {
			vals, cloned = slices.Clone(vals), true // g's values are the group's own
		}
		vals[i] = t.privacy.Username(vals[i])
	}
	return alert.JoinValues(vals)
}

// request marks the ranking due if the last refresh is older than the
// interval; the collector calls it at each scrape.
func (t *TopK) request(now time.Time) {
	if now.UnixNano()-t.last.Load() >= int64(t.every) {
		t.due.Store(true)
	}
}

func (t *TopK) snapshot() ([]topRow, []ruleEntries) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rows, t.entries
}
