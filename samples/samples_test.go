package samples

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var proxyLineRE = regexp.MustCompile(`^(\S+) - - \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000)\] "((?:[ -!#-\[\]-~]|\\x[0-9A-F]{2})*)" (\d{3}) (\d+) "((?:[ -!#-\[\]-~]|\\x[0-9A-F]{2})*)" "((?:[ -!#-\[\]-~]|\\x[0-9A-F]{2})*)" rid=([0-9a-f]{32}) verify=(SUCCESS|NONE|FAILED:[a-z ]+) fp=([0-9a-f]{40}|-) serial=([0-9A-F]{16}|-) dn="((?:[ -!#-\[\]-~]|\\x[0-9A-F]{2})*)" idn="((?:[ -!#-\[\]-~]|\\x[0-9A-F]{2})*)" rt=(\d+\.\d{3})$`)

var ridRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

type proxyLine struct {
	ip, req, rid, verify, fp, serial, dn string
	status                               string
	t                                    time.Time
	rt                                   time.Duration
}

type appLine struct {
	Timestamp string `json:"timestamp"`
	Level     string `json:"level"`
	Logger    string `json:"logger"`
	Event     string `json:"event"`
	RequestID string `json:"request_id"`
	Username  string `json:"username"`
	IP        string `json:"ip"`
	t         time.Time
}

type output struct {
	labels      []Campaign
	stats       Stats
	proxy, app  []byte
	proxyLines  []proxyLine
	appLines    []appLine
	proxyByRID  map[string]*proxyLine
	appKeyOrder []string
}

func generate(t testing.TB, c Config) *output {
	t.Helper()
	var p, a bytes.Buffer
	labels, st, err := Generate(c, &p, &a)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", c, err)
	}
	return &output{labels: labels, stats: st, proxy: p.Bytes(), app: a.Bytes()}
}

// parse checks every line's shape and decodes it.
func (o *output) parse(t *testing.T) {
	t.Helper()
	o.proxyByRID = map[string]*proxyLine{}
	sc := bufio.NewScanner(bytes.NewReader(o.proxy))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		m := proxyLineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("proxy line %d does not match mtls_combined: %q", n, sc.Text())
		}
		ts, err := time.Parse("02/Jan/2006:15:04:05 -0700", m[2])
		if err != nil {
			t.Fatalf("proxy line %d: %v", n, err)
		}
		rt, err := time.ParseDuration(m[14] + "s")
		if err != nil {
			t.Fatalf("proxy line %d: %v", n, err)
		}
		pl := proxyLine{ip: m[1], req: m[3], status: m[4], rid: m[8], verify: m[9], fp: m[10], serial: m[11], dn: m[12], t: ts.UTC(), rt: rt}
		if (pl.fp == "-") != (pl.verify == "NONE") || (pl.serial == "-") != (pl.fp == "-") || (pl.dn == "-") != (pl.fp == "-") {
			t.Fatalf("proxy line %d: certificate fields disagree with verify: %q", n, sc.Text())
		}
		o.proxyLines = append(o.proxyLines, pl)
		if o.proxyByRID[pl.rid] != nil {
			t.Fatalf("proxy line %d: request id %s used twice", n, pl.rid)
		}
		o.proxyByRID[pl.rid] = &o.proxyLines[len(o.proxyLines)-1]
	}
	if int64(len(o.proxyLines)) != o.stats.ProxyLines {
		t.Fatalf("Stats.ProxyLines = %d, file has %d", o.stats.ProxyLines, len(o.proxyLines))
	}
	for i := range o.proxyLines { // pointers into a grown slice are stale
		o.proxyByRID[o.proxyLines[i].rid] = &o.proxyLines[i]
	}
	sc = bufio.NewScanner(bytes.NewReader(o.app))
	for n := 1; sc.Scan(); n++ {
		var al appLine
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&al); err != nil {
			t.Fatalf("app line %d: %v: %q", n, err, sc.Text())
		}
		if n == 1 {
			o.appKeyOrder = keyOrder(t, sc.Bytes())
		}
		ts, err := time.Parse("2006-01-02T15:04:05.000000Z", al.Timestamp)
		if err != nil {
			t.Fatalf("app line %d: timestamp: %v", n, err)
		}
		al.t = ts
		if !ridRE.MatchString(al.RequestID) || al.Logger != "accounts.auth" {
			t.Fatalf("app line %d: bad request_id or logger: %q", n, sc.Text())
		}
		want := map[string]string{"login_failed": "warning", "user_locked_out": "warning", "login_succeeded": "info",
			"logout": "info", "password_reset_requested": "info"}[al.Event]
		if want == "" || al.Level != want {
			t.Fatalf("app line %d: event %q with level %q", n, al.Event, al.Level)
		}
		o.appLines = append(o.appLines, al)
	}
	if int64(len(o.appLines)) != o.stats.AppLines {
		t.Fatalf("Stats.AppLines = %d, file has %d", o.stats.AppLines, len(o.appLines))
	}
}

func keyOrder(t *testing.T, line []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(line))
	var keys []string
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestCommittedSamplesAreCurrent(t *testing.T) {
	o := generate(t, DefaultConfig())
	var lb bytes.Buffer
	if err := WriteLabels(&lb, o.labels); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, f := range []struct {
		path string
		want []byte
	}{
		{"data/nginx-access.log", o.proxy},
		{"data/django-auth.log", o.app},
		{"data/campaigns.json", lb.Bytes()},
	} {
		got, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		total += len(got)
		if !bytes.Equal(got, f.want) {
			t.Errorf("%s differs from what DefaultConfig generates (%d vs %d bytes); rerun `go run ./samples/cmd/samplegen` from the repository root", f.path, len(got), len(f.want))
		}
	}
	if total >= 5_000_000 {
		t.Errorf("committed samples are %d bytes, want < 5 MB", total)
	}
}

func TestDeterministic(t *testing.T) {
	c := DefaultConfig()
	c.Seed, c.Duration = 7, 8*time.Hour
	a, b := generate(t, c), generate(t, c)
	if !bytes.Equal(a.proxy, b.proxy) || !bytes.Equal(a.app, b.app) || !reflect.DeepEqual(a.labels, b.labels) {
		t.Fatal("two runs with the same config differ")
	}
	c.Seed = 8
	d := generate(t, c)
	if bytes.Equal(a.proxy, d.proxy) || bytes.Equal(a.app, d.app) {
		t.Fatal("seeds 7 and 8 give the same output")
	}
}

func TestOutputsSortedAndJoinable(t *testing.T) {
	o := generate(t, DefaultConfig())
	o.parse(t)
	for i := 1; i < len(o.proxyLines); i++ {
		if o.proxyLines[i].t.Before(o.proxyLines[i-1].t) {
			t.Fatalf("proxy line %d (%v) is before line %d (%v)", i+1, o.proxyLines[i].t, i, o.proxyLines[i-1].t)
		}
	}
	for i := 1; i < len(o.appLines); i++ {
		if o.appLines[i].t.Before(o.appLines[i-1].t) {
			t.Fatalf("app line %d (%v) is before line %d (%v)", i+1, o.appLines[i].t, i, o.appLines[i-1].t)
		}
	}
	if want := []string{"timestamp", "level", "logger", "event", "request_id", "username", "ip"}; !slices.Equal(o.appKeyOrder, want) {
		t.Errorf("app keys %v, want %v", o.appKeyOrder, want)
	}
	c := DefaultConfig()
	first, last := c.Start, c.Start.Add(c.Duration+time.Hour)
	if o.proxyLines[0].t.Before(first) || o.proxyLines[len(o.proxyLines)-1].t.After(last) {
		t.Errorf("proxy lines span %v..%v, outside the period", o.proxyLines[0].t, o.proxyLines[len(o.proxyLines)-1].t)
	}
	// Django logs before nginx does, by a few ms to a few hundred ms.
	joined, logins := 0, 0
	for _, a := range o.appLines {
		p := o.proxyByRID[a.RequestID]
		if p == nil {
			continue
		}
		joined++
		if d := p.t.Sub(a.t.Truncate(time.Second)); d < 0 || d > time.Second {
			t.Errorf("request %s: nginx at %v, Django at %v", a.RequestID, p.t, a.t)
		}
		if a.Event == "login_failed" || a.Event == "login_succeeded" {
			logins++
			if !strings.HasPrefix(p.req, "POST /accounts/login/ ") {
				t.Errorf("request %s: login event on %q", a.RequestID, p.req)
			}
			if want := map[string]string{"login_failed": "200", "login_succeeded": "302"}[a.Event]; p.status != want {
				t.Errorf("request %s: %s answered %s", a.RequestID, a.Event, p.status)
			}
		}
	}
	if joined < len(o.appLines)*9/10 || logins == 0 {
		t.Errorf("%d of %d app lines have a proxy line (%d logins)", joined, len(o.appLines), logins)
	}
	// Most traffic is not a login; all kinds of verification appear.
	verify, loginPosts := map[string]int{}, 0
	for _, p := range o.proxyLines {
		verify[strings.SplitN(p.verify, ":", 2)[0]]++
		if strings.HasPrefix(p.req, "POST /accounts/login/ ") {
			loginPosts++
		}
	}
	if loginPosts == 0 || loginPosts > len(o.proxyLines)/4 || verify["SUCCESS"] == 0 || verify["NONE"] == 0 || verify["FAILED"] == 0 {
		t.Errorf("%d proxy lines, %d login posts, verify %v", len(o.proxyLines), loginPosts, verify)
	}
}

func TestEscaping(t *testing.T) {
	o := generate(t, DefaultConfig())
	for _, b := range o.proxy {
		if b != '\n' && (b < 32 || b > 126) {
			t.Fatalf("proxy log holds byte %#x, which nginx escapes", b)
		}
	}
	for _, want := range []string{
		`dn="CN=jos\x5CC3\x5CA9.garc\x5CC3\x5CADa,OU=Devices,O=Example Corp,C=US"`, // RFC 2253 \C3, then \x5C
		`"GET /caf\xC3\xA9/men\xC3\xBC HTTP/`,
		`(compatible; \x22Probe\x22/1.0;`,
	} {
		if !bytes.Contains(o.proxy, []byte(want)) {
			t.Errorf("proxy log lacks %s", want)
		}
	}
	for _, want := range []string{`"username":"admin\"--"`, `"username":"CORP\\administrator"`, `"username":"jos\u00e9.garc\u00eda"`, `"username":"\uff41\uff44\uff4d\uff49\uff4e"`} {
		if !bytes.Contains(o.app, []byte(want)) {
			t.Errorf("app log lacks %s", want)
		}
	}
}

func TestLineCountsScale(t *testing.T) {
	c := DefaultConfig()
	c.Campaigns = []string{}
	var prev Stats
	for i, s := range []float64{1, 2, 4} {
		c.Scale = s
		_, st, err := Generate(c, new(bytes.Buffer), new(bytes.Buffer))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			for _, r := range []float64{float64(st.ProxyLines) / float64(prev.ProxyLines), float64(st.AppLines) / float64(prev.AppLines)} {
				if r < 1.8 || r > 2.2 {
					t.Errorf("scale %v: %+v, scale %v: %+v: ratio %.2f, want about 2", s/2, prev, s, st, r)
				}
			}
		}
		prev = st
	}
}

func TestLabelsRoundTrip(t *testing.T) {
	o := generate(t, DefaultConfig())
	var b bytes.Buffer
	if err := WriteLabels(&b, o.labels); err != nil {
		t.Fatal(err)
	}
	got, err := ReadLabels(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, o.labels) {
		t.Fatalf("labels changed in a round trip:\n%+v\n%+v", got, o.labels)
	}
	if _, err := ReadLabels(strings.NewReader(`[{"id":"x","bogus":1}]`)); err == nil {
		t.Error("ReadLabels accepted an unknown field")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{Start: time.Unix(0, 0), Duration: time.Minute, Scale: 1},
		{Start: time.Unix(0, 0), Duration: time.Hour, Scale: 0},
		{Start: time.Unix(0, 0), Duration: time.Hour, Scale: 1, Campaigns: []string{"nope"}},
	} {
		if _, _, err := Generate(c, new(bytes.Buffer), new(bytes.Buffer)); err == nil {
			t.Errorf("Generate(%+v) succeeded", c)
		}
	}
}

func TestCampaignSelection(t *testing.T) {
	for _, sel := range [][]string{{}, {KindFastSpray}, {KindProxyBypass, KindNoCertSpray}} {
		c := DefaultConfig()
		c.Campaigns = sel
		o := generate(t, c)
		var kinds []string
		for _, l := range o.labels {
			if !l.Negative {
				kinds = append(kinds, l.Kind)
			}
		}
		if !slices.Equal(kinds, sel) && !(len(kinds) == 0 && len(sel) == 0) {
			t.Errorf("Campaigns %v gave attack labels %v", sel, kinds)
		}
		if bytes.Contains(o.app, []byte(`"ip":"10.13.37.5"`)) != slices.Contains(sel, KindProxyBypass) {
			t.Errorf("Campaigns %v: proxy bypass lines present = %v", sel, !slices.Contains(sel, KindProxyBypass))
		}
	}
}

// TestOptInKinds checks the opt-in kinds: not generated unless named, and
// when named, their campaigns look as documented and every other line and
// label is the one generated without them.
func TestOptInKinds(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			c := DefaultConfig()
			c.Seed = seed
			def := generate(t, c)
			for _, l := range def.labels {
				if slices.Contains(OptInKinds, l.Kind) {
					t.Errorf("default corpus has %s", l.ID)
				}
			}
			c.Campaigns = append(slices.Clone(AttackKinds), OptInKinds...)
			o := generate(t, c)
			o.parse(t)
			checkCampaigns(t, o, true)
			var labels []Campaign
			for _, l := range o.labels {
				if !slices.Contains(OptInKinds, l.Kind) {
					labels = append(labels, l)
				}
			}
			if len(labels) != len(o.labels)-len(OptInKinds) || !reflect.DeepEqual(labels, def.labels) {
				t.Errorf("the other labels changed:\n%+v\n%+v", labels, def.labels)
			}
			// Without the lines of the opt-in requests, the output is the
			// default one byte for byte.
			optIn := map[string]bool{}
			var proxy, app bytes.Buffer
			for _, line := range bytes.SplitAfter(o.proxy, []byte("\n")) {
				if m := proxyLineRE.FindSubmatch(bytes.TrimSuffix(line, []byte("\n"))); m != nil &&
					(bytes.HasPrefix(m[3], []byte("POST /graphql ")) || bytes.HasPrefix(m[3], []byte("POST /api/token/ "))) {
					optIn[string(m[8])] = true
					continue
				}
				proxy.Write(line)
			}
			for i, line := range bytes.SplitAfter(o.app, []byte("\n")) {
				if i < len(o.appLines) && optIn[o.appLines[i].RequestID] {
					continue
				}
				app.Write(line)
			}
			if len(optIn) == 0 || !bytes.Equal(proxy.Bytes(), def.proxy) || !bytes.Equal(app.Bytes(), def.app) {
				t.Errorf("%d opt-in requests; the other proxy lines equal the default ones: %v, the other app lines: %v",
					len(optIn), bytes.Equal(proxy.Bytes(), def.proxy), bytes.Equal(app.Bytes(), def.app))
			}
		})
	}
}

// TestCampaigns checks, for several seeds, that every campaign and hard
// negative is there and looks as documented.
func TestCampaigns(t *testing.T) {
	for seed := int64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			c := DefaultConfig()
			c.Seed = seed
			o := generate(t, c)
			o.parse(t)
			checkCampaigns(t, o, true)
		})
	}
}

// TestCampaignsAtOtherScales checks that the attack campaigns keep their
// shape in a small organisation and a larger one.
func TestCampaignsAtOtherScales(t *testing.T) {
	for _, s := range []float64{0.05, 3} {
		c := DefaultConfig()
		c.Scale, c.Seed = s, 11
		o := generate(t, c)
		o.parse(t)
		checkCampaigns(t, o, false)
	}
}

// TestLongPeriod checks a period that starts mid-morning and spans two
// days.
func TestLongPeriod(t *testing.T) {
	c := Config{Seed: 3, Start: time.Date(2026, 12, 7, 10, 17, 0, 0, time.UTC), Duration: 36 * time.Hour, Scale: 0.5}
	o := generate(t, c)
	o.parse(t)
	checkCampaigns(t, o, false)
	first, last := o.proxyLines[0].t, o.proxyLines[len(o.proxyLines)-1].t
	if first.Before(c.Start) || last.Before(c.Start.Add(c.Duration-time.Hour)) {
		t.Errorf("proxy lines span %v..%v", first, last)
	}
}

// checkCampaigns checks the labels against the logs. The volume checks of
// the hard negatives hold at Scale 1 only (scaleOne).
func checkCampaigns(t *testing.T, o *output, scaleOne bool) {
	byKind := map[string]Campaign{}
	for _, l := range o.labels {
		if _, dup := byKind[l.Kind]; dup {
			t.Errorf("two labels of kind %s", l.Kind)
		}
		byKind[l.Kind] = l
		if l.End.Before(l.Start) || len(l.Identities) == 0 || len(l.Users) == 0 {
			t.Errorf("label %+v is incomplete", l)
		}
	}
	for _, k := range append(slices.Clone(AttackKinds), NegativeKinds...) {
		if _, ok := byKind[k]; !ok {
			t.Errorf("no %s label", k)
		}
	}

	// identity of an app line: the proxy line's fingerprint, else its
	// source address.
	identity := func(a *appLine) string {
		p := o.proxyByRID[a.RequestID]
		switch {
		case p == nil:
			return a.IP
		case p.fp != "-":
			return p.fp
		}
		return p.ip
	}
	for _, l := range o.labels {
		if l.Negative {
			continue
		}
		failed := map[string]bool{}
		var succeeded []string
		var times []time.Time
		for i := range o.appLines {
			a := &o.appLines[i]
			if a.t.Before(l.Start) || a.t.After(l.End) || !slices.Contains(l.Identities, identity(a)) {
				continue
			}
			switch a.Event {
			case "login_failed":
				failed[a.Username] = true
				times = append(times, a.t)
			case "login_succeeded":
				if slices.Contains(l.Users, a.Username) {
					succeeded = append(succeeded, a.Username)
				}
			}
		}
		for _, u := range l.Users {
			if !failed[u] {
				t.Errorf("%s: user %q has no login_failed from %v", l.ID, u, l.Identities)
			}
		}
		span := l.End.Sub(l.Start)
		switch l.Kind {
		case KindFastSpray:
			if len(l.Users) < 35 || span > 10*time.Minute {
				t.Errorf("%s: %d users over %v", l.ID, len(l.Users), span)
			}
		case KindLowAndSlow:
			if len(l.Users) < 300 || span < 10*time.Hour {
				t.Errorf("%s: %d users over %v", l.ID, len(l.Users), span)
			}
			if n := maxInWindow(times, 10*time.Minute); n > 10 {
				t.Errorf("%s: %d attempts in 10 minutes", l.ID, n)
			}
		case KindDistributed:
			if len(l.Identities) != 5 || len(l.Users) < 100 {
				t.Errorf("%s: %d identities, %d users", l.ID, len(l.Identities), len(l.Users))
			}
			for _, id := range l.Identities {
				var ts []time.Time
				for i := range o.appLines {
					a := &o.appLines[i]
					if a.Event == "login_failed" && identity(a) == id && !a.t.Before(l.Start) && !a.t.After(l.End) {
						ts = append(ts, a.t)
					}
				}
				if n := maxInWindow(ts, 10*time.Minute); n >= 10 || n < 3 {
					t.Errorf("%s: certificate %s tried %d users in 10 minutes", l.ID, id, n)
				}
			}
		case KindSuccessfulSpray:
			if len(succeeded) != 1 {
				t.Errorf("%s: successes %v, want one", l.ID, succeeded)
			}
		case KindGatewaySpray:
			// Ordinary gateway logins go on around the spray.
			others := 0
			for i := range o.appLines {
				a := &o.appLines[i]
				if identity(a) == l.Identities[0] && a.Event == "login_succeeded" &&
					a.t.After(l.Start.Add(-time.Hour)) && a.t.Before(l.End.Add(time.Hour)) {
					others++
				}
			}
			if others == 0 {
				t.Errorf("%s: no ordinary gateway logins around the spray", l.ID)
			}
		case KindProxyBypass:
			for i := range o.appLines {
				a := &o.appLines[i]
				if a.IP == l.Identities[0] && o.proxyByRID[a.RequestID] != nil {
					t.Errorf("%s: request %s has a proxy line", l.ID, a.RequestID)
				}
			}
		case KindNoCertSpray:
			for _, p := range o.proxyLines {
				if p.ip == l.Identities[0] && p.verify != "NONE" {
					t.Errorf("%s: a request from %s carried a certificate", l.ID, p.ip)
				}
			}
		case KindBatchSpray, KindTokenSpray:
			checkOffPathSpray(t, o, l)
		}
	}

	if !scaleOne {
		return
	}
	// The morning wave is busy but each failure is a person's typo.
	wave := byKind[KindGatewayWave]
	logins := 0
	for i := range o.appLines {
		a := &o.appLines[i]
		if identity(a) == wave.Identities[0] && !a.t.Before(wave.Start) && !a.t.After(wave.End) {
			logins++
		}
		if h := a.t.Hour()*60 + a.t.Minute(); a.Event == "user_locked_out" && (h < 9*60 || h > 17*60+30) {
			t.Errorf("lockout at %v", a.t)
		}
	}
	if logins < 50 {
		t.Errorf("morning wave has %d gateway logins", logins)
	}
	lock := byKind[KindSelfLockout]
	if len(lock.Users) != 1 {
		t.Errorf("self lockout users %v", lock.Users)
	}
	if kiosk := byKind[KindLobbyKiosk]; len(kiosk.Users) < 20 {
		t.Errorf("kiosk used by %d people", len(kiosk.Users))
	}
}

// checkOffPathSpray checks a batch or token spray: its attempts are the
// app lines of its certificate's requests to the endpoint, with the
// request's address, Django's times within the request, nginx's line at
// its end. A batch makes 3-5 requests of 10-50 attempts; a token spray
// one attempt per request, logged by Django in the second nginx logs (so
// that nginx's whole-second line sorts first) for most requests.
func checkOffPathSpray(t *testing.T, o *output, l Campaign) {
	t.Helper()
	req, status, lo, hi := "POST /graphql HTTP/1.1", "200", 10, 50
	if l.Kind == KindTokenSpray {
		req, status, lo, hi = "POST /api/token/ HTTP/1.1", "401", 1, 1
	}
	perRID := map[string][]*appLine{}
	for i := range o.appLines {
		a := &o.appLines[i]
		if p := o.proxyByRID[a.RequestID]; p != nil && p.fp == l.Identities[0] && p.req == req {
			perRID[a.RequestID] = append(perRID[a.RequestID], a)
		}
	}
	attempts, sameSecond := 0, 0
	for _, p := range o.proxyLines {
		if p.fp != l.Identities[0] || p.req != req {
			continue
		}
		as := perRID[p.rid]
		if len(as) < lo || len(as) > hi || p.status != status {
			t.Errorf("%s: request %s answered %s has %d attempts, want %d-%d", l.ID, p.rid, p.status, len(as), lo, hi)
		}
		for _, a := range as {
			attempts++
			// nginx's time is the request's end, truncated to the second.
			if a.IP != p.ip || a.t.Before(p.t.Add(-p.rt)) || !a.t.Before(p.t.Add(time.Second)) {
				t.Errorf("%s: attempt at %v from %s outside request %s (%s, %v, rt %v)", l.ID, a.t, a.IP, p.rid, p.ip, p.t, p.rt)
			}
			if a.t.Truncate(time.Second).Equal(p.t) {
				sameSecond++
			}
		}
	}
	if n := len(perRID); l.Kind == KindBatchSpray && (n < 3 || n > 5) {
		t.Errorf("%s: %d requests, want 3-5", l.ID, n)
	}
	if attempts != len(l.Users) {
		t.Errorf("%s: %d attempts through %s, %d users labelled", l.ID, attempts, req, len(l.Users))
	}
	if l.Kind == KindTokenSpray && (len(l.Users) < 35 || sameSecond*2 < attempts) {
		t.Errorf("%s: %d users, %d of %d attempts in nginx's second", l.ID, len(l.Users), sameSecond, attempts)
	}
}

// maxInWindow returns the most times within any window of length w.
func maxInWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}
