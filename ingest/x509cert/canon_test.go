package x509cert

import "testing"

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
	} {
		got, err := AppendSerial([]byte("x"), []byte(tc.in))
		if err != nil || string(got) != "x"+tc.want {
			t.Errorf("AppendSerial(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "::", "xyz", "12-34"} {
		if got, err := AppendSerial(nil, []byte(in)); err == nil {
			t.Errorf("AppendSerial(%q) = %q, want error", in, got)
		}
	}
}
