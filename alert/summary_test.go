package alert

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// summaryFmt is Summarize as written with fmt, the reference Summarize
// must match byte for byte.
func summaryFmt(a *Alert) string {
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
		a.Rule, who.String(), num(a.Observed), measure, a.Window, num(a.Threshold), a.Count.Events, a.Count.Failures, a.Count.Successes)
	if a.Account != "" {
		s += fmt.Sprintf("; then logged in as %q", a.Account)
	}
	if a.Classification != nil && a.Classification.Kind != ClassMixed {
		s += "; shape: " + strings.ReplaceAll(a.Classification.Kind, "_", " ")
	}
	if a.Status == StatusResolved {
		s = "resolved: " + s
	}
	return s
}

func TestSummary(t *testing.T) {
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
				for _, class := range []*Classification{nil, {Kind: ClassMixed}, {Kind: "credential_stuffing"}} {
					for _, status := range []string{StatusFiring, StatusUpdated, StatusResolved} {
						a := &Alert{Rule: "cert-identity-spray", Status: status, Group: g, Window: "10m", Threshold: 10, Observed: 12.345, Account: acct, Classification: class}
						a.Count.Events, a.Count.Failures, a.Count.Successes = 15, 12, 3
						if subj != "" {
							a.Identity = &Identity{Subject: subj}
						}
						if acct == "alice" {
							a.Reason = &Reason{Measure: "distinct user.name"}
							a.Observed, a.Threshold = 1.0/3, 1e21
						}
						if got, want := Summarize(a), summaryFmt(a); got != want {
							t.Errorf("summary\n%q, want\n%q", got, want)
						}
					}
				}
			}
		}
	}
}

// BenchmarkSummary measures Summarize; fmt is the same with fmt.
func BenchmarkSummary(b *testing.B) {
	a := &Alert{Rule: "subnet-distributed-spray", Status: StatusUpdated, Group: map[string]string{"source.subnet": "10.1.2.0/24"}, Window: "15m", Threshold: 15, Observed: 30,
		Identity: &Identity{Subject: "CN=device-1234"}, Reason: &Reason{Measure: "distinct user.name with failures and no success"},
		Classification: &Classification{Kind: "credential_stuffing"}}
	a.Count.Events, a.Count.Failures = 30, 30
	for _, fn := range []struct {
		name string
		f    func(*Alert) string
	}{{"append", Summarize}, {"fmt", summaryFmt}} {
		b.Run(fn.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				fn.f(a)
			}
		})
	}
}
