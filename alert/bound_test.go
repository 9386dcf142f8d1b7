package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCutValue(t *testing.T) {
	digest := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	cases := []struct {
		name   string
		in     string
		prefix string // "" : unchanged
	}{
		{"empty", "", ""},
		{"at the limit", strings.Repeat("a", MaxValueBytes), ""},
		{"one over", strings.Repeat("a", MaxValueBytes+1), strings.Repeat("a", MaxValueBytes)},
		{"256 KiB", strings.Repeat("x", 256<<10), strings.Repeat("x", MaxValueBytes)},
		// "é" is 2 bytes: the limit falls within a character.
		{"cut within a character", strings.Repeat("a", MaxValueBytes-1) + strings.Repeat("é", 10), strings.Repeat("a", MaxValueBytes-1)},
		{"4-byte characters", strings.Repeat("𝄞", 300), strings.Repeat("𝄞", MaxValueBytes/4)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := CutValue(tc.in)
			if tc.prefix == "" {
				if got != tc.in {
					t.Errorf("changed a value within the limit: %q", got)
				}
				return
			}
			want := fmt.Sprintf("%s...[truncated: %d bytes, sha256:%s]", tc.prefix, len(tc.in), digest(tc.in))
			if got != want {
				t.Errorf("got %.80q...%q, want %.80q...%q", got, got[max(0, len(got)-100):], want, want[max(0, len(want)-100):])
			}
			if utf8.ValidString(tc.in) && !utf8.ValidString(got) {
				t.Errorf("cut a character in two")
			}
		})
	}
	// Values with the same start stay apart.
	a, b := strings.Repeat("a", 2000)+"1", strings.Repeat("a", 2000)+"2"
	if CutValue(a) == CutValue(b) {
		t.Errorf("two long values with the same start cut to the same value")
	}
}

// longAlert returns an alert whose every value from the logs is n bytes.
func longAlert(n int) *Alert {
	long := func(c string) string { return strings.Repeat(c, n) }
	a := testAlert("inc", 1, long("u"))
	a.Group = map[string]string{"tls.client.subject": long("s"), "user_agent.original": long("g")}
	a.Identity = &Identity{Subject: long("s"), Issuer: long("i"), SHA1: long("1"), SHA256: long("2"), Serial: long("n")}
	a.Sample.UserNames = nil
	a.Sample.RequestIDs = nil
	a.Sample.SourceIPs = nil
	for i := range 10 {
		a.Sample.UserNames = append(a.Sample.UserNames, fmt.Sprint(i)+long("u"))
		a.Sample.RequestIDs = append(a.Sample.RequestIDs, fmt.Sprint(i)+long("r"))
	}
	for i := range 20 {
		a.Sample.SourceIPs = append(a.Sample.SourceIPs, fmt.Sprint(i)+long("p"))
	}
	a.Account = long("a")
	a.Summary = Summarize(a)
	return a
}

func TestBound(t *testing.T) {
	t.Run("short values unchanged", func(t *testing.T) {
		a := testAlert("inc", 1, "bob")
		want, _ := a.AppendJSON(nil)
		Bound(a)
		got, _ := a.AppendJSON(nil)
		if string(got) != string(want) {
			t.Errorf("record changed:\n got %s\nwant %s", got, want)
		}
	})
	t.Run("every long value cut", func(t *testing.T) {
		a := longAlert(256 << 10)
		orig, _ := a.AppendJSON(nil)
		var s Sink = WithBound(sinkFunc(func(b *Alert) {
			line, err := b.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			// 5 identity fields, 2 group values, 40 sample values,
			// the account: 48 values.
			if b.Truncated != 48 {
				t.Errorf("truncated = %d, want 48", b.Truncated)
			}
			var back Alert
			if err := json.Unmarshal(line, &back); err != nil {
				t.Fatal(err)
			}
			for _, v := range append(append(append([]string{back.Account, back.Identity.Subject, back.Group["tls.client.subject"]},
				back.Sample.UserNames...), back.Sample.RequestIDs...), back.Sample.SourceIPs...) {
				if len(v) > MaxValueBytes+120 || !strings.Contains(v, "...[truncated: ") {
					t.Fatalf("value not cut: %.60q (%d bytes)", v, len(v))
				}
			}
			if back.Summary != Summarize(&back) {
				t.Errorf("summary not written from the cut values")
			}
			// What the outputs make of the record fits a UDP datagram.
			if n := len(line); n > 64000 {
				t.Errorf("JSON record of %d bytes", n)
			}
			if n := len(AppendSyslog(nil, b, 10, "host", "spraywatch")); n > 65507 {
				t.Errorf("syslog message of %d bytes: over a UDP datagram", n)
			}
		}))
		s.Send(context.Background(), a)
		after, _ := a.AppendJSON(nil)
		if string(after) != string(orig) {
			t.Errorf("WithBound changed the alert it was given")
		}
	})
}

// sinkFunc is a sink calling a function with each alert.
type sinkFunc func(*Alert)

func (f sinkFunc) Send(_ context.Context, a *Alert) error { f(a); return nil }
func (f sinkFunc) Close() error                           { return nil }
