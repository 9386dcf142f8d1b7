package certtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

// Golden parses every line of the file in (blank lines and lines starting
// with "##" are skipped) with f and compares a rendering of the records, or
// of the errors, with the file golden. With update set it rewrites golden.
func Golden(t *testing.T, f ingest.Format, in, golden string, update bool) {
	t.Helper()
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	p := f.NewParser()
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 || bytes.HasPrefix(line, []byte("##")) {
			continue
		}
		fmt.Fprintf(&out, "line %d:", n)
		var r event.Record
		if err := p.Parse(line, &r); err != nil {
			fmt.Fprintf(&out, " error: %v\n", err)
			continue
		}
		out.WriteString(Render(&r))
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("records differ from %s (run with -update after checking):\n--- got\n%s--- want\n%s", golden, out.Bytes(), want)
	}
}

// Render writes a record's time and non-empty fields on one line.
func Render(r *event.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, " @timestamp=%s", time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano))
	for f := event.Field(0); int(f) < event.NumFields; f++ {
		if v := r.Get(f); len(v) > 0 {
			if f == event.TLSCertificate && len(v) > 24 {
				v = append(v[:20:20], "..."...)
			}
			fmt.Fprintf(&b, " %s=%q", f, v)
		}
	}
	return b.String()
}
