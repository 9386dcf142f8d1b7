package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRulesCommand(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("rules:\n  - id: a\n    windw: 10m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "converted.yml")
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"rules"}, 2, "", "usage: spraywatch rules"},
		{[]string{"rules", "lint", "default"}, 0, "", "no errors"},
		{[]string{"rules", "lint", bad}, 1, bad + `:3:5: error: rule a: rule: unknown key "windw"`, "1 error(s)"},
		{[]string{"rules", "test", "../../rules/testdata/ruletests/cert_identity_spray.yml"}, 0, "SUCCESS", ""},
		{[]string{"rules", "import-sigma", "../../rules/sigma/testdata/partial.yml"}, 1, "", `field "Hostname" has no ECS mapping`},
		{[]string{"rules", "import-sigma", "--partial", "--out", out, "../../rules/sigma/testdata/partial.yml"}, 0, "", "wrote 1 rule(s)"},
		{[]string{"rules", "lint", out}, 0, "", "no errors"},
		{[]string{"rules", "import-sigma", "--fields"}, 0, "client_cert_fingerprint -> tls.client.hash.sha1", ""},
	}
	for _, tt := range tests {
		var so, se bytes.Buffer
		code := run(context.Background(), tt.args, &so, &se)
		if code != tt.code || !strings.Contains(so.String(), tt.stdout) || !strings.Contains(se.String(), tt.stderr) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				tt.args, code, so.String(), se.String(), tt.code, tt.stdout, tt.stderr)
		}
	}
}
