package rules

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/spraywatch/spraywatch/event"
)

// Type is what a rule measures and when it fires.
type Type uint8

// Rule types.
const (
	// TypeDistinct counts distinct values of a field in the window.
	TypeDistinct Type = iota + 1
	// TypeCount counts events in the window.
	TypeCount
	// TypeRatio compares failures with attempts in the window.
	TypeRatio
	// TypeSequence fires when a success follows failures for at least
	// threshold distinct values of the distinct field (a sprayed password
	// that worked).
	TypeSequence
	// TypeBaseline compares the group's distinct (or event) count with the
	// group's own history over windows of the same length.
	TypeBaseline
)

var typeNames = map[string]Type{
	"distinct": TypeDistinct, "count": TypeCount, "ratio": TypeRatio,
	"sequence": TypeSequence, "baseline": TypeBaseline,
}

// String returns the type's YAML name.
func (t Type) String() string {
	for n, v := range typeNames {
		if v == t {
			return n
		}
	}
	return "unknown"
}

// Derived names a key computed from event fields rather than read from one.
type Derived uint8

// Derived keys.
const (
	NotDerived Derived = iota
	// DerivedSubnet is source.ip's network: /24 for IPv4, /64 for IPv6.
	DerivedSubnet
	// DerivedResponseClass is http.response.status_code and a size band
	// of http.response.body.bytes (bands 1.5x wide), e.g. "200:20": the
	// shape of a response, which differs when an application answers
	// existing and unknown usernames differently.
	DerivedResponseClass
)

// Names of the derived keys.
const (
	SubnetName        = "source.subnet"
	ResponseClassName = "spraywatch.response_class"
)

// Key is what a rule groups by or counts: an event field or a derived key.
type Key struct {
	Field   event.Field
	Derived Derived
}

// String returns the key's name.
func (k Key) String() string {
	switch k.Derived {
	case DerivedSubnet:
		return SubnetName
	case DerivedResponseClass:
		return ResponseClassName
	}
	return k.Field.String()
}

// LookupKey resolves a field name, an alias ("identity") or a derived key
// name ("source.subnet", "spraywatch.response_class").
func LookupKey(name string) (Key, bool) {
	switch name {
	case SubnetName, "subnet":
		return Key{Field: event.SourceIP, Derived: DerivedSubnet}, true
	case ResponseClassName, "response_class":
		return Key{Field: event.Status, Derived: DerivedResponseClass}, true
	}
	f, ok := event.LookupField(name)
	return Key{Field: f}, ok
}

// Subnet returns ip's /24 (IPv4) or /64 (IPv6) network in CIDR notation,
// or "" when ip is not an address.
func Subnet(ip string) string {
	p, ok := SubnetPrefix(ip)
	if !ok {
		return ""
	}
	return p.String()
}

// SubnetPrefix returns ip's /24 (IPv4) or /64 (IPv6) network, and false
// when ip is not an address.
func SubnetPrefix(ip string) (netip.Prefix, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	return p, err == nil
}

// ResponseClass returns "status:band" where band is floor(log1.5(bytes)),
// or "" without a status.
func ResponseClass(status, bytes string) string {
	if status == "" {
		return ""
	}
	n, err := strconv.ParseInt(bytes, 10, 64)
	if err != nil || n <= 0 {
		return status + ":0"
	}
	return status + ":" + strconv.Itoa(int(math.Log(float64(n))/math.Log(1.5)))
}

// BaselineSpec is how a baseline rule learns a group's normal level.
type BaselineSpec struct {
	// Sigma: the rule fires above mean + Sigma * spread.
	Sigma float64 `yaml:"sigma"`
	// Floor: it never fires at or below this value, however quiet the
	// history.
	Floor int `yaml:"floor"`
	// HalfLife of the exponentially weighted mean and spread (default 6h).
	HalfLife Duration `yaml:"half_life,omitempty"`
	// Warmup: history needed before the rule fires (default 2h).
	Warmup Duration `yaml:"warmup,omitempty"`
}

// Baseline is a compiled BaselineSpec. Samples are taken once per window
// length; Alpha is the weight of each new sample.
type Baseline struct {
	Sigma   float64
	Floor   int
	Alpha   float64
	Samples int // samples needed before firing: warmup / window, rounded up
}

func compileType(r *Rule, s Spec) error {
	switch {
	case s.Type != "":
		t, ok := typeNames[s.Type]
		if !ok {
			return fmt.Errorf("type %q: expected distinct, count, ratio, sequence or baseline", s.Type)
		}
		r.Type = t
	case s.Distinct != "":
		r.Type = TypeDistinct
	default:
		r.Type = TypeCount
	}
	r.Unresolved, r.MinEvents, r.MaxSuccessUsers = s.Unresolved, s.MinEvents, s.MaxSuccessUsers
	if r.MinEvents < 0 || r.MaxSuccessUsers < 0 {
		return errors.New("min_events and max_success_users: must not be negative")
	}
	if r.MaxSuccessUsers > 0 && !r.HasDistinct {
		return errors.New("max_success_users: needs a distinct field (the usernames)")
	}
	if r.Type != TypeRatio && (s.Ratio != 0 || s.MinAttempts != 0) {
		return fmt.Errorf("ratio and min_attempts: only for type ratio, not %s", r.Type)
	}
	if r.Type != TypeBaseline && s.Baseline != nil {
		return fmt.Errorf("baseline: only for type baseline, not %s", r.Type)
	}
	switch r.Type {
	case TypeDistinct, TypeSequence:
		if !r.HasDistinct {
			return fmt.Errorf("distinct: a %s rule needs the field whose values it counts", r.Type)
		}
	case TypeCount:
		if r.HasDistinct {
			return errors.New("distinct: a count rule counts events; use type distinct")
		}
		if r.Unresolved {
			return errors.New("unresolved: needs a distinct field")
		}
	case TypeRatio:
		if !(s.Ratio > 0 && s.Ratio <= 1) {
			return fmt.Errorf("ratio: %v is not in (0, 1]", s.Ratio)
		}
		if s.MinAttempts < 1 {
			return errors.New("min_attempts: a ratio rule needs at least 1 attempt (more, in practice)")
		}
		if r.HasDistinct || r.Unresolved {
			return errors.New("distinct and unresolved: not used by ratio rules")
		}
		r.Ratio, r.MinAttempts = s.Ratio, s.MinAttempts
	case TypeBaseline:
		b := s.Baseline
		if b == nil {
			return errors.New("baseline: a baseline rule needs sigma and floor")
		}
		if b.Sigma <= 0 {
			return errors.New("baseline: sigma must be positive")
		}
		if b.Floor < 1 {
			return errors.New("baseline: floor must be at least 1")
		}
		if r.Unresolved && !r.HasDistinct {
			return errors.New("unresolved: needs a distinct field")
		}
		hl, warm := time.Duration(b.HalfLife), time.Duration(b.Warmup)
		if hl == 0 {
			hl = 6 * time.Hour
		}
		if warm == 0 {
			warm = 2 * time.Hour
		}
		if hl < 0 || warm < 0 || hl > MaxWindow || warm > MaxWindow {
			return fmt.Errorf("baseline: half_life and warmup must be positive and at most %s", MaxWindow)
		}
		w := time.Duration(s.Window)
		if w <= 0 {
			return nil // the window check reports it
		}
		// Rounded up, so that the samples span at least warmup of history.
		samples := max(1, int((warm+w-1)/w))
		r.Baseline = Baseline{
			Sigma:   b.Sigma,
			Floor:   b.Floor,
			Alpha:   1 - math.Pow(0.5, float64(w)/float64(hl)),
			Samples: samples,
		}
	}
	return nil
}
