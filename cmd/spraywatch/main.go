// Command spraywatch detects password spraying behind mutual TLS by joining
// reverse-proxy access logs (certificate identity, request id) with Django
// authentication logs (username, outcome).
//
// Usage:
//
//	spraywatch replay --proxy access.log --app auth.log [flags]
//	spraywatch serve --brokers HOST:PORT [--role all|correlate|detect] [flags]
//	spraywatch serve --proxy-file GLOB --app-file GLOB [--state-dir DIR] [flags]
//	spraywatch serve --config spraywatch.yml [flags]
//	spraywatch config check [--serve] spraywatch.yml
//	spraywatch rules lint|test|import-sigma FILE...
//	spraywatch eval [-seeds N]
//	spraywatch samples [flags]
//	spraywatch produce --brokers HOST:PORT --proxy FILE --app FILE [flags]
//	spraywatch version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	// The time zones of the sources' time_zone settings, in the binary, so
	// that it reads them where the system has no zone database (a
	// container without /usr/share/zoneinfo).
	_ "time/tzdata"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"replay", "detect spraying in finished log files", runReplay},
		{"serve", "detect spraying continuously in Kafka topics or followed files (at-least-once)", runServe},
		{"samples", "write a generated day of sample logs with labelled campaigns", runSamples},
		{"config", "check a configuration file and show what each source extracts from its first lines", runConfig},
		{"rules", "lint rules files, run rule unit tests, import Sigma correlation rules", runRules},
		{"eval", "measure detection on generated, labelled corpora (per campaign, false alerts)", runEval},
		{"produce", "send sample logs to Kafka topics at a chosen rate (demo producer)", runProduce},
		{"version", "print the version", runVersion},
	}
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if err := parseArgs(fs, args, stderr, "usage: spraywatch version"); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q: version takes none", fs.Arg(0))}
	}
	fmt.Fprintln(stdout, "spraywatch", version)
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal asks for a clean stop; a second one ends the
		// process at once (a stop can wait on an output that blocks, a
		// stdout nobody reads, for up to serve's --shutdown-timeout).
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		}
		// Each line of the error (errors.Join puts one per error) says
		// which command it is of.
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "spraywatch %s: %s\n", c.name, line)
		}
		if errors.As(err, new(usageError)) {
			return 2
		}
		return 1
	}
	fmt.Fprintf(stderr, "spraywatch: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

// errUsage reports a command line that was already explained to the user.
var errUsage = errors.New("usage")

// usageError is a bad command line that its message explains: printed as
// other errors are, it makes the command exit 2.
type usageError struct{ error }

// parseArgs parses a command's flags; usage is printed, line by line, above
// the flag defaults. It returns flag.ErrHelp for -h and errUsage for a bad
// flag (the flag package has said why). Flags may come before, between and
// after the other arguments (file names), which fs.Args returns in order;
// "--" ends the flags, so that a file name may start with "-".
func parseArgs(fs *flag.FlagSet, args []string, stderr io.Writer, usage ...string) error {
	fs.SetOutput(stderr)
	fs.Usage = func() {
		for _, l := range usage {
			fmt.Fprintln(stderr, l)
		}
		fs.PrintDefaults()
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return errUsage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		// Parsing stopped at an argument that is not a flag: the
		// flags after it are parsed next.
		pos, args = append(pos, rest[0]), rest[1:]
	}
	// fs.Args returns the arguments that are not flags.
	return fs.Parse(append([]string{"--"}, pos...))
}

// noArgs refuses the arguments that are not flags of a command that takes
// none.
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q: %s takes flags only", fs.Arg(0), fs.Name())}
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: spraywatch <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'spraywatch <command> -h' for a command's flags.")
}

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string { return fmt.Sprint([]string(*l)) }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}
