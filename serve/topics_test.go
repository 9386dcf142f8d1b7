package serve

import (
	"context"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestTopicsChangedAfterStart starts a server before its topics exist, or
// while they have fewer partitions than they get later: the server takes
// the new partitions on (the group is joined again) and emits the alerts
// replay emits for the records then written to them.
func TestTopicsChangedAfterStart(t *testing.T) {
	cases := []struct {
		name   string
		before int32 // partitions at start (0: the topics do not exist)
		after  int32
	}{
		{"created after start", 0, 2},
		{"partitions added", 1, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := distinctSorted(replayAlerts(t, []string{proxySample}, []string{appSample}))
			opts := []kfake.Opt{kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(500 * time.Millisecond)}
			if tc.before > 0 {
				opts = append(opts, kfake.SeedTopics(tc.before, "proxy", "app"))
			}
			c, err := kfake.NewCluster(opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			sink := &collector{}
			cfg := serverConfig(t, c, "topics-"+tc.name, sink)
			// The records are written while the server reads: a partition
			// the producer has not reached yet is not taken for an idle one.
			cfg.IdleTimeout = 5 * time.Second
			r := start(t, cfg)
			waitFor(t, 30*time.Second, "the first generation", func() bool {
				return r.s.Stats().Rebuilds.Load() > 0 && r.s.Stats().Partitions.Load() == int64(2*tc.before)
			})

			cl := &kafkago.Client{Addr: kafkago.TCP(c.ListenAddrs()...), Timeout: 5 * time.Second, Transport: &kafkago.Transport{}}
			ctx := context.Background()
			if tc.before == 0 {
				res, err := cl.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{
					{Topic: "proxy", NumPartitions: int(tc.after), ReplicationFactor: 1},
					{Topic: "app", NumPartitions: int(tc.after), ReplicationFactor: 1},
				}})
				if err != nil {
					t.Fatal(err)
				}
				for topic, err := range res.Errors {
					if err != nil {
						t.Fatalf("creating %s: %v", topic, err)
					}
				}
			} else {
				res, err := cl.CreatePartitions(ctx, &kafkago.CreatePartitionsRequest{Topics: []kafkago.TopicPartitionsConfig{
					{Name: "proxy", Count: tc.after}, {Name: "app", Count: tc.after},
				}})
				if err != nil {
					t.Fatal(err)
				}
				for _, err := range res.Errors {
					if err != nil {
						t.Fatalf("adding partitions: %v", err)
					}
				}
			}
			waitFor(t, 30*time.Second, "the new partitions to be owned", func() bool {
				return r.s.Stats().Partitions.Load() == int64(2*tc.after)
			})
			pf, af := formatsFor(t)
			produce(t, c, "proxy", readLines(t, proxySample), keyByRequestID(t, pf))
			produce(t, c, "app", readLines(t, appSample), keyByRequestID(t, af))
			waitFor(t, 30*time.Second, "the alerts", func() bool { return len(distinctSorted(sink.snapshot())) >= len(want) })
			settle(t, 10*time.Second, 1500*time.Millisecond, func() int { return len(sink.snapshot()) })
			diff(t, distinctSorted(sink.snapshot()), want)
			r.report(t, tc.name)
		})
	}
}

// TestOneInstanceJoinsAnyPartitioning writes the two logs unkeyed to topics
// of different partition counts: one instance owns every partition and
// merges them by event time, so the join does not depend on the
// partitioning, and the alerts are those of replay.
func TestOneInstanceJoinsAnyPartitioning(t *testing.T) {
	want := distinctSorted(replayAlerts(t, []string{proxySample}, []string{appSample}))
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(500*time.Millisecond),
		kfake.SeedTopics(3, "proxy"), kfake.SeedTopics(2, "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	produce(t, c, "proxy", readLines(t, proxySample), nil)
	produce(t, c, "app", readLines(t, appSample), nil)
	sink := &collector{}
	cfg := serverConfig(t, c, "any-partitioning", sink)
	cfg.IdleTimeout = 3 * time.Second // a starved reader is not taken for an idle one
	r := start(t, cfg)
	waitFor(t, 30*time.Second, "the alerts", func() bool { return len(distinctSorted(sink.snapshot())) >= len(want) })
	settle(t, 10*time.Second, 1500*time.Millisecond, func() int { return len(sink.snapshot()) })
	diff(t, distinctSorted(sink.snapshot()), want)
	if n := r.s.Stats().Partitions.Load(); n != 5 {
		t.Errorf("owns %d partitions, want 5", n)
	}
	if n := r.s.Stats().Late.Load(); n != 0 {
		t.Errorf("%d late records", n)
	}
}
