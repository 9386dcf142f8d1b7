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
	t.Parallel()
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
			r := start(t, cfg)
			waitFor(t, patience, "the first generation", func() bool {
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
			waitFor(t, patience, "the new partitions to be owned", func() bool {
				return r.s.Stats().Partitions.Load() == int64(2*tc.after)
			})
			pf, af := formatsFor(t)
			proxy, app := readLines(t, proxySample), readLines(t, appSample)
			produce(t, c, "proxy", proxy, keyByRequestID(t, pf))
			produce(t, c, "app", app, keyByRequestID(t, af))
			closeInput(t, c, int(tc.after), int(tc.after), newestTime(t, proxy, app))
			waitFor(t, patience, "every record released and committed", committedTo(r.s, len(proxy)+1, len(app)))
			r.shutdown(t)
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
	t.Parallel()
	want := distinctSorted(replayAlerts(t, []string{proxySample}, []string{appSample}))
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(500*time.Millisecond),
		kfake.SeedTopics(3, "proxy"), kfake.SeedTopics(2, "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	proxy, app := readLines(t, proxySample), readLines(t, appSample)
	produce(t, c, "proxy", proxy, nil)
	produce(t, c, "app", app, nil)
	closeInput(t, c, 3, 2, newestTime(t, proxy, app))
	sink := &collector{}
	r := start(t, serverConfig(t, c, "any-partitioning", sink))
	waitFor(t, patience, "every record released and committed", committedTo(r.s, len(proxy)+1, len(app)))
	r.shutdown(t)
	diff(t, distinctSorted(sink.snapshot()), want)
	if n := r.s.Stats().Partitions.Load(); n != 5 {
		t.Errorf("owns %d partitions, want 5", n)
	}
	if n := r.s.Stats().Late.Load(); n != 0 {
		t.Errorf("%d late records", n)
	}
}
