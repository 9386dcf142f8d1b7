package detect

import (
	"fmt"
	"hash/maphash"
	"testing"
	"time"
)

// sameEvent is an event of a store test: a username and its outcome at
// sec seconds.
type sameEvent struct {
	sec     float64
	user    string
	outcome uint8
}

// fillWindow adds evs to w as a rule of a window of length does, each
// with its evidence from evidences (made once per username and time, as
// an engine makes one per event).
func fillWindow(w *window, seed maphash.Seed, length int64, evs []sameEvent, evidences map[string]*evidence) {
	for _, e := range evs {
		t := int64(e.sec * float64(time.Second))
		k := fmt.Sprintf("%s@%d", e.user, t)
		ev := evidences[k]
		if ev == nil {
			ev = newEvidence(e.user, len(e.user), 0)
			evidences[k] = ev
		}
		for {
			if _, ok := w.expire(t, length); !ok {
				break
			}
		}
		w.add(entry{t: t, ev: ev, outcome: e.outcome}, hashString(seed, e.user), length, 1000)
	}
}

// TestWindowSameAs checks when two windows hold the same: the same events
// of the same values, ending at the same time, and an index of unresolved
// values in both or neither, whatever they held before.
func TestWindowSameAs(t *testing.T) {
	const F, S = outcomeFailure, outcomeSuccess
	length := int64(time.Minute)
	many := make([]sameEvent, 20)
	for i := range many {
		many[i] = sameEvent{float64(i), fmt.Sprintf("u%02d", i), F}
	}
	tests := []struct {
		name   string
		a, b   []sameEvent
		typoB  bool // b looks for a typo once it holds them (and indexes its unresolved values)
		same   bool
		counts bool // sameCounts
	}{
		{"same events", []sameEvent{{1, "x", F}, {2, "y", S}}, []sameEvent{{1, "x", F}, {2, "y", S}}, false, true, true},
		{"the events before left", []sameEvent{{0, "old", F}, {1, "old2", S}, {70, "x", F}, {75, "y", S}}, []sameEvent{{70, "x", F}, {75, "y", S}}, false, true, true},
		{"one more event", []sameEvent{{1, "x", F}, {2, "y", S}}, []sameEvent{{1, "x", F}, {1.5, "x", F}, {2, "y", S}}, false, false, false},
		{"same counts, other values", []sameEvent{{1, "x", F}, {2, "y", F}, {3, "y", S}}, []sameEvent{{1, "y", F}, {2, "x", F}, {3, "x", S}}, false, false, true},
		{"same values, other times", []sameEvent{{1, "x", F}, {2, "y", F}}, []sameEvent{{1.5, "x", F}, {2, "y", F}}, false, false, true},
		{"ending later", []sameEvent{{1, "x", F}}, []sameEvent{{1, "x", F}}, false, false, false},
		{"unresolved values indexed in one", many, many, true, false, false},
	}
	seed := maphash.MakeSeed()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evidences := map[string]*evidence{}
			a, b := newWindow(true), newWindow(true)
			fillWindow(a, seed, length, tt.a, evidences)
			fillWindow(b, seed, length, tt.b, evidences)
			if tt.typoB {
				p := &typoProbe{seed: seed}
				b.typoOf("u00x", p)
			}
			if tt.name == "ending later" {
				// A window ending later rejects more events as late.
				b.expire(b.end+int64(time.Second), length)
			}
			if got := a.sameCounts(b); got != tt.counts {
				t.Errorf("sameCounts = %v, want %v", got, tt.counts)
			}
			if got := a.sameAs(b, seed); got != tt.same {
				t.Errorf("sameAs = %v, want %v", got, tt.same)
			}
			if got := b.sameAs(a, seed); got != tt.same {
				t.Errorf("sameAs reversed = %v, want %v", got, tt.same)
			}
		})
	}
}

// TestStoreClone checks that a store's copy changes apart from it and
// holds what it would have held: the same events added to the copy and
// to the store leave them the same, and the store is unchanged by what
// only the copy is given.
func TestStoreClone(t *testing.T) {
	const F, S = outcomeFailure, outcomeSuccess
	seed := maphash.MakeSeed()
	length := int64(time.Minute)
	evidences := map[string]*evidence{}
	var before, after []sameEvent
	for i := range 40 {
		outcome := F
		if i%7 == 0 {
			outcome = S
		}
		before = append(before, sameEvent{float64(i), fmt.Sprintf("u%d", i%23), outcome})
		after = append(after, sameEvent{float64(50 + i), fmt.Sprintf("v%d", i%11), outcome})
	}
	w := newWindow(true)
	fillWindow(w, seed, length, before, evidences)
	p := &typoProbe{seed: seed}
	w.typoOf("u1x", p) // indexes the unresolved values
	w.alias(int64(35*time.Second), evidences[fmt.Sprintf("u12@%d", int64(35*time.Second))], hashString(seed, "u3"))
	c := w.clone().(*window)
	if !c.sameAs(w, seed) {
		t.Fatal("a copy differs from its store")
	}
	fillWindow(c, seed, length, after, evidences)
	if c.sameAs(w, seed) {
		t.Fatal("events added to a copy changed its store")
	}
	fillWindow(w, seed, length, after, evidences)
	if !c.sameAs(w, seed) {
		t.Fatal("a copy and its store given the same events differ")
	}
	for _, u := range []string{"v1", "v10", "u3"} {
		v := hashString(seed, u)
		if c.failures(v) != w.failures(v) {
			t.Errorf("%s: %d failures in the copy, %d in the store", u, c.failures(v), w.failures(v))
		}
	}

	s := newValueSet(seed)
	for i, e := range before {
		s.add(entry{t: int64(e.sec * float64(time.Second)), outcome: e.outcome}, hashString(seed, e.user), 2*length, 1000)
		if i == 20 {
			s.typoOf("u1x", p)
		}
	}
	sc := s.clone().(*valueSet)
	for _, e := range after {
		sc.add(entry{t: int64(e.sec * float64(time.Second)), outcome: e.outcome}, hashString(seed, e.user), 2*length, 1000)
	}
	if s.value(measureDistinct) != 23 || sc.value(measureDistinct) != 23+11 {
		t.Errorf("distinct values: %d in the set, %d in its copy, want 23 and 34", s.value(measureDistinct), sc.value(measureDistinct))
	}
	if e, _, _ := s.counts(); e != len(before) {
		t.Errorf("events adding to a copy changed its set: %d events", e)
	}
}
