package detect

import (
	"slices"
	"strings"
	"testing"
	"unsafe"

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
		e.rules[0].eachGroup(func(g *group) {
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

// TestGroupKeyOwned checks that a group keyed by the identity alone keeps
// a joined event's identity as its key, and copies the identity of an
// event given to AddEvent (which may be part of a bigger string), on one
// lane and on several.
func TestGroupKeyOwned(t *testing.T) {
	yml := "rules:\n  - {id: a, type: count, group_by: [spraywatch.identity], window: 1m, threshold: 100}\n" +
		"  - {id: b, type: count, group_by: [spraywatch.identity], window: 1m, threshold: 100}\n"
	rs, err := rules.Parse("t.yml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	for _, lanes := range []int{1, 2} {
		for _, joined := range []bool{false, true} {
			e, err := NewEngine(Config{Rules: rs, Sink: &captureSink{}, Lanes: lanes})
			if err != nil {
				t.Fatal(err)
			}
			all := "sha1:ab|rest of the values"
			x := &event.Event{Time: 1}
			x.Values[event.Identity] = all[:7]
			x.Values[event.Outcome] = event.OutcomeFailure
			if joined {
				e.evaluateJoined(x)
			} else {
				e.evaluate(x)
			}
			e.drain()
			for _, r := range e.rules {
				n := 0
				r.eachGroup(func(g *group) {
					n++
					if g.key != "sha1:ab" {
						t.Errorf("lanes %d joined %v: key %q", lanes, joined, g.key)
					}
					if kept := unsafe.StringData(g.key) == unsafe.StringData(all); kept != joined {
						t.Errorf("lanes %d joined %v: rule %s keeps the event's string %v", lanes, joined, r.rule.ID, kept)
					}
				})
				if n != 1 {
					t.Errorf("lanes %d joined %v: rule %s has %d groups, want 1", lanes, joined, r.rule.ID, n)
				}
			}
		}
	}
}
