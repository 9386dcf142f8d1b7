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

func TestDefaultPackCompiles(t *testing.T) {
	rs := Default()
	if len(rs) < 2 {
		t.Fatalf("default pack has %d rules", len(rs))
	}
	ids := map[string]bool{}
	for _, r := range rs {
		ids[r.ID] = true
	}
	for _, want := range []string{"cert-identity-spray", "cert-identity-slow-spray", "subnet-distributed-spray", "successful-spray", "shared-cert-spray-baseline", "proxy-bypass", "no-cert-source-spray", "cert-verify-failures", "username-enumeration"} {
		if !ids[want] {
			t.Errorf("default pack lacks %s", want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yml, want string
	}{
		{"empty", ``, "no rules"},
		{"no list", `foo: 1`, `r.yml:1:1: unknown key "foo" (expected rules, suppressions)`},
		{"unknown rule key", "rules:\n  - id: a\n    windw: 10m\n", `r.yml:3:5: rule a: rule: unknown key "windw" (known: baseline,`},
		{"missing id", "rules:\n  - window: 10m\n    threshold: 3\n    group_by: [source.ip]\n", "rule #1: id is required"},
		{"bad window", "rules:\n  - id: a\n    window: ten\n", "expected a duration"},
		{"zero threshold", "rules:\n  - id: a\n    window: 10m\n    group_by: [source.ip]\n", "threshold: must be at least 1"},
		{"huge window", "rules:\n  - id: a\n    window: 9000h\n    threshold: 1\n    group_by: [source.ip]\n", "longer than"},
		{"unknown group field", "rules:\n  - id: a\n    window: 1m\n    threshold: 1\n    group_by: [src.ip]\n", `unknown field "src.ip"`},
		{"unknown match field", "rules:\n  - id: a\n    window: 1m\n    threshold: 1\n    group_by: [source.ip]\n    match: {usr: x}\n", `unknown field "usr"`},
		{"bad regex", "rules:\n  - id: a\n    window: 1m\n    threshold: 1\n    group_by: [source.ip]\n    match: {user.name: {regex: '('}}\n", "regex"},
		{"bad cidr", "rules:\n  - id: a\n    window: 1m\n    threshold: 1\n    group_by: [source.ip]\n    match: {source.ip: {cidr: [10.0.0.0/33]}}\n", `rule a: match: source.ip: cidr: "10.0.0.0/33": expected a network such as 10.0.0.0/8 or 2001:db8::/32`},
		{"cidr without a length", "rules:\n  - id: a\n    window: 1m\n    threshold: 1\n    group_by: [source.ip]\n    match: {source.ip: {cidr: [10.0.0.1]}}\n", `cidr: "10.0.0.1": expected a network such as 10.0.0.0/8`},
		{"bad expiry", "rules:\n  - {id: a, window: 1m, threshold: 1, group_by: [source.ip]}\nsuppressions:\n  - {reason: r, match: {user.name: u}, expires: tomorrow}\n", `r.yml:4:5: suppression #1: expires: "tomorrow": expected an RFC 3339 time such as 2027-01-31T00:00:00Z`},
		{"expiry without a zone", "rules:\n  - {id: a, window: 1m, threshold: 1, group_by: [source.ip]}\nsuppressions:\n  - {reason: r, match: {user.name: u}, expires: \"2027-01-31T00:00:00\"}\n", `expires: "2027-01-31T00:00:00": expected an RFC 3339 time`},
		{"unknown condition key", "rules:\n  - id: a\n    window: 1m\n    threshold: 1\n    group_by: [source.ip]\n    match: {source.ip: {within: x}}\n", `r.yml:6:25: rule a: match: source.ip: unknown key "within" (known: cidr,`},
		{"bad severity", "rules:\n  - id: a\n    severity: urgent\n    window: 1m\n    threshold: 1\n    group_by: [source.ip]\n", "severity"},
		{"duplicate", "rules:\n  - {id: a, window: 1m, threshold: 1, group_by: [source.ip]}\n  - {id: a, window: 1m, threshold: 1, group_by: [source.ip]}\n", "duplicate id"},
		{"bad technique", "rules:\n  - {id: a, window: 1m, threshold: 1, group_by: [source.ip], technique: T9}\n", "technique"},
		{"wrong type", "rules:\n  - {id: a, window: 1m, threshold: many, group_by: [source.ip]}\n", "r.yml:2:25: rule a: threshold: expected an integer, not `many`"},
		{"fractional threshold", "rules:\n  - id: a\n    window: 1m\n    threshold: 2.5\n    group_by: [source.ip]\n", "r.yml:4:5: rule a: threshold: expected an integer, not `2.5`"},
		{"window without unit", "rules:\n  - {id: a, window: 10, threshold: 1, group_by: [source.ip]}\n", "r.yml:2:13: rule a: window: expected a duration such as 10m, not `10` (a number needs a unit, as in 10m)"},
		{"quoted threshold", "rules:\n  - {id: a, window: 1m, threshold: \"10\", group_by: [source.ip]}\n", `r.yml:2:25: rule a: threshold: expected an integer, not the string "10" (quoted: write it without the quotes)`},
		{"fractional min_events", "rules:\n  - {id: a, window: 1m, threshold: 2, min_events: 1.9, group_by: [source.ip]}\n", "min_events: expected an integer, not `1.9`"},
		{"fractional max_success_users", "rules:\n  - {id: a, window: 1m, threshold: 2, distinct: user.name, max_success_users: 3.5, group_by: [source.ip]}\n", "max_success_users: expected an integer"},
		{"fractional min_attempts", "rules:\n  - {id: a, type: ratio, ratio: 0.5, window: 1m, min_attempts: 4.2, group_by: [source.ip]}\n", "min_attempts: expected an integer"},
		{"fractional baseline floor", "rules:\n  - id: a\n    type: baseline\n    window: 1m\n    threshold: 1\n    group_by: [source.ip]\n    baseline: {sigma: 2.5, floor: 1.5}\n", "r.yml:7:28: rule a: baseline: floor: expected an integer, not `1.5`"},
		{"float threshold in a disabled rule", "rules:\n  - {id: a, disabled: true, threshold: 2.0}\n", "threshold: expected an integer"},
		{"suppression naming another file's rule", "rules:\n  - {id: a, window: 1m, threshold: 1, group_by: [source.ip]}\nsuppressions:\n  - {reason: r, match: {user.name: u}, rules: [b]}\n", `suppressions #1: names rule "b"`},
		{"disabled without id", "rules:\n  - {disabled: true, window: 1m}\n", "rule #1: id is required"},
		{"disabled with a bad id", "rules:\n  - {id: a b, disabled: true}\n", `id "a b"`},
		{"disabled and enabled with one id", "rules:\n  - {id: a, disabled: true}\n  - {id: a, window: 1m, threshold: 1, group_by: [source.ip]}\n", "rule a: duplicate id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("r.yml", []byte(tt.yml))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "r.yml") {
				t.Errorf("error %q, want it to name r.yml and contain %q", err, tt.want)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	yml := `
rules:
  - id: f
    window: 1m
    threshold: 1
    group_by: [source.ip]
    match:
      event.outcome: failure
      tls.client.verify: [SUCCESS, NONE]
      url.path: {prefix: [/accounts/, /admin/]}
      user_agent.original: {regex: "^python-"}
      source.ip: {cidr: [10.0.0.0/8, "2001:db8::/32"]}
      user.name: {not: {in: [healthcheck]}}
      spraywatch.identity: {exists: true}
`
	rs, err := Parse("f", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	f := rs[0].Filter
	base := func() *event.Event {
		e := &event.Event{}
		e.Values[event.Outcome] = "failure"
		e.Values[event.TLSVerify] = "SUCCESS"
		e.Values[event.URLPath] = "/accounts/login/"
		e.Values[event.UserAgent] = "python-requests/2.32"
		e.Values[event.SourceIP] = "10.1.2.3"
		e.Values[event.UserName] = "alice"
		e.Values[event.Identity] = "sha1:ab"
		return e
	}
	if !f.Match(base()) {
		t.Fatal("base event should match")
	}
	tests := []struct {
		field event.Field
		value string
		want  bool
	}{
		{event.Outcome, "success", false},
		{event.TLSVerify, "NONE", true},
		{event.TLSVerify, "FAILED:expired", false},
		{event.URLPath, "/admin/login/", true},
		{event.URLPath, "/login", false},
		{event.UserAgent, "curl/8", false},
		{event.SourceIP, "2001:db8::1", true},
		{event.SourceIP, "::ffff:10.0.0.1", true},
		{event.SourceIP, "192.168.0.1", false},
		{event.SourceIP, "not-an-ip", false},
		{event.UserName, "healthcheck", false},
		{event.Identity, "", false},
	}
	for _, tt := range tests {
		e := base()
		e.Values[tt.field] = tt.value
		if got := f.Match(e); got != tt.want {
			t.Errorf("%s=%q: match %v, want %v", tt.field, tt.value, got, tt.want)
		}
	}
}

func TestCompileDefaults(t *testing.T) {
	rs, err := Parse("d", []byte("rules:\n  - {id: a, window: 2m, threshold: 4, group_by: [identity], distinct: user.name}\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	if r.Severity != "medium" || r.Cooldown != 2*time.Minute || r.ResolveAfter != DefaultResolveAfter ||
		r.Technique.ID != "T1110.003" || r.Measure() != "user.name" || r.GroupBy[0].Field != event.Identity {
		t.Errorf("defaults: %+v", r)
	}
}

func TestLoadExtendAndReplace(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/r.yml"
	if err := writeFile(p, "rules:\n  - {id: cert-identity-spray, window: 5m, threshold: 20, group_by: [identity], distinct: user.name}\n  - {id: extra, window: 1m, threshold: 1, group_by: [source.ip]}\n"); err != nil {
		t.Fatal(err)
	}
	ext, err := Load([]string{p}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(ext) != len(Default())+1 || ext[0].Threshold != 20 {
		t.Errorf("extend: %d rules, first threshold %d", len(ext), ext[0].Threshold)
	}
	rep, err := Load([]string{p}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep) != 2 {
		t.Errorf("replace: %d rules, want 2", len(rep))
	}
	if _, err := Load([]string{dir + "/missing.yml"}, true); err == nil {
		t.Error("missing file accepted")
	}
}

// A disabled rule in a file replaces the rule with its id, that is, switches
// it off; the stub {id: ..., disabled: true} is enough.
func TestLoadDisabled(t *testing.T) {
	const full = "  - {id: cert-identity-spray, window: 5m, threshold: 20, group_by: [identity], distinct: user.name%s}\n"
	tests := []struct {
		name   string
		files  []string
		extend bool
		want   []string // ids that must be loaded
		absent []string // ids that must not be
		count  int      // rules loaded, less the default pack's when extending
	}{
		{"stub switches a default rule off", []string{"rules:\n  - {id: cert-identity-spray, disabled: true}\n"}, true,
			nil, []string{"cert-identity-spray"}, -1},
		{"full disabled rule switches a default rule off", []string{"rules:\n" + fmt.Sprintf(full, ", disabled: true")}, true,
			nil, []string{"cert-identity-spray"}, -1},
		{"disabled rule with a new id adds nothing", []string{"rules:\n  - {id: mine, disabled: true}\n"}, true,
			[]string{"cert-identity-spray"}, []string{"mine"}, 0},
		{"later file enables it again", []string{"rules:\n  - {id: cert-identity-spray, disabled: true}\n", "rules:\n" + fmt.Sprintf(full, "")}, true,
			[]string{"cert-identity-spray"}, nil, 0},
		{"later file switches off an earlier file's rule", []string{"rules:\n" + fmt.Sprintf(full, "") + "  - {id: other, window: 1m, threshold: 1, group_by: [source.ip]}\n", "rules:\n  - {id: cert-identity-spray, disabled: true}\n"}, false,
			[]string{"other"}, []string{"cert-identity-spray"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var paths []string
			for i, f := range tt.files {
				p := filepath.Join(dir, fmt.Sprintf("r%d.yml", i))
				if err := writeFile(p, f); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
			}
			rs, err := Load(paths, tt.extend)
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]*Rule{}
			for _, r := range rs {
				ids[r.ID] = r
			}
			for _, id := range tt.want {
				if ids[id] == nil {
					t.Errorf("%s not loaded; rules: %s", id, IDs(rs))
				}
			}
			for _, id := range tt.absent {
				if ids[id] != nil {
					t.Errorf("%s loaded; rules: %s", id, IDs(rs))
				}
			}
			n := len(rs)
			if tt.extend {
				n -= len(Default())
			}
			if n != tt.count {
				t.Errorf("%d rules (%s): %d beyond the default pack when extending, want %d", len(rs), IDs(rs), n, tt.count)
			}
		})
	}
}

// TestMatchesJoin: a rule matches a join value when its match block tests
// spraywatch.join and passes the value; a rule without such a test does
// not, whatever the value.
func TestMatchesJoin(t *testing.T) {
	for _, tt := range []struct {
		name, match string
		appOnly     bool
		proxyOnly   bool
	}{
		{"equals app_only", "{spraywatch.join: app_only, event.outcome: failure}", true, false},
		{"in a list", "{spraywatch.join: [app_only, proxy_only]}", true, true},
		{"not matched", "{spraywatch.join: {not: {equals: matched}}}", true, true},
		{"matched only", "{spraywatch.join: matched}", false, false},
		{"no join test", "{event.outcome: failure}", false, false},
	} {
		rs, err := Parse("r.yml", []byte("rules:\n  - id: r\n    match: "+tt.match+"\n    group_by: [source.ip]\n    window: 10m\n    threshold: 3\n"))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := rs[0].MatchesJoin("app_only"); got != tt.appOnly {
			t.Errorf("%s: MatchesJoin(app_only) = %v, want %v", tt.name, got, tt.appOnly)
		}
		if got := rs[0].MatchesJoin("proxy_only"); got != tt.proxyOnly {
			t.Errorf("%s: MatchesJoin(proxy_only) = %v, want %v", tt.name, got, tt.proxyOnly)
		}
	}
	var ids []string
	for _, r := range Default() {
		if r.MatchesJoin("app_only") || r.MatchesJoin("proxy_only") {
			ids = append(ids, r.ID)
		}
	}
	if strings.Join(ids, ",") != "proxy-bypass" {
		t.Errorf("default rules matching a one-sided join: %v, want proxy-bypass", ids)
	}
}

// TestDocsNameEveryKey: docs/rules.md lists every name a rule may give a
// field or a derived key by, and every one of them is one.
func TestDocsNameEveryKey(t *testing.T) {
	b, err := os.ReadFile("../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	names := append(event.FieldNames(), "identity", "join", SubnetName, "subnet", ResponseClassName, "response_class")
	for _, n := range names {
		if !strings.Contains(doc, "`"+n+"`") {
			t.Errorf("docs/rules.md does not name %s", n)
		}
		if _, ok := LookupKey(n); !ok {
			t.Errorf("%s is no key", n)
		}
	}
}
