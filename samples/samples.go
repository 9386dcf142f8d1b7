// Package samples generates a realistic, labelled day of mTLS reverse-proxy
// and Django authentication logs: employees with device certificates, a
// shared SSO gateway certificate, an office behind NAT, a lobby kiosk, typos
// and lockouts, and a set of password-spraying campaigns whose identities,
// usernames and times are written out as labels.
//
// The output is a pure function of the Config: the same Config gives the
// same bytes on every run and every machine. Proxy lines use the nginx
// reference format mtls_combined; application lines are Django JSON lines
// with the default keys (timestamp, level, logger, event, request_id,
// username, ip). Each output is sorted by its own timestamps.
package samples

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Config selects what Generate writes.
type Config struct {
	Seed     int64
	Start    time.Time     // start of the generated period; event time is UTC
	Duration time.Duration // length of the period, at least MinDuration
	// Scale multiplies the organisation (employees, offices, kiosks) and the
	// background traffic. 1.0 is the size of the committed sample files.
	// The labelled attack campaigns keep their size at every scale. It
	// is above 0 and at most MaxScale.
	Scale float64
	// Campaigns selects the attack campaigns by kind (KindFastSpray, ...);
	// nil means those of AttackKinds and an empty non-nil slice none. The
	// kinds of OptInKinds are generated only when named. The hard
	// negatives are part of the ordinary day and are always present.
	Campaigns []string
}

// The limits of a Config that Generate accepts.
const (
	MinDuration = time.Hour // shortest Duration
	MaxScale    = 1e5       // largest Scale; Scale must be above 0
)

// DefaultConfig is the configuration of the committed sample files.
func DefaultConfig() Config {
	return Config{
		Seed:     1,
		Start:    time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC),
		Duration: 24 * time.Hour,
		Scale:    1,
	}
}

// Campaign kinds: attacks.
const (
	KindFastSpray       = "fast_spray"       // one stolen device certificate, ~40 usernames in a few minutes
	KindLowAndSlow      = "low_and_slow"     // one certificate, 300+ usernames over up to 12 hours
	KindDistributed     = "distributed"      // five certificates from one /24, each under 10 usernames per 10 minutes
	KindSuccessfulSpray = "successful_spray" // a spray that ends with one login_succeeded for a sprayed user
	KindGatewaySpray    = "gateway_spray"    // a spray through the shared SSO gateway certificate
	KindProxyBypass     = "proxy_bypass"     // Django logins with no proxy line, from an internal host
	KindNoCertSpray     = "no_cert_spray"    // a spray without a client certificate from one source IP
)

// Opt-in attack kinds: generated only when named in Config.Campaigns. They
// draw from a random source of their own and add their lines to the day
// without changing any other line, so the default corpora (and the figures
// measured on them) stay the same from version to version.
const (
	KindBatchSpray = "batch_spray" // one certificate, a few POST /graphql requests of 10-50 login attempts each
	KindTokenSpray = "token_spray" // one certificate, one login attempt per POST /api/token/, off the login paths
)

// Hard-negative kinds: benign scenarios that look a little like spraying.
const (
	KindGatewayWave = "gateway_wave" // the morning login wave through the SSO gateway (08:30-09:30 UTC)
	KindOfficeNAT   = "office_nat"   // many device certificates behind one office NAT address, with typos
	KindLobbyKiosk  = "lobby_kiosk"  // one kiosk certificate that many different people log in with
	KindSelfLockout = "self_lockout" // a user locking themself out with failures on their own account
)

// AttackKinds lists the attack campaign kinds in the order they are generated.
var AttackKinds = []string{
	KindFastSpray, KindLowAndSlow, KindDistributed, KindSuccessfulSpray,
	KindGatewaySpray, KindProxyBypass, KindNoCertSpray,
}

// OptInKinds lists the attack kinds generated only when named, in the
// order they are generated.
var OptInKinds = []string{KindBatchSpray, KindTokenSpray}

// NegativeKinds lists the hard-negative kinds.
var NegativeKinds = []string{KindGatewayWave, KindOfficeNAT, KindLobbyKiosk, KindSelfLockout}

// Campaign labels one attack campaign or one hard-negative scenario.
type Campaign struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Start and End are the first and last logged timestamps of the lines
	// that belong to the campaign (proxy lines at second precision, Django
	// lines at microsecond precision).
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Identities are what carries the campaign: SHA-1 certificate
	// fingerprints (40 lowercase hex), or source IPs when there is no
	// certificate (no_cert_spray) or no proxy line (proxy_bypass).
	Identities []string `json:"identities"`
	// Users are the usernames tried, in the order first tried.
	Users []string `json:"users"`
	// Negative marks a hard negative: benign traffic no rule should alert on.
	Negative bool `json:"negative"`
}

// Stats counts the lines written.
type Stats struct{ ProxyLines, AppLines int64 }

// WriteLabels writes campaigns as an indented JSON array.
func WriteLabels(w io.Writer, cs []Campaign) error {
	b, err := json.MarshalIndent(cs, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding labels: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing labels: %w", err)
	}
	return nil
}

// ReadLabels reads what WriteLabels wrote.
func ReadLabels(r io.Reader) ([]Campaign, error) {
	var cs []Campaign
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cs); err != nil {
		return nil, fmt.Errorf("reading labels: %w", err)
	}
	return cs, nil
}
