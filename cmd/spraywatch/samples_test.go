package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		{"opt-in", []string{"-campaigns", "batch_spray,token_spray"}, true, ""},
		{"empty", []string{"-campaigns", ""}, false, "-campaigns is empty"},
		{"unknown", []string{"-campaigns", "bogus"}, false, `spraywatch samples: -campaigns "bogus": unknown kind "bogus", expected all, none or a list of fast_spray,`},
	} {
		dir := t.TempDir()
		args := append([]string{"samples", "-dir", dir, "-duration", "2h", "-scale", "0.05"}, tt.campaigns...)
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		if tt.err != "" {
			if code != 2 || !strings.Contains(errb.String(), tt.err) || strings.Count(errb.String(), "\n") != 1 {
				t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q alone", tt.name, code, errb.String(), tt.err)
			}
			if ents, err := os.ReadDir(dir); err != nil || len(ents) > 0 {
				t.Errorf("%s: %s has %d files (%v), want none", tt.name, dir, len(ents), err)
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

func TestSamplesStart(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{"2026-12-04T00:00:00Z", "2026-12-04T00:00:00Z", ""},
		{"2026-12-04T09:30:00+02:00", "2026-12-04T07:30:00Z", ""},
		{"2026-12-04", "2026-12-04T00:00:00Z", ""},
		{"2026-12-04 09:00", "", `-start "2026-12-04 09:00": expected an RFC 3339 time such as 2026-12-04T00:00:00Z, or a date such as 2026-12-04`},
		{"yesterday", "", `-start "yesterday": expected an RFC 3339 time`},
	} {
		got, err := parseStart(tt.in)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "2006") {
				t.Errorf("%q: error %v, want %q", tt.in, err, tt.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tt.in, err)
		case got.Format(time.RFC3339) != tt.want:
			t.Errorf("%q: %s, want %s", tt.in, got.Format(time.RFC3339), tt.want)
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"samples", "-dir", t.TempDir(), "-start", "2026-12"}, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), `spraywatch samples: -start "2026-12": expected an RFC 3339 time such as 2026-12-04T00:00:00Z`) {
		t.Errorf("exit %d: %s", code, errb.String())
	}
}
