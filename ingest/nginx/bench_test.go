package nginx

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// jsonDirective is the escape=json variant of the reference format used in
// tests and benchmarks (testdata/json.conf, the format of testdata/json.log).
var jsonDirective = func() string {
	b, err := os.ReadFile("testdata/json.conf")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// benchLines builds n lines of a day of traffic: 50 certificates, some
// subjects needing escapes, several source addresses.
func benchLines(n int, json bool) [][]byte {
	lines := make([][]byte, n)
	for i := range lines {
		c := i % 50
		subject := fmt.Sprintf("CN=user%02d,OU=Devices,O=Example Corp,C=US", c)
		if c%10 == 0 {
			subject = fmt.Sprintf(`CN=Jos\C3\A9 Garc\C3\ADa %02d,OU=Devices,O=Example\, Inc,C=ES`, c)
		}
		issuer := "CN=Example Issuing CA 1,O=Example Corp,C=US"
		fp := fmt.Sprintf("%040x", 0xabcdef0123+c)
		serial := fmt.Sprintf("%X", 0x4F2A9C0D11E3B7A1+uint64(c))
		rid := fmt.Sprintf("%032x", i*7919)
		ip := fmt.Sprintf("10.%d.%d.%d", c, i%251, i%239)
		if json {
			subject = jsonEsc(subject)
			lines[i] = fmt.Appendf(nil, `{"ts":"2026-12-04T09:%02d:%02d+00:00","request_id":"%s","remote_addr":"%s","method":"POST","uri":"/accounts/login/?next=/","status":200,"ssl_protocol":"TLSv1.3","client_verify":"SUCCESS","client_s_dn":"%s","client_i_dn":"%s","client_serial":"%s","client_fp_sha1":"%s","client_v_end":"Jun  1 12:00:00 2027 GMT","ua":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"}`,
				i/60%60, i%60, rid, ip, subject, issuer, serial, fp)
			continue
		}
		subject = textEsc(subject)
		lines[i] = fmt.Appendf(nil, `%s - - [04/Dec/2026:09:%02d:%02d +0000] "POST /accounts/login/?next=/ HTTP/1.1" 200 512 "https://app.example.com/accounts/login/" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36" rid=%s verify=SUCCESS fp=%s serial=%s dn="%s" idn="%s" rt=0.012`,
			ip, i/60%60, i%60, rid, fp, serial, subject, issuer)
	}
	return lines
}

// textEsc escapes like nginx's default log escaping.
func textEsc(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 32 || c > 126 {
			b = fmt.Appendf(b, `\x%02X`, c)
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

// jsonEsc escapes like nginx's escape=json.
func jsonEsc(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 32:
			b = fmt.Appendf(b, `\u%04x`, c)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func benchParse(b *testing.B, directive string, json bool) {
	f, err := Compile(directive)
	if err != nil {
		b.Fatal(err)
	}
	lines := benchLines(1000, json)
	p := f.NewParser()
	var r event.Record
	var n int64
	for _, l := range lines {
		n += int64(len(l))
	}
	b.SetBytes(n / int64(len(lines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := p.Parse(lines[i], &r); err != nil {
			b.Fatal(err)
		}
		i++
		if i == len(lines) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkParseReference(b *testing.B) { benchParse(b, Reference, false) }
func BenchmarkParseJSON(b *testing.B)      { benchParse(b, jsonDirective, true) }

// BenchmarkParseSamples parses the committed sample day of traffic, when
// present: 200 certificates and the mix of requests the generator makes.
func BenchmarkParseSamples(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "samples", "data", "nginx-access.log"))
	if err != nil {
		b.Skip(err)
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	p := Default().NewParser()
	var r event.Record
	b.SetBytes(int64(len(data) / len(lines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := p.Parse(lines[i], &r); err != nil {
			b.Fatal(err)
		}
		i++
		if i == len(lines) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
