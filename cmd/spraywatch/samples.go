package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spraywatch/spraywatch/samples"
)

// parseStart reads the -start flag: an RFC 3339 time, or a date, which
// stands for its midnight UTC. The time is returned in UTC.
func parseStart(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("-start %q: expected an RFC 3339 time such as 2026-12-04T00:00:00Z, or a date such as 2026-12-04", v)
}

func runSamples(_ context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("samples", flag.ContinueOnError)
	def := samples.DefaultConfig()
	dir := fs.String("dir", "samples-out", "write nginx-access.log, django-auth.log and campaigns.json into this `directory`")
	seed := fs.Int64("seed", def.Seed, "random seed: the same seed gives the same bytes")
	start := fs.String("start", def.Start.Format(time.RFC3339), "event time of the first line: an RFC 3339 time, or a date (its midnight UTC)")
	dur := fs.Duration("duration", def.Duration, "length of the generated period")
	scale := fs.Float64("scale", def.Scale, "size of the organisation and its traffic (1 = the bundled samples)")
	kinds := fs.String("campaigns", "all", "comma-separated campaign `kinds` to include ("+strings.Join(samples.AttackKinds, ", ")+
		"; opt-in: "+strings.Join(samples.OptInKinds, ", ")+"), all (every kind but the opt-in ones) or none")
	if err := parseArgs(fs, args, stderr, "usage: spraywatch samples [-dir DIR] [-seed N] [-scale F] [-duration D] [-start T] [-campaigns KINDS]"); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	errs := sampleFlagErrors(*dur, *scale)
	t, err := parseStart(*start)
	if err != nil {
		errs = append(errs, err)
	}
	kindList, err := campaignKinds(*kinds)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return usageError{errors.Join(errs...)}
	}
	cfg := def
	cfg.Seed, cfg.Duration, cfg.Scale, cfg.Start, cfg.Campaigns = *seed, *dur, *scale, t, kindList
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	create := func(name string) (*os.File, *bufio.Writer, error) {
		f, err := os.Create(filepath.Join(*dir, name))
		if err != nil {
			return nil, nil, err
		}
		return f, bufio.NewWriterSize(f, 1<<20), nil
	}
	pf, pw, err := create("nginx-access.log")
	if err != nil {
		return err
	}
	defer pf.Close()
	af, aw, err := create("django-auth.log")
	if err != nil {
		return err
	}
	defer af.Close()
	camps, st, err := samples.Generate(cfg, pw, aw)
	if err != nil {
		return err // it says it was generating samples
	}
	for _, w := range []*bufio.Writer{pw, aw} {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	lf, lw, err := create("campaigns.json")
	if err != nil {
		return err
	}
	defer lf.Close()
	if err := samples.WriteLabels(lw, camps); err != nil {
		return err
	}
	if err := lw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %d proxy lines, %d app lines and %d labels to %s\n", st.ProxyLines, st.AppLines, len(camps), *dir)
	return nil
}

// sampleFlagErrors returns the errors of the -duration and -scale that
// samples.Generate refuses.
func sampleFlagErrors(dur time.Duration, scale float64) []error {
	var errs []error
	if dur < samples.MinDuration {
		errs = append(errs, fmt.Errorf("-duration %s: expected %s or more", dur, samples.MinDuration))
	}
	if !(scale > 0) || scale > samples.MaxScale {
		errs = append(errs, fmt.Errorf("-scale %v: expected above 0, at most %v", scale, samples.MaxScale))
	}
	return errs
}

// campaignKinds reads -campaigns: all (nil, every kind but the opt-in
// ones), none, or a list of kinds.
func campaignKinds(v string) ([]string, error) {
	switch strings.TrimSpace(v) {
	case "all":
		return nil, nil
	case "none":
		return []string{}, nil
	}
	kinds := splitList(v)
	if len(kinds) == 0 {
		return nil, errors.New("-campaigns is empty: give campaign kinds, all or none")
	}
	for _, k := range kinds {
		if !slices.Contains(samples.AttackKinds, k) && !slices.Contains(samples.OptInKinds, k) {
			return nil, fmt.Errorf("-campaigns %q: unknown kind %q, expected all, none or a list of %s",
				v, k, strings.Join(append(slices.Clone(samples.AttackKinds), samples.OptInKinds...), ", "))
		}
	}
	return kinds, nil
}
