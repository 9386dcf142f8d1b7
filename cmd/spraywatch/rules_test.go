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
		{[]string{"rules", "import-sigma", "../../rules/sigma/testdata/partial.yml"}, 1, "", "nothing written (--partial writes the 1 rule(s) that convert)"},
		// No rule converts: --partial is not suggested, and writes nothing.
		{[]string{"rules", "import-sigma", "../../rules/sigma/testdata/spec_example.yml"}, 1, "", "3 problem(s); no rule could be converted, nothing written\n"},
		{[]string{"rules", "import-sigma", "--partial", "--out", out, "../../rules/sigma/testdata/spec_example.yml"}, 1, "", "3 problem(s); no rule could be converted, nothing written\n"},
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

// TestFlagsAfterFiles: every command reads flags after its file names as
// flags, not as files; "--" ends the flags; a command that takes no file
// names refuses one.
func TestFlagsAfterFiles(t *testing.T) {
	dir := t.TempDir()
	// A rule replacing a default one's id: lint warns of it only when the
	// file extends the default pack.
	shadow := filepath.Join(dir, "shadow.yml")
	writeFile(t, shadow, "rules:\n  - id: proxy-bypass\n    window: 10m\n    threshold: 5\n    group_by: [source.ip]\n")
	out := filepath.Join(dir, "converted.yml")
	sigmaFile := "../../rules/sigma/testdata/partial.yml"
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, "sources:\n  - {kind: proxy, paths: ["+abs(t, "../../samples/data/nginx-access.log")+"]}\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		output string // in stdout or stderr
		absent string // in neither
	}{
		{"lint flag after file", []string{"rules", "lint", shadow, "--extend=false"}, 0, "1 file(s): no errors", "replaces the default pack rule"},
		{"lint flag between files", []string{"rules", "lint", shadow, "-max-group-events", "5000", "default"}, 0, "2 file(s): no errors", "open -max-group-events"},
		{"lint bad flag after file", []string{"rules", "lint", shadow, "--extnd=false"}, 2, "flag provided but not defined: -extnd", "open"},
		{"lint help after file", []string{"rules", "lint", shadow, "-h"}, 0, "usage: spraywatch rules lint", "open"},
		{"lint file after --", []string{"rules", "lint", "--", "-x.yml"}, 1, "-x.yml", "flag provided"},
		{"import-sigma flags after file", []string{"rules", "import-sigma", sigmaFile, "--partial", "--out", out}, 0, "wrote 1 rule(s) to " + out, "open --out"},
		{"test bad flag after file", []string{"rules", "test", "../../rules/testdata/ruletests/cert_identity_spray.yml", "-v"}, 2, "flag provided but not defined: -v", "SUCCESS"},
		{"config check flag after file", []string{"config", "check", cfg, "--verbose"}, 2, "flag provided but not defined: -verbose", "open --verbose"},
		{"config check two files", []string{"config", "check", cfg, cfg}, 2, "usage: spraywatch config check [--serve] FILE", ""},
		// An argument a command does not take is a bad command line.
		{"eval argument", []string{"eval", "seeds", "-seeds", "2"}, 2, `unexpected argument "seeds": eval takes flags only`, "seed 1"},
		{"samples argument", []string{"samples", "out", "-dir", dir}, 2, `unexpected argument "out": samples takes flags only`, "wrote"},
		{"replay argument", []string{"replay", "--proxy", "a.log", "b.log", "--app", "c.log"}, 2, `spraywatch replay: unexpected argument "b.log" (name files with --proxy and --app)`, ""},
		{"serve argument", []string{"serve", "--proxy-file", "a.log", "b.log", "--app-file", "c.log", "--listen", ""}, 2, `spraywatch serve: unexpected argument "b.log"`, "following files"},
		{"replay missing file", []string{"replay", "--proxy", "a.log", "--app", "c.log"}, 1, `file "a.log" does not exist`, ""},
		{"version argument", []string{"version", "extra"}, 2, `spraywatch version: unexpected argument "extra": version takes none`, "spraywatch dev"},
	}
	for _, tt := range tests {
		var so, se bytes.Buffer
		code := run(context.Background(), tt.args, &so, &se)
		all := so.String() + se.String()
		if code != tt.code || !strings.Contains(all, tt.output) || tt.absent != "" && strings.Contains(all, tt.absent) {
			t.Errorf("%s: %v: exit %d, output %q; want exit %d with %q, without %q", tt.name, tt.args, code, all, tt.code, tt.output, tt.absent)
		}
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("import-sigma --out after the file: %v", err)
	}
}
