// Package crossformat holds the cross-format golden test: the same traffic,
// logged as nginx would log it (text and escape=json), as Envoy would
// (json_format) and as HAProxy would (log-format with OpenSSL's one-line
// DNs, with and without the syslog prefix), each replayed with the same
// Django log, must give the same authentication events and, with an
// identity field every format carries, byte-identical alerts.
//
// The package has no code of its own; its test writes each proxy's lines
// with the identity forms that proxy really emits and runs them through
// the configuration loader, the format parsers, the correlator and the
// default rules.
package crossformat
