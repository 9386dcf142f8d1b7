package nginx

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest/dn"
)

// skimFields are the fields Skim reads; it must leave every other one
// empty.
var skimFields = map[event.Field]bool{event.RequestID: true, event.Method: true, event.URLPath: true}

// checkSkim skims and parses line with parsers of f and checks that they
// agree: both accept it or both reject it with the same error; a skim that
// reads no line in full has the parse's time, request id, method and path
// and no other field; a skim that reads every line in full, or login POSTs,
// has the parse's record.
func checkSkim(t *testing.T, skim, full *parser, line []byte) (skimErr error) {
	t.Helper()
	var r event.Record
	perr := full.Parse(line, &r)
	for _, c := range []struct {
		name string
		want func(*event.Record) bool
	}{{"none", nil}, {"all", func(*event.Record) bool { return true }}, {"login", loginPOST}} {
		var s event.Record
		fullRead, serr := skim.Skim(line, &s, c.want)
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
		if wantFull := c.want != nil && c.want(&r); fullRead != wantFull {
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

func TestSkimAgreesWithParse(t *testing.T) {
	const good = `203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "GET /static/app.js?v=3 HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11)" rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a verify=SUCCESS fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819 serial=4F2A9C0D11E3B7A1 dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US" rt=0.012`
	tests := []struct {
		name     string
		old, new string // replace old with new in good
		reject   bool
	}{
		{name: "non-login line"},
		{name: "login line", old: "GET /static/app.js?v=3", new: "POST /accounts/login/?next=/"},
		{name: "no request id", old: "rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a", new: "rid=-"},
		{name: "escaped request", old: `"GET /static/app.js?v=3 HTTP/1.1"`, new: `"GET /st\x5Catic/\x22app.js HTTP/1.1"`},
		{name: "escaped login request", old: "GET /static/app.js?v=3", new: `POST /accounts/login/?next=\x22/`},
		{name: "escaped request id", old: "rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a", new: `rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c\x41`},
		{name: "not a request line", old: `"GET /static/app.js?v=3 HTTP/1.1"`, new: `"\x16\x03\x01"`},
		{name: "escaped user agent", old: `"Mozilla/5.0 (X11)"`, new: `"Mozilla/5.0 \x22quoted\x22"`},
		{name: "escaped subject", old: `dn="CN=svc-batch-01,OU=Batch`, new: `dn="CN=Jos\x5CC3\x5CA9,OU=Batch`},
		{name: "oneline subject", old: `dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, new: `dn="/C=US/O=Example Corp/CN=svc-batch-01"`},
		{name: "hex subject", old: `dn="CN=svc-batch-01,`, new: `dn="CN=#0c03616263,`},
		{name: "subject with spaces", old: `dn="CN=svc-batch-01,OU=Batch`, new: `dn="CN = svc-batch-01 , OU=Batch`},
		{name: "no certificate", old: `fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819 serial=4F2A9C0D11E3B7A1 dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US"`, new: `fp=- serial=- dn="-" idn="-"`},
		{name: "upper-case fingerprint with colons", old: "fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819", new: "fp=0D:5F:6C:1E:2A:3B:4C:5D:6E:7F:80:91:A2:B3:C4:D5:E6:F7:08:19"},
		{name: "serial with a leading zero", old: "serial=4F2A9C0D11E3B7A1", new: "serial=04f2a9c0d11e3b7a1"},
		{name: "IPv6 address", old: "203.0.113.7 -", new: "2001:db8::7 -"},
		{name: "bad fingerprint further along", old: "fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819", new: "fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f7081z", reject: true},
		{name: "bad serial further along", old: "serial=4F2A9C0D11E3B7A1", new: "serial=4F2A-XYZ", reject: true},
		{name: "bad subject further along", old: `dn="CN=svc-batch-01,OU=Batch`, new: `dn="CN=svc-batch-01,OU`, reject: true},
		{name: "subject ending in a separator", old: `,C=US" idn`, new: `,C=US," idn`, reject: true},
		{name: "bad issuer further along", old: `idn="CN=Example Issuing CA 1,`, new: `idn="CN=#abc,`, reject: true},
		{name: "bad address", old: "203.0.113.7 -", new: "bogus -", reject: true},
		{name: "bad status", old: `HTTP/1.1" 200 512`, new: `HTTP/1.1" 2x0 512`, reject: true},
		{name: "bad byte count", old: `200 512 "-"`, new: `200 5k2 "-"`, reject: true},
		{name: "bad time", old: "04/Dec/2026:09:00:01", new: "04/Dxc/2026:09:00:01", reject: true},
		{name: "truncated line", old: ` rt=0.012`, new: ``, reject: true},
		{name: "text after the end", old: `rt=0.012`, new: `rt=0.012 more`, reject: false},
		{name: "missing literal", old: ` verify=`, new: ` verified=`, reject: true},
	}
	f := Default()
	skim, full := newParser(f), newParser(f)
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

// TestSkimTestdata checks the committed logs of both formats, each line
// twice so that the parsers' caches are exercised.
func TestSkimTestdata(t *testing.T) {
	js, err := Compile(jsonDirective)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file string
		f    *Format
	}{{"reference.log", Default()}, {"json.log", js}} {
		lines := readLines(t, c.file)
		skim, full := newParser(c.f), newParser(c.f)
		for range 2 {
			for _, l := range lines {
				checkSkim(t, skim, full, l)
			}
		}
	}
}

func readLines(t *testing.T, name string) [][]byte {
	t.Helper()
	b, err := readTestdata(name)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSpace(b), []byte("\n"))
}

func TestPlainDN(t *testing.T) {
	for _, c := range []struct {
		dn    string
		plain bool
	}{
		{"CN=a,OU=b,O=Example Corp,C=US", true},
		{"CN=a+UID=x,O=b", true},
		{"CN=,O=b", true},
		{"2.5.4.3=a", true},
		{"CN=a\\,b", false},
		{"CN=#0c0161", false},
		{"CN= a", false},
		{"CN=a ", false},
		{"CN=a,", false},
		{"CN=a,,O=b", false},
		{"CN", false},
		{"C N=a", false},
		{"/C=US/CN=a", false},
		{"", false},
	} {
		if got := plainDN([]byte(c.dn)); got != c.plain {
			t.Errorf("plainDN(%q) = %v, want %v", c.dn, got, c.plain)
		}
		if c.plain {
			if _, err := dn.Canonical(nil, []byte(c.dn)); err != nil {
				t.Errorf("plainDN(%q) but dn.Canonical: %v", c.dn, err)
			}
		}
	}
}

// FuzzSkimText checks that for any line Skim and Parse agree (see
// checkSkim).
func FuzzSkimText(f *testing.F) {
	seedLines(f, "reference.log")
	fm := Default()
	skim, full := newParser(fm), newParser(fm)
	f.Fuzz(func(t *testing.T, line []byte) {
		checkSkim(t, skim, full, line)
	})
}

// FuzzSkimJSON is FuzzSkimText for escape=json lines.
func FuzzSkimJSON(f *testing.F) {
	seedLines(f, "json.log")
	fm, err := Compile(jsonDirective)
	if err != nil {
		f.Fatal(err)
	}
	skim, full := newParser(fm), newParser(fm)
	f.Fuzz(func(t *testing.T, line []byte) {
		checkSkim(t, skim, full, line)
	})
}

// FuzzPlainDN checks that plainDN vouches only for names dn.Canonical
// accepts.
func FuzzPlainDN(f *testing.F) {
	for _, s := range []string{"CN=a,OU=b,O=Example Corp,C=US", "CN=a+UID=x", "CN=#0c", "CN=a,", "/C=US/CN=a"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		if !plainDN(v) {
			return
		}
		if _, err := dn.Canonical(nil, v); err != nil {
			t.Fatalf("plainDN(%q) but dn.Canonical: %v", v, err)
		}
	})
}

func readTestdata(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", name))
}

// TestSkimFormats checks formats that give the method and path before, or
// after, the values a skim only checks.
func TestSkimFormats(t *testing.T) {
	tests := []struct {
		directive string
		lines     []string
	}{
		{
			directive: `'$remote_addr dn="$ssl_client_s_dn" fp=$ssl_client_fingerprint [$time_local] "$request" $status rid=$request_id "$http_user_agent"'`,
			lines: []string{
				`10.0.0.1 dn="CN=a,O=b" fp=AB:CD [04/Dec/2026:09:00:01 +0000] "POST /accounts/login/ HTTP/1.1" 200 rid=r1 "curl\x22x"`,
				`10.0.0.1 dn="CN=Jos\x5CC3\x5CA9,O=b" fp=abcd [04/Dec/2026:09:00:01 +0000] "GET /static/x.js HTTP/1.1" 200 rid=r2 "curl"`,
				`10.0.0.1 dn="CN=a,O=b" fp=abcd [04/Dec/2026:09:00:02 +0000] "POST /accounts/login/ HTTP/1.1" 2000 rid=r3 "curl"`,
				`10.0.0.1 dn="CN=a," fp=abcd [04/Dec/2026:09:00:02 +0000] "POST /accounts/login/ HTTP/1.1" 200 rid=r4 "curl"`,
			},
		},
		{
			directive: `'$msec $ssl_client_serial "$ssl_client_i_dn" $request_id $request_method $request_uri'`,
			lines: []string{
				`1764838801.123 0A11 "CN=CA,O=b" r1 POST /accounts/login/?next=/`,
				`1764838801.123 0a11 "CN=CA,O=b" r2 GET /health`,
				`1764838801.123 XYZ "CN=CA,O=b" r3 POST /accounts/login/`,
			},
		},
		{
			directive: `'[$time_iso8601] $status "$ssl_client_s_dn"'`,
			lines: []string{
				`[2026-12-04T09:00:01+00:00] 200 "CN=a,O=b"`,
				`[2026-12-04T09:00:01+00:00] 200 "CN"`,
			},
		},
	}
	for _, tt := range tests {
		f, err := Compile(tt.directive)
		if err != nil {
			t.Fatal(err)
		}
		skim, full := newParser(f), newParser(f)
		for _, l := range tt.lines {
			checkSkim(t, skim, full, []byte(l))
		}
	}
}
