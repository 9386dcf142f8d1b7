package hostile

import (
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/rules"
)

const okRule = `rules:
  - id: r1
    severity: high
    match:
      event.outcome: failure
    group_by: [spraywatch.identity]
    distinct: user.name
    window: 10m
    threshold: 10
`

// TestHostileRulesFiles: a rules file that cannot be used fails with a
// message naming the file and what is wrong, never a panic or a rule that
// silently does something else.
func TestHostileRulesFiles(t *testing.T) {
	if _, err := rules.Parse("ok.yml", []byte(okRule)); err != nil {
		t.Fatalf("the base rule does not parse: %v", err)
	}
	for _, tc := range []struct {
		name, from, to string
		want           []string // all in the message: the key or its line
	}{
		{"unknown key", "window: 10m", "window: 10m\n    windw: 5m", []string{"windw"}},
		{"unknown top-level key", "rules:", "rulez: []\nrules:", []string{"rulez"}},
		{"wrong type threshold", "threshold: 10", "threshold: ten", []string{"test.yml:9:", "ten"}},
		{"wrong type window", "window: 10m", "window: [10m]", []string{"test.yml:8:", "duration"}},
		{"window not a duration", "window: 10m", "window: 10 minutes", []string{"test.yml:8:", "10 minutes"}},
		{"zero threshold", "threshold: 10", "threshold: 0", []string{"threshold"}},
		{"negative threshold", "threshold: 10", "threshold: -5", []string{"threshold"}},
		{"huge threshold", "threshold: 10", "threshold: 99999999999999999999999", []string{"test.yml:9:"}},
		{"zero window", "window: 10m", "window: 0s", []string{"window"}},
		{"negative window", "window: 10m", "window: -10m", []string{"window"}},
		{"huge window", "window: 10m", "window: 876000h", []string{"window"}},
		{"window overflowing int64", "window: 10m", "window: 9999999999h", []string{"test.yml:8:", "9999999999h"}},
		{"unknown field", "distinct: user.name", "distinct: user.nmae", []string{"user.nmae"}},
		{"unknown group_by field", "[spraywatch.identity]", "[tls.client.nope]", []string{"tls.client.nope"}},
		{"missing id", "  - id: r1\n", "  - \n", []string{"id"}},
		{"bad severity", "severity: high", "severity: apocalyptic", []string{"severity"}},
		{"injected newline in id", "id: r1", "id: \"r1\\n{\\\"rule\\\":1}\"", []string{"id"}},
		{"alias bomb", "rules:", "x: &a [1,1,1,1,1,1,1,1,1,1]\ny: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nz: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nw: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\nrules:", []string{"test.yml"}},
		{"not YAML", "rules:", "\x00\xff{[", []string{"test.yml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(okRule, tc.from, tc.to, 1)
			if src == okRule {
				t.Fatalf("replacement %q not found", tc.from)
			}
			rs, err := rules.Parse("test.yml", []byte(src))
			if err == nil {
				t.Fatalf("accepted (%d rules):\n%s", len(rs), src)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "test.yml") {
				t.Errorf("error does not name the file: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}
