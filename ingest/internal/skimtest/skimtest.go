// Package skimtest holds what the tests of parsers that skim
// (ingest.Skimmer) share: the check that Skim accepts exactly what Parse
// accepts (at least, for a lazy skim) and reads what it says it reads,
// line edits run through that
// check, checks of a parsed record, of a syntax error and of allocations,
// fuzz and benchmark loops, and a replay of the sample day skimmed and not;
// the record checks and the golden-file rendering serve the tests of the
// application log parsers too. It is imported only from _test.go files.
package skimtest

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

// skimFields are the fields Skim reads of a line it does not read in full;
// it must leave every other one empty.
var skimFields = map[event.Field]bool{event.RequestID: true, event.Method: true, event.URLPath: true}

// LoginPOST wants POSTs to a login path in full, as the correlator's
// default login filter does.
func LoginPOST(r *event.Record) bool {
	return bytes.EqualFold(r.Get(event.Method), []byte("POST")) && bytes.Contains(r.Get(event.URLPath), []byte("login"))
}

// Reading says which lines a parser's Skim reads in full.
type Reading int

const (
	// AsWanted is a Skim that reads a line in full exactly when want says
	// so.
	AsWanted Reading = iota
	// AlwaysFull is a Skim whose format can only be checked by the full
	// parse, so that it reads every line in full whatever want says.
	AlwaysFull
)

// CheckSkim skims and parses line with two parsers of one format (skim
// must be an ingest.Skimmer) and checks that they agree, and returns
// Parse's error. It tries want nil, always and LoginPOST, and checks that
// Skim asks want at most once (once if it accepts the line) and reads the
// line in full as reading and want's answer say; that a skim that reads
// the line in full gives Parse's record, or rejects the line as Parse
// does; and that one that does not read it in full gives the parse's kind,
// time, request id, method and path and no other field.
//
// A skim that checks every line (a Skimmer that is not lazy; see
// ingest.LazySkimmer) must accept exactly the lines Parse accepts, with
// Parse's error. A lazy one must accept every line Parse accepts, and may
// accept a line Parse rejects only without reading it in full.
func CheckSkim(t testing.TB, skim, full ingest.Parser, line []byte, reading Reading) (parseErr error) {
	t.Helper()
	sk, ok := skim.(ingest.Skimmer)
	if !ok {
		t.Fatalf("%T is not an ingest.Skimmer", skim)
	}
	lazy := false
	if ls, ok := sk.(ingest.LazySkimmer); ok {
		lazy = ls.SkimsLazily()
	}
	var r event.Record
	perr := full.Parse(line, &r)
	for _, c := range []struct {
		name string
		want func(*event.Record) bool
	}{{"none", nil}, {"all", func(*event.Record) bool { return true }}, {"login", LoginPOST}} {
		var s event.Record
		asked := 0
		want := c.want
		if want != nil {
			want = func(r *event.Record) bool { asked++; return c.want(r) }
		}
		fullRead, serr := sk.Skim(line, &s, want)
		if asked > 1 {
			t.Fatalf("line %q: Skim (%s) asked want %d times", line, c.name, asked)
		}
		switch {
		case serr != nil && perr == nil:
			t.Fatalf("line %q: Skim (%s): %v, Parse accepts it", line, c.name, serr)
		case serr != nil && !lazy && serr.Error() != perr.Error():
			t.Fatalf("line %q: Skim (%s): %v, Parse: %v", line, c.name, serr, perr)
		case serr != nil:
			continue // a lazy skim's error may differ: the line is parsed again for Parse's
		case perr != nil && (!lazy || fullRead):
			t.Fatalf("line %q: Skim (%s) accepts it (read in full: %v), Parse: %v", line, c.name, fullRead, perr)
		}
		if c.want != nil && asked != 1 {
			t.Fatalf("line %q: Skim (%s) accepted it and asked want %d times", line, c.name, asked)
		}
		if wantFull := c.want != nil && c.want(&s) || reading == AlwaysFull; fullRead != wantFull {
			t.Fatalf("line %q: Skim (%s) read in full: %v, want %v", line, c.name, fullRead, wantFull)
		}
		if perr != nil {
			// Accepted lazily: only the fields a skim reads are set.
			for f := range s.Values {
				if fl := event.Field(f); !skimFields[fl] && s.Values[f] != nil {
					t.Fatalf("line %q: Skim (%s) set %s = %q", line, c.name, fl, s.Values[f])
				}
			}
			continue
		}
		if s.Kind != r.Kind || s.Time != r.Time {
			t.Fatalf("line %q: Skim (%s) kind %v time %d, Parse kind %v time %d", line, c.name, s.Kind, s.Time, r.Kind, r.Time)
		}
		for f := range s.Values {
			fl := event.Field(f)
			switch {
			case (fullRead || skimFields[fl]) && !bytes.Equal(s.Values[f], r.Values[f]):
				t.Fatalf("line %q: Skim (%s) %s = %q, Parse %q", line, c.name, fl, s.Values[f], r.Values[f])
			case !fullRead && !skimFields[fl] && s.Values[f] != nil:
				t.Fatalf("line %q: Skim (%s) set %s = %q", line, c.name, fl, s.Values[f])
			}
		}
	}
	return perr
}

// Exact returns f with parsers that check every line as Parse does (see
// ingest.LazySkimmer.CheckAllLines), if they can skim lazily.
func Exact(f ingest.Format) ingest.Format { return exact{f} }

type exact struct{ ingest.Format }

func (e exact) NewParser() ingest.Parser {
	p := e.Format.NewParser()
	if ls, ok := p.(ingest.LazySkimmer); ok {
		ls.CheckAllLines(true)
	}
	return p
}

// lazyAccepts reports whether skim, skimming line lazily and reading none
// in full, accepts it.
func lazyAccepts(skim ingest.Parser, line []byte) bool {
	var s event.Record
	_, err := skim.(ingest.Skimmer).Skim(line, &s, nil)
	return err == nil
}

// CheckLines runs CheckSkim over lines in turn with the same two parsers
// of f, so that what the parsers remember from one line to the next is
// exercised too.
func CheckLines[L string | []byte](t testing.TB, f ingest.Format, reading Reading, lines []L) {
	t.Helper()
	skim, full := f.NewParser(), f.NewParser()
	for _, l := range lines {
		CheckSkim(t, skim, full, []byte(l), reading)
	}
}

// An Edit is a change to a good line, Old replaced by New (no change when
// Old is empty), whether Parse rejects the result, and whether a lazy
// skim that does not read it in full accepts it all the same (Skimmed: a
// value it does not check is bad).
type Edit struct {
	Name     string
	Old, New string
	Reject   bool
	Skimmed  bool
}

// CheckEdits runs CheckSkim, as a subtest each, over the edits of good
// with two parsers of f, and checks that the lines rejected are those the
// edits say: by Parse, by a skim that checks every line, and by a lazy
// skim reading none in full (all but the Skimmed ones).
func CheckEdits(t *testing.T, f ingest.Format, reading Reading, good string, edits []Edit) {
	t.Helper()
	skim, full := f.NewParser(), f.NewParser()
	for _, e := range edits {
		t.Run(e.Name, func(t *testing.T) {
			t.Helper()
			line := good
			if e.Old != "" {
				if !strings.Contains(line, e.Old) {
					t.Fatalf("%q not in the line", e.Old)
				}
				line = strings.Replace(line, e.Old, e.New, 1)
			}
			if e.Skimmed && !e.Reject {
				t.Fatalf("edit %q: Skimmed without Reject", e.Name)
			}
			err := CheckSkim(t, skim, full, []byte(line), reading)
			if (err != nil) != e.Reject {
				t.Fatalf("line %q: error %v, want rejected %v", line, err, e.Reject)
			}
			if ls, ok := skim.(ingest.LazySkimmer); ok && ls.SkimsLazily() && reading == AsWanted {
				if got := lazyAccepts(skim, []byte(line)); got != (!e.Reject || e.Skimmed) {
					t.Fatalf("line %q: lazy skim accepts it: %v, want %v", line, got, !e.Reject || e.Skimmed)
				}
			}
		})
	}
}

// Lines returns the lines of a committed log, leaving out empty lines and
// comments (lines starting with '#'); it fails the test when there are
// none.
func Lines(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(l) > 0 && l[0] != '#' {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		t.Fatalf("no lines in %s", name)
	}
	return lines
}

// BenchRead runs read over lines in turn, the first line once before the
// clock starts, reporting bytes and lines/s.
func BenchRead(b *testing.B, lines [][]byte, read func([]byte, *event.Record) error) {
	b.Helper()
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	var r event.Record
	if err := read(lines[0], &r); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(n / len(lines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := read(lines[i], &r); err != nil {
			b.Fatal(err)
		}
		if i++; i == len(lines) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// CheckSkimAllocs checks that p skims line with LoginPOST, once it has
// skimmed it before, without allocating.
func CheckSkimAllocs(t *testing.T, p ingest.Skimmer, line string) {
	t.Helper()
	var r event.Record
	l := []byte(line)
	if _, err := p.Skim(l, &r, LoginPOST); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, func() { p.Skim(l, &r, LoginPOST) }); n != 0 {
		t.Errorf("line %q: %v allocations per line", line, n)
	}
}
