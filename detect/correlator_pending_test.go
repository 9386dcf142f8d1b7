package detect

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// TestWaitingModel runs random adds (some under an id already waiting),
// finds and removals (of every record under an id, and oldest first)
// against a plain list, with a table small enough for long probe chains
// and deletions inside them.
func TestWaitingModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := newWaiting()
	type entry struct {
		id   string
		time int64
		user string
	}
	var model []entry // arrival order
	indexOf := func(id string) int {
		for i, e := range model {
			if e.id == id {
				return i
			}
		}
		return -1
	}
	check := func(sl slot, want entry) {
		t.Helper()
		var e event.Event
		sl.unpack(&e)
		if e.Time != want.time || e.Values[event.RequestID] != want.id || e.Values[event.UserName] != want.user || e.Values[event.SourceIP] != "" {
			t.Fatalf("unpacked time %d id %q user %q ip %q, want %+v", e.Time, e.Values[event.RequestID], e.Values[event.UserName], e.Values[event.SourceIP], want)
		}
	}
	for step := 0; step < 200_000; step++ {
		id := "r" + strconv.Itoa(rng.IntN(300))
		switch op := rng.IntN(10); {
		case op < 5:
			// Some values longer than a one-byte length.
			user := strings.Repeat("u", rng.IntN(3)*100)
			e := entry{id, int64(step), user}
			r := rec(event.App, 0, "http.request.id", id, "user.name", user)
			r.Time = e.time
			s, h := w.lookup([]byte(id))
			if i := indexOf(id); (s >= 0) != (i >= 0) || s >= 0 && w.slots[s].time != model[i].time {
				t.Fatalf("step %d: lookup(%s) = %d, first in the model at %d", step, id, s, i)
			}
			if s >= 0 {
				w.addSame(s, r) // a chain, as the app lines of one request
			} else {
				w.add(r, h)
			}
			model = append(model, e)
		case op < 8:
			// Every record under the id leaves, oldest first, as when a
			// proxy record joins them.
			s := w.find([]byte(id))
			if (s >= 0) != (indexOf(id) >= 0) {
				t.Fatalf("step %d: find(%s) = %d, in the model: %v", step, id, s, indexOf(id) >= 0)
			}
			for s >= 0 {
				i := indexOf(id)
				if i < 0 {
					t.Fatalf("step %d: more records under %s than in the model", step, id)
				}
				sl := w.remove(s)
				check(sl, model[i])
				model = append(model[:i], model[i+1:]...)
				s = sl.same
			}
			if i := indexOf(id); i >= 0 {
				t.Fatalf("step %d: %s still in the model at %d", step, id, i)
			}
		default:
			s := w.oldest()
			if (s >= 0) != (len(model) > 0) {
				t.Fatalf("step %d: oldest = %d with %d in the model", step, s, len(model))
			}
			if s >= 0 {
				check(w.remove(s), model[0])
				model = model[1:]
			}
		}
		if w.len() != len(model) {
			t.Fatalf("step %d: len %d, model %d", step, w.len(), len(model))
		}
	}
	// Every remaining record is found, in order.
	for _, e := range model {
		s := w.oldest()
		if got := w.find([]byte(e.id)); got != s {
			t.Fatalf("find(%s) = %d, oldest %d", e.id, got, s)
		}
		check(w.remove(s), e)
	}
	if w.oldest() >= 0 || w.len() != 0 {
		t.Fatalf("not empty at the end: %d", w.len())
	}
}
