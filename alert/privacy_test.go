package alert

import (
	"context"
	"os"
	"path/filepath"
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
