package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
)

// Privacy modes for usernames in alerts (and everything built from them).
const (
	PrivacyPlain = "plain" // usernames as logged
	PrivacyHMAC  = "hmac"  // "hmac-sha256:" + hex HMAC-SHA256(key, username)
	PrivacyOmit  = "omit"  // no usernames at all
)

// HMACKeyEnv is the environment variable that holds the HMAC key when no
// key file is given.
const HMACKeyEnv = "SPRAYWATCH_USERNAME_HMAC_KEY"

// Privacy says how usernames leave spraywatch. The hmac mode is the one the
// Django package (contrib/django) implements, so a SOC holding the key can
// match pseudonyms from both.
type Privacy struct {
	Mode string
	Key  []byte
}

// NewPrivacy checks a mode and loads its key: from keyFile (trailing CR and
// LF removed) or, when keyFile is empty, from $SPRAYWATCH_USERNAME_HMAC_KEY.
func NewPrivacy(mode, keyFile string) (Privacy, error) {
	switch mode {
	case "", PrivacyPlain:
		return Privacy{Mode: PrivacyPlain}, nil
	case PrivacyOmit:
		return Privacy{Mode: PrivacyOmit}, nil
	case PrivacyHMAC:
		var key []byte
		if keyFile != "" {
			b, err := os.ReadFile(keyFile)
			if err != nil {
				return Privacy{}, fmt.Errorf("reading the username HMAC key: %w", err)
			}
			key = bytes.TrimRight(b, "\r\n")
			if len(key) == 0 {
				return Privacy{}, fmt.Errorf("privacy mode hmac: the key file %s is empty", keyFile)
			}
		} else {
			key = []byte(os.Getenv(HMACKeyEnv))
		}
		if len(key) == 0 {
			return Privacy{}, fmt.Errorf("privacy mode hmac needs a key (a key file or $%s)", HMACKeyEnv)
		}
		return Privacy{Mode: PrivacyHMAC, Key: key}, nil
	}
	return Privacy{}, fmt.Errorf("privacy mode %q: expected plain, hmac or omit", mode)
}

// Username returns u as the mode shows it; "" in omit mode.
func (p Privacy) Username(u string) string {
	switch p.Mode {
	case PrivacyHMAC:
		if u == "" {
			return ""
		}
		m := hmac.New(sha256.New, p.Key)
		m.Write([]byte(u))
		return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
	case PrivacyOmit:
		return ""
	}
	return u
}

// UserNameKey is the group key (and sample field) whose values are
// usernames.
const UserNameKey = "user.name"

// Apply rewrites the usernames an alert carries: sample.user.name, account
// and the user.name value of group (a rule grouped by username), the latter
// two as the same pseudonym in hmac mode so they can be matched. The
// summary, which quotes the group and the account, is then written again
// from the rewritten fields (Summarize). No other field holds a username:
// reason and classification are figures, and incident_id is a hash.
//
// Apply replaces a's maps and slices rather than writing into them, so it
// may rewrite a shallow copy of an alert that is still in use.
func (p Privacy) Apply(a *Alert) {
	if p.Mode == PrivacyPlain || p.Mode == "" {
		return
	}
	if p.Mode == PrivacyOmit {
		a.Sample.UserNames = []string{}
		a.Sample.UserNamesTruncated = 0
	} else {
		names := make([]string, len(a.Sample.UserNames))
		for i, u := range a.Sample.UserNames {
			names[i] = p.Username(u)
		}
		a.Sample.UserNames = names
	}
	a.Account = p.Username(a.Account)
	if u, ok := a.Group[UserNameKey]; ok {
		g := make(map[string]string, len(a.Group))
		for k, v := range a.Group {
			g[k] = v
		}
		g[UserNameKey] = p.Username(u)
		a.Group = g
	}
	a.Summary = Summarize(a)
}

// WithPrivacy returns a sink that applies p to every alert before s.
func WithPrivacy(s Sink, p Privacy) Sink {
	if p.Mode == PrivacyPlain || p.Mode == "" {
		return s
	}
	return &privacySink{s: s, p: p}
}

type privacySink struct {
	s Sink
	p Privacy
}

func (ps *privacySink) Send(ctx context.Context, a *Alert) error {
	c := *a
	ps.p.Apply(&c)
	return ps.s.Send(ctx, &c)
}

// Recall passes a, with p applied as Send applies it, to s.
func (ps *privacySink) Recall(a *Alert) {
	c := *a
	ps.p.Apply(&c)
	Recall(ps.s, &c)
}

// BeginRebuild and EndRebuild pass the rebuild on to s.
func (ps *privacySink) BeginRebuild() { BeginRebuild(ps.s) }
func (ps *privacySink) EndRebuild()   { EndRebuild(ps.s) }

func (ps *privacySink) Close() error { return ps.s.Close() }
