package haproxy

import (
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

// reading is how f's parsers skim: in full when its checks are the full
// parse.
func reading(f *Format) skimtest.Reading {
	if f.skimmable {
		return skimtest.AsWanted
	}
	return skimtest.AlwaysFull
}

var skimLine = `<134>Dec  4 09:00:01 lb1 haproxy[1234]: 203.0.113.7:52344 [04/Dec/2026:09:00:01.123] fe_mtls~ be_app/app1 200 5120 "GET /static/app.js?v=3 HTTP/1.1" id=` + uid +
	` used=1 verify=0 sha1=` + strings.ToUpper(sha1hex) + ` serial=4F2A9C0D11E3B7A1 sdn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US"`

func TestSkimAgreesWithParse(t *testing.T) {
	f, err := Compile(mtlsFormat)
	if err != nil {
		t.Fatal(err)
	}
	skimtest.CheckEdits(t, f, reading(f), skimLine, []skimtest.Edit{
		{Name: "non-login line"},
		{Name: "login line", Old: "GET /static/app.js?v=3", New: "POST /accounts/login/?next=/"},
		{Name: "absolute URI", Old: "GET /static/app.js?v=3", New: "POST https://app.example.org/accounts/login/"},
		{Name: "bad request", Old: `"GET /static/app.js?v=3 HTTP/1.1"`, New: `"<BADREQ>"`},
		{Name: "no syslog prefix", Old: "<134>Dec  4 09:00:01 lb1 haproxy[1234]: ", New: ""},
		{Name: "rfc5424 prefix", Old: "<134>Dec  4 09:00:01 lb1 haproxy[1234]: ", New: "<134>1 2026-12-04T09:00:01.123456+00:00 lb1 haproxy 1234 - - "},
		{Name: "no request id", Old: "id=" + uid, New: "id=-"},
		{Name: "escaped request id", Old: "id=" + uid, New: "id=a#23b"},
		{Name: "escaped subject", Old: `sdn="CN=svc-batch-01,`, New: `sdn="CN=Doe\, Jane \"JD\",O=Example#Corp #2A,`},
		{Name: "verify failure", Old: "verify=0", New: "verify=21"},
		{Name: "no certificate", Old: `used=1 verify=0 sha1=` + strings.ToUpper(sha1hex) + ` serial=4F2A9C0D11E3B7A1 sdn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US"`, New: `used=0 verify=0 sha1= serial= sdn="" idn=""`},
		{Name: "IPv6 address", Old: "203.0.113.7:52344", New: "2001:db8::7:52344"},
		{Name: "lower-case fingerprint", Old: strings.ToUpper(sha1hex), New: sha1hex},
		{Name: "bad fingerprint further along", Old: strings.ToUpper(sha1hex), New: "XYZ", Reject: true},
		{Name: "bad serial further along", Old: "serial=4F2A9C0D11E3B7A1", New: "serial=4F2A-XYZ", Reject: true},
		{Name: "bad subject further along", Old: `sdn="CN=svc-batch-01,OU=Batch`, New: `sdn="CN=svc-batch-01,OU`, Reject: true},
		{Name: "bad issuer further along", Old: `idn="CN=Example Issuing CA 1,`, New: `idn="CN,`, Reject: true},
		{Name: "#XX in a fetch is not an escape", Old: "used=1", New: "used=#31", Reject: true},
		{Name: "bad used further along", Old: "used=1", New: "used=2", Reject: true},
		{Name: "bad time", Old: "[04/Dec/2026:09:00:01.123]", New: "[04/Dxc/2026:09:00:01.123]", Reject: true},
		{Name: "missing literal", Old: " verify=", New: " verified=", Reject: true},
		{Name: "text after the end", Old: `C=US"`, New: `C=US" more`, Reject: true},
		{Name: "bad login subject", Old: `GET /static/app.js?v=3 HTTP/1.1" id=` + uid + ` used=1 verify=0 sha1=` + strings.ToUpper(sha1hex) + ` serial=4F2A9C0D11E3B7A1 sdn="CN=svc-batch-01,OU=Batch`, New: `POST /login/ HTTP/1.1" id=` + uid + ` used=1 verify=0 sha1=` + strings.ToUpper(sha1hex) + ` serial=4F2A9C0D11E3B7A1 sdn="CN=svc-batch-01,OU`, Reject: true},
	})
}

// TestSkimFormats checks formats that give the method and path late, not
// at all, or that need the full parse to check a line.
func TestSkimFormats(t *testing.T) {
	for _, tc := range []struct {
		format string
		lines  []string
	}{
		{format: onelineFormat, lines: []string{
			`10.0.0.1:40000 [04/Dec/2026:09:00:04.250] POST /accounts/login/ 200 512 "u" "/C=ES/O=Example Corp/CN=José García" "/C=ES/CN=CA" "` + sha256hex + `" "0" "Mozilla/5.0 #22quoted#22"`,
			`10.0.0.1:40000 [04/Dec/2026:09:00:04.250] GET /x 200 512 "u" "/C=ES/O=Example Corp/CN=José García" "/C=ES/CN=CA" "` + sha256hex + `" "0" "Mozilla/5.0 #22quoted#22"`,
			`10.0.0.1:40000 [04/Dec/2026:09:00:04.250] GET /x 200 512 "u" "/C=ES/O=Example Corp/CN=José García" "CN" "` + sha256hex + `" "0" "curl"`,
		}},
		{format: `"%[ssl_c_s_dn(,0,rfc2253)] %[ssl_c_serial,hex] %Ts %ID %HP %HM"`, lines: []string{
			`CN=a,O=b 0A11 1764838801 r1 /accounts/login/ POST`,
			`CN=a,O=b 0A11 1764838801 r1 /x GET`,
			`CN=a,O 0A11 1764838801 r1 /accounts/login/ POST`,
			`CN=a,O=b 0A1X 1764838801 r1 /x GET`,
		}},
		{format: `"%t %trg %ID %[ssl_c_s_dn(,0,rfc2253)]"`, lines: []string{
			`04/Dec/2026:09:00:01.123 04/Dec/2026:09:00:02 +0000 r1 CN=a,O=b`,
			`04/Dec/2026:09:00:01.123 04/Dec/2026:09:00:02 +0000 r1 CN`,
		}},
		{format: `"[%tr] \"%r\" %HM"`, lines: []string{
			`[04/Dec/2026:09:00:01.123] "GET /accounts/login/ HTTP/1.1" POST`,
			`[04/Dec/2026:09:00:01.123] "POST /accounts/login/ HTTP/1.1" GET`,
		}},
		{format: `"%tr %r %[ssl_c_der,base64]"`, lines: []string{
			`04/Dec/2026:09:00:01.123 POST /login/ HTTP/1.1 -`,
			`04/Dec/2026:09:00:01.123 GET /x HTTP/1.1 MIIB`,
		}},
	} {
		f, err := Compile(tc.format)
		if err != nil {
			t.Fatal(err)
		}
		skimtest.CheckLines(t, f, reading(f), tc.lines)
	}
}

// TestSkimTestdata checks the committed logs, each line twice so that the
// parsers' memories are exercised.
func TestSkimTestdata(t *testing.T) {
	for _, g := range goldenLogs {
		f, err := Compile(g.format)
		if err != nil {
			t.Fatal(err)
		}
		skimtest.CheckLog(t, f, reading(f), "testdata/"+g.name+".log")
	}
}

// FuzzSkim checks that for any line Skim and Parse agree (see
// skimtest.CheckSkim) on the mTLS format.
func FuzzSkim(f *testing.F) {
	f.Add([]byte(skimLine))
	f.Add([]byte(strings.Replace(skimLine, "GET /static/app.js?v=3", "POST /accounts/login/", 1)))
	f.Add([]byte(strings.Replace(skimLine, `sdn="CN=svc-batch-01,`, `sdn="CN=Doe\, Jane \"JD\",O=Example#Corp #2A,`, 1)))
	fm, err := Compile(mtlsFormat)
	if err != nil {
		f.Fatal(err)
	}
	skimtest.Fuzz(f, fm, reading(fm))
}
