package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
)

// TestReportLatePartners renders the join health of login requests whose
// application records are logged an hour after their proxy records: the
// late partners and the hint follow the join table.
func TestReportLatePartners(t *testing.T) {
	k, err := detect.NewCorrelator(detect.CorrelatorConfig{}, func(*event.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	add := func(kind event.Kind, at time.Duration, rid string, kv ...string) {
		r := &event.Record{Kind: kind, Time: int64(at)}
		r.Values[event.RequestID] = []byte(rid)
		for i := 0; i+1 < len(kv); i += 2 {
			f, _ := event.LookupField(kv[i])
			r.Values[f] = []byte(kv[i+1])
		}
		k.Expire(r.Time)
		k.Add(r)
	}
	const n = 12
	for i := range n {
		add(event.Proxy, time.Duration(i)*time.Minute, fmt.Sprint("r", i), "url.path", "/accounts/login/")
	}
	for i := range n {
		add(event.App, time.Hour+time.Duration(i)*time.Minute+time.Second, fmt.Sprint("r", i), "user.name", "u", "event.outcome", "failure")
	}
	k.Flush()
	html := render(t, New(Options{}), Run{Join: k.Stats()})
	for _, want := range []string{
		`<p class="mute" id="late">Late partners: 12 app records after their proxy record had expired unmatched (median 1h0m1s later).</p>`,
		`<p class="late-hint"><strong>Hint:</strong> 12 app records were logged a median 1h0m1s after their proxy records, past the 1m0s join window: do both logs give times in the same zone?`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %s", want)
		}
	}
}

// TestReportDuplicateHint: request ids seen twice on one side often (a
// log read twice) give the summary's hint in the report too.
func TestReportDuplicateHint(t *testing.T) {
	var j detect.JoinStats
	j.Matched.Store(100)
	j.Duplicates.Store(40)
	html := render(t, New(Options{}), Run{Join: &j})
	if want := `<p class="late-hint"><strong>Hint:</strong> 40 request ids came twice on one side within the join window: is a log read twice`; !strings.Contains(html, want) {
		t.Errorf("report lacks %s", want)
	}
	j.Duplicates.Store(5)
	if html := render(t, New(Options{}), Run{Join: &j}); strings.Contains(html, "came twice") {
		t.Error("hint for 5 duplicate ids in 100 records")
	}
}
