package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/samples"
)

var reportScreenshot = flag.Bool("report-screenshot", false, "rewrite docs/report-samples.png from the browser test")

func sampleReport(t *testing.T, extra ...string) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.html")
	replaySamples(t, append([]string{"--quiet", "--report", path}, extra...)...)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

// TestReplayReportDeterministic: the report of the same input is
// byte-identical, and carries the replay's own figures.
func TestReplayReportDeterministic(t *testing.T) {
	_, first := sampleReport(t)
	_, second := sampleReport(t)
	if string(first) != string(second) {
		t.Fatal("two reports of the samples differ")
	}
	_, summary := replaySamples(t)
	m := regexp.MustCompile(`join: (\d+) matched, (\d+) app_only, (\d+) proxy_only`).FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("no join line in the summary:\n%s", summary)
	}
	want := `<td class="n">` + m[1] + `</td><td class="n">` + m[2] + `</td><td class="n">` + m[3] + `</td>`
	if !strings.Contains(string(first), want) {
		t.Errorf("the report's join health lacks %s", want)
	}
	for _, s := range []string{"samples/data/nginx-access.log", "samples/data/django-auth.log", `id="incident-table"`} {
		if !strings.Contains(string(first), s) {
			t.Errorf("report lacks %q", s)
		}
	}
}

// chromium returns Debian's chromium, installing it with the project's
// script when missing; the test is skipped only if that fails.
func chromium(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "../../scripts/ensure-debian-packages.sh", "chromium").CombinedOutput()
	if err != nil {
		t.Skipf("Debian chromium is not installed and installing it failed (%v): %s", err, out)
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Skipf("chromium still not found after installing: %v", err)
	}
	return p
}

func headless(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

type renderStatus struct {
	OK     bool     `json:"ok"`
	Errors []string `json:"errors"`
	Rows   int      `json:"rows"`
	Charts []struct {
		ID     string  `json:"id"`
		Width  float64 `json:"width"`
		Height float64 `json:"height"`
		Nodes  int     `json:"nodes"`
	} `json:"charts"`
}

// TestReportInBrowser loads the samples' report in headless Chromium: the
// page's script ran without errors, every chart has a size, and a
// screenshot renders.
func TestReportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	bin := chromium(t)
	path, page := sampleReport(t)
	url := "file://" + path

	dom := string(headless(t, bin, "--virtual-time-budget=3000", "--dump-dom", url))
	m := regexp.MustCompile(`<pre id="render-status"[^>]*data-done="1"[^>]*>(.*?)</pre>`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page's script did not finish (no render status in the DOM):\n%.2000s", dom)
	}
	var st renderStatus
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &st); err != nil {
		t.Fatalf("render status %q: %v", m[1], err)
	}
	if !st.OK || len(st.Errors) > 0 {
		t.Errorf("script errors: %v", st.Errors)
	}
	wantCharts := strings.Count(string(page), `<svg class="chart"`)
	if wantCharts < 2 || len(st.Charts) != wantCharts {
		t.Errorf("browser saw %d charts, the page has %d (want the overview and one per incident)", len(st.Charts), wantCharts)
	}
	for _, c := range st.Charts {
		if c.Width <= 0 || c.Height <= 0 || c.Nodes == 0 {
			t.Errorf("chart %s rendered %vx%v with %d nodes", c.ID, c.Width, c.Height, c.Nodes)
		}
	}
	if want := strings.Count(string(page), `<tr data-sev=`); st.Rows != want {
		t.Errorf("script sees %d incident rows, page has %d", st.Rows, want)
	}

	shot := filepath.Join(t.TempDir(), "report.png")
	headless(t, bin, "--hide-scrollbars", "--window-size=1280,3300", "--screenshot="+shot, url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	b := img.Bounds()
	if b.Dx() != 1280 || b.Dy() != 3300 {
		t.Errorf("screenshot is %dx%d, want 1280x3300", b.Dx(), b.Dy())
	}
	colours := map[uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[(r>>8)<<16|(g>>8)<<8|bl>>8] = true
		}
	}
	if len(colours) < 20 {
		t.Errorf("screenshot has %d colours: the page did not render", len(colours))
	}
	if *reportScreenshot {
		data, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("../../docs/report-samples.png", data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkReplayReport replays a generated corpus (samples scale 50,
// about 540 k lines; BENCH_REPORT_SCALE overrides) with and without
// --report: the difference is the report's overhead.
func BenchmarkReplayReport(b *testing.B) {
	scale := 50.0
	if s := os.Getenv("BENCH_REPORT_SCALE"); s != "" {
		if _, err := fmt.Sscan(s, &scale); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	proxy, app := filepath.Join(dir, "nginx.log"), filepath.Join(dir, "django.log")
	pf, err := os.Create(proxy)
	if err != nil {
		b.Fatal(err)
	}
	af, err := os.Create(app)
	if err != nil {
		b.Fatal(err)
	}
	cfg := samples.DefaultConfig()
	cfg.Scale = scale
	_, _, err = samples.Generate(cfg, pf, af)
	if err != nil {
		b.Fatal(err)
	}
	pf.Close()
	af.Close()
	lines := countLines(b, proxy) + countLines(b, app)
	for _, mode := range []string{"plain", "report"} {
		b.Run(mode, func(b *testing.B) {
			args := []string{"replay", "--quiet", "--proxy", proxy, "--app", app, "--out", os.DevNull}
			if mode == "report" {
				args = append(args, "--report", filepath.Join(dir, "report.html"))
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var errb strings.Builder
				if code := run(context.Background(), args, io.Discard, &errb); code != 0 {
					b.Fatalf("replay exited %d: %s", code, errb.String())
				}
			}
			b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

func countLines(b *testing.B, path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return bytes.Count(data, []byte{'\n'})
}
