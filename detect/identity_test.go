package detect

import (
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
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

// TestGroupIdentity checks that every rule's new group reports the
// identity of its first event with a certificate, made with the event's
// kept copies or on its own, on one lane and on several, and that the
// window's evidence made with it is the event's.
func TestGroupIdentity(t *testing.T) {
	want := alert.Identity{Subject: "CN=device-1", Issuer: "CN=ca", SHA1: strings.Repeat("ab", 20), Serial: "0f"}
	for _, lanes := range []int{1, 2} {
		e, err := NewEngine(Config{Rules: rules.Default(), Sink: &captureSink{}, Lanes: lanes})
		if err != nil {
			t.Fatal(err)
		}
		x := ev(1, "spraywatch.identity", "sha1:"+want.SHA1, "tls.client.hash.sha1", want.SHA1, "tls.client.subject", want.Subject,
			"tls.client.issuer", want.Issuer, "tls.client.x509.serial_number", want.Serial, "tls.client.verify", "SUCCESS",
			"user.name", "alice", "event.outcome", "failure", "http.request.id", "r1", "source.ip", "192.0.2.7",
			"url.path", "/accounts/login/", "http.request.method", "POST", "http.response.status_code", "200")
		e.evaluateJoined(x)
		// A later event of the same groups with another subject: the
		// groups keep the first.
		y := *x
		y.Time, y.Values[event.TLSSubject], y.Values[event.UserName] = x.Time+1, "CN=other", "bob"
		e.evaluateJoined(&y)
		e.drain()
		n := 0
		for _, r := range e.rules {
			r.eachGroup(func(g *group) {
				n++
				if got := g.ident.identity(); got == nil || *got != want {
					t.Errorf("lanes %d: rule %s group %q: identity %+v, want %+v", lanes, r.rule.ID, g.key, got, want)
				}
				w, ok := g.st.(*window)
				if !ok || w.len() != 2 {
					return
				}
				for i, u := range []string{"alice", "bob"} {
					en := &w.entries[int(w.head)+i]
					if en.user() != u || en.ip() != "192.0.2.7" {
						t.Errorf("lanes %d: rule %s entry %d: user %q ip %q", lanes, r.rule.ID, i, en.user(), en.ip())
					}
				}
			})
		}
		if n < 5 {
			t.Errorf("lanes %d: %d groups, want at least the five identity rules'", lanes, n)
		}
	}
}

// TestEvidenceBuf checks that the bytes newEvidenceBuf returns are n and do
// not overlap the evidence, at every size's edges.
func TestEvidenceBuf(t *testing.T) {
	for _, n := range []int{0, 1, 40, 41, 56, 57, 72, 73, 88, 89, 104, 105, 120, 121, 136, 137, 152, 153, 168, 169, 200, 201, 232, 233, 1000} {
		ev, b := newEvidenceBuf(n)
		if len(b) != n || cap(b) != n {
			t.Errorf("%d: len %d cap %d", n, len(b), cap(b))
		}
		for i := range b {
			b[i] = 0xff
		}
		if *ev != (evidence{}) {
			t.Errorf("%d: writing the bytes changed the evidence: %+v", n, *ev)
		}
	}
}
