package alert

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syslogMsg is a parsed RFC 5424 message with a CEF payload.
type syslogMsg struct {
	pri, version, ts, host, app, procid, msgid string
	sdID                                       string
	sd                                         map[string]string
	cefHeader                                  []string
	ext                                        map[string]string
	extKeys                                    []string
}

// parseSyslog parses an RFC 5424 message with one SD element and a CEF MSG.
func parseSyslog(m string) (*syslogMsg, error) {
	var p syslogMsg
	if !strings.HasPrefix(m, "<") {
		return nil, fmt.Errorf("no PRI in %q", m)
	}
	end := strings.IndexByte(m, '>')
	p.pri = m[1:end]
	m = m[end+1:]
	f := strings.SplitN(m, " ", 7)
	if len(f) != 7 {
		return nil, fmt.Errorf("short header %q", m)
	}
	p.version, p.ts, p.host, p.app, p.procid, p.msgid = f[0], f[1], f[2], f[3], f[4], f[5]
	rest := f[6]
	if !strings.HasPrefix(rest, "[") {
		return nil, fmt.Errorf("no SD in %q", rest)
	}
	i := 1
	for i < len(rest) && rest[i] != ' ' && rest[i] != ']' {
		i++
	}
	p.sdID = rest[1:i]
	p.sd = map[string]string{}
	for rest[i] == ' ' {
		i++
		eq := strings.IndexByte(rest[i:], '=')
		name := rest[i : i+eq]
		i += eq + 1
		if rest[i] != '"' {
			return nil, fmt.Errorf("SD param %s not quoted", name)
		}
		i++
		var v strings.Builder
		for ; rest[i] != '"'; i++ {
			if rest[i] == '\\' && (rest[i+1] == '"' || rest[i+1] == '\\' || rest[i+1] == ']') {
				i++
			}
			v.WriteByte(rest[i])
		}
		i++
		p.sd[name] = v.String()
	}
	if rest[i] != ']' || rest[i+1] != ' ' {
		return nil, fmt.Errorf("SD element not closed at %q", rest[i:])
	}
	msg := rest[i+2:]
	// CEF header: seven '|' not escaped by '\'.
	var field strings.Builder
	i = 0
	for len(p.cefHeader) < 7 {
		if i >= len(msg) {
			return nil, fmt.Errorf("short CEF header %q", msg)
		}
		c := msg[i]
		switch {
		case c == '\\' && i+1 < len(msg) && (msg[i+1] == '\\' || msg[i+1] == '|'):
			field.WriteByte(msg[i+1])
			i++
		case c == '|':
			p.cefHeader = append(p.cefHeader, field.String())
			field.Reset()
		case c == '\n' || c == '\r':
			return nil, fmt.Errorf("line break in CEF header")
		default:
			field.WriteByte(c)
		}
		i++
	}
	ext := msg[i:]
	// Extension: keys precede unescaped '='; a value runs to the space before the next key.
	var eqs []int
	for j := 0; j < len(ext); j++ {
		if ext[j] == '\\' {
			j++
			continue
		}
		if ext[j] == '=' {
			eqs = append(eqs, j)
		}
		if ext[j] == '\n' || ext[j] == '\r' {
			return nil, fmt.Errorf("raw line break in CEF extension")
		}
	}
	p.ext = map[string]string{}
	keyStart := 0
	for n, eq := range eqs {
		key := ext[keyStart:eq]
		valEnd := len(ext)
		if n+1 < len(eqs) {
			valEnd = strings.LastIndexByte(ext[:eqs[n+1]], ' ')
		}
		raw := ext[eq+1 : valEnd]
		var v strings.Builder
		for j := 0; j < len(raw); j++ {
			if raw[j] == '\\' && j+1 < len(raw) {
				j++
				switch raw[j] {
				case 'n':
					v.WriteByte('\n')
				case 'r':
					v.WriteByte('\r')
				default:
					v.WriteByte(raw[j])
				}
				continue
			}
			v.WriteByte(raw[j])
		}
		if _, dup := p.ext[key]; dup {
			return nil, fmt.Errorf("duplicate extension key %q", key)
		}
		p.ext[key] = v.String()
		p.extKeys = append(p.extKeys, key)
		keyStart = valEnd + 1
	}
	return &p, nil
}

// hostileAlert carries values meant to break syslog, CEF and JSON framing.
func hostileAlert(i int) (*Alert, []string) {
	users := []string{"a=b", `c\d`, "e|f", "line1\nline2\r\n<13>1 - - - - - forged", "\x1b[31mred\x1b[0m", "josé", "用户", " cs1=forged", `x" ] [evil@1 a="b"`, "end\\"}
	a := testAlert(fmt.Sprintf(`inc"]\%d`, i), i+1, "")
	a.Rule = `spray|rule\x`
	a.Summary = "summary | with \\ pipe\nand newline " + users[4]
	a.Description = "desc=x\ny"
	a.Sample.UserNames = users
	return a, users
}

func checkSyslog(t *testing.T, msgs []string, n int) {
	t.Helper()
	if len(msgs) != n {
		t.Fatalf("got %d messages, want %d", len(msgs), n)
	}
	wantKeys := "externalId act rt start end cnt msg duser src cs1Label cs1 cn1Label cn1 cs2Label cs2 cs3Label cs3 cs4Label cs4 cs5Label cs5 cs6Label cs6 cn2Label cn2 cn3Label cn3 cfp1Label cfp1 cfp2Label cfp2"
	for i, m := range msgs {
		a, users := hostileAlert(i)
		p, err := parseSyslog(m)
		if err != nil {
			t.Fatalf("message %d: %v\n%q", i, err, m)
		}
		if p.pri != strconv.Itoa(10*8+3) || p.version != "1" || p.app != "spraywatch" || p.msgid != a.Status {
			t.Errorf("message %d header: pri=%s version=%s app=%s msgid=%s", i, p.pri, p.version, p.app, p.msgid)
		}
		if want := fmt.Sprintf("2026-01-02T03:%02d:05.000000Z", 6+i); p.ts != want {
			t.Errorf("timestamp %s, want %s", p.ts, want)
		}
		if p.sdID != "spraywatch@32473" || p.sd["incident"] != a.IncidentID || p.sd["rule"] != a.Rule || p.sd["sequence"] != strconv.Itoa(a.Sequence) || len(p.sd) != 3 {
			t.Errorf("message %d SD: %s %q", i, p.sdID, p.sd)
		}
		wantHeader := []string{"CEF:0", "spraywatch", "spraywatch", CEFVersion, a.Rule, strings.ReplaceAll(a.Summary, "\n", " "), "8"}
		if fmt.Sprintf("%q", p.cefHeader) != fmt.Sprintf("%q", wantHeader) {
			t.Errorf("CEF header %q, want %q", p.cefHeader, wantHeader)
		}
		if got := strings.Join(p.extKeys, " "); got != wantKeys {
			t.Errorf("extension keys %q, want %q", got, wantKeys)
		}
		if got := p.ext["duser"]; got != strings.Join(users, ",") {
			t.Errorf("duser %q, want %q", got, strings.Join(users, ","))
		}
		for k, want := range map[string]string{"cs1": a.IncidentID, "msg": a.Description, "externalId": a.ID, "cn1": strconv.Itoa(a.Sequence),
			"start": "1767323045000", "src": "192.0.2.7", "cs2": a.Identity.Subject, "cs4": "tls.client.subject=" + a.Group["tls.client.subject"]} {
			if p.ext[k] != want {
				t.Errorf("%s = %q, want %q", k, p.ext[k], want)
			}
		}
	}
}

// collector gathers messages arriving at a test listener.
type collector struct {
	mu   sync.Mutex
	msgs []string
	errs []error
}

func (c *collector) add(m string) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// readOctetCounted reads RFC 6587 octet-counted frames from r.
func (c *collector) readOctetCounted(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		ls, err := br.ReadString(' ')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSuffix(ls, " "))
		if err != nil || n <= 0 {
			c.mu.Lock()
			c.errs = append(c.errs, fmt.Errorf("bad frame length %q", ls))
			c.mu.Unlock()
			return
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			return
		}
		c.add(string(b))
	}
}

func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "syslog test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestSyslogTransports(t *testing.T) {
	const n = 4
	for _, network := range []string{"udp", "tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c := &collector{}
			var addr string
			var clientTLS *tls.Config
			switch network {
			case "udp":
				pc, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer pc.Close()
				addr = pc.LocalAddr().String()
				go func() {
					buf := make([]byte, 65536)
					for {
						k, _, err := pc.ReadFrom(buf)
						if err != nil {
							return
						}
						c.add(string(buf[:k]))
					}
				}()
			default:
				var l net.Listener
				var err error
				if network == "tls" {
					cert, pool := testCert(t)
					l, err = tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
					clientTLS = &tls.Config{RootCAs: pool}
				} else {
					l, err = net.Listen("tcp", "127.0.0.1:0")
				}
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				addr = l.Addr().String()
				go func() {
					for {
						conn, err := l.Accept()
						if err != nil {
							return
						}
						go func() {
							defer conn.Close()
							c.readOctetCounted(conn)
						}()
					}
				}()
			}
			s, err := NewSyslog(ctx, SyslogOptions{Name: network, Network: network, Address: addr, TLS: clientTLS, Hostname: "det\n01 x", Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				a, _ := hostileAlert(i)
				if err := s.Send(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, 5*time.Second, "syslog messages", func() bool { return c.len() >= n })
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if got := s.Stats().Delivered.Load(); got != n {
				t.Errorf("delivered = %d, want %d", got, n)
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			if len(c.errs) > 0 {
				t.Fatal(c.errs)
			}
			checkSyslog(t, c.msgs, n)
			for _, m := range c.msgs {
				if p, _ := parseSyslog(m); p != nil && p.host != "det01x" {
					t.Errorf("hostname %q, want det01x", p.host)
				}
			}
		})
	}
}

func TestSyslogReceiverDownCountsFailures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := NewSyslog(ctx, SyslogOptions{Network: "tcp", Address: freeAddr(t), Timeout: time.Second,
		Queue: QueueOptions{Size: 2, MaxAttempts: 2, Backoff: &Backoff{Initial: time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	var full int
	for i := range 50 {
		if err := s.Send(ctx, testAlert("a", i, "u")); err != nil {
			full++
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if full == 0 {
		t.Error("a queue of 2 took 50 alerts without refusing one")
	}
	if st.Delivered.Load() != 0 || st.Failures.Load() == 0 || st.Dropped.Load() != 50 || st.QueueDepth.Load() != 0 {
		t.Errorf("delivered=%d failures=%d dropped=%d depth=%d", st.Delivered.Load(), st.Failures.Load(), st.Dropped.Load(), st.QueueDepth.Load())
	}
}

// TestCEFSourceAddress: CEF's src takes IPv4 addresses only; an IPv6
// source goes in c6a2 with its label.
func TestCEFSourceAddress(t *testing.T) {
	for _, tc := range []struct {
		ip                 string
		src, c6a2, c6label string
	}{
		{ip: "192.0.2.7", src: "192.0.2.7"},
		{ip: "2001:db8::7", c6a2: "2001:db8::7", c6label: "Source IPv6 Address"},
		{ip: "::ffff:192.0.2.7", src: "192.0.2.7"},
		{ip: "fe80::1%eth0", c6a2: "fe80::1%eth0", c6label: "Source IPv6 Address"},
		{ip: "not-an-address", src: "not-an-address"},
	} {
		a := testAlert("x", 1, "")
		a.Sample.SourceIPs = []string{tc.ip, "192.0.2.8"}
		p, err := parseSyslog(string(AppendSyslog(nil, a, 10, "h", "spraywatch")))
		if err != nil {
			t.Fatalf("%s: %v", tc.ip, err)
		}
		if p.ext["src"] != tc.src || p.ext["c6a2"] != tc.c6a2 || p.ext["c6a2Label"] != tc.c6label {
			t.Errorf("%s: src=%q c6a2=%q c6a2Label=%q, want %q %q %q", tc.ip, p.ext["src"], p.ext["c6a2"], p.ext["c6a2Label"], tc.src, tc.c6a2, tc.c6label)
		}
	}
}
