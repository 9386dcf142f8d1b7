package ruletest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRun: a rule test file, whatever it holds, is run or refused with an
// error naming the file; it never panics, and a result is written out.
func FuzzRun(f *testing.F) {
	files, err := filepath.Glob("../testdata/ruletests/*.yml")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("rule_files: [default]\ntests:\n  - name: x\n    input: {events: [{\"@timestamp\": \"2026-12-04T09:00:00Z\", user.name: a}]}\n    expect: []\n"))
	f.Add([]byte("rule_files: [default]\ntests: [{input: {events: [{\"@timestamp\": 99999999999999999999}]}}]\n"))
	f.Add([]byte("tests: 3\n"))
	// Rule files are named relative to the test file, as the fixtures'.
	name := filepath.Join("..", "testdata", "ruletests", "fuzz.yml")
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Run(context.Background(), name, data)
		if err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		var b bytes.Buffer
		res.Write(&b)
		if b.Len() == 0 {
			t.Error("a result with nothing written")
		}
	})
}
