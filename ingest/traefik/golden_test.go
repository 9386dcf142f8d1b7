package traefik

import (
	"flag"
	"testing"

	"github.com/spraywatch/spraywatch/ingest/x509cert/certtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestGolden(t *testing.T) {
	f, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	certtest.Golden(t, f, "testdata/access.log", "testdata/access.golden", *update)
}
