package nginx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/dn"
)

// seedLines adds the lines of a testdata log to a fuzz corpus.
func seedLines(f *testing.F, name string) [][]byte {
	f.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	for _, l := range lines {
		f.Add(l)
	}
	return lines
}

// checkRecord verifies the invariants of a parsed record: canonical
// identity values and an error type callers can rely on.
func checkRecord(t *testing.T, line []byte, r *event.Record, err error) {
	t.Helper()
	if err != nil {
		var se *ingest.SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("Parse(%q) = %v (%T), want *ingest.SyntaxError", line, err, err)
		}
		return
	}
	if r.Kind != event.Proxy {
		t.Fatalf("Parse(%q): kind %v", line, r.Kind)
	}
	for _, c := range r.Get(event.TLSSHA1) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			t.Fatalf("Parse(%q): fingerprint %q is not lowercase hex", line, r.Get(event.TLSSHA1))
		}
	}
	if s := r.Get(event.TLSSerial); len(s) > 1 && s[0] == '0' {
		t.Fatalf("Parse(%q): serial %q has a leading zero", line, s)
	}
	for _, fl := range []event.Field{event.TLSSubject, event.TLSIssuer} {
		v := r.Get(fl)
		again, err := dn.Canonical(nil, v)
		if err != nil || !bytes.Equal(again, v) {
			t.Fatalf("Parse(%q): %s %q is not canonical (%q, %v)", line, fl, v, again, err)
		}
	}
}

func FuzzParseText(f *testing.F) {
	lines := seedLines(f, "reference.log")
	// Client-chosen user names holding the literal after them.
	for _, u := range []string{"x [y", `] \x22`, "[04/Dec/2026:00:00:00 +0000]", "a [04/Dec/2026:00:00:00 +0000] [b"} {
		f.Add(bytes.Replace(lines[0], []byte(" - - ["), []byte(" - "+u+" ["), 1))
	}
	p := Default().NewParser()
	f.Fuzz(func(t *testing.T, line []byte) {
		var r event.Record
		err := p.Parse(line, &r)
		checkRecord(t, line, &r, err)
	})
}

func FuzzParseJSON(f *testing.F) {
	seedLines(f, "json.log")
	fm, err := Compile(jsonDirective)
	if err != nil {
		f.Fatal(err)
	}
	p := fm.NewParser()
	f.Fuzz(func(t *testing.T, line []byte) {
		var r event.Record
		err := p.Parse(line, &r)
		checkRecord(t, line, &r, err)
	})
}

func FuzzCompile(f *testing.F) {
	for _, d := range []string{
		Reference,
		jsonDirective,
		`$remote_addr:$remote_port $msec "$request" $status rid=$request_id "$ssl_client_s_dn"`,
		"# c\nlog_format f\n  '${remote_addr} [$time_local]'  # x\n  \"\\\"$request\\\"\";\n",
		`log_format t escape=json '$time_iso8601 "$http_user_agent" $ssl_client_escaped_cert';`,
		`log_format j escape=json '{"a":{"b":"$time_iso8601 x$status"},"c":$msec}';`,
		`$time_iso8601 $status$body_bytes_sent`,
	} {
		f.Add(d)
	}
	ref, err := os.ReadFile(filepath.Join("testdata", "reference.log"))
	if err != nil {
		f.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join("testdata", "json.log"))
	if err != nil {
		f.Fatal(err)
	}
	lines := append(bytes.Split(ref, []byte("\n")), bytes.Split(js, []byte("\n"))...)
	f.Fuzz(func(t *testing.T, directive string) {
		fm, err := Compile(directive)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile(%q) = %v (%T), want *CompileError", directive, err, err)
			}
			return
		}
		p := fm.NewParser()
		for _, l := range lines {
			var r event.Record
			err := p.Parse(l, &r)
			checkRecord(t, l, &r, err)
		}
	})
}
