package event

import (
	"testing"
)

// TestSetFromRecord: the event holds copies of the record's values, which
// stay when the record's bytes are reused, and no stale value of an
// earlier record.
func TestSetFromRecord(t *testing.T) {
	line := []byte("alice 10.0.0.1 POST")
	var r Record
	r.Time = -1_000 // before 1970
	r.Values[UserName] = line[0:5]
	r.Values[SourceIP] = line[6:14]
	r.Values[Method] = line[15:]
	var e Event
	e.Values[Status] = "stale"
	e.SetFromRecord(&r)
	for i := range line {
		line[i] = 'x'
	}
	want := map[Field]string{UserName: "alice", SourceIP: "10.0.0.1", Method: "POST"}
	for f := range e.Values {
		if got := e.Values[f]; got != want[Field(f)] {
			t.Errorf("%s = %q, want %q", Field(f), got, want[Field(f)])
		}
	}
	if e.Time != -1_000 {
		t.Errorf("time %d", e.Time)
	}
	var empty Record
	e.SetFromRecord(&empty)
	for f, v := range e.Values {
		if v != "" {
			t.Errorf("%s = %q from an empty record", Field(f), v)
		}
	}
}

func BenchmarkSetFromRecord(b *testing.B) {
	var r Record
	for f, v := range map[Field]string{
		RequestID: "c31ec7bc9e67062e5c18b23fd4ee51e9", UserName: "noah.ferrari26", SourceIP: "10.0.5.10",
		Outcome: "success", Action: "login_succeeded",
	} {
		r.Values[f] = []byte(v)
	}
	var e Event
	b.ReportAllocs()
	for b.Loop() {
		e.SetFromRecord(&r)
	}
}
