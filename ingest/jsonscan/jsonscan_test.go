package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spraywatch/spraywatch/ingest"
)

// collect scans line and renders the members as key=kind:value lines.
func collect(s *Scanner, line string) (string, error) {
	var b strings.Builder
	err := s.Scan([]byte(line), func(key, val []byte, kind Kind) error {
		fmt.Fprintf(&b, "%s=%s:%q\n", key, kind, val)
		return nil
	})
	return b.String(), err
}

func TestScan(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"flat", `{"a":"x","b":1,"c":true,"d":false,"e":null}`,
			"a=string:\"x\"\nb=number:\"1\"\nc=bool:\"true\"\nd=bool:\"false\"\ne=null:\"null\"\n"},
		{"empty", `{}`, ""},
		{"whitespace", " \t{ \"a\" :\r\n \"x\" , \"b\" : -1.5e+3 }\r\n ", "a=string:\"x\"\nb=number:\"-1.5e+3\"\n"},
		{"nested", `{"log":{"level":"warning","origin":{"file":"auth.py","line":12}},"msg":"m"}`,
			"log.level=string:\"warning\"\nlog.origin.file=string:\"auth.py\"\nlog.origin.line=number:\"12\"\nmsg=string:\"m\"\n"},
		{"empty nested", `{"a":{},"b":{"c":{}},"d":1}`, "d=number:\"1\"\n"},
		{"arrays skipped", `{"a":[1,"x",{"k":[true,null,{}]},[]],"b":[],"c":"y"}`, "c=string:\"y\"\n"},
		{"escapes", `{"u":"a\"b\\c\/d\b\f\n\r\t","k\u00e9y":"\u00e9\u20ac"}`,
			"u=string:\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\"\nkéy=string:\"é€\"\n"},
		{"surrogate pair", `{"s":"\ud83d\ude00"}`, "s=string:\"😀\"\n"},
		{"lone high surrogate", `{"s":"a\ud83dz"}`, "s=string:\"a\uFFFDz\"\n"},
		{"lone low surrogate", `{"s":"\ude00"}`, "s=string:\"\uFFFD\"\n"},
		{"high then non-low", `{"s":"\ud83d\u0041"}`, "s=string:\"\uFFFDA\"\n"},
		{"raw utf8", `{"user":"José 😀"}`, "user=string:\"José 😀\"\n"},
		{"invalid utf8 passed through", "{\"ua\":\"a\xff\xfeb\"}", "ua=string:\"a\\xff\\xfeb\"\n"},
		{"duplicate keys", `{"a":1,"a":2}`, "a=number:\"1\"\na=number:\"2\"\n"},
		// An empty key is an empty part of the path: a nested member
		// never passes for a top-level one.
		{"empty key prefix", `{"":{"request_id":"forged"},"request_id":"real"}`,
			".request_id=string:\"forged\"\nrequest_id=string:\"real\"\n"},
		{"empty keys", `{"":1,"a":{"":2,"":{"":3,"b":4}},"":{"":{"c":5}},"\u0064":{"\u0065":6}}`,
			"=number:\"1\"\na.=number:\"2\"\na..=number:\"3\"\na..b=number:\"4\"\n..c=number:\"5\"\nd.e=number:\"6\"\n"},
		{"empty key, escaped member", `{"":{"\u0061":1,"b":{"c":2}}}`, ".a=number:\"1\"\n.b.c=number:\"2\"\n"},
		{"numbers", `{"a":0,"b":-0,"c":0.5,"d":1E9,"e":12e-3}`,
			"a=number:\"0\"\nb=number:\"-0\"\nc=number:\"0.5\"\nd=number:\"1E9\"\ne=number:\"12e-3\"\n"},
	}
	var s Scanner
	for _, tt := range tests {
		got, err := collect(&s, tt.in)
		if err != nil {
			t.Errorf("%s: Scan(%q): %v", tt.name, tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: Scan(%q) =\n%s\nwant\n%s", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestScanErrors(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33)
	deepArray := `{"a":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + "}"
	tests := []struct {
		in     string
		column int
		msg    string
	}{
		{``, 1, "expected '{' to start a JSON object"},
		{`[1]`, 1, "expected '{' to start a JSON object"},
		{`{"a" 1}`, 6, "expected ':' after object key"},
		{`{a:1}`, 2, "expected '\"' to start an object key"},
		{`{"a":1,}`, 8, "expected '\"' to start an object key"},
		{`{"a":1 "b":2}`, 8, "expected ',' or '}' after object member"},
		{`{"a":1`, 7, "expected ',' or '}' after object member"},
		{`{"a":}`, 6, "expected a JSON value after ':'"},
		{`{"a":`, 6, "expected a value after ':'"},
		{`{"a":tru}`, 6, "expected true"},
		{`{"a":nul}`, 6, "expected null"},
		{`{"a":01}`, 7, "expected ',' or '}' after object member"},
		{`{"a":-}`, 7, "expected a digit in number"},
		{`{"a":1.}`, 8, "expected a digit after the decimal point"},
		{`{"a":1e}`, 8, "expected a digit in the exponent"},
		{`{"a":"x}`, 9, "expected '\"' to end the string"},
		{"{\"a\":\"x\ty\"}", 8, "expected no control characters in a string"},
		{`{"a":"\x"}`, 8, "expected one of \"\\/bfnrtu after '\\'"},
		{`{"a":"\u12"}`, 9, "expected four hex digits after \\u"},
		{`{"a":1} x`, 9, "expected the end of the line after the JSON object"},
		{`{"a":1}{}`, 8, "expected the end of the line after the JSON object"},
		{`{"a":[1 2]}`, 9, "expected ',' or ']' after array element"},
		{`{"a":[1,]}`, 9, "expected a JSON value"},
		{`{"a":[{"b" 1}]}`, 12, "expected ':' after object key"},
		{`{"a":[{1:1}]}`, 8, "expected '\"' to start an object key"},
		{`{"a":[{"b":1]]}`, 13, "expected ',' or '}' after object member"},
		{`{"a":["\q"]}`, 9, "expected one of \"\\/bfnrtu after '\\'"},
		{`{"a":[`, 7, "expected a JSON value"},
		{deep, 161, "expected objects and arrays nested at most 32 deep"},
		{deepArray, 37, "expected objects and arrays nested at most 32 deep"},
		{strings.Repeat("[", 1_000_000), 1, "expected '{' to start a JSON object"},
		{`{"a":` + strings.Repeat("[", 1_000_000), 37, "expected objects and arrays nested at most 32 deep"},
		{strings.Repeat(`{"a":`, 1_000_000), 161, "expected objects and arrays nested at most 32 deep"},
	}
	var s Scanner
	for _, tt := range tests {
		_, err := collect(&s, tt.in)
		var se *ingest.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Scan(%.40q) = %v, want a *ingest.SyntaxError", tt.in, err)
			continue
		}
		if se.Column != tt.column || se.Msg != tt.msg {
			t.Errorf("Scan(%.40q) = column %d %q, want column %d %q", tt.in, se.Column, se.Msg, tt.column, tt.msg)
		}
	}
}

func TestMaxDepth(t *testing.T) {
	in := `{"a":{"b":{"c":1}},"d":[[1]]}`
	for depth, ok := range map[int]bool{1: false, 2: false, 3: true, 4: true} {
		s := Scanner{MaxDepth: depth}
		_, err := collect(&s, in)
		if (err == nil) != ok {
			t.Errorf("MaxDepth %d: err = %v, want ok=%v", depth, err, ok)
		}
	}
}

func TestCallbackError(t *testing.T) {
	stop := errors.New("stop")
	var s Scanner
	var keys []string
	err := s.Scan([]byte(`{"a":1,"b":2,"c":3}`), func(key, val []byte, kind Kind) error {
		keys = append(keys, string(key))
		if string(key) == "b" {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("Scan returned %v, want the callback's error", err)
	}
	if strings.Join(keys, ",") != "a,b" {
		t.Errorf("callback saw %v, want [a b]", keys)
	}
}

// TestScratchReuse checks that a Scanner gives the same results when reused
// after lines of different shapes, including failed ones.
func TestScratchReuse(t *testing.T) {
	var s Scanner
	lines := []string{`{"x":{"y":"\u00e9"}}`, `{"x":{"y":`, `{"a":[{"b":1}]}`, `{"k":"v\n"}`}
	var want []string
	for _, l := range lines {
		got, err := collect(new(Scanner), l)
		want = append(want, fmt.Sprint(got, err))
	}
	for round := 0; round < 3; round++ {
		for i, l := range lines {
			got, err := collect(&s, l)
			if fmt.Sprint(got, err) != want[i] {
				t.Fatalf("round %d line %q: got %q, fresh scanner %q", round, l, fmt.Sprint(got, err), want[i])
			}
		}
	}
}

type counter struct {
	s     Scanner
	n     int
	bytes int
}

func (c *counter) member(key, val []byte, kind Kind) error {
	c.n++
	c.bytes += len(key) + len(val)
	return nil
}

func (c *counter) scan(line []byte) error { return c.s.Scan(line, c.member) }

var benchLine = []byte(`{"timestamp":"2026-12-04T09:00:01.123456Z","level":"warning","logger":"accounts.auth",` +
	`"event":"login_failed","request_id":"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a","username":"jos\u00e9.garc\u00eda",` +
	`"ip":"10.0.0.1","user_agent":"Mozilla/5.0 (X11; Linux x86_64) \"quoted\"","log":{"level":"warning"},"tags":["a","b"]}`)

func TestMethodValueNoAllocs(t *testing.T) {
	c := &counter{}
	if err := c.scan(benchLine); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { c.scan(benchLine) }); n != 0 {
		t.Errorf("Scan with a method value allocates %v times per line", n)
	}
}

func BenchmarkScan(b *testing.B) {
	c := &counter{}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchLine)))
	for b.Loop() {
		if err := c.scan(benchLine); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/line")
}

// BenchmarkEncodingJSON is the standard library's cost for the same line,
// for comparison.
func BenchmarkEncodingJSON(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchLine)))
	for b.Loop() {
		var m map[string]any
		if err := json.Unmarshal(benchLine, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// flatten renders encoding/json's view of an object the way Scan reports
// it: the members of a nested object (nested) are prefixed, even with an
// empty key.
func flatten(nested bool, prefix string, m map[string]any, out map[string]string) {
	for k, v := range m {
		if nested {
			k = prefix + "." + k
		}
		switch v := v.(type) {
		case map[string]any:
			flatten(true, k, v, out)
		case []any:
		case string:
			out[k] = "string:" + v
		case json.Number:
			out[k] = "number:" + string(v)
		case bool:
			out[k] = fmt.Sprintf("bool:%v", v)
		case nil:
			out[k] = "null:null"
		}
	}
}

func FuzzScan(f *testing.F) {
	for _, s := range []string{
		string(benchLine), `{}`, `{"a":{"b":[1,{"c":"d"}]}}`, `{"s":"\ud83d\ude00\ud83d"}`,
		`{"a":1e5,"b":-0.0}`, `{"a":"\u0000"}`, ` {"a" : "b" } `, `{"a":1}x`, `{"a":[}`, "{\"a\":\"\xff\"}",
		`{"a.b":1,"a":{"b":2}}`, `{"":{"request_id":"forged"},"request_id":"real"}`, `{"":{"":{"a":1}},"b":{"":2}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		s := Scanner{MaxDepth: 64}
		got := map[string]string{}
		dup := false
		err := s.Scan(line, func(key, val []byte, kind Kind) error {
			if _, ok := got[string(key)]; ok {
				dup = true
			}
			got[string(key)] = kind.String() + ":" + string(val)
			return nil
		})
		if err != nil {
			var se *ingest.SyntaxError
			if !errors.As(err, &se) || se.Column < 1 || se.Column > len(line)+1 {
				t.Fatalf("Scan(%q) error %v is not a SyntaxError within the line", line, err)
			}
		}
		checkOnly(t, line, got, err)
		if !utf8.Valid(line) {
			return
		}
		if err != nil && strings.Contains(err.Error(), "nested at most") {
			return
		}
		var m map[string]any
		jerr := errors.New("invalid JSON")
		if json.Valid(line) {
			d := json.NewDecoder(bytes.NewReader(line))
			d.UseNumber()
			if jerr = d.Decode(&m); jerr == nil && m == nil {
				jerr = errors.New("not an object")
			}
		}
		if (err == nil) != (jerr == nil) {
			t.Fatalf("Scan(%q) error %v, encoding/json error %v", line, err, jerr)
		}
		if err != nil || dup || ambiguousKeys(line) {
			return
		}
		want := map[string]string{}
		flatten(false, "", m, want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Scan(%q) =\n%v\nencoding/json:\n%v", line, got, want)
		}
	})
}

// ambiguousKeys reports whether a valid JSON object has keys that make the
// flattened view differ from encoding/json's map: a key repeated in one
// object or a key holding a dot.
func ambiguousKeys(line []byte) bool {
	d := json.NewDecoder(bytes.NewReader(line))
	type level struct {
		obj       bool
		keys      map[string]bool
		expectKey bool
	}
	var stack []*level
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.expectKey {
			if k, ok := tok.(string); ok {
				if top.keys[k] || strings.Contains(k, ".") {
					return true
				}
				top.keys[k] = true
				top.expectKey = false
				continue
			}
		}
		if top != nil && top.obj {
			top.expectKey = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &level{obj: true, keys: map[string]bool{}, expectKey: true})
		case json.Delim('['):
			stack = append(stack, &level{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].obj {
				stack[len(stack)-1].expectKey = true
			}
		}
	}
}

// TestPlainEnd checks the word-at-a-time search against a byte loop for
// every special byte at every offset, behind plain bytes of all kinds.
func TestPlainEnd(t *testing.T) {
	slow := func(b []byte, i int) int {
		for i < len(b) && plain[b[i]] {
			i++
		}
		return i
	}
	fills := []byte{'a', ' ', '!', '#', '[', ']', 0x7f, 0x80, 0xa0, 0xdf, 0xe0, 0xff, 0x21, 0x5b, 0x5d}
	specials := []byte{'"', '\\', 0x00, 0x01, 0x1f, '\n'}
	for _, fill := range fills {
		for _, sp := range specials {
			for n := 0; n <= 20; n++ {
				for pos := 0; pos <= n; pos++ {
					b := bytes.Repeat([]byte{fill}, n)
					if pos < n {
						b[pos] = sp
						// Special bytes after the first must not move it.
						for k := pos + 1; k < n; k += 3 {
							b[k] = specials[k%len(specials)]
						}
					}
					for start := 0; start <= pos && start < 3; start++ {
						if got, want := plainEnd(b, start), slow(b, start); got != want {
							t.Fatalf("plainEnd(%q, %d) = %d, want %d", b, start, got, want)
						}
					}
				}
			}
		}
	}
}

// onlyKeys is the set checkOnly scans for.
var onlyKeys = func() *Keys {
	k := &Keys{}
	for _, key := range []string{"a", "b.c", "s", "ip", "user_agent", ""} {
		k.Add(key)
	}
	return k
}()

// checkOnly scans line again with Only set and compares with the members
// and error of a full scan: the same error, and the same values for the
// keys in the set; other keys may be reported only as the full scan did.
func checkOnly(t *testing.T, line []byte, all map[string]string, allErr error) {
	t.Helper()
	s := Scanner{MaxDepth: 64, Only: onlyKeys}
	got := map[string]string{}
	err := s.Scan(line, func(key, val []byte, kind Kind) error {
		got[string(key)] = kind.String() + ":" + string(val)
		return nil
	})
	if fmt.Sprint(err) != fmt.Sprint(allErr) {
		t.Fatalf("Scan(%q) with Only: error %v, without: %v", line, err, allErr)
	}
	for k, v := range got {
		if all[k] != v {
			t.Fatalf("Scan(%q) with Only: %q = %q, without: %q", line, k, v, all[k])
		}
	}
	for _, k := range []string{"a", "b.c", "s", "ip", "user_agent", ""} {
		if all[k] != got[k] {
			t.Fatalf("Scan(%q) with Only: %q = %q, without: %q", line, k, got[k], all[k])
		}
	}
}

func TestOnly(t *testing.T) {
	for _, line := range []string{
		string(benchLine),
		`{"a":"x\"y","aa":"\u00e9","b":{"c":"\n","cc":1},"s":[1],"t":"\q"}`,
		`{"zz":"\u12","a":1}`,
		`{"":{"a":true},"ip":null}`,
	} {
		all := map[string]string{}
		err := (&Scanner{MaxDepth: 64}).Scan([]byte(line), func(key, val []byte, kind Kind) error {
			all[string(key)] = kind.String() + ":" + string(val)
			return nil
		})
		checkOnly(t, []byte(line), all, err)
	}
	var k Keys
	k.Add("timestamp")
	for key, want := range map[string]bool{"timestamp": true, "tomestamp": true, "time": false, "": false, "xtimestamp": false} {
		if got := k.Has([]byte(key)); got != want {
			t.Errorf("Has(%q) = %v, want %v", key, got, want)
		}
	}
}
