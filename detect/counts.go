package detect

// Counts are an engine's counters at one time, as plain values: not its
// gauges (groups held, incidents open, records pending, the watermark).
// A caller that replaces its engine (a server rebuilding its state after a
// rule reload) adds them up to keep totals across engines.
type Counts struct {
	Events        int64 // authentication events built
	Late          int64 // events older than their group's window
	EventsDropped int64 // events dropped from full group windows
	GroupsEvicted int64
	Suppressed    int64 // incidents not opened because of a cooldown
	Join          JoinCounts
	// Rules are the rules' counters, by rule id and severity.
	Rules []RuleCounts
}

// JoinCounts are the correlator's counters (see JoinStats).
type JoinCounts struct {
	Matched, AppOnly, ProxyOnly, Duplicates, Evicted, Unrelated int64
	// LateApp and LateProxy are records that came after their partner
	// had expired unmatched (see JoinStats.LateApp).
	LateApp, LateProxy int64
}

// RuleCounts are one rule's counters (see RuleStats).
type RuleCounts struct {
	Rule, Severity string
	Matched        int64 // events that passed the rule's filter
	Suppressed     int64 // matching events an allowlist entry silenced
	Alerts         int64 // alert records sent
}

// Counts returns the engine's counters now. Safe to call while the engine
// runs, as Stats.
func (e *Engine) Counts() Counts {
	j := e.corr.Stats()
	c := Counts{
		Events:        e.stats.Events.Load(),
		Late:          e.stats.Late.Load(),
		EventsDropped: e.stats.EventsDropped.Load(),
		GroupsEvicted: e.stats.GroupsEvicted.Load(),
		Suppressed:    e.stats.Suppressed.Load(),
		Join: JoinCounts{
			Matched:    j.Matched.Load(),
			AppOnly:    j.AppOnly.Load(),
			ProxyOnly:  j.ProxyOnly.Load(),
			Duplicates: j.Duplicates.Load(),
			Evicted:    j.Evicted.Load(),
			Unrelated:  j.Unrelated.Load(),
			LateApp:    j.LateApp.Load(),
			LateProxy:  j.LateProxy.Load(),
		},
		Rules: make([]RuleCounts, len(e.rules)),
	}
	for i, r := range e.rules {
		s := r.stats
		c.Rules[i] = RuleCounts{Rule: s.Rule, Severity: s.Severity,
			Matched: s.Matched.Load(), Suppressed: s.Suppressed.Load(), Alerts: s.Alerts.Load()}
	}
	return c
}

// Rule returns the counters of the rule with id and severity, nil if c
// has none.
func (c *Counts) Rule(id, severity string) *RuleCounts {
	for i := range c.Rules {
		if r := &c.Rules[i]; r.Rule == id && r.Severity == severity {
			return r
		}
	}
	return nil
}

// Add adds d to c. A rule is matched by id and severity; one c lacks is
// appended, in d's order.
func (c *Counts) Add(d Counts) { c.add(d, 1) }

// Sub returns c less base (the same engine's counts at an earlier time).
func (c Counts) Sub(base Counts) Counts {
	out := c.Clone()
	out.add(base, -1)
	return out
}

// Clone returns a copy of c that shares nothing with it.
func (c Counts) Clone() Counts {
	c.Rules = append([]RuleCounts(nil), c.Rules...)
	return c
}

func (c *Counts) add(d Counts, sign int64) {
	c.Events += sign * d.Events
	c.Late += sign * d.Late
	c.EventsDropped += sign * d.EventsDropped
	c.GroupsEvicted += sign * d.GroupsEvicted
	c.Suppressed += sign * d.Suppressed
	c.Join.Matched += sign * d.Join.Matched
	c.Join.AppOnly += sign * d.Join.AppOnly
	c.Join.ProxyOnly += sign * d.Join.ProxyOnly
	c.Join.Duplicates += sign * d.Join.Duplicates
	c.Join.Evicted += sign * d.Join.Evicted
	c.Join.Unrelated += sign * d.Join.Unrelated
	c.Join.LateApp += sign * d.Join.LateApp
	c.Join.LateProxy += sign * d.Join.LateProxy
	for _, dr := range d.Rules {
		r := c.Rule(dr.Rule, dr.Severity)
		if r == nil {
			c.Rules = append(c.Rules, RuleCounts{Rule: dr.Rule, Severity: dr.Severity})
			r = &c.Rules[len(c.Rules)-1]
		}
		r.Matched += sign * dr.Matched
		r.Suppressed += sign * dr.Suppressed
		r.Alerts += sign * dr.Alerts
	}
}
