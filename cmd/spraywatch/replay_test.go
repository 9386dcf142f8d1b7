package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func replaySamples(t *testing.T, extra ...string) (stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	args := append([]string{"replay", "--proxy", "../../samples/data/nginx-access.log", "--app", "../../samples/data/django-auth.log"}, extra...)
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("replay exited %d: %s", code, errb.String())
	}
	return out.String(), errb.String()
}

// TestReplaySamplesGolden pins the alerts of the bundled sample day. Run
// `go test ./cmd/spraywatch -update` after an intended change and review
// the diff.
func TestReplaySamplesGolden(t *testing.T) {
	got, summary := replaySamples(t)
	golden := filepath.Join("testdata", "samples.alerts.jsonl")
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
		t.Errorf("alerts differ from %s (rerun with -update after an intended change)\n got %d bytes, want %d", golden, len(got), len(want))
	}
	for _, s := range []string{"0 rejected", "join: ", "matched", "alerts: "} {
		if !strings.Contains(summary, s) {
			t.Errorf("summary lacks %q:\n%s", s, summary)
		}
	}
}

// TestReplayDeterministic replays the samples twice, once through a file
// output: the bytes must be identical.
func TestReplayDeterministic(t *testing.T) {
	first, _ := replaySamples(t, "--quiet")
	out := filepath.Join(t.TempDir(), "alerts.jsonl")
	replaySamples(t, "--quiet", "--out", out)
	second, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if first == "" || first != string(second) {
		t.Fatalf("two replays differ or are empty (%d vs %d bytes)", len(first), len(second))
	}
}

// TestReplayParallelSettings replays the samples on one goroutine and with
// several parse workers and rule lanes: the alerts must be the same bytes.
func TestReplayParallelSettings(t *testing.T) {
	one, _ := replaySamples(t, "--quiet", "--parallel=false", "--lanes", "1")
	many, _ := replaySamples(t, "--quiet", "--parse-workers", "3", "--lanes", "4")
	if one == "" || one != many {
		t.Fatalf("one goroutine and several differ or are empty (%d vs %d bytes)", len(one), len(many))
	}
}

func TestReplayErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.log")
	os.WriteFile(bad, []byte("this is not an nginx line\n"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no inputs", []string{"replay"}, 2, "usage"},
		{"unknown format", []string{"replay", "--proxy", bad, "--proxy-format", "iis"}, 1, `unknown proxy format "iis"`},
		{"bad log_format", []string{"replay", "--proxy", bad, "--log-format", "log_format x '$remote_addr \"$request';"}, 1, "compiling proxy format nginx"},
		{"missing file", []string{"replay", "--proxy", filepath.Join(dir, "nope.log")}, 1, "nope.log"},
		{"glob without match", []string{"replay", "--proxy", filepath.Join(dir, "*.gz")}, 1, "matches no file"},
		{"strict stops at a bad line", []string{"replay", "--proxy", bad, "--strict"}, 1, "bad.log:1"},
		{"bad rules mode", []string{"replay", "--proxy", bad, "--rules-mode", "merge"}, 1, "rules-mode"},
		{"unknown command", []string{"nope"}, 2, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errb)
			if code != tt.code || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d containing %q", code, errb.String(), tt.code, tt.want)
			}
		})
	}
	// Not strict: the bad line is counted and reported with its position.
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"replay", "--proxy", bad}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "1 rejected") || !strings.Contains(errb.String(), "bad.log:1") {
		t.Errorf("summary does not report the rejected line:\n%s", errb.String())
	}
}
