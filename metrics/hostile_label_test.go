package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
)

// TestTopKHostileLabels: the top-identities labels come from the logs (a
// certificate subject and identity the client chose): a value that is
// not valid UTF-8 neither breaks the scrape nor crashes the process, and a
// huge one is cut as alerts cut it, so a client cannot make /metrics
// megabytes long.
func TestTopKHostileLabels(t *testing.T) {
	e := defaultEngine(t)
	m, err := New(Config{Engine: func() *detect.Engine { return e }})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC).UnixNano()
	huge := strings.Repeat("x", 200<<10)
	failures(t, e, "bad\xff\xfeid", 5, base)
	failures(t, e, huge, 4, base)
	m.TopK().Refresh(e)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %.300s", resp.StatusCode, body)
	}
	if !utf8.Valid(body) {
		t.Error("the exposition is not valid UTF-8")
	}
	var tops []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "spraywatch_top_identity_failed_usernames{") {
			tops = append(tops, l)
		}
	}
	if len(tops) != 2 {
		t.Fatalf("%d top-identity series, want 2: %.500q", len(tops), tops)
	}
	for _, l := range tops {
		if len(l) > 4*alert.MaxValueBytes {
			t.Errorf("a series of %d bytes: %.200s", len(l), l)
		}
	}
	if !strings.Contains(string(body), "bad\ufffdid") {
		t.Errorf("the invalid identity is not shown with U+FFFD: %.500q", tops)
	}
	if !strings.Contains(string(body), "...[truncated: 204800 bytes, sha256:") {
		t.Errorf("the huge identity is not cut: %.300q", tops)
	}
}

// TestTopKIdentityUnambiguous: the identity label of a group of several
// values escapes the commas a client may put in them, as the Alertmanager
// output's label does, so that two groups never share a series.
func TestTopKIdentityUnambiguous(t *testing.T) {
	var tk TopK
	fields := []string{"tls.client.subject", "source.ip"}
	seen := map[string][]string{}
	for _, vals := range [][]string{
		{"CN=a,O=x", "10.0.0.1"},
		{"CN=a", "O=x,10.0.0.1"},
		{`CN=a\`, "O=x,10.0.0.1"},
		{`CN=a\,O=x`, "10.0.0.1"},
	} {
		id := tk.identity(&detect.GroupValue{Values: vals, Fields: fields})
		if other, ok := seen[id]; ok {
			t.Errorf("groups %q and %q share the label %q", other, vals, id)
		}
		seen[id] = vals
	}
	if got := tk.identity(&detect.GroupValue{Values: []string{"CN=a,O=x"}, Fields: fields[:1]}); got != "CN=a,O=x" {
		t.Errorf("a group of one value: label %q, want the value as it is", got)
	}
}
