package samples

import (
	"slices"
	"time"
)

// The opt-in kinds' requests: logins through endpoints off the login paths.
var (
	reqGraphQL  = mkReq("POST", "/graphql")
	reqToken    = mkReq("POST", "/api/token/")
	uaNodeFetch = nginxEscape("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)")
)

// tokenDenied is the size of the token endpoint's 401 body,
// {"detail":"No active account found with the given credentials"}.
const tokenDenied = 63

// ownDraws runs f with the opt-in kinds' random source in place of the
// generator's, so that naming an opt-in kind leaves every other draw, and
// so every other line and label, as it is without it.
func (g *generator) ownDraws(f func()) {
	r := g.r
	g.r = g.optIn
	defer func() { g.r = r }()
	f()
}

// addOptIn plans the opt-in campaigns labelled tags. Each uses the stolen
// certificate of an employee at their desk (from desk) who does not lock
// themself out in the period, so that no hard negative shares it.
func (g *generator) addOptIn(tags, desk []int32) {
	lockout := g.labels[g.tagLockout-1].Identities
	var free []int32
	for _, e := range desk {
		if !slices.Contains(lockout, g.emps[e].cert.fp) {
			free = append(free, e)
		}
	}
	if len(free) == 0 {
		free = desk
	}
	pick := g.r.Perm(len(free))
	for i, tag := range tags {
		g.planOptIn(tag, free[pick[i%len(free)]])
	}
}

// planOptIn labels and plans one opt-in campaign with the certificate of
// employee e.
func (g *generator) planOptIn(tag, e int32) {
	l := g.labels[tag-1]
	var at int64
	switch l.Kind {
	case KindBatchSpray:
		// A few GraphQL requests, each a batch of 10-50 login mutations
		// with one password: Django logs every attempt under the
		// request's id, nginx one line at the request's end.
		c := g.stolenClient(e, "198.18.30.17", uaNodeFetch)
		sizes := make([]int, 3+g.r.IntN(3))
		n := 0
		for i := range sizes {
			sizes[i] = 10 + g.r.IntN(41)
			n += sizes[i]
		}
		users := g.sprayList(n*4/5, n-n*4/5)
		at = g.place(0.30, 0.45, 10*minute)
		l.run = func(g *generator, t int64, tag int32) {
			g.ownDraws(func() {
				us := users
				for _, k := range sizes {
					t = g.batch(&c, t, us[:k], tag)
					us = us[k:]
					t += g.between(20*time.Second, 90*time.Second)
				}
			})
		}
		g.addIdentity(tag, c.cert.fp)
	case KindTokenSpray:
		// One attempt per request to the token endpoint, refused quickly.
		c := g.stolenClient(e, "198.18.31.40", uaPython)
		users := g.sprayList(32, 8)
		at = g.place(0.70, 0.80, 10*minute)
		l.run = func(g *generator, t int64, tag int32) {
			g.ownDraws(func() {
				for _, u := range users {
					t = g.token(&c, t, u, tag)
					t += g.between(time.Second, 3500*time.Millisecond)
				}
			})
		}
		g.addIdentity(tag, c.cert.fp)
	}
	g.plan = append(g.plan, planned{at: at, kind: pCampaign, who: tag})
}

// batch adds one request from c, starting at t0, that makes a failing login
// attempt for each of users and returns when nginx logs it. Django checks
// the passwords one after the other and logs each attempt under the
// request's id; nginx logs the request once, at its end, with a 200 (a
// GraphQL response reports its errors in the body).
func (g *generator) batch(c *client, t0 int64, users []string, tag int32) int64 {
	id := g.rid()
	at := t0 + 5*ms + g.r.Int64N(30*ms)
	for _, u := range users {
		at += 60*ms + g.r.Int64N(200*ms) // one password hash per attempt
		g.addUser(tag, u)
		g.app = append(g.app, appRec{at: at, rid: id, ev: evFailed, user: jsonString(u), ip: c.ip, tag: tag})
	}
	end := at + 5*ms + g.r.Int64N(60*ms)
	g.proxy = append(g.proxy, proxyRec{
		end: end, rid: id, ip: c.ip, cert: c.cert, verify: c.verify,
		req: c.line(reqGraphQL), ref: "-", ua: c.ua,
		status: 200, bytes: int32(120 + 96*len(users) + g.r.IntN(40)), rt: int32((end - t0) / ms), tag: tag,
	})
	return end
}

// token adds one failing login from c through the token endpoint, starting
// at t0, and returns when nginx logs it: Django logs the attempt a few ms
// before nginx's line, whose whole-second time then usually sorts first.
func (g *generator) token(c *client, t0 int64, user string, tag int32) int64 {
	id := g.rid()
	g.addUser(tag, user)
	at := t0 + 60*ms + g.r.Int64N(200*ms)
	g.app = append(g.app, appRec{at: at, rid: id, ev: evFailed, user: jsonString(user), ip: c.ip, tag: tag})
	end := at + ms + g.r.Int64N(8*ms)
	g.proxy = append(g.proxy, proxyRec{
		end: end, rid: id, ip: c.ip, cert: c.cert, verify: c.verify,
		req: c.line(reqToken), ref: "-", ua: c.ua,
		status: 401, bytes: tokenDenied, rt: int32((end - t0) / ms), tag: tag,
	})
	return end
}
