package detect

import (
	"fmt"
	"testing"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// TestDefaultPackFixtures runs the whole default pack on one small scenario
// per rule and checks which rules open incidents.
func TestDefaultPackFixtures(t *testing.T) {
	failAs := func(sec float64, cert, ip, user string) *event.Event {
		e := login(sec, cert, user, "failure")
		e.Values[event.SourceIP] = ip
		e.Values[event.Action] = "login_failed"
		return e
	}
	var (
		fast, slow, distributed, success, gateway, bypass, nocert, verify, enum []*event.Event
	)
	for i := range 12 {
		fast = append(fast, failAs(float64(i*5), "f1", "203.0.113.7", fmt.Sprintf("user%02d", i)))
	}
	for i := range 30 { // one username every 10 minutes for 5 hours
		slow = append(slow, failAs(float64(i*600), "s1", "203.0.113.8", fmt.Sprintf("user%02d", i)))
	}
	for i := range 20 { // four certificates, five usernames each over 10 minutes
		distributed = append(distributed, failAs(float64(i*30), fmt.Sprintf("d%d", i%4), fmt.Sprintf("192.0.2.%d", 10+i%4), fmt.Sprintf("user%02d", i)))
	}
	for i := range 8 {
		success = append(success, failAs(float64(i*5), "x1", "203.0.113.9", fmt.Sprintf("user%02d", i)))
	}
	success = append(success, failAs(100, "x1", "203.0.113.9", "user03"), login(105, "x1", "user04", "failure"), login(110, "x1", "user04", "success"))
	// A gateway: 24 people log in every 10 minutes for 4 hours, a few
	// mistype first; then a spray of 12 usernames.
	for w := range 24 {
		for u := range 24 {
			at := float64(w*600 + u*20)
			user := fmt.Sprintf("p%02d", (w+u)%60)
			if u%8 == 0 {
				gateway = append(gateway, login(at, "gw", user, "failure"))
			}
			gateway = append(gateway, login(at+5, "gw", user, "success"))
		}
	}
	for i := range 12 {
		gateway = append(gateway, failAs(float64(24*600+i*30), "gw", "10.0.5.10", fmt.Sprintf("victim%02d", i)))
	}
	for i := range 4 {
		bypass = append(bypass, ev(float64(i*10), "spraywatch.join", "app_only", "source.ip", "10.13.37.5", "user.name", fmt.Sprintf("user%d", i), "event.outcome", "failure"))
	}
	for i := range 11 {
		nocert = append(nocert, ev(float64(i*10), "tls.client.verify", "NONE", "source.ip", "192.0.2.66", "user.name", fmt.Sprintf("user%02d", i), "event.outcome", "failure"))
	}
	for i := range 10 {
		verify = append(verify, ev(float64(i*10), "tls.client.verify", "FAILED:certificate has expired", "source.ip", "192.0.2.70", "spraywatch.join", "proxy_only", "url.path", "/accounts/login/"))
	}
	for i := range 12 {
		st, size := "200", "4500"
		if i%3 == 0 {
			size = "6900" // "no such user" page
		}
		enum = append(enum, ev(float64(i*10), "spraywatch.identity", "sha1:e1", "source.ip", "192.0.2.80", "user.name", fmt.Sprintf("user%02d", i),
			"event.outcome", "failure", "event.action", "login_failed", "http.response.status_code", st, "http.response.body.bytes", size))
	}
	tests := []struct {
		name string
		evs  []*event.Event
		want []string // rules that must open an incident
		not  []string // rules that must not
	}{
		{"fast spray", fast, []string{"cert-identity-spray"}, []string{"successful-spray", "proxy-bypass"}},
		{"low and slow", slow, []string{"cert-identity-slow-spray"}, []string{"cert-identity-spray"}},
		{"distributed", distributed, []string{"subnet-distributed-spray"}, []string{"cert-identity-spray"}},
		{"successful spray", success, []string{"successful-spray"}, nil},
		{"gateway", gateway, []string{"shared-cert-spray-baseline"}, []string{"successful-spray"}},
		{"gateway normal day", gateway[:len(gateway)-12], nil, []string{"shared-cert-spray-baseline", "cert-identity-spray", "successful-spray", "cert-identity-slow-spray"}},
		{"proxy bypass", bypass, []string{"proxy-bypass"}, []string{"no-cert-source-spray"}},
		{"no certificate", nocert, []string{"no-cert-source-spray"}, []string{"proxy-bypass"}},
		{"verification failures", verify, []string{"cert-verify-failures"}, nil},
		{"enumeration", enum, []string{"username-enumeration"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, _ := runEvents(t, rules.Default(), tt.evs)
			fired := map[string]*alert.Alert{}
			for i := range as {
				if as[i].Status == alert.StatusFiring {
					fired[as[i].Rule] = &as[i]
				}
			}
			for _, r := range tt.want {
				if fired[r] == nil {
					t.Errorf("%s did not fire (fired: %v)", r, keys(fired))
				}
			}
			for _, r := range tt.not {
				if fired[r] != nil {
					t.Errorf("%s fired: %s", r, fired[r].Summary)
				}
			}
			if a := fired["successful-spray"]; a != nil && (a.Account != "user04" || a.Severity != alert.SeverityCritical) {
				t.Errorf("successful-spray: account %q severity %s", a.Account, a.Severity)
			}
		})
	}
}

func keys(m map[string]*alert.Alert) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
