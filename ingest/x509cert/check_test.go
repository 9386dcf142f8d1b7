package x509cert

import (
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// TestChecker checks that a Checker rejects exactly the values a
// Normalizer rejects, also right after a valid value of the field and
// with its memory of valid values in use.
func TestChecker(t *testing.T) {
	const sha1 = "0d5f6c1e2a3b4c5d6e7f8091a2b3c4d5e6f70819"
	tests := []struct {
		f   event.Field
		v   string
		bad bool
	}{
		{event.TLSSHA1, sha1, false},
		{event.TLSSHA1, "0D:5F:6C:1E:2A:3B:4C:5D:6E:7F:80:91:A2:B3:C4:D5:E6:F7:08:19", false},
		{event.TLSSHA1, sha1[:39] + "z", true},
		{event.TLSSHA256, "xyz", true},
		{event.TLSSHA256, "ab:cd", false},
		{event.TLSSerial, "4F2A9C0D11E3B7A1", false},
		{event.TLSSerial, "04f2a9c0d11e3b7a1", false},
		{event.TLSSerial, "4F2A-XYZ", true},
		{event.TLSSubject, "CN=svc-batch-01,OU=Batch,O=Example Corp,C=US", false},
		{event.TLSSubject, "/C=US/O=Example Corp/CN=svc-batch-01", false},
		{event.TLSSubject, "CN=svc-batch-01,OU", true},
		{event.TLSIssuer, "CN=#abc,O=b", true},
		{event.TLSIssuer, "CN=Example Issuing CA 1,O=Example Corp,C=US", false},
	}
	normalize := func(n *Normalizer, f event.Field, v []byte) error {
		var err error
		switch f {
		case event.TLSSHA1, event.TLSSHA256:
			_, err = n.Fingerprint(v)
		case event.TLSSerial:
			_, err = n.Serial(v)
		default:
			_, err = n.DN(v)
		}
		return err
	}
	var c Checker
	var cn, nn Normalizer
	// Twice, so that values are checked again after others of their field.
	for range 2 {
		for _, tt := range tests {
			for range 2 {
				want := normalize(&nn, tt.f, []byte(tt.v))
				got := c.Check(&cn, tt.f, []byte(tt.v))
				if (got == nil) != (want == nil) || got != nil && got.Error() != want.Error() {
					t.Fatalf("Check(%s, %q) = %v, Normalizer: %v", tt.f, tt.v, got, want)
				}
				if (got != nil) != tt.bad {
					t.Fatalf("Check(%s, %q) = %v, want rejected %v", tt.f, tt.v, got, tt.bad)
				}
			}
		}
	}
	for _, f := range []event.Field{event.UserAgent, event.TLSURISAN, event.URLPath} {
		if Checked(f) {
			t.Errorf("Checked(%s) = true", f)
		}
		if err := c.Check(&cn, f, []byte("CN")); err != nil {
			t.Errorf("Check(%s, %q): %v", f, "CN", err)
		}
	}
}

func TestCheckerDoesNotAllocate(t *testing.T) {
	var c Checker
	var n Normalizer
	vals := [][]byte{[]byte("0D:5F:6C:1E:2A:3B:4C:5D:6E:7F:80:91:A2:B3:C4:D5:E6:F7:08:19"), []byte("AB:CD:EF")}
	for _, v := range vals {
		if err := c.Check(&n, event.TLSSHA1, v); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	if a := testing.AllocsPerRun(100, func() {
		c.Check(&n, event.TLSSHA1, vals[i%2])
		i++
	}); a != 0 {
		t.Errorf("%v allocations per check", a)
	}
}
