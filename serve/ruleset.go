package serve

import (
	"fmt"
	"sync"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/rules"
)

// ruleSet holds the rules in force for a Server or a Follower and tells
// its run loop, on reloaded, when ReloadRules replaced them.
type ruleSet struct {
	reloaded chan struct{} // one pending signal at most

	mu    sync.Mutex
	rules []*rules.Rule
}

func newRuleSet(rs []*rules.Rule) *ruleSet {
	return &ruleSet{reloaded: make(chan struct{}, 1), rules: rs}
}

// current returns the rules in force.
func (r *ruleSet) current() []*rules.Rule {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rules
}

// refused returns the error of a reload refused because of err: the rules
// in force stay.
func (r *ruleSet) refused(err error) error {
	return fmt.Errorf("rules not reloaded, keeping the %d rules in use: %w", len(r.current()), err)
}

// replace installs rs, once an engine configured as c with them accepts
// them, and signals reloaded; rules the engine refuses are not installed
// and the error says why.
func (r *ruleSet) replace(c detect.Config, rs []*rules.Rule) error {
	c.Rules = rs
	c.Sink = alert.NewFanout()
	if _, err := detect.NewEngine(c); err != nil {
		return r.refused(err)
	}
	r.mu.Lock()
	r.rules = rs
	r.mu.Unlock()
	select {
	case r.reloaded <- struct{}{}:
	default:
	}
	return nil
}
