package formats

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

func TestDefaultsCompile(t *testing.T) {
	for _, n := range ProxyNames() {
		if n == "nginx-json" {
			continue // needs the user's log_format
		}
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
		{"proxy", "nginx-json", "", "compiling proxy format nginx-json: expected the log_format directive"},
		{"proxy", "nginx-json", "log_format t escape=json '$remote_addr [$time_iso8601] $request_id';", "read as text, not as an escape=json JSON object: name format nginx"},
		{"proxy", "nginx-json", "log_format x escape=json '{\"ts\":\"$time_iso8601\"';", "compiling proxy format nginx-json"},
		{"app", "python-logging", "", "needs a definition"},
		{"app", "python-logging", "%(message)s", "expected YAML"},
		{"app", "python-logging", "format: '%(message)s'\nmessage_patern: x\n", `line 2: unknown key "message_patern" (known: extras, format, loggers, message_pattern, min_level, outcomes)`},
		{"app", "python-logging", "format: '%(message)s'\nloggers: auth\n", "line 2: loggers: expected a list of strings, not `auth`"},
		{"app", "python-logging", "format: '%(asctime)s %(message)s'\nmessage_pattern: 'for (?P<username>\\S+)'\nextras: {x: user.nmae}\n", `extras: x: unknown field "user.nmae"`},
		{"app", "python-logging", "format: '%(asctime)s %(message)s'\nmessage_pattern: 'for (?P<username>\\S+)'\noutcomes: {\"\": failure}\nmin_level: LOUD\n", `unknown minimum level "LOUD"`},
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

// TestNginxJSONName checks that the name an escape=json nginx format
// reports, which the replay summary prints, is a format name: it compiles
// the same JSON directive as nginx does.
func TestNginxJSONName(t *testing.T) {
	def := `log_format mtls_json escape=json '{"ts":"$time_iso8601","request_id":"$request_id","remote_addr":"$remote_addr","method":"$request_method","uri":"$request_uri","status":$status,"client_s_dn":"$ssl_client_s_dn"}';`
	for _, name := range []string{"nginx", "nginx-json"} {
		f, err := Proxy(name, def)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.Name() != "nginx-json" || !slices.Contains(ProxyNames(), f.Name()) {
			t.Errorf("%s: compiled format named %q, want nginx-json among %v", name, f.Name(), ProxyNames())
		}
	}
}

func TestPythonLoggingFilters(t *testing.T) {
	def := `format: '%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(client_ip)s %(message)s'
message_pattern: '^(?P<event>Failed|Successful) login attempt for username: (?P<username>\S+)$'
outcomes: {Failed: failure, Successful: success}
loggers: [netbox.auth]
min_level: WARNING
extras: {client_ip: source.ip}
`
	f, err := App("python-logging", def)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		line   string
		ignore bool
		user   string
		ip     string
	}{
		{"2026-12-04 09:00:01,123 WARNING netbox.auth.login [6f1c] 203.0.113.7 Failed login attempt for username: alice", false, "alice", "203.0.113.7"},
		{"2026-12-04 09:00:02,123 WARNING netbox.authz [6f1d] 203.0.113.7 Failed login attempt for username: bob", true, "", ""},
		{"2026-12-04 09:00:03,123 INFO netbox.auth.login [6f1e] 203.0.113.7 Successful login attempt for username: carol", true, "", ""},
	}
	p := f.NewParser()
	for _, tt := range tests {
		var r event.Record
		err := p.Parse([]byte(tt.line), &r)
		if tt.ignore {
			if !errors.Is(err, ingest.ErrIgnore) {
				t.Errorf("%q: error %v, want ingest.ErrIgnore", tt.line, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if got := string(r.Get(event.UserName)); got != tt.user {
			t.Errorf("%q: user.name %q, want %q", tt.line, got, tt.user)
		}
		if got := string(r.Get(event.SourceIP)); got != tt.ip {
			t.Errorf("%q: source.ip %q, want %q", tt.line, got, tt.ip)
		}
	}
}

func TestFields(t *testing.T) {
	tests := []struct {
		name, def string
		want      []event.Field // nil: the format does not list its fields
		has       bool
	}{
		{"nginx", "", []event.Field{event.RequestID, event.SourceIP, event.Method, event.URLPath}, true},
		{"nginx", "log_format x '$remote_addr [$time_local] \"$request\" $status';", []event.Field{event.SourceIP, event.Method, event.URLPath, event.Status}, true},
		{"nginx", "log_format x escape=json '{\"t\":\"$msec\",\"ip\":\"$remote_addr\",\"rid\":\"$request_id\"}';", []event.Field{event.RequestID, event.SourceIP}, true},
		{"envoy", "", []event.Field{event.RequestID, event.Method, event.URLPath}, true},
		{"envoy", "[%START_TIME%] %REQ(:METHOD)% %DOWNSTREAM_REMOTE_ADDRESS%", []event.Field{event.Method, event.SourceIP, event.SourcePort}, true},
		{"envoy-json", "", []event.Field{event.RequestID, event.TLSSHA256}, true},
		{"envoy-json", "{t: \"%START_TIME%\", p: \"%REQ(:PATH)%\", c: \"%DOWNSTREAM_PEER_CERT%\"}", []event.Field{event.URLPath, event.TLSCertificate, event.TLSSubject}, true},
		{"haproxy", "", []event.Field{event.RequestID, event.Method, event.TLSVerify, event.TLSSHA256}, true},
		{"haproxy", `"%ci [%tr] \"%r\" %ST"`, []event.Field{event.SourceIP, event.Method, event.URLPath, event.Status}, true},
		{"traefik", "", nil, false},
		{"alb-access", "", nil, false},
	}
	for _, tt := range tests {
		f, err := Proxy(tt.name, tt.def)
		if err != nil {
			t.Fatalf("%s %q: %v", tt.name, tt.def, err)
		}
		got, ok := Fields(f)
		if ok != tt.has {
			t.Errorf("%s %q: listed %v, want %v", tt.name, tt.def, ok, tt.has)
			continue
		}
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("%s %q: fields %v lack %s", tt.name, tt.def, got, w)
			}
		}
		if !slices.IsSorted(got) {
			t.Errorf("%s %q: fields %v not in order", tt.name, tt.def, got)
		}
		if tt.has && !slices.Contains(tt.want, event.RequestID) && slices.Contains(got, event.RequestID) {
			t.Errorf("%s %q: fields %v include %s", tt.name, tt.def, got, event.RequestID)
		}
	}
}

func TestProxyWarnings(t *testing.T) {
	tests := []struct {
		name, def, want string // want "": no warning
	}{
		{"nginx", "", ""},
		{"nginx", "log_format x '$remote_addr [$time_local] \"$request\" $status';", "nginx format has no request id (http.request.id): proxy lines cannot be joined"},
		{"nginx", "log_format x escape=json '{\"t\":\"$msec\",\"ip\":\"$remote_addr\"}';", "add $request_id"},
		{"envoy", "", ""},
		{"envoy", "[%START_TIME%] \"%REQ(:METHOD)% %REQ(:PATH)%\" %RESPONSE_CODE%", "add %REQ(X-REQUEST-ID)%"},
		{"envoy-json", "{t: \"%START_TIME%\", p: \"%REQ(:PATH)%\"}", "envoy-json format has no request id"},
		{"haproxy", "", ""},
		{"haproxy", `"%ci [%tr] \"%r\" %ST"`, "add %ID"},
		{"haproxy", `"%ci [%tr] \"%r\" %ST %[unique-id]"`, ""},
		{"traefik", "", ""},
		{"alb-access", "", ""},
	}
	for _, tt := range tests {
		f, err := Proxy(tt.name, tt.def)
		if err != nil {
			t.Fatalf("%s %q: %v", tt.name, tt.def, err)
		}
		ws := ProxyWarnings(f)
		switch {
		case tt.want == "" && len(ws) > 0:
			t.Errorf("%s %q: warnings %q, want none", tt.name, tt.def, ws)
		case tt.want != "" && (len(ws) != 1 || !strings.Contains(ws[0], tt.want)):
			t.Errorf("%s %q: warnings %q, want one containing %q", tt.name, tt.def, ws, tt.want)
		}
	}
}

// TestZoned checks that the formats Zoned names are those whose compiled
// formats implement ingest.Zoner, and InZone's error for the others.
func TestZoned(t *testing.T) {
	defs := map[string]string{
		"nginx-json":     `log_format j escape=json '{"time":"$time_iso8601","request_id":"$request_id"}';`,
		"python-logging": "format: '%(asctime)s %(message)s'\nmessage_pattern: 'failed for (?P<username>\\S+)'\noutcomes: {\"\": failure}\n",
	}
	check := func(name string, f ingest.Format, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, ok := f.(ingest.Zoner)
		if ok != Zoned(name) {
			t.Errorf("%s: implements ingest.Zoner %v, Zoned says %v", name, ok, Zoned(name))
		}
		zf, err := InZone(f, time.FixedZone("+01:00", 3600))
		switch {
		case ok && (err != nil || zf == nil || zf.Name() != f.Name()):
			t.Errorf("%s: InZone = %v, %v", name, zf, err)
		case !ok && (err == nil || !strings.Contains(err.Error(), "format "+name+" writes every time with a zone offset")):
			t.Errorf("%s: InZone error %v", name, err)
		}
	}
	for _, n := range ProxyNames() {
		f, err := Proxy(n, defs[n])
		check(n, f, err)
	}
	for _, n := range AppNames() {
		f, err := App(n, defs[n])
		check(n, f, err)
	}
}
