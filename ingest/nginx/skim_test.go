package nginx

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest/dn"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

// TestSkimAgreesWithParse checks edits of a line skimmed lazily (the
// default) and checking every line (CheckAllLines): a value a lazy skim
// does not read (anything but the time, request and request id) is not
// checked on a line it does not read in full, which it accepts then
// (Skimmed), where a skim checking every line rejects it as Parse does.
func TestSkimAgreesWithParse(t *testing.T) {
	const good = `203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "GET /static/app.js?v=3 HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11)" rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a verify=SUCCESS fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819 serial=4F2A9C0D11E3B7A1 dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US" rt=0.012`
	edits := []skimtest.Edit{
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
		// After the request id: not read by a lazy skim.
		{Name: "bad fingerprint further along", Old: "fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819", New: "fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f7081z", Reject: true, Skimmed: true},
		{Name: "bad serial further along", Old: "serial=4F2A9C0D11E3B7A1", New: "serial=4F2A-XYZ", Reject: true, Skimmed: true},
		{Name: "bad subject further along", Old: `dn="CN=svc-batch-01,OU=Batch`, New: `dn="CN=svc-batch-01,OU`, Reject: true, Skimmed: true},
		{Name: "subject ending in a separator", Old: `,C=US" idn`, New: `,C=US," idn`, Reject: true, Skimmed: true},
		{Name: "bad issuer further along", Old: `idn="CN=Example Issuing CA 1,`, New: `idn="CN=#abc,`, Reject: true, Skimmed: true},
		{Name: "truncated line", Old: ` rt=0.012`, New: ``, Reject: true, Skimmed: true},
		{Name: "missing literal further along", Old: ` serial=`, New: ` serials=`, Reject: true, Skimmed: true},
		{Name: "NUL byte after the request id", Old: `verify=SUCCESS`, New: "verify=SUC\x00CESS", Reject: false},
		{Name: "text after the end", Old: `rt=0.012`, New: `rt=0.012 more`, Reject: false},
		// Before the request id, not the time or the request: its end is
		// found, its value not checked.
		{Name: "bad address", Old: "203.0.113.7 -", New: "bogus -", Reject: true, Skimmed: true},
		{Name: "bad status", Old: `HTTP/1.1" 200 512`, New: `HTTP/1.1" 2x0 512`, Reject: true, Skimmed: true},
		{Name: "bad byte count", Old: `200 512 "-"`, New: `200 5k2 "-"`, Reject: true, Skimmed: true},
		// The time, the request and the request id are read, and their
		// ends must be found: rejected by every skim.
		{Name: "bad time", Old: "04/Dec/2026:09:00:01", New: "04/Dxc/2026:09:00:01", Reject: true},
		{Name: "time out of range", Old: "04/Dec/2026:09:00:01", New: "04/Dec/2026:25:00:01", Reject: true},
		{Name: "empty time", Old: "[04/Dec/2026:09:00:01 +0000]", New: "[-]", Reject: true},
		{Name: "time without its literal", Old: "+0000] ", New: "+0000 ", Reject: true},
		{Name: "line ends in the request", Old: ` HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11)" rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a verify=SUCCESS fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819 serial=4F2A9C0D11E3B7A1 dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US" rt=0.012`, New: ``, Reject: true},
		{Name: "line ends in the request id", Old: `6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a verify=SUCCESS fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819 serial=4F2A9C0D11E3B7A1 dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US" rt=0.012`, New: `6f1c2e0b`, Reject: true},
		{Name: "missing literal after the request id", Old: ` verify=`, New: ` verified=`, Reject: true},
		{Name: "missing literal before the request id", Old: `" rid=`, New: `" id=`, Reject: true},
		{Name: "missing literal before the time", Old: ` - - [`, New: ` - -[`, Reject: true},
		{Name: "empty address", Old: `203.0.113.7`, New: ``, Reject: false},
	}
	t.Run("lazy", func(t *testing.T) { skimtest.CheckEdits(t, Default(), skimtest.AsWanted, good, edits) })
	t.Run("check all lines", func(t *testing.T) { skimtest.CheckEdits(t, skimtest.Exact(Default()), skimtest.AsWanted, good, edits) })
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
		skimtest.CheckLines(t, skimtest.Exact(c.f), skimtest.AsWanted, append(lines, lines...))
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
// skimtest.CheckSkim), skimming lazily and checking every line: whenever
// Parse accepts a line, a lazy skim accepts it with the same time, method,
// path and request id; whenever it reads a line in full, it reads it as
// Parse does; a skim checking every line accepts exactly what Parse does.
func FuzzSkimText(f *testing.F) {
	seedLines(f, "reference.log")
	fm := Default()
	skim, exact, full := newParser(fm), newParser(fm), newParser(fm)
	exact.CheckAllLines(true)
	f.Fuzz(func(t *testing.T, line []byte) {
		skimtest.CheckSkim(t, skim, full, line, skimtest.AsWanted)
		skimtest.CheckSkim(t, exact, full, line, skimtest.AsWanted)
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
		{"CN=a+OU=x,O=b", false}, // sorted, but dn is asked all the same
		{"OU=x+CN=a,O=b", false},
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
		skimtest.CheckLines(t, skimtest.Exact(f), skimtest.AsWanted, tt.lines)
	}
}

// TestLazySkim checks what a lazy skim reads of lines it does not read in
// full, in formats giving the time, request and request id in different
// orders: the values Parse gives them, whatever the values it does not
// read; and which lines it accepts where a skim checking every line (and
// Parse) rejects them.
func TestLazySkim(t *testing.T) {
	tests := []struct {
		name, directive, line string
		time                  string // RFC 3339, UTC
		method, path, rid     string
		exact                 bool // a skim checking every line accepts it too
	}{
		{name: "reference", directive: Reference,
			line: `203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "GET /static/app.js?v=3 HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11)" rid=6f1c2e0b verify=SUCCESS fp=0d5f serial=4F dn="CN=a,O=b" idn="CN=c" rt=0.012`,
			time: "2026-12-04T09:00:01Z", method: "GET", path: "/static/app.js", rid: "6f1c2e0b", exact: true},
		{name: "reference, bad values after the request id", directive: Reference,
			line: `203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "GET /static/app.js?v=3 HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11)" rid=6f1c2e0b verify=SUCCESS fp=xyz serial=-0- dn="CN" idn="#" rt`,
			time: "2026-12-04T09:00:01Z", method: "GET", path: "/static/app.js", rid: "6f1c2e0b"},
		{name: "reference, bad values before the request id", directive: Reference,
			line: `not-an-address - - [04/Dec/2026:09:00:01 +0000] "GET /x HTTP/1.1" OK many "-" "curl" rid=ab verify=SUCCESS fp=0d5f serial=4F dn="CN=a,O=b" idn="CN=c" rt=0.012`,
			time: "2026-12-04T09:00:01Z", method: "GET", path: "/x", rid: "ab"},
		{name: "reference, escaped request and request id", directive: Reference,
			line: `203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "GET /st\x5Catic/\x22a b HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11)" rid=6f\x41 verify=SUCCESS fp=0d5f serial=4F dn="CN=a,O=b" idn="CN=c" rt=0.012`,
			time: "2026-12-04T09:00:01Z", method: "GET", path: `/st\atic/"a`, rid: "6fA", exact: true},
		{name: "request id first, time last", directive: `'$request_id $ssl_client_serial "$request" $status [$time_iso8601] $ssl_client_fingerprint'`,
			line: `r1 XYZ "GET /health HTTP/1.1" 2000 [2026-12-04T09:00:01+00:00] notahex`,
			time: "2026-12-04T09:00:01Z", method: "GET", path: "/health", rid: "r1"},
		{name: "method and uri", directive: `'$msec $ssl_client_serial "$ssl_client_i_dn" $request_id $request_method $request_uri $status'`,
			line: `1796374801.5 0a11 "CN=CA,O=b" r2 GET /health?x=1 200`,
			time: "2026-12-04T09:00:01.5Z", method: "GET", path: "/health", rid: "r2", exact: true},
		{name: "escape=json text", directive: `log_format t escape=json '$remote_addr "$http_user_agent" [$time_local] "$request" rid=$request_id $status';`,
			line: `bogus "a \" b" [04/Dec/2026:09:00:01 +0000] "GET /a\" b HTTP/1.1" rid=r3 2x0`,
			time: "2026-12-04T09:00:01Z", method: "GET", path: `/a"`, rid: "r3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Compile(tt.directive)
			if err != nil {
				t.Fatal(err)
			}
			lazy, exact, full := newParser(f), newParser(f), newParser(f)
			exact.CheckAllLines(true)
			if !lazy.SkimsLazily() || exact.SkimsLazily() {
				t.Fatalf("SkimsLazily: %v lazily, %v checking all lines", lazy.SkimsLazily(), exact.SkimsLazily())
			}
			var r event.Record
			read, err := lazy.Skim([]byte(tt.line), &r, skimtest.LoginPOST)
			if err != nil || read {
				t.Fatalf("lazy Skim: read in full %v, %v", read, err)
			}
			got := []string{time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano), string(r.Get(event.Method)), string(r.Get(event.URLPath)), string(r.Get(event.RequestID))}
			if want := []string{tt.time, tt.method, tt.path, tt.rid}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("lazy Skim: time, method, path, request id %q, want %q", got, want)
			}
			var e event.Record
			_, eerr := exact.Skim([]byte(tt.line), &e, skimtest.LoginPOST)
			perr := full.Parse([]byte(tt.line), &e)
			if (eerr == nil) != tt.exact || (perr == nil) != tt.exact {
				t.Errorf("checking every line: Skim %v, Parse %v; want accepted %v", eerr, perr, tt.exact)
			}
			skimtest.CheckSkim(t, lazy, full, []byte(tt.line), skimtest.AsWanted)
			skimtest.CheckSkim(t, exact, full, []byte(tt.line), skimtest.AsWanted)
		})
	}
}

// FuzzSkimFormats is FuzzSkimText for any format and line.
func FuzzSkimFormats(f *testing.F) {
	f.Add(Reference, []byte(`203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "GET /a?b HTTP/1.1" 200 5 "-" "ua" rid=ab verify=SUCCESS fp=0d5f serial=4F dn="CN=a,O=b" idn="CN=c" rt=0.1`))
	f.Add(`'$request_id $ssl_client_serial "$request" $status [$time_iso8601] $ssl_client_fingerprint'`, []byte(`r1 XYZ "POST /accounts/login/ HTTP/1.1" 2000 [2026-12-04T09:00:01+00:00] notahex`))
	f.Add(`'$msec $ssl_client_serial "$ssl_client_i_dn" $request_id $request_method $request_uri'`, []byte(`1764838801.123 0A11 "CN=CA,O=b" r1 POST /accounts/login/?next=/`))
	f.Add(`log_format t escape=json '$remote_addr "$http_user_agent" [$time_local] "$request" rid=$request_id $status';`, []byte(`bogus "a \" b" [04/Dec/2026:09:00:01 +0000] "GET /a\" b HTTP/1.1" rid=r3 2x0`))
	f.Add(`'$remote_addr:$remote_port [$time_local] $status$body_bytes_sent "$request" a$request_id b${ssl_client_fingerprint}1:$ssl_client_serial'`,
		[]byte(`10.0.0.1:443 [04/Dec/2026:09:00:01 +0000] 200512 "GET /x HTTP/1.1" aabc b0d5fa11:1A1B`))
	f.Fuzz(func(t *testing.T, directive string, line []byte) {
		fm, err := Compile(directive)
		if err != nil {
			return
		}
		lazy, exact, full := newParser(fm), newParser(fm), newParser(fm)
		exact.CheckAllLines(true)
		for range 2 { // again, with what the parsers remember of the line
			skimtest.CheckSkim(t, lazy, full, line, skimtest.AsWanted)
			skimtest.CheckSkim(t, exact, full, line, skimtest.AsWanted)
		}
	})
}

// TestSkimZeroAllocs checks that skims, lazy and checking every line, of
// the corpus lines allocate nothing once the parser's scratch space and
// caches are warm.
func TestSkimZeroAllocs(t *testing.T) {
	data, err := readTestdata("corpus.log")
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	for _, all := range []bool{false, true} {
		p := newParser(Default())
		p.CheckAllLines(all)
		var r event.Record
		for _, l := range lines {
			if _, err := p.Skim(l, &r, skimtest.LoginPOST); err != nil {
				t.Fatal(err)
			}
		}
		i := 0
		n := testing.AllocsPerRun(2000, func() {
			if _, err := p.Skim(lines[i%len(lines)], &r, skimtest.LoginPOST); err != nil {
				t.Fatal(err)
			}
			i++
		})
		if n != 0 {
			t.Errorf("check all lines %v: %v allocations per line, want 0", all, n)
		}
	}
}
