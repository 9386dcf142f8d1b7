package nginx

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

var update = flag.Bool("update", false, "rewrite golden files")

type fields map[event.Field]string

func at(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixNano()
}

// check compares a parsed record with the expected time and fields; every
// field not listed must be empty.
func check(t *testing.T, name string, r *event.Record, wantTime int64, want fields) {
	t.Helper()
	if r.Kind != event.Proxy {
		t.Errorf("%s: kind %v, want proxy", name, r.Kind)
	}
	if r.Time != wantTime {
		t.Errorf("%s: time %s, want %s", name, time.Unix(0, r.Time).UTC(), time.Unix(0, wantTime).UTC())
	}
	for i := 0; i < event.NumFields; i++ {
		f := event.Field(i)
		if got, w := string(r.Values[f]), want[f]; got != w {
			t.Errorf("%s: %s = %q, want %q", name, f, got, w)
		}
	}
}

const (
	sha1Hex = "0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819"
	rid     = "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a"
	issuer  = "CN=Example Issuing CA 1,O=Example Corp,C=US"
)

func TestParseReference(t *testing.T) {
	f, err := Compile(Reference)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != "nginx" || f.LogFormatName() != "mtls_combined" || f.TimeVariable() != "$time_local" {
		t.Errorf("Name %q, LogFormatName %q, TimeVariable %q", f.Name(), f.LogFormatName(), f.TimeVariable())
	}
	base := fields{
		event.SourceIP: "203.0.113.7", event.Method: "POST", event.URLPath: "/accounts/login/",
		event.Status: "200", event.BodyBytes: "512", event.UserAgent: "python-requests/2.32.3",
		event.RequestID: rid, event.TLSVerify: "SUCCESS", event.TLSSHA1: sha1Hex,
		event.TLSSerial: "4F2A9C0D11E3B7A1", event.TLSSubject: "CN=svc-batch-01,OU=Batch,O=Example Corp,C=US",
		event.TLSIssuer: issuer,
	}
	with := func(changes fields) fields {
		out := fields{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range changes {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name string
		line string
		time string
		want fields
	}{
		{
			name: "plain",
			line: `203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "POST /accounts/login/?next=/ HTTP/1.1" 200 512 "-" "python-requests/2.32.3" rid=` + rid + ` verify=SUCCESS fp=` + sha1Hex + ` serial=4F2A9C0D11E3B7A1 dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="` + issuer + `" rt=0.012`,
			time: "2026-12-04T09:00:01Z",
			want: base,
		},
		{
			// What nginx 1.22 wrote for CN=José García: the RFC 2253 byte
			// escapes, each backslash escaped again by the log.
			name: "unicode and escaped comma in RFC 2253 DN",
			line: `203.0.113.7 - alice [04/Dec/2026:10:00:01 +0100] "POST /accounts/login/ HTTP/2.0" 200 512 "https://app.example.com/" "python-requests/2.32.3" rid=` + rid + ` verify=SUCCESS fp=` + sha1Hex + ` serial=4F2A9C0D11E3B7A1 dn="CN=Jos\x5CC3\x5CA9 Garc\x5CC3\x5CADa,OU=devices,O=Example\x5C, Inc,C=ES" idn="` + issuer + `" rt=0.012`,
			time: "2026-12-04T09:00:01Z",
			want: with(fields{event.TLSSubject: `CN=José García,OU=devices,O=Example\, Inc,C=ES`}),
		},
		{
			name: "no client certificate",
			line: `203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "POST /accounts/login/ HTTP/1.1" 200 512 "-" "python-requests/2.32.3" rid=` + rid + ` verify=NONE fp=- serial=- dn="-" idn="-" rt=0.012`,
			time: "2026-12-04T09:00:01Z",
			want: with(fields{event.TLSVerify: "NONE", event.TLSSHA1: "", event.TLSSerial: "", event.TLSSubject: "", event.TLSIssuer: ""}),
		},
		{
			name: "IPv6 and escaped quote in the user agent",
			line: `2001:db8::1 - - [04/Dec/2026:09:00:01 +0000] "GET /accounts/login/ HTTP/1.1" 200 512 "-" "curl \x22quoted\x22 \x5Cslash" rid=` + rid + ` verify=SUCCESS fp=` + sha1Hex + ` serial=4F2A9C0D11E3B7A1 dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="` + issuer + `" rt=0.000`,
			time: "2026-12-04T09:00:01Z",
			want: with(fields{event.SourceIP: "2001:db8::1", event.Method: "GET", event.UserAgent: `curl "quoted" \slash`}),
		},
		{
			name: "failed verification answered by nginx, TLS probe as request",
			line: `198.51.100.4 - - [04/Dec/2026:09:00:02 +0000] "\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03" 400 157 "-" "-" rid=` + rid + ` verify=FAILED:self-signed certificate fp=` + strings.ToUpper(sha1Hex) + ` serial=00:4f:2a dn="/C=US/O=Evil/CN=mallory" idn="-" rt=0.001`,
			time: "2026-12-04T09:00:02Z",
			want: fields{
				event.SourceIP: "198.51.100.4", event.Status: "400", event.BodyBytes: "157",
				event.RequestID: rid, event.TLSVerify: "FAILED:self-signed certificate",
				event.TLSSHA1: sha1Hex, event.TLSSerial: "4F2A", event.TLSSubject: "CN=mallory,O=Evil,C=US",
			},
		},
		{
			name: "user name with a space, empty request",
			line: `203.0.113.7 - jane doe [04/Dec/2026:09:00:01 +0000] "" 400 0 "-" "-" rid=- verify=NONE fp=- serial=- dn="-" idn="-" rt=0.000`,
			time: "2026-12-04T09:00:01Z",
			want: fields{event.SourceIP: "203.0.113.7", event.Status: "400", event.BodyBytes: "0", event.TLSVerify: "NONE"},
		},
	}
	p := f.NewParser()
	for _, tt := range tests {
		var r event.Record
		if err := p.Parse([]byte(tt.line), &r); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		check(t, tt.name, &r, at(tt.time), tt.want)
	}
}

// TestBothDNStyles shows that the RFC 2253 and legacy variables, logged by
// the same nginx for the same certificate, give the same identity (but
// for a value with a `+` or `/`, which OpenSSL 3 escapes in the legacy
// form: the escape is kept as written).
func TestBothDNStyles(t *testing.T) {
	const tail = ` [04/Dec/2026:09:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "-" rid=` + rid
	rfc, err := Compile(`log_format a '$remote_addr$remote_port' '[$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rid=$request_id s="$ssl_client_s_dn" i="$ssl_client_i_dn"';`)
	if err == nil {
		t.Fatalf("adjacent variables compiled: %v", rfc)
	}
	rfc, err = Compile(`log_format a '$remote_addr [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rid=$request_id s="$ssl_client_s_dn" i="$ssl_client_i_dn"';`)
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := Compile(`log_format b '$remote_addr [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rid=$request_id s="$ssl_client_s_dn_legacy" i="$ssl_client_i_dn_legacy"';`)
	if err != nil {
		t.Fatal(err)
	}
	lines := []struct{ rfc, legacy string }{
		{
			`s="CN=Jos\x5CC3\x5CA9 \x5C\x22JD\x5C\x22 Doe\x5C;\x5C<x\x5C>,OU=Eng\x5C+R&D,O=Example\x5C, Inc,ST=California,C=US" i="CN=Example CA,O=Example\x5C, Inc,C=US"`,
			`s="/C=US/ST=California/O=Example, Inc/OU=Eng\x5C+R&D/CN=Jos\x5CxC3\x5CxA9 \x22JD\x22 Doe;<x>" i="/C=US/O=Example, Inc/CN=Example CA"`,
		},
	}
	for _, l := range lines {
		var a, b event.Record
		if err := rfc.NewParser().Parse([]byte("192.0.2.1"+tail+" "+l.rfc), &a); err != nil {
			t.Fatal(err)
		}
		if err := legacy.NewParser().Parse([]byte("192.0.2.1"+tail+" "+l.legacy), &b); err != nil {
			t.Fatal(err)
		}
		want := `CN=José \"JD\" Doe\;\<x\>,OU=Eng\+R&D,O=Example\, Inc,ST=California,C=US`
		if got := string(a.Get(event.TLSSubject)); got != want {
			t.Errorf("RFC 2253 subject %q, want %q", got, want)
		}
		// The legacy form's \+ (OpenSSL 3's escape) is kept as written,
		// backslash and all, as a raw writer's backslash would be.
		wantLegacy := strings.Replace(want, `OU=Eng\+R&D`, `OU=Eng\\\+R&D`, 1)
		if got := string(b.Get(event.TLSSubject)); got != wantLegacy {
			t.Errorf("legacy subject %q, want %q", got, wantLegacy)
		}
		if x, y := string(a.Get(event.TLSIssuer)), string(b.Get(event.TLSIssuer)); x != y || x != `CN=Example CA,O=Example\, Inc,C=US` {
			t.Errorf("issuers %q and %q differ or are wrong", x, y)
		}
	}
}

func TestParseJSON(t *testing.T) {
	f, err := Compile(jsonDirective)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != "nginx-json" || f.TimeVariable() != "$time_iso8601" {
		t.Errorf("Name %q, TimeVariable %q", f.Name(), f.TimeVariable())
	}
	full := fields{
		event.SourceIP: "203.0.113.7", event.Method: "POST", event.URLPath: "/accounts/login/",
		event.Status: "200", event.UserAgent: "python-requests/2.32.3",
		event.RequestID: rid, event.TLSVerify: "SUCCESS", event.TLSSHA1: sha1Hex,
		event.TLSSerial: "4F2A9C0D11E3B7A1", event.TLSSubject: "CN=svc-batch-01,OU=Batch,O=Example Corp,C=US",
		event.TLSIssuer: issuer,
	}
	tests := []struct {
		name string
		line string
		time string
		want fields
	}{
		{
			name: "reference sample",
			line: `{"ts":"2025-03-01T12:00:01+00:00","request_id":"` + rid + `","remote_addr":"203.0.113.7","method":"POST","uri":"/accounts/login/?next=/","status":200,"ssl_protocol":"TLSv1.3","client_verify":"SUCCESS","client_s_dn":"CN=svc-batch-01,OU=Batch,O=Example Corp,C=US","client_i_dn":"` + issuer + `","client_serial":"4F2A9C0D11E3B7A1","client_fp_sha1":"` + sha1Hex + `","client_v_end":"Jun  1 12:00:00 2026 GMT","ua":"python-requests/2.32.3"}`,
			time: "2025-03-01T12:00:01Z",
			want: full,
		},
		{
			// As nginx 1.22 wrote it with escape=json.
			name: "unicode DN, keys reordered, extra key",
			line: `{"extra":{"a":[1,2]},"request_id":"` + rid + `","ts":"2025-03-01T13:00:01+01:00","remote_addr":"2001:db8::7","method":"POST","uri":"/accounts/login/","status":200,"client_verify":"SUCCESS","client_s_dn":"CN=Jos\\C3\\A9 Garc\\C3\\ADa,O=Example\\, Inc,C=ES","client_i_dn":"` + issuer + `","client_serial":"4f2a9c0d11e3b7a1","client_fp_sha1":"` + sha1Hex + `","ua":"say \"hi\"\u0009tab"}`,
			time: "2025-03-01T12:00:01Z",
			want: fields{
				event.SourceIP: "2001:db8::7", event.Method: "POST", event.URLPath: "/accounts/login/",
				event.Status: "200", event.UserAgent: "say \"hi\"\ttab", event.RequestID: rid,
				event.TLSVerify: "SUCCESS", event.TLSSHA1: sha1Hex, event.TLSSerial: "4F2A9C0D11E3B7A1",
				event.TLSSubject: `CN=José García,O=Example\, Inc,C=ES`, event.TLSIssuer: issuer,
			},
		},
		{
			name: "no certificate: empty strings, dashes and null",
			line: `{"ts":"2025-03-01T12:00:01+00:00","request_id":"` + rid + `","remote_addr":"203.0.113.7","method":"GET","uri":"/","status":200,"client_verify":"NONE","client_s_dn":"","client_i_dn":"-","client_serial":null,"client_fp_sha1":"","ua":""}`,
			time: "2025-03-01T12:00:01Z",
			want: fields{
				event.SourceIP: "203.0.113.7", event.Method: "GET", event.URLPath: "/", event.Status: "200",
				event.RequestID: rid, event.TLSVerify: "NONE",
			},
		},
		{
			name: "only the time",
			line: `{"ts":"2025-03-01T12:00:01Z"}`,
			time: "2025-03-01T12:00:01Z",
			want: fields{},
		},
	}
	p := f.NewParser()
	for _, tt := range tests {
		var r event.Record
		if err := p.Parse([]byte(tt.line), &r); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		check(t, tt.name, &r, at(tt.time), tt.want)
	}
}

// TestCompileForms compiles the same format written in several ways and
// checks that each reads the same line the same way.
func TestCompileForms(t *testing.T) {
	const line = `203.0.113.7:51234 1764838801.123 "POST /accounts/login/?x=1 HTTP/1.1" 200 rid=` + rid + ` "CN=a,O=b"`
	want := fields{
		event.SourceIP: "203.0.113.7", event.SourcePort: "51234", event.Method: "POST",
		event.URLPath: "/accounts/login/", event.Status: "200", event.RequestID: rid, event.TLSSubject: "CN=a,O=b",
	}
	forms := []string{
		// The directive on one line.
		`log_format f '$remote_addr:$remote_port $msec "$request" $status rid=$request_id "$ssl_client_s_dn"';`,
		// Several lines, comments, both quote kinds, ${} names.
		"# spraywatch\nlog_format f   # the name\n    '${remote_addr}:$remote_port '  # address\n    \"$msec \\\"$request\\\" \"\n    '$status rid=${request_id} \"$ssl_client_s_dn\"';  # end\n",
		// Only the quoted parts.
		`'$remote_addr:$remote_port $msec "$request" $status ' 'rid=$request_id "$ssl_client_s_dn"'`,
		// The format string itself.
		`$remote_addr:$remote_port $msec "$request" $status rid=$request_id "$ssl_client_s_dn"`,
		// escape=none: nothing to undo.
		`log_format f escape=none '$remote_addr:$remote_port $msec "$request" $status rid=$request_id "$ssl_client_s_dn"';`,
		// Upper-case variable names are the same variables.
		`log_format f '$REMOTE_ADDR:$remote_port $MSEC "$request" $status rid=$request_id "$ssl_client_s_dn"';`,
	}
	for _, form := range forms {
		f, err := Compile(form)
		if err != nil {
			t.Errorf("Compile(%q): %v", form, err)
			continue
		}
		var r event.Record
		if err := f.NewParser().Parse([]byte(line), &r); err != nil {
			t.Errorf("Compile(%q) then Parse: %v", form, err)
			continue
		}
		check(t, form, &r, at("2025-12-04T09:00:01.123Z"), want)
	}
}

func TestCompileChoices(t *testing.T) {
	tests := []struct {
		directive string
		line      string
		time      string
		want      fields
	}{
		{
			// $status is three digits wide: another variable may follow it.
			directive: `$time_iso8601 $status$body_bytes_sent`,
			line:      `2026-12-04T09:00:01+00:00 404123`,
			time:      "2026-12-04T09:00:01Z",
			want:      fields{event.Status: "404", event.BodyBytes: "123"},
		},
		{
			// $msec wins over $time_local; $request_uri over $request; the
			// legacy DN is read only when there is no RFC 2253 one.
			directive: `[$time_local] $msec "$request" $request_uri $uri "$ssl_client_s_dn_legacy" "$ssl_client_s_dn"`,
			line:      `[04/Dec/2026:09:00:01 +0000] 1764838802.500 "GET /a?q HTTP/1.1" /b?q /c "/CN=legacy" "CN=rfc"`,
			time:      "2025-12-04T09:00:02.5Z",
			want:      fields{event.Method: "GET", event.URLPath: "/b", event.TLSSubject: "CN=rfc"},
		},
		{
			directive: `$time_iso8601 $request_method $uri`,
			line:      `2026-12-04T09:00:01+00:00 PUT /api/x y`,
			time:      "2026-12-04T09:00:01Z",
			want:      fields{event.Method: "PUT", event.URLPath: "/api/x y"},
		},
		{
			// escape=json on a text format: values are JSON-escaped.
			directive: `log_format t escape=json '$time_iso8601 "$http_user_agent" $ssl_client_verify';`,
			line:      `2026-12-04T09:00:01+00:00 "a \"b\" \\c \u00e9" FAILED:a \"b\"`,
			time:      "2026-12-04T09:00:01Z",
			want:      fields{event.UserAgent: `a "b" \c é`, event.TLSVerify: `FAILED:a "b"`},
		},
		{
			// A nested JSON template, text around variables, a bare number.
			directive: `log_format j escape=json '{"t":$msec,"client":{"addr":"[$remote_addr]:$remote_port","tls":{"s":"$ssl_client_s_dn_legacy"}},"r":"$request"}';`,
			line:      `{"r":"GET /x?y HTTP/1.1","client":{"tls":{"s":"/O=Ex\\/CN=a b"},"addr":"[2001:db8::1]:443"},"t":1764838801.000}`,
			time:      "2025-12-04T09:00:01Z",
			want: fields{event.SourceIP: "2001:db8::1", event.SourcePort: "443", event.Method: "GET",
				event.URLPath: "/x", event.TLSSubject: `O=Ex\\/CN=a b`}, // OpenSSL 3's \/ kept as written
		},
		{
			// Unknown variables and header variables are read past.
			directive: `$time_iso8601 $my_map_var $http_x_custom $sent_http_x $remote_addr`,
			line:      `2026-12-04T09:00:01+00:00 a b c unix:`,
			time:      "2026-12-04T09:00:01Z",
			want:      fields{},
		},
	}
	for _, tt := range tests {
		f, err := Compile(tt.directive)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.directive, err)
			continue
		}
		var r event.Record
		if err := f.NewParser().Parse([]byte(tt.line), &r); err != nil {
			t.Errorf("%q: Parse(%q): %v", tt.directive, tt.line, err)
			continue
		}
		check(t, tt.directive, &r, at(tt.time), tt.want)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ directive, want string }{
		{`log_format x '$remote_addr [$time_local] "$request';`, ""}, // valid: a quote inside the other kind
		{`log_format x '$remote_addr [$time_local]`, "log_format: column 14: unterminated quote"},
		{`log_format x '$remote_addr [$time_local] dn=$ssl_clinet_s_dn';`, "log_format: column 45: unknown variable $ssl_clinet_s_dn (did you mean $ssl_client_s_dn?)"},
		{`log_format x '[$time_local] $ssl_client_subject';`, "log_format: column 29: unknown variable $ssl_client_subject"},
		{`log_format x '[$time_local] $reqeust_id';`, "log_format: column 29: unknown variable $reqeust_id (did you mean $request_id?)"},
		{`log_format x '$remote_addr $status';`, "log_format: column 15: the format has no time: it needs $time_local, $time_iso8601 or $msec"},
		{`log_format x '[$time_local] $remote_addr$remote_port';`, "log_format: column 41: variable $remote_port follows $remote_addr with no text between them: where $remote_addr ends cannot be told"},
		{`log_format x '[$time_local] $ cost';`, "log_format: column 29: invalid variable name: '$' not followed by a name"},
		{`log_format x '[$time_local] ${remote_addr';`, "log_format: column 29: unterminated ${ in variable name"},
		{`log_format x '[$time_local] ${a-b}';`, "log_format: column 29: invalid variable name ${a-b}"},
		{`log_format x escape=xml '$time_local';`, "log_format: column 14: unknown escape \"xml\": want default, json or none"},
		{`log_format '$time_local';`, "log_format: column 12: expected a format name after log_format"},
		{`log_format x '$time_local'x;`, "log_format: column 27: unexpected 'x' after quoted string"},
		{`log_format x '$time_local'; extra`, "log_format: column 29: unexpected text after ';'"},
		{`log_format x;`, "log_format: column 14: empty log format"},
		{"log_format x\n  '$time_local'\n  '$ssl_client_seriall';", "log_format: line 3, column 4: unknown variable $ssl_client_seriall (did you mean $ssl_client_serial?)"},
		{`log_format j escape=json '{"ts":"$time_iso8601","a":["$status"]}';`, "log_format: column 53: JSON template: arrays are not supported"},
		{`log_format j escape=json '{"ts":"$time_iso8601" "a":1}';`, "log_format: column 49: JSON template: expected ',' or '}'"},
		{`log_format j escape=json '{"ts":"$time_iso8601","ts":"$msec"}';`, "log_format: column 50: JSON template: key \"ts\" appears twice"},
		{`log_format j escape=json '{"ts":"$time_iso8601"} x';`, "log_format: column 50: unexpected text after the JSON object"},
		{`log_format j escape=json '{"ts":"$time_iso8601}';`, "log_format: column 33: JSON template: unterminated string"},
		{`log_format j escape=json '{"a":"b"}';`, "log_format: column 27: the JSON template holds no variable"},
		{``, "log_format: column 1: empty log format"},
	}
	for _, tt := range tests {
		_, err := Compile(tt.directive)
		if tt.want == "" {
			if err != nil {
				t.Errorf("Compile(%q): %v", tt.directive, err)
			}
			continue
		}
		var ce *CompileError
		if !errors.As(err, &ce) {
			t.Errorf("Compile(%q) = %v, want a *CompileError", tt.directive, err)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Compile(%q)\n got %s\nwant %s", tt.directive, err, tt.want)
		}
	}
}

// TestMalformedLines breaks a reference line at each place and checks the
// error says where and what was expected.
func TestMalformedLines(t *testing.T) {
	f := Default()
	p := f.NewParser()
	tests := []struct {
		line string
		col  int
		msg  string
	}{
		{``, 1, `expected " - " after $remote_addr`},
		{`not an nginx line at all`, 1, `expected " - " after $remote_addr`},
		{`999.x.1 - - [04/Dec/2026:09:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "-" rid=a verify=NONE fp=- serial=- dn="-" idn="-" rt=0`, 1, `$remote_addr: expected an IP address, found "999.x.1"`},
		{`1.2.3.4 - - 04/Dec/2026:09:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "-" rid=a verify=NONE fp=- serial=- dn="-" idn="-" rt=0`, 11, `expected " [" after $remote_user`},
		{`1.2.3.4 - - [04/Dec/2026:09:00:01] "GET / HTTP/1.1" 200 1 "-" "-" rid=a verify=NONE fp=- serial=- dn="-" idn="-" rt=0`, 14, `$time_local: `},
		{`1.2.3.4 - - [04/Dec/2026:09:00:01 +0000] "GET / HTTP/1.1 200 1 "-" "-" rid=a verify=NONE fp=- serial=- dn="-" idn="-" rt=0`, 68, `$status: expected an HTTP status, found "\"-\""`},
		{`1.2.3.4 - - [04/Dec/2026:09:00:01 +0000] "GET / HTTP/1.1" OK 1 "-" "-" rid=a verify=NONE fp=- serial=- dn="-" idn="-" rt=0`, 59, `$status: expected an HTTP status, found "OK"`},
		{`1.2.3.4 - - [04/Dec/2026:09:00:01 +0000] "GET / HTTP/1.1" 200 x "-" "-" rid=a verify=NONE fp=- serial=- dn="-" idn="-" rt=0`, 63, `$body_bytes_sent: expected a byte count, found "x"`},
		{`1.2.3.4 - - [04/Dec/2026:09:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "-" id=a verify=NONE fp=- serial=- dn="-" idn="-" rt=0`, 70, `expected "\" rid=" after $http_user_agent`},
		{`1.2.3.4 - - [04/Dec/2026:09:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "-" rid=a verify=NONE fp=xyz serial=- dn="-" idn="-" rt=0`, 94, `$ssl_client_fingerprint: fingerprint:`},
		{`1.2.3.4 - - [04/Dec/2026:09:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "-" rid=a verify=NONE fp=- serial=- dn="CN=a,=b" idn="-" rt=0`, 109, `$ssl_client_s_dn: distinguished name: offset 5: empty attribute type`},
		{`1.2.3.4 - - [04/Dec/2026:09:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "-" rid=a verify=NONE fp=- serial=- dn="-" idn="-"`, 117, `expected "\" rt=" after $ssl_client_i_dn`},
	}
	for _, tt := range tests {
		var r event.Record
		r.Values[event.UserName] = []byte("stale")
		err := p.Parse([]byte(tt.line), &r)
		var se *ingest.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a *ingest.SyntaxError", tt.line, err)
			continue
		}
		if se.Column != tt.col || !strings.HasPrefix(se.Msg, tt.msg) {
			t.Errorf("Parse(%q)\n got column %d: %s\nwant column %d: %s...", tt.line, se.Column, se.Msg, tt.col, tt.msg)
		}
		if r.Get(event.UserName) != nil || r.Time != 0 {
			t.Errorf("Parse(%q) failed but left values in the record", tt.line)
		}
	}
}

func TestMalformedJSON(t *testing.T) {
	f, err := Compile(jsonDirective)
	if err != nil {
		t.Fatal(err)
	}
	p := f.NewParser()
	tests := []struct{ line, msg string }{
		{`{"request_id":"abc"}`, `no key "ts" holding $time_iso8601`},
		{`{"ts":"yesterday"}`, `key "ts": $time_iso8601: `},
		{`{"ts":"2025-03-01T12:00:01Z","status":"2000"}`, `key "status": $status: expected an HTTP status, found "2000"`},
		{`{"ts":"2025-03-01T12:00:01Z","client_s_dn":"CN"}`, `key "client_s_dn": $ssl_client_s_dn: distinguished name`},
		{`{"ts":"2025-03-01T12:00:01Z"`, ``},
		{`not json`, ``},
	}
	for _, tt := range tests {
		var r event.Record
		err := p.Parse([]byte(tt.line), &r)
		var se *ingest.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a *ingest.SyntaxError", tt.line, err)
			continue
		}
		if !strings.HasPrefix(se.Msg, tt.msg) {
			t.Errorf("Parse(%q) = %q, want %q...", tt.line, se.Msg, tt.msg)
		}
	}
}

// TestValuesOutliveNothing checks that a record's values stay right while
// other lines are parsed into other records only as far as the contract
// says: each record is right after its own Parse.
func TestScratchReuse(t *testing.T) {
	for _, json := range []bool{false, true} {
		dir := Reference
		if json {
			dir = jsonDirective
		}
		f, err := Compile(dir)
		if err != nil {
			t.Fatal(err)
		}
		p := f.NewParser()
		lines := benchLines(300, json)
		for i, l := range lines {
			var r event.Record
			if err := p.Parse(l, &r); err != nil {
				t.Fatalf("line %d: %v", i, err)
			}
			c := i % 50
			want := fmt.Sprintf("CN=user%02d,OU=Devices,O=Example Corp,C=US", c)
			if c%10 == 0 {
				want = fmt.Sprintf(`CN=José García %02d,OU=Devices,O=Example\, Inc,C=ES`, c)
			}
			if got := string(r.Get(event.TLSSubject)); got != want {
				t.Fatalf("json=%v line %d: subject %q, want %q", json, i, got, want)
			}
			if got, want := string(r.Get(event.RequestID)), fmt.Sprintf("%032x", i*7919); got != want {
				t.Fatalf("json=%v line %d: request id %q, want %q", json, i, got, want)
			}
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	for _, json := range []bool{false, true} {
		dir := Reference
		if json {
			dir = jsonDirective
		}
		f, err := Compile(dir)
		if err != nil {
			t.Fatal(err)
		}
		p := f.NewParser()
		lines := benchLines(100, json)
		var r event.Record
		for _, l := range lines { // warm the scratch space and caches
			if err := p.Parse(l, &r); err != nil {
				t.Fatal(err)
			}
		}
		i := 0
		n := testing.AllocsPerRun(500, func() {
			if err := p.Parse(lines[i%len(lines)], &r); err != nil {
				t.Fatal(err)
			}
			i++
		})
		if n != 0 {
			t.Errorf("%s: %v allocations per line, want 0", f.Name(), n)
		}
	}
}

// render writes a record as one line for golden files.
func render(r *event.Record) string {
	var b strings.Builder
	b.WriteString(time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano))
	for i, v := range r.Values {
		if event.Field(i) == event.TLSCertificate && len(v) > 40 {
			v = append(v[:36:36], "..."...)
		}
		if len(v) > 0 {
			fmt.Fprintf(&b, " %s=%q", event.Field(i), v)
		}
	}
	return b.String()
}

// TestGolden parses the sample logs under testdata and compares every
// record, or error, with the golden file beside it.
func TestGolden(t *testing.T) {
	for _, g := range []struct{ log, directive string }{
		{"reference.log", Reference},
		{"json.log", jsonDirective},
		{"cert.log", certDirective},
	} {
		f, err := Compile(g.directive)
		if err != nil {
			t.Fatal(err)
		}
		in, err := os.ReadFile(filepath.Join("testdata", g.log))
		if err != nil {
			t.Fatal(err)
		}
		p := f.NewParser()
		var out bytes.Buffer
		sc := bufio.NewScanner(bytes.NewReader(in))
		for n := 1; sc.Scan(); n++ {
			var r event.Record
			if err := p.Parse(sc.Bytes(), &r); err != nil {
				fmt.Fprintf(&out, "%d: error: %v\n", n, err)
				continue
			}
			fmt.Fprintf(&out, "%d: %s\n", n, render(&r))
		}
		golden := filepath.Join("testdata", strings.TrimSuffix(g.log, ".log")+".golden")
		if *update {
			if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("%s: output differs from %s:\n%s", g.log, golden, out.Bytes())
		}
	}
}

// TestConcurrentParsers shares one Format between goroutines, each with its
// own parser (run with -race).
func TestConcurrentParsers(t *testing.T) {
	f := Default()
	lines := benchLines(200, false)
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			p := f.NewParser()
			var r event.Record
			for i, l := range lines {
				if err := p.Parse(l, &r); err != nil {
					errs <- err
					return
				}
				if got, want := string(r.Get(event.RequestID)), fmt.Sprintf("%032x", i*7919); got != want {
					errs <- fmt.Errorf("line %d: request id %q, want %q", i, got, want)
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestDNInARow checks that names read again on the next line, or after
// others, after a bad one, or in another spelling, give what a parser that
// never saw the lines before gives.
func TestDNInARow(t *testing.T) {
	const line = `203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "POST /accounts/login/ HTTP/1.1" 200 512 "-" "curl" rid=ab verify=SUCCESS fp=- serial=- dn="%s" idn="%s" rt=0.012`
	const issuer = "CN=Example Issuing CA 1,O=Example Corp,C=US"
	subjects := []string{
		"CN=alice,O=Example Corp,C=US",
		"CN=alice,O=Example Corp,C=US",
		"CN=bob,O=Example Corp,C=US",
		"CN=alice,O=Example Corp,C=US",
		"CN=alice,O=Example Corp,C=US,",
		"CN=alice,O=Example Corp,C=US",
		`cn=alice, o=Example Corp, c=US`,
		`CN=Jos\x5CC3\x5CA9,O=Example Corp,C=US`,
		`CN=Jos\x5CC3\x5CA9,O=Example Corp,C=US`,
		"CN=alice,O=Example Corp,C=US",
	}
	// Names too long to cache, read again and after others.
	long := "CN=" + strings.Repeat("a", maxCachedDN) + ",O=Example Corp,C=US"
	longEsc := `CN=Jos\x5CC3\x5CA9,O=` + strings.Repeat(`\x5C,`, maxCachedDN/4) + ",C=US"
	subjects = append(subjects, long, long, longEsc, longEsc, "CN=alice,O=Example Corp,C=US", long)
	f := Default()
	p := f.NewParser()
	for i, dn := range subjects {
		for _, idn := range []string{issuer, dn} {
			l := []byte(fmt.Sprintf(line, dn, idn))
			var got, want event.Record
			gerr, werr := p.Parse(l, &got), f.NewParser().Parse(l, &want)
			if fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Fatalf("line %d: %v, a new parser: %v", i, gerr, werr)
			}
			for _, fl := range []event.Field{event.TLSSubject, event.TLSIssuer} {
				if g, w := got.Get(fl), want.Get(fl); string(g) != string(w) {
					t.Fatalf("line %d: %s %q, a new parser %q", i, fl, g, w)
				}
			}
		}
	}
}
