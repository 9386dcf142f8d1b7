package kafka

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestCoPartitioned: however the metadata lists each topic's partitions,
// every member is assigned the same partition numbers of both topics, in
// contiguous runs over the members in order of their ids.
func TestCoPartitioned(t *testing.T) {
	parts := func(topic string, ids ...int) []kafka.Partition {
		var ps []kafka.Partition
		for _, id := range ids {
			ps = append(ps, kafka.Partition{Topic: topic, ID: id})
		}
		return ps
	}
	members := func(ids ...string) []kafka.GroupMember {
		var ms []kafka.GroupMember
		for _, id := range ids {
			ms = append(ms, kafka.GroupMember{ID: id, Topics: []string{"proxy", "app"}})
		}
		return ms
	}
	for _, tt := range []struct {
		name       string
		members    []kafka.GroupMember
		partitions []kafka.Partition
		want       map[string][]int // by member: the numbers of each topic
	}{
		{"sorted", members("a", "b"), append(parts("proxy", 0, 1, 2, 3), parts("app", 0, 1, 2, 3)...),
			map[string][]int{"a": {0, 1}, "b": {2, 3}}},
		{"listed in other orders", members("b", "a"), append(parts("proxy", 3, 1, 0, 2), parts("app", 0, 2, 1, 3)...),
			map[string][]int{"a": {0, 1}, "b": {2, 3}}},
		{"interleaved", members("c", "a", "b"), []kafka.Partition{
			{Topic: "app", ID: 2}, {Topic: "proxy", ID: 0}, {Topic: "app", ID: 0}, {Topic: "proxy", ID: 2},
			{Topic: "app", ID: 1}, {Topic: "proxy", ID: 1}},
			map[string][]int{"a": {0}, "b": {1}, "c": {2}}},
		{"more members than partitions", members("a", "b", "c"), append(parts("proxy", 1, 0), parts("app", 0, 1)...),
			map[string][]int{"a": nil, "b": {0}, "c": {1}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := coPartitioned{}.AssignGroups(tt.members, tt.partitions)
			for m, want := range tt.want {
				for _, topic := range []string{"proxy", "app"} {
					if g := got[m][topic]; !slices.Equal(g, want) {
						t.Errorf("member %s, topic %s: partitions %v, want %v", m, topic, g, want)
					}
				}
			}
		})
	}
	// kafka-go's own range assignment crosses them: the reason for
	// coPartitioned.
	got := kafka.RangeGroupBalancer{}.AssignGroups(members("a", "b"), append(parts("proxy", 3, 1, 0, 2), parts("app", 0, 2, 1, 3)...))
	if slices.Equal(got["a"]["proxy"], got["a"]["app"]) {
		t.Errorf("RangeGroupBalancer assigned member a proxy %v and app %v: the case no longer shows why coPartitioned is needed", got["a"]["proxy"], got["a"]["app"])
	}
}

// TestConsumerGroupCoPartitioned: two members of a group over two topics
// of four partitions on a kfake broker are each assigned the same
// partition numbers of both.
func TestConsumerGroupCoPartitioned(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(500*time.Millisecond),
		kfake.SeedTopics(4, "proxy", "app")) // listens on 127.0.0.1
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := Config{
		Brokers:           c.ListenAddrs(),
		GroupID:           "g",
		SessionTimeout:    3 * time.Second,
		HeartbeatInterval: 200 * time.Millisecond,
		RebalanceTimeout:  2 * time.Second,
		DialTimeout:       2 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Each member takes generations until one assigns partitions to both
	// members (the first may hold one member alone), and reports its last.
	type assigned struct{ proxy, app []int }
	var mu sync.Mutex
	last := map[int]assigned{}
	both := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(last) == 2 && len(last[0].proxy) > 0 && len(last[1].proxy) > 0
	}
	var wg sync.WaitGroup
	for m := range 2 {
		cg, err := cfg.ConsumerGroup([]string{"proxy", "app"})
		if err != nil {
			t.Fatal(err)
		}
		defer cg.Close()
		wg.Go(func() {
			for ctx.Err() == nil && !both() {
				gen, err := cg.Next(ctx)
				if err != nil {
					time.Sleep(50 * time.Millisecond) // joining again; the loop ends with ctx
					continue
				}
				var a assigned
				for _, p := range gen.Assignments["proxy"] {
					a.proxy = append(a.proxy, p.ID)
				}
				for _, p := range gen.Assignments["app"] {
					a.app = append(a.app, p.ID)
				}
				slices.Sort(a.proxy)
				slices.Sort(a.app)
				mu.Lock()
				last[m] = a
				mu.Unlock()
			}
		})
	}
	for !both() && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if !both() {
		t.Fatalf("no generation assigned partitions to both members within the test's minute: %v", last)
	}
	seen := map[int]bool{}
	for m, a := range last {
		if !slices.Equal(a.proxy, a.app) {
			t.Errorf("member %d assigned proxy partitions %v and app partitions %v: not co-partitioned", m, a.proxy, a.app)
		}
		for _, p := range a.proxy {
			seen[p] = true
		}
	}
	if len(seen) != 4 {
		t.Errorf("the members were assigned %d of the 4 partitions: %v", len(seen), last)
	}
}
