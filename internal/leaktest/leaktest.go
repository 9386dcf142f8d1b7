// Package leaktest checks that the goroutines an operation started have
// ended once it returned: Check notes the goroutines running, and the
// function it returns fails the test if others are still running (after
// giving them a moment to end, as a goroutine told to stop may still be
// on its way out).
package leaktest

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// settle bounds how long the check waits for goroutines to end: a bound,
// not a measure; a goroutine that has ended is seen at once.
const settle = 5 * time.Second

// Check notes the goroutines running now; the returned function fails t
// with the stacks of those started since that are still running, but
// those whose stack holds one of ignore (a server the test runs in
// process, such as an in-memory broker answering other connections).
func Check(t testing.TB, ignore ...string) func() {
	t.Helper()
	before := map[string]bool{}
	for _, g := range goroutines() {
		before[g.id] = true
	}
	return func() {
		t.Helper()
		var left []goroutine
		for deadline := time.Now().Add(settle); ; {
			left = left[:0]
			for _, g := range goroutines() {
				if !before[g.id] && !ignored(g.stack, ignore) {
					left = append(left, g)
				}
			}
			if len(left) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if len(left) > 0 {
			var b strings.Builder
			for _, g := range left {
				b.WriteString(g.stack)
				b.WriteString("\n\n")
			}
			t.Errorf("%d goroutines still running:\n%s", len(left), b.String())
		}
	}
}

type goroutine struct {
	id    string // "goroutine N"
	stack string
}

// goroutines returns every goroutine's stack, but the caller's.
func goroutines() []goroutine {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []goroutine
	for i, g := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 {
			continue // this one
		}
		s := string(g)
		id, _, _ := strings.Cut(s, " [")
		out = append(out, goroutine{id: id, stack: s})
	}
	return out
}

// ignored reports whether a goroutine is one the runtime or the testing
// package runs (not an operation's), or holds one of more.
func ignored(stack string, more []string) bool {
	for _, s := range append([]string{"\ncreated by testing.", "\ncreated by runtime.", "\ncreated by os/signal."}, more...) {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}
