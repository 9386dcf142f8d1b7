package yamlerr_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spraywatch/spraywatch/internal/yamlerr"
	"github.com/spraywatch/spraywatch/internal/yamlnum"
)

func TestMessages(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&yaml.TypeError{Errors: []string{"line 3: field within not found in type rules.plain"}}, `3 unknown key "within"`},
		{&yaml.TypeError{Errors: []string{"line 4: cannot unmarshal !!str `many` into int"}}, "4 expected an integer, not `many`"},
		{&yaml.TypeError{Errors: []string{"line 4: cannot unmarshal !!str `10` into int"}}, `4 expected an integer, not the string "10" (quoted: write it without the quotes)`},
		{&yaml.TypeError{Errors: []string{"line 4: cannot unmarshal !!str `0.5` into float64"}}, `4 expected a number, not the string "0.5" (quoted: write it without the quotes)`},
		{&yaml.TypeError{Errors: []string{"line 4: cannot unmarshal !!str `true` into bool"}}, `4 expected true or false, not the string "true" (quoted: write it without the quotes)`},
		{&yaml.TypeError{Errors: []string{"line 4: cannot unmarshal !!str `1` into bool"}}, "4 expected true or false, not `1`"},
		{&yaml.TypeError{Errors: []string{"line 4: cannot unmarshal !!str `10x` into int"}}, "4 expected an integer, not `10x`"},
		// Quotes are not all that makes these strings: unquoted, YAML
		// reads them as strings still.
		{&yaml.TypeError{Errors: []string{"line 4: cannot unmarshal !!str `inf` into float64"}}, "4 expected a number, not `inf`"},
		{&yaml.TypeError{Errors: []string{"line 4: cannot unmarshal !!str `NaN` into float64"}}, "4 expected a number, not `NaN`"},
		{&yaml.TypeError{Errors: []string{"line 4: cannot unmarshal !!str `0x1p-2` into float64"}}, "4 expected a number, not `0x1p-2`"},
		{&yaml.TypeError{Errors: []string{"line 4: cannot unmarshal !!str `.inf` into float64"}}, `4 expected a number, not the string ".inf" (quoted: write it without the quotes)`},
		{&yaml.TypeError{Errors: []string{"line 4: cannot unmarshal !!str `0x10` into int"}}, `4 expected an integer, not the string "0x10" (quoted: write it without the quotes)`},
		{&yaml.TypeError{Errors: []string{"line 4: cannot unmarshal !!float `2.5` into int (threshold expects an integer)"}}, "4 threshold: expected an integer, not `2.5`"},
		{&yaml.TypeError{Errors: []string{"line 5: cannot unmarshal !!map into []string"}}, "5 expected a list of strings, not a mapping"},
		{&yaml.TypeError{Errors: []string{"line 6: cannot unmarshal !!seq into rules.BaselineSpec"}}, "6 expected a mapping, not a list"},
		{&yaml.TypeError{Errors: []string{"line 7: cannot unmarshal !!str `x` into chan int"}}, "7 cannot unmarshal !!str `x` into chan int"},
		{&yaml.TypeError{Errors: []string{"line 8: cannot unmarshal !!str `soon` into time.Duration"}}, "8 expected a duration such as 90s, 10m or 12h, not `soon`"},
		{&yaml.TypeError{Errors: []string{"line 8: cannot unmarshal !!int `300` into time.Duration"}}, "8 expected a duration such as 90s, 10m or 12h, not `300` (a number needs a unit, as in 300s)"},
		{&yaml.TypeError{Errors: []string{"line 2: cannot unmarshal !!seq into []time.Duration"}}, "2 expected a list of durations such as 90s, 10m or 12h, not a list"},
		{&yaml.TypeError{Errors: []string{"line 1: cannot unmarshal !!seq into struct { Outputs []alert.Config \"yaml:\\\"outputs\\\"\" }"}}, "1 expected a mapping, not a list"},
		{&yaml.TypeError{Errors: []string{"line 1: field bogus not found in type struct { A int }"}}, `1 unknown key "bogus"`},
		{errors.New("yaml: line 2: did not find expected key"), "2 did not find expected key"},
		{errors.New("line 9: expected a duration such as 10m"), "9 expected a duration such as 10m"},
	}
	for _, tt := range tests {
		ms := yamlerr.Messages(tt.err)
		if len(ms) != 1 {
			t.Fatalf("%v: %d messages", tt.err, len(ms))
		}
		if got := fmt.Sprintf("%d %s", ms[0].Line, ms[0]); got != tt.want {
			t.Errorf("%v: got %q, want %q", tt.err, got, tt.want)
		}
	}
}

type level struct {
	Floor int     `yaml:"floor"`
	Sigma float64 `yaml:"sigma"`
}

type common struct {
	Name string `yaml:"name"`
}

type custom string

func (c *custom) UnmarshalYAML(n *yaml.Node) error { *c = custom(n.Value); return nil }

type doc struct {
	Threshold int               `yaml:"threshold"`
	Wait      time.Duration     `yaml:"wait"`
	Waits     []time.Duration   `yaml:"waits"`
	Enabled   *bool             `yaml:"enabled"`
	Level     *level            `yaml:"level"`
	Levels    []level           `yaml:"levels"`
	Named     map[string]level  `yaml:"named"`
	Tags      []string          `yaml:"tags"`
	Headers   map[string]string `yaml:"headers"`
	Custom    custom            `yaml:"custom"`
	Untagged  string
	common    `yaml:",inline"`
	skipped   int
}

func TestExplain(t *testing.T) {
	const known = "(known: custom, enabled, headers, level, levels, name, named, tags, threshold, untagged, wait, waits)"
	tests := []struct {
		name, yml string
		want      []string
	}{
		{"no error", "threshold: 3\nwait: 10m\nname: x\nuntagged: y\n", nil},
		{"unknown top-level key", "threshold: 3\nthreshhold: 4\n", []string{`2 unknown key "threshhold" ` + known}},
		{"unknown nested key", "level:\n  flor: 2\n", []string{`2 level: unknown key "flor" (known: floor, sigma)`}},
		{"unknown key in a list", "levels:\n  - floor: 1\n  - flor: 2\n", []string{`3 levels[1]: unknown key "flor" (known: floor, sigma)`}},
		{"unknown key in a map", "named:\n  a: {floor: 1, sigmaa: 2}\n", []string{`2 named: a: unknown key "sigmaa" (known: floor, sigma)`}},
		{"wrong scalar", "threshold: many\n", []string{"1 threshold: expected an integer, not `many`"}},
		{"wrong bool", "enabled: maybe\n", []string{"1 enabled: expected true or false, not `maybe`"}},
		{"bad duration", "wait: 5 minutes\n", []string{"1 wait: expected a duration such as 90s, 10m or 12h, not `5 minutes`"}},
		{"long bad duration", "wait: five minutes or so\n", []string{"1 wait: expected a duration such as 90s, 10m or 12h, not `five minutes or so`"}},
		{"duration without a unit", "wait: 300\n", []string{"1 wait: expected a duration such as 90s, 10m or 12h, not `300` (a number needs a unit, as in 300s)"}},
		{"bad duration in a list", "waits: [1s, soon]\n", []string{"1 waits[1]: expected a duration such as 90s, 10m or 12h, not `soon`"}},
		{"list for a scalar", "threshold: [1]\n", []string{"1 threshold: expected an integer, not a list"}},
		{"mapping for a list", "tags: {a: b}\n", []string{"1 tags: expected a list of strings, not a mapping"}},
		{"list for a mapping", "level: [1]\n", []string{"1 level: expected a mapping, not a list"}},
		{"scalar for a mapping", "headers: x\n", []string{"1 headers: expected a mapping, not `x`"}},
		{"list in a list", "tags: [a, [b]]\n", []string{"1 tags[1]: expected a string, not a list"}},
		{"same value twice on a line", "levels: [{floor: x}, {floor: x}]\n", []string{
			"1 levels[0]: floor: expected an integer, not `x`",
			"1 levels[1]: floor: expected an integer, not `x`",
		}},
		{"fraction", "level:\n  floor: 2.5\n", []string{"2 level: floor: expected an integer, not `2.5`"}},
		{"duplicate key", "threshold: 1\nlevel: {floor: 1}\nthreshold: 2\n", []string{`3 mapping key "threshold" already defined at line 1`}},
		{"duplicate key in a map", "named:\n  a: {}\n  a: {}\n", []string{`3 named: mapping key "a" already defined at line 2`}},
		{"alias", "base: &b many\nthreshold: *b\n", []string{`1 unknown key "base" ` + known, "1 threshold: expected an integer, not `many`"}},
		{"merge key", "base: &b {flor: 1}\nlevel:\n  <<: *b\n", []string{`1 unknown key "base" ` + known, `1 level: unknown key "flor" (known: floor, sigma)`}},
		{"custom type is its own", "custom: [1]\n", nil},
		{"several", "threshold: x\nlevel:\n  floor: 1.5\n  bogus: 1\nwait: soon\n", []string{
			"1 threshold: expected an integer, not `x`",
			"3 level: floor: expected an integer, not `1.5`",
			`4 level: unknown key "bogus" (known: floor, sigma)`,
			"5 wait: expected a duration such as 90s, 10m or 12h, not `soon`",
		}},
		{"top level list", "- 1\n", []string{"1 expected a mapping, not a list"}},
	}
	typ := reflect.TypeFor[doc]()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var root yaml.Node
			if err := yaml.Unmarshal([]byte(tt.yml), &root); err != nil {
				t.Fatal(err)
			}
			dec := yaml.NewDecoder(bytes.NewReader([]byte(tt.yml)))
			dec.KnownFields(true)
			var d doc
			err := dec.Decode(&d)
			var got []string
			for _, m := range yamlerr.Explain(&root, typ, err, yamlnum.CheckInts(&root, typ)) {
				got = append(got, fmt.Sprintf("%d %s", m.Line, m))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestFileError(t *testing.T) {
	ms := []yamlerr.Message{{Line: 2, Key: "join: join_window", Msg: "expected a duration"}, {Msg: "no line"}}
	want := "c.yml:2: join: join_window: expected a duration\nc.yml: no line"
	if err := yamlerr.FileError("c.yml", ms); err == nil || err.Error() != want {
		t.Errorf("FileError: %v, want %q", err, want)
	}
	if err := yamlerr.FileError("", ms); err == nil || err.Error() != "line 2: join: join_window: expected a duration\nno line" {
		t.Errorf("FileError without a name: %v", err)
	}
	if err := yamlerr.FileError("c.yml", nil); err != nil {
		t.Errorf("FileError of no messages: %v", err)
	}
}

func TestKeys(t *testing.T) {
	got := strings.Join(yamlerr.Keys(reflect.TypeFor[*doc]()), " ")
	if want := "custom enabled headers level levels name named tags threshold untagged wait waits"; got != want {
		t.Errorf("Keys = %s, want %s", got, want)
	}
	for _, k := range []string{"name", "untagged", "threshold"} {
		if _, ok := yamlerr.Field(reflect.TypeFor[doc](), k); !ok {
			t.Errorf("Field %s: not found", k)
		}
	}
	for _, k := range []string{"skipped", "common", "Threshold"} {
		if _, ok := yamlerr.Field(reflect.TypeFor[doc](), k); ok {
			t.Errorf("Field %s: found", k)
		}
	}
}

func TestDescribe(t *testing.T) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte("a: x\nb: [1]\nc: {d: 1}\ne:\nf: &g y\nh: *g\n"), &root); err != nil {
		t.Fatal(err)
	}
	var got []string
	kv := root.Content[0].Content
	for i := 1; i < len(kv); i += 2 {
		got = append(got, yamlerr.Describe(kv[i]))
	}
	if want := "`x`|a list|a mapping|an empty value|`y`|`y`"; strings.Join(got, "|") != want {
		t.Errorf("Describe: %s, want %s", strings.Join(got, "|"), want)
	}
	for _, tt := range []struct{ value, want string }{
		{"abc", "`abc`"},
		{strings.Repeat("a", 64), "`" + strings.Repeat("a", 64) + "`"},
		{strings.Repeat("a", 65), "`" + strings.Repeat("a", 61) + "...`"},
		{strings.Repeat("é", 40), "`" + strings.Repeat("é", 30) + "...`"}, // cut inside a character: dropped
		{"a\nb", `"a\nb"`},
		{"\x1b[31mred", `"\x1b[31mred"`},
		{"a`b", "\"a`b\""},
		{strings.Repeat("\x00", 100), `"` + strings.Repeat(`\x00`, 61) + `"...`},
	} {
		if got := yamlerr.Describe(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: tt.value}); got != tt.want {
			t.Errorf("Describe(%q) = %s, want %s", tt.value, got, tt.want)
		}
	}
}
