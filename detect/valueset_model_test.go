package detect

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"testing"
)

type refVal struct {
	qt, last  int64
	n, f, s   int
	firstFail bool
}

type refSet struct {
	m   map[string]*refVal
	end int64
}

func (r *refSet) minQ() (string, *refVal) {
	var bk string
	var bv *refVal
	keys := make([]string, 0, len(r.m))
	for k := range r.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := r.m[k]
		if bv == nil || v.qt < bv.qt {
			bk, bv = k, v
		}
	}
	return bk, bv
}

func (r *refSet) add(t int64, val string, out uint8, length int64, max int) bool {
	if t > r.end {
		r.end = t
	}
	if t <= minus(r.end, length) {
		return false
	}
	v := r.m[val]
	if v == nil {
		if len(r.m) >= max {
			k, _ := r.minQ()
			delete(r.m, k)
		}
		v = &refVal{qt: t, last: t}
		r.m[val] = v
	} else if t > v.last {
		v.last = t
	}
	v.n++
	if out == outcomeFailure {
		v.f++
	}
	if out == outcomeSuccess {
		v.s++
	}
	return true
}

func (r *refSet) expire(now, length int64) (int64, bool) {
	cut := minus(max(now, r.end), length)
	for len(r.m) > 0 {
		k, v := r.minQ()
		if v.qt > cut {
			break
		}
		if v.last > v.qt {
			v.qt = v.last
			continue
		}
		delete(r.m, k)
		left := v.last + length
		r.end = max(r.end, left)
		return left, true
	}
	r.end = max(now, r.end)
	return 0, false
}

func (r *refSet) counts() (int, int, int) {
	var n, f, s int
	for _, v := range r.m {
		n, f, s = n+v.n, f+v.f, s+v.s
	}
	return n, f, s
}

func (r *refSet) first() int64 {
	if len(r.m) == 0 {
		return 0
	}
	_, v := r.minQ()
	return v.qt
}

// TestValueSetAgainstModel compares valueSet with a naive model on random
// operations with distinct times (no ties), late events, evictions, and
// resets of a reused set.
func TestValueSetAgainstModel(t *testing.T) {
	n := 100
	if raceEnabled {
		n = 20
	}
	if s := os.Getenv("SPRAYWATCH_TEST_SEEDS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	seed := maphash.MakeSeed()
	for sd := range n {
		rng := rand.New(rand.NewPCG(uint64(sd), 5))
		s := newValueSet(seed)
		for round := range 3 {
			maxV := 1 + rng.IntN(40)
			if round > 0 && !s.reset(maxV) {
				s = newValueSet(seed)
			}
			ref := &refSet{m: map[string]*refVal{}, end: -1 << 63}
			length := int64(1000 + rng.IntN(5000))
			now := int64(0)
			vals := 2 + rng.IntN(80)
			used := map[int64]bool{}
			for op := range 3000 {
				switch p := rng.IntN(100); {
				case p < 70:
					now += int64(rng.IntN(60)) + 1
					t0 := now
					if rng.IntN(6) == 0 {
						t0 -= int64(rng.IntN(int(length)))
					}
					for used[t0] {
						t0++
					}
					used[t0] = true
					val := fmt.Sprintf("v%d", rng.IntN(vals))
					out := uint8(rng.IntN(3))
					ok1, _ := s.add(entry{t: t0, outcome: out}, hashString(seed, val), length, maxV)
					ok2 := ref.add(t0, val, out, length, maxV)
					if ok1 != ok2 {
						t.Fatalf("seed %d round %d op %d: add %v, ref %v", sd, round, op, ok1, ok2)
					}
				default:
					for {
						l1, ok1 := s.expire(now, length)
						l2, ok2 := ref.expire(now, length)
						if ok1 != ok2 || l1 != l2 {
							t.Fatalf("seed %d round %d op %d: expire %d %v, ref %d %v", sd, round, op, l1, ok1, l2, ok2)
						}
						if !ok1 {
							break
						}
					}
				}
				a1, b1, c1 := s.counts()
				a2, b2, c2 := ref.counts()
				if s.held() != len(ref.m) || a1 != a2 || b1 != b2 || c1 != c2 || s.endTime() != ref.end || s.first() != ref.first() {
					t.Fatalf("seed %d round %d op %d: held %d counts %d/%d/%d end %d first %d; ref %d %d/%d/%d %d %d",
						sd, round, op, s.held(), a1, b1, c1, s.endTime(), s.first(), len(ref.m), a2, b2, c2, ref.end, ref.first())
				}
				if len(s.queue) > 2*s.held()+130 {
					t.Fatalf("seed %d op %d: queue length %d (head %d) for %d values", sd, op, len(s.queue), s.head, s.held())
				}
				if len(s.queue)-s.head+len(s.late) != s.held() {
					t.Fatalf("seed %d op %d: %d items queued for %d values", sd, op, len(s.queue)-s.head+len(s.late), s.held())
				}
			}
		}
	}
}
