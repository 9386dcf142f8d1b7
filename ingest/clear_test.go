package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/formats"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

// TestNoStaleValue reads the sample logs of every format, forwards and then
// backwards so that lines with a value follow lines without it and the
// reverse, in every way a source hands out records: FileSource.Next and
// PrefetchParallel's workers, parsing in full or skimming (and completing
// the partial records). Parsers set only the values their line has, in a
// record cleared by whoever hands it to them (see ingest.Parser): each
// record must be the one its line parses to alone, with no value of an
// earlier line left in it, and a partial record must hold nothing but what
// a skim reads.
func TestNoStaleValue(t *testing.T) {
	for _, c := range []struct {
		kind        event.Kind
		format, def string
		defFile     string // under ingest/: the definition, when def is empty
		log         string // under ingest/
	}{
		{event.Proxy, "nginx", "", "", "nginx/testdata/reference.log"},
		{event.Proxy, "nginx", "", "", "nginx/testdata/corpus.log"},
		{event.Proxy, "nginx", "", "nginx/testdata/json.conf", "nginx/testdata/json.log"},
		{event.Proxy, "envoy", "", "", "envoy/testdata/default.log"},
		{event.Proxy, "haproxy", "", "", "haproxy/testdata/mtls.log"},
		{event.Proxy, "traefik", "", "", "traefik/testdata/access.log"},
		{event.Proxy, "alb-access", "", "", "alb/testdata/access.log"},
		{event.App, "django-json", "", "", "django/testdata/auth.jsonl"},
		{event.App, "django-axes", "%(levelname)-8s [%(asctime)s] [%(request_id)s] %(name)s: %(message)s", "", "axes/testdata/axes.log"},
		{event.App, "python-logging", `
format: "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
message_pattern: '^(?P<event>Failed|Successful) login attempt for username: (?P<username>.*?)(?: from (?P<ip>\S+))?$'
outcomes: {Failed: failure, Successful: success}
`, "", "pylog/testdata/app.log"},
	} {
		t.Run(c.format+"/"+filepath.Base(c.log), func(t *testing.T) {
			compile := formats.App
			if c.kind == event.Proxy {
				compile = formats.Proxy
			}
			def := c.def
			if c.defFile != "" {
				b, err := os.ReadFile(c.defFile)
				if err != nil {
					t.Fatal(err)
				}
				def = string(b)
			}
			f, err := compile(c.format, def)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(c.log)
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
			back := slices.Clone(lines)
			slices.Reverse(back)
			lines = append(lines, back...)
			path := filepath.Join(t.TempDir(), "both-ways.log")
			if err := os.WriteFile(path, append(bytes.Join(lines, []byte("\n")), '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			want := alone(f, c.kind, lines)
			if !stale(want) {
				t.Fatal("no record lacks a value that the record before it has: the log tests nothing")
			}
			_, skims := f.NewParser().(ingest.Skimmer)
			for _, skim := range []bool{false, true} {
				if skim && !skims {
					continue
				}
				for _, workers := range []int{0, 1, 2} {
					t.Run(fmt.Sprintf("skim=%v/workers=%d", skim, workers), func(t *testing.T) {
						fs := ingest.NewFileSource(ingest.FileSourceConfig{Kind: c.kind, Paths: []string{path}, Parser: f.NewParser(), NewParser: f.NewParser})
						if skim {
							fs.Skim(skimtest.LoginPOST)
						}
						var src ingest.Source = fs
						if workers > 0 {
							p := ingest.PrefetchParallel(context.Background(), fs, workers)
							defer p.Close()
							src = p
						}
						checkRecords(t, src, want)
					})
				}
			}
		})
	}
}

// alone returns the records of the lines that parse, each parsed alone
// with a parser of its own.
func alone(f ingest.Format, kind event.Kind, lines [][]byte) []event.Record {
	var recs []event.Record
	for _, l := range lines {
		r := event.Record{Kind: kind}
		if f.NewParser().Parse(l, &r) == nil {
			recs = append(recs, r)
		}
	}
	return recs
}

// stale reports whether a record of recs lacks a value the record before
// it has.
func stale(recs []event.Record) bool {
	for i := 1; i < len(recs); i++ {
		for f := range event.NumFields {
			if len(recs[i-1].Values[f]) > 0 && len(recs[i].Values[f]) == 0 {
				return true
			}
		}
	}
	return false
}

// checkRecords reads src to its end and checks that its records are want,
// and that a partial one holds no value but its line's.
func checkRecords(t *testing.T, src ingest.Source, want []event.Record) {
	t.Helper()
	var r event.Record
	for i := 0; ; i++ {
		err := src.Next(context.Background(), &r)
		if errors.Is(err, io.EOF) {
			if i != len(want) {
				t.Fatalf("%d records, want %d", i, len(want))
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(want) {
			t.Fatalf("more than the %d records wanted", len(want))
		}
		w := &want[i]
		got := &r
		if r.Partial() {
			for f := range event.NumFields {
				if v := r.Values[f]; len(v) > 0 && !bytes.Equal(v, w.Values[f]) {
					t.Errorf("record %d: partial, with %v = %q, want %q", i, event.Field(f), v, w.Values[f])
				}
			}
			if got, err = r.Complete(); err != nil {
				t.Fatalf("record %d: completing: %v", i, err)
			}
		}
		if g, w := describe(got), describe(w); g != w {
			t.Fatalf("record %d:\n got %s\nwant %s", i, g, w)
		}
	}
}

// describe renders a record's kind, time and values.
func describe(r *event.Record) string {
	return r.Kind.String() + " " + skimtest.FormatRecord(r)
}
