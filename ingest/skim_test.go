package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// laxParser is a wordParser whose skim accepts more than its parse: "bad"
// lines too. It stands for a skim that leaves a check to the completion.
type laxParser struct{ wordParser }

func (l laxParser) Skim(line []byte, r *event.Record, want func(*event.Record) bool) (bool, error) {
	if !bytes.HasPrefix(line, []byte("ok")) && !bytes.HasPrefix(line, []byte("bad")) {
		return false, &SyntaxError{Column: 1, Msg: `expected "ok"`}
	}
	r.Set(event.RequestID, line)
	if want != nil && want(r) {
		return true, l.Parse(line, r)
	}
	return false, nil
}

func (laxParser) NewParser() Parser { return laxParser{} }

// writeLaxLogs writes two logs for laxParser: lines it accepts (ok*),
// lines its skim accepts and its parse rejects (bad*), and lines its skim
// rejects (skip, x).
func writeLaxLogs(t *testing.T) (a, b string) {
	t.Helper()
	dir := t.TempDir()
	a, b = filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	if err := os.WriteFile(a, []byte("ok1\nbad1\nskip\nok2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("x\nok3\nbad2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// TestSkimCompletionRejects checks that a line the skim accepted and the
// completion rejects is counted as rejected, with its file and line,
// whether the records come through Prefetch or not.
func TestSkimCompletionRejects(t *testing.T) {
	a, b := writeLaxLogs(t)
	for _, prefetch := range []bool{false, true} {
		fs := NewFileSource(FileSourceConfig{Kind: event.Proxy, Paths: []string{a, b}, Parser: laxParser{}})
		fs.Skim(func(r *event.Record) bool { return bytes.Equal(r.Get(event.RequestID), []byte("ok2")) })
		var src Source = fs
		if prefetch {
			p := Prefetch(context.Background(), fs, 2)
			defer p.Close()
			src = p
		}
		var got []string
		var r event.Record
		for {
			err := src.Next(context.Background(), &r)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			partial := r.Partial()
			full, err := r.Complete()
			if err != nil {
				got = append(got, "rejected")
				continue
			}
			if full.Partial() || full.Kind != event.Proxy {
				t.Fatalf("completed record: partial %v, kind %v", full.Partial(), full.Kind)
			}
			name := string(full.Get(event.UserName))
			if !partial {
				name += " (full)"
			}
			got = append(got, name)
		}
		want := []string{"1", "rejected", "2 (full)", "3", "rejected"}
		if len(got) != len(want) {
			t.Fatalf("prefetch %v: got %q, want %q", prefetch, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("prefetch %v: got %q, want %q", prefetch, got, want)
			}
		}
		st := fs.Stats()
		if st.Lines.Load() != 7 || st.Parsed.Load() != 5 || st.Incomplete.Load() != 2 || st.Records() != 3 || st.Ignored.Load() != 1 || st.Rejected.Load() != 3 {
			t.Errorf("prefetch %v: lines %d parsed %d incomplete %d records %d ignored %d rejected %d; want 7 5 2 3 1 3", prefetch,
				st.Lines.Load(), st.Parsed.Load(), st.Incomplete.Load(), st.Records(), st.Ignored.Load(), st.Rejected.Load())
		}
		var msgs []string
		for _, err := range st.Errors() {
			msgs = append(msgs, err.Error())
		}
		// Through Prefetch, the reader may reject a later line before the
		// consumer completes an earlier one: the order may differ.
		sort.Strings(msgs)
		wantMsgs := []string{a + `:2:1: expected "ok"`, b + `:1:1: expected "ok"`, b + `:3:1: expected "ok"`}
		if len(msgs) != 3 || msgs[0] != wantMsgs[0] || msgs[1] != wantMsgs[1] || msgs[2] != wantMsgs[2] {
			t.Errorf("prefetch %v: errors %q, want %q", prefetch, msgs, wantMsgs)
		}
	}
}

// TestSkimNeedsSkimmer checks that a parser that cannot skim, or no
// predicate, parses every line in full.
func TestSkimNeedsSkimmer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.log")
	if err := os.WriteFile(path, []byte("ok1\nok2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p    Parser
		want func(*event.Record) bool
	}{{wordParser{}, func(*event.Record) bool { return false }}, {laxParser{}, nil}} {
		src := NewFileSource(FileSourceConfig{Kind: event.Proxy, Paths: []string{path}, Parser: c.p})
		src.Skim(c.want)
		var r event.Record
		for src.Next(context.Background(), &r) == nil {
			if r.Partial() || len(r.Get(event.UserName)) == 0 {
				t.Errorf("%T: record not parsed in full: %q", c.p, r.Values)
			}
		}
	}
}

// TestPrefetchPartialRecords checks that partial records, with values short
// enough to travel inline and longer ones, come out of Prefetch as from
// the source itself.
func TestPrefetchPartialRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.log")
	var lines []string
	for i := range 40 {
		lines = append(lines, "ok"+strings.Repeat(string(rune('a'+i%26)), i*7))
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(prefetch bool) []string {
		fs := NewFileSource(FileSourceConfig{Kind: event.Proxy, Paths: []string{path}, Parser: laxParser{}})
		fs.Skim(func(r *event.Record) bool { return len(r.Get(event.RequestID))%3 == 0 })
		var src Source = fs
		if prefetch {
			p := Prefetch(context.Background(), fs, 3)
			defer p.Close()
			src = p
		}
		var out []string
		var r event.Record
		for {
			err := src.Next(context.Background(), &r)
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			full, err := r.Complete()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%v %d %q %q %q", r.Partial(), r.RawLine, r.Raw, r.Values, full.Values))
		}
	}
	direct, ahead := read(false), read(true)
	if len(direct) != len(lines) {
		t.Fatalf("%d records, want %d", len(direct), len(lines))
	}
	for i := range direct {
		if direct[i] != ahead[i] {
			t.Fatalf("record %d:\n direct   %s\n prefetch %s", i, direct[i], ahead[i])
		}
	}
}

// lazyParser is a laxParser that is a LazySkimmer: skimming lazily (the
// default) it accepts "bad" lines it does not read in full, and after
// CheckAllLines(true) it accepts exactly the lines Parse accepts.
type lazyParser struct{ all bool }

func (l *lazyParser) Parse(line []byte, r *event.Record) error { return wordParser{}.Parse(line, r) }

func (l *lazyParser) Skim(line []byte, r *event.Record, want func(*event.Record) bool) (bool, error) {
	if l.all && !bytes.HasPrefix(line, []byte("ok")) {
		return false, &SyntaxError{Column: 1, Msg: `expected "ok"`}
	}
	return laxParser{}.Skim(line, r, want)
}

func (l *lazyParser) NewParser() Parser      { return &lazyParser{all: l.all} }
func (l *lazyParser) CheckAllLines(all bool) { l.all = all }
func (l *lazyParser) SkimsLazily() bool      { return !l.all }

var _ LazySkimmer = (*lazyParser)(nil)

// TestSkimLazyCounts checks the counts of a source whose skimmer skims
// lazily, read directly, through Prefetch and through PrefetchParallel:
// the lines it did not read in full are counted in Skimmed, of Parsed; a
// line whose completion fails, or whose record its reader drops
// (Stats.Unparse), leaves Records and SkimmedRecords but stays in Parsed
// and Skimmed, which never go down; a malformed line is rejected when it
// is read with CheckAllLines, and never counted in Skimmed; Lines is
// always Records + Ignored + Rejected.
func TestSkimLazyCounts(t *testing.T) {
	a, b := writeLaxLogs(t)
	type counts struct{ parsed, skimmed, ignored, rejected int64 }
	tests := []struct {
		name     string
		all      bool
		consume  string // what the reader does with partial records: "complete", "keep" or "drop"
		read     counts // before the reader handles the records
		want     counts
		rejected []string // the records rejected, in order
	}{
		{name: "lazy, completed", consume: "complete",
			read: counts{5, 4, 1, 1}, want: counts{3, 2, 1, 3}, rejected: []string{"bad1", "bad2"}},
		{name: "lazy, kept partial", consume: "keep",
			read: counts{5, 4, 1, 1}, want: counts{5, 4, 1, 1}},
		{name: "lazy, dropped", consume: "drop",
			read: counts{5, 4, 1, 1}, want: counts{1, 0, 1, 5}, rejected: []string{"ok1", "bad1", "ok3", "bad2"}},
		{name: "check all lines, completed", all: true, consume: "complete",
			read: counts{3, 0, 1, 3}, want: counts{3, 0, 1, 3}},
		{name: "check all lines, dropped", all: true, consume: "drop",
			read: counts{3, 0, 1, 3}, want: counts{1, 0, 1, 5}, rejected: []string{"ok1", "ok3"}},
	}
	for _, tt := range tests {
		for _, how := range []string{"next", "prefetch", "parallel"} {
			t.Run(tt.name+"/"+how, func(t *testing.T) {
				fs := NewFileSource(FileSourceConfig{Kind: event.Proxy, Paths: []string{a, b}, Parser: &lazyParser{}})
				// CheckAllLines before or after Skim: the same.
				if how == "next" {
					fs.CheckAllLines(tt.all)
				}
				fs.Skim(func(r *event.Record) bool { return bytes.Equal(r.Get(event.RequestID), []byte("ok2")) })
				fs.CheckAllLines(tt.all)
				var src Source = fs
				switch how {
				case "prefetch":
					p := Prefetch(context.Background(), fs, 2)
					defer p.Close()
					src = p
				case "parallel":
					p := PrefetchParallel(context.Background(), fs, 2)
					defer p.Close()
					src = p
				}
				var recs []event.Record
				for {
					var r event.Record
					err := src.Next(context.Background(), &r)
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					r.Raw = bytes.Clone(r.Raw)
					r.Set(event.RequestID, bytes.Clone(r.Get(event.RequestID)))
					recs = append(recs, r)
				}
				st := fs.Stats()
				check := func(when string, c counts) {
					t.Helper()
					got := counts{st.Records(), st.SkimmedRecords(), st.Ignored.Load(), st.Rejected.Load()}
					if got != c {
						t.Errorf("%s: records, skimmed records, ignored, rejected %v, want %v", when, got, c)
					}
					if n := st.Lines.Load(); n != 7 || n != got.parsed+got.ignored+got.rejected {
						t.Errorf("%s: %d lines, want 7 = records + ignored + rejected %v", when, n, got)
					}
					if n := st.Parsed.Load() + st.Ignored.Load() + st.Rejected.Load() - st.Outliers.Load() - st.Incomplete.Load(); n != 7 {
						t.Errorf("%s: parsed + ignored + rejected - outliers - incomplete = %d, want the 7 lines", when, n)
					}
				}
				check("read", tt.read)
				parsed, skimmed := st.Parsed.Load(), st.Skimmed.Load()
				var rejected []string
				for i := range recs {
					r := &recs[i]
					if !r.Partial() {
						continue
					}
					switch tt.consume {
					case "complete":
						if _, err := r.Complete(); err != nil {
							rejected = append(rejected, string(r.Raw))
						}
					case "drop":
						st.Unparse(r)
						st.Reject(fmt.Errorf("dropped %s", r.Raw))
						rejected = append(rejected, string(r.Raw))
					}
				}
				check("consumed", tt.want)
				// The counters only grow: Prometheus takes a decrease for a
				// restart.
				if p, k := st.Parsed.Load(), st.Skimmed.Load(); p != parsed || k != skimmed {
					t.Errorf("consumed: parsed %d, skimmed %d; want them unchanged since read (%d, %d)", p, k, parsed, skimmed)
				}
				if fmt.Sprint(rejected) != fmt.Sprint(tt.rejected) {
					t.Errorf("rejected %q, want %q", rejected, tt.rejected)
				}
			})
		}
	}
}
