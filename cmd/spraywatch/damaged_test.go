package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cutGzip returns the gzip compression of kept and then lost, cut short
// where lost begins, as an interrupted copy leaves it.
func cutGzip(t *testing.T, kept, lost []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(kept)
	if err := zw.Flush(); err != nil {
		t.Fatal(err)
	}
	n := buf.Len()
	zw.Write(lost)
	zw.Close()
	return buf.Bytes()[:n]
}

// TestReplayDamagedGzip replays a proxy log gzipped and cut short with the
// whole application log: the proxy lines before the cut are read, the app
// log is read to its end, the summary says where the proxy file ends, and
// the replay exits 0, with the alerts of the lines before the cut, however
// it parses; --quiet still warns; --strict stops with the damage.
func TestReplayDamagedGzip(t *testing.T) {
	const proxy, app = "../../samples/data/nginx-access.log", "../../samples/data/django-auth.log"
	sample, err := os.ReadFile(proxy)
	if err != nil {
		t.Fatal(err)
	}
	// Cut after line 5000, and in the middle of line 5001.
	end := 0
	for range 5000 {
		end += bytes.IndexByte(sample[end:], '\n') + 1
	}
	dir := t.TempDir()
	atEnd, inLine, head := filepath.Join(dir, "at-end.log.gz"), filepath.Join(dir, "in-line.log.gz"), filepath.Join(dir, "head.log")
	writeFile(t, atEnd, string(cutGzip(t, sample[:end], sample[end:])))
	writeFile(t, inLine, string(cutGzip(t, sample[:end+40], sample[end+40:])))
	writeFile(t, head, string(sample[:end]))

	replay := func(t *testing.T, wantCode int, args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(context.Background(), append([]string{"replay"}, args...), &out, &errb); code != wantCode {
			t.Fatalf("replay %q exited %d, want %d: %s", args, code, wantCode, errb.String())
		}
		return out.String(), errb.String()
	}
	wantAlerts, _ := replay(t, 0, "--proxy", head, "--app", app)
	if strings.Count(wantAlerts, "\n") < 2 {
		t.Fatalf("the first 5000 lines give %d alerts", strings.Count(wantAlerts, "\n"))
	}
	appRead := "django-auth.log: 2345 lines, 2250 parsed, 95 ignored, 0 rejected"

	for _, c := range []struct {
		path    string
		summary []string
	}{
		{atEnd, []string{
			"at-end.log.gz: 5000 lines, 5000 parsed",
			"        damaged: " + atEnd + ": the compressed data ends early after line 5000 (unexpected EOF): the lines after it are lost\n",
		}},
		{inLine, []string{
			"in-line.log.gz: 5001 lines, 5000 parsed",
			"        rejected: " + inLine + ":5001:",
			"        damaged: " + inLine + ": the compressed data ends early after line 5001 (unexpected EOF): the lines after it are lost\n",
		}},
	} {
		for _, mode := range [][]string{nil, {"--parallel=false"}, {"--parse-workers", "3"}} {
			t.Run(fmt.Sprintf("%s %q", filepath.Base(c.path), mode), func(t *testing.T) {
				alerts, summary := replay(t, 0, append([]string{"--proxy", c.path, "--app", app}, mode...)...)
				if alerts != wantAlerts {
					t.Errorf("alerts differ from those of the lines before the cut (%d vs %d lines)", strings.Count(alerts, "\n"), strings.Count(wantAlerts, "\n"))
				}
				for _, s := range append(c.summary, appRead) {
					if !strings.Contains(summary, s) {
						t.Errorf("summary lacks %q:\n%s", s, summary)
					}
				}
				if strings.Contains(summary, "spraywatch replay:") {
					t.Errorf("an error or warning besides the summary:\n%s", summary)
				}
			})
		}
	}

	t.Run("quiet", func(t *testing.T) {
		_, stderr := replay(t, 0, "--quiet", "--proxy", atEnd, "--app", app)
		want := "spraywatch replay: warning: " + atEnd + ": the compressed data ends early after line 5000 (unexpected EOF): the lines after it are lost\n"
		if stderr != want {
			t.Errorf("stderr %q, want %q", stderr, want)
		}
	})
	t.Run("strict", func(t *testing.T) {
		for _, mode := range [][]string{nil, {"--parallel=false"}} {
			_, stderr := replay(t, 1, append([]string{"--strict", "--proxy", atEnd, "--app", app}, mode...)...)
			want := "\nspraywatch replay: " + atEnd + ": the compressed data ends early after line 5000 (unexpected EOF): the lines after it are lost\n"
			if !strings.HasSuffix(stderr, want) {
				t.Errorf("%q: stderr ends %q, want %q", mode, stderr[max(0, len(stderr)-300):], want)
			}
		}
	})
}
