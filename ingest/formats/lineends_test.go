package formats

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

// TestLineEndingsEveryFormat reads a log of every format as written
// (lines ending with \n) and as a Windows tool or PowerShell exports it:
// lines ending with \r\n, after a UTF-8 byte order mark, plain and
// gzipped. Every way gives the same records, counts and errors: the
// readers drop the byte order mark and the \r, so no parser sees them.
func TestLineEndingsEveryFormat(t *testing.T) {
	haproxyFmt, err := os.ReadFile("../../crossformat/testdata/haproxy.fmt")
	if err != nil {
		t.Fatal(err)
	}
	nginxJSON, err := os.ReadFile("../nginx/testdata/json.conf")
	if err != nil {
		t.Fatal(err)
	}
	pylogDef := "format: '%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s'\n" +
		"message_pattern: '^(?P<event>Failed|Successful) login attempt for username: (?P<username>.*?)(?: from (?P<ip>\\S+))?$'\n" +
		"outcomes: {Failed: failure, Successful: success}\n"
	logs := map[string]struct{ def, file string }{
		"nginx":          {"", "../nginx/testdata/reference.log"},
		"nginx-json":     {string(nginxJSON), "../nginx/testdata/json.log"},
		"envoy":          {"", "../envoy/testdata/default.log"},
		"envoy-json":     {"", "../../crossformat/testdata/envoy.log"},
		"haproxy":        {string(haproxyFmt), "../../crossformat/testdata/haproxy.log"},
		"traefik":        {"", "../traefik/testdata/access.log"},
		"alb-access":     {"", "../alb/testdata/access.log"},
		"django-json":    {"", "../django/testdata/auth.jsonl"},
		"django-axes":    {"%(levelname)-8s [%(asctime)s] [%(request_id)s] %(name)s: %(message)s", "../axes/testdata/axes.log"},
		"python-logging": {pylogDef, "../pylog/testdata/app.log"},
	}
	dir := t.TempDir()
	for _, kind := range []event.Kind{event.Proxy, event.App} {
		names, get := ProxyNames(), Proxy
		if kind == event.App {
			names, get = AppNames(), App
		}
		for _, name := range names {
			t.Run(name, func(t *testing.T) {
				l, ok := logs[name]
				if !ok {
					t.Fatalf("no log of format %s to read", name)
				}
				f, err := get(name, l.def)
				if err != nil {
					t.Fatal(err)
				}
				data, err := os.ReadFile(l.file)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(data, []byte("\r")) {
					t.Fatalf("%s already holds a \\r", l.file)
				}
				lf := filepath.Join(dir, name+".log")
				write(t, lf, data)
				want := readAll(t, kind, f, lf)
				if !strings.Contains(want, " parsed") || strings.Contains(want, " 0 parsed") {
					t.Fatalf("%s: no line of %s read:\n%s", name, l.file, want)
				}
				crlf := append([]byte("\xef\xbb\xbf"), bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))...)
				var gz bytes.Buffer
				zw := gzip.NewWriter(&gz)
				zw.Write(crlf)
				zw.Close()
				for suffix, b := range map[string][]byte{".crlf.log": crlf, ".crlf.log.gz": gz.Bytes()} {
					path := filepath.Join(dir, name+suffix)
					write(t, path, b)
					if got := readAll(t, kind, f, path); got != want {
						t.Errorf("%s: read differently from the \\n file:\n%s\nwant\n%s", suffix, got, want)
					}
				}
			})
		}
	}
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readAll describes the records of path read with f, and its counts and
// errors, without the file's name.
func readAll(t *testing.T, kind event.Kind, f ingest.Format, path string) string {
	t.Helper()
	src := ingest.NewFileSource(ingest.FileSourceConfig{Kind: kind, Paths: []string{path}, Parser: f.NewParser(), Name: "log"})
	var b strings.Builder
	var r event.Record
	for range 100000 {
		err := src.Next(context.Background(), &r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d %q\n", r.Time, r.Values)
	}
	st := src.Stats()
	fmt.Fprintf(&b, "%d lines, %d parsed, %d ignored, %d rejected, %d damaged\n", st.Lines.Load(), st.Parsed.Load(), st.Ignored.Load(), st.Rejected.Load(), st.Damaged.Load())
	for _, err := range st.Errors() {
		fmt.Fprintf(&b, "rejected: %s\n", strings.TrimPrefix(err.Error(), path))
	}
	return b.String()
}
