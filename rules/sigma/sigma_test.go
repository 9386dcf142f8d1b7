package sigma

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden converts each testdata/*.yml and compares the rules file and
// the problems with testdata/*.golden. Converted rules must load.
func TestGolden(t *testing.T) {
	ins, err := filepath.Glob("testdata/*.yml")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range ins {
		t.Run(filepath.Base(in), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Convert([]Source{{Name: filepath.Base(in), Data: data}})
			if err != nil {
				t.Fatal(err)
			}
			out, err := res.YAML()
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			b.Write(out)
			for _, p := range res.Problems {
				b.WriteString("# problem: " + p.String() + "\n")
			}
			got := b.String()
			golden := strings.TrimSuffix(in, ".yml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
			if len(res.Rules) > 0 {
				if _, err := rules.Parse("converted", out); err != nil {
					t.Errorf("converted rules do not load: %v", err)
				}
			}
		})
	}
}

func TestMapField(t *testing.T) {
	for in, want := range map[string]string{
		"User": "user.name", "TargetUserName": "user.name", "username": "user.name",
		"ClientIP": "source.ip", "IpAddress": "source.ip", "src_ip": "source.ip",
		"client_cert_fingerprint": "tls.client.hash.sha1", "cert_sha1": "tls.client.hash.sha1",
		"event": "event.action", "action": "event.action", "outcome": "event.outcome",
		"user.name": "user.name", "identity": "spraywatch.identity", "source.subnet": "source.subnet",
	} {
		if got, ok := MapField(in); !ok || got != want {
			t.Errorf("MapField(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"ComputerName", "EventID", "Hostname", ""} {
		if got, ok := MapField(in); ok {
			t.Errorf("MapField(%q) = %q, want no mapping", in, got)
		}
	}
	for _, to := range Fields {
		if _, ok := rules.LookupKey(to); !ok {
			t.Errorf("Fields maps to %q, which spraywatch does not know", to)
		}
	}
}

func TestConvertErrors(t *testing.T) {
	if _, err := Convert([]Source{{Name: "base.yml", Data: []byte("title: x\ndetection: {condition: sel}\n")}}); err == nil || !strings.Contains(err.Error(), "no Sigma correlation rule") {
		t.Errorf("no correlation: %v", err)
	}
	if _, err := Convert([]Source{{Name: "bad.yml", Data: []byte("title: [\n")}}); err == nil || !strings.HasPrefix(err.Error(), "bad.yml") {
		t.Errorf("bad YAML: %v", err)
	}
}

// TestBaseRuleInAnotherFile: base rules are found across the sources.
func TestBaseRuleInAnotherFile(t *testing.T) {
	corr := "title: c\nname: c1\ncorrelation: {type: event_count, rules: [b1], group-by: [src_ip], timespan: 1h, condition: {gt: 99}}\n"
	base := "title: b\nname: b1\ndetection: {sel: {outcome: failure, User|exists: true}, condition: sel}\n"
	res, err := Convert([]Source{{Name: "c.yml", Data: []byte(corr)}, {Name: "b.yml", Data: []byte(base)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 0 || len(res.Rules) != 1 {
		t.Fatalf("problems %v, rules %d", res.Problems, len(res.Rules))
	}
	s := res.Rules[0].Spec
	if s.Threshold != 100 || s.Type != "count" || s.GroupBy[0] != "source.ip" || *s.Match["user.name"].Exists != true || *s.Match["event.outcome"].Equals != "failure" {
		t.Errorf("spec %+v", s)
	}
}

// TestWildcardsMatchAnyCharacter: Sigma's * and ? stand for any
// characters, a line break among them, so a value holding one does not
// slip past a converted rule.
func TestWildcardsMatchAnyCharacter(t *testing.T) {
	corr := "title: c\nname: c1\ncorrelation: {type: event_count, rules: [b1], group-by: [src_ip], timespan: 1h, condition: {gte: 5}}\n"
	for _, tt := range []struct {
		sel, field, value string
	}{
		{"{username: 'adm*'}", "user.name", "adm\nx"},
		{"{username: 'a?min'}", "user.name", "a\nmin"},
		{"{username|contains: 'ad*in'}", "user.name", "x-ad\nin"},
		{"{username|startswith: 'ad*in'}", "user.name", "ad\nin-x"},
		{"{username|endswith: 'ad*in'}", "user.name", "x-ad\nin"},
		{"{username|cased: 'Ad*in'}", "user.name", "Ad\nin"},
	} {
		base := "title: b\nname: b1\ndetection: {sel: " + tt.sel + ", condition: sel}\n"
		res, err := Convert([]Source{{Name: "c.yml", Data: []byte(corr + "---\n" + base)}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Problems) != 0 || len(res.Rules) != 1 {
			t.Fatalf("%s: problems %v, rules %d", tt.sel, res.Problems, len(res.Rules))
		}
		c := res.Rules[0].Spec.Match[tt.field]
		re, err := regexp.Compile(c.Regex)
		if err != nil {
			t.Fatalf("%s: %+v: %v", tt.sel, c, err)
		}
		if !re.MatchString(tt.value) {
			t.Errorf("%s: %s does not match %q", tt.sel, c.Regex, tt.value)
		}
	}
}

// TestThresholdOutOfRange: a count too large for an integer is over the
// limit, one too small is no count at all.
func TestThresholdOutOfRange(t *testing.T) {
	base := "---\ntitle: b\nname: b1\ndetection: {sel: {outcome: failure}, condition: sel}\n"
	for cond, want := range map[string]string{
		"{gte: 99999999999999999999}":  "condition gte: 99999999999999999999 is above spraywatch's threshold limit",
		"{gte: -99999999999999999999}": `condition gte: "-99999999999999999999" is not a whole number`,
		"{gt: -1}":                     `condition gt: "-1" is not a whole number`,
	} {
		corr := "title: c\nname: c1\ncorrelation: {type: event_count, rules: [b1], group-by: [src_ip], timespan: 1h, condition: " + cond + "}\n"
		res, err := Convert([]Source{{Name: "c.yml", Data: []byte(corr + base)}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].String(), want) {
			t.Errorf("%s: problems %v, want one saying %q", cond, res.Problems, want)
		}
	}
}
