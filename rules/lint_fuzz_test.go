package rules

import (
	"strings"
	"testing"
)

// FuzzLint: lint never panics, and a file it finds no error in loads.
func FuzzLint(f *testing.F) {
	f.Add(DefaultPack())
	f.Add([]byte("rules:\n  - id: a\n    match: {user.name: {exists: false, not: {in: [x]}}}\n    group_by: [source.subnet]\n    distinct: user.name\n    window: 1m\n    threshold: 2\n"))
	f.Add([]byte("rules:\n  - {id: r, type: ratio, ratio: 0.5, min_attempts: 3, group_by: [source.ip], window: 1m, match: {event.outcome: [failure, success]}}\nsuppressions:\n  - {reason: x, match: {user.name: u}, rules: [r]}\n"))
	f.Add([]byte("rules: [1, {id: [x]}, {match: 3}]\n"))
	f.Add([]byte("rules:\n  - {id: a, window: 10, threshold: \"10\", group_by: [source.ip]}\n"))
	f.Add([]byte("rules:\n  - &r {id: a, window: 1m, threshold: 2, group_by: [source.ip], baseline: {warmup: 2}}\n  - {<<: *r, id: b, cooldown: [1m]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs := Lint("f.yml", data, LintOptions{MaxGroupEvents: 100})
		if HasErrors(fs) || strings.Contains(string(data), "identity_map") {
			return
		}
		if _, err := Parse("f.yml", data); err != nil {
			t.Errorf("lint found no error, Parse says %v", err)
		}
	})
}
