package traefik

import (
	"net/url"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

// skimLine is a Traefik line as Traefik writes it: keys in order, a
// non-login request.
const skimLine = `{"ClientAddr":"203.0.113.7:52344","ClientHost":"203.0.113.7","ClientPort":"52344","ClientUsername":"-","DownstreamContentSize":5120,"DownstreamStatus":200,"Duration":12345678,"OriginContentSize":5120,"OriginDuration":12000000,"OriginStatus":200,"Overhead":345678,"RequestAddr":"app.example.org","RequestContentSize":0,"RequestCount":42,"RequestHost":"app.example.org","RequestMethod":"GET","RequestPath":"/static/app.js?v=3","RequestPort":"-","RequestProtocol":"HTTP/2.0","RequestScheme":"https","RetryAttempts":0,"RouterName":"app@file","ServiceAddr":"10.1.2.3:8000","ServiceName":"app@file","ServiceURL":"http://10.1.2.3:8000","StartLocal":"2026-12-04T10:00:01.123456789+01:00","StartUTC":"2026-12-04T09:00:01.123456789Z","TLSCipher":"TLS_AES_128_GCM_SHA256","TLSClientSubject":"CN=svc-batch-01,OU=Batch,O=Example Corp,C=US","TLSVersion":"1.3","entryPointName":"websecure","level":"info","msg":"","request_User-Agent":"Mozilla/5.0 (X11; Linux x86_64)","request_X-Request-Id":"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a","time":"2026-12-04T09:00:01Z"}`

func TestSkimAgreesWithParse(t *testing.T) {
	f, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	info := url.QueryEscape(`Subject="C=US,O=Example Corp,OU=Batch,CN=svc-batch-01";Issuer="CN=CA";SerialNumber="703710"`)
	// The line up to its method and path, and with a login's first.
	const request = `"RequestMethod":"GET","RequestPath":"/static/app.js?v=3",`
	upToRequest := skimLine[:strings.Index(skimLine, request)+len(request)]
	pathFirst := `{"RequestPath":"/accounts/login/","RequestMethod":"POST",` + strings.TrimSuffix(upToRequest[1:], request)
	skimtest.CheckEdits(t, f, skimtest.AsWanted, skimLine, []skimtest.Edit{
		{Name: "non-login line"},
		{Name: "login line", Old: `"GET","RequestPath":"/static/app.js?v=3"`, New: `"POST","RequestPath":"/accounts/login/?next=/"`},
		{Name: "path first", Old: upToRequest, New: pathFirst},
		{Name: "no method", Old: `"RequestMethod":"GET",`, New: ``},
		{Name: "null method", Old: `"RequestMethod":"GET"`, New: `"RequestMethod":null`},
		{Name: "escaped values", Old: `"Mozilla/5.0 (X11; Linux x86_64)"`, New: `"Mozilla/5.0 \"q\" \u00e9"`},
		{Name: "escaped path", Old: `"/static/app.js?v=3"`, New: `"/accounts/\u006cogin/"`},
		{Name: "no request id", Old: `"request_X-Request-Id":"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a",`, New: ``},
		{Name: "StartLocal only", Old: `"StartUTC":"2026-12-04T09:00:01.123456789Z",`, New: ``},
		{Name: "cert info", Old: `"request_User-Agent"`, New: `"request_X-Forwarded-Tls-Client-Cert-Info":"` + info + `","request_User-Agent"`},
		{Name: "cert info for a login", Old: `"GET","RequestPath":"/static/app.js?v=3"`, New: `"POST","RequestPath":"/accounts/login/","request_X-Forwarded-Tls-Client-Cert-Info":"` + info + `"`},
		{Name: "bad cert info, ignored", Old: `"request_User-Agent"`, New: `"request_X-Forwarded-Tls-Client-Cert-Info":"Subject%3Dx%ZZ","request_User-Agent"`},
		{Name: "bad cert, ignored", Old: `"request_User-Agent"`, New: `"request_X-Forwarded-Tls-Client-Cert":"bm90IGEgY2VydA==","request_User-Agent"`},
		{Name: "login method and path twice", Old: `"request_User-Agent"`, New: `"RequestMethod":"POST","RequestPath":"/accounts/login/","request_User-Agent"`, Reject: true},
		{Name: "path twice, null", Old: `"request_User-Agent"`, New: `"RequestPath":null,"request_User-Agent"`, Reject: true},
		{Name: "bad subject after the path", Old: `"CN=svc-batch-01,OU=Batch`, New: `"CN=svc-batch-01,OU`, Reject: true},
		{Name: "bad subject overridden by a later one", Old: `{"ClientAddr"`, New: `{"TLSClientSubject":"CN","ClientAddr"`},
		{Name: "bad escape in a dropped value", Old: `"Mozilla/5.0 (X11; Linux x86_64)"`, New: `"Mozilla\q"`, Reject: true},
		{Name: "bad JSON in a dropped value", Old: `"DownstreamStatus":200`, New: `"DownstreamStatus":20x`, Reject: true},
		{Name: "bad JSON after the path", Old: `"ServiceURL":"http://10.1.2.3:8000"`, New: `"ServiceURL":[1,`, Reject: true},
		{Name: "no time", Old: `"StartLocal":"2026-12-04T10:00:01.123456789+01:00","StartUTC":"2026-12-04T09:00:01.123456789Z",`, New: ``, Reject: true},
		{Name: "bad time", Old: `2026-12-04T09:00:01.123456789Z`, New: `2026-12-04X09`, Reject: true},
		{Name: "truncated", Old: `"}`, New: `"`, Reject: true},
	})
}

// TestSkimTestdata checks the committed log, each line twice so that the
// parsers' memories are exercised.
func TestSkimTestdata(t *testing.T) {
	f, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	skimtest.CheckLog(t, f, skimtest.AsWanted, "testdata/access.log")
}

// FuzzSkim checks that for any line Skim and Parse agree (see skimtest.CheckSkim).
func FuzzSkim(f *testing.F) {
	f.Add([]byte(skimLine))
	f.Add([]byte(strings.Replace(skimLine, `"GET","RequestPath":"/static/app.js?v=3"`, `"POST","RequestPath":"/accounts/login/"`, 1)))
	f.Add([]byte(strings.Replace(skimLine, `{"ClientAddr"`, `{"RequestPath":"/accounts/login/","RequestMethod":"POST","ClientAddr"`, 1)))
	f.Add([]byte(`{"StartUTC":"2026-12-04T09:00:01Z","RequestMethod":"GET","RequestPath":"/","request_X-Forwarded-Tls-Client-Cert-Info":"Subject%3D%22C%3DES%2CCN%3Dx%22%3BSerialNumber%3D%2212%22"}`))
	fm, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	skimtest.Fuzz(f, fm, skimtest.AsWanted)
}

func skimmer(b testing.TB) ingest.Skimmer {
	f, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	return f.NewParser().(ingest.Skimmer)
}

// BenchmarkSkimLine skims a full Traefik line of a non-login request;
// compare with BenchmarkParseLine.
func BenchmarkSkimLine(b *testing.B) {
	p := skimmer(b)
	skimtest.BenchSkim(b, p, skimLine)
}

// BenchmarkParseLine parses the line BenchmarkSkimLine skims.
func BenchmarkParseLine(b *testing.B) {
	skimtest.BenchParse(b, skimmer(b), skimLine)
}

func TestSkimDoesNotAllocate(t *testing.T) { skimtest.CheckSkimAllocs(t, skimmer(t), skimLine) }
