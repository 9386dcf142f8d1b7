package main

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spraywatch/spraywatch/config"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/ingest/formats"
	"github.com/spraywatch/spraywatch/ingest/kafka"
	"github.com/spraywatch/spraywatch/ingest/timestamp"
)

// The checks of this file find the flag values that are wrong on their
// face, whatever the files, brokers and ports: a name a flag does not
// take, a size, time zone, address or glob that does not parse. The
// commands run them before they open, write or connect to anything, and
// exit 2 for what they find, as for an unknown flag.

// orList writes values as "a, b or c".
func orList(values []string) string {
	if len(values) < 2 {
		return strings.Join(values, "")
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

// oneOf returns an error for a value of the flag name that is not one of
// values.
func oneOf(name, v string, values ...string) error {
	if slices.Contains(values, v) {
		return nil
	}
	return fmt.Errorf("--%s %q: expected %s", name, v, orList(values))
}

// formatFlag returns an error for a value of the format flag name that is
// not one of the formats names (or auto, when auto is true).
func formatFlag(name, v string, names []string, auto bool) error {
	if auto {
		names = append(slices.Clone(names), config.Auto)
	}
	return oneOf(name, v, names...)
}

// zoneFlag returns an error for a time zone flag's value that
// timestamp.LoadLocation refuses (its message names the value), or, when
// format is the format in force, that the format called format does not
// take; "" is no time zone.
func zoneFlag(name, v, format string, inForce bool) error {
	if v == "" {
		return nil
	}
	if _, err := timestamp.LoadLocation(v); err != nil {
		return fmt.Errorf("--%s: %w", name, err)
	}
	if inForce && format != config.Auto && !formats.Zoned(format) {
		return fmt.Errorf("--%s %q: %s", name, v, formats.NotZonedError(format))
	}
	return nil
}

// identityFlag returns an error for an --identity naming a source the
// correlator does not know.
func identityFlag(v string) error {
	for _, n := range splitList(v) {
		if _, err := detect.ParseIdentity([]string{n}); err != nil {
			return fmt.Errorf("--identity %q: unknown source %q, expected %s", v, n, orList(detect.IdentitySourceNames()))
		}
	}
	return nil
}

// sizeFlag returns an error for a byte size that config.ParseSize refuses.
func sizeFlag(name, v string) error {
	if _, err := config.ParseSize(v); err != nil {
		return fmt.Errorf("--%s %q: %w", name, v, err)
	}
	return nil
}

// listenFlag returns an error for an address to listen on that is not
// HOST:PORT, with a port from 0 to 65535 (or a service name, which only
// listening can check); "" listens nowhere.
func listenFlag(name, v string) error {
	if v == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(v)
	if err == nil && port != "" {
		if _, perr := strconv.ParseUint(port, 10, 16); perr == nil || strings.Trim(port, "0123456789") != "" {
			return nil
		}
	}
	return fmt.Errorf("--%s %q: expected HOST:PORT with a port from 0 to 65535, such as 127.0.0.1:9464", name, v)
}

// globFlag returns an error for a file name or glob of the flag name
// that is a glob with a syntax error (as config.Expand reads it: names
// without *, ? or [ are names, and - is standard input).
func globFlag(name string, paths []string) error {
	for _, p := range paths {
		if p == "-" || !strings.ContainsAny(p, "*?[") {
			continue
		}
		if _, err := filepath.Match(p, ""); err != nil {
			return fmt.Errorf("--%s %q: expected a file name or a glob (%v)", name, p, err)
		}
	}
	return nil
}

// sourceFlagsCheck returns the errors of the format and time zone flags
// of one kind of source: the format's name (flag formatName, value format,
// one of names, or auto when auto) and the time zone (flag zoneName, value
// zone). The format is in force when files of the kind are given on the
// command line or there is no configuration file: otherwise a time zone
// flag is an error of its own (see replayConfig and applySources), and the
// format is not checked against it.
func sourceFlagsCheck(formatName, format string, names []string, auto bool, zoneName, zone string, inForce bool) error {
	if err := formatFlag(formatName, format, names, auto); err != nil {
		return err
	}
	return zoneFlag(zoneName, zone, format, inForce)
}

// appFormatDefCheck returns the error of an --app-format-def given with
// --app-format auto.
func appFormatDefCheck(format, def string) error {
	if format == config.Auto && def != "" {
		return errors.New("--app-format-def needs a named --app-format (auto detects only formats without definitions)")
	}
	return nil
}

// check returns the errors of the TLS and SASL flags that need no file
// or environment variable to find: a mechanism not known, and flags that
// only go with others.
func (f *kafkaSecurityFlags) check() []error {
	var errs []error
	if (f.tlsCert == "") != (f.tlsKey == "") {
		errs = append(errs, fmt.Errorf("--tls-cert and --tls-key go together: the client certificate and its key"))
	}
	mech, err := kafka.SASL{Mechanism: f.saslMech, Username: "u", Password: "p"}.Build()
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("--sasl-mechanism %q: expected plain, scram-sha-256 or scram-sha-512", f.saslMech))
	case mech == nil && (f.saslUser != "" || f.saslPassFile != ""):
		errs = append(errs, fmt.Errorf("--sasl-username and --sasl-password-file need --sasl-mechanism"))
	case mech != nil && f.saslUser == "":
		errs = append(errs, fmt.Errorf("--sasl-mechanism %s needs --sasl-username", f.saslMech))
	}
	return errs
}
