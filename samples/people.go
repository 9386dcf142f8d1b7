package samples

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

var firstNames = []string{
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
	"karl", "laura", "mallory", "nina", "oscar", "peggy", "quentin", "rupert", "sybil", "trent",
	"ursula", "victor", "wendy", "xavier", "yvonne", "zach", "anna", "ben", "chloe", "daniel",
	"emma", "felix", "gina", "hugo", "iris", "jack", "kate", "liam", "maria", "noah",
	"olga", "paul", "rosa", "sam", "tina", "uma", "vera", "will", "yusuf", "zoe",
	"amir", "bianca", "chen", "dmitri", "elena", "farah", "goran", "hana", "ines", "jonas",
}

var lastNames = []string{
	"smith", "jones", "taylor", "brown", "williams", "wilson", "johnson", "davies", "robinson", "wright",
	"thompson", "evans", "walker", "white", "roberts", "green", "hall", "wood", "jackson", "clarke",
	"patel", "khan", "lewis", "james", "phillips", "mason", "mitchell", "rose", "davis", "rodriguez",
	"cox", "alexander", "morgan", "moore", "martin", "price", "nguyen", "kim", "novak", "schmidt",
	"weber", "fischer", "rossi", "ferrari", "dubois", "moreau", "silva", "santos", "kowalski", "nowak",
	"larsen", "hansen", "berg", "lind", "okafor", "mensah", "tanaka", "sato", "ivanova", "petrov",
}

// specialEmployees are real accounts whose names exercise escaping: non-ASCII
// subjects (RFC 2253 \XX escapes, then nginx \x5C) and JSON \u escapes.
var specialEmployees = []string{"josé.garcía", "zoë.müller", "seán.o'brien", "łukasz.wiśniewski"}

// invalidUsers are names attackers try that are not accounts. Some carry a
// quote, a backslash or non-ASCII text, which must survive JSON escaping.
var invalidUsers = []string{
	"admin", "administrator", "root", "test", "guest", "info", "support", "helpdesk",
	"backup", "sales", "hr", "finance", "webmaster", "user", "demo", "operator",
	"service", "oracle", "postgres", "jenkins", `admin"--`, `CORP\administrator`,
	"ａｄｍｉｎ", "test1", "it", "scanner", "svc_backup", "noc",
}

type cert struct {
	fp     string // SHA-1 fingerprint, 40 lowercase hex
	serial string // uppercase hex
	dn     string // subject as logged: RFC 2253, then nginx text escaping
	idn    string // issuer as logged
}

type employee struct {
	user     string // username
	userJSON string // username escaped for a JSON string
	cert     *cert
	old      *cert // an expired certificate the device still sometimes presents
	ip       string
	ua       string
	nat      int // office index + 1 when behind an office NAT, 0 otherwise
}

const (
	deviceCA   = "CN=Example Device CA,O=Example Corp,C=US"
	servicesCA = "CN=Example Services CA,O=Example Corp,C=US"
)

var browserUAs = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
}

// rfc2253Value escapes an attribute value the way OpenSSL's XN_FLAG_RFC2253
// does: specials get a backslash, bytes >= 0x80 become \XX.
func rfc2253Value(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 0x80:
			b.WriteByte('\\')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
		case strings.IndexByte(`,+"\<>;`, c) >= 0,
			(c == '#' || c == ' ') && i == 0,
			c == ' ' && i == len(v)-1:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

const (
	lowerHex = "0123456789abcdef"
	upperHex = "0123456789ABCDEF"
)

// nginxEscape applies nginx's default text-log escaping: '"', '\' and bytes
// outside 32..126 become \xHH.
func nginxEscape(s string) string {
	return string(appendNginxEscaped(nil, s))
}

func appendNginxEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 32 || c > 126 {
			b = append(b, '\\', 'x', upperHex[c>>4], upperHex[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}

// jsonString escapes s for the inside of a JSON string the way Python's
// json.dumps does by default (ensure_ascii): non-ASCII as \uXXXX, with
// surrogate pairs above the BMP.
func jsonString(s string) string {
	var b []byte
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, '\\', '"')
		case r == '\\':
			b = append(b, '\\', '\\')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20 || (r >= 0x7f && r < 0x10000):
			b = appendU(b, r)
		case r >= 0x10000:
			r -= 0x10000
			b = appendU(b, 0xd800+(r>>10))
			b = appendU(b, 0xdc00+(r&0x3ff))
		case r == utf8.RuneError:
			b = appendU(b, r)
		default:
			b = append(b, byte(r))
		}
	}
	return string(b)
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', lowerHex[r>>12&15], lowerHex[r>>8&15], lowerHex[r>>4&15], lowerHex[r&15])
}

// newCert makes a certificate with a random fingerprint and serial.
func (g *generator) newCert(cn, ou, issuer string) *cert {
	var fp [20]byte
	g.fill(fp[:])
	var ser [8]byte
	g.fill(ser[:])
	ser[0] &= 0x7f // a positive ASN.1 integer
	if ser[0] == 0 {
		ser[0] = 0x11
	}
	f := make([]byte, 40)
	for i, c := range fp {
		f[2*i], f[2*i+1] = lowerHex[c>>4], lowerHex[c&15]
	}
	s := make([]byte, 16)
	for i, c := range ser {
		s[2*i], s[2*i+1] = upperHex[c>>4], upperHex[c&15]
	}
	dn := "CN=" + rfc2253Value(cn) + ",OU=" + ou + ",O=Example Corp,C=US"
	return &cert{fp: string(f), serial: string(s), dn: nginxEscape(dn), idn: nginxEscape(issuer)}
}

// makeEmployees builds the directory: n employees with unique usernames,
// device certificates and workstation addresses.
func (g *generator) makeEmployees(n int) {
	used := make(map[string]bool, n)
	g.emps = make([]employee, 0, n)
	for i := 0; i < n; i++ {
		var u string
		if i%50 == 7 && i/50 < len(specialEmployees) {
			u = specialEmployees[i/50]
		} else {
			u = firstNames[g.r.IntN(len(firstNames))] + "." + lastNames[g.r.IntN(len(lastNames))]
		}
		if used[u] {
			base := u
			for k := 2; used[u]; k++ {
				u = base + strconv.Itoa(k)
			}
		}
		used[u] = true
		e := employee{
			user:     u,
			userJSON: jsonString(u),
			cert:     g.newCert(u, "Devices", deviceCA),
			ip:       "10." + strconv.Itoa(20+i/64516) + "." + strconv.Itoa(i/254%254+1) + "." + strconv.Itoa(i%254+1),
			ua:       nginxEscape(browserUAs[g.r.IntN(len(browserUAs))]),
		}
		g.emps = append(g.emps, e)
	}
	g.known = used
}
