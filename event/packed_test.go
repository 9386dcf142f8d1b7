package event

import (
	"strconv"
	"strings"
	"testing"
)

// fullRecord has every third field absent, the others short or longer
// than a one-byte length.
func fullRecord() *Record {
	r := &Record{Time: -1} // before 1970
	for f := range r.Values {
		switch f % 3 {
		case 1:
			r.Values[f] = []byte(Field(f).String())
		case 2:
			r.Values[f] = []byte(strings.Repeat(strconv.Itoa(f), 100*f))
		}
	}
	r.Values[RequestID] = []byte("rid-1")
	return r
}

func TestPackUnpack(t *testing.T) {
	r := fullRecord()
	p := r.Pack()
	if p.IsZero() || p.RequestID() != "rid-1" {
		t.Fatalf("packed: zero %v, request id %q", p.IsZero(), p.RequestID())
	}
	var vals [NumFields]string
	for f := range vals {
		vals[f] = "stale"
	}
	p.Unpack(&vals)
	for f := range vals {
		if vals[f] != string(r.Values[f]) {
			t.Errorf("%s = %.20q, want %.20q", Field(f), vals[f], r.Values[f])
		}
	}
	// Fill sets only the fields asked for that p holds.
	for f := range vals {
		vals[f] = "kept"
	}
	p.Fill(&vals, 1<<UserName|1<<TLSSubject|1<<Outcome)
	for f := range vals {
		want := "kept"
		if (f == int(UserName) || f == int(TLSSubject) || f == int(Outcome)) && len(r.Values[f]) > 0 {
			want = string(r.Values[f])
		}
		if vals[f] != want {
			t.Errorf("after Fill %s = %.20q, want %.20q", Field(f), vals[f], want)
		}
	}
	if !(&Record{}).Pack().IsZero() {
		t.Error("an empty record packs into something")
	}
}

// TestOwn: the values point into the record's own copy, which outlives the
// bytes they were parsed from, and events take them without copying.
func TestOwn(t *testing.T) {
	r := fullRecord()
	want := make([]string, NumFields)
	for f := range want {
		want[f] = string(r.Values[f])
	}
	line := r.Values[UserName]
	r.Own()
	for i := range line {
		line[i] = 'x' // the parser's bytes, reused
	}
	var e Event
	e.SetFromRecord(r)
	for f := range want {
		if string(r.Values[f]) != want[f] || e.Values[f] != want[f] {
			t.Errorf("%s: record %.20q, event %.20q, want %.20q", Field(f), r.Values[f], e.Values[f], want[f])
		}
	}
	if got := r.Pack(); got != r.Owned {
		t.Error("Pack of an owned record copies it again")
	}
	if testing.AllocsPerRun(100, func() { e.SetFromRecord(r) }) != 0 {
		t.Error("SetFromRecord of an owned record allocates")
	}
}
