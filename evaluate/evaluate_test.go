package evaluate

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/samples"
)

// TestDefaultPackMeetsTargets replays several draws of the labelled corpus
// through the default pack: every attack campaign detected, no alert on a
// hard negative or on benign traffic, the fast spray within two minutes.
func TestDefaultPackMeetsTargets(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		cfg := samples.DefaultConfig()
		cfg.Seed = seed
		res, err := Run(context.Background(), Config{Samples: cfg, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Campaigns) < len(samples.AttackKinds) {
			t.Fatalf("seed %d: %d labels", seed, len(res.Campaigns))
		}
		// Each campaign is caught by the detector written for it.
		own := map[string]string{
			samples.KindFastSpray: "cert-identity-spray", samples.KindLowAndSlow: "cert-identity-slow-spray",
			samples.KindDistributed: "subnet-distributed-spray", samples.KindSuccessfulSpray: "successful-spray",
			samples.KindGatewaySpray: "shared-cert-spray-baseline", samples.KindProxyBypass: "proxy-bypass",
			samples.KindNoCertSpray: "no-cert-source-spray",
		}
		for _, c := range res.Campaigns {
			if r, ok := own[c.Kind]; ok && !slices.Contains(c.Rules, r) {
				t.Errorf("seed %d: %s not caught by %s (rules: %v)", seed, c.ID, r, c.Rules)
			}
		}
		if f := res.Failures(); len(f) > 0 {
			var b strings.Builder
			res.WriteTable(&b)
			t.Errorf("seed %d misses targets:\n%s\n%s", seed, strings.Join(f, "\n"), b.String())
		}
	}
}

// corpus generates the corpus of cfg into a temporary directory and
// returns its labels and the paths of its proxy and app logs.
func corpus(t *testing.T, cfg samples.Config) (labels []samples.Campaign, proxyPath, appPath string) {
	t.Helper()
	dir := t.TempDir()
	proxyPath, appPath = filepath.Join(dir, "nginx-access.log"), filepath.Join(dir, "django-auth.log")
	labels, err := generate(cfg, proxyPath, appPath)
	if err != nil {
		t.Fatal(err)
	}
	return labels, proxyPath, appPath
}

// TestDamagedCorpusFails replays a corpus whose proxy log is gzipped and
// damaged: the evaluation fails with the damage, naming the file and where
// its data ends, rather than scoring the lines before it. The whole corpus
// gzipped is scored as the plain one.
func TestDamagedCorpusFails(t *testing.T) {
	cfg := samples.DefaultConfig()
	cfg.Seed = 1
	labels, proxyPath, appPath := corpus(t, cfg)
	plain, err := os.ReadFile(proxyPath)
	if err != nil {
		t.Fatal(err)
	}
	want, err := replayCorpus(context.Background(), nil, labels, proxyPath, appPath)
	if err != nil {
		t.Fatal(err)
	}
	// The first half of the lines, compressed and flushed, then the rest
	// compressed: cut where the rest begins, as an interrupted copy.
	half := 0
	for range bytes.Count(plain, []byte("\n")) / 2 {
		half += bytes.IndexByte(plain[half:], '\n') + 1
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(plain[:half])
	if err := zw.Flush(); err != nil {
		t.Fatal(err)
	}
	cut := buf.Len()
	zw.Write(plain[half:])
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	whole := append([]byte(nil), buf.Bytes()...)
	checksum := append([]byte(nil), whole...)
	checksum[len(checksum)-8] ^= 1 // the CRC-32, before the length
	lines := bytes.Count(plain, []byte("\n"))

	for _, c := range []struct {
		name   string
		data   []byte
		damage string // "" for none
	}{
		{"whole", whole, ""},
		{"cut short", whole[:cut], fmt.Sprintf("%s: the compressed data ends early after line %d (unexpected EOF)", proxyPath, lines/2)},
		{"failing its checksum", checksum, fmt.Sprintf("%s: the compressed data fails its checksum after line %d", proxyPath, lines)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(proxyPath, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := replayCorpus(context.Background(), nil, labels, proxyPath, appPath)
			if c.damage == "" {
				if err != nil {
					t.Fatal(err)
				}
				if res.Events != want.Events || res.Records != want.Records || len(res.Failures()) != len(want.Failures()) {
					t.Errorf("gzipped: %d events, %d alert records, %d failures; plain: %d, %d, %d",
						res.Events, res.Records, len(res.Failures()), want.Events, want.Records, len(want.Failures()))
				}
				return
			}
			if err == nil {
				t.Fatalf("a damaged corpus scored: %d events, %d alert records", res.Events, res.Records)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "evaluating: the corpus was not read whole: ") || !strings.Contains(msg, c.damage) {
				t.Errorf("error %q, want the damage %q", msg, c.damage)
			}
		})
	}
}

// TestRejectedCorpusLinesFail replays a corpus with lines added that the
// parsers reject or that are over the line cap: the evaluation fails,
// naming each file with lines rejected, how many, and the first one's
// error, rather than scoring the lines read. The corpus as generated is
// read whole.
func TestRejectedCorpusLinesFail(t *testing.T) {
	cfg := samples.DefaultConfig()
	cfg.Seed = 1
	labels, proxyPath, appPath := corpus(t, cfg)
	proxy, err := os.ReadFile(proxyPath)
	if err != nil {
		t.Fatal(err)
	}
	app, err := os.ReadFile(appPath)
	if err != nil {
		t.Fatal(err)
	}
	proxyLines, appLines := bytes.Count(proxy, []byte("\n")), bytes.Count(app, []byte("\n"))
	overCap := strings.Repeat("x", ingest.DefaultMaxLineBytes+1) + "\n"

	for _, c := range []struct {
		name       string
		proxy, app string   // appended to the files
		want       []string // in the error; none for no error
	}{
		{name: "as generated"},
		{
			name: "a malformed app line",
			app:  "not a log line\n",
			want: []string{fmt.Sprintf("%s: 1 line rejected (0 too long), the first: %s:%d:", appPath, appPath, appLines+1)},
		},
		{
			name:  "a proxy line over the cap",
			proxy: overCap,
			want:  []string{fmt.Sprintf("%s: 1 line rejected (1 too long), the first: %s:%d: line longer than %d bytes skipped", proxyPath, proxyPath, proxyLines+1, ingest.DefaultMaxLineBytes)},
		},
		{
			name:  "both files",
			proxy: "{}\n" + overCap,
			app:   overCap + "{\n",
			want: []string{
				fmt.Sprintf("%s: 2 lines rejected (1 too long), the first: %s:%d:", proxyPath, proxyPath, proxyLines+1),
				fmt.Sprintf("%s: 2 lines rejected (1 too long), the first: %s:%d: line longer than %d bytes skipped", appPath, appPath, appLines+1, ingest.DefaultMaxLineBytes),
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			writeFile(t, proxyPath, string(proxy)+c.proxy)
			writeFile(t, appPath, string(app)+c.app)
			res, err := replayCorpus(context.Background(), nil, labels, proxyPath, appPath)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("a corpus with lines rejected scored: %d events, %d alert records", res.Events, res.Records)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "evaluating: the corpus was not read whole: ") {
				t.Errorf("error %q, want it to say the corpus was not read whole", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if n := strings.Count(msg, " rejected ("); n != len(c.want) {
				t.Errorf("error names %d files with lines rejected, want %d: %q", n, len(c.want), msg)
			}
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
