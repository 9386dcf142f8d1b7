package traefik

import (
	"bytes"
	"net/url"
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

// skimLine is a Traefik line as Traefik writes it: keys in order, a
// non-login request.
const skimLine = `{"ClientAddr":"203.0.113.7:52344","ClientHost":"203.0.113.7","ClientPort":"52344","ClientUsername":"-","DownstreamContentSize":5120,"DownstreamStatus":200,"Duration":12345678,"OriginContentSize":5120,"OriginDuration":12000000,"OriginStatus":200,"Overhead":345678,"RequestAddr":"app.example.org","RequestContentSize":0,"RequestCount":42,"RequestHost":"app.example.org","RequestMethod":"GET","RequestPath":"/static/app.js?v=3","RequestPort":"-","RequestProtocol":"HTTP/2.0","RequestScheme":"https","RetryAttempts":0,"RouterName":"app@file","ServiceAddr":"10.1.2.3:8000","ServiceName":"app@file","ServiceURL":"http://10.1.2.3:8000","StartLocal":"2026-12-04T10:00:01.123456789+01:00","StartUTC":"2026-12-04T09:00:01.123456789Z","TLSCipher":"TLS_AES_128_GCM_SHA256","TLSClientSubject":"CN=svc-batch-01,OU=Batch,O=Example Corp,C=US","TLSVersion":"1.3","entryPointName":"websecure","level":"info","msg":"","request_User-Agent":"Mozilla/5.0 (X11; Linux x86_64)","request_X-Request-Id":"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a","time":"2026-12-04T09:00:01Z"}`

func TestSkimAgreesWithParse(t *testing.T) {
	f, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	info := url.QueryEscape(`Subject="C=ES,CN=x";Issuer="CN=CA";SerialNumber="703710"`)
	// The line up to its method and path, and with a login's first.
	const request = `"RequestMethod":"GET","RequestPath":"/static/app.js?v=3",`
	upToRequest := skimLine[:strings.Index(skimLine, request)+len(request)]
	pathFirst := `{"RequestPath":"/accounts/login/","RequestMethod":"POST",` + strings.TrimSuffix(upToRequest[1:], request)
	runSkimCases(t, f, skimLine, []skimCase{
		{name: "non-login line"},
		{name: "login line", old: `"GET","RequestPath":"/static/app.js?v=3"`, new: `"POST","RequestPath":"/accounts/login/?next=/"`},
		{name: "path first", old: upToRequest, new: pathFirst},
		{name: "no method", old: `"RequestMethod":"GET",`, new: ``},
		{name: "null method", old: `"RequestMethod":"GET"`, new: `"RequestMethod":null`},
		{name: "escaped values", old: `"Mozilla/5.0 (X11; Linux x86_64)"`, new: `"Mozilla/5.0 \"q\" \u00e9"`},
		{name: "escaped path", old: `"/static/app.js?v=3"`, new: `"/accounts/\u006cogin/"`},
		{name: "no request id", old: `"request_X-Request-Id":"6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a",`, new: ``},
		{name: "StartLocal only", old: `"StartUTC":"2026-12-04T09:00:01.123456789Z",`, new: ``},
		{name: "cert info", old: `"request_User-Agent"`, new: `"request_X-Forwarded-Tls-Client-Cert-Info":"` + info + `","request_User-Agent"`},
		{name: "cert info for a login", old: `"GET","RequestPath":"/static/app.js?v=3"`, new: `"POST","RequestPath":"/accounts/login/","request_X-Forwarded-Tls-Client-Cert-Info":"` + info + `"`},
		{name: "bad cert info", old: `"request_User-Agent"`, new: `"request_X-Forwarded-Tls-Client-Cert-Info":"Subject%3Dx%ZZ","request_User-Agent"`, reject: true},
		{name: "login method and path twice", old: `"request_User-Agent"`, new: `"RequestMethod":"POST","RequestPath":"/accounts/login/","request_User-Agent"`, reject: true},
		{name: "path twice, null", old: `"request_User-Agent"`, new: `"RequestPath":null,"request_User-Agent"`, reject: true},
		{name: "bad subject after the path", old: `"CN=svc-batch-01,OU=Batch`, new: `"CN=svc-batch-01,OU`, reject: true},
		{name: "bad subject overridden by a later one", old: `{"ClientAddr"`, new: `{"TLSClientSubject":"CN","ClientAddr"`},
		{name: "bad escape in a dropped value", old: `"Mozilla/5.0 (X11; Linux x86_64)"`, new: `"Mozilla\q"`, reject: true},
		{name: "bad JSON in a dropped value", old: `"DownstreamStatus":200`, new: `"DownstreamStatus":20x`, reject: true},
		{name: "bad JSON after the path", old: `"ServiceURL":"http://10.1.2.3:8000"`, new: `"ServiceURL":[1,`, reject: true},
		{name: "no time", old: `"StartLocal":"2026-12-04T10:00:01.123456789+01:00","StartUTC":"2026-12-04T09:00:01.123456789Z",`, new: ``, reject: true},
		{name: "bad time", old: `2026-12-04T09:00:01.123456789Z`, new: `2026-12-04X09`, reject: true},
		{name: "truncated", old: `"}`, new: `"`, reject: true},
	})
}

// TestSkimTestdata checks the committed log, each line twice so that the
// parsers' memories are exercised.
func TestSkimTestdata(t *testing.T) {
	f, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/access.log")
	if err != nil {
		t.Fatal(err)
	}
	skim, full := f.NewParser(), f.NewParser()
	for range 2 {
		for _, l := range bytes.Split(b, []byte("\n")) {
			if len(l) > 0 && l[0] != '#' {
				checkSkim(t, skim, full, l)
			}
		}
	}
}

// FuzzSkim checks that for any line Skim and Parse agree (see checkSkim).
func FuzzSkim(f *testing.F) {
	f.Add([]byte(skimLine))
	f.Add([]byte(strings.Replace(skimLine, `"GET","RequestPath":"/static/app.js?v=3"`, `"POST","RequestPath":"/accounts/login/"`, 1)))
	f.Add([]byte(strings.Replace(skimLine, `{"ClientAddr"`, `{"RequestPath":"/accounts/login/","RequestMethod":"POST","ClientAddr"`, 1)))
	f.Add([]byte(`{"StartUTC":"2026-12-04T09:00:01Z","RequestMethod":"GET","RequestPath":"/","request_X-Forwarded-Tls-Client-Cert-Info":"Subject%3D%22C%3DES%2CCN%3Dx%22%3BSerialNumber%3D%2212%22"}`))
	fm, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	skim, full := fm.NewParser(), fm.NewParser()
	f.Fuzz(func(t *testing.T, line []byte) {
		checkSkim(t, skim, full, line)
	})
}

// benchRead reads line with read, reporting lines/s.
func benchRead(b *testing.B, line string, read func([]byte, *event.Record) error) {
	l := []byte(line)
	var r event.Record
	if err := read(l, &r); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(l)))
	b.ReportAllocs()
	for b.Loop() {
		if err := read(l, &r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func skimmer(b testing.TB) ingest.Skimmer {
	f, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	return f.NewParser().(ingest.Skimmer)
}

// BenchmarkSkimLine skims a full Traefik line of a non-login request;
// compare with BenchmarkParseLine.
func BenchmarkSkimLine(b *testing.B) {
	p := skimmer(b)
	benchRead(b, skimLine, func(l []byte, r *event.Record) error {
		_, err := p.Skim(l, r, loginPOST)
		return err
	})
}

// BenchmarkParseLine parses the line BenchmarkSkimLine skims.
func BenchmarkParseLine(b *testing.B) { benchRead(b, skimLine, skimmer(b).Parse) }

func TestSkimDoesNotAllocate(t *testing.T) {
	p := skimmer(t)
	var r event.Record
	line := []byte(skimLine)
	if _, err := p.Skim(line, &r, loginPOST); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, func() { p.Skim(line, &r, loginPOST) }); n != 0 {
		t.Errorf("%v allocations per line", n)
	}
}
