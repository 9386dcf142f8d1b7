//go:build race

package detect

// The race detector multiplies time several times over: long randomized
// tests run fewer cases under it.
const raceEnabled = true
