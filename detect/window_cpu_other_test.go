//go:build !linux

package detect

import "time"

// threadTime returns 0 where a thread's CPU time is not measured: the
// benchmarks then report 0 cpu-ns/op.
func threadTime() time.Duration { return 0 }
