package main

import (
	"flag"
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
