package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestProduceTooLongLines sends files holding lines over --max-line-bytes:
// produce sends every other line, in order, skips those, warns once per
// file on stderr with the first one's line number, also when --loop reads
// the file again, counts them per file at the end of its closing line and
// exits 0.
func TestProduceTooLongLines(t *testing.T) {
	const maxLine = 1024
	app := fileLines(t, sampleApp)[:5]
	proxy := fileLines(t, sampleProxy)[:6]
	atCap := strings.Repeat("a", maxLine)     // sent: the cap is exact
	overCap := strings.Repeat("b", maxLine+1) // read whole with its newline
	farOver := strings.Repeat("c", 5*maxLine) // more than the reader buffers
	join := func(lines ...string) string { return strings.Join(lines, "\n") + "\n" }
	with := func(lines []string, i int, extra ...string) []string {
		out := append([]string(nil), lines[:i]...)
		out = append(out, extra...)
		return append(out, lines[i:]...)
	}

	for _, c := range []struct {
		name       string
		app, proxy string   // the files' contents; "" for no file
		loop       bool     // --loop, with --count the lines wanted
		wantApp    []string // the lines sent, in order
		wantProxy  []string
		appWarn    int64  // the first over-long line's number, 0 for no warning
		proxyWarn  int64  // the same for the proxy file
		summary    string // after "lines/s)" on the closing line
	}{
		{
			name:      "none over the cap",
			app:       join(with(app, 2, atCap)...),
			proxy:     join(proxy...),
			wantApp:   with(app, 2, atCap),
			wantProxy: proxy,
		},
		{
			name:      "one line in the middle",
			app:       join(with(app, 3, overCap)...),
			proxy:     join(proxy...),
			wantApp:   app,
			wantProxy: proxy,
			appWarn:   4,
			summary:   "; 1 line longer than 1024 bytes skipped (1 in APP)",
		},
		{
			name:      "runs in both files, one at the end without a newline",
			app:       join(with(app, 1, farOver, overCap)...) + farOver,
			proxy:     join(with(proxy, 0, overCap)...),
			wantApp:   app,
			wantProxy: proxy,
			appWarn:   2,
			proxyWarn: 1,
			summary:   "; 4 lines longer than 1024 bytes skipped (1 in PROXY, 3 in APP)",
		},
		{
			name:      "the last line only, without a newline",
			proxy:     join(proxy...) + overCap,
			wantProxy: proxy,
			proxyWarn: 7,
			summary:   "; 1 line longer than 1024 bytes skipped (1 in PROXY)",
		},
		{
			name:    "one line, read three times with --loop",
			app:     join(with(app, 2, farOver)...),
			loop:    true,
			wantApp: append(append(app[:5:5], app...), app...),
			appWarn: 3,
			summary: "; 3 lines longer than 1024 bytes skipped (3 in APP)",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := produceCluster(t, 1)
			dir := t.TempDir()
			appPath, proxyPath := filepath.Join(dir, "auth.log"), filepath.Join(dir, "access.log")
			args := []string{"produce", "--brokers", addr[0], "--proxy-topic", "proxy", "--app-topic", "app",
				"--rate", "0", "--max-line-bytes", fmt.Sprint(maxLine)}
			if c.app != "" {
				writeFile(t, appPath, c.app)
				args = append(args, "--app", appPath)
			}
			if c.proxy != "" {
				writeFile(t, proxyPath, c.proxy)
				args = append(args, "--proxy", proxyPath)
			}
			if c.loop {
				args = append(args, "--loop", "--count", fmt.Sprint(len(c.wantApp)))
			}
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if code := run(ctx, args, &stdout, &stderr); code != 0 {
				t.Fatalf("produce exited %d: %s", code, stderr.String())
			}
			out := stderr.String()

			for _, w := range []struct {
				path string
				line int64
			}{{appPath, c.appWarn}, {proxyPath, c.proxyWarn}} {
				prefix := "spraywatch produce: warning: " + w.path + ": "
				n := strings.Count(out, prefix)
				if w.line == 0 {
					if n != 0 {
						t.Errorf("stderr warns of %s: %q", w.path, out)
					}
					continue
				}
				warning := fmt.Sprintf("%sline %d is longer than 1024 bytes (--max-line-bytes): it is skipped, not sent, as is any other line over the cap (counted at the end)\n", prefix, w.line)
				if n != 1 || !strings.Contains(out, warning) {
					t.Errorf("stderr warns of %s %d times, want once: %q\nstderr: %q", w.path, n, warning, out)
				}
			}

			summary := strings.NewReplacer("APP", appPath, "PROXY", proxyPath).Replace(c.summary)
			closing := regexp.MustCompile(`(?m)^produced ([0-9]+) lines in [0-9.]+s \([0-9]+ lines/s\)(.*)$`).FindStringSubmatch(out)
			switch {
			case closing == nil:
				t.Errorf("no closing line: %q", out)
			case closing[1] != fmt.Sprint(len(c.wantApp)+len(c.wantProxy)) || closing[2] != summary:
				t.Errorf("closing line %q, want %d lines and %q after the rate", closing[0], len(c.wantApp)+len(c.wantProxy), summary)
			}

			checkTopic(t, addr, "app", c.wantApp)
			checkTopic(t, addr, "proxy", c.wantProxy)
		})
	}
}
