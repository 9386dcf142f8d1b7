package detect

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/rules"
)

// summaryFmt is summary as written with fmt, the reference summary must
// match byte for byte.
func summaryFmt(r *rules.Rule, a *alert.Alert, status string) string {
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
	if a.Reason != nil {
		measure = a.Reason.Measure
	}
	num := func(v float64) string { return string(appendNum(nil, v)) }
	s := fmt.Sprintf("%s: %s: %s %s within %s (threshold %s); %d events, %d failures, %d successes",
		r.ID, who.String(), num(a.Observed), measure, a.Window, num(a.Threshold), a.Count.Events, a.Count.Failures, a.Count.Successes)
	if a.Account != "" {
		s += fmt.Sprintf("; then logged in as %q", a.Account)
	}
	if a.Classification != nil && a.Classification.Kind != alert.ClassMixed {
		s += "; shape: " + strings.ReplaceAll(a.Classification.Kind, "_", " ")
	}
	if status == alert.StatusResolved {
		s = "resolved: " + s
	}
	return s
}

func TestSummary(t *testing.T) {
	r := &rules.Rule{ID: "cert-identity-spray"}
	subjects := []string{"", "CN=device-1,O=Example", `CN="quoted" \ back`, "CN=\x1b[31mred\n", "CN=\xff\xfeinvalid", "CN=Zoë 日本"}
	groups := []map[string]string{
		{},
		{"spraywatch.identity": "sha1:ab"},
		{"spraywatch.identity": "sha1:ab", "source.ip": "10.0.0.1"},
		{"user_agent.original": "x", "source.ip": "", "spraywatch.identity": "a=b, c"},
	}
	for _, subj := range subjects {
		for _, g := range groups {
			for _, acct := range []string{"", "alice", "bob \"the\"\n"} {
				for _, class := range []*alert.Classification{nil, {Kind: alert.ClassMixed}, {Kind: "credential_stuffing"}} {
					for _, status := range []string{alert.StatusFiring, alert.StatusUpdated, alert.StatusResolved} {
						a := &alert.Alert{Group: g, Window: "10m", Threshold: 10, Observed: 12.345, Account: acct, Classification: class}
						a.Count.Events, a.Count.Failures, a.Count.Successes = 15, 12, 3
						if subj != "" {
							a.Identity = &alert.Identity{Subject: subj}
						}
						if acct == "alice" {
							a.Reason = &alert.Reason{Measure: "distinct user.name"}
							a.Observed, a.Threshold = 1.0/3, 1e21
						}
						if got, want := summary(r, a, status), summaryFmt(r, a, status); got != want {
							t.Errorf("summary\n%q, want\n%q", got, want)
						}
					}
				}
			}
		}
	}
}

// BenchmarkSummary measures an alert's summary; fmt is the same with fmt.
func BenchmarkSummary(b *testing.B) {
	r := &rules.Rule{ID: "subnet-distributed-spray"}
	a := &alert.Alert{Group: map[string]string{"source.subnet": "10.1.2.0/24"}, Window: "15m", Threshold: 15, Observed: 30,
		Identity: &alert.Identity{Subject: "CN=device-1234"}, Reason: &alert.Reason{Measure: "distinct user.name with failures and no success"},
		Classification: &alert.Classification{Kind: "credential_stuffing"}}
	a.Count.Events, a.Count.Failures = 30, 30
	for _, fn := range []struct {
		name string
		f    func(*rules.Rule, *alert.Alert, string) string
	}{{"append", summary}, {"fmt", summaryFmt}} {
		b.Run(fn.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				fn.f(r, a, alert.StatusUpdated)
			}
		})
	}
}
