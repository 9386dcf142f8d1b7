//go:build race

package hostile

// The race detector multiplies time and memory several times over: the
// heavy cases' sizes and RSS caps mean nothing under it.
const raceEnabled = true
