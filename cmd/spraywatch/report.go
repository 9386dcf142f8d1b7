package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/report"
	"github.com/spraywatch/spraywatch/rules"
)

// reportFlags are the replay flags of the HTML incident report.
type reportFlags struct {
	file        string
	topN        int
	generatedAt bool
}

func (f *reportFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.file, "report", "", "write a self-contained HTML incident report to this `file` (usernames as --privacy says)")
	fs.IntVar(&f.topN, "report-top", report.DefaultTopN, "usernames, addresses and paths listed per incident in the report")
	fs.BoolVar(&f.generatedAt, "report-generated-at", false, "print the wall-clock generation time in the report (otherwise the same input gives a byte-identical report)")
}

// reportRun is the report wiring of one replay; nil when no report is asked.
type reportRun struct {
	file string
	c    *report.Collector
}

// newReportRun returns the report wiring, or nil when --report is not set.
func newReportRun(f *reportFlags, rs []*rules.Rule, p alert.Privacy) *reportRun {
	if f.file == "" {
		return nil
	}
	o := report.Options{Rules: rs, Privacy: p, TopN: f.topN}
	if f.generatedAt {
		o.GeneratedAt = time.Now()
	}
	c := report.New(o)
	// Count on the other core: the engine's goroutine is the replay's
	// critical path.
	c.Background()
	return &reportRun{file: f.file, c: c}
}

// wire hooks the collector into the engine's configuration: it sees every
// authentication event and every alert (before the privacy mode is applied
// to the alert outputs; the report applies the same mode itself).
func (r *reportRun) wire(c *detect.Config) {
	if r == nil {
		return
	}
	if prev := c.OnEvent; prev != nil {
		c.OnEvent = func(ev *event.Event) { prev(ev); r.c.Observe(ev) }
	} else {
		c.OnEvent = r.c.Observe
	}
	c.Sink = r.c.Sink(c.Sink)
}

// write writes the report file once the replay is over.
func (r *reportRun) write(sources []ingest.Source, eng *detect.Engine) error {
	if r == nil {
		return nil
	}
	run := report.Run{Join: eng.JoinStats(), Engine: eng.Stats(), RuleStats: eng.RuleStats()}
	for _, s := range sources {
		run.Sources = append(run.Sources, s.Stats())
	}
	if writtenInPlace(r.file) {
		f, err := os.OpenFile(r.file, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return fmt.Errorf("creating the report: %w", err)
		}
		err = r.c.WriteHTML(f, run) // says it is writing the report
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing the report: %w", cerr)
		}
		return err
	}
	// The report names users and addresses: it is written readable by
	// its owner and group only, to a new file renamed over r.file, so a
	// reader never sees it half written and a symbolic link at r.file is
	// replaced, not followed.
	f, err := os.CreateTemp(filepath.Dir(r.file), "."+filepath.Base(r.file)+".*")
	if err != nil {
		return fmt.Errorf("creating the report: %w", err)
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	if err := f.Chmod(0o640); err != nil {
		f.Close()
		return fmt.Errorf("writing the report: %w", err)
	}
	err = r.c.WriteHTML(f, run) // says it is writing the report
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing the report: %w", cerr)
	}
	if err == nil {
		if err = os.Rename(f.Name(), r.file); err != nil {
			err = fmt.Errorf("writing the report: %w", err)
		}
	}
	return err
}

// writtenInPlace reports whether the report goes to path itself rather
// than to a new file renamed over it: a path under /dev or /proc
// (/dev/stdout, /dev/fd/3, /dev/null), which names a stream, not a file
// of its directory, or a named pipe, a terminal or another character
// device. Renamed over, such a path would be replaced by a regular file
// nobody reads (where the directory lets the process write) and the
// report lost.
func writtenInPlace(path string) bool {
	if abs, err := filepath.Abs(path); err == nil {
		for _, dir := range []string{"/dev", "/proc"} {
			if abs == dir || strings.HasPrefix(abs, dir+"/") {
				return true
			}
		}
	}
	st, err := os.Stat(path)
	return err == nil && st.Mode()&(os.ModeNamedPipe|os.ModeCharDevice) != 0
}
