package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/rules"
	"github.com/spraywatch/spraywatch/rules/ruletest"
	"github.com/spraywatch/spraywatch/rules/sigma"
)

// runRules is the rules command: lint, test and import-sigma.
func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintln(stderr, `usage: spraywatch rules <subcommand> [flags] FILE...

subcommands:
  lint          check rules files: schema, unknown keys, filters that never match, thresholds that never fire
  test          run rule unit tests (events or log lines -> expected alerts)
  import-sigma  convert Sigma value_count/event_count correlation rules to spraywatch rules`)
	}
	if len(args) == 0 {
		usage()
		return errUsage
	}
	switch args[0] {
	case "lint":
		return runRulesLint(args[1:], stdout, stderr)
	case "test":
		return runRulesTest(ctx, args[1:], stdout, stderr)
	case "import-sigma":
		return runImportSigma(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		usage()
		return flag.ErrHelp
	}
	fmt.Fprintf(stderr, "spraywatch rules: unknown subcommand %q\n", args[0])
	usage()
	return errUsage
}

func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer, synopsis string) error {
	if err := parseArgs(fs, args, stderr, "usage: spraywatch rules "+synopsis); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	return nil
}

func runRulesLint(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rules lint", flag.ContinueOnError)
	extend := fs.Bool("extend", true, "the files extend the default pack (an id of a default rule replaces it)")
	maxEvents := fs.Int("max-group-events", detect.DefaultMaxGroupEvents, "events kept per group window, as configured for replay and serve")
	if err := parseFlags(fs, args, stderr, "lint [flags] FILE... (\"default\" lints the embedded pack)"); err != nil {
		return err
	}
	if err := nonNegative("max-group-events", *maxEvents); err != nil {
		return usageError{err}
	}
	opt := rules.LintOptions{MaxGroupEvents: *maxEvents, Extend: *extend, Now: time.Now()}
	var findings []rules.Finding
	var files []string
	for _, p := range fs.Args() {
		if p == ruletest.DefaultPack {
			findings = append(findings, rules.Lint("default pack", rules.DefaultPack(), rules.LintOptions{MaxGroupEvents: *maxEvents, Now: opt.Now})...)
			continue
		}
		files = append(files, p)
	}
	if len(files) > 0 {
		more, err := rules.LintFiles(files, opt)
		if err != nil {
			return err
		}
		findings = append(findings, more...)
	}
	var errs, warns int
	for _, f := range findings {
		fmt.Fprintln(stdout, f)
		switch f.Level {
		case rules.LevelError:
			errs++
		case rules.LevelWarning:
			warns++
		}
	}
	if errs > 0 {
		return fmt.Errorf("%d error(s), %d warning(s)", errs, warns)
	}
	fmt.Fprintf(stderr, "%d file(s): no errors, %d warning(s)\n", fs.NArg(), warns)
	return nil
}

func runRulesTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rules test", flag.ContinueOnError)
	if err := parseFlags(fs, args, stderr, "test TEST_FILE..."); err != nil {
		return err
	}
	failed, cases := 0, 0
	for _, p := range fs.Args() {
		res, err := ruletest.RunFile(ctx, p)
		if err != nil {
			return err
		}
		res.Write(stdout)
		for _, c := range res.Cases {
			cases++
			if len(c.Failures) > 0 {
				failed++
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d test case(s) failed", failed, cases)
	}
	fmt.Fprintf(stdout, "SUCCESS: %d test case(s) passed\n", cases)
	return nil
}

func runImportSigma(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rules import-sigma", flag.ContinueOnError)
	partial := fs.Bool("partial", false, "write the rules that convert fully and exit 0 even if others cannot be converted")
	out := fs.String("out", "", "write the rules to this `file` instead of stdout")
	fields := fs.Bool("fields", false, "print the Sigma-to-ECS field table and exit")
	if len(args) == 1 && strings.TrimLeft(args[0], "-") == "fields" {
		*fields = true
	} else if err := parseFlags(fs, args, stderr, "import-sigma [--partial] [--out FILE] SIGMA_FILE... | --fields"); err != nil {
		return err
	}
	if *fields {
		if fs.NArg() > 0 {
			return usageError{fmt.Errorf("unexpected argument %q: --fields takes no file", fs.Arg(0))}
		}
		for _, l := range sigma.FieldTable() {
			fmt.Fprintln(stdout, l)
		}
		return nil
	}
	var srcs []sigma.Source
	for _, p := range fs.Args() {
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("reading Sigma rules: %w", err)
		}
		srcs = append(srcs, sigma.Source{Name: p, Data: data})
	}
	res, err := sigma.Convert(srcs)
	if err != nil {
		return fmt.Errorf("converting Sigma rules: %w", err)
	}
	for _, p := range res.Problems {
		fmt.Fprintln(stderr, "cannot convert:", p)
	}
	switch {
	case len(res.Rules) == 0 && len(res.Problems) > 0:
		// --partial would write nothing either: say so rather than
		// suggest it.
		return fmt.Errorf("%d problem(s); no rule could be converted, nothing written", len(res.Problems))
	case len(res.Rules) == 0:
		return errors.New("no rule could be converted")
	case len(res.Problems) > 0 && !*partial:
		return fmt.Errorf("%d problem(s); nothing written (--partial writes the %d rule(s) that convert)", len(res.Problems), len(res.Rules))
	}
	text, err := res.YAML()
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(text)
		return err
	}
	if err := os.WriteFile(*out, text, 0o644); err != nil {
		return fmt.Errorf("writing rules: %w", err)
	}
	fmt.Fprintf(stderr, "wrote %d rule(s) to %s\n", len(res.Rules), *out)
	return nil
}
