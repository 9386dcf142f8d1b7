package detect

import (
	"slices"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// TestGroupValues checks that a group keyed by several fields gives back
// each field's value, whatever bytes the values hold (the key's separator
// among them) and however many fields there are.
func TestGroupValues(t *testing.T) {
	fields := []string{"spraywatch.identity", "source.ip", "user.name", "user_agent.original"}
	cases := [][]string{
		{"sha1:ab", "10.0.0.1"},
		{"", "10.0.0.1"},
		{"sha1:ab", ""},
		{"a\x1fb", "\x1f"},
		{"sha1:ab", "10.0.0.1", "alice"},
		{"x", "", "\x1f\x1f"},
		{"sha1:ab", "10.0.0.1", "alice", "curl/8"},
		{"", "\x1f", "", "z"},
	}
	for _, vals := range cases {
		gb := fields[:len(vals)]
		yml := "rules:\n  - id: r\n    type: count\n    group_by: [" + strings.Join(gb, ", ") + "]\n    window: 1m\n    threshold: 100\n"
		rs, err := rules.Parse("t.yml", []byte(yml))
		if err != nil {
			t.Fatal(err)
		}
		e, err := NewEngine(Config{Rules: rs, Sink: &captureSink{}, Lanes: 1})
		if err != nil {
			t.Fatal(err)
		}
		x := &event.Event{Time: 1}
		for i, f := range gb {
			fd, _ := event.LookupField(f)
			x.Values[fd] = vals[i]
		}
		x.Values[event.Outcome] = event.OutcomeFailure
		e.evaluate(x)
		var got [][]string
		e.rules[0].groups.each(func(g *group) {
			vs := g.values()
			for i := range vs {
				if g.value(i) != vs[i] {
					t.Errorf("%q: value(%d) = %q, values()[%d] = %q", vals, i, g.value(i), i, vs[i])
				}
			}
			got = append(got, vs)
		})
		if len(got) != 1 || !slices.Equal(got[0], vals) {
			t.Errorf("group values %q, want [%q]", got, vals)
		}
	}
}
