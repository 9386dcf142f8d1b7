package haproxy

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
	"github.com/spraywatch/spraywatch/ingest/internal/syslog"
)

const mtlsFormat = `log-format "%ci:%cp [%tr] %ft %b/%s %ST %B \"%r\" id=%ID used=%[ssl_c_used] verify=%[ssl_c_verify] sha1=%[ssl_c_sha1,hex] serial=%[ssl_c_serial,hex] sdn=%{+Q}[ssl_c_s_dn(,0,rfc2253)] idn=%{+Q}[ssl_c_i_dn(,0,rfc2253)]"`

const onelineFormat = `%ci:%cp\ [%t]\ %HM\ %HP\ %ST\ %B\ %{+Q}o%ID\ %[ssl_c_s_dn]\ %[ssl_c_i_dn]\ %[ssl_c_der,sha2(256),hex]\ %[ssl_c_verify]\ %[req.fhdr(user-agent)]`

const (
	sha1hex   = "0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819"
	sha256hex = "468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688"
	uid       = "7F000001:A894_7F000001:480C_6B1322B1_001C:4CC4"
)

type fields map[event.Field]string

func TestParse(t *testing.T) {
	mtlsLine := `203.0.113.7:52344 [04/Dec/2026:09:00:01.123] fe_mtls~ be_app/app1 200 5120 "POST /accounts/login/?next=/ HTTP/1.1" id=` + uid +
		` used=1 verify=0 sha1=` + strings.ToUpper(sha1hex) + ` serial=00F3828EB24FD779D0 sdn="CN=Jos\C3\A9 Garc\C3\ADa,OU=devices,O=Example Corp,C=ES" idn="CN=Example Issuing CA 1,O=Example Corp,C=ES"`
	mtlsWant := fields{
		event.SourceIP: "203.0.113.7", event.SourcePort: "52344", event.Status: "200", event.BodyBytes: "5120",
		event.Method: "POST", event.URLPath: "/accounts/login/", event.RequestID: uid, event.TLSVerify: "SUCCESS",
		event.TLSSHA1: sha1hex, event.TLSSerial: "F3828EB24FD779D0",
		event.TLSSubject: "CN=José García,OU=devices,O=Example Corp,C=ES",
		event.TLSIssuer:  "CN=Example Issuing CA 1,O=Example Corp,C=ES",
	}
	for _, tc := range []struct {
		name, format, line, when string
		want                     fields
	}{
		{"rfc2253 DNs, no syslog prefix", mtlsFormat, mtlsLine, "2026-12-04T09:00:01.123Z", mtlsWant},
		{"rfc3164 prefix", mtlsFormat, "<134>Dec  4 09:00:01 lb1 haproxy[1234]: " + mtlsLine, "2026-12-04T09:00:01.123Z", mtlsWant},
		{"file written by a syslog daemon", mtlsFormat, "Dec  4 09:00:01 lb1 haproxy[1234]: " + mtlsLine, "2026-12-04T09:00:01.123Z", mtlsWant},
		{"rfc5424 prefix", mtlsFormat, "<134>1 2026-12-04T09:00:01.123456+00:00 lb1 haproxy 1234 - - " + mtlsLine, "2026-12-04T09:00:01.123Z", mtlsWant},
		{"rfc5424 prefix with structured data", mtlsFormat, `<134>1 2026-12-04T09:00:01Z lb1 haproxy 1234 - [x a="b\]c"] ` + mtlsLine, "2026-12-04T09:00:01.123Z", mtlsWant},
		{"high-precision daemon prefix", mtlsFormat, "2026-12-04T09:00:01.123456+00:00 lb1 haproxy[1234]: " + mtlsLine, "2026-12-04T09:00:01.123Z", mtlsWant},
		{
			"no client certificate", mtlsFormat,
			`[2001:db8::7]:443 [04/Dec/2026:09:00:02.000] fe_mtls~ be_app/app1 403 0 "GET /admin/ HTTP/1.1" id=x used=0 verify=0 sha1=- serial=- sdn="" idn=""`,
			"2026-12-04T09:00:02Z", fields{
				event.SourceIP: "2001:db8::7", event.SourcePort: "443", event.Status: "403", event.BodyBytes: "0",
				event.Method: "GET", event.URLPath: "/admin/", event.RequestID: "x", event.TLSVerify: "NONE",
			},
		},
		{
			"bare ipv6 %ci:%cp, verify failure, bad request", mtlsFormat,
			`2001:db8::7:52344 [04/Dec/2026:09:00:03.5] fe_mtls~ fe_mtls/<NOSRV> 400 0 "<BADREQ>" id=y used=1 verify=21 sha1=` + sha1hex + ` serial=01 sdn="CN=x" idn="CN=CA"`,
			"2026-12-04T09:00:03.5Z", fields{
				event.SourceIP: "2001:db8::7", event.SourcePort: "52344", event.Status: "400", event.BodyBytes: "0",
				event.RequestID: "y", event.TLSVerify: "FAILED:21", event.TLSSHA1: sha1hex, event.TLSSerial: "1",
				event.TLSSubject: "CN=x", event.TLSIssuer: "CN=CA",
			},
		},
		{
			"oneline DNs with raw UTF-8, raw fetch, #XX escaped path, %t, sha2(256), absolute URI", onelineFormat,
			`10.0.0.1:40000 [04/Dec/2026:09:00:04.250] POST https://app.example.org/caf#C3#A9/login/ 200 512 "` + uid + `" "/C=ES/O=Example Corp/OU=devices/CN=José García" "/C=ES/O=Example Corp/CN=Example Issuing CA 1" "` + strings.ToUpper(sha256hex) + `" "0" "Mozilla/5.0 "quoted" #hash #2A"`,
			"2026-12-04T09:00:04.25Z", fields{
				event.SourceIP: "10.0.0.1", event.SourcePort: "40000", event.Method: "POST", event.URLPath: "/café/login/",
				event.Status: "200", event.BodyBytes: "512", event.RequestID: uid,
				event.TLSSubject: "CN=José García,OU=devices,O=Example Corp,C=ES",
				event.TLSIssuer:  "CN=Example Issuing CA 1,O=Example Corp,C=ES",
				event.TLSSHA256:  sha256hex, event.TLSVerify: "SUCCESS",
				event.UserAgent: `Mozilla/5.0 "quoted" #hash #2A`,
			},
		},
		{
			"%trg beats %t, %Ts", `"[%t] %trg %Ts %ST"`,
			`[04/Dec/2026:09:00:00.999] 04/Dec/2026:10:00:05 +0100 1796374805 302`,
			"2026-12-04T09:00:05Z", fields{event.Status: "302"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Compile(tc.format)
			if err != nil {
				t.Fatal(err)
			}
			skimtest.CheckParse(t, f.NewParser(), tc.line, tc.when, tc.want)
		})
	}
}

func TestParseErrors(t *testing.T) {
	f, err := Compile(mtlsFormat)
	if err != nil {
		t.Fatal(err)
	}
	good := `10.0.0.1:1 [04/Dec/2026:09:00:01.123] fe be/s 200 1 "GET / HTTP/1.1" id=a used=1 verify=0 sha1=` + sha1hex + ` serial=01 sdn="CN=a" idn="CN=b"`
	p := f.NewParser()
	var r event.Record
	if err := p.Parse([]byte(good), &r); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ line, msg string }{
		{"", `expected ":" after %ci`},
		{strings.Replace(good, "[04/Dec/2026:09:00:01.123]", "[yesterday]", 1), "%tr"},
		{strings.Replace(good, "09:00:01.123", "09:00:01,123", 1), "milliseconds"},
		{strings.Replace(good, "used=1", "used=maybe", 1), "%[ssl_c_used]"},
		{strings.Replace(good, "sha1="+sha1hex, "sha1=XYZ", 1), "%[ssl_c_sha1,hex]"},
		{strings.Replace(good, `sdn="CN=a"`, `sdn="CN"`, 1), "%{+Q}[ssl_c_s_dn(,0,rfc2253)]"},
		{good + " extra", "at the end of the line"},
		{"<134>Dec  4 09:00:01 lb1 haproxy[1]: garbage", "column 38"},
	} {
		skimtest.CheckSyntaxError(t, p, tc.line, tc.msg)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct{ format, msg string }{
		{``, "empty format"},
		{`"%tr %ST`, "unbalanced double quote"},
		{`%tr %ST`, "unquoted space"},
		{`"%tr %Zz"`, "unknown log-format variable %Zz"},
		{`"%tr %[ssl_c_sha1]"`, "ssl_c_sha1 is binary"},
		{`"%tr %[ssl_c_serial,base64]"`, "ssl_c_serial is binary"},
		{`"%tr %[ssl_c_der,hex]"`, "sha2(256)"},
		{`"%tr %[ssl_c_s_dn(,0,rfc2253),lower] %[ssl_c_sha1,base64]"`, "ssl_c_sha1 is binary"},
		{`"%tr %[ssl_c_s_dn"`, "no closing ']'"},
		{`"%tr %[]"`, "empty sample expression"},
		{`"%tr %{+Q ci"`, "no closing '}'"},
		{`"%tr %ST%B"`, "nothing between them"},
		{`"%{+json}o %(ts)tr"`, "not supported"},
		{`"%ci %ST"`, "no time"},
		{`"%tr\`, "backslash"},
	} {
		_, err := Compile(tc.format)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Compile(%q) error %v, want one mentioning %q", tc.format, err, tc.msg)
		}
	}
}

func TestSyslogPrefix(t *testing.T) {
	for _, tc := range []struct {
		line string
		n    int
	}{
		{"<134>Dec  4 09:00:01 lb1 haproxy[1]: msg", 37},
		{"<134>Dec 14 09:00:01 lb1 haproxy: msg", 34},
		{"Dec  4 09:00:01 lb1 haproxy[1]: msg", 32},
		{"<134>1 2026-12-04T09:00:01Z lb1 haproxy 1 - - msg", 46},
		{"10.0.0.1:1 [04/Dec/2026:09:00:01.123] msg", 0},
		{"Decimal things: msg", 0},
		{"<134>", 0},
		{"<x>Dec  4 09:00:01 lb1 haproxy[1]: msg", 0},
	} {
		if got := syslog.Prefix([]byte(tc.line)); got != tc.n {
			t.Errorf("syslog.Prefix(%q) = %d, want %d", tc.line, got, tc.n)
		}
	}
}

func FuzzParse(f *testing.F) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	formats := []ingest.Format{}
	for _, s := range []string{mtlsFormat, onelineFormat, quoted(httplogFormat + mtlsFields), quoted(clfFormat + ` id=%ID`), recordedOneline} {
		fm, err := Compile(s)
		if err != nil {
			f.Fatal(err)
		}
		formats = append(formats, fm, fm.InZone(berlin))
	}
	f.Add(`<134>Dec  4 09:00:01 lb1 haproxy[1]: 203.0.113.7:52344 [04/Dec/2026:09:00:01.123] fe~ be/s 200 5 "POST /x HTTP/1.1" id=a used=1 verify=0 sha1=AB serial=01 sdn="CN=Jos\C3\A9" idn="/C=ES/CN=x"`)
	f.Add(`10.0.0.1:40000 [04/Dec/2026:09:00:04.250] POST / 200 512 "u" "/C=ES/CN=José" "" "-" "0" "a#2"`)
	f.Add(`<134>1 2026 h a p m [x a="\`)
	f.Add(`203.0.113.7:52344 [04/Dec/2026:09:00:01.123] fe_mtls~ be_app/app1 0/0/1/12/13 200 2210 - - ---- 1/1/0/0/0 0/0 {a} {b} "POST / HTTP/1.1"` + mtlsValues)
	f.Add(`203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "POST / HTTP/1.1" 200 2210 "" "" 52344 123 "fe_mtls~" "be_app" "app1" 0 0 1 12 13 ---- 1 1 0 0 0 0 0 "" "" "a b" "c" id="u"`)
	// A recorded line behind every header HAProxy writes.
	headers, err := os.ReadFile("testdata/headers.log")
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range strings.Split(string(headers), "\n") {
		if l != "" && !strings.HasPrefix(l, "##") {
			f.Add(l)
		}
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, fm := range formats {
			skimtest.CheckAccepted(t, fm.NewParser(), line)
		}
	})
}

// FuzzCompile compiles any format and, when it compiles, checks that Skim
// and Parse agree on lines made of its own text.
func FuzzCompile(f *testing.F) {
	f.Add(mtlsFormat)
	f.Add(onelineFormat)
	f.Add(`"%{+Q}o %[a(b)] %tr"`)
	f.Add(quoted(clfFormat + ` id=%ID`))
	f.Add(`"  %tr  %hrl %hsl %hr x=%hs  %{+Q}r "`)
	f.Fuzz(func(t *testing.T, s string) {
		fm, err := Compile(s)
		if err != nil {
			return
		}
		for _, line := range []string{s, strings.Trim(s, `"`), strings.ReplaceAll(strings.Trim(s, `"`), "%tr", "04/Dec/2026:09:00:01.123")} {
			skimtest.CheckSkim(t, fm.NewParser(), fm.NewParser(), []byte(line), reading(fm))
		}
	})
}

func TestSingleEntryDNIsSkipped(t *testing.T) {
	f, err := Compile(`"%tr %[ssl_c_s_dn(CN)] %{+Q}[ssl_c_s_dn(,0,rfc2253)]"`)
	if err != nil {
		t.Fatal(err)
	}
	var r event.Record
	if err := f.NewParser().Parse([]byte(`04/Dec/2026:09:00:01.000 alice "CN=alice,O=Example"`), &r); err != nil {
		t.Fatal(err)
	}
	if got := string(r.Get(event.TLSSubject)); got != "CN=alice,O=Example" {
		t.Errorf("subject = %q", got)
	}
}

func TestReference(t *testing.T) {
	f, err := Compile(Reference)
	if err != nil {
		t.Fatal(err)
	}
	line := `<134>Dec  4 09:00:01 lb1 haproxy[1]: 203.0.113.7:52344 [04/Dec/2026:09:00:01.123] fe_mtls~ be_app/app1 200 5120 "POST /accounts/login/ HTTP/1.1" id=` + uid +
		` used=1 verify=0 sha1=` + strings.ToUpper(sha1hex) + ` sha256=` + strings.ToUpper(sha256hex) + ` serial=0A sdn="CN=alice,O=Example" idn="CN=CA"` + "\n"
	skimtest.CheckParse(t, f.NewParser(), line, "2026-12-04T09:00:01.123Z", fields{
		event.SourceIP: "203.0.113.7", event.SourcePort: "52344", event.Status: "200", event.BodyBytes: "5120",
		event.Method: "POST", event.URLPath: "/accounts/login/", event.RequestID: uid, event.TLSVerify: "SUCCESS",
		event.TLSSHA1: sha1hex, event.TLSSHA256: sha256hex, event.TLSSerial: "A",
		event.TLSSubject: "CN=alice,O=Example", event.TLSIssuer: "CN=CA",
	})
}
