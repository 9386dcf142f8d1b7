package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlagValueErrors: a flag value out of its range is a bad command
// line, as an unknown flag is: every command exits 2 with one line per
// bad value, naming the flag and the values it takes, and does nothing
// else (no connection, no file read or written, nothing on stdout).
func TestFlagValueErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	// Names of files that do not exist: the values are checked first.
	replay := []string{"replay", "--proxy", "p.log", "--app", "a.log", "--out", out}
	serve := []string{"serve", "--listen", "", "--proxy-file", "p.log", "--app-file", "a.log", "--out", out}
	produce := []string{"produce", "--brokers", "127.0.0.1:1", "--proxy", "p.log"}
	samples := []string{"samples", "-dir", out}
	with := func(cmd []string, args ...string) []string { return append(append([]string{}, cmd...), args...) }
	for _, tt := range []struct {
		args []string
		want []string // the lines of stderr
	}{
		{with(replay, "--lanes=-1"), []string{"spraywatch replay: --lanes -1: expected 0 (one per core) or more"}},
		{with(replay, "--parse-workers=-1"), []string{"spraywatch replay: --parse-workers -1: expected 0 (choose) to 256"}},
		{with(replay, "--parse-workers", "100000"), []string{"spraywatch replay: --parse-workers 100000: expected 0 (choose) to 256"}},
		{with(replay, "--report-top", "0"), []string{"spraywatch replay: --report-top 0: expected 1 or more"}},
		{with(replay, "--metrics-hold=-1s"), []string{"spraywatch replay: --metrics-hold -1s: must not be negative"}},
		{with(replay, "--join-window=-5s"), []string{"spraywatch replay: --join-window -5s: must not be negative"}},
		{with(replay, "--max-pending=-1"), []string{"spraywatch replay: --max-pending -1: must not be negative"}},
		{with(replay, "--max-line-bytes=-1"), []string{"spraywatch replay: --max-line-bytes -1: must not be negative"}},
		{with(replay, "--max-line-bytes", "99999999999999"), []string{"spraywatch replay: --max-line-bytes 99999999999999: expected at most 16777216 (16 MiB)"}},
		{with(replay, "--join-window", "25h"), []string{"spraywatch replay: --join-window 25h0m0s: expected at most 24h0m0s"}},
		{with(replay, "--max-groups=-1"), []string{"spraywatch replay: --max-groups -1: must not be negative"}},
		{with(replay, "--max-groups-total=-1"), []string{"spraywatch replay: --max-groups-total -1: must not be negative"}},
		{with(replay, "--max-events-total=-1"), []string{"spraywatch replay: --max-events-total -1: must not be negative"}},
		{with(replay, "--max-group-events=-1"), []string{"spraywatch replay: --max-group-events -1: must not be negative"}},
		{with(replay, "--lanes=-2", "--max-pending=-3"), []string{
			"spraywatch replay: --max-pending -3: must not be negative",
			"spraywatch replay: --lanes -2: expected 0 (one per core) or more"}},
		// Without a file to read: the values are checked before the usage.
		{[]string{"replay", "--lanes=-1"}, []string{"spraywatch replay: --lanes -1: expected 0 (one per core) or more"}},

		// Names, sizes, zones, addresses and globs that are wrong on their
		// face, and flags that do not go together.
		{with(replay, "--rules-mode", "merge"), []string{`spraywatch replay: --rules-mode "merge": expected extend or replace`}},
		{with(replay, "--rules-mode", "replace"), []string{"spraywatch replay: --rules-mode replace needs at least one --rules file"}},
		{with(replay, "--privacy", "hash"), []string{`spraywatch replay: --privacy "hash": expected plain, hmac or omit`}},
		{with(replay, "--identity", "sha256,spki"), []string{`spraywatch replay: --identity "sha256,spki": unknown source "spki", expected sha256, sha1, issuer_serial, subject or uri_san`}},
		{with(replay, "--memory-limit", "1TiB"), []string{`spraywatch replay: --memory-limit "1TiB": expected a size such as 270MiB or 1GiB`}},
		{with(replay, "--proxy-format", "iis"), []string{`spraywatch replay: --proxy-format "iis": expected nginx, nginx-json, envoy, envoy-json, haproxy, traefik, alb-access or auto`}},
		{with(replay, "--app-format", "django"), []string{`spraywatch replay: --app-format "django": expected django-json, django-axes, python-logging or auto`}},
		{with(replay, "--app-format", "auto", "--app-format-def", "format: x"), []string{"spraywatch replay: --app-format-def needs a named --app-format (auto detects only formats without definitions)"}},
		{with(replay, "--app-time-zone", "Mars/Olympus"), []string{`spraywatch replay: --app-time-zone: unknown time zone "Mars/Olympus": expected an IANA time zone name such as Europe/Berlin or an offset such as +01:00`}},
		{with(replay, "--proxy-time-zone", "+01:00"), []string{`spraywatch replay: --proxy-time-zone "+01:00": format nginx writes every time with a zone offset, so a time zone does not apply to it (it applies to envoy, envoy-json, haproxy, django-json, django-axes, python-logging)`}},
		{with(replay, "--metrics-listen", "9464"), []string{`spraywatch replay: --metrics-listen "9464": expected HOST:PORT with a port from 0 to 65535, such as 127.0.0.1:9464`}},
		{with(replay, "--metrics-listen", "127.0.0.1:70000"), []string{`spraywatch replay: --metrics-listen "127.0.0.1:70000": expected HOST:PORT with a port from 0 to 65535, such as 127.0.0.1:9464`}},
		{with(replay, "--metrics-hold", "3s"), []string{"spraywatch replay: --metrics-hold needs --metrics-listen: there is no /metrics to hold"}},
		{with(replay, "--proxy", "access-[0-9.log"), []string{`spraywatch replay: --proxy "access-[0-9.log": expected a file name or a glob (syntax error in pattern)`}},
		{with(replay, "--privacy", "hash", "--memory-limit", "lots"), []string{
			`spraywatch replay: --privacy "hash": expected plain, hmac or omit`,
			`spraywatch replay: --memory-limit "lots": expected a size such as 270MiB or 1GiB`}},

		{with(serve, "--lateness=-5s"), []string{"spraywatch serve: --lateness -5s: expected a duration above 0"}},
		{with(serve, "--idle-timeout", "0"), []string{"spraywatch serve: --idle-timeout 0s: expected a duration above 0"}},
		{with(serve, "--commit-interval", "0"), []string{"spraywatch serve: --commit-interval 0s: expected a duration above 0"}},
		{with(serve, "--commit-interval=-1s"), []string{"spraywatch serve: --commit-interval -1s: expected a duration above 0"}},
		{with(serve, "--max-rebuild=-1h"), []string{"spraywatch serve: --max-rebuild -1h0m0s: expected a duration above 0"}},
		{with(serve, "--session-timeout=-1s"), []string{"spraywatch serve: --session-timeout -1s: expected a duration above 0"}},
		{with(serve, "--shutdown-timeout", "0"), []string{"spraywatch serve: --shutdown-timeout 0s: expected a duration above 0"}},
		{with(serve, "--max-buffered", "0"), []string{"spraywatch serve: --max-buffered 0: expected 1 or more"}},
		{with(serve, "--max-buffered=-1"), []string{"spraywatch serve: --max-buffered -1: expected 1 or more"}},
		{with(serve, "--join-window=-5s"), []string{"spraywatch serve: --join-window -5s: must not be negative"}},
		{with(serve, "--max-line-bytes=-1"), []string{"spraywatch serve: --max-line-bytes -1: must not be negative"}},
		{with(serve, "--max-line-bytes", "16777217"), []string{"spraywatch serve: --max-line-bytes 16777217: expected at most 16777216 (16 MiB)"}},
		{with(serve, "--join-window", "1000h"), []string{"spraywatch serve: --join-window 1000h0m0s: expected at most 24h0m0s"}},
		{with(serve, "--max-groups=-1"), []string{"spraywatch serve: --max-groups -1: must not be negative"}},
		// Kafka, not files: the values are checked before connecting.
		{[]string{"serve", "--listen", "", "--brokers", "127.0.0.1:1", "--lateness", "0"}, []string{"spraywatch serve: --lateness 0s: expected a duration above 0"}},
		{with(serve, "--role", "bogus"), []string{`spraywatch serve: --role "bogus": expected all, correlate or detect`}},
		{with(serve, "--role", "detect"), []string{"spraywatch serve: --role detect: following files (--proxy-file, --app-file) runs every stage; roles split the stages over Kafka"}},
		{[]string{"serve", "--listen", "", "--proxy-file", "p.log"}, []string{"spraywatch serve: following files needs both --proxy-file and --app-file"}},
		{[]string{"serve", "--listen", "", "--proxy-file", "-", "--app-file", "-"}, []string{"spraywatch serve: standard input (-) is given 2 times to --proxy-file and --app-file: only one can read it"}},
		{with(serve, "--app-file", "auth.log.[12"), []string{`spraywatch serve: --app-file "auth.log.[12": expected a file name or a glob (syntax error in pattern)`}},
		{with(serve, "--listen", "localhost"), []string{`spraywatch serve: --listen "localhost": expected HOST:PORT with a port from 0 to 65535, such as 127.0.0.1:9464`}},
		{with(serve, "--rules-mode", "merge"), []string{`spraywatch serve: --rules-mode "merge": expected extend or replace`}},
		{with(serve, "--privacy", "none"), []string{`spraywatch serve: --privacy "none": expected plain, hmac or omit`}},
		{with(serve, "--proxy-format", "apache"), []string{`spraywatch serve: --proxy-format "apache": expected nginx, nginx-json, envoy, envoy-json, haproxy, traefik, alb-access or auto`}},
		{with(serve, "--app-time-zone", "CEST+2"), []string{`spraywatch serve: --app-time-zone: unknown time zone "CEST+2": expected an IANA time zone name such as Europe/Berlin or an offset such as +01:00`}},
		{with(serve, "--start-offset", "beginning"), []string{`spraywatch serve: --start-offset "beginning": expected earliest or latest`}},
		{with(serve, "--partition-key", "user"), []string{`spraywatch serve: --partition-key "user": expected identity or subnet`}},
		{with(serve, "--partitioner", "random"), []string{`spraywatch serve: --partitioner "random": expected crc32 or murmur2`}},
		{with(serve, "--sasl-mechanism", "gssapi"), []string{`spraywatch serve: --sasl-mechanism "gssapi": expected plain, scram-sha-256 or scram-sha-512`}},
		{with(serve, "--sasl-mechanism", "plain"), []string{"spraywatch serve: --sasl-mechanism plain needs --sasl-username"}},
		{with(serve, "--sasl-username", "sw"), []string{"spraywatch serve: --sasl-username and --sasl-password-file need --sasl-mechanism"}},
		{with(serve, "--tls-cert", "client.pem"), []string{"spraywatch serve: --tls-cert and --tls-key go together: the client certificate and its key"}},
		{[]string{"serve", "--listen", "", "--brokers", "127.0.0.1:1", "--partitioner", "java2"}, []string{`spraywatch serve: --partitioner "java2": expected crc32 or murmur2`}},

		{[]string{"eval", "-seeds", "0"}, []string{"spraywatch eval: -seeds 0: expected 1 or more"}},
		{[]string{"eval", "-seeds=-1"}, []string{"spraywatch eval: -seeds -1: expected 1 or more"}},
		{[]string{"eval", "-scale", "0"}, []string{"spraywatch eval: -scale 0: expected above 0, at most 100000"}},
		{[]string{"eval", "-duration", "30m"}, []string{"spraywatch eval: -duration 30m0s: expected 1h0m0s or more"}},
		{[]string{"eval", "-seeds", "0", "-scale=-1", "-duration", "0"}, []string{
			"spraywatch eval: -seeds 0: expected 1 or more",
			"spraywatch eval: -duration 0s: expected 1h0m0s or more",
			"spraywatch eval: -scale -1: expected above 0, at most 100000"}},
		{[]string{"eval", "-campaigns", "fast_spray,slow"}, []string{`spraywatch eval: -campaigns "fast_spray,slow": unknown kind "slow", expected all, none or a list of fast_spray, low_and_slow, distributed, successful_spray, gateway_spray, proxy_bypass, no_cert_spray, batch_spray, token_spray`}},
		{[]string{"eval", "-rules-mode", "merge"}, []string{`spraywatch eval: --rules-mode "merge": expected extend or replace`}},
		{[]string{"eval", "-rules-mode", "replace"}, []string{"spraywatch eval: --rules-mode replace needs at least one --rules file"}},

		{with(samples, "-scale", "0"), []string{"spraywatch samples: -scale 0: expected above 0, at most 100000"}},
		{with(samples, "-scale", "200000"), []string{"spraywatch samples: -scale 200000: expected above 0, at most 100000"}},
		{with(samples, "-scale", "NaN"), []string{"spraywatch samples: -scale NaN: expected above 0, at most 100000"}},
		{with(samples, "-duration", "0"), []string{"spraywatch samples: -duration 0s: expected 1h0m0s or more"}},
		{with(samples, "-duration=-24h"), []string{"spraywatch samples: -duration -24h0m0s: expected 1h0m0s or more"}},
		{with(samples, "-start", "04/12/2026"), []string{`spraywatch samples: -start "04/12/2026": expected an RFC 3339 time such as 2026-12-04T00:00:00Z, or a date such as 2026-12-04`}},
		{with(samples, "-campaigns", "bogus"), []string{`spraywatch samples: -campaigns "bogus": unknown kind "bogus", expected all, none or a list of fast_spray, low_and_slow, distributed, successful_spray, gateway_spray, proxy_bypass, no_cert_spray, batch_spray, token_spray`}},
		{with(samples, "-campaigns", ","), []string{"spraywatch samples: -campaigns is empty: give campaign kinds, all or none"}},

		{with(produce, "--count=-1"), []string{"spraywatch produce: --count -1: expected 0 (no limit) or more"}},
		{with(produce, "--partitions=-1"), []string{"spraywatch produce: --partitions -1: expected 0 (create no topic) or more"}},
		{with(produce, "--max-line-bytes=-1"), []string{"spraywatch produce: --max-line-bytes -1: must not be negative"}},
		{with(produce, "--max-line-bytes", "99999999999999"), []string{"spraywatch produce: --max-line-bytes 99999999999999: expected at most 16777216 (16 MiB)"}},
		{with(produce, "--rate=-5/s"), []string{`spraywatch produce: --rate "-5/s": expected N/s, N/m or N lines per second, N 0 (no limit) or more`}},
		{with(produce, "--rate", "10/h"), []string{`spraywatch produce: --rate "10/h": unit "h", expected s or m`}},
		{with(produce, "--brokers", " , "), []string{`spraywatch produce: --brokers " , ": expected a comma-separated list of HOST:PORT`}},
		{with(produce, "--proxy-format", "auto"), []string{`spraywatch produce: --proxy-format "auto": expected nginx, nginx-json, envoy, envoy-json, haproxy, traefik or alb-access`}},
		{with(produce, "--app-format", "axes"), []string{`spraywatch produce: --app-format "axes": expected django-json, django-axes or python-logging`}},
		{with(produce, "--sasl-mechanism", "SCRAM"), []string{`spraywatch produce: --sasl-mechanism "SCRAM": expected plain, scram-sha-256 or scram-sha-512`}},
		{with(produce, "--tls-key", "client.key"), []string{"spraywatch produce: --tls-cert and --tls-key go together: the client certificate and its key"}},

		{[]string{"rules", "lint", "-max-group-events=-1", "default"}, []string{"spraywatch rules: --max-group-events -1: must not be negative"}},
	} {
		var so, se bytes.Buffer
		code := run(context.Background(), tt.args, &so, &se)
		want := strings.Join(tt.want, "\n") + "\n"
		if code != 2 || se.String() != want || so.Len() > 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr:\n%s\nwant exit 2, nothing on stdout, stderr:\n%s", tt.args, code, so.String(), se.String(), want)
		}
		if _, err := os.Lstat(out); !os.IsNotExist(err) {
			t.Errorf("%q: %s was created (%v)", tt.args, out, err)
			os.RemoveAll(out)
		}
	}
}

// TestHelpAndArguments: every command and subcommand prints its usage on
// stderr and exits 0 for -h (or --help); an argument a command does not
// take, a missing one, or an unknown command or subcommand exits 2.
func TestHelpAndArguments(t *testing.T) {
	for _, tt := range []struct {
		args  []string
		code  int
		usage string // the start of stderr
	}{
		{[]string{"-h"}, 0, "usage: spraywatch <command> [flags]\n"},
		{[]string{"help"}, 0, "usage: spraywatch <command> [flags]\n"},
		{[]string{"replay", "-h"}, 0, "usage: spraywatch replay --proxy FILE... --app FILE... [flags]\n"},
		{[]string{"serve", "-h"}, 0, "usage: spraywatch serve [--role all|correlate|detect] --brokers HOST:PORT [flags]\n"},
		{[]string{"samples", "-h"}, 0, "usage: spraywatch samples [-dir DIR]"},
		{[]string{"config", "-h"}, 0, "usage: spraywatch config check [--serve] FILE\n"},
		{[]string{"config", "check", "-h"}, 0, "usage: spraywatch config check [--serve] FILE\n"},
		{[]string{"rules", "-h"}, 0, "usage: spraywatch rules <subcommand> [flags] FILE...\n"},
		{[]string{"rules", "lint", "-h"}, 0, "usage: spraywatch rules lint [flags] FILE..."},
		{[]string{"rules", "test", "-h"}, 0, "usage: spraywatch rules test TEST_FILE...\n"},
		{[]string{"rules", "import-sigma", "-h"}, 0, "usage: spraywatch rules import-sigma [--partial] [--out FILE] SIGMA_FILE... | --fields\n"},
		{[]string{"eval", "-h"}, 0, "usage: spraywatch eval [-seed N]"},
		{[]string{"produce", "--help"}, 0, "usage: spraywatch produce --brokers HOST:PORT --proxy FILE --app FILE"},
		{[]string{"version", "-h"}, 0, "usage: spraywatch version\n"},

		{[]string{}, 2, "usage: spraywatch <command> [flags]\n"},
		{[]string{"nope"}, 2, "spraywatch: unknown command \"nope\"\n"},
		{[]string{"replay"}, 2, "usage: spraywatch replay --proxy FILE... --app FILE... [flags]\n"},
		{[]string{"replay", "--proxy", "a.log", "b.log"}, 2, "spraywatch replay: unexpected argument \"b.log\" (name files with --proxy and --app)\n"},
		{[]string{"serve", "--listen", "", "--proxy-file", "a.log", "b.log"}, 2, "spraywatch serve: unexpected argument \"b.log\"\n"},
		{[]string{"samples", "out"}, 2, "spraywatch samples: unexpected argument \"out\": samples takes flags only\n"},
		{[]string{"config"}, 2, "usage: spraywatch config check [--serve] FILE\n"},
		{[]string{"config", "lint", "sw.yml"}, 2, "usage: spraywatch config check [--serve] FILE\n"},
		{[]string{"config", "check"}, 2, "usage: spraywatch config check [--serve] FILE\n"},
		{[]string{"config", "check", "a.yml", "b.yml"}, 2, "usage: spraywatch config check [--serve] FILE\n"},
		{[]string{"rules"}, 2, "usage: spraywatch rules <subcommand> [flags] FILE...\n"},
		{[]string{"rules", "check", "a.yml"}, 2, "spraywatch rules: unknown subcommand \"check\"\n"},
		{[]string{"rules", "lint"}, 2, "usage: spraywatch rules lint [flags] FILE..."},
		{[]string{"rules", "test"}, 2, "usage: spraywatch rules test TEST_FILE...\n"},
		{[]string{"rules", "import-sigma"}, 2, "usage: spraywatch rules import-sigma"},
		{[]string{"rules", "import-sigma", "--fields", "a.yml"}, 2, "spraywatch rules: unexpected argument \"a.yml\": --fields takes no file\n"},
		{[]string{"eval", "seeds"}, 2, "spraywatch eval: unexpected argument \"seeds\": eval takes flags only\n"},
		{[]string{"produce", "--proxy", "a.log", "b.log"}, 2, "spraywatch produce: unexpected argument \"b.log\" (name files with --proxy and --app)\n"},
		{[]string{"produce"}, 2, "usage: spraywatch produce --brokers HOST:PORT --proxy FILE --app FILE"},
		{[]string{"version", "extra"}, 2, "spraywatch version: unexpected argument \"extra\": version takes none\n"},
		{[]string{"version", "--short"}, 2, "flag provided but not defined: -short\nusage: spraywatch version\n"},
	} {
		var so, se bytes.Buffer
		code := run(context.Background(), tt.args, &so, &se)
		if code != tt.code || !strings.HasPrefix(se.String(), tt.usage) || so.Len() > 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr:\n%s\nwant exit %d, nothing on stdout, stderr starting %q", tt.args, code, so.String(), se.String(), tt.code, tt.usage)
		}
	}
}
