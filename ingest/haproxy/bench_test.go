package haproxy

import (
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

var benchLine = `<134>Dec  4 09:00:01 lb1 haproxy[1234]: 203.0.113.7:52344 [04/Dec/2026:09:00:01.123] fe_mtls~ be_app/app1 200 5120 "POST /accounts/login/?next=/ HTTP/1.1" id=` + uid +
	` used=1 verify=0 sha1=` + strings.ToUpper(sha1hex) + ` serial=4F2A9C0D11E3B7A1 sdn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US"`

func BenchmarkParse(b *testing.B) {
	f, err := Compile(mtlsFormat)
	if err != nil {
		b.Fatal(err)
	}
	skimtest.BenchParse(b, f.NewParser(), benchLine)
}

func TestParseDoesNotAllocate(t *testing.T) {
	f, err := Compile(onelineFormat)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compile(mtlsFormat)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    *Format
		line string
	}{
		{m, benchLine},
		{m, strings.Replace(benchLine, "verify=0", "verify=21", 1)},
		{f, `10.0.0.1:40000 [04/Dec/2026:09:00:04.250] POST /accounts/login/ 200 512 "u" "/C=ES/O=Example Corp/CN=José García" "/C=ES/CN=CA" "` + sha256hex + `" "0" "Mozilla/5.0 #22quoted#22"`},
	} {
		skimtest.CheckParseAllocs(t, tc.f.NewParser(), tc.line)
	}
}
