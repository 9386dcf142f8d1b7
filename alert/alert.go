// Package alert defines spraywatch's alert records (schema
// "spraywatch.alert.v1") and the sinks that deliver them.
//
// The schema changes only by adding fields; docs/alert-schema.md documents
// every field.
package alert

import "context"

// Schema is the value of every alert's "schema" field.
const Schema = "spraywatch.alert.v1"

// Status values of an alert: the state of its incident when it was written.
const (
	StatusFiring   = "firing"
	StatusUpdated  = "updated"
	StatusResolved = "resolved"
)

// Severity values, lowest first.
const (
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// SeverityRank orders severities; unknown ones rank 0.
func SeverityRank(s string) int {
	switch s {
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 2
	case SeverityHigh:
		return 3
	case SeverityCritical:
		return 4
	}
	return 0
}

// Alert is one alert record. Field order here is the order in the JSON.
type Alert struct {
	Schema      string            `json:"schema"`
	ID          string            `json:"id"`
	IncidentID  string            `json:"incident_id"`
	Sequence    int               `json:"sequence"`
	Rule        string            `json:"rule"`
	Description string            `json:"description,omitempty"`
	Severity    string            `json:"severity"`
	Status      string            `json:"status"`
	Group       map[string]string `json:"group"`
	Identity    *Identity         `json:"identity,omitempty"`
	FirstSeen   string            `json:"first_seen"`
	LastSeen    string            `json:"last_seen"`
	ResolvedAt  string            `json:"resolved_at,omitempty"`
	Window      string            `json:"window"`
	Threshold   float64           `json:"threshold"`
	Observed    float64           `json:"observed"`
	Measure     string            `json:"measure"`
	Count       Count             `json:"count"`
	Sample      Sample            `json:"sample"`
	Threat      Threat            `json:"threat"`
	Summary     string            `json:"summary"`
	// Reason states the rule's condition and the figures it was tested on.
	Reason *Reason `json:"reason,omitempty"`
	// Classification is the attack shape the failures in the window have.
	Classification *Classification `json:"classification,omitempty"`
	// Account is the username that logged in after the failures (sequence
	// rules: the account a sprayed password opened).
	Account string `json:"account,omitempty"`
	// Truncated counts the values taken from the logs that were cut to
	// MaxValueBytes (Bound), each ending with a marker and a digest.
	Truncated int `json:"truncated,omitempty"`
}

// Reason is why a rule fired: its type and condition, and what was observed.
type Reason struct {
	Type        string  `json:"type"`
	Measure     string  `json:"measure"`
	Threshold   float64 `json:"threshold"`
	Observed    float64 `json:"observed"`
	MinEvents   int     `json:"min_events,omitempty"`
	Events      int     `json:"events,omitempty"`
	Ratio       float64 `json:"ratio,omitempty"`
	MinAttempts int     `json:"min_attempts,omitempty"`
	// Baseline rules: the group's learned mean and spread of the measure
	// per window, the number of windows learned, and the floor.
	BaselineMean    *float64 `json:"baseline_mean,omitempty"`
	BaselineSpread  *float64 `json:"baseline_spread,omitempty"`
	BaselineSamples int      `json:"baseline_samples,omitempty"`
	Sigma           float64  `json:"sigma,omitempty"`
	Floor           int      `json:"floor,omitempty"`
}

// Classification values.
const (
	ClassSpraying   = "password_spraying"
	ClassBruteForce = "brute_force"
	ClassStuffing   = "credential_stuffing"
	ClassMixed      = "mixed"
)

// Classification is the shape of the failed attempts in an alert's window:
// how many usernames, how many attempts each.
type Classification struct {
	Kind                string  `json:"kind"`
	Users               int     `json:"users"`
	Attempts            int     `json:"attempts"`
	MaxAttemptsPerUser  int     `json:"max_attempts_per_user"`
	MeanAttemptsPerUser float64 `json:"mean_attempts_per_user"`
	Basis               string  `json:"basis"`
}

// Identity is the client certificate behind an alert's events, when the
// events had one (the first event's values).
type Identity struct {
	Subject string `json:"tls.client.subject,omitempty"`
	Issuer  string `json:"tls.client.issuer,omitempty"`
	SHA1    string `json:"tls.client.hash.sha1,omitempty"`
	SHA256  string `json:"tls.client.hash.sha256,omitempty"`
	Serial  string `json:"tls.client.x509.serial_number,omitempty"`
}

// Count summarises the events in the alert's window.
type Count struct {
	Events        int `json:"events"`
	Failures      int `json:"failures"`
	Successes     int `json:"successes"`
	DistinctUsers int `json:"distinct_users"`
}

// Sample holds evidence from the window, capped; *Truncated fields say how
// many distinct values were left out.
type Sample struct {
	UserNames          []string `json:"user.name"`
	UserNamesTruncated int      `json:"user.name_truncated,omitempty"`
	RequestIDs         []string `json:"http.request.id"`
	SourceIPs          []string `json:"source.ip"`
	SourceIPsTruncated int      `json:"source.ip_truncated,omitempty"`
}

// Threat names the ATT&CK technique, as ECS threat.* fields.
type Threat struct {
	Framework string    `json:"framework"`
	Technique Technique `json:"technique"`
}

// Technique is an ATT&CK technique.
type Technique struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// A Sink takes alerts. Send must not keep a after it returns. A sink that
// delivers over a network queues and retries on its own: Send blocks only
// for as long as the sink's bounded queue needs. Close flushes and releases.
type Sink interface {
	Send(ctx context.Context, a *Alert) error
	Close() error
}

// A Recaller is a sink that keeps state about the incidents it sent (the
// Alertmanager output re-sends the firing ones). Recall tells it of an
// alert that went out before and is not sent again: one of the records a
// restarted server reads again, or a rule reload rebuilds from. The sink
// records the alert's incident as if it had sent a, so that it goes on
// from there, and sends nothing. Recall must not keep a after it returns.
type Recaller interface {
	Recall(a *Alert)
}

// Recall tells s of a, if s is a Recaller; other sinks keep no state
// about what they sent, and are not told.
func Recall(s Sink, a *Alert) {
	if r, ok := s.(Recaller); ok {
		r.Recall(a)
	}
}

// A Rebuilder is a Recaller told when a rebuild begins and when it ends.
// A server that rebuilds its incidents (after a restart, a rule reload,
// or when its consumer group moves partitions) calls BeginRebuild before
// it reads anything again, and EndRebuild once every alert muted by the
// rebuild was recalled. An incident the sink knew of before BeginRebuild
// and that it is neither told of (Recall) nor sent between BeginRebuild
// and EndRebuild is no longer the server's: its records are read by
// another server now, or the rules no longer open it. The sink forgets
// it and sends nothing for it. A rebuild begun again before it ended
// starts over; one that never ends forgets nothing.
type Rebuilder interface {
	Recaller
	BeginRebuild()
	EndRebuild()
}

// BeginRebuild tells s that a rebuild begins, if s is a Rebuilder.
func BeginRebuild(s Sink) {
	if r, ok := s.(Rebuilder); ok {
		r.BeginRebuild()
	}
}

// EndRebuild tells s that the rebuild begun last ended, if s is a
// Rebuilder.
func EndRebuild(s Sink) {
	if r, ok := s.(Rebuilder); ok {
		r.EndRebuild()
	}
}
