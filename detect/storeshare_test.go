package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// sharePack has rules that keep the same store of a key in threes and
// twos (d1, d2 and b1; s1 and s2; c1 and c2; l1 and l2; p1 and p2,
// grouping by two fields) and rules that keep one of their own: x counts
// every distinct username, so it credits no typo, and u matches other
// events.
const sharePack = `
rules:
  - {id: d1, match: {identity: {exists: true}}, group_by: [identity], distinct: user.name, unresolved: true,
     window: 1m, threshold: 4, cooldown: 30s, resolve_after: 10s}
  - {id: s1, type: sequence, match: {identity: {exists: true}}, group_by: [identity], distinct: user.name,
     window: 90s, threshold: 3, cooldown: 1m}
  - {id: b1, type: baseline, match: {identity: {exists: true}}, group_by: [identity], distinct: user.name, unresolved: true,
     window: 1m, threshold: 1, baseline: {sigma: 2, floor: 2, half_life: 10m, warmup: 5m}, cooldown: 30s, resolve_after: 20s}
  - {id: x, match: {identity: {exists: true}}, group_by: [identity], distinct: user.name, window: 1m, threshold: 5}
  - {id: c1, match: {identity: {exists: true}}, group_by: [identity], window: 1m, threshold: 12, resolve_after: 5s}
  - {id: d2, match: {identity: {exists: true}}, group_by: [identity], distinct: user.name, unresolved: true,
     window: 1m, threshold: 7, cooldown: 2m, resolve_after: 1m}
  - {id: s2, type: sequence, match: {identity: {exists: true}}, group_by: [identity], distinct: user.name,
     window: 90s, threshold: 2, max_success_users: 2, cooldown: 10s}
  - {id: c2, match: {identity: {exists: true}}, group_by: [identity], window: 1m, threshold: 20, min_events: 3}
  - {id: l1, match: {identity: {exists: true}}, group_by: [identity], distinct: user.name, unresolved: true,
     window: 2h, threshold: 9, cooldown: 10m}
  - {id: l2, type: baseline, match: {identity: {exists: true}}, group_by: [identity], distinct: user.name, unresolved: true,
     window: 2h, threshold: 1, baseline: {sigma: 1, floor: 3, half_life: 4h, warmup: 4h}}
  - {id: p1, match: {identity: {exists: true}}, group_by: [identity, source.ip], distinct: user.name, unresolved: true,
     window: 1m, threshold: 3, resolve_after: 5s}
  - {id: p2, match: {identity: {exists: true}}, group_by: [identity, source.ip], distinct: user.name, unresolved: true,
     window: 1m, threshold: 5}
  - {id: u, match: {event.outcome: failure}, group_by: [identity], distinct: user.name, unresolved: true,
     window: 1m, threshold: 4}
`

// shareMates are sharePack's rules by the rules they keep a store with.
var shareMates = map[string][]string{
	"d1": {"d1", "b1", "d2"}, "b1": {"d1", "b1", "d2"}, "d2": {"d1", "b1", "d2"},
	"s1": {"s1", "s2"}, "s2": {"s1", "s2"},
	"c1": {"c1", "c2"}, "c2": {"c1", "c2"},
	"l1": {"l1", "l2"}, "l2": {"l1", "l2"},
	"p1": {"p1", "p2"}, "p2": {"p1", "p2"},
}

// mateIDs returns the ids of rs's mates.
func mateIDs(rs *ruleState) []string {
	var ids []string
	for _, m := range rs.mates {
		ids = append(ids, m.rule.ID)
	}
	return ids
}

// TestStoreMates checks which rules keep a store with which: in one lane,
// the rules with the same match block, group_by fields and store
// (sameStore); on two lanes as well, the rules with the same keys staying
// together; none when told so, and none but the pair of the default pack.
func TestStoreMates(t *testing.T) {
	pack := testRule(t, sharePack)
	def := rules.Default()
	defMates := map[string][]string{
		"cert-identity-spray":        {"cert-identity-spray", "shared-cert-spray-baseline"},
		"shared-cert-spray-baseline": {"cert-identity-spray", "shared-cert-spray-baseline"},
	}
	tests := []struct {
		name     string
		rules    []*rules.Rule
		lanes    int
		separate bool
		want     map[string][]string
	}{
		{"one lane", pack, 1, false, shareMates},
		{"two lanes", pack, 2, false, shareMates},
		{"separate stores", pack, 1, true, nil},
		{"default pack", def, 1, false, defMates},
		{"default pack, two lanes", def, 2, false, defMates},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewEngine(Config{Rules: tt.rules, Sink: &captureSink{}, Lanes: tt.lanes, separateStores: tt.separate})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close(context.Background())
			for _, rs := range e.rules {
				if got, want := mateIDs(rs), tt.want[rs.rule.ID]; !slices.Equal(got, want) {
					t.Errorf("rule %s: mates %v, want %v", rs.rule.ID, got, want)
				}
			}
		})
	}
}

// TestSameStore checks what keeps two rules of the same keys from keeping
// one store.
func TestSameStore(t *testing.T) {
	base := testRule(t, `
rules:
  - {id: a, match: {identity: {exists: true}}, group_by: [identity], distinct: user.name, unresolved: true, window: 10m, threshold: 4}
`)[0]
	tests := []struct {
		name   string
		change func(r *rules.Rule)
		want   bool
	}{
		{"same", func(*rules.Rule) {}, true},
		{"other threshold and cooldown", func(r *rules.Rule) { r.Threshold, r.Cooldown = 9, time.Hour }, true},
		{"baseline", func(r *rules.Rule) { r.Type = rules.TypeBaseline }, true},
		{"other window", func(r *rules.Rule) { r.Window = 11 * time.Minute }, false},
		{"all distinct values", func(r *rules.Rule) { r.Unresolved = false }, false},
		{"sequence", func(r *rules.Rule) { r.Type, r.Unresolved = rules.TypeSequence, false }, true},
		{"other distinct field", func(r *rules.Rule) { r.Distinct = rules.Key{Field: event.SourceIP} }, false},
		{"no distinct field", func(r *rules.Rule) { r.HasDistinct, r.Distinct = false, rules.Key{} }, false},
		{"allowlist", func(r *rules.Rule) { r.Suppress = []*rules.Suppressor{{}} }, false},
		{"identity map", func(r *rules.Rule) { r.IdentityMap = &rules.IdentityMap{} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := *base
			tt.change(&r)
			if got := sameStore(base, &r); got != tt.want {
				t.Errorf("sameStore = %v, want %v", got, tt.want)
			}
			if got := sameStore(&r, base); got != tt.want {
				t.Errorf("sameStore reversed = %v, want %v", got, tt.want)
			}
		})
	}
	// Windows over LongWindow keep a value set for distinct and baseline
	// rules, an exact window for the others.
	long, seq := *base, *base
	long.Window, seq.Window = 2*time.Hour, 2*time.Hour
	seq.Type = rules.TypeSequence
	if sameStore(&long, &seq) {
		t.Error("a value set and an exact window are the same store")
	}
}

// shareStream returns n random events of a few certificates (and, now and
// then, a new one), trying usernames that include typing slips of others,
// mostly in time order with pauses of minutes and some late events.
func shareStream(seed uint64, n int) []*event.Event {
	r := rand.New(rand.NewPCG(seed, 1))
	names := []string{"alice", "alcie", "aliice", "bob", "bbob", "carol", "caorl", "dave", "dvae", "erin", "frank", "frnak", "grace", "heidi", "ivan", "judy"}
	var evs []*event.Event
	now := int64(1_700_000_000) * int64(time.Second)
	for i := range n {
		switch p := r.IntN(1000); {
		case p < 8:
			now += int64(time.Minute) + r.Int64N(int64(20*time.Minute))
		case p < 40:
			now += r.Int64N(int64(30 * time.Second))
		default:
			now += r.Int64N(int64(2 * time.Second))
		}
		at := now
		if r.IntN(100) < 3 {
			at -= r.Int64N(int64(3 * time.Minute))
		}
		cert := fmt.Sprintf("c%d", r.IntN(6))
		if r.IntN(10) == 0 {
			cert = fmt.Sprintf("n%d", i)
		}
		user := names[r.IntN(len(names))]
		if r.IntN(3) == 0 {
			user = fmt.Sprintf("u%d", r.IntN(60))
		}
		outcome := "failure"
		if r.IntN(5) == 0 {
			outcome = "success"
		}
		e := &event.Event{Time: at}
		e.Values[event.Identity] = "sha1:" + cert
		e.Values[event.TLSSHA1] = cert
		e.Values[event.UserName] = user
		e.Values[event.Outcome] = outcome
		e.Values[event.SourceIP] = fmt.Sprintf("198.51.100.%d", r.IntN(3))
		e.Values[event.RequestID] = fmt.Sprintf("r%d", i)
		evs = append(evs, e)
	}
	return evs
}

// shareRun is what an engine did with a stream: its alerts, counters and
// windows, and how many groups shared a store with an earlier mate's
// group (shared) or kept another store than a mate's group of their key
// (apart), summed over checks every hundred events.
type shareRun struct {
	alerts        []string
	stats         string
	shared, apart int
}

// runShared runs evs through an engine of rs with config c.
func runShared(t *testing.T, rs []*rules.Rule, c Config, evs []*event.Event) shareRun {
	t.Helper()
	sink := &captureSink{}
	c.Rules, c.Sink = rs, sink
	e, err := NewEngine(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var run shareRun
	for i, ev := range evs {
		if err := e.AddEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 {
			e.quiesce()
			checkHeld(t, e, fmt.Sprintf("event %d", i))
			s, a := countShared(e)
			run.shared += s
			run.apart += a
		}
	}
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, a := range sink.alerts {
		b, err := json.Marshal(&a)
		if err != nil {
			t.Fatal(err)
		}
		run.alerts = append(run.alerts, string(b))
	}
	st := e.Stats()
	run.stats = fmt.Sprintf("events %d late %d evicted %d dropped %d alerts %d open %d suppressed %d windows %v",
		st.Events.Load(), st.Late.Load(), st.GroupsEvicted.Load(), st.EventsDropped.Load(), st.Alerts.Load(),
		st.Open.Load(), st.Suppressed.Load(), e.WindowEntries())
	for _, r := range e.RuleStats() {
		run.stats += fmt.Sprintf("\n%s: matched %d groups %d alerts %d suppressed %d",
			r.Rule, r.Matched.Load(), r.Groups.Load(), r.Alerts.Load(), r.Suppressed.Load())
	}
	return run
}

// countShared returns how many groups share their store with an earlier
// mate's group of their key, and how many keep another store than an
// earlier mate's group of their key.
func countShared(e *Engine) (shared, apart int) {
	for _, rs := range e.rules {
		rs.groups.each(func(g *group) {
			for _, m := range rs.mates {
				if m == rs {
					return
				}
				if mg := m.groups.group(g.slot); mg != nil {
					if mg.st == g.st {
						shared++
					} else {
						apart++
					}
					return
				}
			}
		})
	}
	return shared, apart
}

// TestSharedStoresSameAlerts checks that rules sharing stores write the
// alerts, and count what, rules with stores of their own would: over
// random streams, with caps on groups and events that evict groups and
// drop events, on one lane and two; and that stores were shared, and
// parted.
func TestSharedStoresSameAlerts(t *testing.T) {
	pack := testRule(t, sharePack)
	caps := []struct {
		name string
		c    Config
	}{
		{"no caps hit", Config{}},
		{"group caps", Config{MaxGroupsTotal: 13 * 4}},
		{"event caps", Config{MaxEventsTotal: 13 * 30, MaxGroupEvents: 12}},
		{"all caps", Config{MaxGroups: 3, MaxEventsTotal: 13 * 20, MaxGroupEvents: 8}},
	}
	n := 6000
	if testing.Short() {
		n = 2000
	}
	for _, cp := range caps {
		for seed := range uint64(3) {
			t.Run(fmt.Sprintf("%s/seed%d", cp.name, seed), func(t *testing.T) {
				evs := shareStream(seed, n)
				sep := cp.c
				sep.separateStores = true
				want := runShared(t, pack, sep, evs)
				if want.shared != 0 {
					t.Fatalf("separate stores: %d shared", want.shared)
				}
				if len(want.alerts) == 0 {
					t.Fatal("no alerts")
				}
				for _, lanes := range []int{1, 2} {
					c := cp.c
					c.Lanes = lanes
					got := runShared(t, pack, c, evs)
					if !slices.Equal(got.alerts, want.alerts) {
						for i := range min(len(got.alerts), len(want.alerts)) {
							if got.alerts[i] != want.alerts[i] {
								t.Fatalf("%d lanes: alert %d of %d/%d differs:\n got %s\nwant %s", lanes, i, len(got.alerts), len(want.alerts), got.alerts[i], want.alerts[i])
							}
						}
						t.Fatalf("%d lanes: %d alerts, want %d", lanes, len(got.alerts), len(want.alerts))
					}
					if got.stats != want.stats {
						t.Fatalf("%d lanes: counts\n%s\nwant\n%s", lanes, got.stats, want.stats)
					}
					if got.shared == 0 || got.apart == 0 {
						t.Errorf("%d lanes: %d groups shared a store, %d kept another", lanes, got.shared, got.apart)
					}
					if lanes == 1 && os.Getenv("SHARE_VERBOSE") != "" {
						t.Logf("%d alerts, groups sharing %d, apart %d", len(got.alerts), got.shared, got.apart)
					}
				}
			})
		}
	}
}

// TestDropStore checks where a store no group uses any more goes: small
// ones among the mates' spares, a few bigger ones among their big
// spares, emptied; bigger ones nowhere.
func TestDropStore(t *testing.T) {
	seed := maphash.MakeSeed()
	length := int64(time.Hour)
	tests := []struct {
		name       string
		events     int
		small, big int // spares afterwards
	}{
		{"small", 3, 1, 0},
		{"bigger", 100, 0, 1},
		{"too big to keep", 2000, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewEngine(Config{Rules: testRule(t, sharePack), Sink: &captureSink{}})
			if err != nil {
				t.Fatal(err)
			}
			rs := e.rules[0]
			if rs.stores == nil {
				t.Fatalf("rule %s has no mates", rs.rule.ID)
			}
			w := newWindow(true)
			evs := make([]sameEvent, tt.events)
			for i := range evs {
				evs[i] = sameEvent{float64(i), fmt.Sprintf("u%d", i), outcomeFailure}
			}
			fillWindow(w, seed, length, evs, map[string]*evidence{})
			rs.drop(w)
			if len(rs.stores.small) != tt.small || len(rs.stores.big) != tt.big {
				t.Fatalf("%d small and %d big spares, want %d and %d", len(rs.stores.small), len(rs.stores.big), tt.small, tt.big)
			}
			for _, st := range slices.Concat(rs.stores.small, rs.stores.big) {
				if st != store(w) {
					t.Errorf("another store among the spares")
				}
				if w.len() != 0 || w.dc.size() != 0 {
					t.Errorf("spare store holds %d events, %d values", w.len(), w.dc.size())
				}
			}
		})
	}
}
