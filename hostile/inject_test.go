package hostile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// injected are usernames an attacker types into a login form to break the
// alert stream: line breaks, ANSI escapes, JSON, CEF and syslog
// metacharacters, Unicode line separators, a forged alert.
var injected = []string{
	"alice\nbob",
	"eve\r\n{\"schema\":\"spraywatch.alert.v1\",\"rule\":\"forged\"}",
	"\x1b[31mred\x1b[0m",
	"\x1b]0;title\x07bell",
	`quote"d`,
	`back\slash`,
	`json","rule":"forged","x":"`,
	"cef|pipe=eq\\|",
	"cs1=forged suser=root",
	"<13>1 syslog header",
	"line\u2028sep\u2029para",
	"tab\tand\vvert\ffeed",
	"nul\x00byte",
	"emoji\U0001F600",
	"%0a%0d urlencoded",
}

// TestInjectedUsernamesEndToEnd sprays the injected usernames from one
// certificate with a hostile user agent and DN: the alert stream stays
// one JSON object per line, nothing forges a field, and every sampled
// username is exactly one of the names typed.
func TestInjectedUsernamesEndToEnd(t *testing.T) {
	dir := t.TempDir()
	pp, ap := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	const fp = "7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c"
	// nginx writes a user agent's quotes and control bytes as \xHH.
	ua := `Mozilla\x22 \x0A{\x22rule\x22:\x22forged\x22}\x1B[2J`
	dn := `CN=evil\x0Aname\x22,O=\x1B[31mCorp`
	writeFile(t, pp, func(emit func(string)) {
		for i := range injected {
			at := spray.start.Add(time.Duration(i) * 5 * time.Second)
			emit(proxyLine(at, "203.0.113.9", "POST /accounts/login/ HTTP/1.1", rid(0x1f, i), fp, dn, ua))
		}
	})
	writeFile(t, ap, func(emit func(string)) {
		for i, u := range injected {
			at := spray.start.Add(time.Duration(i) * 5 * time.Second)
			emit(appLine(at, "login_failed", rid(0x1f, i), u, "203.0.113.9"))
		}
	})
	r := replayFiles(t, []string{pp}, []string{ap}, options{})
	r.accounted(t)
	for _, s := range r.sources {
		if s.Parsed.Load() != int64(len(injected)) {
			t.Fatalf("%s: %d of %d lines parsed: %v", s.Name, s.Parsed.Load(), len(injected), s.Errors())
		}
	}
	// One line per alert: the writer's newlines only.
	if n := bytes.Count(r.out, []byte("\n")); n != len(r.alerts) || n == 0 {
		t.Fatalf("%d lines for %d alerts:\n%s", n, len(r.alerts), r.out)
	}
	typed := map[string]bool{}
	for _, u := range injected {
		typed[u] = true
	}
	found := false
	for _, a := range r.alerts {
		if a.Rule == "forged" {
			t.Errorf("a forged alert: %+v", a)
		}
		if a.Rule != "cert-identity-spray" {
			continue
		}
		found = true
		if len(a.Sample.UserNames) == 0 {
			t.Errorf("alert %s samples no username", a.ID)
		}
		for _, u := range a.Sample.UserNames {
			if !typed[u] {
				t.Errorf("sampled username %q was not typed", u)
			}
		}
		if a.Identity == nil || !strings.Contains(a.Identity.Subject, "evil") || strings.ContainsAny(a.Identity.Subject, "\n\x1b") {
			t.Errorf("identity %+v: want the DN with its control bytes escaped", a.Identity)
		}
		// Each alert line decodes to exactly the keys of the schema at the
		// top level: nothing was added by a value.
		var top map[string]json.RawMessage
		line := bytes.Split(r.out, []byte("\n"))[0]
		if err := json.Unmarshal(line, &top); err != nil {
			t.Fatal(err)
		}
		if _, ok := top["x"]; ok {
			t.Errorf("a username added a top-level key: %s", line)
		}
		if !bytes.Contains(line, []byte(`\u001b`)) || bytes.ContainsAny(line, "\x1b\x00\r") {
			t.Errorf("control bytes not escaped in %q", line)
		}
	}
	if !found {
		t.Fatalf("the injected spray was not reported: %s", r.out)
	}
}

// TestCollidingRequestIDs reuses request ids: a client-supplied
// X-Request-ID sent with every request, and an attacker replaying a
// victim's id. Duplicates are counted, no event is lost, and a campaign
// using one id for every attempt is still reported.
func TestCollidingRequestIDs(t *testing.T) {
	dir := t.TempDir()
	pp, ap := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	const fp = "8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d"
	const same = "00000000000000000000000000000000"
	var pl, al []string
	for i := 0; i < 30; i++ {
		at := spray.start.Add(time.Duration(i) * 3 * time.Second)
		// The spray: one id for every attempt, app line first.
		al = append(al, appLine(at, "login_failed", same, fmt.Sprintf("target%02d", i), "203.0.113.10"))
		// nginx logs when the response ends, after Django.
		pl = append(pl, proxyLine(at.Add(time.Second), "203.0.113.10", "POST /accounts/login/ HTTP/1.1", same, fp, "CN=dup", "x"))
		// Two app lines with one id, one proxy line.
		al = append(al, appLine(at, "login_failed", rid(0x2d, i), "x", "10.4.0.1"))
		al = append(al, appLine(at, "login_succeeded", rid(0x2d, i), "y", "10.4.0.1"))
		pl = append(pl, proxyLine(at.Add(time.Second), "10.4.0.1", "POST /accounts/login/ HTTP/1.1", rid(0x2d, i), fingerprint(77), "CN=ok", "x"))
	}
	writeFile(t, pp, func(emit func(string)) {
		for _, l := range pl {
			emit(l)
		}
	})
	writeFile(t, ap, func(emit func(string)) {
		for _, l := range al {
			emit(l)
		}
	})
	r := replayFiles(t, []string{pp}, []string{ap}, options{})
	r.accounted(t)
	r.sprayReported(t, campaign{fp: fp})
	j := r.join
	if j.Duplicates.Load() == 0 {
		t.Errorf("no duplicate request id counted")
	}
	app := r.sources[1].Parsed.Load()
	if got := j.Matched.Load() + j.AppOnly.Load() + j.Evicted.Load(); got != app {
		t.Errorf("%d app records, %d matched + %d app_only + %d evicted", app, j.Matched.Load(), j.AppOnly.Load(), j.Evicted.Load())
	}
}
