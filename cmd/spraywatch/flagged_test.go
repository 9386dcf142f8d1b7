package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// flaggedCases are sources whose parsers flag lines, one reason each, and
// how many lines of theirs are flagged.
func flaggedCases(t *testing.T) []struct {
	name, source, reason, summary string
	n                             int
} {
	t.Helper()
	return []struct {
		name, source, reason, summary string
		n                             int
	}{
		{"axes masked", "axes", "masked", "django-axes+log axes: %d lines with masked values", 3000},
		{"axes ambiguous", "axes", "ambiguous", "django-axes+log axes: %d lines with an ambiguous client string (", 3000},
		{"traefik certificate headers", "edge", "cert_header_ignored", "traefik edge: %d lines with certificate headers ignored", 3000},
		{"split lines unjoined", "docker", "split_unjoined", "django-axes+log docker: %d split lines dropped unjoined", 40},
		{"split lines headless", "docker", "split_headless", "django-axes+log docker: %d ends of split lines rejected, their head dropped", 40},
		{"alb several Self fields", "lb", "several_self", "        %d requests without a request id: several Self fields", 1500},
	}
}

// writeFlaggedSources writes the log of each reason of flaggedCases (n
// lines flagged) and the configuration reading them, and returns it.
func writeFlaggedSources(t *testing.T, dir, reason string, n int) string {
	t.Helper()
	axes := func(body string) string {
		return `AXES: New login failure by {` + body + `, path_info: \"/accounts/login/\"}. Creating new record in the cache.`
	}
	docker := func(log, stream string) string {
		return `{"log":"` + log + `","stream":"` + stream + `","time":"2026-12-04T09:00:02.000000000Z"}`
	}
	var b strings.Builder
	var src string
	switch reason {
	case "masked", "ambiguous":
		body := `username: \"********************\", ip_address: \"********************\", user_agent: \"curl/8.5.0\"`
		if reason == "ambiguous" {
			body = `username: \"carol\", ip_address: \"203.0.113.9\", user_agent: \"x\", ip_address: \"198.51.100.1\"`
		}
		for range n {
			b.WriteString(docker(axes(body)+`\n`, "stderr") + "\n")
			b.WriteString(docker(axes(`username: \"bob\", ip_address: \"203.0.113.9\", user_agent: \"curl/8.5.0\"`)+`\n`, "stderr") + "\n")
		}
		src = "  - {name: axes, kind: app, format: django-axes, envelope: auto, paths: [log]}\n"
	case "cert_header_ignored":
		for i := range n {
			fmt.Fprintf(&b, `{"ClientHost":"203.0.113.9","ClientPort":"40112","DownstreamStatus":200,"RequestMethod":"POST","RequestPath":"/accounts/login/","StartUTC":"2026-12-04T09:00:08Z","request_X-Forwarded-Tls-Client-Cert-Info":"Subject%%3D%%22CN%%3Dvictim%%22","request_X-Request-Id":"r%d"}`+"\n", i)
			fmt.Fprintf(&b, `{"ClientHost":"203.0.113.9","ClientPort":"40112","DownstreamStatus":200,"RequestMethod":"GET","RequestPath":"/","StartUTC":"2026-12-04T09:00:08Z","request_X-Request-Id":"s%d"}`+"\n", i)
		}
		src = "  - {name: edge, kind: proxy, format: traefik, paths: [log]}\n"
	case "split_unjoined", "split_headless":
		// A Docker 16 KiB part, another writer's entry (dropped unjoined),
		// and the end of the part's line (rejected, its head dropped).
		head := axes(`username: \"dan\", ip_address: \"203.0.113.9\", user_agent: \"`)
		part := head + strings.Repeat("a", 16384-len(strings.ReplaceAll(head, `\"`, `"`)))
		for range n {
			b.WriteString(docker(part, "stdout") + "\n")
			b.WriteString(`{"time":"2026-12-04T09:00:06.000000000Z","stream":"stdout","_p":"F","log":"` + axes(`username: \"eve\", ip_address: \"203.0.113.9\", user_agent: \"x\"`) + `"}` + "\n")
			b.WriteString(docker(`\", path_info: \"/accounts/login/\"}. Creating new record in the cache.\n`, "stdout") + "\n")
		}
		src = "  - {name: docker, kind: app, format: django-axes, envelope: log, paths: [log]}\n"
	case "several_self":
		data, err := os.ReadFile("../../ingest/alb/testdata/access.log")
		if err != nil {
			t.Fatal(err)
		}
		line := strings.Split(string(data), "\n")[1]
		several := strings.Replace(line, "Self=1-6751a0b2-aaaaaaaaaaaaaaaaaaaaaaaa;", "Self=1-6751a0b2-aaaaaaaaaaaaaaaaaaaaaaaa;Self=1-6751a0b2-bbbbbbbbbbbbbbbbbbbbbbbb;", 1)
		if several == line {
			t.Fatal("no Self field in the ALB sample line")
		}
		for range n {
			b.WriteString(several + "\n" + line + "\n")
		}
		src = "  - {name: lb, kind: alb, access_paths: [log]}\n"
	default:
		t.Fatalf("no log for reason %s", reason)
	}
	writeFile(t, filepath.Join(dir, "log"), b.String())
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, "sources:\n"+src)
	return cfg
}

var metricsAddr = regexp.MustCompile(`serving metrics on http://([^/]+)/metrics`)

// flaggedMetric returns the value of lines_flagged_total{reason,source}
// in a /metrics page.
func flaggedMetric(t *testing.T, page, reason, source string) int {
	t.Helper()
	re := regexp.MustCompile(`(?m)^spraywatch_lines_flagged_total\{[^}]*reason="` + reason + `",source="` + source + `"\} (\d+)$`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no lines_flagged_total{reason=%q,source=%q} in /metrics:\n%s", reason, source, page)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestReplayFlaggedLines replays a log of each flag reason, read by one or
// several parse workers: the summary prints the flagged lines, and
// /metrics counts as many in lines_flagged_total.
func TestReplayFlaggedLines(t *testing.T) {
	for _, tc := range flaggedCases(t) {
		for _, workers := range []string{"1", "3"} {
			t.Run(tc.name+"/workers="+workers, func(t *testing.T) {
				dir := t.TempDir()
				cfg := writeFlaggedSources(t, dir, tc.reason, tc.n)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var stdout, stderr syncBuffer
				done := make(chan int, 1)
				go func() {
					done <- run(ctx, []string{"replay", "--config", cfg, "--parallel", "--parse-workers", workers,
						"--metrics-listen", "127.0.0.1:0", "--metrics-hold", "1m"}, &stdout, &stderr)
				}()
				deadline := time.Now().Add(30 * time.Second)
				for !strings.Contains(stderr.String(), "holding /metrics") {
					select {
					case code := <-done:
						t.Fatalf("replay ended (exit %d) before holding /metrics: %s", code, stderr.String())
					case <-time.After(10 * time.Millisecond):
					}
					if time.Now().After(deadline) {
						t.Fatalf("replay did not finish: %s", stderr.String())
					}
				}
				summary := stderr.String()
				m := metricsAddr.FindStringSubmatch(summary)
				if m == nil {
					t.Fatalf("no metrics address: %s", summary)
				}
				resp, err := http.Get("http://" + m[1] + "/metrics")
				if err != nil {
					t.Fatal(err)
				}
				page, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				cancel()
				if code := <-done; code != 0 {
					t.Fatalf("exit %d: %s", code, stderr.String())
				}
				checkContains(t, "summary", summary, fmt.Sprintf(tc.summary, tc.n))
				if got := flaggedMetric(t, string(page), tc.reason, tc.source); got != tc.n {
					t.Errorf("lines_flagged_total{reason=%q} = %d, want %d", tc.reason, got, tc.n)
				}
			})
		}
	}
}
