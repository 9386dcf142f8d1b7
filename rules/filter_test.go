package rules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

func compileYAML(t *testing.T, match string) Filter {
	t.Helper()
	rs, err := Parse("f", []byte("rules:\n  - {id: f, window: 1m, threshold: 1, group_by: [source.ip], match: "+match+"}\n"))
	if err != nil {
		t.Fatalf("%s: %v", match, err)
	}
	return rs[0].Filter
}

func TestFilterEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{`{event.outcome: [failure, success]}`, `{event.outcome: [success, failure]}`, true},
		{`{event.outcome: [failure, success]}`, `{event.outcome: [failure, success, failure]}`, true},
		{`{event.outcome: [failure, success]}`, `{event.outcome: [failure]}`, false},
		{`{event.outcome: failure}`, `{event.outcome: [failure]}`, false},
		{`{event.outcome: failure, user.name: {exists: true}}`, `{user.name: {exists: true}, event.outcome: failure}`, true},
		{`{user.name: {exists: true}}`, `{user.name: {exists: false}}`, false},
		{`{user.name: {exists: true}}`, `{source.ip: {exists: true}}`, false},
		{`{url.path: {prefix: [/a/, /b/]}}`, `{url.path: {prefix: [/a/, /b/]}}`, true},
		{`{url.path: {prefix: [/a/]}}`, `{url.path: {prefix: [/a/, /b/]}}`, false},
		{`{user_agent.original: {regex: "^py"}}`, `{user_agent.original: {regex: "^py"}}`, true},
		{`{user_agent.original: {regex: "^py"}}`, `{user_agent.original: {regex: "^px"}}`, false},
		{`{source.ip: {cidr: [10.0.0.0/8]}}`, `{source.ip: {cidr: [10.1.0.0/8]}}`, true}, // masked
		{`{source.ip: {cidr: [10.0.0.0/8]}}`, `{source.ip: {cidr: [10.0.0.0/16]}}`, false},
		{`{user.name: {not: {in: [a, b]}}}`, `{user.name: {not: {in: [b, a]}}}`, true},
		{`{user.name: {not: {in: [a, b]}}}`, `{user.name: {not: {in: [a]}}}`, false},
		{`{user.name: {not: {in: [a]}}}`, `{user.name: {in: [a]}}`, false},
	}
	for _, tt := range tests {
		a, b := compileYAML(t, tt.a), compileYAML(t, tt.b)
		if got := a.Equal(&b); got != tt.want {
			t.Errorf("%s Equal %s = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := b.Equal(&a); got != tt.want {
			t.Errorf("%s Equal %s = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

// TestFilterIn checks an in test on short lists (scanned) and long ones
// (looked up), at the edge between them.
func TestFilterIn(t *testing.T) {
	for _, n := range []int{1, 2, maxScan, maxScan + 1, 3 * maxScan} {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = fmt.Sprintf("u%d", i)
		}
		f := compileYAML(t, "{user.name: ["+strings.Join(vals, ", ")+"]}")
		if got, want := f.tests[0].set != nil, n > maxScan; got != want {
			t.Errorf("%d values: set made %v, want %v", n, got, want)
		}
		var e event.Event
		for _, v := range vals {
			e.Values[event.UserName] = v
			if !f.Match(&e) {
				t.Errorf("%d values: %q does not match", n, v)
			}
		}
		for _, v := range []string{"", "u", fmt.Sprintf("u%d", n), "u0 "} {
			e.Values[event.UserName] = v
			if f.Match(&e) {
				t.Errorf("%d values: %q matches", n, v)
			}
		}
	}
}
