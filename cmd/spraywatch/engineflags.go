package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/rules"
)

// engineFlags are the detection engine's settings: the same flags in
// replay and serve.
type engineFlags struct {
	joinWindow               time.Duration
	maxPending               int
	loginPaths, loginMethods string
	identity                 string
	maxGroups, maxEvents     int
	maxGroupsTotal           int
	maxEventsTotal           int
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&f.joinWindow, "join-window", detect.DefaultJoinWindow, "how long (event time) a record waits for its partner")
	fs.IntVar(&f.maxPending, "max-pending", detect.DefaultMaxPending, "records waiting for a partner, per side, before the oldest is evicted")
	fs.StringVar(&f.loginPaths, "login-paths", strings.Join(detect.DefaultLoginPaths, ","), "comma-separated url.path substrings of login requests")
	fs.StringVar(&f.loginMethods, "login-methods", strings.Join(detect.DefaultLoginMethods, ","), "comma-separated HTTP methods of login attempts on login paths")
	fs.StringVar(&f.identity, "identity", strings.Join(detect.DefaultIdentity, ","), "certificate identity, first present of: sha256, sha1, issuer_serial, subject, uri_san")
	fs.IntVar(&f.maxGroups, "max-groups", detect.DefaultMaxGroups, "groups kept per rule before the least active is evicted")
	fs.IntVar(&f.maxGroupsTotal, "max-groups-total", detect.DefaultMaxGroupsTotal, "groups kept across all rules, split evenly among them; a rule evicts its least active group beyond its share")
	fs.IntVar(&f.maxEventsTotal, "max-events-total", detect.DefaultMaxEventsTotal, "events kept in all rules' windows together, split evenly among them; a rule evicts its least active groups beyond its share")
	fs.IntVar(&f.maxEvents, "max-group-events", detect.DefaultMaxGroupEvents, "events kept per group window before the oldest is dropped")
}

// engineConfig returns the engine's configuration for ruleSet; the caller
// adds the sink and what else it needs.
func (f *engineFlags) engineConfig(ruleSet []*rules.Rule) detect.Config {
	return detect.Config{
		Correlator: detect.CorrelatorConfig{
			JoinWindow:   f.joinWindow,
			MaxPending:   f.maxPending,
			LoginPaths:   splitList(f.loginPaths),
			LoginMethods: splitList(f.loginMethods),
			Identity:     splitList(f.identity),
		},
		Rules:          ruleSet,
		MaxGroups:      f.maxGroups,
		MaxGroupsTotal: f.maxGroupsTotal,
		MaxEventsTotal: f.maxEventsTotal,
		MaxGroupEvents: f.maxEvents,
	}
}

// check rejects the values the configuration file rejects for the same
// settings (join and limits), instead of running with the defaults.
func (f *engineFlags) check() error {
	var errs []error
	if f.joinWindow < 0 {
		errs = append(errs, fmt.Errorf("--join-window %s: must not be negative", f.joinWindow))
	}
	errs = append(errs, nonNegative("max-pending", f.maxPending), nonNegative("max-groups", f.maxGroups),
		nonNegative("max-groups-total", f.maxGroupsTotal), nonNegative("max-events-total", f.maxEventsTotal),
		nonNegative("max-group-events", f.maxEvents))
	for _, l := range []struct{ name, value, what string }{
		{"login-paths", f.loginPaths, "url.path substring"},
		{"login-methods", f.loginMethods, "HTTP method"},
		{"identity", f.identity, "identity source"},
	} {
		if len(splitList(l.value)) == 0 {
			errs = append(errs, fmt.Errorf("--%s is empty: give at least one %s", l.name, l.what))
		}
	}
	return errors.Join(errs...)
}

// nonNegative returns an error for a negative value of the flag name.
func nonNegative(name string, v int) error {
	if v < 0 {
		return fmt.Errorf("--%s %d: must not be negative", name, v)
	}
	return nil
}
