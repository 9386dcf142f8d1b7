package skimtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

// FormatRecord renders a record as its time (Unix nanoseconds) and its
// non-empty fields: `time=N name="value" ...`.
func FormatRecord(r *event.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "time=%d", r.Time)
	for f := range event.NumFields {
		if v := r.Get(event.Field(f)); len(v) > 0 {
			fmt.Fprintf(&b, " %s=%q", event.Field(f), v)
		}
	}
	return b.String()
}

// ParseFile parses each line of the file name with p and renders a line
// for each: "N: " and what p makes of it (see Parsed).
func ParseFile(t *testing.T, p ingest.Parser, name string) []byte {
	t.Helper()
	in, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out bytes.Buffer
	sc := bufio.NewScanner(in)
	for n := 1; sc.Scan(); n++ {
		fmt.Fprintf(&out, "%d: %s\n", n, Parsed(p, sc.Bytes()))
	}
	return out.Bytes()
}

// Parsed renders what p makes of line: the error, or the record (see
// FormatRecord).
func Parsed(p ingest.Parser, line []byte) string {
	var r event.Record
	if err := p.Parse(line, &r); err != nil {
		return err.Error()
	}
	return FormatRecord(&r)
}

// CheckGolden compares got with the file golden, which it first rewrites
// with got when update is set (failing t when it cannot).
func CheckGolden(t *testing.T, golden string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s:\n%s", golden, got)
	}
}
