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

// TestSkimCompletionRejects checks that a line the skim accepted and the
// completion rejects is counted as rejected, with its file and line,
// whether the records come through Prefetch or not.
func TestSkimCompletionRejects(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	if err := os.WriteFile(a, []byte("ok1\nbad1\nskip\nok2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("x\nok3\nbad2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
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
		if st.Lines.Load() != 7 || st.Parsed.Load() != 3 || st.Ignored.Load() != 1 || st.Rejected.Load() != 3 {
			t.Errorf("prefetch %v: lines %d parsed %d ignored %d rejected %d; want 7 3 1 3", prefetch,
				st.Lines.Load(), st.Parsed.Load(), st.Ignored.Load(), st.Rejected.Load())
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
