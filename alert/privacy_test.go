package alert

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The test vector is the one contrib/django documents, so both sides agree.
const djangoVector = "hmac-sha256:f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"

func TestPrivacyModes(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("key\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := NewPrivacy("hmac", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Username("The quick brown fox jumps over the lazy dog"); got != djangoVector {
		t.Errorf("hmac = %s, want %s", got, djangoVector)
	}
	t.Setenv(HMACKeyEnv, "key")
	pe, err := NewPrivacy("hmac", "")
	if err != nil || pe.Username("The quick brown fox jumps over the lazy dog") != djangoVector {
		t.Errorf("key from env: %v", err)
	}
	t.Setenv(HMACKeyEnv, "")
	if _, err := NewPrivacy("hmac", ""); err == nil || !strings.Contains(err.Error(), HMACKeyEnv) {
		t.Errorf("hmac without key: %v", err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewPrivacy("hmac", empty); err == nil || err.Error() != "privacy mode hmac: the key file "+empty+" is empty" {
		t.Errorf("empty key file: %v", err)
	}
	if _, err := NewPrivacy("hash", ""); err == nil {
		t.Error("unknown mode accepted")
	}

	rec := &recorder{}
	a := &Alert{Account: "alice", Sample: Sample{UserNames: []string{"alice", "bob"}, UserNamesTruncated: 3}}
	if err := WithPrivacy(rec, p).Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	got := rec.got[0]
	if got.Account != p.Username("alice") || got.Sample.UserNames[1] != p.Username("bob") || a.Sample.UserNames[0] != "alice" {
		t.Errorf("hmac apply: %+v (original %+v)", got, a)
	}
	om, _ := NewPrivacy("omit", "")
	rec2 := &recorder{}
	WithPrivacy(rec2, om).Send(context.Background(), a)
	if g := rec2.got[0]; g.Account != "" || len(g.Sample.UserNames) != 0 || g.Sample.UserNamesTruncated != 0 {
		t.Errorf("omit apply: %+v", g)
	}
	plain, _ := NewPrivacy("plain", "")
	if s := WithPrivacy(rec, plain); s != Sink(rec) {
		t.Error("plain mode should not wrap")
	}
}

type recorder struct{ got []Alert }

func (r *recorder) Send(_ context.Context, a *Alert) error { r.got = append(r.got, *a); return nil }
func (r *recorder) Close() error                           { return nil }

// privacyAlerts are alerts of the two shapes that name usernames outside
// the sample: a sequence rule's (the account that logged in) and a rule
// grouped by username. Their summaries are written as the engine writes
// them, from the usernames in clear.
func privacyAlerts() []struct {
	name  string
	a     *Alert
	users []string
} {
	seq := &Alert{
		Schema: Schema, ID: "06202ec693bbe7626f87-1", IncidentID: "06202ec693bbe7626f87", Sequence: 1,
		Rule: "successful-spray", Severity: SeverityCritical, Status: StatusFiring,
		Group:    map[string]string{"spraywatch.identity": "sha1:58caf0322c1eacc95f9d2247fc76814956ba6f07"},
		Identity: &Identity{Subject: "CN=device-7,OU=Devices", SHA256: "ab12"},
		Window:   "20m", Threshold: 5, Observed: 6, Measure: "user.name",
		Count:  Count{Events: 7, Failures: 6, Successes: 1, DistinctUsers: 7},
		Sample: Sample{UserNames: []string{"ivy.sprayed", "kate.moreau"}, UserNamesTruncated: 5, SourceIPs: []string{"203.0.113.145"}},
		Reason: &Reason{Type: "sequence", Measure: "distinct user.name that failed, then a success", Threshold: 5, Observed: 6},
		Classification: &Classification{Kind: ClassSpraying, Users: 6, Attempts: 6, MaxAttemptsPerUser: 1, MeanAttemptsPerUser: 1,
			Basis: "6 usernames, at most 1 attempts each"},
		Account: "kate.moreau",
	}
	byUser := &Alert{
		Schema: Schema, ID: "5b2c0e8d7f3a41e09c11-2", IncidentID: "5b2c0e8d7f3a41e09c11", Sequence: 2,
		Rule: "per-user-brute-force", Severity: SeverityMedium, Status: StatusResolved,
		Group:  map[string]string{"source.ip": "198.51.100.9", UserNameKey: "helpdesk"},
		Window: "10m", Threshold: 3, Observed: 6, Measure: "events",
		Count:      Count{Events: 6, Failures: 6, DistinctUsers: 1},
		Sample:     Sample{UserNames: []string{"helpdesk"}, SourceIPs: []string{"198.51.100.9"}},
		Reason:     &Reason{Type: "count", Measure: "events", Threshold: 3, Observed: 6},
		ResolvedAt: "2026-12-04T16:06:06Z", FirstSeen: "2026-12-04T15:36:45Z", LastSeen: "2026-12-04T15:41:06Z",
	}
	out := []struct {
		name  string
		a     *Alert
		users []string
	}{
		{"sequence", seq, []string{"kate.moreau", "ivy.sprayed"}},
		{"grouped by user.name", byUser, []string{"helpdesk"}},
	}
	for _, c := range out {
		c.a.Summary = Summarize(c.a)
	}
	return out
}

// renderings returns a as each output writes it: the JSON line (stdout,
// file, Kafka value, json webhook), the syslog line with its CEF payload,
// the Alertmanager alert and the Slack message; and the Kafka key.
func renderings(t *testing.T, a *Alert) map[string]string {
	t.Helper()
	js, err := a.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	am, err := json.Marshal((&Alertmanager{opts: AlertmanagerOptions{AlertName: "PasswordSpraying"}}).convert(a))
	if err != nil {
		t.Fatal(err)
	}
	slack, err := (&Webhook{opts: WebhookOptions{Format: FormatSlack}}).format(a)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"json":         string(js),
		"syslog":       string(AppendSyslog(nil, a, 10, "host", "spraywatch")),
		"alertmanager": string(am),
		"slack":        string(slack),
		"kafka key":    a.IncidentID,
	}
}

// TestPrivacyEverySink checks that in hmac and omit mode no username
// reaches any output: not in the sample, the account, the group or the
// summary; that hmac shows the group's username and the account as the
// same pseudonyms as the sample; and that plain mode changes nothing.
func TestPrivacyEverySink(t *testing.T) {
	hm := Privacy{Mode: PrivacyHMAC, Key: []byte("key")}
	for _, c := range privacyAlerts() {
		orig := mustClone(t, c.a)
		for _, p := range []Privacy{{Mode: PrivacyPlain}, hm, {Mode: PrivacyOmit}} {
			t.Run(c.name+"/"+p.Mode, func(t *testing.T) {
				rec := &recorder{}
				if err := WithPrivacy(rec, p).Send(context.Background(), c.a); err != nil {
					t.Fatal(err)
				}
				got := &rec.got[0]
				if !reflect.DeepEqual(c.a, orig) {
					t.Fatalf("the alert given was changed:\n%+v\nwas\n%+v", c.a, orig)
				}
				if p.Mode == PrivacyPlain {
					if !reflect.DeepEqual(got, c.a) {
						t.Fatalf("plain mode changed the alert:\n%+v", got)
					}
					for sink, out := range renderings(t, got) {
						if sink != "kafka key" && !strings.Contains(out, c.users[0]) {
							t.Errorf("%s: plain mode lacks %q: %s", sink, c.users[0], out)
						}
					}
					return
				}
				for sink, out := range renderings(t, got) {
					for _, u := range c.users {
						if strings.Contains(out, u) {
							t.Errorf("%s: username %q in clear: %s", sink, u, out)
						}
					}
				}
				if got.Summary != Summarize(got) {
					t.Errorf("summary %q is not the rewritten alert's", got.Summary)
				}
				switch p.Mode {
				case PrivacyHMAC:
					if orig.Account != "" && got.Account != p.Username(orig.Account) {
						t.Errorf("account = %q, want %q", got.Account, p.Username(orig.Account))
					}
					if u, ok := orig.Group[UserNameKey]; ok && got.Group[UserNameKey] != p.Username(u) {
						t.Errorf("group user.name = %q, want %q", got.Group[UserNameKey], p.Username(u))
					}
					for i, u := range orig.Sample.UserNames {
						if got.Sample.UserNames[i] != p.Username(u) {
							t.Errorf("sample[%d] = %q, want %q", i, got.Sample.UserNames[i], p.Username(u))
						}
					}
					if orig.Account != "" && !strings.Contains(got.Summary, strconv.Quote(p.Username(orig.Account))) {
						t.Errorf("summary does not name the account's pseudonym: %q", got.Summary)
					}
				case PrivacyOmit:
					if got.Account != "" || len(got.Sample.UserNames) != 0 || got.Sample.UserNamesTruncated != 0 {
						t.Errorf("omit left usernames: %+v", got)
					}
					if u, ok := got.Group[UserNameKey]; ok && u != "" {
						t.Errorf("omit left group user.name %q", u)
					}
				}
				// Everything else is as it was.
				rest := mustClone(t, got)
				rest.Account, rest.Sample.UserNames, rest.Sample.UserNamesTruncated, rest.Summary = orig.Account, orig.Sample.UserNames, orig.Sample.UserNamesTruncated, orig.Summary
				if u, ok := orig.Group[UserNameKey]; ok {
					rest.Group[UserNameKey] = u
				}
				if !reflect.DeepEqual(rest, orig) {
					t.Errorf("privacy changed more than the usernames:\n%+v\nwas\n%+v", rest, orig)
				}
			})
		}
	}
}

func mustClone(t *testing.T, a *Alert) *Alert {
	t.Helper()
	c, err := clone(a)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
