package rules

import (
	"errors"
	"fmt"
	"time"

	"github.com/spraywatch/spraywatch/event"
)

// Suppression is an allowlist entry as written in YAML: events matching it
// are not counted by the rules it names (all rules when Rules is empty)
// until it expires.
//
//	suppressions:
//	  - reason: nightly load test with the perf-runner certificate
//	    match: {tls.client.subject: "CN=perf-runner,OU=Services,O=Example"}
//	    expires: 2027-01-31T00:00:00Z
//	    rules: [cert-identity-spray]
type Suppression struct {
	Reason  string               `yaml:"reason"`
	Match   map[string]Condition `yaml:"match"`
	Expires string               `yaml:"expires,omitempty"`
	Rules   []string             `yaml:"rules,omitempty"`
}

// Suppressor is a compiled suppression.
type Suppressor struct {
	Reason string
	Filter Filter
	// Expires is the event time (Unix ns) from which the suppression no
	// longer applies; 0 means never.
	Expires int64
	Rules   []string
}

// CompileSuppression checks and compiles a suppression.
func CompileSuppression(s Suppression) (*Suppressor, error) {
	if s.Reason == "" {
		return nil, errors.New("reason: say why these events are allowed")
	}
	if len(s.Match) == 0 {
		return nil, errors.New("match: a suppression without a match would silence the whole rule; disable the rule instead")
	}
	f, err := CompileFilter(s.Match)
	if err != nil {
		return nil, err
	}
	sup := &Suppressor{Reason: s.Reason, Filter: f, Rules: s.Rules}
	if s.Expires != "" {
		t, err := time.Parse(time.RFC3339, s.Expires)
		if err != nil {
			return nil, fmt.Errorf("expires: %q: expected an RFC 3339 time such as 2027-01-31T00:00:00Z", s.Expires)
		}
		sup.Expires = t.UnixNano()
	}
	return sup, nil
}

// Applies reports whether the suppression silences ev.
func (s *Suppressor) Applies(ev *event.Event) bool {
	if s.Expires != 0 && ev.Time >= s.Expires {
		return false
	}
	return s.Filter.Match(ev)
}

// Suppressed reports whether one of the rule's suppressions silences ev.
func (r *Rule) Suppressed(ev *event.Event) bool {
	for _, s := range r.Suppress {
		if s.Applies(ev) {
			return true
		}
	}
	return false
}

// checkSuppressions reports a suppression of file name that names a rule
// not in known.
func checkSuppressions(name string, sups []*Suppressor, known map[string]bool) error {
	for i, s := range sups {
		for _, id := range s.Rules {
			if !known[id] {
				return fmt.Errorf("%s: suppressions #%d: names rule %q, which none of the rules files (nor the default pack, when extended) defines", name, i+1, id)
			}
		}
	}
	return nil
}

func applySuppressions(rs []*Rule, sups []*Suppressor) {
	for _, s := range sups {
		for _, r := range rs {
			if len(s.Rules) == 0 || contains(s.Rules, r.ID) {
				r.Suppress = append(r.Suppress, s)
			}
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
