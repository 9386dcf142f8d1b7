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

// TestEvalCampaigns checks -campaigns: the kinds named, opt-in ones
// among them, are the attacks evaluated; an unknown kind is an error.
func TestEvalCampaigns(t *testing.T) {
	for _, tt := range []struct {
		kinds      string
		code       int
		want, lack []string
	}{
		{"token_spray,batch_spray", 0, []string{"token_spray-1", "batch_spray-1", "gateway_wave-1", "all targets met"}, []string{"fast_spray-1"}},
		{"none", 0, []string{"gateway_wave-1", "all targets met"}, []string{"fast_spray-1", "token_spray-1"}},
		{"bogus", 2, []string{`spraywatch eval: -campaigns "bogus": unknown kind "bogus", expected all, none or a list of`}, []string{"seed 2:"}},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"eval", "-seed", "2", "-campaigns", tt.kinds}, &out, &errb)
		all := out.String() + errb.String()
		if code != tt.code {
			t.Errorf("-campaigns %s: exit %d, want %d\n%s", tt.kinds, code, tt.code, all)
		}
		for _, w := range tt.want {
			if !strings.Contains(all, w) {
				t.Errorf("-campaigns %s: output lacks %q:\n%s", tt.kinds, w, all)
			}
		}
		for _, l := range tt.lack {
			if strings.Contains(all, l) {
				t.Errorf("-campaigns %s: output has %q:\n%s", tt.kinds, l, all)
			}
		}
	}
}
