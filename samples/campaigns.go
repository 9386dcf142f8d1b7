package samples

import (
	"strconv"
	"time"
)

// setup builds the organisation, the labels and the period's plan.
func (g *generator) setup(want map[string]bool) {
	g.makeEmployees(max(20, int(200*g.cfg.Scale+0.5)))
	g.makeVisitors()

	offices := g.scaled(1)
	for i := range offices {
		g.natIPs = append(g.natIPs, "198.51.100."+strconv.Itoa(10+i%240)) // one branch office per address
		if i >= 240 {
			g.natIPs[i] = "100.127." + strconv.Itoa(i/240) + "." + strconv.Itoa(10+i%240)
		}
	}
	for i := range g.emps {
		if g.r.IntN(100) < 15 {
			g.emps[i].nat = 1 + g.r.IntN(offices)
		}
	}
	for i := 1; len(g.natIPs) > 0 && i < 4 && i < len(g.emps); i++ {
		if g.emps[i].nat == 0 {
			g.emps[i].nat = 1 // every office has a few people
		}
	}
	var withOld []int32
	for i := range g.emps {
		if g.r.IntN(100) < 3 || i == len(g.emps)-1 && len(withOld) == 0 {
			e := &g.emps[i]
			e.old = g.newCert(e.user, "Devices", deviceCA)
			withOld = append(withOld, int32(i))
		}
	}
	gw := g.newCert("sso-gateway", "Services", servicesCA)
	g.gateway = client{ip: "10.0.5.10", ua: nginxEscape("sso-gateway/2.4 (+https://sso.example.com)"), verify: "SUCCESS", cert: gw}
	for i := range g.scaled(1) {
		name := "lobby-kiosk-" + strconv.Itoa(101 + i)[1:]
		g.kiosks = append(g.kiosks, client{
			ip: "10.40." + strconv.Itoa(1+i/200) + "." + strconv.Itoa(25+i%200), ua: uaKiosk, verify: "SUCCESS",
			cert: g.newCert(name, "Kiosks", deviceCA),
		})
	}

	// Stolen certificates belong to employees at their desks (not behind
	// the office NAT); they keep using their certificate as usual.
	var desk []int32
	for i := range g.emps {
		if g.emps[i].nat == 0 {
			desk = append(desk, int32(i))
		}
	}
	g.r.Shuffle(len(desk), func(i, j int) { desk[i], desk[j] = desk[j], desk[i] })
	stolen, lockers := desk[:8], desk[8:]

	for _, k := range AttackKinds {
		if want[k] {
			g.addCampaign(k, stolen)
		}
	}
	var optIn []int32 // labelled now, planned once the day is
	for _, k := range OptInKinds {
		if want[k] {
			optIn = append(optIn, g.newLabel(k, false))
		}
	}
	g.tagWave = g.newLabel(KindGatewayWave, true)
	g.addIdentity(g.tagWave, gw.fp)
	g.tagNAT = g.newLabel(KindOfficeNAT, true)
	for _, ip := range g.natIPs {
		g.addIdentity(g.tagNAT, ip)
	}
	g.tagKiosk = g.newLabel(KindLobbyKiosk, true)
	for _, k := range g.kiosks {
		g.addIdentity(g.tagKiosk, k.cert.fp)
	}
	g.tagLockout = g.newLabel(KindSelfLockout, true)

	dayStart := g.start - ((g.start%day)+day)%day
	for ds := dayStart; ds < g.end; ds += day {
		g.planDay(ds, lockers, withOld)
	}
	if len(optIn) > 0 {
		g.ownDraws(func() { g.addOptIn(optIn, lockers) })
	}
}

func (g *generator) add(at int64, kind uint8, who, aux int32) {
	if at >= g.start && at < g.end {
		g.plan = append(g.plan, planned{at: at, kind: kind, who: who, aux: aux})
	}
}

// planDay plans one UTC day of logins, logouts, kiosk sessions, lockouts and
// expired-certificate attempts.
func (g *generator) planDay(ds int64, lockers, withOld []int32) {
	waveStart := ds + 8*hour + 30*minute
	for i := range g.emps {
		if g.r.IntN(10) == 0 {
			continue // not working today
		}
		who := int32(i)
		ws := ds + 7*hour + 30*minute + g.between(0, 2*time.Hour)
		if g.emps[i].nat > 0 {
			ws = ds + 8*hour + g.between(0, 90*time.Minute)
		}
		if g.r.IntN(10) < 4 {
			// Through the SSO gateway: the morning wave.
			at := waveStart + (g.r.Int64N(hour)+g.r.Int64N(hour))/2
			g.add(at, pGatewayLogin, who, g.tagWave)
		} else {
			g.add(ws, pDirectLogin, who, 0)
		}
		if g.r.IntN(100) < 35 {
			at := ds + 13*hour + g.between(0, 90*time.Minute)
			if g.r.IntN(10) < 3 {
				g.add(at, pGatewayLogin, who, 0)
			} else {
				g.add(at, pDirectLogin, who, 0)
			}
		}
		if g.r.IntN(10) < 3 {
			g.add(ws+8*hour+g.between(0, 90*time.Minute), pLogout, who, 0)
		}
	}
	// SSO logins through the working day, besides the morning wave.
	for range g.scaled(30) {
		g.add(ds+9*hour+30*minute+g.between(0, 8*time.Hour+30*time.Minute), pGatewayLogin, int32(g.r.IntN(len(g.emps))), 0)
	}
	for range g.scaled(40) {
		g.add(ds+8*hour+g.between(0, 10*time.Hour), pKiosk, int32(g.r.IntN(len(g.emps))), int32(g.r.IntN(len(g.kiosks))))
	}
	for range g.scaled(1) {
		who := lockers[g.r.IntN(len(lockers))]
		at := ds + 9*hour + g.between(0, 8*time.Hour)
		if at >= g.start && at < g.end {
			g.addIdentity(g.tagLockout, g.emps[who].cert.fp)
		}
		g.add(at, pLockout, who, 0)
	}
	for range g.scaled(4) {
		g.add(ds+7*hour+g.between(0, 11*time.Hour), pExpired, withOld[g.r.IntN(len(withOld))], 0)
	}
}

// place picks a start time at a random fraction in [lo, hi) of the period,
// moved earlier if a campaign of length span would not end in time.
func (g *generator) place(lo, hi float64, span int64) int64 {
	d := float64(g.end - g.start)
	t := g.start + int64(d*(lo+(hi-lo)*g.r.Float64()))
	if latest := g.end - 10*minute - span; t > latest {
		t = latest
	}
	return max(t, g.start)
}

// sprayList returns nEmp real usernames and nInv invalid ones, shuffled,
// with the extra names mixed in.
func (g *generator) sprayList(nEmp, nInv int, extra ...string) []string {
	if nEmp > len(g.emps) { // a small organisation: the list keeps its length
		nInv += nEmp - len(g.emps)
		nEmp = len(g.emps)
	}
	var us []string
	for _, i := range g.r.Perm(len(g.emps))[:nEmp] {
		us = append(us, g.emps[i].user)
	}
	for _, u := range extra {
		if !contains(us, u) {
			us = append(us, u)
		}
	}
	pool := g.invalidPool(nInv + len(extra))
	for _, u := range pool {
		if len(us) >= nEmp+nInv+len(extra) {
			break
		}
		if !contains(us, u) {
			us = append(us, u)
		}
	}
	g.r.Shuffle(len(us), func(i, j int) { us[i], us[j] = us[j], us[i] })
	return us
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// invalidPool returns n names that are not accounts: common guesses first,
// then plausible first.last names that are not in the directory.
func (g *generator) invalidPool(n int) []string {
	pool := append([]string(nil), invalidUsers...)
	g.r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	for len(pool) < n {
		u := firstNames[g.r.IntN(len(firstNames))] + "." + lastNames[g.r.IntN(len(lastNames))]
		if g.r.IntN(3) == 0 {
			u = firstNames[g.r.IntN(len(firstNames))][:1] + lastNames[g.r.IntN(len(lastNames))]
		}
		if !g.known[u] && !contains(pool, u) {
			pool = append(pool, u)
		}
	}
	return pool[:n]
}

func (g *generator) stolenClient(e int32, ip, ua string) client {
	return client{ip: ip, ua: ua, verify: "SUCCESS", cert: g.emps[e].cert}
}

// addCampaign labels one attack campaign and plans it.
func (g *generator) addCampaign(kind string, stolen []int32) {
	tag := g.newLabel(kind, false)
	l := g.labels[tag-1]
	var at int64
	switch kind {
	case KindFastSpray:
		// A stolen device certificate, ~40 usernames, one or two common
		// passwords, a few seconds apart.
		c := g.stolenClient(stolen[0], "203.0.113.77", uaPython)
		users := g.sprayList(32, 8, `admin"--`, `CORP\administrator`)
		rounds := 1 + g.r.IntN(2)
		at = g.place(0.40, 0.70, 10*minute)
		l.run = func(g *generator, t int64, tag int32) {
			for range rounds {
				for i, u := range users {
					if i%10 == 0 {
						t = g.hit(&c, t, &pgLoginPlain, "-", evNone, "", tag) + g.between(200*time.Millisecond, 600*time.Millisecond)
					}
					t = g.login(&c, t, u, false, "-", tag)
					t += g.between(time.Second, 3500*time.Millisecond)
				}
			}
		}
		g.addIdentity(tag, c.cert.fp)
	case KindLowAndSlow:
		// One certificate, 300+ usernames, spread evenly over up to 12
		// hours from a handful of rotating addresses.
		cert := g.emps[stolen[1]].cert
		nEmp := min(240, len(g.emps))
		users := g.sprayList(nEmp, 320-nEmp, "zoë.müller")
		span := min(12*hour, (g.end-g.start)/2)
		gap := span / int64(len(users))
		ips := []string{"203.0.113.201", "203.0.113.202", "203.0.113.203", "198.18.7.44", "198.18.9.12", "2001:db8:bad::7"}
		at = g.place(0.02, 0.45, span)
		l.run = func(g *generator, t int64, tag int32) {
			for _, u := range users {
				c := client{ip: ips[g.r.IntN(len(ips))], ua: nginxEscape(browserUAs[1]), verify: "SUCCESS", cert: cert}
				t = g.login(&c, t, u, false, "-", tag)
				t += gap/2 + g.r.Int64N(gap)
			}
		}
		g.addIdentity(tag, cert.fp)
	case KindDistributed:
		// Five certificates from one /24, each well under 10 usernames per
		// 10 minutes, sharing one list between them.
		users := g.sprayList(100, 20)
		var cs []client
		for i := range 5 {
			c := g.stolenClient(stolen[2+i], "192.0.2."+strconv.Itoa(101+i), uaPython)
			cs = append(cs, c)
			g.addIdentity(tag, c.cert.fp)
		}
		at = g.place(0.55, 0.80, time.Hour.Nanoseconds())
		l.run = func(g *generator, t0 int64, tag int32) {
			for i := range cs {
				t := t0 + g.between(0, 3*time.Minute)
				for j := i; j < len(users); j += len(cs) {
					t = g.login(&cs[i], t, users[j], false, "-", tag)
					t += g.between(70*time.Second, 130*time.Second)
				}
			}
		}
	case KindSuccessfulSpray:
		// One password over 30 usernames, then a second one that works for
		// one of them, then the attacker looks around as that user.
		c := g.stolenClient(stolen[7], "203.0.113.145", nginxEscape(browserUAs[0]))
		users := g.sprayList(26, 4)
		hitAt := 8 + g.r.IntN(15)
		for hitAt < len(users) && !g.known[users[hitAt]] {
			hitAt++
		}
		if hitAt == len(users) {
			hitAt = 0
			for !g.known[users[hitAt]] {
				hitAt++
			}
		}
		at = g.place(0.62, 0.75, 20*time.Minute.Nanoseconds())
		l.run = func(g *generator, t int64, tag int32) {
			for _, u := range users {
				t = g.login(&c, t, u, false, "-", tag)
				t += g.between(2*time.Second, 6*time.Second)
			}
			t += g.between(30*time.Second, 2*time.Minute)
			for i, u := range users[:hitAt+1] {
				t = g.login(&c, t, u, i == hitAt, "-", tag)
				t += g.between(2*time.Second, 6*time.Second)
			}
			t = g.hit(&c, t, &pgDashboard, "-", evNone, "", tag)
			for p := range 6 {
				t += g.between(time.Second, 4*time.Second)
				pg := page{mkReq("GET", "/api/v1/users/?page="+strconv.Itoa(p+1)), 200, 40000, 52000, 80, 400, false}
				t = g.hit(&c, t, &pg, "-", evNone, "", tag)
			}
		}
		g.addIdentity(tag, c.cert.fp)
	case KindGatewaySpray:
		// Through the SSO gateway while its ordinary logins go on.
		users := g.sprayList(28, 4)
		at = g.place(0.46, 0.62, 15*minute)
		l.run = func(g *generator, t int64, tag int32) {
			for _, u := range users {
				t = g.login(&g.gateway, t, u, false, "-", tag)
				t += g.between(8*time.Second, 20*time.Second)
			}
		}
		g.addIdentity(tag, g.gateway.cert.fp)
	case KindProxyBypass:
		// An internal host talks to Django directly: Django lines whose
		// request ids no proxy line carries.
		users := g.sprayList(20, 5)
		at = g.place(0.80, 0.90, 10*minute)
		l.run = func(g *generator, t int64, tag int32) {
			for _, u := range users {
				t = g.login(nil, t, u, false, "-", tag)
				t += g.between(4*time.Second, 12*time.Second)
			}
		}
		g.addIdentity(tag, "10.13.37.5")
	case KindNoCertSpray:
		// No client certificate, one source address, the login page and
		// then the form for every username.
		c := client{ip: "192.0.2.66", ua: uaHttpx, verify: "NONE"}
		users := g.sprayList(35, 10, "ａｄｍｉｎ", "josé.garcía")
		at = g.place(0.15, 0.35, 10*minute)
		l.run = func(g *generator, t int64, tag int32) {
			for _, u := range users {
				t = g.hit(&c, t, &pgLoginPlain, "-", evNone, "", tag) + g.between(100*time.Millisecond, 500*time.Millisecond)
				t = g.login(&c, t, u, false, "-", tag)
				t += g.between(3*time.Second, 8*time.Second)
			}
		}
		g.addIdentity(tag, c.ip)
	}
	g.plan = append(g.plan, planned{at: at, kind: pCampaign, who: tag})
}
