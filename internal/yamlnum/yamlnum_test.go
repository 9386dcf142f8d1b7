package yamlnum

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

type level struct {
	Floor int     `yaml:"floor"`
	Sigma float64 `yaml:"sigma"`
}

type inner struct {
	Keep uint64 `yaml:"keep"`
}

type text string

func (t *text) UnmarshalYAML(n *yaml.Node) error { *t = text(n.Value); return nil }

type doc struct {
	Threshold int              `yaml:"threshold"`
	Ratio     float64          `yaml:"ratio"`
	Wait      time.Duration    `yaml:"wait"`
	Level     *level           `yaml:"level"`
	Levels    []level          `yaml:"levels"`
	Counts    map[string]int   `yaml:"counts"`
	Sizes     []int64          `yaml:"sizes"`
	Custom    text             `yaml:"custom"`
	Any       map[string]any   `yaml:"any"`
	Named     map[string]level `yaml:"named"`
	Inline    inner            `yaml:",inline"`
}

func TestCheckInts(t *testing.T) {
	tests := []struct {
		name, yml string
		want      []string
	}{
		{"integers", "threshold: 3\nlevel: {floor: 2}\nsizes: [1, 2]\ncounts: {a: 1}\nkeep: 7\n", nil},
		{"floats in float fields", "ratio: 0.5\nlevel: {sigma: 2.5}\n", nil},
		{"other types are the decoder's", "threshold: many\nwait: 1.5\ncustom: 2.5\nany: {x: 1.5}\nunknown: 2.5\n", nil},
		{"fraction", "threshold: 2.5\n", []string{"line 1: cannot unmarshal !!float `2.5` into int (threshold expects an integer)"}},
		{"whole float", "threshold: 2.0\n", []string{"line 1: cannot unmarshal !!float `2.0` into int (threshold expects an integer)"}},
		{"exponent", "threshold: 1e3\n", []string{"line 1: cannot unmarshal !!float `1e3` into int (threshold expects an integer)"}},
		{"infinity", "threshold: .inf\n", []string{"line 1: cannot unmarshal !!float `.inf` into int (threshold expects an integer)"}},
		{"tagged", "threshold: !!float 2\n", []string{"line 1: cannot unmarshal !!float `2` into int (threshold expects an integer)"}},
		{"quoted is a string", "threshold: \"2.5\"\n", nil},
		{"nested", "level:\n  floor: 1.5\n", []string{"line 2: cannot unmarshal !!float `1.5` into int (level: floor expects an integer)"}},
		{"in a list", "levels:\n  - floor: 1\n  - floor: 0.5\n", []string{"line 3: cannot unmarshal !!float `0.5` into int (levels[1]: floor expects an integer)"}},
		{"list of ints", "sizes: [1, 2.5]\n", []string{"line 1: cannot unmarshal !!float `2.5` into int64 (sizes[1] expects an integer)"}},
		{"map of ints", "counts:\n  a: 1.5\n", []string{"line 2: cannot unmarshal !!float `1.5` into int (counts: a expects an integer)"}},
		{"map of structs", "named:\n  x: {floor: 1.5}\n", []string{"line 2: cannot unmarshal !!float `1.5` into int (named: x: floor expects an integer)"}},
		{"inline", "keep: 2.5\n", []string{"line 1: cannot unmarshal !!float `2.5` into uint64 (keep expects an integer)"}},
		{"alias", "base: &f 2.5\nthreshold: *f\n", []string{"line 1: cannot unmarshal !!float `2.5` into int (threshold expects an integer)"}},
		{"merge key", "base: &b {floor: 2.5}\nlevel:\n  <<: *b\n", []string{"line 1: cannot unmarshal !!float `2.5` into int (level: floor expects an integer)"}},
		{"several", "threshold: 1.5\nlevel: {floor: 2.5}\n", []string{"line 1: cannot unmarshal !!float `1.5` into int (threshold expects an integer)", "line 2: cannot unmarshal !!float `2.5` into int (level: floor expects an integer)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(tt.yml), &n); err != nil {
				t.Fatal(err)
			}
			err := CheckInts(&n, reflect.TypeFor[doc]())
			var got []string
			var te *yaml.TypeError
			switch {
			case errors.As(err, &te):
				got = te.Errors
			case err != nil:
				t.Fatalf("error %v is not a *yaml.TypeError", err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
