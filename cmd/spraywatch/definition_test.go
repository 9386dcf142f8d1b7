package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefinition(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "fmt.conf")
	writeFile(t, file, "log_format x '$time_local';\n")
	t.Chdir(dir)
	for _, tt := range []struct {
		name, value, want, err string
	}{
		{"empty", "", "", ""},
		{"inline nginx", `log_format x '$time_local "$request"';`, `log_format x '$time_local "$request"';`, ""},
		{"inline with slashes", `'[%d/%b/%Y] $request'`, `'[%d/%b/%Y] $request'`, ""},
		{"inline envoy", "%START_TIME%", "%START_TIME%", ""},
		{"inline yaml", "{format: '%(asctime)s %(message)s'}", "{format: '%(asctime)s %(message)s'}", ""},
		{"a file", file, "log_format x '$time_local';\n", ""},
		{"a file in the working directory", "fmt.conf", "log_format x '$time_local';\n", ""},
		{"missing path", "/nonexistent/file", "", "--log-format: reading the definition file: open /nonexistent/file: no such file or directory"},
		{"missing .conf", "nginx.conf", "", "--log-format: reading the definition file: open nginx.conf: no such file or directory"},
		{"missing .yml", "def.yml", "", "open def.yml: no such file or directory"},
		{"a directory", dir, "", "--log-format: reading the definition file: read " + dir + ": is a directory"},
	} {
		got, err := definition("log-format", tt.value)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.err)
		case got != tt.want:
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDefinitionUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	file := filepath.Join(t.TempDir(), "fmt.conf")
	writeFile(t, file, "log_format x '$time_local';\n")
	if err := os.Chmod(file, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := definition("log-format", file); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("error %v, want permission denied", err)
	}
}
