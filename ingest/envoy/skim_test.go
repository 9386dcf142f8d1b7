package envoy

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

const (
	mtlsLine = `[2026-12-04T09:00:01.123Z] 203.0.113.7:52344 "GET /static/app.js?v=3 HTTP/2" 200 5120 "Mozilla/5.0 (X11)" "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a" "CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" "CN=Example Issuing CA 1,O=Example Corp,C=US" 4f2a9c0d11e3b7a1 ` + sha1hex + " " + sha256hex + " spiffe://example.org/ns/prod/sa/batch"
	jsonLine = `{"start_time":"2026-12-04T09:00:01.123Z","request_id":"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a","client":"203.0.113.7:52344","method":"GET","path":"/static/app.js?v=3","status":"200","bytes_sent":"5120","user_agent":"Mozilla/5.0 (X11)",` +
		`"peer_subject":"CN=svc-batch-01,OU=Batch,O=Example Corp,C=US","peer_issuer":"CN=Example Issuing CA 1,O=Example Corp,C=US","peer_serial":"4f2a9c0d11e3b7a1","peer_sha256":"` + sha256hex + `","peer_sha1":"` + sha1hex + `","peer_uri_san":"spiffe://example.org/ns/prod/sa/batch"}`
)

func TestSkimText(t *testing.T) {
	f, err := CompileText(mtlsText)
	if err != nil {
		t.Fatal(err)
	}
	skimtest.CheckEdits(t, f, reading(f), mtlsLine, []skimtest.Edit{
		{Name: "non-login line"},
		{Name: "login line", Old: "GET /static/app.js?v=3", New: "POST /accounts/login/?next=/"},
		{Name: "no request id", Old: `"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a"`, New: `"-"`},
		{Name: "escaped subject", Old: `"CN=svc-batch-01,`, New: `"CN=Jos\C3\A9,`},
		{Name: "upper-case fingerprint", Old: " " + sha1hex, New: " " + strings.ToUpper(sha1hex)},
		{Name: "fingerprint with colons", Old: " " + sha1hex, New: " 0D:5F:6C:1E:2A:3B:4C:5D:6E:7F:80:91:A2:B3:C4:D5:E6:F7:08:19"},
		{Name: "IPv6 address", Old: "203.0.113.7:52344", New: "[2001:db8::7]:52344"},
		{Name: "no certificate", Old: `"CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" "CN=Example Issuing CA 1,O=Example Corp,C=US" 4f2a9c0d11e3b7a1 ` + sha1hex + " " + sha256hex, New: `"-" "-" - - -`},
		{Name: "bad fingerprint further along", Old: " " + sha1hex, New: " " + sha1hex[:39] + "z", Reject: true},
		{Name: "bad sha256 further along", Old: " " + sha256hex, New: " xyz", Reject: true},
		{Name: "bad serial further along", Old: "4f2a9c0d11e3b7a1", New: "4f2a-XYZ", Reject: true},
		{Name: "bad subject further along", Old: `"CN=svc-batch-01,OU=Batch`, New: `"CN=svc-batch-01,OU`, Reject: true},
		{Name: "bad issuer further along", Old: `"CN=Example Issuing CA 1,`, New: `"CN=#abc,`, Reject: true},
		{Name: "bad time", Old: "2026-12-04T09", New: "2026-13-04T09", Reject: true},
		{Name: "missing literal", Old: `" 200 5120 "`, New: `" 200 5120 `, Reject: true},
		{Name: "bad login subject", Old: `"GET /static/app.js?v=3 HTTP/2" 200 5120 "Mozilla/5.0 (X11)" "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a" "CN=svc-batch-01,OU=Batch`, New: `"POST /login/ HTTP/2" 200 5120 "Mozilla/5.0 (X11)" "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a" "CN=svc-batch-01,OU`, Reject: true},
	})
}

func TestSkimJSON(t *testing.T) {
	f, err := CompileJSON(ReferenceJSON)
	if err != nil {
		t.Fatal(err)
	}
	skimtest.CheckEdits(t, f, reading(f), jsonLine, []skimtest.Edit{
		{Name: "non-login line"},
		{Name: "login line", Old: `"GET","path":"/static/app.js?v=3"`, New: `"POST","path":"/accounts/login/"`},
		{Name: "path first", Old: `{"start_time":"2026-12-04T09:00:01.123Z","request_id":"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a","client":"203.0.113.7:52344","method":"GET","path":"/static/app.js?v=3",`,
			New: `{"path":"/accounts/login/","method":"POST","start_time":"2026-12-04T09:00:01.123Z","request_id":"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a","client":"203.0.113.7:52344",`},
		{Name: "method and path last", Old: `"method":"GET","path":"/static/app.js?v=3",`, New: ``},
		{Name: "null method", Old: `"method":"GET"`, New: `"method":null`},
		{Name: "escaped values", Old: `"Mozilla/5.0 (X11)"`, New: `"Mozilla/5.0 \"q\" \u00e9"`},
		{Name: "escaped path", Old: `"/static/app.js?v=3"`, New: `"/accounts/\u006cogin/"`},
		{Name: "typed nulls", Old: `"peer_serial":"4f2a9c0d11e3b7a1"`, New: `"peer_serial":null`},
		{Name: "no request id", Old: `"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a"`, New: `"-"`},
		{Name: "unknown keys", Old: `"status":"200"`, New: `"status":200,"x":{"y":[1,{"z":"w"}]}`},
		{Name: "upper-case fingerprint", Old: `"` + sha1hex + `"`, New: `"` + strings.ToUpper(sha1hex) + `"`},
		{Name: "bad fingerprint after the path", Old: `"` + sha1hex + `"`, New: `"zz"`, Reject: true},
		{Name: "bad subject after the path", Old: `"CN=svc-batch-01,OU=Batch`, New: `"CN=svc-batch-01,OU`, Reject: true},
		{Name: "bad serial after the path", Old: `"4f2a9c0d11e3b7a1"`, New: `"4f2a-x"`, Reject: true},
		{Name: "bad subject before the path", Old: `{"start_time"`, New: `{"peer_issuer":"CN","start_time"`, Reject: true},
		{Name: "bad escape after the path", Old: `"Mozilla/5.0 (X11)"`, New: `"Mozilla\q"`, Reject: true},
		{Name: "bad JSON after the path", Old: `"status":"200"`, New: `"status":20x`, Reject: true},
		{Name: "method twice", Old: `"user_agent":`, New: `"method":"POST","user_agent":`, Reject: true},
		{Name: "path twice, null", Old: `"user_agent":`, New: `"path":null,"user_agent":`, Reject: true},
		{Name: "login method and path twice", Old: `"user_agent":`, New: `"method":"POST","path":"/accounts/login/","user_agent":`, Reject: true},
		{Name: "no time", Old: `"start_time":"2026-12-04T09:00:01.123Z",`, New: ``, Reject: true},
		{Name: "bad time", Old: `2026-12-04T09`, New: `2026-12-04X09`, Reject: true},
		{Name: "truncated", Old: `"}`, New: `"`, Reject: true},
	})
}

// TestSkimFormats checks formats that give the method and path late, not
// at all, or that need the full parse to check a line.
func TestSkimFormats(t *testing.T) {
	cert := `[%START_TIME%] "%REQ(:METHOD)% %REQ(:PATH)%" "%REQ(X-FORWARDED-CLIENT-CERT)%"`
	for _, tc := range []struct {
		format string
		json   bool
		lines  []string
	}{
		{format: Default, lines: []string{
			`[2026-12-04T09:00:01.123Z] "POST /accounts/login/?next=/ HTTP/1.1" 200 - 812 5120 31 30 "203.0.113.7" "curl" "6f1c" "app.example.org" "10.1.2.3:8000"`,
			`[2026-12-04T09:00:01.123Z] "GET / HTTP/1.1" 200 - 812 5120 31 30 "203.0.113.7" "curl" "6f1c" "app.example.org" "10.1.2.3:8000"`,
		}},
		{format: `"%DOWNSTREAM_PEER_SUBJECT%" %DOWNSTREAM_PEER_SERIAL% [%START_TIME%] %REQ(X-REQUEST-ID)% %REQ(:PATH)% %REQ(:METHOD)%`, lines: []string{
			`"CN=a,O=b" 0a11 [2026-12-04T09:00:01Z] r1 /accounts/login/ POST`,
			`"CN=a,O=b" 0a11 [2026-12-04T09:00:01Z] r1 /x GET`,
			`"CN=a,O" 0a11 [2026-12-04T09:00:01Z] r1 /accounts/login/ POST`,
			`"CN=a,O=b" 0a1x [2026-12-04T09:00:01Z] r1 /x GET`,
		}},
		{format: `[%START_TIME(%d/%b/%Y:%H:%M:%S %z)%] %REQ(X-REQUEST-ID)% "%DOWNSTREAM_PEER_SUBJECT%"`, lines: []string{
			`[04/Dec/2026:09:00:01 +0000] r1 "CN=a,O=b"`,
			`[04/Dec/2026:09:00:01 +0000] r1 "CN"`,
		}},
		{format: `[%START_TIME%] "%REQ(:METHOD)% %REQ(:PATH)%" %REQ(:METHOD)%`, lines: []string{
			`[2026-12-04T09:00:01Z] "GET /accounts/login/" POST`,
			`[2026-12-04T09:00:01Z] "POST /accounts/login/" GET`,
		}},
		{format: cert, lines: []string{
			`[2026-12-04T09:00:01Z] "POST /login/" "Hash=` + sha256hex + `;Subject=\"CN=a,O=b\""`,
			`[2026-12-04T09:00:01Z] "GET /x" "Hash=zz"`,
		}},
		{format: `{"t":"%START_TIME%","rid":"%REQ(X-REQUEST-ID)%","m":"%REQ(:METHOD)%","s":"%DOWNSTREAM_PEER_SUBJECT%","r":"%REQ(:METHOD)% %REQ(:PATH)% by %DOWNSTREAM_PEER_SERIAL%"}`, json: true, lines: []string{
			`{"t":"2026-12-04T09:00:01Z","rid":"r1","m":"POST","s":"CN=a,O=b","r":"POST /accounts/login/ by 0a11"}`,
			`{"t":"2026-12-04T09:00:01Z","rid":"r1","m":"GET","s":"CN=a,O=b","r":"GET /x by 0a11"}`,
			`{"t":"2026-12-04T09:00:01Z","r":"GET /x by 0a11","m":"POST","s":"CN=a,O=b"}`,
			`{"t":"2026-12-04T09:00:01Z","r":"GET /x by 0a1x","m":"POST","s":"CN=a,O=b"}`,
			`{"t":"2026-12-04T09:00:01Z","r":"GET /x xy 0a11","m":"POST","s":"CN=a,O=b"}`,
			`{"t":"2026-12-04T09:00:01Z","r":"GET /accounts/login/ by 0a11","m":"POST","s":"CN=a,O=b"}`,
		}},
		{format: `{"t":"%START_TIME%","rid":"%REQ(X-REQUEST-ID)%","s":"%DOWNSTREAM_PEER_SUBJECT%"}`, json: true, lines: []string{
			`{"t":"2026-12-04T09:00:01Z","rid":"r1","s":"CN=a,O=b"}`,
			`{"t":"2026-12-04T09:00:01Z","rid":"r1","s":"CN"}`,
		}},
	} {
		var f *Format
		var err error
		if tc.json {
			f, err = CompileJSON(tc.format)
		} else {
			f, err = CompileText(tc.format)
		}
		if err != nil {
			t.Fatal(err)
		}
		skimtest.CheckLines(t, f, reading(f), tc.lines)
	}
}

// TestSkimTestdata checks the committed log, each line twice so that the
// parsers' memories are exercised.
func TestSkimTestdata(t *testing.T) {
	f, err := CompileText(Default)
	if err != nil {
		t.Fatal(err)
	}
	skimtest.CheckLog(t, f, reading(f), "testdata/default.log")
}

// FuzzSkimText checks that for any line Skim and Parse agree (see
// skimtest.CheckSkim) on the mTLS text format.
func FuzzSkimText(f *testing.F) {
	f.Add([]byte(mtlsLine))
	f.Add([]byte(strings.Replace(mtlsLine, "GET /static/app.js?v=3", "POST /accounts/login/", 1)))
	f.Add([]byte(strings.Replace(mtlsLine, " "+sha1hex, " 0D:5F:6C:1E:2A:3B:4C:5D:6E:7F:80:91:A2:B3:C4:D5:E6:F7:08:19", 1)))
	fm, err := CompileText(mtlsText)
	if err != nil {
		f.Fatal(err)
	}
	skimtest.Fuzz(f, fm, reading(fm))
}

// FuzzSkimJSON is FuzzSkimText for ReferenceJSON.
func FuzzSkimJSON(f *testing.F) {
	f.Add([]byte(jsonLine))
	f.Add([]byte(strings.Replace(jsonLine, `"GET","path":"/static/app.js?v=3"`, `"POST","path":"/accounts/login/"`, 1)))
	f.Add([]byte(strings.Replace(jsonLine, `{"start_time"`, `{"path":"/accounts/login/","method":"POST","start_time"`, 1)))
	f.Add([]byte(strings.Replace(jsonLine, `"Mozilla/5.0 (X11)"`, `"Mozilla/5.0 \"q\" \u00e9"`, 1)))
	fm, err := CompileJSON(ReferenceJSON)
	if err != nil {
		f.Fatal(err)
	}
	skimtest.Fuzz(f, fm, reading(fm))
}
