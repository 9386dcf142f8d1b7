package main

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/metrics"
)

// TestServeListenerLimits: serve's listener (/healthz, /readyz, /metrics)
// is the server metrics.NewHTTPServer builds: headers over
// metrics.DefaultHTTPLimits().MaxHeaderBytes are refused, not buffered up to net/http's
// 1 MiB default.
func TestServeListenerLimits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, `sources:
  - {kind: proxy, paths: [`+abs(t, sampleProxy)+`]}
  - {kind: app, paths: [`+abs(t, sampleApp)+`]}
outputs:
  - {type: file, path: `+filepath.Join(dir, "alerts.jsonl")+`}
`)
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--config", cfg}, &stdout, &stderr)
	}()
	listening := regexp.MustCompile(`msg="serving /healthz, /readyz, /metrics" addr=(\S+)`)
	var addr string
	deadline := time.After(time.Minute)
	for addr == "" {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		case <-deadline:
			t.Fatalf("serve did not listen within a minute: %s", stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		}
	}
	get := func(header string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/healthz", nil)
		if err != nil {
			t.Fatal(err)
		}
		if header != "" {
			req.Header.Set("X-Big", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(strings.Repeat("a", 4*metrics.DefaultHTTPLimits().MaxHeaderBytes)); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d for %d bytes of headers, want 431", code, 4*metrics.DefaultHTTPLimits().MaxHeaderBytes)
	}
	if code := get(""); code != http.StatusOK && code != http.StatusServiceUnavailable {
		t.Errorf("status %d for /healthz", code)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, stderr.String())
	}
}
