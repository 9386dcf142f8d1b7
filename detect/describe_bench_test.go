package detect

import (
	"fmt"
	"testing"

	"github.com/spraywatch/spraywatch/rules"
)

// BenchmarkDescribe measures the body of an alert on a window of 240
// events, each from its own address and username, of a rule counting
// usernames (as a subnet's group under a flood), on one lane: ns/op and
// allocs/op are per alert.
func BenchmarkDescribe(b *testing.B) {
	rs, err := rules.Parse("t.yml", []byte(`rules:
  - {id: r, group_by: [spraywatch.identity], distinct: user.name, unresolved: true, window: 1h, threshold: 1000}
`))
	if err != nil {
		b.Fatal(err)
	}
	e, err := NewEngine(Config{Rules: rs, Sink: &captureSink{}, Lanes: 1})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 240 {
		e.evaluate(ev(float64(i), "spraywatch.identity", "sha1:ab", "user.name", fmt.Sprintf("user%d", i), "event.outcome", "failure",
			"source.ip", fmt.Sprintf("10.0.%d.%d", i/200, i%200), "http.request.id", fmt.Sprintf("%032x", i)))
	}
	r := e.rules[0]
	g := r.groups.group(r.groups.oldest())
	if g == nil || g == r.groups.x.single {
		b.Fatal("no group")
	}
	b.ReportAllocs()
	for b.Loop() {
		a := r.describe(g)
		if a.Sample.SourceIPsTruncated != 240-sampleIPs {
			b.Fatalf("truncated %d", a.Sample.SourceIPsTruncated)
		}
	}
}
