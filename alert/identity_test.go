package alert

import "testing"

// TestAlertmanagerIdentityUnambiguous checks that two different groups of
// a rule never give the same identity label, whatever their values hold,
// and that a group of one value keeps it as the label.
func TestAlertmanagerIdentityUnambiguous(t *testing.T) {
	m := &Alertmanager{opts: AlertmanagerOptions{AlertName: "PasswordSpraying"}}
	identity := func(g map[string]string) string {
		a := testAlert("inc", 1, "bob")
		a.Group = g
		return m.convert(a).Labels["identity"]
	}
	for _, v := range []string{"CN=a,O=b", `a\`, "plain", ""} {
		if got := identity(map[string]string{"tls.client.subject": v}); got != v {
			t.Errorf("one value %q: label %q, want the value", v, got)
		}
	}
	values := []string{"", "a", "b", ",", "a,b", "b,c", `\`, `a\`, `\,`, `a\,b`, `,b`, `b\`, "c"}
	seen := map[string][2]string{}
	for _, x := range values {
		for _, y := range values {
			id := identity(map[string]string{"source.ip": x, "user.name": y})
			if prev, ok := seen[id]; ok {
				t.Errorf("groups %q and %q both give identity %q", prev, [2]string{x, y}, id)
			}
			seen[id] = [2]string{x, y}
		}
	}
	if got, want := identity(map[string]string{"source.ip": "192.0.2.7", "user.name": "bob"}), "192.0.2.7,bob"; got != want {
		t.Errorf("identity %q, want %q", got, want)
	}
}
