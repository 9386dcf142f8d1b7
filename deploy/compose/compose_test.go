// Package compose holds the image build of the demo stack and checks
// docker-compose.yml against the repository.
package compose

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// root is the repository root, where docker-compose.yml sits.
const root = "../.."

type composeFile struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

type service struct {
	Image     string    `yaml:"image"`
	Build     *build    `yaml:"build"`
	Command   []string  `yaml:"command"`
	Ports     []any     `yaml:"ports"`
	Volumes   []any     `yaml:"volumes"`
	DependsOn yaml.Node `yaml:"depends_on"`
}

type build struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

func load(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		// Unknown keys are fine for compose; decode again leniently, but
		// a syntax error is not.
		if err2 := yaml.Unmarshal(b, &c); err2 != nil {
			t.Fatalf("docker-compose.yml: %v", err2)
		}
	}
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml: no services")
	}
	return c
}

// The stack the documentation describes.
func TestServices(t *testing.T) {
	c := load(t)
	for _, name := range []string{"kafka", "spraywatch", "producer", "prometheus", "alertmanager", "grafana"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("service %s missing", name)
		}
	}
	if img := c.Services["kafka"].Image; !strings.HasPrefix(img, "apache/kafka:") {
		t.Errorf("kafka image %q: expected the official apache/kafka", img)
	}
	if cmd := c.Services["spraywatch"].Command; len(cmd) == 0 || cmd[0] != "serve" {
		t.Errorf("spraywatch runs %v, expected serve", cmd)
	}
	if cmd := c.Services["producer"].Command; len(cmd) == 0 || cmd[0] != "produce" || !hasFlag(cmd, "--rate") {
		t.Errorf("producer runs %v, expected produce with --rate", cmd)
	}
}

func hasFlag(cmd []string, flag string) bool {
	for _, a := range cmd {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

var pinned = regexp.MustCompile(`^[a-z0-9./_-]+(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$`)

// checkImage accepts name:tag or name@digest, never a missing or latest tag.
func checkImage(img string) error {
	if !pinned.MatchString(img) {
		return fmt.Errorf("image %q: not an image reference", img)
	}
	if strings.Contains(img, "@sha256:") {
		return nil
	}
	i := strings.LastIndex(img, ":")
	if i < 0 || strings.Contains(img[i:], "/") {
		return fmt.Errorf("image %q: no tag", img)
	}
	if tag := img[i+1:]; tag == "latest" || tag == "" {
		return fmt.Errorf("image %q: tag %q is not a version", img, tag)
	}
	return nil
}

func TestCheckImage(t *testing.T) {
	for img, ok := range map[string]bool{
		"apache/kafka:3.9.1": true, "prom/prometheus:v2.53.2": true,
		"grafana/grafana@sha256:" + strings.Repeat("a", 64): true,
		"apache/kafka": false, "apache/kafka:latest": false, "localhost:5000/kafka": false,
	} {
		if err := checkImage(img); (err == nil) != ok {
			t.Errorf("%s: %v", img, err)
		}
	}
}

func TestImagesPinned(t *testing.T) {
	for name, s := range load(t).Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("%s: neither image nor build", name)
			continue
		}
		if s.Image != "" {
			if err := checkImage(s.Image); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

// Host ports are published on loopback only.
func TestPortsLoopback(t *testing.T) {
	for name, s := range load(t).Services {
		for _, p := range s.Ports {
			switch v := p.(type) {
			case string:
				parts := strings.Split(v, ":")
				if len(parts) != 3 || parts[0] != "127.0.0.1" {
					t.Errorf("%s: port %q: expected 127.0.0.1:HOST:CONTAINER", name, v)
				}
			case map[string]any:
				if v["published"] != nil && v["host_ip"] != "127.0.0.1" {
					t.Errorf("%s: port %v: host_ip must be 127.0.0.1", name, v)
				}
			default:
				t.Errorf("%s: port %v: expected a string", name, p)
			}
		}
	}
}

// monitoringDirs are written with the dashboards and rules; their files are
// checked once the directory holds any file.
var monitoringDirs = []string{"deploy/prometheus", "deploy/alertmanager", "deploy/grafana"}

func pending(rel string) bool {
	for _, d := range monitoringDirs {
		if rel == d || strings.HasPrefix(rel, d+"/") {
			return !holdsFile(filepath.Join(root, d))
		}
	}
	return false
}

func holdsFile(dir string) bool {
	found := false
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

// binds returns a service's bind mounts: host path (relative to the root)
// and container path.
func binds(t *testing.T, name string, s service, named map[string]any) map[string]string {
	out := map[string]string{}
	for _, v := range s.Volumes {
		str, ok := v.(string)
		if !ok {
			t.Errorf("%s: volume %v: expected the short syntax", name, v)
			continue
		}
		parts := strings.Split(str, ":")
		if len(parts) < 2 {
			t.Errorf("%s: volume %q: no container path", name, str)
			continue
		}
		host := parts[0]
		if !strings.HasPrefix(host, ".") && !strings.HasPrefix(host, "/") {
			if _, ok := named[host]; !ok {
				t.Errorf("%s: named volume %q not declared under volumes:", name, host)
			}
			continue
		}
		if strings.HasPrefix(host, "/") {
			t.Errorf("%s: volume %q: host paths must be inside the repository", name, str)
			continue
		}
		out[filepath.ToSlash(filepath.Clean(host))] = parts[1]
	}
	return out
}

// Every mounted host path and build context exists in the repository.
func TestPathsExist(t *testing.T) {
	c := load(t)
	for name, s := range c.Services {
		for host := range binds(t, name, s, c.Volumes) {
			if _, err := os.Stat(filepath.Join(root, host)); err != nil {
				if pending(host) {
					t.Logf("%s: %s not written yet, not checked", name, host)
					continue
				}
				t.Errorf("%s: mounted %s: %v", name, host, err)
			}
		}
		if s.Build != nil {
			ctx := filepath.Join(root, s.Build.Context)
			if fi, err := os.Stat(ctx); err != nil || !fi.IsDir() {
				t.Errorf("%s: build context %s: not a directory", name, s.Build.Context)
			}
			df := s.Build.Dockerfile
			if df == "" {
				df = "Dockerfile"
			}
			checkDockerfile(t, filepath.Join(ctx, df), ctx)
		}
	}
}

// checkDockerfile checks base images are pinned and copied paths exist.
func checkDockerfile(t *testing.T, path, ctx string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("dockerfile: %v", err)
		return
	}
	defer f.Close()
	stages := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			if len(fields) < 2 {
				t.Errorf("%s:%d: FROM without image", path, n)
				continue
			}
			if !stages[fields[1]] {
				if err := checkImage(fields[1]); err != nil {
					t.Errorf("%s:%d: %v", path, n, err)
				}
			}
			if len(fields) == 4 && strings.EqualFold(fields[2], "AS") {
				stages[fields[3]] = true
			}
		case "COPY", "ADD":
			args := fields[1:]
			from := false
			for len(args) > 0 && strings.HasPrefix(args[0], "--") {
				from = from || strings.HasPrefix(args[0], "--from=")
				args = args[1:]
			}
			if from || len(args) < 2 {
				continue
			}
			for _, src := range args[:len(args)-1] {
				if m, _ := filepath.Glob(filepath.Join(ctx, src)); len(m) == 0 {
					t.Errorf("%s:%d: COPY source %s not in the build context", path, n, src)
				}
			}
		}
	}
}

func TestDependenciesExist(t *testing.T) {
	c := load(t)
	for name, s := range c.Services {
		var deps []string
		switch s.DependsOn.Kind {
		case 0:
		case yaml.SequenceNode:
			if err := s.DependsOn.Decode(&deps); err != nil {
				t.Errorf("%s: depends_on: %v", name, err)
			}
		case yaml.MappingNode:
			var m map[string]struct {
				Condition string `yaml:"condition"`
			}
			if err := s.DependsOn.Decode(&m); err != nil {
				t.Errorf("%s: depends_on: %v", name, err)
			}
			for d, v := range m {
				deps = append(deps, d)
				switch v.Condition {
				case "", "service_started", "service_healthy", "service_completed_successfully":
				default:
					t.Errorf("%s: depends_on %s: unknown condition %q", name, d, v.Condition)
				}
			}
		default:
			t.Errorf("%s: depends_on: expected a list or a map", name)
		}
		sort.Strings(deps)
		for _, d := range deps {
			if d == name {
				t.Errorf("%s depends on itself", name)
			}
			if _, ok := c.Services[d]; !ok {
				t.Errorf("%s depends on %s, which is not a service", name, d)
			}
		}
	}
}

// The monitoring files agree with the stack: Prometheus scrapes spraywatch
// and alerts to Alertmanager under their service names, and Grafana's
// dashboard provider reads the directory the dashboards are mounted at.
func TestMonitoringFilesMatchStack(t *testing.T) {
	c := load(t)
	checkText := func(host string, wants ...string) {
		b, err := os.ReadFile(filepath.Join(root, host))
		if err != nil {
			if pending(host) {
				t.Logf("%s not written yet, not checked", host)
				return
			}
			t.Error(err)
			return
		}
		for _, w := range wants {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s does not mention %s", host, w)
			}
		}
	}
	checkText("deploy/prometheus/prometheus.yml", "spraywatch:9464", "alertmanager:9093")
	checkRuleFiles(t, c)
	if ds, _ := filepath.Glob(filepath.Join(root, "deploy/grafana/provisioning/datasources/*.y*ml")); len(ds) > 0 {
		rel, _ := filepath.Rel(root, ds[0])
		checkText(filepath.ToSlash(rel), "http://prometheus:9090")
	}
	if !hasFlag(c.Services["spraywatch"].Command, "--listen") {
		t.Error("spraywatch: no --listen, Prometheus has nothing to scrape")
	}
	dash := binds(t, "grafana", c.Services["grafana"], c.Volumes)["deploy/grafana/dashboards"]
	if dash == "" {
		t.Fatal("grafana: deploy/grafana/dashboards not mounted")
	}
	providers, _ := filepath.Glob(filepath.Join(root, "deploy/grafana/provisioning/dashboards/*.y*ml"))
	if len(providers) == 0 {
		if !pending("deploy/grafana/provisioning") {
			t.Error("deploy/grafana/provisioning/dashboards: no dashboard provider")
		}
		return
	}
	for _, p := range providers {
		rel, _ := filepath.Rel(root, p)
		checkText(filepath.ToSlash(rel), dash)
	}
}

// docker-compose itself validates the file (syntax, build contexts) when it
// is installed or installable; without it the checks above still ran.
func TestComposeConfig(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		script := filepath.Join(root, "scripts", "ensure-debian-packages.sh")
		if out, err := exec.Command(script, "docker-compose").CombinedOutput(); err != nil {
			t.Skipf("docker-compose not installable here: %v: %s", err, out)
		}
		if bin, err = exec.LookPath("docker-compose"); err != nil {
			t.Skip("docker-compose not installed")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-f", "docker-compose.yml", "config", "-q")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
}

// checkRuleFiles checks the rule files Prometheus loads are mounted where
// its configuration names them (relative names are relative to the
// configuration file).
func checkRuleFiles(t *testing.T, c composeFile) {
	t.Helper()
	mounts := binds(t, "prometheus", c.Services["prometheus"], c.Volumes)
	cfgPath := mounts["deploy/prometheus/prometheus.yml"]
	b, err := os.ReadFile(filepath.Join(root, "deploy/prometheus/prometheus.yml"))
	if err != nil || cfgPath == "" {
		return // reported by the path checks
	}
	var cfg struct {
		RuleFiles []string `yaml:"rule_files"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Errorf("prometheus.yml: %v", err)
		return
	}
	inside := map[string]bool{}
	for _, cp := range mounts {
		inside[cp] = true
	}
	for _, rf := range cfg.RuleFiles {
		if !filepath.IsAbs(rf) {
			rf = filepath.Join(filepath.Dir(cfgPath), rf)
		}
		if !inside[rf] {
			t.Errorf("prometheus.yml loads %s, which is not mounted in the container", rf)
		}
	}
}
