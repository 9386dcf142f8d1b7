package alert

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// hostileStrings are values an attacker puts in usernames, user agents,
// request ids and certificate names, and the corners of encoding/json's
// string escaping.
var hostileStrings = []string{
	"alice",
	"a\nb\r\nc",
	"\x1b[31mred\x1b[0m\x1b]0;title\x07",
	`"quoted" and 'single'`,
	`back\slash\`,
	"<script>alert(1)</script>&amp;",
	"line\u2028sep\u2029end",
	"bad\xffutf8\xc3",
	"\xc3(",
	"nul\x00byte",
	"\x7f\x01\x1f\b\f\r\t\v",
	"ünïcødé 日本語 🎉",
	"\ufffd literal replacement",
	"\xed\xa0\x80 surrogate half",
	"\xf4\x90\x80\x80 beyond U+10FFFF",
	"\xe2\x80 truncated",
	`","forged":"x`,
	"}\n{\"schema\":\"spraywatch.alert.v1\"}",
	"CN=client,O=Org\\, Inc.",
	"\\u2028",
}

var fillInts = []int64{1, -1, 7, 42, 1<<53 + 1, math.MaxInt64, math.MinInt64, 1000000}

var fillFloats = []float64{
	0.5, 1, -1, 10, 1e21, 9.999999999999999e20, 1e-6, 9.99e-7, 1e-7, 123456789.125,
	1.0 / 3, 5e-324, -2.2250738585072014e-308, math.MaxFloat64, 1e20, 12345678901234567890, 0.1 + 0.2, -1e-300,
}

// filler sets every exported field reachable from a value, recursively.
type filler struct {
	t    *testing.T
	r    *rand.Rand
	full bool // every value non-zero, every slice and map non-empty
}

func (f *filler) fill(v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(hostileStrings[f.r.IntN(len(hostileStrings))])
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := fillInts[f.r.IntN(len(fillInts))]
		for v.OverflowInt(n) {
			n >>= 8
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(1 + f.r.IntN(200)))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(fillFloats[f.r.IntN(len(fillFloats))])
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		f.fill(v.Elem(), path)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if !v.Field(i).CanSet() {
				continue
			}
			if !f.full && f.r.IntN(4) == 0 {
				continue // left zero
			}
			f.fill(v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	case reflect.Slice:
		n := f.r.IntN(4)
		if f.full {
			n++
		}
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := 0; i < n; i++ {
			f.fill(v.Index(i), path+"[]")
		}
	case reflect.Map:
		n := f.r.IntN(6)
		if f.full {
			n++
		}
		v.Set(reflect.MakeMap(v.Type()))
		for i := 0; i < n; i++ {
			k := reflect.New(v.Type().Key()).Elem()
			f.fill(k, path+"{key}")
			e := reflect.New(v.Type().Elem()).Elem()
			f.fill(e, path+"{}")
			v.SetMapIndex(k, e)
		}
	default:
		f.t.Fatalf("%s: the filler does not know %s; extend it (and AppendJSON)", path, v.Type())
	}
}

// checkSame fails unless AppendJSON writes what json.Marshal does, plus a
// newline, and appends to what b held.
func checkSame(t *testing.T, a *Alert) {
	t.Helper()
	want, werr := json.Marshal(a)
	prefix := []byte("prefix")
	got, gerr := a.AppendJSON(prefix)
	if werr != nil || gerr != nil {
		if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
			t.Fatalf("errors differ: AppendJSON %v, json.Marshal %v\nalert %#v", gerr, werr, a)
		}
		if string(got) != "prefix" {
			t.Fatalf("AppendJSON failed but appended %q", got[len(prefix):])
		}
		return
	}
	want = append(append([]byte("prefix"), want...), '\n')
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		from := max(0, i-40)
		t.Fatalf("AppendJSON differs from json.Marshal at byte %d (a field added to the schema must be added to alert/json.go):\n got: %q\nwant: %q\nwhole line: %q",
			i, got[from:min(len(got), i+80)], want[from:min(len(want), i+80)], want)
	}
}

// TestAppendJSONEveryField sets every field of the schema, recursively and
// by reflection, to varied and hostile values: a field added to Alert (or
// to a type it holds) and not to AppendJSON fails here.
func TestAppendJSONEveryField(t *testing.T) {
	for seed := range uint64(2000) {
		f := &filler{t: t, r: rand.New(rand.NewPCG(seed, 9)), full: seed%2 == 0}
		a := new(Alert)
		f.fill(reflect.ValueOf(a).Elem(), "Alert")
		checkSame(t, a)
		if f.full {
			// Every field is set: the line has as many keys as fields.
			var m map[string]any
			line, _ := a.AppendJSON(nil)
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatalf("line is not JSON: %v\n%s", err, line)
			}
			if n := reflect.TypeOf(*a).NumField(); len(m) != n {
				t.Fatalf("%d keys in the line, %d fields in Alert", len(m), n)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestAppendJSONCases(t *testing.T) {
	for _, tc := range append(emptyAlerts(), []alertCase{
		{"identity last field only", &Alert{Identity: &Identity{Serial: "01"}}},
		{"identity middle field only", &Alert{Identity: &Identity{SHA1: "ab"}}},
		{"zero baselines", &Alert{Reason: &Reason{BaselineMean: ptr(0.0), BaselineSpread: ptr(math.Copysign(0, -1))}}},
		{"negative zero", &Alert{Threshold: math.Copysign(0, -1), Reason: &Reason{Ratio: math.Copysign(0, -1), Sigma: math.Copysign(0, -1)}}},
		{"exponents", &Alert{Threshold: 1e21, Observed: 1e-7, Reason: &Reason{Threshold: 1e-6, Observed: 9.99e-7, Ratio: 1e-10, Sigma: -1e100}}},
		{"NaN", &Alert{Observed: math.NaN()}},
		{"infinite", &Alert{Reason: &Reason{Sigma: math.Inf(1)}}},
		{"infinite baseline", &Alert{Reason: &Reason{BaselineMean: ptr(math.Inf(-1))}}},
		{"NaN mean", &Alert{Classification: &Classification{MeanAttemptsPerUser: math.NaN()}}},
		{"ints", &Alert{Sequence: math.MinInt64, Count: Count{Events: math.MaxInt64, Failures: -1}, Sample: Sample{UserNamesTruncated: -3, SourceIPsTruncated: 1}}},
		{"map keys", &Alert{Group: map[string]string{"b": "1", "a": "2", "\xff": "3", "\ufffd": "4", "<": "5", "A": "6", "": "7", "aa": "8", "a\x00": "9"}}},
		{"many map keys", &Alert{Group: map[string]string{"k1": "", "k2": "", "k3": "", "k4": "", "k5": "", "k6": "", "k7": "", "k8": "", "k9": "", "k10": "", "k0": ""}}},
		{"test alert", testAlert("inc", 3, "mallory\n")},
	}...) {
		t.Run(tc.name, func(t *testing.T) { checkSame(t, tc.a) })
	}
	for i := range 256 {
		s := string([]byte{byte(i)})
		checkSame(t, &Alert{ID: s, Group: map[string]string{s: s}})
	}
	for _, r := range []rune{0x7ff, 0x800, 0xfffd, 0xffff, 0x10000, 0x10ffff, 0x2027, 0x2028, 0x2029, 0x202a} {
		checkSame(t, &Alert{ID: "x" + string(r) + "y"})
	}
}

func TestAppendJSONDoesNotAllocate(t *testing.T) {
	a := benchAlert()
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { buf, _ = a.AppendJSON(buf[:0]) }); n != 0 {
		t.Errorf("AppendJSON allocates %v times per alert", n)
	}
}

// FuzzAppendJSON compares AppendJSON with json.Marshal, and clone with the
// JSON line decoded, on fuzzed strings, ints and floats.
func FuzzAppendJSON(f *testing.F) {
	for i, s := range hostileStrings {
		f.Add(s, hostileStrings[(i+1)%len(hostileStrings)], int64(i)-3, fillFloats[i%len(fillFloats)])
	}
	f.Add("", "", int64(0), 0.0)
	f.Fuzz(func(t *testing.T, s1, s2 string, n int64, x float64) {
		a := testAlert(s1, int(n), s2)
		a.ID = s2
		a.Group[s1] = s2
		a.Group[s2] = s1
		a.Identity.Issuer = s1
		a.Description = s2
		a.Account = s1
		a.Observed = x
		a.Sample.RequestIDs = append(a.Sample.RequestIDs, s1, s2)
		a.Reason = &Reason{Type: s1, Ratio: x, MinEvents: int(n), BaselineMean: &x}
		a.Classification = &Classification{Kind: s2, Users: int(n), MeanAttemptsPerUser: x / 3}
		checkSame(t, a)
		want, werr := cloneViaJSON(a)
		got, gerr := clone(a)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("clone error %v, want %v", gerr, werr)
		}
		if werr == nil {
			if d := differ("Alert", reflect.ValueOf(got), reflect.ValueOf(want)); d != "" {
				t.Fatalf("clone differs from the decoded JSON line: %s", d)
			}
		}
	})
}

// benchAlert is an alert as the default rules write them.
func benchAlert() *Alert {
	a := testAlert("0f3c9a2b", 2, "alice")
	a.Sample.UserNames = []string{"alice", "bob", "carol", "dave", "eve", "mallory", "oscar", "peggy", "trent", "victor"}
	a.Sample.UserNamesTruncated = 31
	a.Sample.RequestIDs = []string{"5f0c6e0d8b1a4c2e9f7d3a1b", "7a9e2c4b6d8f0a1c3e5b7d9f", "0b1c2d3e4f5a6b7c8d9e0f1a"}
	a.Reason = &Reason{Type: "threshold", Measure: "distinct user.name", Threshold: 10, Observed: 41, MinEvents: 20, Events: 97}
	a.Classification = &Classification{Kind: ClassSpraying, Users: 41, Attempts: 97, MaxAttemptsPerUser: 3, MeanAttemptsPerUser: 97.0 / 41, Basis: "failures in window"}
	return a
}

func BenchmarkAppendJSON(b *testing.B) {
	a := benchAlert()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = a.AppendJSON(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}
