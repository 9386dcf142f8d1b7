package detect

import (
	"testing"

	"github.com/spraywatch/spraywatch/rules"
)

// TestSubnetReuse checks that a rule's subnet of an address, reused from
// the last address's when the network is the same, is rules.Subnet's, in
// any order of addresses of the same and other networks, valid or not.
func TestSubnetReuse(t *testing.T) {
	ips := []string{
		"10.1.2.3", "10.1.2.4", "10.1.3.4", "10.1.2.255", "::ffff:10.1.2.9", "10.1.2.3",
		"2001:db8:1:2::1", "2001:db8:1:2:ffff::1", "2001:db8:1:3::1", "fe80::1%eth0", "fe80::2%eth1", "fe80::1",
		"", "not an ip", "10.1.2", "010.1.2.3", "10.1.2.3", "::ffff:10.1.2.3", "::", "0.0.0.0", "255.255.255.255",
		"10.1.2.3:80", "[2001:db8::1]", "2001:db8:1:2::1",
	}
	rs := &ruleState{}
	for round := 0; round < 3; round++ {
		for i, ip := range ips {
			if round == 1 {
				ip = ips[len(ips)-1-i]
			}
			if round == 2 {
				ip = ips[(i*7)%len(ips)]
			}
			rs.setSubnet(ip)
			if got, want := rs.lastSubnet, rules.Subnet(ip); got != want {
				t.Errorf("subnet of %q = %q, want %q", ip, got, want)
			}
		}
	}
}
