package alert

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// alertCase is a named alert for table-driven tests.
type alertCase struct {
	name string
	a    *Alert
}

// emptyAlerts are the alerts with nothing, or empty values, in their
// fields: edge cases of every encoding and copy.
func emptyAlerts() []alertCase {
	return []alertCase{
		{"nil", nil},
		{"zero", &Alert{}},
		{"empty slices and maps", &Alert{Group: map[string]string{}, Sample: Sample{UserNames: []string{}, RequestIDs: []string{}, SourceIPs: []string{}}}},
		{"empty pointers", &Alert{Identity: &Identity{}, Reason: &Reason{}, Classification: &Classification{}}},
	}
}

// testAlert returns alert number n of incident inc.
func testAlert(inc string, seq int, user string) *Alert {
	status := StatusFiring
	if seq > 1 {
		status = StatusUpdated
	}
	return &Alert{
		Schema:      Schema,
		ID:          fmt.Sprintf("%s-%d", inc, seq),
		IncidentID:  inc,
		Sequence:    seq,
		Rule:        "spray.distinct_users",
		Description: "one certificate, many usernames",
		Severity:    SeverityHigh,
		Status:      status,
		Group:       map[string]string{"tls.client.subject": "CN=client-" + inc},
		Identity:    &Identity{Subject: "CN=client-" + inc, SHA256: "ab12"},
		FirstSeen:   "2026-01-02T03:04:05Z",
		LastSeen:    fmt.Sprintf("2026-01-02T03:%02d:05Z", 5+seq),
		Window:      "10m",
		Threshold:   10,
		Observed:    float64(10 * seq),
		Measure:     "distinct user.name",
		Count:       Count{Events: 40 * seq, Failures: 39 * seq, Successes: 1, DistinctUsers: 10 * seq},
		Sample:      Sample{UserNames: []string{user, "bob"}, RequestIDs: []string{"r1"}, SourceIPs: []string{"192.0.2.7"}},
		Threat:      Threat{Framework: "MITRE ATT&CK", Technique: Technique{ID: "T1110.003", Name: "Password Spraying"}},
		Summary:     fmt.Sprintf("CN=client-%s tried %d usernames", inc, 10*seq),
	}
}

// freeAddr returns a 127.0.0.1 address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
