package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spraywatch/spraywatch/evaluate"
	"github.com/spraywatch/spraywatch/samples"
)

// runEval replays generated, labelled corpora through the rules and prints
// per campaign whether and how fast it was detected, and the false alerts.
func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	seed := fs.Int64("seed", 1, "first generator seed")
	seeds := fs.Int("seeds", 1, "number of seeds, from -seed on")
	scale := fs.Float64("scale", 1, "size of the organisation and its traffic (1 = the committed samples)")
	duration := fs.Duration("duration", 24*time.Hour, "length of each generated period")
	kinds := fs.String("campaigns", "all", "comma-separated campaign `kinds` to generate ("+strings.Join(samples.AttackKinds, ", ")+
		"; opt-in: "+strings.Join(samples.OptInKinds, ", ")+"), all (every kind but the opt-in ones) or none")
	var ruleFiles listFlag
	fs.Var(&ruleFiles, "rules", "rules `file` (repeatable)")
	rulesMode := fs.String("rules-mode", "extend", "extend: rules files add to the default pack; replace: only the files' rules")
	if err := parseArgs(fs, args, stderr,
		"usage: spraywatch eval [-seed N] [-seeds N] [-scale F] [-campaigns KINDS] [--rules FILE]",
	); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	errs := sampleFlagErrors(*duration, *scale)
	if *seeds < 1 {
		errs = append([]error{fmt.Errorf("-seeds %d: expected 1 or more", *seeds)}, errs...)
	}
	camps, err := campaignKinds(*kinds)
	if err != nil {
		errs = append(errs, err)
	}
	if err := oneOf("rules-mode", *rulesMode, "extend", "replace"); err != nil {
		errs = append(errs, err)
	} else if *rulesMode == "replace" && len(ruleFiles) == 0 {
		errs = append(errs, errors.New("--rules-mode replace needs at least one --rules file"))
	}
	if len(errs) > 0 {
		return usageError{errors.Join(errs...)}
	}
	rs, err := loadRules(ruleFiles, *rulesMode)
	if err != nil {
		return err
	}
	var failures []string
	for i := range *seeds {
		cfg := samples.DefaultConfig()
		cfg.Seed, cfg.Scale, cfg.Duration, cfg.Campaigns = *seed+int64(i), *scale, *duration, camps
		res, err := evaluate.Run(ctx, evaluate.Config{Samples: cfg, Rules: rs})
		if err != nil {
			return err
		}
		if err := res.WriteTable(stdout); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
		failures = append(failures, res.Failures()...)
	}
	if len(failures) > 0 {
		for _, f := range failures {
			fmt.Fprintln(stdout, "target missed:", f)
		}
		return fmt.Errorf("%d target(s) missed", len(failures))
	}
	fmt.Fprintf(stdout, "all targets met over %d seed(s): every campaign detected, no false alert, fast spray within %s\n", *seeds, evaluate.FastSprayDelay)
	return nil
}
