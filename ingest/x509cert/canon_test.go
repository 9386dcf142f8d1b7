package x509cert

import (
	"strings"
	"testing"
)

func TestAppendFingerprint(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0D5F6C1E2A3B4C5D6E7F8091A2B3C4D5E6F70819", "0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819"},
		{"0d:5f:6c:1e", "0d5f6c1e"},
		{"abcdef", "abcdef"},
	} {
		got, err := AppendFingerprint([]byte("x"), []byte(tc.in))
		if err != nil || string(got) != "x"+tc.want {
			t.Errorf("AppendFingerprint(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "::", "0g12", "ab-cd"} {
		if got, err := AppendFingerprint(nil, []byte(in)); err == nil {
			t.Errorf("AppendFingerprint(%q) = %q, want error", in, got)
		}
	}
}

func TestAppendSerial(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"f3828eb24fd779d0", "F3828EB24FD779D0"},
		{"00F3828EB24FD779D0", "F3828EB24FD779D0"},
		{"00:ab:cd", "ABCD"},
		{"0", "0"},
		{"0000", "0"},
		{"1", "1"},
		// What each proxy writes for one serial (see AppendSerial).
		{"0A11", "A11"},  // nginx, HAProxy
		{"0a11", "A11"},  // Envoy
		{"0a:11", "A11"}, // colon-separated pairs
		{"-0A11", "-A11"},
		{"-0a11", "-A11"},
		{"-00", "0"},
	} {
		got, err := AppendSerial([]byte("x"), []byte(tc.in))
		if err != nil || string(got) != "x"+tc.want {
			t.Errorf("AppendSerial(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "::", "xyz", "12-34", "-", "--1", "-:", "+1"} {
		if got, err := AppendSerial([]byte("x"), []byte(in)); err == nil || string(got) != "x" {
			t.Errorf("AppendSerial(%q) = %q, want error", in, got)
		}
	}
}

func TestNormalizer(t *testing.T) {
	var n Normalizer
	fp, err := n.Fingerprint([]byte("AB:CD:EF"))
	if err != nil || string(fp) != "abcdef" {
		t.Errorf("Fingerprint = %q, %v", fp, err)
	}
	src := []byte("0123456789abcdef")
	fp2, err := n.Fingerprint(src)
	src[0] = 'f' // the result must not alias the input
	if err != nil || string(fp2) != "0123456789abcdef" {
		t.Errorf("Fingerprint = %q, %v", fp2, err)
	}
	if _, err := n.Fingerprint([]byte("xyz")); err == nil {
		t.Error("bad fingerprint accepted")
	}
	s, err := n.Serial([]byte("00f3"))
	if err != nil || string(s) != "F3" {
		t.Errorf("Serial = %q, %v", s, err)
	}
	in := []byte(`CN=Jos\C3\A9,O=Example`)
	d1, err := n.DN(in)
	if err != nil || string(d1) != "CN=José,O=Example" {
		t.Errorf("DN = %q, %v", d1, err)
	}
	n.Reset()
	d2, _ := n.DN(in)
	if string(d2) != string(d1) {
		t.Errorf("remembered DN %q != %q", d2, d1)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		n.Reset()
		n.DN(in)
		n.Fingerprint(src)
		n.Serial([]byte("00f3"))
	}); allocs != 0 {
		t.Errorf("%v allocations per line", allocs)
	}
	for i := 0; i < maxMemo+10; i++ {
		n.DN([]byte("CN=" + string(rune('a'+i%26)) + string(rune(i))))
	}
	if len(n.dns) > maxMemo {
		t.Errorf("memo holds %d DNs, bound is %d", len(n.dns), maxMemo)
	}
	long := []byte("CN=" + strings.Repeat("x", 900))
	for i := 0; i < 2000; i++ {
		long[3] = byte('a' + i%26)
		long[4] = byte('a' + i/26%26)
		long[5] = byte('a' + i/676%26)
		if _, err := n.DN(long); err != nil {
			t.Fatal(err)
		}
		if n.dnsBytes > maxMemoBytes+2*len(long) {
			t.Fatalf("memo holds %d bytes, bound is %d", n.dnsBytes, maxMemoBytes)
		}
	}
	huge := []byte("CN=" + strings.Repeat("y", maxMemoDN))
	before := len(n.dns)
	if d, err := n.DN(huge); err != nil || string(d) != string(huge) {
		t.Fatalf("huge DN: %v", err)
	}
	if _, ok := n.dns[string(huge)]; ok || len(n.dns) > before {
		t.Error("a DN longer than maxMemoDN was remembered")
	}
}
