package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestLoadErrorsAreLintErrors: for the same file, Load reports each error
// lint reports, at the same position, with the same words, and no Go type
// names (review 4, finding 10).
func TestLoadErrorsAreLintErrors(t *testing.T) {
	const rule = "rules:\n  - id: x\n    group_by: [source.ip]\n    window: 10m\n"
	tests := []struct {
		name, yml string
		want      []string // lines of the Load error, after "r.yml:"
	}{
		{"unknown condition key", rule + "    threshold: 5\n    severity: high\n    match: {user.name: {within: 3}}\n",
			[]string{`7:25: rule x: match: user.name: unknown key "within" (known: cidr, equals, exists, in, not, prefix, regex)`}},
		{"unknown key under not", rule + "    threshold: 5\n    match:\n      user.name:\n        not: {eq: x}\n",
			[]string{`8:15: rule x: match: user.name: not: unknown key "eq" (known: cidr,`}},
		{"unknown rule key", rule + "    threshold: 5\n    bogus: 1\n",
			[]string{`6:5: rule x: rule: unknown key "bogus" (known: baseline,`}},
		{"unknown baseline key", rule + "    type: baseline\n    baseline: {sigma: 3, flor: 2}\n",
			[]string{`6:26: rule x: baseline: unknown key "flor" (known: floor, half_life, sigma, warmup)`}},
		{"unknown suppression key", rule + "    threshold: 5\nsuppressions:\n  - {reason: r, match: {user.name: u}, rulez: [x]}\n",
			[]string{`7:40: suppression #1: unknown key "rulez" (known: expires, match, reason, rules)`}},
		{"unknown top-level keys", "rule_files: [a.yml]\ntests: []\n",
			[]string{`1:1: unknown key "rule_files" (expected rules, suppressions)`, "1:1: no rules", `2:1: unknown key "tests"`}},
		{"zero threshold", rule + "    threshold: 0\n",
			[]string{"5:5: rule x: threshold: must be at least 1"}},
		{"sequence without distinct", rule + "    threshold: 5\n    type: sequence\n",
			[]string{"2:5: rule x: distinct: a sequence rule needs the field"}},
		{"wrong type", rule + "    threshold: many\n",
			[]string{"5:5: rule x: threshold: expected an integer, not `many`"}},
		{"list for a string", rule + "    threshold: 5\n    severity: [high]\n",
			[]string{"6:5: rule x: severity: expected a string, not a list"}},
		{"mapping for a list", "rules:\n  - id: x\n    window: 10m\n    threshold: 5\n    group_by: {source.ip: x}\n",
			[]string{"5:5: rule x: group_by: expected a list of strings, not a mapping"}},
		{"fraction", rule + "    threshold: 2.5\n",
			[]string{"5:5: rule x: threshold: expected an integer, not `2.5`"}},
		{"bad condition value", rule + "    threshold: 5\n    match:\n      user.name: {exists: maybe}\n",
			[]string{"7:19: rule x: match: user.name: exists: expected true or false, not `maybe`"}},
		{"duration without unit", "rules:\n  - id: x\n    group_by: [source.ip]\n    threshold: 5\n    cooldown: 30\n    window: 10m\n",
			[]string{"5:5: rule x: cooldown: expected a duration such as 10m, not `30` (a number needs a unit, as in 30m)"}},
		{"quoted number", rule + "    threshold: \"10\"\n",
			[]string{`5:5: rule x: threshold: expected an integer, not the string "10" (quoted: write it without the quotes)`}},
		{"syntax", "rules:\n  - id: a\n   bad: [\n", []string{"1: did not find expected"}},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "r.yml")
			if err := os.WriteFile(p, []byte(tt.yml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load([]string{p}, true)
			if err == nil {
				t.Fatal("Load: no error")
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("Load error has %d lines, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], p+":"+w) {
					t.Errorf("line %d = %q, want it to start with %q", i+1, got[i], p+":"+w)
				}
				for _, bad := range []string{"rules.", "not found in type", "unmarshal", "line 1:"} {
					if strings.Contains(got[i], bad) {
						t.Errorf("line %d = %q names %q", i+1, got[i], bad)
					}
				}
			}
			fs, err := LintFiles([]string{p}, LintOptions{Extend: true})
			if err != nil {
				t.Fatal(err)
			}
			var lint []string
			for _, f := range fs {
				if f.Level == LevelError {
					lint = append(lint, f.pos()+": "+f.msg())
				}
			}
			if strings.Join(lint, "\n") != strings.Join(got, "\n") {
				t.Errorf("lint errors:\n%s\nLoad errors:\n%s", strings.Join(lint, "\n"), strings.Join(got, "\n"))
			}
		})
	}
}

// TestLoadMergeKeys: rules written with YAML anchors and merge keys load,
// and lint does not call the merge key unknown.
func TestLoadMergeKeys(t *testing.T) {
	yml := "rules:\n  - &r\n    id: x\n    window: 10m\n    group_by: [source.ip]\n    threshold: 5\n    match: {event.outcome: failure}\n  - <<: *r\n    id: y\n"
	rs, err := Parse("r.yml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[1].ID != "y" || rs[1].Threshold != 5 {
		t.Fatalf("rules %s, want x and y with threshold 5", IDs(rs))
	}
	if fs := Lint("r.yml", []byte(yml), LintOptions{}); HasErrors(fs) {
		t.Errorf("lint: %s", findingsText(fs))
	}
	bad := yml + "    <<: {thresold: 3}\n"
	if _, err := Parse("r.yml", []byte(bad)); err == nil || !strings.Contains(err.Error(), `unknown key "thresold"`) {
		t.Errorf("merged unknown key: error %v", err)
	}
}

func TestConditionErrorLines(t *testing.T) {
	tests := []struct{ yml, want string }{
		{"a: 1\nb:\n  within: 3\n", `line 3: unknown key "within"`},
		{"b:\n  exists: maybe\n", "line 2: cannot unmarshal !!str `maybe` into bool"},
	}
	for _, tt := range tests {
		var m map[string]Condition
		err := yaml.Unmarshal([]byte(tt.yml), &m)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.yml, err, tt.want)
		}
	}
}
