package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStdinOnce checks that standard input given to more than one source,
// or twice to one, is refused before any source is read, from the command
// line's sources as from a file's.
func TestStdinOnce(t *testing.T) {
	app := filepath.Join(t.TempDir(), "app.log")
	if err := os.WriteFile(app, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		sources []Source
		wantErr string
	}{
		{"proxy and app", []Source{
			{Kind: KindProxy, Format: "nginx", Paths: []string{"-"}, Envelope: "none"},
			{Kind: KindApp, Format: "django-json", Paths: []string{"-"}, Envelope: "none"},
		}, "standard input (-) is given 2 times (the proxy source, the app source): only one source can read it"},
		{"twice to one source", []Source{
			{Name: "web", Kind: KindProxy, Format: "nginx", Paths: []string{"-", "-"}, Envelope: "none"},
		}, "standard input (-) is given 2 times (source web, source web)"},
		{"once", []Source{
			{Kind: KindProxy, Format: "nginx", Paths: []string{"-"}, Envelope: "none"},
			{Kind: KindApp, Format: "django-json", Paths: []string{app}, Envelope: "none"},
		}, ""},
	}
	for _, tt := range tests {
		checkOpen(t, tt.name, tt.sources, tt.wantErr)
	}
	_, err := Parse(filepath.Join(t.TempDir(), "c.yml"), []byte("sources:\n  - {name: web, kind: proxy, format: nginx, paths: [\"-\"]}\n  - {name: django, kind: app, format: django-json, paths: [\"-\"]}\n"))
	if err == nil || !strings.Contains(err.Error(), "standard input (-) is given 2 times (source web, source django)") {
		t.Errorf("Parse = %v, want the standard input error", err)
	}
}

// checkOpen opens each of sources, in a default configuration holding
// them all, and checks that each fails with wantErr in its error, or that
// none fails when wantErr is empty.
func checkOpen(t *testing.T, name string, sources []Source, wantErr string) {
	t.Helper()
	c := Default()
	c.Sources = sources
	for i := range c.Sources {
		_, _, err := c.Open(&c.Sources[i])
		if wantErr == "" && err != nil {
			t.Errorf("%s: Open(%d): %v", name, i, err)
		}
		if wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)) {
			t.Errorf("%s: Open(%d) = %v, want %q", name, i, err, wantErr)
		}
	}
}
