package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
)

func TestTypeErrors(t *testing.T) {
	base := "rules:\n  - {id: a, window: 10m, group_by: [identity], "
	tests := []struct{ yml, want string }{
		{base + "type: sum, threshold: 1}", `type "sum"`},
		{base + "type: distinct, threshold: 1}", "needs the field"},
		{base + "type: sequence, threshold: 1}", "needs the field"},
		{base + "type: count, distinct: user.name, threshold: 1}", "use type distinct"},
		{base + "type: ratio, ratio: 1.5, min_attempts: 5}", "not in (0, 1]"},
		{base + "type: ratio, ratio: 0.5}", "min_attempts"},
		{base + "ratio: 0.5, min_attempts: 3, threshold: 1}", "only for type ratio"},
		{base + "type: baseline, distinct: user.name, threshold: 1}", "needs sigma and floor"},
		{base + "type: baseline, distinct: user.name, threshold: 1, baseline: {sigma: 0, floor: 3}}", "sigma must be positive"},
		{base + "type: baseline, distinct: user.name, threshold: 1, baseline: {sigma: 3, floor: 0}}", "floor"},
		{base + "distinct: user.name, threshold: 1, baseline: {sigma: 3, floor: 3}}", "only for type baseline"},
		{base + "type: count, unresolved: true, threshold: 1}", "unresolved"},
		{base + "type: count, threshold: 1, max_success_users: 2}", "max_success_users"},
		{base + "distinct: user.name, threshold: 1, min_events: -1}", "must not be negative"},
		{base + "distinct: user.name, threshold: 1, suppress: [{match: {user.name: x}}]}", "reason"},
		{base + "distinct: user.name, threshold: 1, suppress: [{reason: r}]}", "without a match"},
		{base + "distinct: user.name, threshold: 1, suppress: [{reason: r, match: {user.name: x}, expires: tomorrow}]}", "RFC 3339"},
		{base + "distinct: user.name, threshold: 1, identity_map: missing.yml}", "identity_map"},
		{base + "distinct: no.such, threshold: 1}", `unknown field "no.such"`},
	}
	for _, tt := range tests {
		_, err := Parse("r.yml", []byte(tt.yml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s\n  error %v, want %q", tt.yml, err, tt.want)
		}
	}
}

func TestTypesCompile(t *testing.T) {
	rs, err := Parse("t", []byte(`rules:
  - {id: d, window: 10m, threshold: 3, group_by: [source.subnet], distinct: user.name}
  - {id: c, window: 10m, threshold: 3, group_by: [identity]}
  - {id: r, window: 10m, type: ratio, ratio: 0.9, min_attempts: 20, group_by: [identity]}
  - {id: s, window: 10m, type: sequence, threshold: 5, group_by: [identity], distinct: user.name}
  - {id: b, window: 10m, type: baseline, threshold: 1, group_by: [identity], distinct: user.name, baseline: {sigma: 3, floor: 5, half_life: 1h, warmup: 3h}}
  - {id: e, window: 10m, threshold: 2, group_by: [identity], distinct: response_class}
  - {id: f, window: 10m, type: baseline, group_by: [identity], baseline: {sigma: 3, floor: 7}}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Type{TypeDistinct, TypeCount, TypeRatio, TypeSequence, TypeBaseline, TypeDistinct, TypeBaseline}
	for i, r := range rs {
		if r.Type != want[i] {
			t.Errorf("%s: type %s, want %s", r.ID, r.Type, want[i])
		}
	}
	if !rs[0].Uses(DerivedSubnet) || rs[1].Uses(DerivedSubnet) || rs[0].GroupBy[0].String() != "source.subnet" {
		t.Errorf("subnet key: %+v", rs[0].GroupBy)
	}
	if rs[2].Threshold != 20 || rs[2].Measure() != "failure_ratio" {
		t.Errorf("ratio: threshold %d measure %s", rs[2].Threshold, rs[2].Measure())
	}
	// Without a threshold, a baseline rule's is its floor.
	if rs[4].Threshold != 1 || rs[6].Threshold != 7 {
		t.Errorf("baseline thresholds %d and %d, want 1 (written) and 7 (the floor)", rs[4].Threshold, rs[6].Threshold)
	}
	b := rs[4].Baseline
	if b.Samples != 18 || b.Alpha < 0.109 || b.Alpha > 0.110 {
		t.Errorf("baseline %+v (want 18 samples, alpha 1-0.5^(1/6))", b)
	}
	if !rs[5].Uses(DerivedResponseClass) || rs[5].Distinct.String() != ResponseClassName {
		t.Errorf("response class key: %+v", rs[5].Distinct)
	}
}

func TestDerivedKeys(t *testing.T) {
	for _, tt := range []struct{ ip, want string }{
		{"192.0.2.77", "192.0.2.0/24"},
		{"::ffff:10.1.2.3", "10.1.2.0/24"},
		{"2001:db8:bad:1:2:3:4:5", "2001:db8:bad:1::/64"},
		{"not-an-ip", ""},
		{"", ""},
	} {
		if got := Subnet(tt.ip); got != tt.want {
			t.Errorf("Subnet(%q) = %q, want %q", tt.ip, got, tt.want)
		}
	}
	for _, tt := range []struct{ st, b, want string }{
		{"200", "4450", "200:20"}, {"200", "4650", "200:20"}, {"200", "2100", "200:18"},
		{"302", "0", "302:0"}, {"200", "-", "200:0"}, {"", "100", ""},
	} {
		if got := ResponseClass(tt.st, tt.b); got != tt.want {
			t.Errorf("ResponseClass(%s, %s) = %q, want %q", tt.st, tt.b, got, tt.want)
		}
	}
}

func TestSuppressionsApply(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "allow.yml")
	yml := `rules:
  - {id: extra, window: 1m, threshold: 1, group_by: [source.ip]}
suppressions:
  - reason: load test
    match: {tls.client.subject: "CN=perf"}
    expires: 2027-01-31T00:00:00Z
    rules: [cert-identity-spray]
  - reason: health check
    match: {user.name: healthcheck}
`
	if err := os.WriteFile(p, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := Load([]string{p}, true)
	if err != nil {
		t.Fatal(err)
	}
	e := &event.Event{Time: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()}
	e.Values[event.TLSSubject] = "CN=perf"
	for _, r := range rs {
		got := r.Suppressed(e)
		if want := r.ID == "cert-identity-spray"; got != want {
			t.Errorf("%s: suppressed %v, want %v", r.ID, got, want)
		}
		if len(r.Suppress) == 0 {
			t.Errorf("%s: the file-wide health-check suppression was not applied", r.ID)
		}
	}
	e.Time = time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	if rs[0].Suppressed(e) {
		t.Error("expired suppression still applies")
	}
}

// Top-level suppressions apply to the rules of every file, whatever the
// order of the files; one naming a rule no file defines is an error.
func TestLoadSuppressionsAcrossFiles(t *testing.T) {
	const (
		other    = "rules:\n  - {id: other, window: 1m, threshold: 1, group_by: [source.ip]}\n"
		allow    = other + "suppressions:\n  - {reason: r, match: {user.name: alice}, rules: [mine]}\n"
		allowAll = other + "suppressions:\n  - {reason: r, match: {user.name: alice}}\n"
		mine     = "rules:\n  - {id: mine, window: 1m, threshold: 1, group_by: [source.ip]}\n"
		off      = "rules:\n  - {id: mine, disabled: true}\n"
	)
	tests := []struct {
		name   string
		files  []string
		extend bool
		want   string // the error; "" when mine is loaded and suppresses alice
	}{
		{"before the rule", []string{allow, mine}, true, ""},
		{"after the rule", []string{mine, allow}, true, ""},
		{"naming no rule, before", []string{allowAll, mine}, false, ""},
		{"unknown rule", []string{allow}, true, `suppressions #1: names rule "mine", which none of the rules files`},
		{"default rule in replace mode", []string{other + "suppressions:\n  - {reason: r, match: {user.name: alice}, rules: [cert-identity-spray]}\n", mine}, false, `names rule "cert-identity-spray"`},
		{"disabled rule", []string{allow, off}, true, "no mine"},
		{"rule disabled in the default pack", []string{"suppressions:\n  - {reason: r, match: {user.name: alice}, rules: [cert-user-mismatch]}\n", mine}, true, "alice not suppressed"},
	}
	ev := &event.Event{}
	ev.Values[event.UserName] = "alice"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var paths []string
			for i, f := range tt.files {
				p := filepath.Join(dir, fmt.Sprintf("r%d.yml", i))
				if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
			}
			rs, err := Load(paths, tt.extend)
			got := ""
			switch {
			case err != nil:
				got = err.Error()
			default:
				got = "no mine"
				for _, r := range rs {
					if r.ID == "mine" {
						got = "alice not suppressed"
						if r.Suppressed(ev) {
							got = ""
						}
					}
				}
			}
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIdentityMap(t *testing.T) {
	m, err := ParseIdentityMap("m", []byte("identities:\n  \"CN=alice\": [alice]\n  \"spiffe://ex.org/gw\": service\n"))
	if err != nil {
		t.Fatal(err)
	}
	mk := func(field event.Field, id, user string) *event.Event {
		e := &event.Event{}
		e.Values[field] = id
		e.Values[event.UserName] = user
		return e
	}
	for _, tt := range []struct {
		e    *event.Event
		want bool
	}{
		{mk(event.TLSSubject, "CN=alice", "alice"), false},
		{mk(event.TLSSubject, "CN=alice", "bob"), true},
		{mk(event.TLSURISAN, "spiffe://ex.org/gw", "bob"), false},
		{mk(event.TLSSubject, "CN=unknown", "bob"), false},
		{mk(event.TLSSubject, "CN=alice", ""), false},
	} {
		if got := m.Mismatch(tt.e); got != tt.want {
			t.Errorf("%v: mismatch %v, want %v", tt.e.Values[event.UserName], got, tt.want)
		}
	}
	for _, bad := range []string{"", "identities: {a: admin}", "identities: {a: {x: 1}}", "other: 1"} {
		if _, err := ParseIdentityMap("m", []byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestIdentityMapErrors: each problem of an identity map is one line with
// the file, line and key, in words.
func TestIdentityMapErrors(t *testing.T) {
	const entry = `expected a list of usernames or "service", not `
	tests := []struct {
		name, yml string
		want      []string
	}{
		{"empty", "", []string{"m.yml: no identities (expected a top-level `identities:` mapping)"}},
		{"unknown top-level key", "identities:\n  a: [x]\nfoo: 1\n", []string{
			`m.yml:3: unknown key "foo" (known: identities)`}},
		{"misspelt identities", "identites:\n  a: [x]\n", []string{
			`m.yml:1: unknown key "identites" (known: identities)`}},
		{"not a mapping", "- a\n", []string{"m.yml:1: expected a mapping, not a list"}},
		{"list for the identities", "identities: [a]\n", []string{"m.yml:1: identities: expected a mapping, not a list"}},
		{"scalar for the identities", "identities: everyone\n", []string{"m.yml:1: identities: expected a mapping, not `everyone`"}},
		{"scalar other than service", "identities:\n  \"CN=alice\": alice\n", []string{
			`m.yml:2: identities: "CN=alice": ` + entry + "`alice`"}},
		{"mapping for an entry", "identities:\n  a: {x: 1}\n", []string{
			`m.yml:2: identities: "a": ` + entry + "a mapping"}},
		{"empty entry", "identities:\n  a:\n", []string{
			`m.yml:2: identities: "a": ` + entry + "an empty value"}},
		{"list in the list", "identities:\n  a:\n    - x\n    - [y]\n", []string{
			`m.yml:4: identities: "a": expected a username, not a list`}},
		{"duplicate identity", "identities:\n  a: [x]\n  a: [y]\n", []string{
			`m.yml:3: identities: mapping key "a" already defined at line 2`}},
		{"two errors", "identities:\n  b: everyone\n  a: {x: 1}\n  c: [ok]\n", []string{
			`m.yml:2: identities: "b": ` + entry + "`everyone`",
			`m.yml:3: identities: "a": ` + entry + "a mapping"}},
		{"two decoder errors", "identities: [a]\nfoo: 1\n", []string{
			"m.yml:1: identities: expected a mapping, not a list",
			`m.yml:2: unknown key "foo" (known: identities)`}},
		{"syntax", "identities:\n  a: [x\n", []string{"m.yml:1: did not find expected ',' or ']'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseIdentityMap("m.yml", []byte(tt.yml))
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", got, strings.Join(tt.want, "\n"))
			}
			for _, goWord := range []string{"unmarshal", "not found in type", "!!", "rules.", "yaml.Node"} {
				if strings.Contains(err.Error(), goWord) {
					t.Errorf("error names %q", goWord)
				}
			}
		})
	}
}

// TestBaselineSamples checks the samples a baseline rule needs before it
// fires: enough windows to span the warm-up, at least one.
func TestBaselineSamples(t *testing.T) {
	tests := []struct {
		window, warmup string
		want           int
	}{
		{"10m", "2h", 12},
		{"10m", "25m", 3},
		{"10m", "121m", 13},
		{"10m", "5m", 1},
		{"1h", "1h", 1},
		{"7m", "", 18}, // the default warm-up, 2h
	}
	for _, tt := range tests {
		t.Run(tt.window+" "+tt.warmup, func(t *testing.T) {
			warm := ""
			if tt.warmup != "" {
				warm = ", warmup: " + tt.warmup
			}
			rs, err := Parse("r.yml", []byte("rules:\n  - {id: b, type: baseline, group_by: [source.ip], distinct: user.name, threshold: 1, window: "+
				tt.window+", baseline: {sigma: 3, floor: 2"+warm+"}}\n"))
			if err != nil {
				t.Fatal(err)
			}
			if got := rs[0].Baseline.Samples; got != tt.want {
				t.Errorf("samples %d, want %d", got, tt.want)
			}
		})
	}
}
