// Package yamlnum finds numbers with a fraction or an exponent (YAML
// !!float) written where an integer is expected. gopkg.in/yaml.v3 decodes
// them into integer fields by truncation, so `threshold: 2.5` would
// silently become 2.
package yamlnum

import (
	"fmt"
	"reflect"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spraywatch/spraywatch/internal/yamlerr"
)

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
)

// CheckInts walks n alongside the type t it is to be decoded into and
// reports each !!float value bound for an integer field. The error is a
// *yaml.TypeError with one entry per value, in the decoder's form:
//
//	line 6: cannot unmarshal !!float `2.5` into int (baseline: floor expects an integer)
//
// Keys t does not have and values of types with their own UnmarshalYAML
// are left to the decoder.
func CheckInts(n *yaml.Node, t reflect.Type) error {
	var errs []string
	for _, v := range yamlerr.Walk(n, t) {
		if v.Type == durationType || v.Type.Implements(unmarshalerType) || reflect.PointerTo(v.Type).Implements(unmarshalerType) {
			continue
		}
		switch v.Type.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			if v.Node.Kind == yaml.ScalarNode && v.Node.ShortTag() == "!!float" {
				errs = append(errs, fmt.Sprintf("line %d: cannot unmarshal !!float `%s` into %s (%s expects an integer)", v.Node.Line, v.Node.Value, v.Type.Kind(), v.Path))
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &yaml.TypeError{Errors: errs}
}
