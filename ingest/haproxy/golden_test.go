package haproxy

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest/x509cert/certtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenLogs are the committed logs under testdata/, each with the
// log-format that wrote it.
var goldenLogs = []struct{ name, format string }{
	{"mtls", Reference},
	{"httplog", quoted(httplogFormat + mtlsFields)},
	{"httpslog", quoted(httpslogFormat + mtlsFields)},
	{"headers", recordedOneline},
}

// recordedOneline is the log-format of frontend fe_oneline in
// ../x509cert/testdata/crossproxy/haproxy.cfg.
const recordedOneline = `"%ci:%cp [%tr] %ft %b/%s %ST %B \"%r\" id=%ID used=%[ssl_c_used] verify=%[ssl_c_verify] sha1=%[ssl_c_sha1,hex] sha256=%[ssl_c_der,sha2(256),hex] serial=%[ssl_c_serial,hex] sdn=%{+Q}[ssl_c_s_dn] idn=%{+Q}[ssl_c_i_dn]"`

func TestGolden(t *testing.T) {
	for _, g := range goldenLogs {
		t.Run(g.name, func(t *testing.T) {
			f, err := Compile(g.format)
			if err != nil {
				t.Fatal(err)
			}
			certtest.Golden(t, f, "testdata/"+g.name+".log", "testdata/"+g.name+".golden", *update)
		})
	}
}

// TestHeaders checks that testdata/headers.log, one recorded line behind
// every header HAProxy or a syslog daemon writes, gives one record.
func TestHeaders(t *testing.T) {
	f, err := Compile(recordedOneline)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/headers.log")
	if err != nil {
		t.Fatal(err)
	}
	p := f.NewParser()
	want := ""
	for n, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(line, "##") {
			continue
		}
		var r event.Record
		if err := p.Parse([]byte(line), &r); err != nil {
			t.Errorf("line %d: %v", n+1, err)
			continue
		}
		got := certtest.Render(&r)
		if want == "" {
			want = got
			if !strings.Contains(got, ` source.ip="127.0.0.1" `) {
				t.Fatalf("line %d: %s", n+1, got)
			}
		} else if got != want {
			t.Errorf("line %d:\n%s\nwant\n%s", n+1, got, want)
		}
	}
}
