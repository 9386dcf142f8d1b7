package serve

import (
	"sync"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
)

// engineCounts keeps a server's engine counters for the life of the
// process, across the engines it builds (one per partition assignment or
// rule reload), so that they never go down. An engine's counts begin once
// its rebuild ended: what it counts while it reads again what was
// processed before is left out, as it was counted then (by this process
// or, before a restart, by the previous one). The alert records are those
// handed to the sink: the ones muted while rebuilding were not written.
type engineCounts struct {
	mu sync.Mutex
	// carried are the counts of the engines used before eng.
	carried detect.Counts
	eng     *detect.Engine
	// base is eng's counts when its rebuild ended; nil while it rebuilds.
	base *detect.Counts
	// alerts are the alert records handed to the sink, by rule and
	// severity, in the order first seen.
	alerts map[ruleSeverity]int64
	order  []ruleSeverity
}

type ruleSeverity struct{ rule, severity string }

// use makes e the engine in use, rebuilding: the counts of the engine
// before are kept.
func (c *engineCounts) use(e *detect.Engine) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.eng != nil && c.base != nil {
		c.carried.Add(c.eng.Counts().Sub(*c.base))
	}
	c.eng, c.base = e, nil
}

// rebuilt says the engine in use is done reading again what was processed
// before: what it counts from now on is new. Call it on the engine's
// goroutine, after detect.Engine.Rebuilt (once the lanes have settled).
func (c *engineCounts) rebuilt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.eng != nil && c.base == nil {
		b := c.eng.Counts()
		c.base = &b
	}
}

// alert counts an alert record handed to the sink.
func (c *engineCounts) alert(a *alert.Alert) {
	k := ruleSeverity{a.Rule, a.Severity}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.alerts == nil {
		c.alerts = map[ruleSeverity]int64{}
	}
	if _, ok := c.alerts[k]; !ok {
		c.order = append(c.order, k)
	}
	c.alerts[k]++
}

// counts returns the totals: the engines' before, the one in use since its
// rebuild ended, and the alert records handed to the sink.
func (c *engineCounts) counts() detect.Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.carried.Clone()
	if c.eng != nil {
		if c.base != nil {
			out.Add(c.eng.Counts().Sub(*c.base))
		} else {
			// Rebuilding: the rules are there, nothing new counted yet.
			for _, r := range c.eng.Counts().Rules {
				out.Add(detect.Counts{Rules: []detect.RuleCounts{{Rule: r.Rule, Severity: r.Severity}}})
			}
		}
	}
	for _, k := range c.order {
		if out.Rule(k.rule, k.severity) == nil {
			out.Rules = append(out.Rules, detect.RuleCounts{Rule: k.rule, Severity: k.severity})
		}
	}
	for i := range out.Rules {
		r := &out.Rules[i]
		r.Alerts = c.alerts[ruleSeverity{r.Rule, r.Severity}]
	}
	return out
}
