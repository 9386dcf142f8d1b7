package django

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

// TestSpraywatchDjangoLines reads the lines contrib/django writes (kept equal
// to its output by contrib/django/tests/test_go_fixture.py) with the default
// mapping: every username a client may type reads back as it was logged, a
// lone surrogate as U+FFFD (never paired with its neighbour into another
// character), and a cut username within the reader's line limit.
func TestSpraywatchDjangoLines(t *testing.T) {
	long := strings.Repeat("x", 300000)
	sum := sha256.Sum256([]byte(long))
	cut := strings.Repeat("x", 998) + "\u2026sha256:" + hex.EncodeToString(sum[:])[:16]
	type want struct {
		requestID, user, outcome string
	}
	fail := func(rid, user string) want { return want{rid, user, event.OutcomeFailure} }
	wants := []want{
		fail("rid-go-00", `a"b`),
		fail("rid-go-01", `back\slash`),
		fail("rid-go-02", "line1\nline2"),
		fail("rid-go-03", "cr\rlf"),
		fail("rid-go-04", "\x1b[31mred"),
		fail("rid-go-05", "nul\x00byte"),
		fail("rid-go-06", "Jos\u00e9"),
		fail("rid-go-07", "sep\u2028arator"),
		fail("rid-go-08", "del\x7fc1\u0085"),
		fail("rid-go-09", "bom\ufeffx"),
		fail("rid-go-10", "nonchar\uffffx"),
		fail("rid-go-11", "astral\U0001F600"),
		fail("rid-go-12", "pair\ufffd\ufffd"), // two lone surrogates, not U+1F600
		fail("rid-go-13", "lone\ufffd"),
		fail("rid-go-14", cut),
		fail("rid-go-locked", "erin"),
		fail("rid-go-inactive", "frank"),
		fail("local-0123456789abcdef0123456789abcdef", "gina"),
		{"rid-go-ok", "FRANK", event.OutcomeSuccess},
	}
	data, err := os.ReadFile("testdata/spraywatch_django.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	p := mustFormat(t, DefaultMapping()).NewParser()
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, ingest.DefaultMaxLineBytes)
	seen := map[string]int{}
	i := 0
	for ; sc.Scan(); i++ {
		if i >= len(wants) {
			t.Fatalf("more than %d lines", len(wants))
		}
		w := wants[i]
		var r event.Record
		if err := p.Parse(sc.Bytes(), &r); err != nil {
			t.Errorf("line %d: %v", i+1, err)
			continue
		}
		if got := string(r.Values[event.RequestID]); got != w.requestID {
			t.Errorf("line %d: request id %q, want %q", i+1, got, w.requestID)
		}
		if got := string(r.Values[event.UserName]); got != w.user {
			t.Errorf("line %d: username %q, want %q", i+1, abbrev(got), abbrev(w.user))
		}
		if got := string(r.Values[event.Outcome]); got != w.outcome {
			t.Errorf("line %d: outcome %q, want %q", i+1, got, w.outcome)
		}
		if j, ok := seen[w.user]; ok {
			t.Errorf("lines %d and %d: one username %q", j, i+1, abbrev(w.user))
		}
		seen[w.user] = i + 1
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err) // bufio.ErrTooLong: a line over the reader's default limit
	}
	if i != len(wants) {
		t.Fatalf("%d lines, want %d", i, len(wants))
	}
}

func abbrev(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
