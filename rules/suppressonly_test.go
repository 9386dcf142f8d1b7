package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// A rules file may hold only suppressions: they apply to the default pack
// it extends (docs/rules.md, Suppressions).
func TestSuppressionsOnlyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "allow.yml")
	doc := "suppressions:\n  - reason: the SSO gateway's health-check account\n    match: {user.name: sso-healthcheck}\n    rules: [cert-identity-spray]\n"
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}

	rs, err := Load([]string{p}, true)
	if err != nil {
		t.Fatalf("extend: %v", err)
	}
	if len(rs) != len(Default()) {
		t.Fatalf("extend: %d rules, want the default pack's %d", len(rs), len(Default()))
	}
	var ev event.Event
	ev.Values[event.UserName] = "sso-healthcheck"
	for _, r := range rs {
		suppressed := r.Suppressed(&ev)
		if want := r.ID == "cert-identity-spray"; suppressed != want {
			t.Errorf("rule %s: suppresses the health-check account: %v, want %v", r.ID, suppressed, want)
		}
	}

	if _, err := Load([]string{p}, false); err == nil || !strings.Contains(err.Error(), "only suppressions") {
		t.Errorf("replace: error %v, want one about a file of only suppressions", err)
	}
	if _, err := Parse(p, []byte(doc)); err == nil || !strings.Contains(err.Error(), "only suppressions") {
		t.Errorf("Parse: error %v, want one about a file of only suppressions", err)
	}

	fs, err := LintFiles([]string{p}, LintOptions{Extend: true})
	if err != nil || len(fs) != 0 {
		t.Errorf("lint --extend: %v, findings:\n%s", err, findingsText(fs))
	}
	fs, err = LintFiles([]string{p}, LintOptions{})
	if err != nil || !HasErrors(fs) {
		t.Errorf("lint --extend=false: %v, want an error; findings:\n%s", err, findingsText(fs))
	}
}
