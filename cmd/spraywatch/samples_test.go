package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSamplesCampaigns(t *testing.T) {
	for _, tt := range []struct {
		name      string
		campaigns []string // the flag's arguments
		attacks   bool     // labels of attacks expected
		err       string
	}{
		{"none", []string{"-campaigns", "none"}, false, ""},
		{"one", []string{"-campaigns", "fast_spray"}, true, ""},
		{"empty", []string{"-campaigns", ""}, false, "-campaigns is empty"},
		{"unknown", []string{"-campaigns", "bogus"}, false, `spraywatch samples: generating samples: unknown campaign kind "bogus"`},
	} {
		dir := t.TempDir()
		args := append([]string{"samples", "-dir", dir, "-duration", "2h", "-scale", "0.05"}, tt.campaigns...)
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		if tt.err != "" {
			if code != 1 || !strings.Contains(errb.String(), tt.err) || strings.Count(errb.String(), "generating samples") > 1 {
				t.Errorf("%s: exit %d, stderr %q; want exit 1 and %q once", tt.name, code, errb.String(), tt.err)
			}
			continue
		}
		if code != 0 {
			t.Errorf("%s: exit %d: %s", tt.name, code, errb.String())
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "campaigns.json"))
		if err != nil {
			t.Fatal(err)
		}
		var labels []struct {
			Negative bool `json:"negative"`
		}
		if err := json.Unmarshal(b, &labels); err != nil {
			t.Fatal(err)
		}
		attacks := 0
		for _, l := range labels {
			if !l.Negative {
				attacks++
			}
		}
		if (attacks > 0) != tt.attacks {
			t.Errorf("%s: %d attack labels of %d", tt.name, attacks, len(labels))
		}
	}
}
