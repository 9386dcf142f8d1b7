package alert

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"unsafe"
)

// cloneViaJSON is the alert a's JSON line decodes to: what clone returns.
func cloneViaJSON(a *Alert) (*Alert, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	c := new(Alert)
	if err := json.Unmarshal(b, c); err != nil {
		return nil, err
	}
	return c, nil
}

// differ returns where x and y differ: values (floats by their bits, so -0
// is not 0), and nil against empty slices, maps and pointers.
func differ(path string, x, y reflect.Value) string {
	switch x.Kind() {
	case reflect.Float32, reflect.Float64:
		if math.Float64bits(x.Float()) != math.Float64bits(y.Float()) {
			return fmt.Sprintf("%s: %v (bits %x), want %v (bits %x)", path, x.Float(), math.Float64bits(x.Float()), y.Float(), math.Float64bits(y.Float()))
		}
	case reflect.Pointer:
		if x.IsNil() != y.IsNil() {
			return fmt.Sprintf("%s: nil %v, want nil %v", path, x.IsNil(), y.IsNil())
		}
		if !x.IsNil() {
			return differ(path, x.Elem(), y.Elem())
		}
	case reflect.Struct:
		for i := 0; i < x.NumField(); i++ {
			if d := differ(path+"."+x.Type().Field(i).Name, x.Field(i), y.Field(i)); d != "" {
				return d
			}
		}
	case reflect.Slice:
		if x.IsNil() != y.IsNil() || x.Len() != y.Len() {
			return fmt.Sprintf("%s: nil %v len %d, want nil %v len %d", path, x.IsNil(), x.Len(), y.IsNil(), y.Len())
		}
		for i := 0; i < x.Len(); i++ {
			if d := differ(fmt.Sprintf("%s[%d]", path, i), x.Index(i), y.Index(i)); d != "" {
				return d
			}
		}
	case reflect.Map:
		if x.IsNil() != y.IsNil() || x.Len() != y.Len() {
			return fmt.Sprintf("%s: nil %v len %d, want nil %v len %d", path, x.IsNil(), x.Len(), y.IsNil(), y.Len())
		}
		for _, k := range x.MapKeys() {
			yv := y.MapIndex(k)
			if !yv.IsValid() {
				return fmt.Sprintf("%s: key %q not wanted", path, k)
			}
			if d := differ(fmt.Sprintf("%s[%q]", path, k), x.MapIndex(k), yv); d != "" {
				return d
			}
		}
	default:
		if !reflect.DeepEqual(x.Interface(), y.Interface()) {
			return fmt.Sprintf("%s: %#v, want %#v", path, x.Interface(), y.Interface())
		}
	}
	return ""
}

// shared returns where the copy c shares memory with the original a:
// a string's bytes, a slice's array, a map or a pointer.
func shared(path string, a, c reflect.Value) string {
	switch a.Kind() {
	case reflect.String:
		if a.Len() > 0 && c.Len() > 0 && unsafe.StringData(a.String()) == unsafe.StringData(c.String()) {
			return path
		}
	case reflect.Pointer:
		if a.IsNil() || c.IsNil() {
			return ""
		}
		if a.Pointer() == c.Pointer() {
			return path
		}
		return shared(path, a.Elem(), c.Elem())
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if p := shared(path+"."+a.Type().Field(i).Name, a.Field(i), c.Field(i)); p != "" {
				return p
			}
		}
	case reflect.Slice:
		if a.Cap() > 0 && c.Cap() > 0 && a.Pointer() == c.Pointer() {
			return path
		}
		for i := 0; i < min(a.Len(), c.Len()); i++ {
			if p := shared(path+"[]", a.Index(i), c.Index(i)); p != "" {
				return p
			}
		}
	case reflect.Map:
		if !a.IsNil() && !c.IsNil() && a.Pointer() == c.Pointer() {
			return path
		}
		for _, k := range a.MapKeys() {
			if cv := c.MapIndex(k); cv.IsValid() {
				if p := shared(path+"[]", a.MapIndex(k), cv); p != "" {
					return p
				}
			}
		}
		for _, k := range c.MapKeys() {
			for _, ak := range a.MapKeys() {
				if p := shared(path+"{key}", ak, k); p != "" {
					return p
				}
			}
		}
	}
	return ""
}

// floats returns every float reachable from v that can be set.
func floats(v reflect.Value) []reflect.Value {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return []reflect.Value{v}
	case reflect.Pointer:
		if !v.IsNil() {
			return floats(v.Elem())
		}
	case reflect.Struct:
		var out []reflect.Value
		for i := 0; i < v.NumField(); i++ {
			if v.Field(i).CanSet() {
				out = append(out, floats(v.Field(i))...)
			}
		}
		return out
	}
	return nil
}

// TestCloneEveryField checks clone against the alert's JSON line decoded,
// with every field set (recursively, by reflection) to varied and hostile
// values, and that the copy shares no memory with the original: a field
// added to the schema and not to clone fails here.
func TestCloneEveryField(t *testing.T) {
	for seed := range uint64(2000) {
		r := rand.New(rand.NewPCG(seed, 11))
		f := &filler{t: t, r: r, full: seed%2 == 0}
		a := new(Alert)
		f.fill(reflect.ValueOf(a).Elem(), "Alert")
		if seed%3 == 0 {
			// Omitted zeros, negative zeros and a NaN or infinity.
			for _, x := range floats(reflect.ValueOf(a).Elem()) {
				switch r.IntN(5) {
				case 0:
					x.SetFloat(0)
				case 1:
					x.SetFloat(math.Copysign(0, -1))
				}
			}
			if fs := floats(reflect.ValueOf(a).Elem()); seed%9 == 0 && len(fs) > 0 {
				fs[r.IntN(len(fs))].SetFloat([]float64{math.NaN(), math.Inf(1), math.Inf(-1)}[r.IntN(3)])
			}
		}
		want, werr := cloneViaJSON(a)
		got, gerr := clone(a)
		if werr != nil || gerr != nil {
			if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
				t.Fatalf("seed %d: clone error %v, want %v", seed, gerr, werr)
			}
			continue
		}
		if d := differ("Alert", reflect.ValueOf(got), reflect.ValueOf(want)); d != "" {
			t.Fatalf("seed %d: clone differs from the decoded JSON line (a field added to the schema must be added to clone in alert/sink.go): %s", seed, d)
		}
		if p := shared("Alert", reflect.ValueOf(a), reflect.ValueOf(got)); p != "" {
			t.Fatalf("seed %d: the copy shares %s with the original", seed, p)
		}
	}
}

func TestCloneCases(t *testing.T) {
	for _, tc := range append(emptyAlerts(), []alertCase{
		{"negative zeros", &Alert{Threshold: math.Copysign(0, -1), Reason: &Reason{Observed: math.Copysign(0, -1), Ratio: math.Copysign(0, -1), Sigma: math.Copysign(0, -1), BaselineMean: ptr(math.Copysign(0, -1))}}},
		{"colliding keys", &Alert{Group: map[string]string{"\xff": "ff", "\xfe": "fe", "\ufffd": "valid", "a\xc3": "a1", "a\ufffd": "a2"}}},
		{"invalid UTF-8", &Alert{ID: "\xed\xa0\x80", Sample: Sample{UserNames: []string{"\xe2\x80", "ok"}}, Identity: &Identity{Subject: "CN=\xff"}}},
		{"NaN", &Alert{Reason: &Reason{BaselineSpread: ptr(math.NaN())}}},
		{"infinite", &Alert{Classification: &Classification{MeanAttemptsPerUser: math.Inf(1)}}},
		{"test alert", testAlert("inc", 2, "bob\x00")},
	}...) {
		t.Run(tc.name, func(t *testing.T) {
			want, werr := cloneViaJSON(tc.a)
			got, gerr := clone(tc.a)
			if werr != nil || gerr != nil {
				if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
					t.Fatalf("clone error %v, want %v", gerr, werr)
				}
				return
			}
			if d := differ("Alert", reflect.ValueOf(got), reflect.ValueOf(want)); d != "" {
				t.Fatal(d)
			}
		})
	}
}

func BenchmarkClone(b *testing.B) {
	a := benchAlert()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := clone(a); err != nil {
			b.Fatal(err)
		}
	}
}
