package envoy

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

// skimFields are the fields Skim reads; it must leave every other one
// empty.
var skimFields = map[event.Field]bool{event.RequestID: true, event.Method: true, event.URLPath: true}

// loginPOST wants POSTs to a login path in full, as the correlator's
// default login filter does.
func loginPOST(r *event.Record) bool {
	return bytes.EqualFold(r.Get(event.Method), []byte("POST")) && bytes.Contains(r.Get(event.URLPath), []byte("login"))
}

// checkSkim skims and parses line with two parsers of one format and checks
// that they agree: both accept it or both reject it with the same error; a
// skim that reads the line in full has the parse's record, one that does
// not has the parse's time, request id, method and path and no other
// field. It tries want nil, always and login POSTs, and returns the error.
func checkSkim(t *testing.T, skim, full ingest.Parser, line []byte) (skimErr error) {
	t.Helper()
	sk := skim.(ingest.Skimmer)
	var r event.Record
	perr := full.Parse(line, &r)
	for _, c := range []struct {
		name string
		want func(*event.Record) bool
	}{{"none", nil}, {"all", func(*event.Record) bool { return true }}, {"login", loginPOST}} {
		var s event.Record
		asked := 0
		want := c.want
		if want != nil {
			want = func(r *event.Record) bool { asked++; return c.want(r) }
		}
		fullRead, serr := sk.Skim(line, &s, want)
		if asked > 1 {
			t.Fatalf("line %q: Skim (%s) asked want %d times", line, c.name, asked)
		}
		if (serr == nil) != (perr == nil) {
			t.Fatalf("line %q: Skim (%s): %v, Parse: %v", line, c.name, serr, perr)
		}
		if serr != nil {
			if serr.Error() != perr.Error() {
				t.Fatalf("line %q: Skim (%s): %v, Parse: %v", line, c.name, serr, perr)
			}
			skimErr = serr
			continue
		}
		// A format whose checks are the full parse is always read in full.
		if wantFull := c.want != nil && c.want(&r) || !skim.(*parser).f.skimmable; fullRead != wantFull {
			t.Fatalf("line %q: Skim (%s) read in full: %v, want %v", line, c.name, fullRead, wantFull)
		}
		if s.Kind != r.Kind || s.Time != r.Time {
			t.Fatalf("line %q: Skim (%s) kind %v time %d, Parse kind %v time %d", line, c.name, s.Kind, s.Time, r.Kind, r.Time)
		}
		for f := range s.Values {
			fl := event.Field(f)
			switch {
			case (fullRead || skimFields[fl]) && !bytes.Equal(s.Values[f], r.Values[f]):
				t.Fatalf("line %q: Skim (%s) %s = %q, Parse %q", line, c.name, fl, s.Values[f], r.Values[f])
			case !fullRead && !skimFields[fl] && s.Values[f] != nil:
				t.Fatalf("line %q: Skim (%s) set %s = %q", line, c.name, fl, s.Values[f])
			}
		}
	}
	return skimErr
}

const (
	mtlsLine = `[2026-12-04T09:00:01.123Z] 203.0.113.7:52344 "GET /static/app.js?v=3 HTTP/2" 200 5120 "Mozilla/5.0 (X11)" "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a" "CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" "CN=Example Issuing CA 1,O=Example Corp,C=US" 4f2a9c0d11e3b7a1 ` + sha1hex + " " + sha256hex + " spiffe://example.org/ns/prod/sa/batch"
	jsonLine = `{"start_time":"2026-12-04T09:00:01.123Z","request_id":"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a","client":"203.0.113.7:52344","method":"GET","path":"/static/app.js?v=3","status":"200","bytes_sent":"5120","user_agent":"Mozilla/5.0 (X11)",` +
		`"peer_subject":"CN=svc-batch-01,OU=Batch,O=Example Corp,C=US","peer_issuer":"CN=Example Issuing CA 1,O=Example Corp,C=US","peer_serial":"4f2a9c0d11e3b7a1","peer_sha256":"` + sha256hex + `","peer_sha1":"` + sha1hex + `","peer_uri_san":"spiffe://example.org/ns/prod/sa/batch"}`
)

// skimCases are edits of a good line (old replaced by new) and whether the
// result is rejected.
type skimCase struct {
	name     string
	old, new string
	reject   bool
}

func runSkimCases(t *testing.T, f *Format, good string, tests []skimCase) {
	t.Helper()
	skim, full := f.NewParser(), f.NewParser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := good
			if tt.old != "" {
				if !strings.Contains(line, tt.old) {
					t.Fatalf("%q not in the line", tt.old)
				}
				line = strings.Replace(line, tt.old, tt.new, 1)
			}
			err := checkSkim(t, skim, full, []byte(line))
			if (err != nil) != tt.reject {
				t.Fatalf("line %q: error %v, want rejected %v", line, err, tt.reject)
			}
		})
	}
}

func TestSkimText(t *testing.T) {
	f, err := CompileText(mtlsText)
	if err != nil {
		t.Fatal(err)
	}
	runSkimCases(t, f, mtlsLine, []skimCase{
		{name: "non-login line"},
		{name: "login line", old: "GET /static/app.js?v=3", new: "POST /accounts/login/?next=/"},
		{name: "no request id", old: `"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a"`, new: `"-"`},
		{name: "escaped subject", old: `"CN=svc-batch-01,`, new: `"CN=Jos\C3\A9,`},
		{name: "upper-case fingerprint", old: " " + sha1hex, new: " " + strings.ToUpper(sha1hex)},
		{name: "fingerprint with colons", old: " " + sha1hex, new: " 0D:5F:6C:1E:2A:3B:4C:5D:6E:7F:80:91:A2:B3:C4:D5:E6:F7:08:19"},
		{name: "IPv6 address", old: "203.0.113.7:52344", new: "[2001:db8::7]:52344"},
		{name: "no certificate", old: `"CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" "CN=Example Issuing CA 1,O=Example Corp,C=US" 4f2a9c0d11e3b7a1 ` + sha1hex + " " + sha256hex, new: `"-" "-" - - -`},
		{name: "bad fingerprint further along", old: " " + sha1hex, new: " " + sha1hex[:39] + "z", reject: true},
		{name: "bad sha256 further along", old: " " + sha256hex, new: " xyz", reject: true},
		{name: "bad serial further along", old: "4f2a9c0d11e3b7a1", new: "4f2a-XYZ", reject: true},
		{name: "bad subject further along", old: `"CN=svc-batch-01,OU=Batch`, new: `"CN=svc-batch-01,OU`, reject: true},
		{name: "bad issuer further along", old: `"CN=Example Issuing CA 1,`, new: `"CN=#abc,`, reject: true},
		{name: "bad time", old: "2026-12-04T09", new: "2026-13-04T09", reject: true},
		{name: "missing literal", old: `" 200 5120 "`, new: `" 200 5120 `, reject: true},
		{name: "bad login subject", old: `"GET /static/app.js?v=3 HTTP/2" 200 5120 "Mozilla/5.0 (X11)" "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a" "CN=svc-batch-01,OU=Batch`, new: `"POST /login/ HTTP/2" 200 5120 "Mozilla/5.0 (X11)" "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a" "CN=svc-batch-01,OU`, reject: true},
	})
}

func TestSkimJSON(t *testing.T) {
	f, err := CompileJSON(ReferenceJSON)
	if err != nil {
		t.Fatal(err)
	}
	runSkimCases(t, f, jsonLine, []skimCase{
		{name: "non-login line"},
		{name: "login line", old: `"GET","path":"/static/app.js?v=3"`, new: `"POST","path":"/accounts/login/"`},
		{name: "path first", old: `{"start_time":"2026-12-04T09:00:01.123Z","request_id":"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a","client":"203.0.113.7:52344","method":"GET","path":"/static/app.js?v=3",`,
			new: `{"path":"/accounts/login/","method":"POST","start_time":"2026-12-04T09:00:01.123Z","request_id":"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a","client":"203.0.113.7:52344",`},
		{name: "method and path last", old: `"method":"GET","path":"/static/app.js?v=3",`, new: ``},
		{name: "null method", old: `"method":"GET"`, new: `"method":null`},
		{name: "escaped values", old: `"Mozilla/5.0 (X11)"`, new: `"Mozilla/5.0 \"q\" \u00e9"`},
		{name: "escaped path", old: `"/static/app.js?v=3"`, new: `"/accounts/\u006cogin/"`},
		{name: "typed nulls", old: `"peer_serial":"4f2a9c0d11e3b7a1"`, new: `"peer_serial":null`},
		{name: "no request id", old: `"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a"`, new: `"-"`},
		{name: "unknown keys", old: `"status":"200"`, new: `"status":200,"x":{"y":[1,{"z":"w"}]}`},
		{name: "upper-case fingerprint", old: `"` + sha1hex + `"`, new: `"` + strings.ToUpper(sha1hex) + `"`},
		{name: "bad fingerprint after the path", old: `"` + sha1hex + `"`, new: `"zz"`, reject: true},
		{name: "bad subject after the path", old: `"CN=svc-batch-01,OU=Batch`, new: `"CN=svc-batch-01,OU`, reject: true},
		{name: "bad serial after the path", old: `"4f2a9c0d11e3b7a1"`, new: `"4f2a-x"`, reject: true},
		{name: "bad subject before the path", old: `{"start_time"`, new: `{"peer_issuer":"CN","start_time"`, reject: true},
		{name: "bad escape after the path", old: `"Mozilla/5.0 (X11)"`, new: `"Mozilla\q"`, reject: true},
		{name: "bad JSON after the path", old: `"status":"200"`, new: `"status":20x`, reject: true},
		{name: "method twice", old: `"user_agent":`, new: `"method":"POST","user_agent":`, reject: true},
		{name: "path twice, null", old: `"user_agent":`, new: `"path":null,"user_agent":`, reject: true},
		{name: "login method and path twice", old: `"user_agent":`, new: `"method":"POST","path":"/accounts/login/","user_agent":`, reject: true},
		{name: "no time", old: `"start_time":"2026-12-04T09:00:01.123Z",`, new: ``, reject: true},
		{name: "bad time", old: `2026-12-04T09`, new: `2026-12-04X09`, reject: true},
		{name: "truncated", old: `"}`, new: `"`, reject: true},
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
		skim, full := f.NewParser(), f.NewParser()
		for _, l := range tc.lines {
			checkSkim(t, skim, full, []byte(l))
		}
	}
}

// TestSkimTestdata checks the committed log, each line twice so that the
// parsers' memories are exercised.
func TestSkimTestdata(t *testing.T) {
	f, err := CompileText(Default)
	if err != nil {
		t.Fatal(err)
	}
	skim, full := f.NewParser(), f.NewParser()
	for range 2 {
		for _, l := range testdataLines(t) {
			checkSkim(t, skim, full, l)
		}
	}
}

func testdataLines(t testing.TB) [][]byte {
	b, err := os.ReadFile("testdata/default.log")
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(l) > 0 && l[0] != '#' {
			lines = append(lines, l)
		}
	}
	return lines
}

// FuzzSkimText checks that for any line Skim and Parse agree (see
// checkSkim) on the mTLS text format.
func FuzzSkimText(f *testing.F) {
	f.Add([]byte(mtlsLine))
	f.Add([]byte(strings.Replace(mtlsLine, "GET /static/app.js?v=3", "POST /accounts/login/", 1)))
	f.Add([]byte(strings.Replace(mtlsLine, " "+sha1hex, " 0D:5F:6C:1E:2A:3B:4C:5D:6E:7F:80:91:A2:B3:C4:D5:E6:F7:08:19", 1)))
	fm, err := CompileText(mtlsText)
	if err != nil {
		f.Fatal(err)
	}
	skim, full := fm.NewParser(), fm.NewParser()
	f.Fuzz(func(t *testing.T, line []byte) {
		checkSkim(t, skim, full, line)
	})
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
	skim, full := fm.NewParser(), fm.NewParser()
	f.Fuzz(func(t *testing.T, line []byte) {
		checkSkim(t, skim, full, line)
	})
}
