package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// metricSample is one line of the Prometheus text exposition.
type metricSample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseMetrics reads the Prometheus text format (comments skipped).
func parseMetrics(r io.Reader) ([]metricSample, error) {
	var out []metricSample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' {
			continue
		}
		var s metricSample
		rest := l
		if i := strings.IndexByte(l, '{'); i >= 0 {
			j := strings.LastIndexByte(l, '}')
			if j < i {
				return nil, fmt.Errorf("metrics line %q: unbalanced braces", l)
			}
			s.name = l[:i]
			s.labels = parseLabels(l[i+1 : j])
			rest = strings.TrimSpace(l[j+1:])
		} else {
			name, r, _ := strings.Cut(l, " ")
			s.name, rest = name, strings.TrimSpace(r)
		}
		v, _, _ := strings.Cut(rest, " ")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %v", l, err)
		}
		s.value = f
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseLabels(s string) map[string]string {
	m := map[string]string{}
	for s != "" {
		k, rest, ok := strings.Cut(s, "=\"")
		if !ok {
			break
		}
		var v strings.Builder
		i := 0
		for ; i < len(rest); i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
				v.WriteByte(rest[i])
				continue
			}
			if rest[i] == '"' {
				break
			}
			v.WriteByte(rest[i])
		}
		m[strings.TrimLeft(k, ", ")] = v.String()
		if i+1 >= len(rest) {
			break
		}
		s = rest[i+1:]
	}
	return m
}

// sum adds the samples named name whose labels include want.
func sum(ms []metricSample, name string, want map[string]string) float64 {
	var t float64
	for _, s := range ms {
		if s.name != name {
			continue
		}
		ok := true
		for k, v := range want {
			if s.labels[k] != v {
				ok = false
			}
		}
		if ok {
			t += s.value
		}
	}
	return t
}

func fetch(ctx context.Context, url string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

// waitReady polls http://addr/readyz until it answers 200.
func waitReady(addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last string
	for {
		_, code, err := fetch(ctx, "http://"+addr+"/readyz")
		if err == nil && code == http.StatusOK {
			return nil
		}
		last = fmt.Sprintf("status %d, %v", code, err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s/readyz not ready after %s (last: %s)", addr, timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// countLines counts the newline-terminated lines of a file.
func countLines(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return bytes.Count(b, []byte{'\n'}), nil
}

// consumed reports whether serve's metrics show both files read to their
// last line and every parsed record released to the engine: the processing
// latency histogram observes each record once, when it is handed to the
// engine, so its count reaches the parsed lines of both sources (less the
// records dropped after parsing, time outliers) only when nothing waits in
// the reorder buffer any more.
func consumed(ms []metricSample, proxyLines, appLines int) (bool, string) {
	pr := sum(ms, "spraywatch_lines_read_total", map[string]string{"kind": "proxy"})
	ar := sum(ms, "spraywatch_lines_read_total", map[string]string{"kind": "app"})
	parsed := sum(ms, "spraywatch_lines_parsed_total", nil) - sum(ms, "spraywatch_lines_dropped_total", nil)
	released := sum(ms, "spraywatch_processing_latency_seconds_count", nil)
	state := fmt.Sprintf("proxy lines read %.0f of %d, app lines read %.0f of %d, records released %.0f of %.0f parsed",
		pr, proxyLines, ar, appLines, released, parsed)
	return int(pr) == proxyLines && int(ar) == appLines && released == parsed, state
}

// waitConsumed polls http://addr/metrics until serve has read and released
// every line of the two files, then writes the next metrics page to out.
// Not the page that showed it: a scrape reads each collector at its own
// instant (the latency histogram and the join counters are different
// collectors), so that page may count the last records released and not
// yet joined; the next page is scraped after every record was joined.
func waitConsumed(addr, proxyFile, appFile, out string, timeout time.Duration) error {
	pl, err := countLines(proxyFile)
	if err != nil {
		return err
	}
	al, err := countLines(appFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	state := "no answer"
	for {
		b, code, err := fetch(ctx, "http://"+addr+"/metrics")
		if err == nil && code == http.StatusOK {
			ms, perr := parseMetrics(bytes.NewReader(b))
			if perr != nil {
				return perr
			}
			var done bool
			done, state = consumed(ms, pl, al)
			if done {
				if b, code, err = fetch(ctx, "http://"+addr+"/metrics"); err == nil && code != http.StatusOK {
					err = fmt.Errorf("metrics: status %d", code)
				}
				if err != nil {
					return err
				}
				return os.WriteFile(out, b, 0o644)
			}
		} else {
			state = fmt.Sprintf("status %d, %v", code, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("serve on %s did not consume the logs within %s: %s", addr, timeout, state)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
