package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/config"
)

func TestOpenSinksErrors(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yml")
	writeFile(t, typo, "outputs:\n  - type: file\n    path: "+filepath.Join(dir, "crit.jsonl")+"\n    min_severty: critical\n")
	routed := filepath.Join(dir, "routed.yml")
	writeFile(t, routed, "outputs:\n  - {type: stdout, rules: [cert-identity-spray, no-such-rule]}\n")
	good := filepath.Join(dir, "good.yml")
	writeFile(t, good, "outputs:\n  - type: stdout\n")
	rs, err := loadRules(nil, "extend")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, out, outputs, want string
	}{
		{"unknown key", "", typo, `typo.yml:4: outputs[0]: unknown key "min_severty" (known: `},
		{"--out and --outputs", filepath.Join(dir, "a.jsonl"), good, "--out and --outputs"},
		{"unknown routed rule", "", routed, `outputs[0] (stdout-0): routes rule "no-such-rule"`},
		{"missing outputs file", "", filepath.Join(dir, "none.yml"), "reading outputs: open " + filepath.Join(dir, "none.yml")},
	} {
		s, err := openSinks(context.Background(), tt.out, tt.outputs, nil, rs, &bytes.Buffer{})
		if err == nil {
			s.Close()
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q, want %q", tt.name, err, tt.want)
		}
	}
	s, err := openSinks(context.Background(), "", good, nil, rs, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestSinkLabels: the metrics labels of the built-in outputs say what they
// write to: --out FILE is a file, in replay and serve alike.
func TestSinkLabels(t *testing.T) {
	dir := t.TempDir()
	rs, err := loadRules(nil, "extend")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Outputs: []alert.Config{{Type: "stdout"}}}
	open := map[string]func(out string) (alert.Sink, error){
		"replay": func(out string) (alert.Sink, error) {
			return openAlertSink(context.Background(), cfg, &replayFlags{out: out}, rs, &bytes.Buffer{}, &bytes.Buffer{})
		},
		"serve": func(out string) (alert.Sink, error) {
			return openSinks(context.Background(), out, "", nil, rs, &bytes.Buffer{})
		},
	}
	for cmd, openSink := range open {
		for _, tt := range []struct{ out, typ string }{{filepath.Join(dir, cmd+".jsonl"), "file"}, {"", "stdout"}} {
			s, err := openSink(tt.out)
			if err != nil {
				t.Fatal(err)
			}
			st, ok := s.(interface{ Stats() *alert.SinkStats })
			if !ok {
				t.Fatalf("%s --out %q: sink %T has no stats", cmd, tt.out, s)
			}
			if got := st.Stats().Type; got != tt.typ {
				t.Errorf("%s --out %q: type %q, want %q", cmd, tt.out, got, tt.typ)
			}
			s.Close()
		}
	}
}

// TestServeSharedFile: following files, a file that both the proxy and the
// app source name (here through a link) is refused, as replay refuses it.
func TestServeSharedFile(t *testing.T) {
	dir := t.TempDir()
	log, link := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	if err := os.WriteFile(log, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(log, link); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	args := []string{"serve", "--listen", "", "--state-dir", filepath.Join(dir, "state"), "--proxy-file", log, "--app-file", link}
	want := `file "` + log + `" is read by the proxy source and by the app source (as "` + link + `")`
	// Were it not refused, serve would follow the file until stopped.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if code := run(ctx, args, &out, &errb); code != 1 || !strings.Contains(errb.String(), want) {
		t.Errorf("exit %d, stderr %q; want exit 1 containing %q", code, errb.String(), want)
	}
}

// TestServeRepeatedFile: following files, a file a source names twice is
// followed once, with the warning replay gives.
func TestServeRepeatedFile(t *testing.T) {
	dir := t.TempDir()
	proxy, app := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	for _, p := range []string{proxy, app} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	args := []string{"serve", "--listen", "", "--proxy-file", proxy, "--app-file", app, "--app-file", filepath.Join(dir, "auth*")}
	if code := run(ctx, args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if want := "source " + app + ": " + app + " is given twice: read once"; !strings.Contains(errb.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, errb.String())
	}
}
