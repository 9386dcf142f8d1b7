package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const lintOK = `
    group_by: [source.ip]
    window: 10m
`

func TestLint(t *testing.T) {
	tests := []struct {
		name, yml string
		want      []string // "line: level: text" fragments, one per finding
	}{
		{"clean", "rules:\n  - id: a\n    match: {event.outcome: failure}\n    distinct: user.name\n    threshold: 5" + lintOK, nil},
		{"syntax", "rules:\n  - id: a\n   bad: [\n", []string{":1: error: did not find expected"}},
		{"unknown top key", "rulez: []\n", []string{"1:1: error: unknown key \"rulez\"", "error: no rules"}},
		{"unknown rule key", "rules:\n  - id: a\n    windw: 10m\n", []string{"3:5: error: rule a: rule: unknown key \"windw\""}},
		{"unknown condition key", "rules:\n  - id: a\n    threshold: 2\n    match: {user.name: {within: x}}" + lintOK, []string{"4:25: error: rule a: match: user.name: unknown key \"within\""}},
		{"unknown key under not", "rules:\n  - id: a\n    threshold: 2\n    match:\n      user.name: {not: {eq: x}}" + lintOK, []string{"5:25: error: rule a: match: user.name: not: unknown key \"eq\""}},
		{"unknown baseline key", "rules:\n  - id: a\n    type: baseline\n    threshold: 2\n    baseline: {sigma: 3, flor: 2}" + lintOK, []string{"5:26: error: rule a: baseline: unknown key \"flor\""}},
		{"compile error at its key", "rules:\n  - id: a\n    threshold: 2\n    severity: urgent" + lintOK, []string{"4:5: error: rule a: severity \"urgent\""}},
		{"bad window", "rules:\n  - id: a\n    threshold: 2\n    group_by: [source.ip]\n    window: ten\n", []string{"5:5: error: rule a: window: expected a duration such as 10m, not `ten`"}},
		{"window without unit", "rules:\n  - id: a\n    threshold: 2\n    group_by: [source.ip]\n    window: 10\n", []string{"5:5: error: rule a: window: expected a duration such as 10m, not `10` (a number needs a unit, as in 10m)"}},
		{"baseline duration without unit", "rules:\n  - id: a\n    type: baseline\n    threshold: 1\n    baseline: {sigma: 3, warmup: 2}" + lintOK, []string{"5:26: error: rule a: baseline: warmup: expected a duration such as 10m, not `2` (a number needs a unit, as in 2m)"}},
		{"quoted threshold", "rules:\n  - id: a\n    threshold: \"10\"" + lintOK, []string{"3:5: error: rule a: threshold: expected an integer, not the string \"10\" (quoted: write it without the quotes)"}},
		{"empty in", "rules:\n  - id: a\n    threshold: 2\n    match: {user.name: {in: []}}" + lintOK, []string{"4:5: error: rule a: match: user.name: in: the list is empty"}},
		{"wrong type", "rules:\n  - id: a\n    threshold: many" + lintOK, []string{"3:5: error: rule a: threshold: expected an integer, not `many`"}},
		{"long value of the wrong type", "rules:\n  - id: a\n    group_by: tls.client.hash.sha256\n    window: 10m\n    threshold: 99999999999999999999\n",
			[]string{"3:5: error: rule a: group_by: expected a list of strings, not `tls.client.hash.sha256`", "5:5: error: rule a: threshold: expected an integer, not `99999999999999999999`"}},
		{"suppression value of the wrong type", "rules:\n  - {id: a, threshold: 2, group_by: [source.ip], window: 1m, match: {event.outcome: failure}}\nsuppressions:\n  - rules: [a]\n    match: {user.name: [x]}\n    expires: [2026]\n",
			[]string{"6:5: error: suppression #1: expires: expected a string, not a list"}},
		{"fractional values", "rules:\n  - id: a\n    threshold: 2.5\n    min_events: 1.9" + lintOK,
			[]string{"3:5: error: rule a: threshold: expected an integer, not `2.5`", "4:5: error: rule a: min_events: expected an integer, not `1.9`"}},
		{"fractional baseline floor", "rules:\n  - id: a\n    type: baseline\n    baseline: {sigma: 3, floor: 2.5}" + lintOK,
			[]string{"4:26: error: rule a: baseline: floor: expected an integer, not `2.5`"}},
		{"duplicate id", "rules:\n  - {id: a, threshold: 2, group_by: [source.ip], window: 1m, match: {event.outcome: failure}}\n  - {id: a, threshold: 2, group_by: [source.ip], window: 1m, match: {event.outcome: failure}}\n",
			[]string{"3:5: error: rule a: duplicate id: also defined at line 2"}},
		{"outcome success with unresolved", "rules:\n  - id: a\n    threshold: 5\n    match: {event.outcome: success}\n    distinct: user.name\n    unresolved: true" + lintOK,
			[]string{"6:5: error: rule a: unresolved: counts usernames whose attempts all failed"}},
		{"equals and in contradict", "rules:\n  - id: a\n    threshold: 5\n    match:\n      event.outcome: {equals: failure, in: [success, unknown]}\n    distinct: user.name" + lintOK,
			[]string{"5:7: error: rule a: match: the tests on event.outcome contradict"}},
		{"equals and not equals", "rules:\n  - id: a\n    threshold: 5\n    match:\n      user.name: {equals: bob, not: {equals: bob}}\n    distinct: source.port" + lintOK,
			[]string{"5:7: error: rule a: match: the tests on user.name contradict"}},
		{"in and prefix contradict", "rules:\n  - id: a\n    threshold: 1\n    match:\n      url.path: {in: [/login/], prefix: [/admin/]}" + lintOK,
			[]string{"5:7: error: rule a: match: the tests on url.path contradict"}},
		{"exists true and false", "rules:\n  - id: a\n    threshold: 2\n    match:\n      user.name: {exists: true, not: {exists: true}}" + lintOK,
			[]string{"5:7: error: rule a: match: user.name must be both empty and present"}},
		{"distinct forced empty", "rules:\n  - id: a\n    threshold: 5\n    match:\n      event.outcome: failure\n      user.name: {exists: false}\n    distinct: user.name" + lintOK,
			[]string{"7:5: error: rule a: distinct: the match block forces user.name empty"}},
		{"group forced empty through derived key", "rules:\n  - id: a\n    threshold: 5\n    match:\n      event.outcome: failure\n      source.ip: {exists: false}\n    distinct: user.name\n    group_by: [source.subnet]\n    window: 10m\n",
			[]string{"8:5: error: rule a: group_by: the match block forces every group_by field empty"}},
		{"one of two group fields empty is fine", "rules:\n  - id: a\n    threshold: 5\n    match:\n      event.outcome: failure\n      source.ip: {exists: false}\n    distinct: user.name\n    group_by: [source.ip, spraywatch.identity]\n    window: 10m\n", nil},
		{"threshold above values the filter allows", "rules:\n  - id: a\n    threshold: 4\n    match: {user.name: [a, b, c], event.outcome: failure}\n    distinct: user.name" + lintOK,
			[]string{"3:5: error: rule a: threshold: 4 distinct values of user.name are needed, but only 3 can pass"}},
		{"threshold above known outcomes", "rules:\n  - id: a\n    threshold: 4\n    match: {user.name: {exists: true}}\n    distinct: event.outcome" + lintOK,
			[]string{"3:5: error: rule a: threshold: 4 distinct values of event.outcome are needed, but only 3"}},
		{"count above window capacity", "rules:\n  - id: a\n    threshold: 30000\n    match: {event.outcome: failure}" + lintOK,
			[]string{"3:5: error: rule a: threshold: 30000 events are needed in one group's window, but a window keeps at most 20000"}},
		{"ratio without failures", "rules:\n  - id: a\n    type: ratio\n    ratio: 0.5\n    min_attempts: 10\n    match: {event.outcome: success}" + lintOK,
			[]string{"6:5: error: rule a: ratio: the match block lets no failure through"}},
		{"sequence without successes", "rules:\n  - id: a\n    type: sequence\n    threshold: 5\n    distinct: user.name\n    match: {event.outcome: failure}" + lintOK,
			[]string{"6:5: error: rule a: sequence: needs failures then a success, but the match block filters out successes"}},
		{"threshold 1 long window", "rules:\n  - id: a\n    threshold: 1\n    distinct: user.name\n    match: {event.outcome: failure}\n    group_by: [source.ip]\n    window: 6h\n",
			[]string{"3:5: warning: rule a: threshold 1 with a 6h window"}},
		{"cooldown shorter than window", "rules:\n  - id: a\n    threshold: 3\n    distinct: user.name\n    cooldown: 5m\n    match: {event.outcome: failure}" + lintOK,
			[]string{"5:5: note: rule a: cooldown 5m is shorter than the 10m window"}},
		{"no cooldown", "rules:\n  - id: a\n    threshold: 3\n    distinct: user.name\n    cooldown: 0s\n    match: {event.outcome: failure}" + lintOK,
			[]string{"5:5: note: rule a: cooldown 0s is none: a group's next incident may open as soon as one resolves"}},
		{"no match block", "rules:\n  - id: a\n    threshold: 3" + lintOK, []string{"2:5: warning: rule a: no match block"}},
		{"disabled stub", "rules:\n  - {id: a, disabled: true}\n", nil},
		{"disabled rule is not compiled", "rules:\n  - {id: a, disabled: true, threshold: 0, severity: urgent}\n", nil},
		{"disabled rule needs an id", "rules:\n  - {disabled: true, window: 10m}\n", []string{"2:5: error: rule #1: id is required"}},
		{"disabled rule with a bad id", "rules:\n  - {id: a b, disabled: true}\n", []string{"2:6: error: rule a b: id \"a b\": use letters"}},
		{"disabled rule still has typed keys", "rules:\n  - {id: a, disabled: true, threshold: many}\n", []string{"2:29: error: rule a: threshold: expected an integer, not `many`"}},
		{"disabled and enabled rule with one id", "rules:\n  - {id: a, disabled: true}\n  - {id: a, threshold: 2, group_by: [source.ip], window: 1m, match: {event.outcome: failure}}\n",
			[]string{"3:5: error: rule a: duplicate id: also defined at line 2"}},
		{"expired suppression", "rules:\n  - id: a\n    threshold: 3\n    match: {event.outcome: failure}" + lintOK + "suppressions:\n  - {reason: load test, match: {user.name: perf}, expires: 2020-01-01T00:00:00Z}\n",
			[]string{"8:51: warning: suppression #1 (load test) expired on 2020-01-01T00:00:00Z"}},
	}
	opt := LintOptions{MaxGroupEvents: 20000, Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Lint("r.yml", []byte(tt.yml), opt)
			if len(got) != len(tt.want) {
				t.Fatalf("%d findings, want %d:\n%s", len(got), len(tt.want), findingsText(got))
			}
			for i, w := range tt.want {
				if s := got[i].String(); !strings.HasPrefix(s, "r.yml:") || !strings.Contains(s, w) {
					t.Errorf("finding %d = %q, want it to contain %q", i, s, w)
				}
			}
		})
	}
}

func findingsText(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}

func TestLintDefaultPackHasNoErrorsOrWarnings(t *testing.T) {
	for _, f := range Lint("default.yml", DefaultPack(), LintOptions{MaxGroupEvents: 20000}) {
		if f.Level != LevelNote {
			t.Errorf("%s", f)
		}
	}
}

func TestLintFilesAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yml")
	b := filepath.Join(dir, "b.yml")
	rule := "  - {id: %s, threshold: 2, group_by: [source.ip], window: 1m, match: {event.outcome: failure}}\n"
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(a, "rules:\n"+strings.ReplaceAll(rule, "%s", "x")+strings.ReplaceAll(rule, "%s", "cert-identity-spray"))
	write(b, "rules:\n"+strings.ReplaceAll(rule, "%s", "x")+"  - {id: y, threshold: 2, group_by: [source.ip], window: 1m, match: {event.outcome: failure}, suppress: [{reason: r, match: {user.name: u}, rules: [other]}]}\n"+
		"suppressions:\n  - {reason: r, match: {user.name: u}, rules: [x, nope]}\n")
	got, err := LintFiles([]string{a, b}, LintOptions{Extend: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		a + ":3:5: note: rule cert-identity-spray: replaces the default pack rule",
		b + ":2:5: error: rule x: duplicate id: also defined at " + a + ":2",
		b + `:3:149: warning: rule y: suppression names rule "other"`,
		b + `:5:51: error: suppression names rule "nope"`,
	}
	if len(got) != len(want) {
		t.Fatalf("findings:\n%s", findingsText(got))
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i].String(), w) {
			t.Errorf("finding %d = %q, want prefix %q", i, got[i], w)
		}
	}
	if !HasErrors(got) {
		t.Error("HasErrors = false")
	}

	// A disabled stub switches the default rule off, as the loader does.
	c := filepath.Join(dir, "c.yml")
	write(c, "rules:\n  - {id: cert-identity-spray, disabled: true}\n  - {id: new-off, disabled: true}\n")
	got, err = LintFiles([]string{c}, LintOptions{Extend: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].String() != c+":2:5: note: rule cert-identity-spray: disabled: switches off the default pack rule with the same id" {
		t.Errorf("disabled stub, findings:\n%s", findingsText(got))
	}
	if _, err := LintFiles([]string{filepath.Join(dir, "missing.yml")}, LintOptions{}); err == nil {
		t.Error("missing file: no error")
	}
}
