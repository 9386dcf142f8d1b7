package envoy

import (
	"fmt"
	"testing"
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
	for _, k := range []string{"", "b", "start_timf", "sxxxx_yxxe", "key40", "peer", "peer.subject.x"} {
		if got := x.lookup([]byte(k)); got != nil {
			t.Errorf("lookup(%q) = %q, want nil", k, got.op.name)
		}
	}
	var empty keyIndex
	if empty.lookup([]byte("a")) != nil {
		t.Error("the zero index holds a key")
	}
}
