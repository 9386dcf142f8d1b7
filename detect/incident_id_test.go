package detect

import (
	"strings"
	"testing"
)

// TestIncidentIDAfterOtherStart: incidents 1 and 2 start at the
// event at 10 s; a late event (5 s) makes incident 3 start elsewhere;
// once it left the window, incident 4 starts at the event at 10 s again
// and, lastStart being 5 s, gets incident 1's id.
func TestIncidentIDAfterOtherStart(t *testing.T) {
	recs := logins(`10 c1 u1 failure
11 c1 u2 failure
12 c1 u3 failure
15 c1 u3 success
50 c1 u4 failure
55 c1 u4 success
70 c2 x failure
5 c1 u9 failure
90 c1 u5 failure
95 c1 u5 success
96 c1 u9 success
200 c2 x failure
607 c1 u6 failure`)
	ids := map[string]int{}
	var got []string
	for _, a := range runEngine(t, testRule(t, resolveRules), recs) {
		if a.Rule != "again" || a.Group["spraywatch.identity"] != "sha1:c1" {
			continue
		}
		got = append(got, a.Status+" "+a.IncidentID[:6]+" first="+a.FirstSeen[14:19]+" id="+a.ID[len(a.ID)-2:])
		if a.Status == "firing" {
			ids[a.IncidentID]++
		}
	}
	t.Logf("\n%s", strings.Join(got, "\n"))
	for id, n := range ids {
		if n > 1 {
			t.Errorf("incident id %s fired %d times", id, n)
		}
	}
}
