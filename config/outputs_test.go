package config

import (
	"strings"
	"testing"
)

func TestParseOutputs(t *testing.T) {
	outs, err := ParseOutputs("o.yml", []byte("outputs:\n  - type: file\n    path: a.jsonl\n    min_severity: critical\n  - type: stdout\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || outs[0].Path != "a.jsonl" || outs[0].MinSeverity != "critical" || outs[1].Type != "stdout" {
		t.Errorf("outputs %+v", outs)
	}
	for _, tt := range []struct {
		name, yml, want string
	}{
		{"empty", "", "o.yml: no outputs"},
		{"empty list", "outputs: []\n", "o.yml: no outputs"},
		{"unknown key in an output", "outputs:\n  - type: file\n    path: a\n    min_severty: critical\n", "o.yml:4: field min_severty not found"},
		{"unknown top key", "outputs:\n  - type: stdout\nbogus: 1\n", "o.yml:3: field bogus not found"},
		{"syntax", "outputs:\n  - type: stdout\n   path: x\n", "o.yml:"},
		{"bad severity", "outputs:\n  - type: stdout\n  - type: stdout\n    min_severity: urgent\n", "o.yml:3: outputs[1]: unknown min_severity \"urgent\""},
		{"webhook without spool_dir", "outputs:\n  - {type: webhook, url: \"http://x\"}\n", "o.yml:2: outputs[0]: webhook: spool_dir is required"},
		{"fraction for an integer", "outputs:\n  - type: file\n    path: a\n    keep: 2.5\n", "o.yml:4: cannot unmarshal !!float `2.5` into int (keep expects an integer)"},
		{"duplicate names", "outputs:\n  - {type: stdout, name: a}\n  - {type: file, name: a, path: x}\n", `o.yml:3: outputs[1]: name "a" is also the name of outputs[0]`},
	} {
		_, err := ParseOutputs("o.yml", []byte(tt.yml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}
