package envoy

import (
	"fmt"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

func TestKeyIndex(t *testing.T) {
	keys := map[string]jsonItem{}
	// Keys of the same length, first, middle and last bytes share a
	// hash and must be told apart by the probe.
	for i, k := range []string{"start_time", "sxxxx_xxxe", "syyyy_yyye", "a", "ab", "peer.subject", "peer.sha1", "request_id", "x.y.z"} {
		keys[k] = jsonItem{op: operator{name: fmt.Sprint(i)}}
	}
	for n := range 40 {
		keys[fmt.Sprintf("key%02d", n)] = jsonItem{op: operator{name: fmt.Sprint("k", n)}}
	}
	x := newKeyIndex(keys)
	for k, want := range keys {
		got := x.lookup([]byte(k))
		if got == nil || got.op.name != want.op.name {
			t.Errorf("lookup(%q) = %v, want %q", k, got, want.op.name)
		}
	}
	for _, k := range []string{"b", "start_timf", "sxxxx_yxxe", "key40", "peer", "peer.subject.x"} {
		if got := x.lookup([]byte(k)); got != nil {
			t.Errorf("lookup(%q) = %q, want nil", k, got.op.name)
		}
	}
	if got := x.lookup(nil); got != nil {
		t.Errorf("lookup(\"\") = %q, want nil", got.op.name)
	}
	withEmpty := newKeyIndex(map[string]jsonItem{"": {op: operator{name: "empty"}}, "a": {}})
	if got := withEmpty.lookup([]byte{}); got == nil || got.op.name != "empty" {
		t.Errorf("lookup(\"\") in an index holding it = %v, want the item", got)
	}
	var empty keyIndex
	if empty.lookup([]byte("a")) != nil {
		t.Error("the zero index holds a key")
	}
}

// TestEmptyKey compiles and reads a format whose time is under the empty
// key, which JSON allows.
func TestEmptyKey(t *testing.T) {
	f, err := CompileJSON(`{"": "%START_TIME%"}`)
	if err != nil {
		t.Fatal(err)
	}
	var r event.Record
	if err := f.NewParser().Parse([]byte(`{"": "2026-12-04T09:00:01Z"}`), &r); err != nil {
		t.Fatal(err)
	}
	if want := int64(1796374801) * 1e9; r.Time != want {
		t.Errorf("time %d, want %d", r.Time, want)
	}
}
