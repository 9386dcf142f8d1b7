package alert

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestOpenFromYAMLRoutes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir := t.TempDir()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	doc := fmt.Sprintf(`
outputs:
  - type: file
    name: all
    path: %[1]s/all.jsonl
    max_bytes: 1048576
    keep: 3
  - type: file
    name: high-spray
    path: %[1]s/high.jsonl
    min_severity: high
    rules: [spray.distinct_users]
  - type: syslog
    network: udp
    address: %[2]s
    facility: local4
    min_severity: critical
    retry_initial: 10ms
    drain_timeout: 2s
`, dir, pc.LocalAddr())
	var cfg struct {
		Outputs []Config `yaml:"outputs"`
	}
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Outputs[2].RetryInitial != 10*time.Millisecond {
		t.Fatalf("retry_initial decoded as %v", cfg.Outputs[2].RetryInitial)
	}
	f, err := Open(ctx, cfg.Outputs)
	if err != nil {
		t.Fatal(err)
	}
	send := func(rule, sev string, seq int) {
		a := testAlert("i", seq, "u")
		a.Rule, a.Severity = rule, sev
		if err := f.Send(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	send("spray.distinct_users", SeverityLow, 1)
	send("spray.distinct_users", SeverityHigh, 2)
	send("other", SeverityCritical, 3)
	send("spray.distinct_users", SeverityCritical, 4)
	got := make(chan string, 4)
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			got <- string(buf[:n])
		}
	}()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	seqs := func(name string) string {
		fh, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		var s []int
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var a Alert
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				t.Fatal(err)
			}
			s = append(s, a.Sequence)
		}
		return fmt.Sprint(s)
	}
	if s := seqs("all.jsonl"); s != "[1 2 3 4]" {
		t.Errorf("all: %s", s)
	}
	if s := seqs("high.jsonl"); s != "[2 4]" {
		t.Errorf("high-spray: %s", s)
	}
	var msgs []string
	timeout := time.After(3 * time.Second)
	for len(msgs) < 2 {
		select {
		case m := <-got:
			msgs = append(msgs, m)
		case <-timeout:
			t.Fatalf("syslog got %d messages, want 2", len(msgs))
		}
	}
	for i, m := range msgs {
		p, err := parseSyslog(m)
		if err != nil {
			t.Fatal(err)
		}
		if p.pri != "162" || p.sd["sequence"] != fmt.Sprint(3+i) {
			t.Errorf("syslog message %d: pri %s sequence %s, want 162 and %d", i, p.pri, p.sd["sequence"], 3+i)
		}
	}
	st := f.Stats()
	if len(st) != 3 || st[2].Delivered.Load() != 2 {
		t.Fatalf("stats: %d sinks", len(st))
	}
	// Metrics label sinks by these names: the configured name, else <type>-<index>.
	for i, want := range []string{"all", "high-spray", "syslog-2"} {
		if st[i].Name != want {
			t.Errorf("sink %d named %q, want %q", i, st[i].Name, want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "type is required"},
		{Config{Type: "pager"}, `unknown type "pager"`},
		{Config{Type: "file"}, "path is required"},
		{Config{Type: "file", Path: filepath.Join(t.TempDir(), "a"), TLSCAFile: "ca.pem"}, "file: tls_ca_file applies only to an output that connects"},
		{Config{Type: "stdout", TLSServerName: "soc"}, "stdout: tls_server_name applies only to an output that connects"},
		{Config{Type: "file", Path: filepath.Join(t.TempDir(), "a"), MinSeverity: "urgent"}, `unknown min_severity "urgent"`},
		{Config{Type: "webhook", URL: "http://127.0.0.1:1/"}, "spool_dir is required"},
		{Config{Type: "webhook", URL: "http://127.0.0.1:1/", SpoolDir: t.TempDir(), SecretEnv: "SPRAYWATCH_TEST_UNSET_SECRET"}, "SPRAYWATCH_TEST_UNSET_SECRET"},
		{Config{Type: "webhook", URL: "http://127.0.0.1:1/", SpoolDir: t.TempDir(), Format: "teams"}, `unknown format "teams"`},
		{Config{Type: "kafka", Topic: "t"}, "brokers are required"},
		{Config{Type: "syslog", Network: "udp", Address: "127.0.0.1:514", Facility: "mars"}, `unknown facility "mars"`},
		{Config{Type: "syslog", Network: "sctp", Address: "127.0.0.1:514"}, `unknown network "sctp"`},
		{Config{Type: "alertmanager"}, "url is required"},
		// Settings every attempt would fail on: an endless retry, a
		// spool that fills, rather than an error at the start.
		{Config{Type: "webhook", URL: "soc.example.com/hook", SpoolDir: t.TempDir()}, `url "soc.example.com/..." is not an absolute http:// or https:// URL`},
		{Config{Type: "webhook", URL: "ftp://soc.example.com/", SpoolDir: t.TempDir()}, `url "ftp://soc.example.com" is not an absolute`},
		{Config{Type: "webhook", URL: "https:///hook", SpoolDir: t.TempDir()}, `url "https:///..." is not an absolute`},
		{Config{Type: "alertmanager", URL: "127.0.0.1:9093"}, `url "127.0.0.1:9093" is not an absolute`},
		{Config{Type: "alertmanager", URL: "http://127.0.0.1:9093", GeneratorURL: "grafana dashboard"}, `generator_url "grafana dashboard" is not a URL Alertmanager takes`},
		{Config{Type: "webhook", URL: "http://127.0.0.1:1/", SpoolDir: t.TempDir(), Headers: map[string]string{"Authorization": "Bearer x\n"}},
			`value of header "Authorization" holds the control character '\n' (a YAML block scalar "|" ends with a newline`},
		{Config{Type: "webhook", URL: "http://127.0.0.1:1/", SpoolDir: t.TempDir(), Headers: map[string]string{"X-A": "a\r\nX-Forged: 1"}},
			`value of header "X-A" holds the control character '\r'`},
		{Config{Type: "webhook", URL: "http://127.0.0.1:1/", SpoolDir: t.TempDir(), Headers: map[string]string{"X Token": "a"}}, `header name "X Token" is not an HTTP token`},
		{Config{Type: "webhook", URL: "http://127.0.0.1:1/", SpoolDir: t.TempDir(), Headers: map[string]string{"X-Token:": "a"}}, `header name "X-Token:" is not an HTTP token`},
		{Config{Type: "syslog", Network: "udp", Address: "siem.example.com"}, `address "siem.example.com" is not host:port`},
		{Config{Type: "syslog", Network: "tcp", Address: "siem.example.com:"}, `address "siem.example.com:" is not host:port`},
		// A negative size or duration has no meaning: 0 is the default.
		{Config{Type: "syslog", Network: "udp", Address: "127.0.0.1:514", QueueSize: -1}, "syslog: queue_size must not be negative"},
		{Config{Type: "alertmanager", URL: "http://127.0.0.1:1/", RetryInitial: -time.Second}, "alertmanager: retry_initial must not be negative"},
		{Config{Type: "alertmanager", URL: "http://127.0.0.1:1/", RetryMax: -time.Second}, "retry_max must not be negative"},
		{Config{Type: "alertmanager", URL: "http://127.0.0.1:1/", ResendInterval: -time.Minute}, "resend_interval must not be negative"},
		{Config{Type: "kafka", Brokers: []string{"127.0.0.1:1"}, Topic: "t", DrainTimeout: -time.Second}, "kafka: drain_timeout must not be negative"},
		{Config{Type: "kafka", Brokers: []string{"127.0.0.1:1"}, Topic: "t", BatchTimeout: -time.Millisecond}, "batch_timeout must not be negative"},
		{Config{Type: "webhook", URL: "http://127.0.0.1:1/", SpoolDir: t.TempDir(), Timeout: -time.Second}, "webhook: timeout must not be negative"},
		{Config{Type: "webhook", URL: "http://127.0.0.1:1/", SpoolDir: t.TempDir(), SpoolMaxBytes: -1}, "spool_max_bytes must not be negative"},
		{Config{Type: "file", Path: filepath.Join(t.TempDir(), "a"), MaxBytes: -1}, "file: max_bytes must not be negative"},
		{Config{Type: "file", Path: filepath.Join(t.TempDir(), "a"), Keep: -2}, "file: keep must not be negative"},
	} {
		_, err := Open(ctx, []Config{tc.cfg})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%+v) = %v, want error containing %q", tc.cfg, err, tc.want)
		}
	}
}

// TestCheckURLHidesPath: an error about a url names its scheme and host,
// not its path or query, which can be the credential (a Slack or Teams
// incoming webhook's token is its path): configuration errors are
// printed and logged.
func TestCheckURLHidesPath(t *testing.T) {
	for _, tc := range []struct {
		typ, url, want string
	}{
		{"webhook", "hooks.slack.com/services/T0/B0/SECRET", `url "hooks.slack.com/..."`},
		{"webhook", "ftp://user:SECRET@soc.example.com/hook?token=SECRET", `url "ftp://soc.example.com/..."`},
		{"webhook", "https:///services/SECRET", `url "https:///..."`},
		{"webhook", "soc.example.com?token=SECRET", `url "soc.example.com/..."`},
		{"alertmanager", "alertmanager:9093", `url "alertmanager:9093"`},
	} {
		c := Config{Type: tc.typ, URL: tc.url, SpoolDir: "s"}
		err := c.Check()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("Check(url %q) = %v, want an error naming %s and not its credential", tc.url, err, tc.want)
		}
	}
}

// TestCheckAccepts: what Check takes, Open would not reject for the same
// settings.
func TestCheckAccepts(t *testing.T) {
	for _, c := range []Config{
		{Type: "webhook", URL: "https://soc.example.com:8443/hooks/spraywatch?x=1", SpoolDir: "s",
			Headers: map[string]string{"Authorization": "Bearer a.b-c", "X-Tab": "a\tb", "X-Utf8": "é", "X-Empty": ""}},
		{Type: "webhook", URL: "http://[::1]:8080/", SpoolDir: "s"},
		{Type: "alertmanager", URL: "http://127.0.0.1:9093/"},
		{Type: "syslog", Network: "tcp", Address: "[::1]:514"},
		{Type: "syslog", Network: "udp", Address: ":514"},
		// max_attempts below 0 retries without limit; 0 is each key's default.
		{Type: "syslog", Network: "udp", Address: ":514", MaxAttempts: -1, QueueSize: 0, Keep: 0},
	} {
		if err := c.Check(); err != nil {
			t.Errorf("Check(%+v) = %v", c, err)
		}
	}
}

// TestOpenOutlivesContext: the outputs Open builds stay open when its
// context ends (a server's SIGTERM); the alerts sent after, in the
// server's final pass, are delivered, and Close drains them.
func TestOpenOutlivesContext(t *testing.T) {
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer recv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	f, err := Open(ctx, []Config{
		{Type: "webhook", Name: "hook", URL: recv.URL, SpoolDir: t.TempDir()},
		{Type: "alertmanager", Name: "am", URL: recv.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	cancel() // SIGTERM
	const n = 5
	for i := range n {
		f.Send(context.Background(), testAlert("i", i+1, "u"))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, st := range f.Stats() {
		if st.Dropped.Load() != 0 || st.Delivered.Load() != n {
			t.Errorf("%s: delivered %d, dropped %d; want %d, 0", st.Name, st.Delivered.Load(), st.Dropped.Load(), n)
		}
	}
}

func TestCheckNames(t *testing.T) {
	tests := []struct {
		name string
		cfgs []Config
		want []string // one error line each; none: no error
	}{
		{"unnamed", []Config{{Type: "stdout"}, {Type: "stdout"}, {Type: "file"}}, nil},
		{"distinct names", []Config{{Type: "stdout", Name: "a"}, {Type: "stdout", Name: "b"}}, nil},
		{"same name", []Config{{Type: "stdout", Name: "a"}, {Type: "file", Name: "a"}},
			[]string{`outputs[1]: name "a" is also the name of outputs[0]`}},
		{"a name taking a default", []Config{{Type: "file"}, {Type: "file"}, {Type: "stdout", Name: "file-1"}},
			[]string{`outputs[2]: name "file-1" is also the name of outputs[1]`}},
		{"three alike", []Config{{Type: "stdout", Name: "x"}, {Type: "stdout", Name: "x"}, {Type: "stdout", Name: "x"}},
			[]string{`outputs[1]: name "x" is also the name of outputs[0]`, `outputs[2]: name "x" is also the name of outputs[0]`}},
		{"webhooks with their own spools", []Config{{Type: "webhook", SpoolDir: "a"}, {Type: "webhook", SpoolDir: "b"}, {Type: "file", Path: "a"}}, nil},
		{"webhooks sharing a spool", []Config{{Type: "webhook", SpoolDir: "/var/spool/sw"}, {Type: "webhook", SpoolDir: "/var/spool/sw/"}},
			[]string{`outputs[1]: webhook: spool_dir /var/spool/sw/ is also the spool_dir of outputs[0]: give each webhook output its own`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckNames(tt.cfgs)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("error %q, want %d lines", err, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("line %d = %q, want %q", i+1, lines[i], w)
				}
			}
		})
	}
	// Open refuses them before opening anything.
	path := filepath.Join(t.TempDir(), "a.jsonl")
	_, err := Open(context.Background(), []Config{{Type: "file", Name: "a", Path: path}, {Type: "stdout", Name: "a"}})
	if err == nil || !strings.Contains(err.Error(), `name "a" is also the name of outputs[0]`) {
		t.Errorf("Open: error %v", err)
	}
}

func TestWriterLabel(t *testing.T) {
	w := NewWriter(io.Discard)
	if s := w.Stats(); s.Type != "stdout" || s.Name != "" {
		t.Errorf("unlabelled writer: type %q name %q", s.Type, s.Name)
	}
	if s := w.Label("file", "out").Stats(); s.Type != "file" || s.Name != "out" {
		t.Errorf("labelled writer: type %q name %q", s.Type, s.Name)
	}
}
