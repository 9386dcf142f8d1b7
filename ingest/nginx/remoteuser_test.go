package nginx

import (
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// TestClientChosenUser checks that a $remote_user holding the literal
// after it, as nginx logs what a client sends in an Authorization: Basic
// header, does not move the time: the line reads as with no user, whether
// parsed, skimmed lazily or in full, in the built-in and the common formats.
func TestClientChosenUser(t *testing.T) {
	formats := []struct {
		name, directive, line string
	}{
		{"reference", Reference, `203.0.113.7 - USER [04/Dec/2026:09:00:01 +0000] "POST /accounts/login/ HTTP/1.1" 200 512 "-" "curl" rid=` + rid + ` verify=SUCCESS fp=- serial=- dn="CN=a,O=b" idn="-" rt=0.012`},
		{"combined", `log_format c '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_id';`,
			`203.0.113.7 - USER [04/Dec/2026:09:00:01 +0000] "POST /accounts/login/ HTTP/1.1" 200 512 "-" "curl" ` + rid},
		{"iso8601", `log_format c '$remote_addr - $remote_user [$time_iso8601] "$request" $status $request_id';`,
			`203.0.113.7 - USER [2026-12-04T09:00:01+00:00] "POST /accounts/login/ HTTP/1.1" 200 ` + rid},
		{"escape=json text", `log_format c escape=json '$remote_addr - $remote_user [$time_local] "$request" $status $request_id';`,
			`203.0.113.7 - USER [04/Dec/2026:09:00:01 +0000] "POST /accounts/login/ HTTP/1.1" 200 ` + rid},
		{"time last", `log_format c '$remote_addr "$request" $request_id $remote_user $time_local';`,
			`203.0.113.7 "POST /accounts/login/ HTTP/1.1" ` + rid + ` USER 04/Dec/2026:09:00:01 +0000`},
	}
	users := []string{
		"-",
		"x [y",
		`] \x22`,
		"[04/Dec/2026:00:00:00 +0000]",
		"x [04/Dec/2026:00:00:00 +0000",
		"a [04/Dec/2026:00:00:00 +0000] [b",
		" [ [ [",
		"x [" + strings.Repeat(" [", 1000),
		"2026-12-04T00:00:00+00:00 x",
	}
	want := at("2026-12-04T09:00:01Z")
	for _, fm := range formats {
		f, err := Compile(fm.directive)
		if err != nil {
			t.Fatalf("%s: %v", fm.name, err)
		}
		for _, u := range users {
			line := []byte(strings.Replace(fm.line, "USER", u, 1))
			for _, mode := range []string{"parse", "lazy skim", "skim in full", "exact skim"} {
				p := f.NewParser().(*parser)
				for read := range 2 { // the second time with the line's time as the last one
					var r event.Record
					var err error
					switch mode {
					case "parse":
						err = p.Parse(line, &r)
					case "lazy skim", "exact skim":
						p.CheckAllLines(mode == "exact skim")
						_, err = p.Skim(line, &r, func(*event.Record) bool { return false })
					case "skim in full":
						_, err = p.Skim(line, &r, func(*event.Record) bool { return true })
					}
					if err != nil {
						t.Errorf("%s, user %q, %s, read %d: %v", fm.name, u, mode, read, err)
						continue
					}
					if r.Time != want || string(r.Get(event.URLPath)) != "/accounts/login/" || string(r.Get(event.RequestID)) != rid {
						t.Errorf("%s, user %q, %s, read %d: time %d, path %q, request id %q; want %d, /accounts/login/, %s",
							fm.name, u, mode, read, r.Time, r.Get(event.URLPath), r.Get(event.RequestID), want, rid)
					}
				}
			}
		}
	}
}
