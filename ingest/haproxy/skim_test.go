package haproxy

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

var skimLine = `<134>Dec  4 09:00:01 lb1 haproxy[1234]: 203.0.113.7:52344 [04/Dec/2026:09:00:01.123] fe_mtls~ be_app/app1 200 5120 "GET /static/app.js?v=3 HTTP/1.1" id=` + uid +
	` used=1 verify=0 sha1=` + strings.ToUpper(sha1hex) + ` serial=4F2A9C0D11E3B7A1 sdn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US"`

func TestSkimAgreesWithParse(t *testing.T) {
	f, err := Compile(mtlsFormat)
	if err != nil {
		t.Fatal(err)
	}
	runSkimCases(t, f, skimLine, []skimCase{
		{name: "non-login line"},
		{name: "login line", old: "GET /static/app.js?v=3", new: "POST /accounts/login/?next=/"},
		{name: "absolute URI", old: "GET /static/app.js?v=3", new: "POST https://app.example.org/accounts/login/"},
		{name: "bad request", old: `"GET /static/app.js?v=3 HTTP/1.1"`, new: `"<BADREQ>"`},
		{name: "no syslog prefix", old: "<134>Dec  4 09:00:01 lb1 haproxy[1234]: ", new: ""},
		{name: "rfc5424 prefix", old: "<134>Dec  4 09:00:01 lb1 haproxy[1234]: ", new: "<134>1 2026-12-04T09:00:01.123456+00:00 lb1 haproxy 1234 - - "},
		{name: "no request id", old: "id=" + uid, new: "id=-"},
		{name: "escaped request id", old: "id=" + uid, new: "id=a#23b"},
		{name: "escaped subject", old: `sdn="CN=svc-batch-01,`, new: `sdn="CN=Doe\, Jane \"JD\",O=Example#23Corp,`},
		{name: "verify failure", old: "verify=0", new: "verify=21"},
		{name: "no certificate", old: `used=1 verify=0 sha1=` + strings.ToUpper(sha1hex) + ` serial=4F2A9C0D11E3B7A1 sdn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US"`, new: `used=0 verify=0 sha1= serial= sdn="" idn=""`},
		{name: "IPv6 address", old: "203.0.113.7:52344", new: "2001:db8::7:52344"},
		{name: "lower-case fingerprint", old: strings.ToUpper(sha1hex), new: sha1hex},
		{name: "bad fingerprint further along", old: strings.ToUpper(sha1hex), new: "XYZ", reject: true},
		{name: "bad serial further along", old: "serial=4F2A9C0D11E3B7A1", new: "serial=4F2A-XYZ", reject: true},
		{name: "bad subject further along", old: `sdn="CN=svc-batch-01,OU=Batch`, new: `sdn="CN=svc-batch-01,OU`, reject: true},
		{name: "bad issuer further along", old: `idn="CN=Example Issuing CA 1,`, new: `idn="CN,`, reject: true},
		{name: "escaped used", old: "used=1", new: "used=#31"},
		{name: "bad used further along", old: "used=1", new: "used=2", reject: true},
		{name: "bad time", old: "[04/Dec/2026:09:00:01.123]", new: "[04/Dxc/2026:09:00:01.123]", reject: true},
		{name: "missing literal", old: " verify=", new: " verified=", reject: true},
		{name: "text after the end", old: `C=US"`, new: `C=US" more`, reject: true},
		{name: "bad login subject", old: `GET /static/app.js?v=3 HTTP/1.1" id=` + uid + ` used=1 verify=0 sha1=` + strings.ToUpper(sha1hex) + ` serial=4F2A9C0D11E3B7A1 sdn="CN=svc-batch-01,OU=Batch`, new: `POST /login/ HTTP/1.1" id=` + uid + ` used=1 verify=0 sha1=` + strings.ToUpper(sha1hex) + ` serial=4F2A9C0D11E3B7A1 sdn="CN=svc-batch-01,OU`, reject: true},
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
		skim, full := f.NewParser(), f.NewParser()
		for _, l := range tc.lines {
			checkSkim(t, skim, full, []byte(l))
		}
	}
}

// TestSkimTestdata checks the committed log, each line twice so that the
// parsers' memories are exercised.
func TestSkimTestdata(t *testing.T) {
	f, err := Compile(Reference)
	if err != nil {
		t.Fatal(err)
	}
	skim, full := f.NewParser(), f.NewParser()
	lines := testdataLines(t)
	if len(lines) == 0 {
		t.Fatal("no lines in testdata/mtls.log")
	}
	for range 2 {
		for _, l := range lines {
			checkSkim(t, skim, full, l)
		}
	}
}

func testdataLines(t testing.TB) [][]byte {
	b, err := os.ReadFile("testdata/mtls.log")
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

// FuzzSkim checks that for any line Skim and Parse agree (see checkSkim)
// on the mTLS format.
func FuzzSkim(f *testing.F) {
	f.Add([]byte(skimLine))
	f.Add([]byte(strings.Replace(skimLine, "GET /static/app.js?v=3", "POST /accounts/login/", 1)))
	f.Add([]byte(strings.Replace(skimLine, `sdn="CN=svc-batch-01,`, `sdn="CN=Doe\, Jane \"JD\",O=Example#23Corp,`, 1)))
	fm, err := Compile(mtlsFormat)
	if err != nil {
		f.Fatal(err)
	}
	skim, full := fm.NewParser(), fm.NewParser()
	f.Fuzz(func(t *testing.T, line []byte) {
		checkSkim(t, skim, full, line)
	})
}

func TestIsMonth(t *testing.T) {
	for _, m := range []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"} {
		if !isMonth([]byte(m + " ")) {
			t.Errorf("isMonth(%q) = false", m+" ")
		}
		if isMonth([]byte(m)) {
			t.Errorf("isMonth(%q) = true without a byte after it", m)
		}
		if isMonth([]byte(strings.ToLower(m) + " ")) {
			t.Errorf("isMonth(%q) = true", strings.ToLower(m)+" ")
		}
	}
	for _, s := range []string{"Jam ", "Dex ", "2026", "<134", "   "} {
		if isMonth([]byte(s)) {
			t.Errorf("isMonth(%q) = true", s)
		}
	}
}
