package detect

import (
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
)

// TestCertIdentity checks that a certIdentity gives back the values it was
// made of, whatever their lengths (uvarints of one to three bytes) and
// whichever are empty.
func TestCertIdentity(t *testing.T) {
	long, longer := strings.Repeat("CN=x,", 40), strings.Repeat("a", 20_000)
	cases := []alert.Identity{
		{SHA1: "ab"},
		{Subject: "CN=device-1", Issuer: "CN=ca", SHA1: strings.Repeat("0", 40), SHA256: strings.Repeat("f", 64), Serial: "01"},
		{Subject: long, SHA256: "x"},
		{Subject: "", Issuer: longer, SHA1: "", SHA256: long, Serial: "\x80\xff"},
		{Subject: "CN=only"},
	}
	for _, want := range cases {
		var ev event.Event
		ev.Values[event.TLSSubject], ev.Values[event.TLSIssuer] = want.Subject, want.Issuer
		ev.Values[event.TLSSHA1], ev.Values[event.TLSSHA256], ev.Values[event.TLSSerial] = want.SHA1, want.SHA256, want.Serial
		ev.Values[event.UserName] = "not part of it"
		c := makeCertIdentity(&ev)
		got := c.identity()
		if got == nil || *got != want {
			t.Errorf("identity %+v, want %+v", got, want)
		}
	}
	if got := certIdentity("").identity(); got != nil {
		t.Errorf("no identity gives %+v, want nil", got)
	}
}
