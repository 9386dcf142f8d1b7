package ruletest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocExample runs the test file docs/rule-tooling.md shows, next to a
// my-rules.yml of its own (the example names one): its case passes, so
// the alerts it expects are those the engine writes.
func TestDocExample(t *testing.T) {
	b, err := os.ReadFile("../../docs/rule-tooling.md")
	if err != nil {
		t.Fatal(err)
	}
	var block string
	for _, m := range regexp.MustCompile("(?s)\n```yaml\n(.*?\n)```\n").FindAllStringSubmatch(string(b), -1) {
		if strings.HasPrefix(m[1], "rule_files:") {
			block = m[1]
			break
		}
	}
	if block == "" {
		t.Fatal("docs/rule-tooling.md: no test file example")
	}
	dir := t.TempDir()
	mine := "rules:\n  - {id: my-slow-spray, severity: low, group_by: [source.ip], distinct: user.name, match: {event.outcome: failure}, window: 10m, threshold: 50}\n"
	if err := os.WriteFile(filepath.Join(dir, "my-rules.yml"), []byte(mine), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "spray.yml")
	if err := os.WriteFile(path, []byte(block), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := RunFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cases) == 0 {
		t.Fatal("the example has no case")
	}
	if res.Failed() {
		var out bytes.Buffer
		res.Write(&out)
		t.Errorf("docs/rule-tooling.md: the example test fails:\n%s", out.String())
	}
	for _, c := range res.Cases {
		if len(c.Alerts) == 0 {
			t.Errorf("case %q: no alert", c.Name)
		}
	}
}
