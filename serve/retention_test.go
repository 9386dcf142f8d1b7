package serve

import (
	"context"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/spraywatch/spraywatch/internal/kfaketest"
	"github.com/twmb/franz-go/pkg/kfake"
)

// produceTo writes lines to one partition of topic.
func produceTo(t testing.TB, c *kfake.Cluster, topic string, part int, lines [][]byte) {
	t.Helper()
	w := kafkaWriter(c, topic)
	w.Balancer = kafkago.BalancerFunc(func(kafkago.Message, ...int) int { return part })
	defer w.Close()
	msgs := make([]kafkago.Message, len(lines))
	for i, l := range lines {
		msgs[i].Value = l
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

// TestRestartAfterRetentionEmptiedQuietPartition: a partition whose
// records retention removed up to its committed offset, and which receives
// nothing new, must not keep a restart from reading the other partitions
// (streaming.md: "An empty partition holds the others back for at most
// --idle-timeout"). Rewinding it used to wait for the message before its
// committed offset, which was gone, until a new one arrived.
func TestRestartAfterRetentionEmptiedQuietPartition(t *testing.T) {
	t.Parallel()
	c := cluster(t, 2)
	p1, p2, a1, a2 := halves(t)
	produceTo(t, c, "proxy", 1, p1)
	produceTo(t, c, "app", 1, a1)

	sink := &collector{}
	cfg := serverConfig(t, c, "expired", sink)
	cfg.CommitInterval = 100 * time.Millisecond
	// The quiet partitions hold the others back for the idle timeout:
	// what is tested. (Only offsets are checked, which a starved reader
	// taken for an idle one does not change.)
	cfg.IdleTimeout = DefaultIdleTimeout
	r1 := start(t, cfg)
	waitFor(t, patience, "commit of partition 1", func() bool {
		return committedOffsets(t, c, "expired", "proxy", 2)[1] == int64(len(p1)) && committedOffsets(t, c, "expired", "app", 2)[1] == int64(len(a1))
	})
	r1.shutdown(t)

	// Retention removes partition 1's records; it stays quiet. New
	// traffic goes to partition 0.
	kfaketest.DeleteRecords(t, c, "proxy", 1, -1)
	kfaketest.DeleteRecords(t, c, "app", 1, -1)
	produceTo(t, c, "proxy", 0, p2)
	produceTo(t, c, "app", 0, a2)

	cfg.Sink = &collector{}
	r2 := start(t, cfg)
	waitFor(t, patience, "partition 0 read and committed", func() bool {
		return committedOffsets(t, c, "expired", "proxy", 2)[0] == int64(len(p2)) && committedOffsets(t, c, "expired", "app", 2)[0] == int64(len(a2))
	})
	r2.shutdown(t)
}
