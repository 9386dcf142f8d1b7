package detect

import (
	"math"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// A record stamped with the latest representable time must still come out
// of Flush, and must not hold back the records queued after it.
func TestCorrelatorFlushAtMaxTime(t *testing.T) {
	var out []string
	k, err := NewCorrelator(CorrelatorConfig{}, func(e *event.Event) { out = append(out, e.Get(event.RequestID)) })
	if err != nil {
		t.Fatal(err)
	}
	last := appRec(0, "last", "alice", "failure")
	last.Time = math.MaxInt64
	k.Add(last)
	k.Add(appRec(5, "early", "bob", "failure"))
	k.Flush()
	if len(out) != 2 || out[0] != "last" || out[1] != "early" {
		t.Fatalf("flushed %q, want [last early]", out)
	}
	if n := k.Stats().Pending.Load(); n != 0 {
		t.Fatalf("%d records still pending after Flush", n)
	}
}
