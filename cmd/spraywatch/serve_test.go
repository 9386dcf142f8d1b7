package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenSinksErrors(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yml")
	writeFile(t, typo, "outputs:\n  - type: file\n    path: "+filepath.Join(dir, "crit.jsonl")+"\n    min_severty: critical\n")
	routed := filepath.Join(dir, "routed.yml")
	writeFile(t, routed, "outputs:\n  - {type: stdout, rules: [cert-identity-spray, no-such-rule]}\n")
	good := filepath.Join(dir, "good.yml")
	writeFile(t, good, "outputs:\n  - type: stdout\n")
	rs, err := loadRules(nil, "extend")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, out, outputs, want string
	}{
		{"unknown key", "", typo, "typo.yml:4: field min_severty not found"},
		{"--out and --outputs", filepath.Join(dir, "a.jsonl"), good, "--out and --outputs"},
		{"unknown routed rule", "", routed, `outputs[0] (stdout): routes rule "no-such-rule"`},
		{"missing outputs file", "", filepath.Join(dir, "none.yml"), "reading outputs: open " + filepath.Join(dir, "none.yml")},
	} {
		s, err := openSinks(context.Background(), tt.out, tt.outputs, rs, &bytes.Buffer{})
		if err == nil {
			s.Close()
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q, want %q", tt.name, err, tt.want)
		}
	}
	s, err := openSinks(context.Background(), "", good, rs, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}
