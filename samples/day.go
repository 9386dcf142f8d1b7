package samples

import (
	"strconv"
	"time"
)

// reqLine is a request line ($request) for HTTP/1.1 and HTTP/2 clients,
// already escaped for the log.
type reqLine struct{ h1, h2 string }

func mkReq(method, target string) reqLine {
	t := nginxEscape(target)
	return reqLine{method + " " + t + " HTTP/1.1", method + " " + t + " HTTP/2.0"}
}

func (c *client) line(r reqLine) string {
	if c.h2 {
		return r.h2
	}
	return r.h1
}

// page is a kind of request with its usual response.
type page struct {
	req          reqLine
	status       int32
	lo, hi       int32 // body size range
	rtLo, rtHi   int64 // request time range, ms
	revalidating bool  // may be answered 304
}

const (
	loginPath  = "/accounts/login/"
	portalHost = "https://portal.example.com"
)

var (
	reqLoginPage      = mkReq("GET", loginPath+"?next=/dashboard/")
	reqLoginPagePlain = mkReq("GET", loginPath)
	reqLoginPost      = mkReq("POST", loginPath)
	reqLogout         = mkReq("POST", "/accounts/logout/")
	reqPasswordReset  = mkReq("POST", "/accounts/password_reset/")
	reqDashboard      = mkReq("GET", "/dashboard/")
	reqHealth         = mkReq("GET", "/healthz")
	reqSessionAPI     = mkReq("GET", "/api/v1/session/")

	refLogin     = nginxEscape(portalHost + loginPath + "?next=/dashboard/")
	refDashboard = nginxEscape(portalHost + "/dashboard/")
)

var employeePages = []page{
	{mkReq("GET", "/dashboard/"), 200, 18000, 26000, 40, 260, false},
	{mkReq("GET", "/tickets/"), 200, 22000, 41000, 60, 420, false},
	{mkReq("GET", "/tickets/?page=2"), 200, 22000, 41000, 60, 420, false},
	{mkReq("GET", "/tickets/4711/"), 200, 9000, 15000, 30, 200, false},
	{mkReq("GET", "/reports/weekly/"), 200, 48000, 91000, 200, 1800, false},
	{mkReq("GET", "/profile/"), 200, 7000, 9000, 20, 120, false},
	{mkReq("GET", "/search/?q=vpn+setup"), 200, 11000, 19000, 80, 900, false},
	{mkReq("GET", "/wiki/Onboarding/"), 200, 14000, 30000, 30, 300, false},
	{mkReq("GET", "/api/v1/notifications/"), 200, 300, 2200, 8, 60, false},
	{mkReq("GET", "/api/v1/tickets/?assigned=me"), 200, 1500, 9000, 15, 140, false},
	{mkReq("POST", "/api/v1/events/"), 204, 0, 1, 5, 40, false},
}

var assetPages = []page{
	{mkReq("GET", "/static/css/app.4f9a1c.css"), 200, 31000, 31001, 1, 12, true},
	{mkReq("GET", "/static/js/app.8d2e77.js"), 200, 184000, 184001, 2, 30, true},
	{mkReq("GET", "/static/js/vendor.1b0c3d.js"), 200, 412000, 412001, 3, 45, true},
	{mkReq("GET", "/static/img/logo.svg"), 200, 4100, 4101, 1, 6, true},
	{mkReq("GET", "/api/v1/notifications/"), 200, 300, 2200, 8, 60, false},
	{mkReq("GET", "/favicon.ico"), 200, 15086, 15087, 1, 4, true},
}

var publicPages = []page{
	{mkReq("GET", "/"), 200, 9000, 12000, 10, 80, false},
	{mkReq("GET", "/about/"), 200, 7000, 9000, 10, 60, false},
	{mkReq("GET", "/careers/"), 200, 12000, 16000, 15, 90, false},
	{mkReq("GET", "/static/css/site.css"), 200, 21000, 21001, 1, 8, true},
	{mkReq("GET", "/robots.txt"), 200, 68, 69, 1, 3, false},
	{mkReq("GET", "/favicon.ico"), 200, 15086, 15087, 1, 4, true},
	{mkReq("GET", loginPath), 200, 4200, 4400, 15, 90, false},
	{mkReq("GET", "/wp-login.php"), 404, 3500, 3501, 3, 20, false},
	{mkReq("GET", "/.env"), 404, 3500, 3501, 3, 20, false},
	{mkReq("GET", "/café/menü"), 404, 3500, 3501, 3, 20, false},
	{mkReq("GET", `/search/?q="quoted"\path`), 200, 8000, 9000, 30, 200, false},
}

var publicUAs = []string{
	nginxEscape("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
	nginxEscape("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
	nginxEscape("curl/8.5.0"),
	nginxEscape(browserUAs[0]),
	nginxEscape(browserUAs[2]),
	nginxEscape(`Mozilla/5.0 (compatible; "Probe"/1.0; +http://example.net/bot)`),
	nginxEscape(`Go-http-client/1.1 \scanner`),
}

var (
	uaPython = nginxEscape("python-requests/2.32.3")
	uaHttpx  = nginxEscape("python-httpx/0.27.2")
	uaKiosk  = nginxEscape("Mozilla/5.0 (X11; Linux aarch64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36 Kiosk/1.4")
	uaProbe  = nginxEscape("kube-probe/1.31")
)

// hit adds one request from c that starts at t0 and returns when nginx logs
// it. With an application event, Django logs it a few ms to a few hundred
// ms before nginx does; a nil client makes a Django line with no proxy line.
func (g *generator) hit(c *client, t0 int64, p *page, ref string, ev uint8, user string, tag int32) int64 {
	id := g.rid()
	end := t0
	if ev != evNone {
		at := t0 + 4*ms + g.r.Int64N(90*ms)
		if g.r.IntN(8) == 0 {
			at += g.r.Int64N(400 * ms) // a slow password hash or database
		}
		end = at + 2*ms + g.r.Int64N(120*ms)
		ip := "10.13.37.5"
		if c != nil {
			ip = c.ip
		}
		g.app = append(g.app, appRec{at: at, rid: id, ev: ev, user: user, ip: ip, tag: tag})
		if c == nil {
			return at
		}
	} else {
		end = t0 + (p.rtLo+g.r.Int64N(p.rtHi-p.rtLo+1))*ms
	}
	status, bytes := p.status, p.lo+g.r.Int32N(p.hi-p.lo)
	if p.revalidating && g.r.IntN(5) < 2 {
		status, bytes = 304, 0
	}
	g.proxy = append(g.proxy, proxyRec{
		end: end, rid: id, ip: c.ip, cert: c.cert, verify: c.verify,
		req: c.line(p.req), ref: ref, ua: c.ua,
		status: status, bytes: bytes, rt: int32((end - t0) / ms), tag: tag,
	})
	return end
}

var (
	pgLoginPage  = page{reqLoginPage, 200, 4200, 4400, 15, 90, false}
	pgLoginPlain = page{reqLoginPagePlain, 200, 4200, 4400, 15, 90, false}
	pgLoginFail  = page{reqLoginPost, 200, 4450, 4650, 0, 0, false}
	pgLoginEmpty = page{reqLoginPost, 200, 4450, 4650, 20, 120, false}
	pgLoginOK    = page{reqLoginPost, 302, 0, 1, 0, 0, false}
	pgLockedOut  = page{reqLoginPost, 403, 2100, 2200, 0, 0, false}
	pgLogout     = page{reqLogout, 302, 0, 1, 0, 0, false}
	pgReset      = page{reqPasswordReset, 302, 0, 1, 0, 0, false}
	pgDashboard  = page{reqDashboard, 200, 18000, 26000, 40, 260, false}
	pgHealth     = page{reqHealth, 200, 2, 3, 1, 3, false}
	pgSessionAPI = page{reqSessionAPI, 200, 180, 420, 4, 30, false}
	pgCertError  = page{reqDashboard, 400, 230, 231, 0, 1, false}
)

// login posts the login form; ok says whether the password was right.
func (g *generator) login(c *client, t int64, user string, ok bool, ref string, tag int32) int64 {
	g.addUser(tag, user)
	if ok {
		return g.hit(c, t, &pgLoginOK, ref, evSucceeded, jsonString(user), tag)
	}
	return g.hit(c, t, &pgLoginFail, ref, evFailed, jsonString(user), tag)
}

// typoName swaps two neighbouring letters of a username.
func (g *generator) typoName(u string) string {
	r := []rune(u)
	if len(r) < 4 {
		return u + u[len(u)-1:]
	}
	i := 1 + g.r.IntN(len(r)-2)
	r[i], r[i+1] = r[i+1], r[i]
	return string(r)
}

// typos returns how many failed attempts precede a person's successful login.
func (g *generator) typos(p float64) int {
	if !g.chance(p) {
		return 0
	}
	if g.r.IntN(4) == 0 {
		return 2
	}
	return 1
}

// interactiveLogin is a person at a browser: the login page, a few wrong
// passwords (sometimes a mistyped username), then success.
func (g *generator) interactiveLogin(c *client, e *employee, t int64, typoRate float64, tag int32) int64 {
	t = g.hit(c, t, &pgLoginPage, refDashboard, evNone, "", tag)
	t += g.between(3*time.Second, 14*time.Second)
	if g.r.IntN(100) < 3 {
		// An empty form: Django sends no user_login_failed signal, so
		// only the proxy logs this POST.
		t = g.hit(c, t, &pgLoginEmpty, refLogin, evNone, "", tag)
		t += g.between(2*time.Second, 8*time.Second)
	}
	for range g.typos(typoRate) {
		u := e.user
		if g.r.IntN(5) == 0 {
			u = g.typoName(u)
		}
		t = g.login(c, t, u, false, refLogin, tag)
		t += g.between(4*time.Second, 15*time.Second)
	}
	t = g.login(c, t, e.user, true, refLogin, tag)
	t += g.between(50*time.Millisecond, 400*time.Millisecond)
	return g.hit(c, t, &pgDashboard, refLogin, evNone, "", 0)
}

func (g *generator) expand(p *planned) {
	switch p.kind {
	case pDirectLogin:
		e := &g.emps[p.who]
		c := g.empClient(e)
		tag := int32(0)
		if e.nat > 0 {
			tag = g.tagNAT
		}
		g.interactiveLogin(&c, e, p.at, 0.12, tag)
	case pGatewayLogin:
		// The gateway posts the user's credentials itself; a user who
		// mistypes tries again on the SSO page a little later.
		e := &g.emps[p.who]
		t := p.at
		for range g.typos(0.12) {
			u := e.user
			if g.r.IntN(5) == 0 {
				u = g.typoName(u)
			}
			t = g.login(&g.gateway, t, u, false, "-", p.aux)
			t += g.between(5*time.Second, 25*time.Second)
		}
		g.login(&g.gateway, t, e.user, true, "-", p.aux)
	case pKiosk:
		e := &g.emps[p.who]
		c := &g.kiosks[p.aux]
		t := g.interactiveLogin(c, e, p.at, 0.2, g.tagKiosk)
		for range 2 + g.r.IntN(3) {
			t += g.between(5*time.Second, 50*time.Second)
			t = g.hit(c, t, &employeePages[g.r.IntN(len(employeePages))], refDashboard, evNone, "", g.tagKiosk)
		}
		t += g.between(10*time.Second, 90*time.Second)
		t = g.hit(c, t, &pgLogout, refDashboard, evLogout, e.userJSON, g.tagKiosk)
		g.hit(c, t+g.between(20*time.Millisecond, 200*time.Millisecond), &pgLoginPlain, refDashboard, evNone, "", g.tagKiosk)
	case pLogout:
		e := &g.emps[p.who]
		c := g.empClient(e)
		t := g.hit(&c, p.at, &pgLogout, refDashboard, evLogout, e.userJSON, 0)
		g.hit(&c, t+g.between(20*time.Millisecond, 200*time.Millisecond), &pgLoginPlain, refDashboard, evNone, "", 0)
	case pLockout:
		// Five wrong passwords on their own account, a sixth attempt that
		// is refused, then a password reset.
		e := &g.emps[p.who]
		c := g.empClient(e)
		tag := g.tagLockout
		t := g.hit(&c, p.at, &pgLoginPage, refDashboard, evNone, "", tag)
		for range 5 {
			t += g.between(6*time.Second, 30*time.Second)
			t = g.login(&c, t, e.user, false, refLogin, tag)
		}
		t += g.between(10*time.Second, 40*time.Second)
		t = g.hit(&c, t, &pgLockedOut, refLogin, evLockedOut, e.userJSON, tag)
		t += g.between(2*time.Minute, 15*time.Minute)
		g.hit(&c, t, &pgReset, refLogin, evPasswordReset, e.userJSON, tag)
	case pExpired:
		// The device presents its old, expired certificate; nginx answers
		// 400 itself and Django never sees the request.
		e := &g.emps[p.who]
		c := client{ip: e.ip, ua: e.ua, verify: "FAILED:certificate has expired", cert: e.old}
		t := p.at
		for range 1 + g.r.IntN(3) {
			t = g.hit(&c, t, &pgCertError, "-", evNone, "", 0)
			t += g.between(time.Second, 20*time.Second)
		}
	case pCampaign:
		l := g.labels[p.who-1]
		l.run(g, p.at, p.who)
	}
}

// weight is the relative traffic level at a time of day.
func weight(tod int64) float64 {
	h := tod / hour
	switch {
	case h < 6:
		return 0.03
	case h < 7:
		return 0.1
	case h < 8:
		return 0.4
	case h < 12:
		return 1
	case h < 13:
		return 0.7
	case h < 17:
		return 1
	case h < 18:
		return 0.6
	case h < 20:
		return 0.25
	}
	return 0.06
}

// background adds the traffic that is not a login: employees browsing,
// public pages without a client certificate, the gateway's own API calls,
// and health checks.
func (g *generator) background(cs, ce int64) {
	tod := ((cs % day) + day) % day
	if (cs-g.start)%(5*minute) == 0 {
		c := client{ip: "10.0.0.3", ua: uaProbe, verify: "NONE"}
		g.hit(&c, cs+g.r.Int64N(second), &pgHealth, "-", evNone, "", 0)
	}
	// The gateway re-authenticates its users in the background all day
	// (about seven times per employee): many users' successful logins
	// through one certificate.
	frac := float64(ce-cs) / float64(minute)
	for range g.poisson(1.9 * g.cfg.Scale * weight(tod) * frac) {
		e := &g.emps[g.r.IntN(len(g.emps))]
		g.hit(&g.gateway, cs+g.r.Int64N(ce-cs), &pgLoginOK, "-", evSucceeded, e.userJSON, 0)
	}
	views := g.poisson(4.5 * g.cfg.Scale * weight(tod) * frac)
	for range views {
		t := cs + g.r.Int64N(ce-cs)
		switch x := g.r.IntN(100); {
		case x < 87:
			e := &g.emps[g.r.IntN(len(g.emps))]
			c := g.empClient(e)
			t = g.hit(&c, t, &employeePages[g.r.IntN(len(employeePages))], refDashboard, evNone, "", 0)
			for range g.r.IntN(4) {
				t += g.between(5*time.Millisecond, 300*time.Millisecond)
				g.hit(&c, t, &assetPages[g.r.IntN(len(assetPages))], refDashboard, evNone, "", 0)
			}
		case x < 96:
			c := client{ip: g.publicIP(), ua: publicUAs[g.r.IntN(len(publicUAs))], verify: "NONE"}
			for range 1 + g.r.IntN(2) {
				t = g.hit(&c, t, &publicPages[g.r.IntN(len(publicPages))], "-", evNone, "", 0)
				t += g.between(100*time.Millisecond, 3*time.Second)
			}
		default:
			g.hit(&g.gateway, t, &pgSessionAPI, "-", evNone, "", 0)
		}
	}
}

// publicIP returns an address of an anonymous visitor: documentation
// ranges, a fifth of them IPv6.
func (g *generator) publicIP() string {
	n := g.r.IntN(len(g.visitorIPs))
	return g.visitorIPs[n]
}

func (g *generator) makeVisitors() {
	for i := range 400 {
		var ip string
		switch i % 5 {
		case 0:
			ip = "2001:db8:" + strconv.FormatInt(int64(g.r.IntN(0xffff)), 16) + "::" + strconv.FormatInt(int64(1+g.r.IntN(0xfffe)), 16)
		case 1, 2:
			ip = "203.0.113." + strconv.Itoa(1+g.r.IntN(60))
		default:
			ip = "100." + strconv.Itoa(64+g.r.IntN(64)) + "." + strconv.Itoa(g.r.IntN(256)) + "." + strconv.Itoa(1+g.r.IntN(254))
		}
		g.visitorIPs = append(g.visitorIPs, ip)
	}
}
