package alert

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSyslogCEF checks that no user name, summary or incident id breaks the
// RFC 5424 framing or the CEF structure, and that values round-trip.
func FuzzSyslogCEF(f *testing.F) {
	for _, s := range []string{"alice", "a=b", `c\d`, "e|f", "l1\nl2\r\n", "\x1b[31m", "josé", " cs1=x", `"]`, "\\", "=", "|", "\xff\xfe"} {
		f.Add(s, s, s)
	}
	f.Fuzz(func(t *testing.T, user, summary, incident string) {
		a := testAlert("x", 1, "")
		a.Sample.UserNames = []string{user}
		a.Summary = summary
		a.IncidentID = incident
		m := string(AppendSyslog(nil, a, 10, "h", "spraywatch"))
		p, err := parseSyslog(m)
		if err != nil {
			t.Fatalf("%v\n%q", err, m)
		}
		valid := func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
		if user != "" && p.ext["duser"] != valid(user) {
			t.Errorf("duser %q, want %q", p.ext["duser"], valid(user))
		}
		if incident != "" && (p.ext["cs1"] != valid(incident) || p.sd["incident"] != valid(incident)) {
			t.Errorf("incident cs1=%q sd=%q, want %q", p.ext["cs1"], p.sd["incident"], valid(incident))
		}
		if want := strings.NewReplacer("\r", " ", "\n", " ").Replace(valid(summary)); p.cefHeader[5] != want {
			t.Errorf("summary %q, want %q", p.cefHeader[5], want)
		}
		if len(p.cefHeader) != 7 || p.cefHeader[6] != "8" {
			t.Errorf("header %q", p.cefHeader)
		}
		for _, k := range p.extKeys {
			if strings.ContainsAny(k, " \\|\n") {
				t.Errorf("forged extension key %q", k)
			}
		}
		if !utf8.ValidString(m) {
			t.Error("message is not valid UTF-8")
		}
	})
}

func BenchmarkAppendSyslog(b *testing.B) {
	a, _ := hostileAlert(0)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendSyslog(buf[:0], a, 10, "host", "spraywatch")
	}
}

func BenchmarkSpoolAppend(b *testing.B) {
	var st SinkStats
	sp, err := openSpool(b.TempDir(), 1<<30, 64<<20, &st)
	if err != nil {
		b.Fatal(err)
	}
	defer sp.close()
	rec, _ := testAlert("i", 1, "u").AppendJSON(nil)
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if err := sp.append(rec); err != nil {
			b.Fatal(err)
		}
	}
}
