package nginx

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
)

// slowFormat compiles directive with the fast paths of the matcher turned
// off: every value is found by indexLit and handled by parser.value.
func slowFormat(t testing.TB, directive string) *Format {
	t.Helper()
	f, err := Compile(directive)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range f.allSegs() {
		if s.scan > scanIndex {
			s.scan = scanIndex
		}
		s.near = false
	}
	return f
}

// checkFast checks that parsers of the same format with and without the
// fast paths agree on line: the same error, or the same record, in a parse
// and in skims.
func checkFast(t testing.TB, fast, slow *parser, line []byte) {
	t.Helper()
	var fr, sr event.Record
	ferr, serr := fast.Parse(line, &fr), slow.Parse(line, &sr)
	sameResult(t, "Parse", line, &fr, &sr, ferr, serr)
	for _, want := range []func(*event.Record) bool{nil, skimtest.LoginPOST} {
		ffull, ferr := fast.Skim(line, &fr, want)
		sfull, serr := slow.Skim(line, &sr, want)
		if ffull != sfull {
			t.Fatalf("line %q: Skim read in full: fast %v, slow %v", line, ffull, sfull)
		}
		sameResult(t, "Skim", line, &fr, &sr, ferr, serr)
	}
}

func sameResult(t testing.TB, what string, line []byte, fr, sr *event.Record, ferr, serr error) {
	t.Helper()
	if (ferr == nil) != (serr == nil) || ferr != nil && ferr.Error() != serr.Error() {
		t.Fatalf("line %q: %s: fast %v, slow %v", line, what, ferr, serr)
	}
	if fr.Time != sr.Time || fr.Kind != sr.Kind {
		t.Fatalf("line %q: %s: fast time %d kind %v, slow %d %v", line, what, fr.Time, fr.Kind, sr.Time, sr.Kind)
	}
	for f := range fr.Values {
		if !bytes.Equal(fr.Values[f], sr.Values[f]) || (fr.Values[f] == nil) != (sr.Values[f] == nil) {
			t.Fatalf("line %q: %s: %s fast %q, slow %q", line, what, event.Field(f), fr.Values[f], sr.Values[f])
		}
	}
}

// TestFastPaths checks the fast paths' edge cases against the general
// matcher: values each must hand to it, and literals found where a run of
// a value's class ends or does not.
func TestFastPaths(t *testing.T) {
	const good = `203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "GET /static/app.js?v=3 HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11)" rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a verify=SUCCESS fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819 serial=4F2A9C0D11E3B7A1 dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" idn="CN=Example Issuing CA 1,O=Example Corp,C=US" rt=0.012`
	edits := []struct{ old, new string }{
		{"", ""},
		// Addresses.
		{"203.0.113.7 -", "2001:db8::7 -"},
		{"203.0.113.7 -", "fe80::1%eth0 -"},
		{"203.0.113.7 -", "unix: -"},
		{"203.0.113.7 -", "- -"},
		{"203.0.113.7 -", " -"},
		{"203.0.113.7 -", "203.0.113 -"},
		{"203.0.113.7 -", "203.0.113.7.9 -"},
		{"203.0.113.7 -", "2001:db8 -"},
		{"203.0.113.7 -", "203.0.113.7x -"},
		{"203.0.113.7 -", "203.0.113.7\x80 -"},
		{"203.0.113.7 -", "1.2.3.4 1.2.3.4 -"},
		{"203.0.113.7 - -", "1.2.3.4 -- - -"},
		// Status and byte count.
		{`" 200 512 "`, `" 2000 512 "`},
		{`" 200 512 "`, `" 20 512 "`},
		{`" 200 512 "`, `"  512 "`},
		{`" 200 512 "`, `" - 512 "`},
		{`" 200 512 "`, `" 200 - "`},
		{`" 200 512 "`, `" 200  "`},
		{`" 200 512 "`, `" 200 51x2 "`},
		{`" 200 512 "`, `" 200 1234567890123456789 "`},
		{`" 200 512 "`, `" 200 512 5 "`},
		// Request ids.
		{"rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a", "rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c\\x41"},
		{"rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a", "rid=\\"},
		{"rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a", "rid=a verif b"},
		{"rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a", "rid=a  verify=x"},
		{"rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a", "rid="},
		{"rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a", "rid=-"},
		{"rid=6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a", "rid=\xff\xfe\x00abc"},
		// Fingerprints and serials.
		{"fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819", "fp=0D5F6C1E2A3B4C5D6E7F8091A2B3C4D5E6F70819"},
		{"fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819", "fp=0d:5f:6c:1e:2a:3b:4c:5d:6e:7f:80:91:a2:b3:c4:d5:e6:f7:08:19"},
		{"fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819", "fp=0d5f"},
		{"fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819", "fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f7081g"},
		{"fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819", "fp="},
		{"fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819", "fp=-"},
		{"serial=4F2A9C0D11E3B7A1", "serial=04F2A9C0D11E3B7A1"},
		{"serial=4F2A9C0D11E3B7A1", "serial=0"},
		{"serial=4F2A9C0D11E3B7A1", "serial=00"},
		{"serial=4F2A9C0D11E3B7A1", "serial=4f2a9c0d11e3b7a1"},
		{"serial=4F2A9C0D11E3B7A1", "serial=4F:2A"},
		{"serial=4F2A9C0D11E3B7A1", "serial=4F2A-XYZ"},
		// Requests.
		{`"GET /static/app.js?v=3 HTTP/1.1"`, `"GET /static/app.js HTTP/1.1"`},
		{`"GET /static/app.js?v=3 HTTP/1.1"`, `"GET /static/app.js"`},
		{`"GET /static/app.js?v=3 HTTP/1.1"`, `"GET /a?b?c HTTP/1.1"`},
		{`"GET /static/app.js?v=3 HTTP/1.1"`, `"GET /a HTTP/1.1?x"`},
		{`"GET /static/app.js?v=3 HTTP/1.1"`, `"?GET /a HTTP/1.1"`},
		{`"GET /static/app.js?v=3 HTTP/1.1"`, `" GET /a HTTP/1.1"`},
		{`"GET /static/app.js?v=3 HTTP/1.1"`, `"GET  /a HTTP/1.1"`},
		{`"GET /static/app.js?v=3 HTTP/1.1"`, `"GET"`},
		{`"GET /static/app.js?v=3 HTTP/1.1"`, `""`},
		{`"GET /static/app.js?v=3 HTTP/1.1"`, `"-"`},
		{`"GET /static/app.js?v=3 HTTP/1.1"`, `"POST /accounts/login/?next=/ HTTP/1.1"`},
		{`"GET /static/app.js?v=3 HTTP/1.1"`, `"POST /accounts/login/\x3Fnext=/ HTTP/1.1"`},
		{`"GET /static/app.js?v=3 HTTP/1.1"`, `"GET /a"b HTTP/1.1"`},
		{`"GET /static/app.js?v=3 HTTP/1.1"`, `"GET /a" b HTTP/1.1"`},
		// Times: the last one again, followed by its literal or not.
		{`[04/Dec/2026:09:00:01 +0000] "GET`, `[04/Dec/2026:09:00:01 +0000]] "GET`},
		{`[04/Dec/2026:09:00:01 +0000] "GET`, `[04/Dec/2026:09:00:01 +0000]"GET`},
		{`[04/Dec/2026:09:00:01 +0000] "GET`, `[04/Dec/2026:09:00:01 +0000 "GET`},
		{`[04/Dec/2026:09:00:01 +0000] "GET`, `[04/Dec/2026:09:00:01 +00000] "GET`},
		{`[04/Dec/2026:09:00:01 +0000] "GET`, `[04/Dec/2026:09:00:01] "GET`},
		{`[04/Dec/2026:09:00:01 +0000] "GET`, `[04/Dec/2026:09:00:02 +0000] "GET`},
		{`[04/Dec/2026:09:00:01 +0000] "GET`, `[04/Dec/2026:09:00:02 +0000] "GET`},
		{`[04/Dec/2026:09:00:01 +0000] "GET`, `[04/Dec/2026:09:00:01 +0000] "GET`},
		{`[04/Dec/2026:09:00:01 +0000] "GET`, `[] "GET`},
		{`[04/Dec/2026:09:00:01 +0000] "GET`, `[-] "GET`},
		// Distinguished names: plain, the last one again, or neither.
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"" idn="x`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US" "`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=USA"`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C="`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C"`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="CN=svc-batch-01,OU=Batch,O=Example Corp,"`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US "`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, "dn=\"CN=svc-batch-01,OU=Batch,O=Example Corp,C=US\t\""},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="CN=a"b,O=c"`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="CN=a" b,O=c"`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="CN=a+UID=b,O=c"`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="CN=#0c0161,O=c"`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="CN= a,O=c"`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="cn=a,o=c"`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="CN=Jos\x5CC3\x5CA9,O=c"`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="CN=a\x5C,b,O=c"`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="/C=US/O=c/CN=a"`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="C N=a"`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn=""`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="-"`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="="`},
		{`dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US"`, `dn="CN=svc-batch-01,OU=Batch,O=Example Corp,C=US`},
		{`idn="CN=Example Issuing CA 1,O=Example Corp,C=US"`, `idn="CN=Example Issuing CA 1,O=Example Corp,C=US" rt=1 idn="x"`},
		{`idn="CN=Example Issuing CA 1,O=Example Corp,C=US"`, `idn="CN=Example Issuing CA 1,O=Example Corp,C=U"`},
		{`idn="CN=Example Issuing CA 1,O=Example Corp,C=US"`, `idn="CN=Example Issuing CA 1,O=Example Corp,C=US`},
		{`idn="CN=Example Issuing CA 1,O=Example Corp,C=US"`, `idn="CN=Example Issuing CA 1,O=Example Corp,C=US"`},
		// Literals found late, or not at all.
		{" rt=0.012", ""},
		{` serial=4F2A9C0D11E3B7A1 dn="`, ` serial=4F2A9C0D11E3B7A1`},
		{` fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819 serial=`, ` fp=0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819 serial`},
	}
	fast, slow := newParser(Default()), newParser(slowFormat(t, Reference))
	// Each edit of a line skimmed, and of a login line read in full once
	// its request is read.
	login := strings.Replace(good, "GET /static/app.js?v=3", "POST /accounts/login/?next=/", 1)
	for _, base := range []string{good, login} {
		for _, e := range edits {
			line := base
			if e.old != "" {
				if !strings.Contains(line, e.old) {
					if base == good {
						t.Fatalf("%q not in the line", e.old)
					}
					continue // an edit of the request
				}
				line = strings.Replace(line, e.old, e.new, 1)
			}
			checkFast(t, fast, slow, []byte(line))
			// Cut short, so that values end within eight bytes of the line's end.
			for cut := len(line) - 1; cut > 0 && cut > len(line)-200; cut -= 7 {
				checkFast(t, fast, slow, []byte(line[:cut]))
			}
		}
	}
}

// TestFastPathFormats checks formats where the fast paths must stand
// aside: literals that start with a byte a value may hold, values with no
// literal after them, JSON escaping.
func TestFastPathFormats(t *testing.T) {
	tests := []struct {
		directive string
		lines     []string
	}{
		{`'$remote_addr:$remote_port [$time_local] $status$body_bytes_sent "$request" a$request_id b${ssl_client_fingerprint}1:$ssl_client_serial'`, []string{
			`10.0.0.1:443 [04/Dec/2026:09:00:01 +0000] 200512 "GET /x HTTP/1.1" aabc b0d5fa11:1A1B`,
			`10.0.0.1:443 [04/Dec/2026:09:00:01 +0000] 200512 "GET /x HTTP/1.1" aabca b0d5f1b0d5f1:1A11B`,
			`::1:443 [04/Dec/2026:09:00:01 +0000] 2005 "GET /x HTTP/1.1" aab b0d5f1:11`,
			`10.0.0.1:4x3 [04/Dec/2026:09:00:01 +0000] 200512 "GET /x HTTP/1.1" a b1:1`,
		}},
		{`'$remote_addr $status:$body_bytes_sent|[$time_local] $request_id\t$request'`, []string{
			"10.0.0.1 200:512|[04/Dec/2026:09:00:01 +0000] abc\tGET /accounts/login/ HTTP/1.1",
			"10.0.0.1 200:5:12|[04/Dec/2026:09:00:01 +0000] a\\x41bc\tGET /x HTTP/1.1",
			"10.0.0.1 200:512|[04/Dec/2026:09:00:01 +0000] a bc\t\tGET /x",
		}},
		{`log_format t escape=json '$remote_addr "$request" [$time_local] rid=$request_id fp=$ssl_client_fingerprint';`, []string{
			`10.0.0.1 "GET /a\" b HTTP/1.1" [04/Dec/2026:09:00:01 +0000] rid=ab\ fp=x fp=abcd`,
			`10.0.0.1 "GET /a HTTP/1.1" [04/Dec/2026:09:00:01 +0000] rid=ab fp=abcd`,
		}},
		{`log_format t escape=none '$remote_addr "$request" [$time_local] rid=$request_id fp=$ssl_client_fingerprint';`, []string{
			`10.0.0.1 "GET /a\ b HTTP/1.1" [04/Dec/2026:09:00:01 +0000] rid=ab\x41 fp=abcd`,
		}},
		{jsonDirective, []string{
			`{"ts":"2026-12-04T09:00:01+00:00","request_id":"a\\b","remote_addr":"10.0.0.1","method":"POST","uri":"/accounts/login/?next=/","status":200,"client_serial":"0A","client_fp_sha1":"AB:CD"}`,
			`{"ts":"2026-12-04T09:00:01+00:00","request_id":"ab","remote_addr":"10.0.0.1","method":"POST","uri":"/accounts/login/?next=/","status":2000,"client_serial":"A","client_fp_sha1":"abcd"}`,
		}},
	}
	for _, tt := range tests {
		fast, slow := newParser(mustCompile(t, tt.directive)), newParser(slowFormat(t, tt.directive))
		for _, l := range tt.lines {
			checkFast(t, fast, slow, []byte(l))
		}
	}
}

func mustCompile(t testing.TB, directive string) *Format {
	t.Helper()
	f, err := Compile(directive)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestRunSpan checks the eight-bytes-at-a-time runs against their byte
// definition.
func TestRunSpan(t *testing.T) {
	for _, r := range []runClass{runDigit, runLower, runUpper, runIP, runPlain} {
		for _, stop := range []byte{' ', '"', '\\', 0, 0xff} {
			for c := 0; c < 256; c++ {
				for at := 0; at < 20; at++ {
					b := []byte("01234567ab.:xyzXYZ\x80\xff")
					if r != runPlain {
						b = bytes.Repeat([]byte("0"), 20)
						b[(at+5)%20] = '5'
					}
					b[at] = byte(c)
					want := 0
					for want < len(b) && r.in(b[want], stop) {
						want++
					}
					if got := r.span(b, stop); got != want {
						t.Fatalf("class %d stop %q: span(%q) = %d, want %d", r, stop, b, got, want)
					}
				}
			}
		}
	}
}

// FuzzFastPaths checks that for any line the matcher with its fast paths
// agrees with the general one.
func FuzzFastPaths(f *testing.F) {
	seedLines(f, "reference.log")
	fast, slow := newParser(Default()), newParser(slowFormat(f, Reference))
	f.Fuzz(func(t *testing.T, line []byte) {
		checkFast(t, fast, slow, line)
	})
}

// TestPlan checks which segments the fast paths take: those whose literal
// cannot start inside a valid value.
func TestPlan(t *testing.T) {
	f := mustCompile(t, `'$remote_addr:$remote_port [$time_local] $status $body_bytes_sent "$request" a$request_id b${ssl_client_fingerprint}1:$ssl_client_serial x$remote_user y"$ssl_client_s_dn" $ssl_client_i_dn,$ssl_client_s_dn_legacy|'`)
	want := map[string]scanKind{
		"remote_addr": scanIndex, "remote_port": scanClass, "time_local": scanTime, "status": scanClass,
		"body_bytes_sent": scanClass, "request": scanRequest, "request_id": scanClass,
		"ssl_client_fingerprint": scanIndex, "ssl_client_serial": scanClass, "remote_user": scanShort,
		"ssl_client_s_dn": scanDN, "ssl_client_i_dn": scanIndex, "ssl_client_s_dn_legacy": scanIndex,
	}
	for _, s := range f.allSegs() {
		if s.scan != want[s.name] {
			t.Errorf("$%s: scan %d, want %d", s.name, s.scan, want[s.name])
		}
	}
	// With JSON escaping, a literal after a backslash does not count: only
	// indexLit knows.
	f = mustCompile(t, `log_format t escape=json '$remote_addr [$time_local] "$request" $status$body_bytes_sent';`)
	want = map[string]scanKind{"remote_addr": scanIndex, "time_local": scanIndex, "request": scanIndex, "status": scanFixed, "body_bytes_sent": scanEnd}
	for _, s := range f.allSegs() {
		if s.scan != want[s.name] {
			t.Errorf("escape=json $%s: scan %d, want %d", s.name, s.scan, want[s.name])
		}
	}
}

// FuzzFastFormats is FuzzFastPaths for any format and line.
func FuzzFastFormats(f *testing.F) {
	f.Add(Reference, []byte(`203.0.113.7 - - [04/Dec/2026:09:00:01 +0000] "GET /a?b HTTP/1.1" 200 5 "-" "ua" rid=ab verify=SUCCESS fp=0d5f serial=4F dn="CN=a,O=b" idn="CN=c" rt=0.1`))
	f.Add(`'$remote_addr:$remote_port [$time_local] $status$body_bytes_sent "$request" a$request_id b${ssl_client_fingerprint}1:$ssl_client_serial'`,
		[]byte(`10.0.0.1:443 [04/Dec/2026:09:00:01 +0000] 200512 "GET /x HTTP/1.1" aabc b0d5fa11:1A1B`))
	f.Add(`'$msec $ssl_client_serial "$ssl_client_i_dn" $request_id $request_method $request_uri'`, []byte(`1764838801.123 0A11 "CN=CA,O=b" r1 POST /accounts/login/?next=/`))
	f.Add(`log_format t escape=json '$remote_addr "$request" [$time_local] rid=$request_id';`, []byte(`10.0.0.1 "GET /a\" b HTTP/1.1" [04/Dec/2026:09:00:01 +0000] rid=ab`))
	f.Add(jsonDirective, []byte(`{"ts":"2026-12-04T09:00:01+00:00","request_id":"ab","remote_addr":"10.0.0.1","method":"POST","uri":"/a","status":200,"client_s_dn":"CN=a","client_serial":"0A","client_fp_sha1":"AB:CD"}`))
	f.Fuzz(func(t *testing.T, directive string, line []byte) {
		fm, err := Compile(directive)
		if err != nil {
			return
		}
		fast, slow := newParser(fm), newParser(slowFormat(t, directive))
		checkFast(t, fast, slow, line)
		checkFast(t, fast, slow, line) // with what the parsers remember of it
	})
}

// TestNearLit checks nearLit against indexLit: literals of one to ten
// bytes, found early, late, after false starts, or not at all, in values
// shorter and longer than the part it reads eight bytes at a time.
func TestNearLit(t *testing.T) {
	for _, lit := range []string{" ", `" `, " - ", `" rid=`, "] \"x", "\x01\x02", " verify=x"} {
		f := mustCompile(t, "'$remote_addr"+lit+"$status [$time_local]'")
		s := &f.text.segs[0]
		if string(s.lit) != lit {
			t.Fatalf("literal %q, want %q", s.lit, lit)
		}
		for n := 0; n < 48; n++ {
			for at := -1; at < n; at++ {
				for _, noise := range []string{"a", lit[:1], lit[:1] + string(lit[0]^1)} {
					b := bytes.Repeat([]byte{'a'}, n)
					for i := 1; i < n; i += 5 {
						copy(b[i:], noise) // a false start, and a byte a borrow marks
					}
					if at >= 0 {
						b = append(b[:at:at], append([]byte(lit), b[at:]...)...)
					}
					if got, want := nearLit(b, s), indexLit(b, s, false, false); got != want {
						t.Fatalf("literal %q in %q: nearLit %d, indexLit %d", lit, b, got, want)
					}
				}
			}
		}
	}
}
