package haproxy

import (
	"flag"
	"testing"

	"github.com/spraywatch/spraywatch/ingest/x509cert/certtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenLogs are the committed logs under testdata/, each with the
// log-format that wrote it.
var goldenLogs = []struct{ name, format string }{
	{"mtls", Reference},
	{"httplog", quoted(httplogFormat + mtlsFields)},
	{"httpslog", quoted(httpslogFormat + mtlsFields)},
}

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
