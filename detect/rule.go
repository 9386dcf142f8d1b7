package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// Caps on the evidence an alert carries.
const (
	sampleUsers = 10
	sampleIDs   = 10
	sampleIPs   = 20
)

// ruleState is one rule's groups and incidents.
type ruleState struct {
	rule   *rules.Rule
	eng    *Engine
	groups *lru.Cache[string, *group]
	open   map[string]*group
	stats  *RuleStats
}

// group is one value of the rule's group_by fields.
type group struct {
	key        string
	vals       []string
	w          *window
	ident      *alert.Identity
	inc        *incident
	quietUntil int64 // no new incident before this event time (cooldown)
	suppressed bool  // a suppression was counted in this quiet period
}

// incident is a firing alert's state.
type incident struct {
	id     string
	seq    int
	start  int64 // first event in the window when it fired
	last   int64 // newest event seen while firing
	peak   int
	next   int   // value at which the next "updated" record is written
	below  int64 // event time the window fell below the threshold; 0 while above
	latest alert.Alert
}

func (rs *ruleState) groupKey(ev *event.Event) bool {
	b := rs.eng.keyBuf[:0]
	any := false
	for i, f := range rs.rule.GroupBy {
		if i > 0 {
			b = append(b, 0x1f)
		}
		v := ev.Values[f]
		if v != "" {
			any = true
		}
		b = append(b, v...)
	}
	rs.eng.keyBuf = b
	return any
}

func (rs *ruleState) add(ev *event.Event) {
	r := rs.rule
	if !rs.groupKey(ev) {
		return
	}
	var val string
	if r.HasDistinct {
		if val = ev.Values[r.Distinct]; val == "" {
			return
		}
	}
	rs.stats.Matched.Add(1)
	g, ok := rs.groups.Get(string(rs.eng.keyBuf))
	if !ok {
		g = &group{key: string(rs.eng.keyBuf), w: newWindow(r.HasDistinct)}
		for _, f := range r.GroupBy {
			g.vals = append(g.vals, ev.Values[f])
		}
		rs.groups.Add(g.key, g)
		rs.stats.Groups.Add(1)
	}
	en := entry{t: ev.Time, val: val, user: ev.Values[event.UserName], rid: ev.Values[event.RequestID], ip: ev.Values[event.SourceIP]}
	switch ev.Values[event.Outcome] {
	case event.OutcomeSuccess:
		en.outcome = outcomeSuccess
	case event.OutcomeFailure:
		en.outcome = outcomeFailure
	}
	rs.trim(g, ev.Time)
	dropped := g.w.dropped
	if !g.w.add(en, int64(r.Window), rs.eng.maxEv) {
		rs.eng.stats.Late.Add(1)
		return
	}
	rs.eng.stats.EventsDropped.Add(g.w.dropped - dropped)
	if g.ident == nil && (ev.Values[event.TLSSHA1] != "" || ev.Values[event.TLSSHA256] != "" || ev.Values[event.TLSSubject] != "") {
		g.ident = &alert.Identity{
			Subject: ev.Values[event.TLSSubject],
			Issuer:  ev.Values[event.TLSIssuer],
			SHA1:    ev.Values[event.TLSSHA1],
			SHA256:  ev.Values[event.TLSSHA256],
			Serial:  ev.Values[event.TLSSerial],
		}
	}
	rs.check(g, ev.Time)
}

// trim drops the events that left g's window by now, noting when an open
// incident's window fell below the threshold.
func (rs *ruleState) trim(g *group, now int64) {
	for {
		left, ok := g.w.expire(now, int64(rs.rule.Window))
		if !ok {
			return
		}
		if g.inc != nil && g.inc.below == 0 && g.w.value() < rs.rule.Threshold {
			g.inc.below = left
		}
	}
}

// check opens or updates the group's incident after an event at time t.
func (rs *ruleState) check(g *group, t int64) {
	r := rs.rule
	v := g.w.value()
	if g.inc == nil {
		if v < r.Threshold {
			return
		}
		if t < g.quietUntil {
			if !g.suppressed {
				g.suppressed = true
				rs.eng.stats.Suppressed.Add(1)
			}
			return
		}
		start := g.w.first()
		g.inc = &incident{id: incidentID(r.ID, g.key, start), start: start, next: 2 * r.Threshold}
		g.suppressed = false
		if rs.open == nil {
			rs.open = make(map[string]*group)
		}
		rs.open[g.key] = g
		rs.eng.stats.Open.Add(1)
		rs.notify(g, alert.StatusFiring, 0)
		return
	}
	inc := g.inc
	if v >= r.Threshold {
		inc.below = 0
	}
	if t > inc.last {
		inc.last = t
	}
	if v > inc.peak {
		inc.peak = v
	}
	if v >= inc.next {
		for inc.next <= v {
			inc.next *= 2
		}
		rs.notify(g, alert.StatusUpdated, 0)
	}
}

// sweep advances the windows of groups with open incidents to now, resolves
// those that stayed below the threshold long enough, and forgets groups
// with nothing left in their window.
func (rs *ruleState) sweep(now int64) {
	r := rs.rule
	length := int64(r.Window)
	if len(rs.open) > 0 {
		keys := make([]string, 0, len(rs.open))
		for k := range rs.open {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			g := rs.open[k]
			inc := g.inc
			rs.trim(g, now)
			if inc.below != 0 && now >= inc.below+int64(r.ResolveAfter) {
				at := inc.below + int64(r.ResolveAfter)
				rs.notify(g, alert.StatusResolved, at)
				delete(rs.open, k)
				g.inc = nil
				g.quietUntil = at + int64(r.Cooldown)
				rs.eng.stats.Open.Add(-1)
			}
		}
	}
	// Idle groups: the least recently active come first.
	for {
		k, g, ok := rs.groups.GetOldest()
		if !ok {
			return
		}
		if g.inc != nil {
			if len(rs.open) >= rs.groups.Len() {
				return
			}
			rs.groups.Get(k) // keep firing groups; look further
			continue
		}
		if g.w.end > now-length || g.quietUntil > now {
			return
		}
		rs.groups.Remove(k)
	}
}

func incidentID(rule, key string, start int64) string {
	h := sha256.New()
	h.Write([]byte(rule))
	h.Write([]byte{0})
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(start, 10)))
	return hex.EncodeToString(h.Sum(nil)[:10])
}

// notify writes one alert record for g's incident.
func (rs *ruleState) notify(g *group, status string, resolvedAt int64) {
	r := rs.rule
	inc := g.inc
	inc.seq++
	var a alert.Alert
	if status == alert.StatusResolved {
		a = inc.latest
		a.ResolvedAt = formatTime(resolvedAt)
	} else {
		a = rs.describe(g)
		if a.Observed > float64(inc.peak) {
			inc.peak = int(a.Observed)
		}
		if l := g.w.last(); l > inc.last {
			inc.last = l
		}
	}
	a.Schema = alert.Schema
	a.IncidentID = inc.id
	a.Sequence = inc.seq
	a.ID = inc.id + "-" + strconv.Itoa(inc.seq)
	a.Status = status
	a.FirstSeen = formatTime(inc.start)
	a.LastSeen = formatTime(inc.last)
	a.Summary = summary(r, &a, status)
	if status != alert.StatusResolved {
		inc.latest = a
	}
	rs.stats.Alerts.Add(1)
	rs.eng.send(&a)
}

// describe builds the alert body from the group's current window.
func (rs *ruleState) describe(g *group) alert.Alert {
	r := rs.rule
	a := alert.Alert{
		Rule:        r.ID,
		Description: r.Description,
		Severity:    r.Severity,
		Group:       make(map[string]string, len(r.GroupBy)),
		Identity:    g.ident,
		Window:      formatDuration(r.Window),
		Threshold:   float64(r.Threshold),
		Observed:    float64(g.w.value()),
		Measure:     r.Measure(),
		Threat:      alert.Threat{Framework: "MITRE ATT&CK", Technique: r.Technique},
	}
	for i, f := range r.GroupBy {
		a.Group[f.String()] = g.vals[i]
	}
	users := map[string]struct{}{}
	ips := map[string]struct{}{}
	a.Sample = alert.Sample{UserNames: []string{}, RequestIDs: []string{}, SourceIPs: []string{}}
	g.w.each(func(e *entry) {
		a.Count.Events++
		switch e.outcome {
		case outcomeFailure:
			a.Count.Failures++
		case outcomeSuccess:
			a.Count.Successes++
		}
		if e.user != "" {
			if _, ok := users[e.user]; !ok {
				users[e.user] = struct{}{}
				if len(a.Sample.UserNames) < sampleUsers {
					a.Sample.UserNames = append(a.Sample.UserNames, e.user)
				} else {
					a.Sample.UserNamesTruncated++
				}
			}
		}
		if e.rid != "" && len(a.Sample.RequestIDs) < sampleIDs {
			a.Sample.RequestIDs = append(a.Sample.RequestIDs, e.rid)
		}
		if e.ip != "" {
			if _, ok := ips[e.ip]; !ok {
				ips[e.ip] = struct{}{}
				if len(a.Sample.SourceIPs) < sampleIPs {
					a.Sample.SourceIPs = append(a.Sample.SourceIPs, e.ip)
				} else {
					a.Sample.SourceIPsTruncated++
				}
			}
		}
	})
	a.Count.DistinctUsers = len(users)
	return a
}

func summary(r *rules.Rule, a *alert.Alert, status string) string {
	var who strings.Builder
	if a.Identity != nil && a.Identity.Subject != "" {
		fmt.Fprintf(&who, "certificate %q ", a.Identity.Subject)
	}
	keys := make([]string, 0, len(a.Group))
	for k := range a.Group {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			who.WriteString(", ")
		}
		fmt.Fprintf(&who, "%s=%s", k, a.Group[k])
	}
	measure := "events"
	if r.HasDistinct {
		measure = "distinct " + r.Distinct.String()
	}
	s := fmt.Sprintf("%s: %s: %.0f %s within %s (threshold %d); %d events, %d failures, %d successes",
		r.ID, who.String(), a.Observed, measure, a.Window, r.Threshold, a.Count.Events, a.Count.Failures, a.Count.Successes)
	if status == alert.StatusResolved {
		s = "resolved: " + s
	}
	return s
}

func formatTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// formatDuration writes 10m rather than 10m0s.
func formatDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}
