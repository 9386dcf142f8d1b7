// Package hostile holds spraywatch's adversarial tests: log files built to
// exhaust memory, confuse the parsers, wedge event time or forge alert
// fields are replayed through the real pipeline (file sources skimming the
// proxy lines that are no login as the replay command does, read-ahead,
// the time-ordered merge, the engine with the default rule pack, the JSON
// alert writer), and the tests check that memory stays bounded, every
// rejected line is counted with its reason, nothing panics, and a real
// spraying campaign mixed into the same input is still reported.
//
// The heavy cases run in a child process so that each one's peak RSS is
// its own. Their default sizes keep `go test` quick; HOSTILE_FULL=1 runs
// them at the sizes of the threat model (10 M unmatched request ids,
// 1 M identities, 1 M usernames, a 100 MB line).
package hostile
