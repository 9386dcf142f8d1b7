package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestRepeatedFiles: a file a source names twice (by its name again, an
// overlapping pattern, a symbolic or a hard link) is read once, at its
// first name, and listed by Repeats; two files of the same size, "-" and
// names that cannot be read are kept.
func TestRepeatedFiles(t *testing.T) {
	dir := t.TempDir()
	line := `{"timestamp":"2026-12-04T09:00:00Z","event":"login_failed","request_id":"r1","username":"u1"}` + "\n"
	for _, n := range []string{"auth.log", "other.log"} { // same size, different files
		if err := os.WriteFile(filepath.Join(dir, n), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	auth, other := filepath.Join(dir, "auth.log"), filepath.Join(dir, "other.log")
	sym, hard := filepath.Join(dir, "sym.link"), filepath.Join(dir, "hard.link")
	if err := os.Symlink(auth, sym); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(auth, hard); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.log")
	tests := []struct {
		name    string
		paths   []string
		files   []string
		repeats []Repeat
	}{
		{"distinct", []string{auth, other}, []string{auth, other}, nil},
		{"same name twice", []string{auth, auth}, []string{auth}, []Repeat{{auth, auth}}},
		{"overlapping pattern", []string{auth, filepath.Join(dir, "*.log")}, []string{auth, other}, []Repeat{{auth, auth}}},
		{"symbolic link", []string{sym, auth}, []string{sym}, []Repeat{{auth, sym}}},
		{"hard link", []string{auth, hard, other}, []string{auth, other}, []Repeat{{hard, auth}}},
		{"stdin and unreadable kept", []string{"-", missing, missing}, []string{"-", missing, missing}, nil},
	}
	for _, tt := range tests {
		s := &Source{Kind: KindApp, Format: "django-json", Paths: tt.paths}
		files, err := s.Files()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !reflect.DeepEqual(files, tt.files) {
			t.Errorf("%s: Files = %v, want %v", tt.name, files, tt.files)
		}
		repeats, err := s.Repeats()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !reflect.DeepEqual(repeats, tt.repeats) {
			t.Errorf("%s: Repeats = %v, want %v", tt.name, repeats, tt.repeats)
		}
	}

	// Opened, a file named twice gives its records once.
	c := Default()
	c.Sources = []Source{{Kind: KindApp, Format: "django-json", Envelope: "none", Paths: []string{auth, sym, filepath.Join(dir, "auth*")}}}
	srcs, _, err := c.Open(&c.Sources[0])
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range srcs {
		n += len(readAll(t, s))
	}
	if len(srcs) != 1 || n != 1 {
		t.Errorf("opened %d sources with %d records, want 1 with 1", len(srcs), n)
	}
}

// TestSharedFiles: a file two sources read (the proxy's and the app's, by
// any name), or both an alb source's connection and access logs, is
// refused before any source is read.
func TestSharedFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "link.log")
	if err := os.Symlink(a, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		sources []Source
		wantErr string
	}{
		{"proxy and app", []Source{
			{Kind: KindProxy, Format: "nginx", Paths: []string{a}, Envelope: "none"},
			{Kind: KindApp, Format: "django-json", Paths: []string{link}, Envelope: "none"},
		}, `file "` + a + `" is read by the proxy source and by the app source (as "` + link + `")`},
		{"two proxy sources", []Source{
			{Name: "edge1", Kind: KindProxy, Format: "nginx", Paths: []string{filepath.Join(dir, "*.log")}, Envelope: "none"},
			{Name: "edge2", Kind: KindProxy, Format: "nginx", Paths: []string{b}, Envelope: "none"},
			{Kind: KindApp, Format: "django-json", Paths: []string{"-"}, Envelope: "none"},
		}, `file "` + b + `" is read by source edge1 and by source edge2`},
		{"alb connection and access logs", []Source{
			{Name: "lb", Kind: KindALB, ConnPaths: []string{a}, AccessPaths: []string{a}},
		}, `is read by source lb (conn_paths) and by source lb (access_paths)`},
		{"distinct", []Source{
			{Kind: KindProxy, Format: "nginx", Paths: []string{a, link}, Envelope: "none"},
			{Kind: KindApp, Format: "django-json", Paths: []string{b}, Envelope: "none"},
		}, ""},
	}
	for _, tt := range tests {
		checkOpen(t, tt.name, tt.sources, tt.wantErr)
	}
}

// TestSharedFilesUnnamed: two sources of one kind without a name, which
// describe themselves alike, are still two sources: a file both read is
// refused.
func TestSharedFilesUnnamed(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	if err := os.WriteFile(a, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Parse(filepath.Join(dir, "spraywatch.yml"), []byte(`
sources:
  - kind: proxy
    paths: [a.log]
  - kind: proxy
    paths: [a.log]
  - kind: app
    paths: [-]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := `file "` + a + `" is read by the proxy source (source 1) and by the proxy source (source 2)`
	if _, _, err := c.Open(&c.Sources[0]); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Open = %v, want %q", err, want)
	}
}
