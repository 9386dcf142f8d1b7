package rules

import (
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// BenchmarkDefaultFilters matches events like the corpus's (logins through
// a certificate, most of them successes, some failures, a few without a
// certificate) against every filter of the default pack, as the engine
// does for each authentication event: ns/op is per event.
func BenchmarkDefaultFilters(b *testing.B) {
	var evs [4]event.Event
	for i := range evs {
		e := &evs[i]
		e.Values[event.Identity] = "sha1:683b41171ccea826e58e97979d8804e41797e298"
		e.Values[event.TLSVerify] = "SUCCESS"
		e.Values[event.Outcome] = event.OutcomeSuccess
		e.Values[event.Action] = "login_succeeded"
		e.Values[event.Join] = "matched"
		e.Values[event.SourceIP] = "10.0.5.10"
	}
	evs[1].Values[event.Outcome], evs[1].Values[event.Action] = event.OutcomeFailure, "login_failed"
	evs[3].Values[event.Identity], evs[3].Values[event.TLSVerify] = "", "NONE"
	var fs []*Filter
	for _, r := range Default() {
		fs = append(fs, &r.Filter)
	}
	n := 0
	for i := range b.N {
		e := &evs[i%len(evs)]
		for _, f := range fs {
			if f.Match(e) {
				n++
			}
		}
	}
	if b.N >= len(evs) && n == 0 {
		b.Fatal("no filter matched")
	}
}
