package haproxy

import (
	"os"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

// HAProxy's own formats (src/log.c: default_http_log_format,
// default_https_log_format, clf_http_log_format), and the request id and
// client certificate that docs/proxies.md has appended to them.
const (
	httplogFormat  = `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r`
	httpslogFormat = httplogFormat + ` %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc`
	clfFormat      = `%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl`
	mtlsFields     = ` id=%ID used=%[ssl_c_used] verify=%[ssl_c_verify] sha1=%[ssl_c_sha1,hex] sha256=%[ssl_c_der,sha2(256),hex] serial=%[ssl_c_serial,hex] sdn=%{+Q}[ssl_c_s_dn(,0,rfc2253)] idn=%{+Q}[ssl_c_i_dn(,0,rfc2253)]`
)

// quoted puts a format in double quotes as haproxy.cfg does.
func quoted(format string) string { return `"` + format + `"` }

const mtlsValues = ` id=` + uid + ` used=1 verify=0 sha1=` + sha1hex + ` sha256=` + sha256hex + ` serial=4F2A9C0D11E3B7A1 sdn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US"`

var mtlsWantFields = fields{
	event.RequestID: uid, event.TLSVerify: "SUCCESS", event.TLSSHA1: sha1hex, event.TLSSHA256: sha256hex, event.TLSSerial: "4F2A9C0D11E3B7A1",
	event.TLSSubject: "CN=svc-batch-01,OU=Batch,O=Example Corp,C=US", event.TLSIssuer: "CN=Example Issuing CA 1,O=Example Corp,C=US",
}

// with returns the fields of base and more.
func with(base fields, more fields) fields {
	out := fields{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// TestHAProxyFormats reads lines as HAProxy writes them in its own
// formats: %TR and the other aliases, header captures that write nothing
// when none is configured, separators merged into one space.
func TestHAProxyFormats(t *testing.T) {
	login := fields{
		event.SourceIP: "203.0.113.7", event.SourcePort: "52344", event.Status: "200", event.BodyBytes: "2210",
		event.Method: "POST", event.URLPath: "/accounts/login/",
	}
	const head = `203.0.113.7:52344 [04/Dec/2026:09:00:01.123] fe_mtls~ be_app/app1 0/0/1/12/13 200 2210 - - ---- 1/1/0/0/0 0/0 `
	const when = "2026-12-04T09:00:01.123Z"
	for _, tc := range []struct {
		name, format, line, when string
		want                     fields
	}{
		{"httplog, no header captured", httplogFormat, head + `"POST /accounts/login/ HTTP/1.1"`, when, login},
		{"httplog, request header captured", httplogFormat, head + `{curl/8.5.0} "POST /accounts/login/ HTTP/1.1"`, when, login},
		{"httplog, request and response headers captured", httplogFormat,
			head + `{Mozilla/5.0 (X11; Linux) #7B#7D#22|app.example.org} {2210|} "POST /accounts/login/?next=/ HTTP/1.1"`, when, login},
		{"httplog, #XX escapes in the request line", httplogFormat,
			head + `"GET /caf#C3#A9/?q=#22x#22 HTTP/1.1"`, when, with(login, fields{event.Method: "GET", event.URLPath: "/café/"})},
		{"httplog, bad request", httplogFormat,
			`198.51.100.20:61000 [04/Dec/2026:09:00:03.010] fe_mtls~ fe_mtls/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 1/1/0/0/0 0/0 "<BADREQ>"`,
			"2026-12-04T09:00:03.01Z", fields{event.SourceIP: "198.51.100.20", event.SourcePort: "61000", event.Status: "400", event.BodyBytes: "0"}},
		{"httplog with the mTLS fields", httplogFormat + mtlsFields, head + `"POST /accounts/login/ HTTP/1.1"` + mtlsValues, when, with(login, mtlsWantFields)},
		{"httplog with the mTLS fields, headers captured", httplogFormat + mtlsFields,
			head + `{curl/8.5.0} {} "POST /accounts/login/ HTTP/1.1"` + mtlsValues, when, with(login, mtlsWantFields)},
		{"httpslog", httpslogFormat, head + `"POST /accounts/login/ HTTP/1.1" 0/0/0/0/0 app.example.org/TLSv1.3/TLS_AES_256_GCM_SHA384`, when, login},
		{"httpslog with the mTLS fields, no SNI", httpslogFormat + mtlsFields,
			head + `"POST /accounts/login/ HTTP/1.1" 0/0/0/0/1 -/TLSv1.3/TLS_AES_256_GCM_SHA384` + mtlsValues, when, with(login, mtlsWantFields)},
		{"clf, no header captured", clfFormat,
			`203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "POST /accounts/login/ HTTP/1.1" 200 2210 "" "" 52344 123 "fe_mtls~" "be_app" "app1" 0 0 1 12 13 ---- 1 1 0 0 0 0 0 "" "" `,
			"2026-12-04T09:00:01Z", login},
		{"clf, request headers captured", clfFormat,
			`203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "POST /accounts/login/ HTTP/1.1" 200 2210 "" "" 52344 123 "fe_mtls~" "be_app" "app1" 0 0 1 12 13 ---- 1 1 0 0 0 0 0 "" "" "curl/8.5.0 (x)" "" `,
			"2026-12-04T09:00:01Z", login},
		{"clf, request and response headers captured", clfFormat,
			`203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "POST /accounts/login/ HTTP/1.1" 200 2210 "" "" 52344 123 "fe_mtls~" "be_app" "app1" 0 0 1 12 13 ---- 1 1 0 0 0 0 0 "" "" "curl/8.5.0 (x)" "" "2210"`,
			"2026-12-04T09:00:01Z", login},
		{"clf with the request id, no header captured", clfFormat + ` id=%ID`,
			`203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "POST /accounts/login/ HTTP/1.1" 200 2210 "" "" 52344 123 "fe_mtls~" "be_app" "app1" 0 0 1 12 13 ---- 1 1 0 0 0 0 0 "" "" id="` + uid + `"`,
			"2026-12-04T09:00:01Z", with(login, fields{event.RequestID: uid})},
		{"clf with the request id, headers captured", clfFormat + ` id=%ID`,
			`203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "POST /accounts/login/ HTTP/1.1" 200 2210 "" "" 52344 123 "fe_mtls~" "be_app" "app1" 0 0 1 12 13 ---- 1 1 0 0 0 0 0 "" "" "a b" "c" id="` + uid + `"`,
			"2026-12-04T09:00:01Z", with(login, fields{event.RequestID: uid})},
		{"%{+Q}o quotes text values, not numbers or times", `%{+Q}o%tr %ST %B %ID %[ssl_c_verify] %HM`,
			`04/Dec/2026:09:00:01.123 200 2210 "` + uid + `" "0" "POST"`, when,
			fields{event.Status: "200", event.BodyBytes: "2210", event.RequestID: uid, event.TLSVerify: "NONE", event.Method: "POST"}},
		{"spaces at the start, between items and at the end merge", `   [%tr]    %ST   `, `[04/Dec/2026:09:00:01.123] 200 `, when, fields{event.Status: "200"}},
		{"%T and %Tl", `%T %Tl %ST`, `04/Dec/2026:09:00:01 +0000 04/Dec/2026:10:00:01 +0100 200`, "2026-12-04T09:00:01Z", fields{event.Status: "200"}},
		{"a '%' before a byte that starts no item is dropped", `%tr %ST%/%B`, `04/Dec/2026:09:00:01.123 200/2210`, when, fields{event.Status: "200", event.BodyBytes: "2210"}},
		{"fetches are written raw: no #XX decoding", strings.Trim(Reference, `"`),
			`203.0.113.7:52344 [04/Dec/2026:09:00:01.123] fe_mtls~ be_app/app1 200 2210 "POST /accounts/login/ HTTP/1.1" id=ABC#41 used=1 verify=0 sha1=` + sha1hex + ` sha256=- serial=4F2A9C0D11E3B7A1 sdn="CN=svc-batch-01,OU=Lab #2A,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US"`,
			when, with(login, fields{event.RequestID: "ABC#41", event.TLSVerify: "SUCCESS", event.TLSSHA1: sha1hex, event.TLSSerial: "4F2A9C0D11E3B7A1",
				event.TLSSubject: "CN=svc-batch-01,OU=Lab #2A,O=Example Corp,C=US", event.TLSIssuer: "CN=Example Issuing CA 1,O=Example Corp,C=US"})},
		{"a raw '\"' in the last fetch", `%tr %{+Q}[req.fhdr(user-agent)]`, `04/Dec/2026:09:00:01.123 "Mozilla "x" #22"`, when, fields{event.UserAgent: `Mozilla "x" #22`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Compile(quoted(tc.format))
			if err != nil {
				t.Fatal(err)
			}
			skimtest.CheckParse(t, f.NewParser(), tc.line, tc.when, tc.want)
			skimtest.CheckLines(t, f, reading(f), []string{tc.line, tc.line})
		})
	}
}

func TestHAProxyFormatErrors(t *testing.T) {
	for _, tc := range []struct{ format, line, msg string }{
		{httplogFormat, `203.0.113.7:52344 [04/Dec/2026:09:00:01.123] fe_mtls~ be_app/app1 0/0/1/12/13 200 2210 - - ---- 1/1/0/0/0 0/0 {curl "POST / HTTP/1.1"`, "expected '}' closing %hr"},
		{httplogFormat, `203.0.113.7:52344 [04/Dec/2026:09:00:01.123] fe_mtls~ be_app/app1 0/0/1/12/13 200 2210 - - ---- 1/1/0/0/0 0/0  "POST / HTTP/1.1"`, `expected "\"" before %{+Q}r`},
		{httplogFormat, `203.0.113.7:52344 [04/Dec/2026:09:00:01.123] fe_mtls~ be_app/app1 0/0/1/12/13 200 2210 - - ---- 1/1/0/0/0 0/0 x "POST / HTTP/1.1"`, `expected "\"" before %{+Q}r`},
		{clfFormat, `203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "POST / HTTP/1.1" 200 2210 "" "" 52344 123 "fe_mtls~" "be_app" "app1" 0 0 1 12 13 ---- 1 1 0 0 0 0 0 "" ""`, `expected "\" " after %CS`},
	} {
		f, err := Compile(quoted(tc.format))
		if err != nil {
			t.Fatal(err)
		}
		skimtest.CheckSyntaxError(t, f.NewParser(), tc.line, tc.msg)
	}
}

// TestAliases compiles every alias of HAProxy's logformat_aliases table
// (src/log.c).
func TestAliases(t *testing.T) {
	all := strings.Fields(`B CC CS H ID OG ST T Ta Tc Th Ti Tl Tq Tr TR Td Ts Tt Tu Tw U ac b bc bi bp bq ci cp f fc fi fp ft
		hr hrl hs hsl HM HP HPO HQ HU HV lc ms pid r rc rt s sc si sp sq sslc sslv t tr trg trl ts tsc`)
	if len(all) != len(aliases) {
		t.Errorf("%d aliases known, HAProxy has %d", len(aliases), len(all))
	}
	for _, a := range all {
		if _, err := Compile(quoted(`%tr %` + a + ` x`)); err != nil {
			t.Errorf("%%%s: %v", a, err)
		}
	}
}

func TestAliasCompileErrors(t *testing.T) {
	for _, tc := range []struct{ format, msg string }{
		{`%tr %STx`, "unknown log-format variable %STx"},
		{`%tr %TRx/%Tw`, "unknown log-format variable %TRx"},
		{`%tr %Tr2`, "unknown log-format variable %Tr2"},
		{`%tr 100%`, "ends with a '%'"},
		{`%tr % x`, `' ' after '%' is no item`},
		{`%tr %1`, `'1' after '%' is no item`},
		{`%tr %{+Q} x`, "%{+Q} is not followed by an alias"},
		{`%tr %hrl %hrl %hrl %hrl %hrl x`, "more than 4 header capture lists"},
		{`%ST %T`, ""},
	} {
		_, err := Compile(quoted(tc.format))
		switch {
		case tc.msg == "" && err != nil:
			t.Errorf("Compile(%q): %v", tc.format, err)
		case tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)):
			t.Errorf("Compile(%q) error %v, want one mentioning %q", tc.format, err, tc.msg)
		}
	}
}

// TestDocFormats checks that the log-format lines docs/proxies.md gives
// for HAProxy are the ones the golden logs are written in.
func TestDocFormats(t *testing.T) {
	doc, err := os.ReadFile("../../docs/proxies.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "\n## HAProxy\n")
	section, _, _ = strings.Cut(section, "\n## ")
	var got []string
	for _, l := range strings.Split(section, "\n") {
		if l, ok := strings.CutPrefix(strings.TrimSpace(l), "log-format "); ok {
			got = append(got, l)
			if _, err := Compile(l); err != nil {
				t.Errorf("docs/proxies.md: %v", err)
			}
		}
	}
	want := []string{Reference, quoted(httplogFormat + mtlsFields)}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("docs/proxies.md gives the log-formats\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// FuzzSkimHTTPLog checks that Skim and Parse agree on HAProxy's httplog
// format with the mTLS fields, whose header captures may be absent.
func FuzzSkimHTTPLog(f *testing.F) {
	const head = `<134>Dec  4 09:00:01 lb1 haproxy[1]: 203.0.113.7:52344 [04/Dec/2026:09:00:01.123] fe_mtls~ be_app/app1 0/0/1/12/13 200 2210 - - ---- 1/1/0/0/0 0/0 `
	f.Add([]byte(head + `"POST /accounts/login/ HTTP/1.1"` + mtlsValues))
	f.Add([]byte(head + `{curl/8.5.0} "GET /x HTTP/1.1"` + mtlsValues))
	f.Add([]byte(head + `{a b|c} {d} "POST /caf#C3#A9/ HTTP/1.1"` + mtlsValues))
	fm, err := Compile(quoted(httplogFormat + mtlsFields))
	if err != nil {
		f.Fatal(err)
	}
	skimtest.Fuzz(f, fm, reading(fm))
}
