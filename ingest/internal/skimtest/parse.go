package skimtest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/x509cert/certtest"
)

// CheckParse parses line with p and checks the record (see CheckRecord).
// It returns the record.
func CheckParse(t *testing.T, p ingest.Parser, line, when string, want map[event.Field]string) *event.Record {
	t.Helper()
	r := new(event.Record)
	if err := p.Parse([]byte(line), r); err != nil {
		t.Fatal(err)
	}
	CheckRecord(t, r, when, want)
	return r
}

// CheckRecord checks that r holds the time when (RFC 3339; not checked
// when empty) and the field values want, every field not in want empty.
func CheckRecord(t *testing.T, r *event.Record, when string, want map[event.Field]string) {
	t.Helper()
	if when != "" {
		tm, err := time.Parse(time.RFC3339Nano, when)
		if err != nil {
			t.Fatal(err)
		}
		if r.Time != tm.UnixNano() {
			t.Errorf("time = %v, want %v", time.Unix(0, r.Time).UTC(), tm)
		}
	}
	for f := event.Field(0); int(f) < event.NumFields; f++ {
		if got := string(r.Get(f)); got != want[f] {
			t.Errorf("%v = %q, want %q", f, got, want[f])
		}
	}
}

// CheckSyntaxError checks that p rejects line with an *ingest.SyntaxError
// whose message contains msg.
func CheckSyntaxError(t *testing.T, p ingest.Parser, line, msg string) {
	t.Helper()
	var r event.Record
	err := p.Parse([]byte(line), &r)
	var se *ingest.SyntaxError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), msg) {
		t.Errorf("Parse(%q) = %v, want a SyntaxError mentioning %q", line, err, msg)
	}
}

// CheckAccepted checks, for fuzz targets, that a line p accepts has a time
// and identity fields in canonical form (see certtest.CheckIdentity).
func CheckAccepted(t *testing.T, p ingest.Parser, line string) {
	t.Helper()
	var r event.Record
	if err := p.Parse([]byte(line), &r); err == nil {
		if r.Time == 0 {
			t.Fatalf("accepted %q without a time", line)
		}
		certtest.CheckIdentity(t, &r)
	}
}

// CheckParseAllocs checks that p parses line, once it has parsed it
// before, without allocating.
func CheckParseAllocs(t *testing.T, p ingest.Parser, line string) {
	t.Helper()
	var r event.Record
	l := []byte(line)
	if err := p.Parse(l, &r); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, func() { p.Parse(l, &r) }); n != 0 {
		t.Errorf("line %q: %v allocations per line", line, n)
	}
}

// CheckLog runs CheckLines over the lines of a committed log (see Lines),
// each line twice so that what the parsers remember is exercised.
func CheckLog(t *testing.T, f ingest.Format, reading Reading, name string) {
	t.Helper()
	lines := Lines(t, name)
	CheckLines(t, f, reading, append(lines, lines...))
}

// Fuzz runs CheckSkim over the fuzzed lines with two parsers of f. The
// caller adds the seeds.
func Fuzz(f *testing.F, fm ingest.Format, reading Reading) {
	skim, full := fm.NewParser(), fm.NewParser()
	f.Fuzz(func(t *testing.T, line []byte) {
		CheckSkim(t, skim, full, line, reading)
	})
}

// BenchParse parses line with p over and over (see BenchRead).
func BenchParse(b *testing.B, p ingest.Parser, line string) {
	b.Helper()
	BenchRead(b, [][]byte{[]byte(line)}, p.Parse)
}

// BenchSkim skims line with p and LoginPOST over and over (see
// BenchRead); compare with BenchParse of the same line.
func BenchSkim(b *testing.B, p ingest.Skimmer, line string) {
	b.Helper()
	BenchRead(b, [][]byte{[]byte(line)}, func(l []byte, r *event.Record) error {
		_, err := p.Skim(l, r, LoginPOST)
		return err
	})
}

// BenchAny parses line with p over and over into a reset record, whatever
// Parse returns, so that lines a parser filters out (ingest.ErrIgnore) are
// measured too; it reports bytes and lines/s.
func BenchAny(b *testing.B, p ingest.Parser, line string) {
	b.Helper()
	l := []byte(line)
	var r event.Record
	b.SetBytes(int64(len(l)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset()
		p.Parse(l, &r)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
