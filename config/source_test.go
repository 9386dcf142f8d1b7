package config

import (
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestExpandAndRead(t *testing.T) {
	dir := t.TempDir()
	line := func(n int) string {
		return `{"timestamp":"2026-12-04T09:00:0` + string(rune('0'+n)) + `Z","event":"login_failed","request_id":"r` + string(rune('0'+n)) + `","username":"u` + string(rune('0'+n)) + `"}` + "\n"
	}
	write := func(name string, n int, gz bool) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if gz {
			zw := gzip.NewWriter(f)
			zw.Write([]byte(line(n)))
			zw.Close()
			return
		}
		f.WriteString(line(n))
	}
	write("auth.log.3.gz", 1, true)
	write("auth.log.2.gz", 2, true)
	write("auth.log.1", 3, false)
	write("auth.log", 4, false)
	got, err := Expand([]string{filepath.Join(dir, "auth.log*")})
	if err != nil {
		t.Fatal(err)
	}
	var base []string
	for _, p := range got {
		base = append(base, filepath.Base(p))
	}
	if want := []string{"auth.log.3.gz", "auth.log.2.gz", "auth.log.1", "auth.log"}; !reflect.DeepEqual(base, want) {
		t.Errorf("Expand = %v, want %v", base, want)
	}
	c, err := Parse(filepath.Join(dir, "c.yml"), []byte("sources:\n  - {name: app, kind: app, format: auto, paths: [\"auth.log*\"]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	srcs, comp, err := c.Open(&c.Sources[0])
	if err != nil {
		t.Fatal(err)
	}
	if comp.Detected == nil || comp.Detected.Format != "django-json" {
		t.Errorf("detected %v", comp.Detected)
	}
	var users []string
	for _, s := range srcs {
		if !strings.HasPrefix(s.Stats().Name, "app ") || s.Stats().Format != "django-json (detected)" {
			t.Errorf("stats name %q format %q", s.Stats().Name, s.Stats().Format)
		}
		for _, r := range readAll(t, s) {
			users = append(users, r["user.name"])
		}
	}
	if want := []string{"u1", "u2", "u3", "u4"}; !reflect.DeepEqual(users, want) {
		t.Errorf("read %v, want %v", users, want)
	}
	if _, err := Expand([]string{filepath.Join(dir, "none*.log")}); err == nil || !strings.Contains(err.Error(), "matches no file") {
		t.Errorf("empty glob: %v", err)
	}
	if got, _ := Expand([]string{"-", "x.log"}); !reflect.DeepEqual(got, []string{"-", "x.log"}) {
		t.Errorf("plain names: %v", got)
	}
}

// TestCheckFiles: Open checks every file before reading any; a file that
// does not exist or is a directory is named with what is wrong.
func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "a.log")
	if err := os.WriteFile(ok, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope.log")
	for _, tt := range []struct {
		name  string
		files []string
		want  string
	}{
		{"fine", []string{ok, "-"}, ""},
		{"missing", []string{ok, missing}, `file "` + missing + `" does not exist`},
		{"directory", []string{dir}, `file "` + dir + `" is a directory, not a log file`},
	} {
		err := CheckFiles(tt.files)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	c := Default()
	c.Sources = []Source{
		{Kind: KindALB, Name: "lb", ConnPaths: []string{missing}, AccessPaths: []string{ok}},
		{Kind: KindProxy, Name: "edge", Format: Auto, AutoDefault: "nginx", Paths: []string{ok, missing}},
	}
	for i, want := range []string{`source lb: conn_paths: file "` + missing + `" does not exist`, `source edge: file "` + missing + `" does not exist`} {
		if _, _, err := c.Open(&c.Sources[i]); err == nil || err.Error() != want {
			t.Errorf("Open %s: %v, want %q", c.Sources[i].Name, err, want)
		}
	}
}

// TestMetricsLabel checks the source label a source's files count under
// in the metrics: one per configured source, whatever the files its glob
// matches, its name or (a flag's source, named by the configuration) its
// kind.
func TestMetricsLabel(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"access.log", "access.log.1", "access.log.2", "auth.log"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, yml string
		want      []string // the Source of each file's stats
	}{
		{"named, a glob", "sources:\n  - name: edge\n    kind: proxy\n    paths: [access.log*]\n", []string{"edge", "edge", "edge"}},
		{"unnamed, a glob", "sources:\n  - kind: proxy\n    paths: [access.log*]\n", []string{"proxy", "proxy", "proxy"}},
		{"unnamed app", "sources:\n  - kind: app\n    paths: [auth.log]\n", []string{"app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(filepath.Join(dir, "c.yml"), []byte(tt.yml))
			if err != nil {
				t.Fatal(err)
			}
			srcs, _, err := c.Open(&c.Sources[0])
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range srcs {
				got = append(got, s.Stats().Source)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("sources %v, want %v", got, tt.want)
			}
		})
	}
}
