package envoy

import (
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

// want lists the expected values of a record; fields not listed must be
// empty, and the time is not checked when empty.
type want struct {
	time   string // RFC 3339
	fields map[event.Field]string
}

// check parses line with p and checks the record against w.
func check(t *testing.T, p ingest.Parser, line string, w want) {
	t.Helper()
	if r := skimtest.CheckParse(t, p, line, w.time, w.fields); r.Kind != event.Proxy {
		t.Errorf("kind = %v", r.Kind)
	}
}

const mtlsText = `[%START_TIME%] %DOWNSTREAM_REMOTE_ADDRESS% "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %BYTES_SENT% "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%DOWNSTREAM_PEER_SUBJECT%" "%DOWNSTREAM_PEER_ISSUER%" %DOWNSTREAM_PEER_SERIAL% %DOWNSTREAM_PEER_FINGERPRINT_1% %DOWNSTREAM_PEER_FINGERPRINT_256% %DOWNSTREAM_PEER_URI_SAN%`

const (
	sha1hex   = "0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819"
	sha256hex = "468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688"
)

func TestText(t *testing.T) {
	for _, tc := range []struct {
		name, format, line string
		want               want
	}{
		{
			name:   "default format, doc example",
			format: Default,
			line:   `[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"`,
			want: want{"2016-04-15T20:17:00.310Z", map[event.Field]string{
				event.Method: "POST", event.URLPath: "/api/v1/locations", event.Status: "204", event.BodyBytes: "0",
				event.UserAgent: "nsq2http", event.RequestID: "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2",
			}},
		},
		{
			name:   "default format in the newer spelling, query dropped, unset user agent",
			format: strings.NewReplacer("%REQ(", "%REQUEST_HEADER(", "%RESP(", "%RESPONSE_HEADER(").Replace(Default),
			line:   "[2026-12-04T09:00:01.123Z] \"POST /accounts/login/?next=/admin/ HTTP/1.1\" 200 - 812 5120 31 30 \"-\" \"-\" \"7f3c\" \"app.example.org\" \"10.1.2.3:8000\"\n",
			want: want{"2026-12-04T09:00:01.123Z", map[event.Field]string{
				event.Method: "POST", event.URLPath: "/accounts/login/", event.Status: "200", event.BodyBytes: "5120",
				event.RequestID: "7f3c",
			}},
		},
		{
			name:   "mtls, unicode subject escaped by OpenSSL, ipv4:port",
			format: mtlsText,
			line: `[2026-12-04T09:00:01.123Z] 203.0.113.7:52344 "POST /accounts/login/ HTTP/2" 200 5120 "python-requests/2.32.3" "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a" "CN=Jos\C3\A9 Garc\C3\ADa,OU=devices,O=Example Corp,C=ES" "CN=Example Issuing CA 1,O=Example Corp,C=ES" 00f3828eb24fd779d0 ` +
				strings.ToUpper(sha1hex) + " " + sha256hex + " spiffe://example.org/ns/prod/sa/batch,spiffe://example.org/other",
			want: want{"2026-12-04T09:00:01.123Z", map[event.Field]string{
				event.SourceIP: "203.0.113.7", event.SourcePort: "52344",
				event.Method: "POST", event.URLPath: "/accounts/login/", event.Status: "200", event.BodyBytes: "5120",
				event.UserAgent: "python-requests/2.32.3", event.RequestID: "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a",
				event.TLSSubject: "CN=José García,OU=devices,O=Example Corp,C=ES",
				event.TLSIssuer:  "CN=Example Issuing CA 1,O=Example Corp,C=ES",
				event.TLSSerial:  "F3828EB24FD779D0", event.TLSSHA1: sha1hex, event.TLSSHA256: sha256hex,
				event.TLSURISAN: "spiffe://example.org/ns/prod/sa/batch",
			}},
		},
		{
			name:   "mtls, no client certificate, [ipv6]:port",
			format: mtlsText,
			line:   `[2026-12-04T09:00:02Z] [2001:db8::7]:443 "GET /healthz HTTP/1.1" 200 2 "curl/8.5.0" "abc" "-" "-" - - - -`,
			want: want{"2026-12-04T09:00:02Z", map[event.Field]string{
				event.SourceIP: "2001:db8::7", event.SourcePort: "443",
				event.Method: "GET", event.URLPath: "/healthz", event.Status: "200", event.BodyBytes: "2",
				event.UserAgent: "curl/8.5.0", event.RequestID: "abc",
			}},
		},
		{
			name:   "address without port, escaped comma in subject, literal percent",
			format: `%START_TIME% 100%% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_PEER_SUBJECT(x)%|%UNKNOWN_THING(a):10%|`,
			line:   `2026-12-04T09:00:03+01:00 100% ::1 CN=Doe\, Jane,O=Example|whatever|`,
			want: want{"2026-12-04T08:00:03Z", map[event.Field]string{
				event.SourceIP: "::1", event.TLSSubject: `CN=Doe\, Jane,O=Example`,
			}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := CompileText(tc.format)
			if err != nil {
				t.Fatal(err)
			}
			check(t, f.NewParser(), tc.line, tc.want)
		})
	}
}

func TestTextErrors(t *testing.T) {
	f, err := CompileText(mtlsText)
	if err != nil {
		t.Fatal(err)
	}
	p := f.NewParser()
	good := `[2026-12-04T09:00:02Z] 10.0.0.1:1 "GET / HTTP/1.1" 200 2 "ua" "abc" "-" "-" - - - -`
	var r event.Record
	if err := p.Parse([]byte(good), &r); err != nil {
		t.Fatalf("good line: %v", err)
	}
	def, err := CompileText(Default)
	if err != nil {
		t.Fatal(err)
	}
	defLine := `[2016-04-15T20:17:00.310Z] "POST /x HTTP/2" 204 - 154 0 226 100 "-" "ua" "rid" "h" "u"`
	if err := def.NewParser().Parse([]byte(defLine), &r); err != nil {
		t.Fatal(err)
	}
	if err := def.NewParser().Parse([]byte(defLine+" junk"), &r); err == nil || !strings.Contains(err.Error(), "at the end of the line") {
		t.Errorf("trailing junk: %v", err)
	}
	for _, tc := range []struct{ line, msg string }{
		{"", `expected "["`},
		{`2026-12-04T09:00:02Z 10.0.0.1:1`, `expected "["`},
		{strings.Replace(good, "2026-12-04T09:00:02Z", "yesterday", 1), "%START_TIME%"},
		{strings.Replace(good, "2026-12-04T09:00:02Z", "-", 1), "no %START_TIME%"},
		{strings.Replace(good, `" - - - -`, `" zz - - -`, 1), "%DOWNSTREAM_PEER_SERIAL%"},
		{strings.Replace(good, `- - - -`, `- 0x12 - -`, 1), "%DOWNSTREAM_PEER_FINGERPRINT_1%"},
		{strings.TrimSuffix(good, ` - - - -`), `after %DOWNSTREAM_PEER_ISSUER%`},
	} {
		skimtest.CheckSyntaxError(t, p, tc.line, tc.msg)
	}
}

func TestCompileTextErrors(t *testing.T) {
	for _, tc := range []struct{ format, msg string }{
		{"", "empty format"},
		{"[%START_TIME%] %REQ(X-REQUEST-ID", "no closing parenthesis"},
		{"[%START_TIME%] %RESPONSE_CODE", "not closed"},
		{"[%START_TIME%] %RESPONSE_CODE%%BYTES_SENT%", "nothing between"},
		{"[%START_TIME%] % %", "not followed by an operator name"},
		{"[%START_TIME%] %REQ(A):x%", "maximum length"},
		{"%RESPONSE_CODE% %BYTES_SENT%", "no %START_TIME%"},
	} {
		_, err := CompileText(tc.format)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("CompileText(%q) error %v, want one mentioning %q", tc.format, err, tc.msg)
		}
	}
}

func FuzzText(f *testing.F) {
	format, err := CompileText(mtlsText)
	if err != nil {
		f.Fatal(err)
	}
	def, err := CompileText(Default)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(`[2026-12-04T09:00:01.123Z] 203.0.113.7:52344 "POST /accounts/login/ HTTP/2" 200 5120 "ua" "rid" "CN=Jos\C3\A9,C=ES" "CN=CA" 00f3 ` + sha1hex + " " + sha256hex + " spiffe://x")
	f.Add(`[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0" "locations" "tcp://10.0.2.1:80"`)
	f.Add(`[2026-12-04T09:00:02Z] [::1 "GET / HTTP/1.1" 200 2 "ua" "abc" "-" "-" - - - -`)
	local, err := CompileText(`[%START_TIME(%F %T.%3f)%] "%REQ(X-REQUEST-ID)%" %RESPONSE_CODE%`)
	if err != nil {
		f.Fatal(err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(`[2026-10-25 02:30:00.250] "rid" 200`)
	formats := []ingest.Format{format, def, format.InZone(berlin), def.InZone(berlin), local, local.InZone(berlin)}
	f.Fuzz(func(t *testing.T, line string) {
		for _, fm := range formats {
			skimtest.CheckAccepted(t, fm.NewParser(), line)
		}
	})
}
