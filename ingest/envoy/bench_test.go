package envoy

import (
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

func BenchmarkTextDefault(b *testing.B) {
	f, err := CompileText(Default)
	if err != nil {
		b.Fatal(err)
	}
	skimtest.BenchParse(b, f.NewParser(), `[2026-12-04T09:00:01.123Z] "POST /accounts/login/ HTTP/1.1" 200 - 812 5120 31 30 "203.0.113.7" "python-requests/2.32.3" "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a" "app.example.org" "10.1.2.3:8000"`)
}

func BenchmarkTextMTLS(b *testing.B) {
	f, err := CompileText(mtlsText)
	if err != nil {
		b.Fatal(err)
	}
	skimtest.BenchParse(b, f.NewParser(), `[2026-12-04T09:00:01.123Z] 203.0.113.7:52344 "POST /accounts/login/ HTTP/2" 200 5120 "python-requests/2.32.3" "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a" "CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" "CN=Example Issuing CA 1,O=Example Corp,C=US" 4f2a9c0d11e3b7a1 `+sha1hex+" "+sha256hex+" spiffe://example.org/ns/prod/sa/batch")
}

func BenchmarkJSON(b *testing.B) {
	f, err := CompileJSON(jsonDef)
	if err != nil {
		b.Fatal(err)
	}
	skimtest.BenchParse(b, f.NewParser(), `{"start_time":"2026-12-04T09:00:01.123Z","request_id":"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a","method":"POST","path":"/accounts/login/","status":"200","client":"203.0.113.7:52344","tls_version":"TLSv1.3","ua":"python-requests/2.32.3","bytes":"5120",`+
		`"peer":{"subject":"CN=svc-batch-01,OU=Batch,O=Example Corp,C=US","issuer":"CN=Example Issuing CA 1,O=Example Corp,C=US","serial":"4f2a9c0d11e3b7a1","sha256":"`+sha256hex+`","sha1":"`+strings.ToUpper(sha1hex)+`","uri_san":"spiffe://example.org/ns/prod/sa/batch"}}`)
}

func TestParseDoesNotAllocate(t *testing.T) {
	f, err := CompileText(mtlsText)
	if err != nil {
		t.Fatal(err)
	}
	j, err := CompileJSON(jsonDef)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    *Format
		line string
	}{
		{f, `[2026-12-04T09:00:01.123Z] [2001:db8::1]:52344 "POST /accounts/login/ HTTP/2" 200 5120 "ua" "rid" "CN=Jos\C3\A9,O=Example Corp,C=US" "CN=CA,C=US" 4f2a ` + sha1hex + " " + sha256hex + " spiffe://x"},
		{j, `{"start_time":"2026-12-04T09:00:01.123Z","request_id":"rid","client":"203.0.113.7:52344","ua":"a \"b\"","peer":{"subject":"CN=svc,C=US","serial":"4f2a","sha1":"` + sha1hex + `"}}`},
	} {
		skimtest.CheckParseAllocs(t, tc.f.NewParser(), tc.line)
	}
}
