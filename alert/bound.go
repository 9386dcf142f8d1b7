package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"unicode/utf8"
)

// MaxValueBytes is the length in bytes beyond which Bound cuts a value
// taken from the logs.
const MaxValueBytes = 1024

// Bound cuts the values of a that come from the logs (an attacker chooses
// them: usernames, certificate fields, request ids, addresses) to at most
// MaxValueBytes, so that no record grows with them past what its outputs
// carry (a UDP datagram, a Kafka message). A value longer than that keeps
// its first MaxValueBytes bytes (cut back to a whole UTF-8 character),
// followed by "...[truncated: N bytes, sha256:HEX]": N is the value's
// length and HEX the SHA-256 of the whole value, so that two long values
// with the same start stay apart and the value can be found in the logs.
// The group values, the identity's fields, the sample's lists and the
// account are cut; a.Truncated counts the values cut, and the summary,
// which quotes some of them, is written again from what a now holds
// (Summarize). A record without a long value is left as it is.
//
// Bound replaces a's maps, slices and identity rather than writing into
// them, so it may rewrite a shallow copy of an alert that is still in use.
func Bound(a *Alert) {
	if a == nil || !hasLong(a) {
		return
	}
	n := 0
	cut := func(s string) string {
		if len(s) <= MaxValueBytes {
			return s
		}
		n++
		return CutValue(s)
	}
	if len(a.Group) > 0 {
		g := make(map[string]string, len(a.Group))
		for k, v := range a.Group {
			g[k] = cut(v)
		}
		a.Group = g
	}
	if a.Identity != nil {
		id := *a.Identity
		id.Subject, id.Issuer, id.SHA1, id.SHA256, id.Serial = cut(id.Subject), cut(id.Issuer), cut(id.SHA1), cut(id.SHA256), cut(id.Serial)
		a.Identity = &id
	}
	cutAll := func(ss []string) []string {
		if ss == nil {
			return nil
		}
		c := make([]string, len(ss))
		for i, s := range ss {
			c[i] = cut(s)
		}
		return c
	}
	a.Sample.UserNames = cutAll(a.Sample.UserNames)
	a.Sample.RequestIDs = cutAll(a.Sample.RequestIDs)
	a.Sample.SourceIPs = cutAll(a.Sample.SourceIPs)
	a.Account = cut(a.Account)
	a.Truncated += n
	a.Summary = Summarize(a)
}

// hasLong reports whether a holds a value Bound cuts.
func hasLong(a *Alert) bool {
	long := func(s string) bool { return len(s) > MaxValueBytes }
	for _, v := range a.Group {
		if long(v) {
			return true
		}
	}
	if id := a.Identity; id != nil && (long(id.Subject) || long(id.Issuer) || long(id.SHA1) || long(id.SHA256) || long(id.Serial)) {
		return true
	}
	for _, ss := range [][]string{a.Sample.UserNames, a.Sample.RequestIDs, a.Sample.SourceIPs} {
		for _, s := range ss {
			if long(s) {
				return true
			}
		}
	}
	return long(a.Account)
}

// CutValue returns s cut to its first MaxValueBytes bytes (back to a
// whole UTF-8 character) and the marker "...[truncated: N bytes,
// sha256:HEX]", N the length of s and HEX the SHA-256 of s. A value of
// MaxValueBytes bytes or less is returned as it is.
func CutValue(s string) string {
	if len(s) <= MaxValueBytes {
		return s
	}
	i := MaxValueBytes
	for i > MaxValueBytes-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	sum := sha256.Sum256([]byte(s))
	b := make([]byte, 0, i+100)
	b = append(b, s[:i]...)
	b = append(b, "...[truncated: "...)
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, " bytes, sha256:"...)
	b = hex.AppendEncode(b, sum[:])
	b = append(b, ']')
	return string(b)
}

// WithBound returns a sink that applies Bound to every alert before s.
func WithBound(s Sink) Sink { return &boundSink{s: s} }

type boundSink struct{ s Sink }

func (bs *boundSink) Send(ctx context.Context, a *Alert) error {
	if a == nil || !hasLong(a) {
		return bs.s.Send(ctx, a)
	}
	c := *a
	Bound(&c)
	return bs.s.Send(ctx, &c)
}

// Recall passes a, bounded as Send passes it, to s.
func (bs *boundSink) Recall(a *Alert) {
	if a == nil || !hasLong(a) {
		Recall(bs.s, a)
		return
	}
	c := *a
	Bound(&c)
	Recall(bs.s, &c)
}

// BeginRebuild and EndRebuild pass the rebuild on to s.
func (bs *boundSink) BeginRebuild() { BeginRebuild(bs.s) }
func (bs *boundSink) EndRebuild()   { EndRebuild(bs.s) }

func (bs *boundSink) Close() error { return bs.s.Close() }
