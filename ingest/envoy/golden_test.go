package envoy

import (
	"flag"
	"testing"

	"github.com/spraywatch/spraywatch/ingest/x509cert/certtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestGolden(t *testing.T) {
	f, err := CompileText(Default)
	if err != nil {
		t.Fatal(err)
	}
	certtest.Golden(t, f, "testdata/default.log", "testdata/default.golden", *update)
}
