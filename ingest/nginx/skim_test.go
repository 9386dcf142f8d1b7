package nginx

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/spraywatch/spraywatch/ingest/dn"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

func TestSkimAgreesWithParse(t *testing.T) {
	const good = `203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "GET /static/app.js?v=3 HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11)" rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a verify=SUCCESS fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819 serial=4F2A9C0D11E3B7A1 dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US" rt=0.012`
	skimtest.CheckEdits(t, Default(), skimtest.AsWanted, good, []skimtest.Edit{
		{Name: "non-login line"},
		{Name: "login line", Old: "GET /static/app.js?v=3", New: "POST /accounts/login/?next=/"},
		{Name: "no request id", Old: "rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a", New: "rid=-"},
		{Name: "escaped request", Old: `"GET /static/app.js?v=3 HTTP/1.1"`, New: `"GET /st\x5Catic/\x22app.js HTTP/1.1"`},
		{Name: "escaped login request", Old: "GET /static/app.js?v=3", New: `POST /accounts/login/?next=\x22/`},
		{Name: "escaped request id", Old: "rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a", New: `rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c\x41`},
		{Name: "not a request line", Old: `"GET /static/app.js?v=3 HTTP/1.1"`, New: `"\x16\x03\x01"`},
		{Name: "escaped user agent", Old: `"Mozilla/5.0 (X11)"`, New: `"Mozilla/5.0 \x22quoted\x22"`},
		{Name: "escaped subject", Old: `dn="CN=svc-batch-01,OU=Batch`, New: `dn="CN=Jos\x5CC3\x5CA9,OU=Batch`},
		{Name: "oneline subject", Old: `dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, New: `dn="/C=US/O=Example Corp/CN=svc-batch-01"`},
		{Name: "hex subject", Old: `dn="CN=svc-batch-01,`, New: `dn="CN=#0c03616263,`},
		{Name: "subject with spaces", Old: `dn="CN=svc-batch-01,OU=Batch`, New: `dn="CN = svc-batch-01 , OU=Batch`},
		{Name: "no certificate", Old: `fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819 serial=4F2A9C0D11E3B7A1 dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US"`, New: `fp=- serial=- dn="-" idn="-"`},
		{Name: "upper-case fingerprint with colons", Old: "fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819", New: "fp=0D:5F:6C:1E:2A:3B:4C:5D:6E:7F:80:91:A2:B3:C4:D5:E6:F7:08:19"},
		{Name: "serial with a leading zero", Old: "serial=4F2A9C0D11E3B7A1", New: "serial=04f2a9c0d11e3b7a1"},
		{Name: "IPv6 address", Old: "203.0.113.7 -", New: "2001:db8::7 -"},
		{Name: "bad fingerprint further along", Old: "fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819", New: "fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f7081z", Reject: true},
		{Name: "bad serial further along", Old: "serial=4F2A9C0D11E3B7A1", New: "serial=4F2A-XYZ", Reject: true},
		{Name: "bad subject further along", Old: `dn="CN=svc-batch-01,OU=Batch`, New: `dn="CN=svc-batch-01,OU`, Reject: true},
		{Name: "subject ending in a separator", Old: `,C=US" idn`, New: `,C=US," idn`, Reject: true},
		{Name: "bad issuer further along", Old: `idn="CN=Example Issuing CA 1,`, New: `idn="CN=#abc,`, Reject: true},
		{Name: "bad address", Old: "203.0.113.7 -", New: "bogus -", Reject: true},
		{Name: "bad status", Old: `HTTP/1.1" 200 512`, New: `HTTP/1.1" 2x0 512`, Reject: true},
		{Name: "bad byte count", Old: `200 512 "-"`, New: `200 5k2 "-"`, Reject: true},
		{Name: "bad time", Old: "04/Dec/2026:09:00:01", New: "04/Dxc/2026:09:00:01", Reject: true},
		{Name: "truncated line", Old: ` rt=0.012`, New: ``, Reject: true},
		{Name: "text after the end", Old: `rt=0.012`, New: `rt=0.012 more`, Reject: false},
		{Name: "missing literal", Old: ` verify=`, New: ` verified=`, Reject: true},
	})
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
		skimtest.CheckLines(t, c.f, skimtest.AsWanted, append(lines, lines...))
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
// skimtest.CheckSkim).
func FuzzSkimText(f *testing.F) {
	seedLines(f, "reference.log")
	fm := Default()
	skim, full := newParser(fm), newParser(fm)
	f.Fuzz(func(t *testing.T, line []byte) {
		skimtest.CheckSkim(t, skim, full, line, skimtest.AsWanted)
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
		skimtest.CheckSkim(t, skim, full, line, skimtest.AsWanted)
	})
}

func TestCanonicalDN(t *testing.T) {
	for _, c := range []struct {
		dn    string
		canon bool
	}{
		{"CN=a,OU=b,O=Example Corp,C=US", true},
		{"CN=a+OU=x,O=b", true},
		{"CN=,O=b", true},
		{"DC=example,DC=com,L=Paris,ST=IDF", true},
		{"CN=a b", true},
		{"cn=a", false},
		{"UID=x", false},
		{"2.5.4.3=a", false},
		{"CN=a\\,b", false},
		{"CN=#0c0161", false},
		{"CN= a", false},
		{"CN=a ", false},
		{"CN=a,", false},
		{"CN=a,,O=b", false},
		{"CN=a;b", false},
		{"CN=a<b", false},
		{"CN=a\"b", false},
		{"CN=Jos\xc3\xa9", false},
		{"CN=a\tb", false},
		{"CN", false},
		{"CN =a", false},
		{" CN=a", false},
		{"/C=US/CN=a", false},
		{"", false},
	} {
		got := canonicalDN([]byte(c.dn))
		if got != c.canon {
			t.Errorf("canonicalDN(%q) = %v, want %v", c.dn, got, c.canon)
		}
		if got {
			if canon, err := dn.Canonical(nil, []byte(c.dn)); err != nil || string(canon) != c.dn {
				t.Errorf("canonicalDN(%q) but dn.Canonical: %q, %v", c.dn, canon, err)
			}
		}
	}
}

// FuzzCanonicalDN checks that canonicalDN vouches only for names that are
// their own canonical form.
func FuzzCanonicalDN(f *testing.F) {
	for _, s := range []string{"CN=a,OU=b,O=Example Corp,C=US", "CN=a+OU=x", "CN=#0c", "CN=a,", "CN=a ", "cn=a"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		if !canonicalDN(v) {
			return
		}
		if canon, err := dn.Canonical(nil, v); err != nil || !bytes.Equal(canon, v) {
			t.Fatalf("canonicalDN(%q) but dn.Canonical: %q, %v", v, canon, err)
		}
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
		skimtest.CheckLines(t, f, skimtest.AsWanted, tt.lines)
	}
}
