package alb

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
	"github.com/spraywatch/spraywatch/ingest/timestamp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func ts(t testing.TB, s string) int64 {
	n, err := timestamp.ParseRFC3339([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const (
	connLine   = `2026-12-04T09:00:00.100000Z 203.0.113.7 52344 443 TLSv1.3 TLS_AES_128_GCM_SHA256 43 "CN=svc-batch-01,O=Example Corp,C=US" NotBefore=2026-01-01T00:00:00Z;NotAfter=2027-01-01T00:00:00Z 4F2A9C0D11E3B7A1 Success TID_dc57cebed65b444ebc8177bb698fe166`
	accessLine = `https 2026-12-04T09:00:01.123456Z app/my-lb/50dc6c495c0c9188 203.0.113.7:52344 10.0.0.1:8000 0.001 0.048 0.000 200 200 512 4312 "POST https://auth.example.com:443/accounts/login/?next=/admin/ HTTP/1.1" "python-requests/2.32.3" TLS_AES_128_GCM_SHA256 TLSv1.3 arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/django/73e2d6bc24d8a067 "Root=1-6751a0b1-1d84f3d73c47ec4e58577259" "auth.example.com" "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2026-12-04T09:00:01.074000Z "forward" "-" "-" "10.0.0.1:8000" "200" "-" "-" TID_dc57cebed65b444ebc8177bb698fe166`
)

func check(t *testing.T, r *event.Record, want map[event.Field]string) {
	t.Helper()
	for f := range event.NumFields {
		if got, w := string(r.Get(event.Field(f))), want[event.Field(f)]; got != w {
			t.Errorf("%s = %q, want %q", event.Field(f), got, w)
		}
	}
}

func TestConn(t *testing.T) {
	tests := []struct {
		name, line, time string
		want             map[event.Field]string
		err              string
	}{
		{
			name: "success", line: connLine, time: "2026-12-04T09:00:00.1Z",
			want: map[event.Field]string{event.SourceIP: "203.0.113.7", event.SourcePort: "52344", event.TLSSubject: "CN=svc-batch-01,O=Example Corp,C=US", event.TLSSerial: "4F2A9C0D11E3B7A1", event.TLSVerify: "SUCCESS", event.RequestID: "TID_dc57cebed65b444ebc8177bb698fe166"},
		},
		{
			name: "unicode DN, IPv6, colon serial",
			line: `2026-12-04T09:00:00.2Z 2001:db8::7 40022 443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 12 "CN=Jos\C3\A9 Garc\C3\ADa,OU=devices,C=ES" NotBefore=2026-02-01T00:00:00Z;NotAfter=2027-02-01T00:00:00Z 00:0a:bc:de Success TID_0a0b0c0d0e0f10111213141516171819`,
			time: "2026-12-04T09:00:00.2Z",
			want: map[event.Field]string{event.SourceIP: "2001:db8::7", event.SourcePort: "40022", event.TLSSubject: "CN=José García,OU=devices,C=ES", event.TLSSerial: "ABCDE", event.TLSVerify: "SUCCESS", event.RequestID: "TID_0a0b0c0d0e0f10111213141516171819"},
		},
		{
			name: "escaped quote in subject, failed verify",
			line: `2026-12-04T09:00:00.3Z 198.51.100.9 61000 443 TLSv1.3 TLS_AES_256_GCM_SHA384 9 "CN=gw\, shared,O=Example Corp\"s" - 1234 Failed:ClientCertExpired TID_ffffffffffffffffffffffffffffffff`,
			time: "2026-12-04T09:00:00.3Z",
			want: map[event.Field]string{event.SourceIP: "198.51.100.9", event.SourcePort: "61000", event.TLSSubject: `CN=gw\, shared,O=Example Corp\"s`, event.TLSSerial: "1234", event.TLSVerify: "FAILED:ClientCertExpired", event.RequestID: "TID_ffffffffffffffffffffffffffffffff"},
		},
		{
			name: "no certificate",
			line: `2026-12-04T09:00:00.5Z 192.0.2.45 50001 443 TLSv1.3 TLS_AES_128_GCM_SHA256 - "-" - - Success TID_22222222222222222222222222222222`,
			time: "2026-12-04T09:00:00.5Z",
			want: map[event.Field]string{event.SourceIP: "192.0.2.45", event.SourcePort: "50001", event.TLSVerify: "SUCCESS", event.RequestID: "TID_22222222222222222222222222222222"},
		},
		{name: "unquoted subject", line: `2026-12-04T09:00:00.6Z 192.0.2.46 50002 443 TLSv1.3 X 5 CN=x - - Success TID_3`, err: "column 57: expected \"leaf_client_cert_subject\" in quotes"},
		{name: "truncated", line: `2026-12-04T09:00:00.6Z 192.0.2.46 50002 443 TLSv1.3 X 5 "CN=x" - -`, err: "line ends before tls_verify_status"},
		{name: "bad time", line: `04/Dec/2026 192.0.2.46`, err: "column 1: reading timestamp"},
		{name: "bad verify", line: `2026-12-04T09:00:00.6Z 192.0.2.46 50002 443 TLSv1.3 X 5 "CN=x" - - Maybe TID_3`, err: "expected tls_verify_status Success or Failed"},
		{name: "bad serial", line: `2026-12-04T09:00:00.6Z 192.0.2.46 50002 443 TLSv1.3 X 5 "CN=x" - 12G4 Success TID_3`, err: "reading leaf_client_cert_serial_number"},
		{name: "unclosed quote", line: `2026-12-04T09:00:00.6Z 192.0.2.46 50002 443 TLSv1.3 X 5 "CN=x - - Success TID_3`, err: "expected a closing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r event.Record
			err := ConnFormat{}.NewParser().Parse([]byte(tt.line), &r)
			if tt.err != "" {
				var se *ingest.SyntaxError
				if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want a SyntaxError containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Time != ts(t, tt.time) {
				t.Errorf("time = %d", r.Time)
			}
			check(t, &r, tt.want)
		})
	}
}

func TestAccess(t *testing.T) {
	tests := []struct {
		name, line, time, tid string
		want                  map[event.Field]string
		err                   string
	}{
		{
			name: "https", line: accessLine, time: "2026-12-04T09:00:01.123456Z", tid: "TID_dc57cebed65b444ebc8177bb698fe166",
			want: map[event.Field]string{event.SourceIP: "203.0.113.7", event.SourcePort: "52344", event.Status: "200", event.Method: "POST", event.URLPath: "/accounts/login/", event.UserAgent: "python-requests/2.32.3", event.RequestID: "1-6751a0b1-1d84f3d73c47ec4e58577259"},
		},
		{
			name: "IPv6 in brackets, Self before Root, escaped quote in user agent",
			line: `h2 2026-12-04T09:00:02Z app/my-lb/1 [2001:db8::7]:40022 10.0.0.2:8000 0.000 0.031 0.000 401 401 410 2211 "POST https://auth.example.com:443/api/token HTTP/2.0" "Mozilla/5.0 \"q\" ü" c p arn "Self=1-6751a0b2-aaaaaaaaaaaaaaaaaaaaaaaa;Root=1-6751a0b2-0123456789abcdef01234567;CalledFrom=edge" "d" "-" 1 2026-12-04T09:00:01.969000Z "forward" "-" "-" "10.0.0.2:8000" "401" "-" "-" TID_0a0b0c0d0e0f10111213141516171819`,
			time: "2026-12-04T09:00:02Z", tid: "TID_0a0b0c0d0e0f10111213141516171819",
			want: map[event.Field]string{event.SourceIP: "2001:db8::7", event.SourcePort: "40022", event.Status: "401", event.Method: "POST", event.URLPath: "/api/token", event.UserAgent: `Mozilla/5.0 \"q\" ü`, event.RequestID: "1-6751a0b2-aaaaaaaaaaaaaaaaaaaaaaaa"},
		},
		{
			name: "bare IPv6 with port, no trace id, log from before conn_trace_id",
			line: `https 2026-12-04T09:00:03Z app/my-lb/1 2001:db8::8:443 - -1 -1 -1 460 - 0 0 "GET https://auth.example.com:443/ HTTP/1.1" "-" c p - "-" "d" "-" 0 2026-12-04T09:00:03Z "-" "-" "-" "-" "-" "-" "-"`,
			time: "2026-12-04T09:00:03Z",
			want: map[event.Field]string{event.SourceIP: "2001:db8::8", event.SourcePort: "443", event.Status: "460", event.Method: "GET", event.URLPath: "/"},
		},
		{
			name: "malformed request line",
			line: `http 2026-12-04T09:00:06Z app/my-lb/1 192.0.2.100:50101 - -1 -1 -1 400 - 0 272 "- http://auth.example.com:80- -" "-" - - - "-" "-" "-" - 2026-12-04T09:00:06Z "-" "-" "-" "-" "-" "-" "-" -`,
			time: "2026-12-04T09:00:06Z",
			want: map[event.Field]string{event.SourceIP: "192.0.2.100", event.SourcePort: "50101", event.Status: "400"},
		},
		{name: "bad client", line: `https 2026-12-04T09:00:06Z app/my-lb/1 192.0.2.100 -`, err: "column 40: expected client:port"},
		{name: "truncated", line: `https 2026-12-04T09:00:06Z app/my-lb/1 192.0.2.100:1 - 0 0 0 200 200 1 1 "GET`, err: "expected a closing"},
		{name: "empty client field", line: `https 2026-12-04T09:00:06Z app/my-lb/1  - 0`, err: "column 40: expected client:port"},
		{name: "short", line: `https 2026-12-04T09:00:06Z`, err: "line ends before elb"},
		{name: "junk after quote", line: `https 2026-12-04T09:00:06Z e 192.0.2.100:1 - 0 0 0 200 200 1 1 "GET / HTTP/1.1"x`, err: "expected ' ' after a quoted field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r event.Record
			p := AccessFormat{}.NewParser().(*AccessParser)
			err := p.Parse([]byte(tt.line), &r)
			if tt.err != "" {
				var se *ingest.SyntaxError
				if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want a SyntaxError containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Time != ts(t, tt.time) {
				t.Errorf("time = %d", r.Time)
			}
			if string(p.ConnTraceID()) != tt.tid {
				t.Errorf("conn_trace_id = %q, want %q", p.ConnTraceID(), tt.tid)
			}
			check(t, &r, tt.want)
		})
	}
}

func TestTraceID(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// No trace id from the client: the ALB's Root.
		{"Root=1-5759e988-bd862e3fe1be46a994272793", "1-5759e988-bd862e3fe1be46a994272793"},
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", "1-5759e988-bd862e3fe1be46a994272793"},
		// The client sent a Root: the ALB's Self, whatever the Root.
		{"Self=1-67891234-12456789abcdef012345678;Root=1-67891233-abcdef0123;x=y", "1-67891234-12456789abcdef012345678"},
		{"Self=1-67891234-000000000000000000000001;Root=1-00000000-000000000000000000000000;CalledFrom=app", "1-67891234-000000000000000000000001"},
		{"Root=1-00000000-000000000000000000000000;Self=1-67891234-000000000000000000000002", "1-67891234-000000000000000000000002"},
		// Several Self fields: which is the ALB's is not known.
		{"Self=1-67891234-000000000000000000000001;Self=1-1-forged;Root=1-0-0", ""},
		{"Self=;Self=1-67891234-000000000000000000000001;Root=1-0-0", ""},
		{"-", ""},
		{"Root=", ""},
		{"Roots=1", ""},
		{"root=1-0-0", ""},
	} {
		if got := string(TraceID([]byte(tc.in))); got != tc.want {
			t.Errorf("TraceID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestTraceIDFields reads X-Amzn-Trace-Id headers as the Django package
// does: testdata/trace_id_fields.json is also the table of its
// ALBTraceIDFieldTests (contrib/django), and of the receiver in docs/alb.md.
func TestTraceIDFields(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "trace_id_fields.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Header string `json:"header"`
		ID     string `json:"id"`
		Selves int    `json:"selves"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, tc := range cases {
		id, selves := traceID([]byte(tc.Header))
		if string(id) != tc.ID || selves != tc.Selves {
			t.Errorf("traceID(%q) = %q, %d Self; want %q, %d", tc.Header, id, selves, tc.ID, tc.Selves)
		}
	}
}

// gz writes testdata/name gzip-compressed into dir, as AWS delivers it.
func gz(t testing.TB, dir, name string) string {
	in, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := gzip.NewWriter(f)
	w.Write(in)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func dump(t testing.TB, s *Source) []byte {
	var out bytes.Buffer
	for {
		var r event.Record
		err := s.Next(context.Background(), &r)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "time=%d", r.Time)
		for f := range event.NumFields {
			if v := r.Get(event.Field(f)); len(v) > 0 {
				fmt.Fprintf(&out, " %s=%q", event.Field(f), v)
			}
		}
		out.WriteByte('\n')
	}
	st, cst := s.Stats(), s.ConnStats()
	fmt.Fprintf(&out, "access: lines=%d parsed=%d rejected=%d\n", st.Lines.Load(), st.Parsed.Load(), st.Rejected.Load())
	for _, e := range st.Errors() {
		fmt.Fprintf(&out, "  %s\n", strings.TrimPrefix(e.Error(), filepath.Dir(e.(*ingest.SyntaxError).Source)+"/"))
	}
	fmt.Fprintf(&out, "connection: lines=%d parsed=%d rejected=%d\n", cst.Lines.Load(), cst.Parsed.Load(), cst.Rejected.Load())
	for _, e := range cst.Errors() {
		fmt.Fprintf(&out, "  %s\n", strings.TrimPrefix(e.Error(), filepath.Dir(e.(*ingest.SyntaxError).Source)+"/"))
	}
	fmt.Fprintf(&out, "join: %+v\n", s.JoinStats())
	return out.Bytes()
}

// TestSourceGolden joins the gzipped sample logs and compares the records
// and counters with testdata/joined.golden.
func TestSourceGolden(t *testing.T) {
	dir := t.TempDir()
	s, err := NewSource(SourceConfig{ConnPaths: []string{gz(t, dir, "conn_log.log")}, AccessPaths: []string{gz(t, dir, "access.log")}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := dump(t, s)
	skimtest.CheckGolden(t, filepath.Join("testdata", "joined.golden"), got, *update)
}

func TestSourceLeadAndEviction(t *testing.T) {
	dir := t.TempDir()
	conn, access := gz(t, dir, "conn_log.log"), gz(t, dir, "access.log")
	// With a one-second lead the connection logged at 09:10 is not read
	// before the access record of 09:05:30.
	s, err := NewSource(SourceConfig{ConnPaths: []string{conn}, AccessPaths: []string{access}, Lead: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	dump(t, s)
	s.Close()
	if js := s.JoinStats(); js.Joined != 4 || js.Unjoined != 2 || js.NoTrace != 2 {
		t.Errorf("lead 1s: %+v, want 4 joined, 2 unjoined, 2 without trace id", js)
	}
	// A cache of one connection keeps only the last one read.
	s, err = NewSource(SourceConfig{ConnPaths: []string{conn}, AccessPaths: []string{access}, MaxConnections: 1})
	if err != nil {
		t.Fatal(err)
	}
	dump(t, s)
	s.Close()
	if js := s.JoinStats(); js.Evicted == 0 || js.Joined >= 4 {
		t.Errorf("cache of 1: %+v, want evictions and fewer joins", js)
	}
	// No connection logs at all: everything unjoined, nothing lost.
	s, err = NewSource(SourceConfig{AccessPaths: []string{access}})
	if err != nil {
		t.Fatal(err)
	}
	dump(t, s)
	s.Close()
	if js := s.JoinStats(); js.Joined != 0 || js.Unjoined != 6 || s.Stats().Parsed.Load() != 8 {
		t.Errorf("no connection logs: %+v, %d parsed", js, s.Stats().Parsed.Load())
	}
	if _, err := NewSource(SourceConfig{ConnPaths: []string{conn}}); err == nil {
		t.Error("NewSource without access logs succeeded")
	}
	// Strict: the bad connection line ends the source with its position.
	s, err = NewSource(SourceConfig{ConnPaths: []string{conn}, AccessPaths: []string{access}, Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var r event.Record
	for err == nil {
		err = s.Next(context.Background(), &r)
	}
	if !strings.Contains(err.Error(), "conn_log.log.gz:6:") {
		t.Errorf("strict: %v, want the connection log's line 6", err)
	}
}

func TestNoAllocs(t *testing.T) {
	var r event.Record
	ap, cp := AccessFormat{}.NewParser(), ConnFormat{}.NewParser()
	al, cl := []byte(accessLine), []byte(connLine)
	cp.Parse(cl, &r)
	for name, f := range map[string]func(){
		"access":     func() { r.Reset(); ap.Parse(al, &r) },
		"connection": func() { r.Reset(); cp.Parse(cl, &r) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocs per line", name, n)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"conn_log.log", "access.log"} {
		in, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range bytes.Split(in, []byte("\n")) {
			f.Add(string(l))
		}
	}
	f.Add(`a 2026-12-04T09:00:06Z e [::1`)
	f.Add(`a 2026-12-04T09:00:06Z e  x`)
	f.Add(`a 2026-12-04T09:00:06Z e [::1]:`)
	f.Add(`2026-12-04T09:00:06Z a b c d e f "\`)
	ap, cp := AccessFormat{}.NewParser(), ConnFormat{}.NewParser()
	f.Fuzz(func(t *testing.T, line string) {
		var r event.Record
		ap.Parse([]byte(line), &r)
		r.Reset()
		cp.Parse([]byte(line), &r)
	})
}

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name string
		p    ingest.Parser
		line string
	}{
		{"access", AccessFormat{}.NewParser(), accessLine},
		{"connection", ConnFormat{}.NewParser(), connLine},
	} {
		b.Run(bc.name, func(b *testing.B) {
			line := []byte(bc.line)
			var r event.Record
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for b.Loop() {
				r.Reset()
				bc.p.Parse(line, &r)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// BenchmarkSource joins 100,000 access lines, each on its own connection
// (the worst case: one cached certificate per access line), read from plain
// and from gzipped files.
func BenchmarkSource(b *testing.B) {
	dir := b.TempDir()
	const n = 100_000
	var cb, ab bytes.Buffer
	base := ts(b, "2026-12-04T09:00:00Z")
	for i := range n {
		t := time.Unix(0, base+int64(i)*int64(time.Millisecond)).UTC().Format("2006-01-02T15:04:05.000000Z")
		tid := fmt.Sprintf("TID_%032x", i)
		fmt.Fprintf(&cb, "%s 203.0.113.%d %d 443 TLSv1.3 TLS_AES_128_GCM_SHA256 4 \"CN=dev-%d,O=Example Corp,C=US\" NotBefore=2026-01-01T00:00:00Z;NotAfter=2027-01-01T00:00:00Z %X Success %s\n", t, i%250, 1024+i%60000, i%5000, i, tid)
		fmt.Fprintf(&ab, "https %s app/my-lb/1 203.0.113.%d:%d 10.0.0.1:8000 0.001 0.048 0.000 200 200 512 4312 \"POST https://auth.example.com:443/accounts/login/ HTTP/1.1\" \"python-requests/2.32.3\" c TLSv1.3 arn \"Root=1-6751a0b1-%024x\" \"auth.example.com\" \"-\" 1 %s \"forward\" \"-\" \"-\" \"10.0.0.1:8000\" \"200\" \"-\" \"-\" %s\n", t, i%250, 1024+i%60000, i, t, tid)
	}
	write := func(name string, data []byte, compress bool) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		if compress {
			w := gzip.NewWriter(f)
			w.Write(data)
			w.Close()
		} else {
			f.Write(data)
		}
		f.Close()
		return p
	}
	for _, compress := range []bool{false, true} {
		name := "plain"
		if compress {
			name = "gzip"
		}
		conn := write(name+"-conn.log", cb.Bytes(), compress)
		access := write(name+"-access.log", ab.Bytes(), compress)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var lines int
			for b.Loop() {
				s, err := NewSource(SourceConfig{ConnPaths: []string{conn}, AccessPaths: []string{access}})
				if err != nil {
					b.Fatal(err)
				}
				var r event.Record
				for s.Next(context.Background(), &r) == nil {
					lines++
				}
				if js := s.JoinStats(); js.Joined != n {
					b.Fatalf("joined %d of %d", js.Joined, n)
				}
				s.Close()
			}
			b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "access-lines/s")
		})
	}
}

// TestSeveralSelfCounted: a client that sends Self fields of its own
// makes the trace_id hold several, so its request gets no request id; the
// parser says so and the source counts those requests, so that the
// evasion shows (their app lines become app_only).
func TestSeveralSelfCounted(t *testing.T) {
	line := func(trace string) string {
		return `h2 2026-12-04T09:00:02Z app/my-lb/1 [2001:db8::7]:40022 10.0.0.2:8000 0.000 0.031 0.000 401 401 410 2211 "POST https://auth.example.com:443/api/token HTTP/2.0" "ua" c p arn "` +
			trace + `" "d" "-" 1 2026-12-04T09:00:01.969000Z "forward" "-" "-" "10.0.0.2:8000" "401" "-" "-" TID_0a0b0c0d0e0f10111213141516171819`
	}
	lines := []struct {
		trace   string
		several bool
	}{
		{"Self=1-67891234-000000000000000000000001;Self=1-1-forged;Root=1-0-0", true},
		// A client's Self after a space (as the Django package reads it).
		{"Root=1-0-0; Self=1-1-forged;Self=1-67891234-000000000000000000000001", true},
		{"Self=1-67891234-000000000000000000000001;Root=1-0-0;x=Self=y", false},
		{"Root=1-5759e988-bd862e3fe1be46a994272793", false},
	}
	p := AccessFormat{}.NewParser().(*AccessParser)
	var all []string
	for _, l := range lines {
		var r event.Record
		if err := p.Parse([]byte(line(l.trace)), &r); err != nil {
			t.Fatal(err)
		}
		if p.SeveralSelf() != l.several || l.several && r.Get(event.RequestID) != nil {
			t.Errorf("%s: SeveralSelf %v, request id %q", l.trace, p.SeveralSelf(), r.Get(event.RequestID))
		}
		all = append(all, line(l.trace))
	}
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte(strings.Join(all, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := NewSource(SourceConfig{AccessPaths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	dump(t, s)
	s.Close()
	if n := s.Stats().Flagged.Load(ingest.FlagSeveralSelf); n != 2 {
		t.Errorf("SeveralSelf = %d, want 2", n)
	}
}
