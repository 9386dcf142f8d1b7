package ruletest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFixtures runs every rule test file shipped with the rules.
func TestFixtures(t *testing.T) {
	files, err := filepath.Glob("../testdata/ruletests/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %d fixture files", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			res, err := RunFile(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed() {
				var b bytes.Buffer
				res.Write(&b)
				t.Error(b.String())
			}
		})
	}
}

// spray is a test file whose expectations the cases below vary.
const spray = `
rule_files: [default]
tests:
  - name: spray
    rules: [cert-identity-spray]
    input:
      events:
        - {"@timestamp": 2026-12-04T10:00:00Z, spraywatch.identity: sha1:aa, user.name: "u{i}", event.outcome: failure, repeat: 10, every: 5s}
    alerts:
      - EXPECT
`

func TestFailuresAreReported(t *testing.T) {
	tests := []struct {
		name, expect string
		want         []string // "" means the case passes
	}{
		{"subset passes", "{rule: cert-identity-spray, status: firing, observed: 10, group: {spraywatch.identity: sha1:aa}, first_seen: 2026-12-04T10:00:00Z}", nil},
		{"list compared element by element", "{sample: {user.name: [u0, u1, u2, u3, u4, u5, u6, u7, u8, u9]}}", nil},
		{"wrong observed", "{rule: cert-identity-spray, observed: 11}", []string{"alert 1 (rule=cert-identity-spray status=firing", "observed: want 11, got 10"}},
		{"wrong status and group", "{status: resolved, group: {spraywatch.identity: sha1:bb}}", []string{`group.spraywatch.identity: want "sha1:bb", got "sha1:aa"`, `status: want "resolved", got "firing"`}},
		{"wrong time", "{last_seen: 2026-12-04T10:00:40Z}", []string{`last_seen: want 2026-12-04T10:00:40Z, got "2026-12-04T10:00:45Z"`}},
		{"missing key", "{no_such_key: 1}", []string{"no_such_key: want 1, got nothing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), "t.yml", []byte(strings.Replace(spray, "EXPECT", tt.expect, 1)))
			if err != nil {
				t.Fatal(err)
			}
			fails := strings.Join(res.Cases[0].Failures, "\n")
			if len(tt.want) == 0 {
				if fails != "" {
					t.Fatalf("unexpected failure:\n%s", fails)
				}
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(fails, w) {
					t.Errorf("failures:\n%s\nwant them to contain %q", fails, w)
				}
			}
		})
	}
}

func TestAlertCountMismatch(t *testing.T) {
	yml := strings.Replace(spray, "      - EXPECT\n", "", 1)
	yml = strings.Replace(yml, "    alerts:\n", "    alerts: []\n", 1)
	res, err := Run(context.Background(), "t.yml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	res.Write(&b)
	out := b.String()
	for _, w := range []string{"FAIL spray", "want 0 alert(s), got 1", "unexpected alert 1: rule=cert-identity-spray status=firing group={spraywatch.identity=sha1:aa} observed=10"} {
		if !strings.Contains(out, w) {
			t.Errorf("report:\n%s\nwant it to contain %q", out, w)
		}
	}
	if !res.Failed() {
		t.Error("Failed() = false")
	}
}

func TestInvalidCases(t *testing.T) {
	tests := []struct{ name, yml, want string }{
		{"no rule files", "tests: [{name: a}]", "rule_files"},
		{"no tests", "rule_files: [default]", "no test cases"},
		{"unknown key", "rule_files: [default]\ntests: [{name: a, inputs: {}}]", `t.yml:2: tests[0]: unknown key "inputs" (known: alerts, correlator, input, name, rules, until)`},
		{"unknown top-level key", "rule_file: [default]\ntests: []", `t.yml:1: unknown key "rule_file" (known: rule_files, tests)`},
		{"list for a string", "rule_files: [default]\ntests:\n  - name: a\n    until: [x]\n", "t.yml:4: tests[0]: until: expected a string, not a list"},
		{"mapping for a list", "rule_files: {default: 1}\n", "t.yml:1: rule_files: expected a list of strings, not a mapping"},
		{"missing rules file", "rule_files: [nope.yml]\ntests: [{name: a, input: {events: [{\"@timestamp\": 2026-12-04T10:00:00Z}]}, alerts: []}]", "nope.yml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), filepath.Join(t.TempDir(), "t.yml"), []byte(tt.yml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
	cases := []struct{ name, tc, want string }{
		{"no input", "{name: a, alerts: []}", "input: no events and no log lines"},
		{"no timestamp", "{name: a, input: {events: [{user.name: x}]}, alerts: []}", "@timestamp is required"},
		{"unknown field", "{name: a, input: {events: [{\"@timestamp\": 2026-12-04T10:00:00Z, usr: x}]}, alerts: []}", `unknown field "usr"`},
		{"bad repeat", "{name: a, input: {events: [{\"@timestamp\": 2026-12-04T10:00:00Z, repeat: lots}]}, alerts: []}", "repeat"},
		{"unknown rule", "{name: a, rules: [nope], input: {events: [{\"@timestamp\": 2026-12-04T10:00:00Z}]}, alerts: []}", `"nope" is not among the loaded rules`},
		{"bad proxy line", "{name: a, input: {proxy: \"garbage\\n\"}, alerts: []}", "proxy line 1 (nginx)"},
		{"both inputs", "{name: a, input: {proxy: x, events: [{\"@timestamp\": 2026-12-04T10:00:00Z}]}, alerts: []}", "not both"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), "t.yml", []byte("rule_files: [default]\ntests:\n  - "+tt.tc+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if f := strings.Join(res.Cases[0].Failures, "\n"); !strings.Contains(f, tt.want) {
				t.Errorf("failures %q, want %q", f, tt.want)
			}
		})
	}
}

func TestOwnRulesFileRelativeToTestFile(t *testing.T) {
	dir := t.TempDir()
	rulesYML := "rules:\n  - {id: two-users, match: {event.outcome: failure}, group_by: [source.ip], distinct: user.name, window: 1m, threshold: 2}\n"
	if err := os.WriteFile(filepath.Join(dir, "mine.yml"), []byte(rulesYML), 0o644); err != nil {
		t.Fatal(err)
	}
	test := `rule_files: [mine.yml]
tests:
  - name: two users
    input:
      events:
        - {"@timestamp": 2026-12-04T10:00:00Z, source.ip: 192.0.2.1, user.name: "u{i}", event.outcome: failure, repeat: 2, every: 1s}
    alerts:
      - {rule: two-users, observed: 2, group: {source.ip: 192.0.2.1}}
`
	p := filepath.Join(dir, "t.yml")
	if err := os.WriteFile(p, []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := RunFile(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() {
		t.Errorf("%+v", res.Cases)
	}
}

// TestScalarEqual: expected values match by type and value; numbers
// numerically, times as instants.
func TestScalarEqual(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		want, got any
		equal     bool
	}{
		{10, 10.0, true},
		{10, 10.5, false},
		{"10", 10.0, false},
		{10, "10", false},
		{true, true, true},
		{"true", true, false},
		{true, "true", false},
		{"firing", "firing", true},
		{"firing", "resolved", false},
		{at, "2026-12-04T10:00:00.000Z", true},
		{"2026-12-04T10:00:00Z", "2026-12-04T10:00:00.000Z", true},
		{at, "2026-12-04T10:00:01Z", false},
		{nil, nil, true},
		{"x", nil, false},
	} {
		if got := scalarEqual(tt.want, tt.got); got != tt.equal {
			t.Errorf("scalarEqual(%#v, %#v) = %v, want %v", tt.want, tt.got, got, tt.equal)
		}
	}
}

// TestFailurePlaces: a failing case names its line in the file, and an
// input error the line of the event entry at fault.
func TestFailurePlaces(t *testing.T) {
	data := []byte(`rule_files: [default]
tests:
  - name: ok
    input:
      events:
        - {"@timestamp": 2026-12-04T10:00:00Z, user.name: a}
    alerts: []
  - name: typo in a field
    input:
      events:
        - {"@timestamp": 2026-12-04T10:00:00Z, user.name: a}
        - {"@timestamp": 2026-12-04T10:00:00Z, user.nme: a}
    alerts: []
`)
	res, err := Run(context.Background(), "t.yml", data)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	res.Write(&b)
	for _, want := range []string{"  PASS ok\n", "  FAIL typo in a field (t.yml:8)\n", `input: events[1] (line 12): unknown field "user.nme"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}
