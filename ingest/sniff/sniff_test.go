package sniff

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

func TestFile(t *testing.T) {
	tests := []struct {
		kind     event.Kind
		path     string
		format   string
		envelope string
	}{
		{event.Proxy, "../nginx/testdata/reference.log", "nginx", ""},
		{event.Proxy, "../envoy/testdata/default.log", "envoy", ""},
		{event.Proxy, "../haproxy/testdata/mtls.log", "haproxy", ""},
		{event.Proxy, "../traefik/testdata/access.log", "traefik", ""},
		{event.Proxy, "../alb/testdata/access.log", "alb-access", ""},
		{event.Proxy, "../../samples/data/nginx-access.log", "nginx", ""},
		{event.App, "../../samples/data/django-auth.log", "django-json", ""},
		{event.App, "../django/testdata/auth.jsonl", "django-json", ""},
	}
	for _, tt := range tests {
		r, err := File(tt.kind, tt.path, 0)
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		if r.Format != tt.format || r.Envelope != tt.envelope {
			t.Errorf("%s: detected %s, want %s (envelope %q)", tt.path, r, tt.format, tt.envelope)
		}
		if _, err := r.Compile(); err != nil {
			t.Errorf("%s: compiling %s: %v", tt.path, r, err)
		}
	}
}

// firstLines returns the non-comment lines of a test file.
func firstLines(t *testing.T, path string, n int) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(l) > 0 && l[0] != '#' && len(out) < n {
			out = append(out, l)
		}
	}
	return out
}

func TestEnvelopes(t *testing.T) {
	raw := firstLines(t, "../../samples/data/nginx-access.log", 10)
	wrap := map[string]func(l []byte) []byte{
		"message": func(l []byte) []byte { // Vector
			b, _ := json.Marshal(map[string]string{"message": string(l), "source_type": "file", "timestamp": "2026-12-04T00:00:00Z"})
			return b
		},
		"log": func(l []byte) []byte { // Fluent Bit, Docker
			b, _ := json.Marshal(map[string]string{"log": string(l) + "\n", "stream": "stdout", "time": "2026-12-04T00:00:00Z"})
			return b
		},
		"cri": func(l []byte) []byte {
			return append([]byte("2026-12-04T00:00:00.000000001Z stdout F "), l...)
		},
	}
	for key, w := range wrap {
		var lines [][]byte
		for _, l := range raw {
			lines = append(lines, w(l))
		}
		r, err := Lines(event.Proxy, lines)
		if err != nil {
			t.Errorf("%s envelope: %v", key, err)
			continue
		}
		if r.Format != "nginx" || r.Envelope != key {
			t.Errorf("%s envelope: detected %s", key, r)
		}
		if !strings.Contains(r.String(), key+" envelope") {
			t.Errorf("%s envelope: description %q", key, r)
		}
	}
}

func TestErrors(t *testing.T) {
	nginxJSON := firstLines(t, "../nginx/testdata/json.log", 5)
	mixed := append(firstLines(t, "../../samples/data/nginx-access.log", 2),
		[]byte(`{"message":"x","source_type":"file","timestamp":"2026-12-04T00:00:00Z"}`))
	tests := []struct {
		name  string
		kind  event.Kind
		lines [][]byte
		want  []string
	}{
		{"empty", event.Proxy, [][]byte{[]byte(""), []byte("  ")}, []string{"no lines"}},
		{"own log_format", event.Proxy, nginxJSON, []string{"no known proxy log format", "nginx: reads 0 of 5", "envoy-json:", "traefik:", "look like an nginx escape=json log"}},
		{"combined", event.Proxy, [][]byte{[]byte(`203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "GET / HTTP/1.1" 200 512 "-" "curl/8.5.0"`)}, []string{"nginx's combined format with other variables"}},
		{"django keys", event.App, [][]byte{[]byte(`{"@timestamp":"2026-12-04T00:00:00Z","user":"a","evt":"login_failed"}`)}, []string{"give a mapping"}},
		{"mixed envelopes", event.Proxy, mixed, []string{"different envelopes", "none", "message"}},
		{"proxy lines as app", event.App, firstLines(t, "../../samples/data/nginx-access.log", 3), []string{"no known app log format", "django-json:"}},
		{"python logging needs its format", event.App, firstLines(t, "../pylog/testdata/app.log", 5), []string{"no known app log format", "look like Python logging text"}},
		{"no identifying fields", event.App, [][]byte{[]byte(`{"timestamp":"2026-12-04T00:00:00Z","event":"logout"}`)}, []string{"no line carries"}},
	}
	for _, tt := range tests {
		_, err := Lines(tt.kind, tt.lines)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tt.name, err, w)
			}
		}
	}
	var nm *NoMatchError
	if _, err := Lines(event.Proxy, nginxJSON); !errors.As(err, &nm) || len(nm.Tried) != len(nm.Reasons) || len(nm.Tried) == 0 {
		t.Errorf("own log_format: want a NoMatchError with reasons, got %v", err)
	}
}

func TestAmbiguousError(t *testing.T) {
	e := &AmbiguousError{Kind: event.Proxy, Candidates: []string{"a", "b"}}
	if got := e.Error(); got != "proxy log format is ambiguous: the first lines read as a and as b; name the format" {
		t.Errorf("message %q", got)
	}
}

func TestGzipFile(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for _, l := range firstLines(t, "../envoy/testdata/default.log", 10) {
		zw.Write(append(l, '\n'))
	}
	zw.Close()
	p := filepath.Join(t.TempDir(), "access.log.1.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := File(event.Proxy, p, 5)
	if err != nil || r.Format != "envoy" || r.Lines != 5 {
		t.Errorf("gzip: %v %v (lines %d)", r, err, r.Lines)
	}
}
