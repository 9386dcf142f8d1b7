// Command samplegen writes a generated day of nginx mTLS access logs and
// Django authentication logs, with the labels of the spraying campaigns they
// contain. Run from the repository root with no flags, it rewrites the
// committed sample files in samples/data.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spraywatch/spraywatch/samples"
)

func main() {
	def := samples.DefaultConfig()
	seed := flag.Int64("seed", def.Seed, "random seed")
	start := flag.String("start", def.Start.Format(time.RFC3339), "start of the period (RFC 3339)")
	duration := flag.Duration("duration", def.Duration, "length of the period")
	scale := flag.Float64("scale", def.Scale, "size: 1 is the committed sample, larger for benchmark corpora")
	campaigns := flag.String("campaigns", "all", `comma-separated attack kinds to include, "all" (every kind but the opt-in ones) or "none"`)
	proxy := flag.String("proxy", "samples/data/nginx-access.log", "proxy (nginx) log to write")
	app := flag.String("app", "samples/data/django-auth.log", "application (Django) log to write")
	labels := flag.String("labels", "samples/data/campaigns.json", "campaign labels to write")
	flag.Parse()

	t, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fatal(fmt.Errorf("parsing -start: %w", err))
	}
	cfg := samples.Config{Seed: *seed, Start: t.UTC(), Duration: *duration, Scale: *scale}
	switch *campaigns {
	case "all":
	case "none":
		cfg.Campaigns = []string{}
	default:
		cfg.Campaigns = strings.Split(*campaigns, ",")
	}
	if err := run(cfg, *proxy, *app, *labels); err != nil {
		fatal(err)
	}
}

func run(cfg samples.Config, proxyPath, appPath, labelsPath string) error {
	began := time.Now()
	pf, err := os.Create(proxyPath)
	if err != nil {
		return err
	}
	defer pf.Close()
	af, err := os.Create(appPath)
	if err != nil {
		return err
	}
	defer af.Close()
	cs, st, err := samples.Generate(cfg, pf, af)
	if err != nil {
		return err
	}
	if err := pf.Close(); err != nil {
		return err
	}
	if err := af.Close(); err != nil {
		return err
	}
	lf, err := os.Create(labelsPath)
	if err != nil {
		return err
	}
	defer lf.Close()
	w := bufio.NewWriter(lf)
	if err := samples.WriteLabels(w, cs); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := lf.Close(); err != nil {
		return err
	}
	el := time.Since(began)
	fmt.Fprintf(os.Stderr, "samplegen: %d proxy lines to %s, %d app lines to %s, %d labels to %s in %v (%.0f lines/s)\n",
		st.ProxyLines, proxyPath, st.AppLines, appPath, len(cs), labelsPath, el.Round(time.Millisecond),
		float64(st.ProxyLines+st.AppLines)/el.Seconds())
	return nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "samplegen:", err)
	os.Exit(1)
}
