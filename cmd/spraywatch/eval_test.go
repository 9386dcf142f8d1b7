package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestEvalCommand(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"eval", "-seed", "7"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"seed 7:", "fast_spray-1", "gateway_wave-1", "silent (ok)", "false alerts: 0", "all targets met over 1 seed(s)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// A rule set that misses campaigns must fail the command.
	out.Reset()
	code = run(context.Background(), []string{"eval", "-seed", "7", "--rules-mode", "replace", "--rules", "testdata/only-proxy-bypass.yml"}, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "MISSED") || !strings.Contains(out.String(), "target missed") {
		t.Errorf("exit %d with a one-rule pack:\n%s", code, out.String())
	}
}
