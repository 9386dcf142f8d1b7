package detect

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
)

// BenchmarkFullWindows measures a busy shared certificate's stores as the
// default pack keeps them: three exact windows and a 12-hour value set,
// all at their cap of events or values, fed mostly new usernames that
// mostly log in. Every event is checked for a typing slip (successes),
// expires what left, and pushes the oldest event out of each full window:
// the per-event work of the stores, out of the caches.
func BenchmarkFullWindows(b *testing.B) {
	const (
		max   = 20_000
		users = 200_000
		pool  = 1 << 16
	)
	seed := maphash.MakeSeed()
	rng := rand.New(rand.NewPCG(1, 2))
	type benchEvent struct {
		ev      *evidence
		v       hashed
		outcome uint8
	}
	// Each event has its own copy of its username, as the engine's
	// events do. Most log in at once; a few fail then log in, a few
	// mistype their username first, fewer only fail.
	evs := make([]benchEvent, 0, pool+2)
	add := func(name string, out uint8) {
		evs = append(evs, benchEvent{ev: newEvidence(name, len(name), 0), v: hashed{name, maphash.String(seed, name)}, outcome: out})
	}
	names := make([]string, users)
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		return string(b)
	}
	for i := range names {
		names[i] = fmt.Sprintf("%s.%s%d", word(3+rng.IntN(4)), word(4+rng.IntN(4)), rng.IntN(30))
	}
	for len(evs) < pool {
		name := strings.Clone(names[rng.IntN(users)])
		switch r := rng.IntN(1000); {
		case r < 50:
			add(name, outcomeFailure)
			add(name, outcomeSuccess)
		case r < 55:
			add(name[:3]+name[4:], outcomeFailure)
			add(name, outcomeSuccess)
		case r < 58:
			add(name, outcomeFailure)
		default:
			add(name, outcomeSuccess)
		}
	}
	lengths := []int64{600e9, 1200e9, 600e9, 12 * 3600e9}
	stores := []store{newWindow(true), newWindow(true), newWindow(true), newValueSet(seed)}
	p := typoProbe{seed: seed}
	step := func(i int) {
		x := &evs[i%pool]
		t := int64(i) * 10_000_000
		p.reset()
		for k, st := range stores {
			var alias string
			if x.outcome == outcomeSuccess {
				alias = st.typoOf(x.v.s, &p)
			}
			for {
				if _, ok := st.expire(t, lengths[k]); !ok {
					break
				}
			}
			ok, _ := st.add(entry{t: t, ev: x.ev, outcome: x.outcome}, x.v, lengths[k], max)
			if ok && alias != "" {
				st.alias(t, x.ev, hashString(seed, alias))
			}
		}
	}
	for i := range 2 * max {
		step(i)
	}
	b.ReportAllocs()
	cpu := startThreadCPU(b)
	for i := 0; i < b.N; i++ {
		step(2*max + i)
	}
	cpu.stop(b)
}

// threadCPU measures the CPU time of the benchmark's thread, which other
// processes on a busy machine do not lengthen as they do the wall time.
type threadCPU struct{ start time.Duration }

// startThreadCPU locks the benchmark to its thread and resets its timer.
func startThreadCPU(b *testing.B) threadCPU {
	runtime.LockOSThread()
	b.ResetTimer()
	return threadCPU{threadTime()}
}

// stop reports the thread's CPU time per operation as cpu-ns/op.
func (c threadCPU) stop(b *testing.B) {
	b.StopTimer()
	b.ReportMetric(float64(threadTime()-c.start)/float64(b.N), "cpu-ns/op")
	runtime.UnlockOSThread()
}

// TestFullWindowDropsTheOldest: a full window drops its oldest event for
// a newer one, and an event older than every event it holds (late, but
// still inside the window) is itself the oldest, dropped.
func TestFullWindowDropsTheOldest(t *testing.T) {
	for _, tt := range []struct {
		name    string
		times   []int64
		want    []int64
		dropped int
		late    int
	}{
		{"a newer event", []int64{10, 11, 12, 13}, []int64{11, 12, 13}, 1, 0},
		{"a late event between", []int64{10, 12, 13, 11}, []int64{11, 12, 13}, 1, 0},
		{"a late event older than all", []int64{10, 11, 12, 9}, []int64{10, 11, 12}, 1, 0},
		{"an event older than the window", []int64{10, 11, 12, 2}, []int64{10, 11, 12}, 0, 1},
	} {
		w, seed := newWindow(true), maphash.MakeSeed()
		var dropped, late int
		for _, at := range tt.times {
			ok, d := w.add(entry{t: at, outcome: outcomeFailure}, hashString(seed, fmt.Sprint("u", at)), 10, 3)
			dropped += d
			if !ok && d == 0 {
				late++
			}
		}
		var got []int64
		w.each(func(e *entry) { got = append(got, e.t) })
		if fmt.Sprint(got) != fmt.Sprint(tt.want) || dropped != tt.dropped || late != tt.late {
			t.Errorf("%s: holds %v, %d dropped, %d late; want %v, %d, %d", tt.name, got, dropped, late, tt.want, tt.dropped, tt.late)
		}
		if _, fails, _ := w.counts(); fails != len(tt.want) || w.value(measureDistinct) != len(tt.want) {
			t.Errorf("%s: counts %d failures, %d distinct; want %d", tt.name, fails, w.value(measureDistinct), len(tt.want))
		}
	}
}
