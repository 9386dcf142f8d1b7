package formats

import (
	"strings"
	"testing"
)

func TestDefaultsCompile(t *testing.T) {
	for _, n := range ProxyNames() {
		f, err := Proxy(n, "")
		if err != nil {
			t.Errorf("proxy format %s with its default definition: %v", n, err)
			continue
		}
		if f.NewParser() == nil {
			t.Errorf("%s: nil parser", n)
		}
	}
	for _, n := range AppNames() {
		if n == "python-logging" {
			continue // needs the user's format string
		}
		if _, err := App(n, ""); err != nil {
			t.Errorf("app format %s with its default definition: %v", n, err)
		}
	}
	def := "format: '%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s'\nmessage_pattern: 'Login failed for (?P<username>\\S+)'\noutcomes: {\"\": failure}\n"
	if _, err := App("python-logging", def); err != nil {
		t.Errorf("python-logging: %v", err)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		kind, name, def, want string
	}{
		{"proxy", "iis", "", `unknown proxy format "iis"`},
		{"app", "rails", "", `unknown app format "rails"`},
		{"proxy", "nginx", "log_format x '$remote_addr \"$request';", "compiling proxy format nginx"},
		{"proxy", "haproxy", "%ci %[ssl_c_s_dn", "compiling proxy format haproxy"},
		{"proxy", "envoy-json", "[1, 2]", "compiling proxy format envoy-json"},
		{"app", "python-logging", "", "needs a definition"},
		{"app", "python-logging", "%(message)s", "expected YAML"},
	}
	for _, tt := range tests {
		var err error
		if tt.kind == "proxy" {
			_, err = Proxy(tt.name, tt.def)
		} else {
			_, err = App(tt.name, tt.def)
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %s %q: error %v, want %q", tt.kind, tt.name, tt.def, err, tt.want)
		}
	}
	if !strings.Contains(Help(), "haproxy") {
		t.Error("help lacks haproxy")
	}
}
