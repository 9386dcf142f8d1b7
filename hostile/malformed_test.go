package hostile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// hostileLine is a line put between the campaign's lines of one log.
type hostileLine struct {
	app  bool   // in the Django log, else the nginx log
	line string // without newline
	// rejected: the line must be rejected (with a reason), not parsed.
	rejected bool
	// tail: a proxy line that is no login, malformed only in values a
	// lazy skim does not read. The replay's default skim counts it as
	// skimmed; a full parse or --check-all-lines rejects it (rejected
	// must be set too).
	tail bool
}

var deep = strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)

// getLine is a proxy line that is no login attempt.
func getLine(rid, fp, dn string) string {
	return proxyLine(spray.start, "10.1.2.3", "GET /static/app.css HTTP/1.1", rid, fp, dn, "curl/8")
}

var malformed = []struct {
	name  string
	lines []hostileLine
}{
	{"malformed after the request of a line that is no login", []hostileLine{
		{line: getLine(rid(4, 1), "not-a-fingerprint", "CN=x"), rejected: true, tail: true},
		{line: strings.Replace(getLine(rid(4, 2), "", ""), " 200 512 ", " 2x0 512 ", 1), rejected: true, tail: true},
		{line: getLine(rid(4, 3), fingerprint(9), "CN=a,=b"), rejected: true, tail: true},
		// Broken in what the skim reads: rejected however the line is read.
		{line: strings.Replace(getLine(rid(4, 4), "", ""), ":09:30:", ":09:61:", 1), rejected: true},
		{line: strings.Replace(getLine(rid(4, 5), "", ""), " rid=", " request=", 1), rejected: true},
	}},
	{"invalid UTF-8", []hostileLine{
		{line: proxyLine(spray.start, "10.1.1.1", "POST /accounts/login/ HTTP/1.1", rid(1, 1), fingerprint(7), "CN=\xff\xfe", "ua\xc3\x28\xa0\xa1")},
		{app: true, line: `{"timestamp":"2026-12-04T09:30:00Z","event":"login_failed","request_id":"` + rid(1, 2) + `","username":"adm` + "\xff\xfe" + `in","ip":"10.1.1.2"}`},
		{app: true, line: "\xff\xfe\xfd{\"timestamp\"", rejected: true},
		{line: "\xc0\xaf\xed\xa0\x80 - - [04/Dec/2026:09:30:00 +0000]", rejected: true},
	}},
	{"NUL bytes", []hostileLine{
		{line: "\x00\x00\x00\x00\x00\x00\x00\x00", rejected: true},
		{app: true, line: "\x00{\"timestamp\":\"2026-12-04T09:30:00Z\"}", rejected: true},
		{app: true, line: `{"timestamp":"2026-12-04T09:30:01Z","event":"login_failed","request_id":"` + rid(2, 1) + `","username":"nul\u0000user","ip":"10.1.1.3"}`},
		{line: proxyLine(spray.start, "10.1.1.4", "POST /accounts/login/\x00 HTTP/1.1", rid(2, 2), fingerprint(8), "CN=a\x00b", "nul\x00ua")},
	}},
	{"deeply nested JSON", []hostileLine{
		{app: true, line: `{"timestamp":"2026-12-04T09:30:00Z","event":"login_failed","x":` + deep + `,"username":"deep"}`, rejected: true},
		{app: true, line: `{"timestamp":"2026-12-04T09:30:00Z","x":` + strings.Repeat(`{"a":`, 40_000), rejected: true},
		{app: true, line: strings.Repeat("[", 200_000), rejected: true},
	}},
	{"numbers and timestamps out of range", []hostileLine{
		{app: true, line: `{"timestamp":1e400,"event":"login_failed","request_id":"` + rid(3, 1) + `","username":"n1"}`, rejected: true},
		{app: true, line: `{"timestamp":"99999-12-31T00:00:00Z","event":"login_failed","username":"n2"}`, rejected: true},
		{app: true, line: `{"timestamp":"2026-13-45T25:61:61Z","event":"login_failed","username":"n3"}`, rejected: true},
		{app: true, line: `{"timestamp":-1e30,"event":"login_failed","username":"n4"}`, rejected: true},
		{app: true, line: `{"timestamp":"2026-12-04T09:30:00.99999999999999999999999Z","event":"login_failed","username":"n5","request_id":999999999999999999999999999999}`, rejected: true},
		{app: true, line: `{"timestamp":"2026-12-04T09:30:00Z","event":"login_failed","username":"n6","request_id":999999999999999999999999999999,"ip":"1e999"}`},
		{line: `10.1.1.5 - - [99/Foo/99999:99:99:99 +9999] "POST /accounts/login/ HTTP/1.1" 200 1 "-" "x" rid=` + rid(3, 2) + ` verify=NONE fp=- serial=- dn="-" idn="-" rt=0.1`, rejected: true},
		{line: `10.1.1.6 - - [04/Dec/2026:09:30:00 +0000] "POST /accounts/login/ HTTP/1.1" 99999999999999999999 99999999999999999999999999 "-" "x" rid=` + rid(3, 3) + ` verify=NONE fp=- serial=- dn="-" idn="-" rt=1e999`, rejected: true},
	}},
}

// TestMalformedLines mixes hostile lines into both logs next to a real
// campaign: nothing panics, every line is parsed, ignored or rejected with
// a reason naming the file and line, exactly the lines that cannot be
// read are rejected, and the campaign is reported.
func TestMalformedLines(t *testing.T) {
	for _, tc := range malformed {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			pp, ap := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
			sp, sa := spray.lines()
			var pl, al []string
			wantRej := [2]int64{}
			var tails int64 // proxy lines a lazy skim accepts
			for _, h := range tc.lines {
				k := 0
				if h.app {
					k = 1
				}
				if h.app {
					al = append(al, h.line)
				} else {
					pl = append(pl, h.line)
				}
				if h.rejected {
					wantRej[k]++
				}
				if h.tail {
					tails++
				}
			}
			writeFile(t, pp, func(emit func(string)) {
				emit(sp[0])
				for _, l := range pl {
					emit(l)
				}
				for _, l := range sp[1:] {
					emit(l)
				}
			})
			writeFile(t, ap, func(emit func(string)) {
				emit(sa[0])
				for _, l := range al {
					emit(l)
				}
				for _, l := range sa[1:] {
					emit(l)
				}
			})
			for _, mode := range []skimMode{skimLazy, skimExact, skimNone} {
				r := replayFiles(t, []string{pp}, []string{ap}, options{skim: mode})
				r.accounted(t)
				r.sprayReported(t, spray)
				for k, s := range r.sources {
					want := wantRej[k]
					if k == 0 && mode == skimLazy {
						want -= tails
					}
					if got := s.Rejected.Load(); got != want {
						t.Errorf("%v: %s: %d rejected, want %d; reasons %v", mode, s.Name, got, want, s.Errors())
					}
					if got := s.Skimmed.Load(); k == 0 && (mode == skimLazy && got < tails || mode != skimLazy && got != 0) {
						t.Errorf("%v: %s: %d lines skimmed, want at least the %d malformed after their request", mode, s.Name, got, tails)
					}
					for _, e := range s.Errors() {
						t.Logf("%v: %s: %v", mode, s.Name, e)
					}
				}
				for _, a := range r.alerts {
					for _, u := range a.Sample.UserNames {
						if !utf8.ValidString(u) {
							t.Errorf("%v: alert %s: username %q is not valid UTF-8", mode, a.ID, u)
						}
					}
				}
			}
		})
	}
}

// TestTruncatedLastLine ends the nginx log in the middle of a line and the
// Django log with a whole line but no newline: the first is rejected with
// its position, the second is read.
func TestTruncatedLastLine(t *testing.T) {
	dir := t.TempDir()
	pp, ap := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	sp, sa := spray.lines()
	cut := proxyLine(spray.start.Add(time.Hour), "10.9.9.9", "POST /accounts/login/ HTTP/1.1", rid(9, 9), fingerprint(9), "CN=x", "y")
	if err := os.WriteFile(pp, []byte(strings.Join(sp, "\n")+"\n"+cut[:len(cut)/2]), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ap, []byte(strings.Join(sa, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	r := replayFiles(t, []string{pp}, []string{ap}, options{})
	r.accounted(t)
	r.sprayReported(t, spray)
	ps, as := r.sources[0], r.sources[1]
	if ps.Rejected.Load() != 1 || ps.Parsed.Load() != sprayUsers {
		t.Errorf("nginx: %d rejected, %d parsed; want 1, %d", ps.Rejected.Load(), ps.Parsed.Load(), sprayUsers)
	}
	if errs := ps.Errors(); len(errs) != 1 || !strings.Contains(errs[0].Error(), fmt.Sprintf("access.log:%d:", sprayUsers+1)) {
		t.Errorf("nginx: reasons %v, want one at line %d", errs, sprayUsers+1)
	}
	if as.Parsed.Load() != sprayUsers || as.Rejected.Load() != 0 {
		t.Errorf("django: %d parsed, %d rejected; want %d, 0", as.Parsed.Load(), as.Rejected.Load(), sprayUsers)
	}
}
