package alert

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

func TestKafkaSink(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "alerts")) // listens on 127.0.0.1
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k, err := NewKafka(ctx, KafkaOptions{Name: "soc", Brokers: c.ListenAddrs(), Topic: "alerts"})
	if err != nil {
		t.Fatal(err)
	}
	incidents := []string{"inc-a", "inc-b", "inc-c", "inc-d"}
	const perIncident = 5
	for seq := 1; seq <= perIncident; seq++ {
		for _, inc := range incidents {
			if err := k.Send(ctx, testAlert(inc, seq, "user\n\"x\"")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	total := perIncident * len(incidents)
	if got := k.Stats().Delivered.Load(); got != uint64(total) {
		t.Fatalf("delivered = %d, want %d (failures %d)", got, total, k.Stats().Failures.Load())
	}
	partOf := map[string]int{}
	lastSeq := map[string]int{}
	read := 0
	for p := range 2 {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: c.ListenAddrs(), Topic: "alerts", Partition: p, MaxWait: 200 * time.Millisecond})
		conn, err := kafka.DialLeader(ctx, "tcp", c.ListenAddrs()[0], "alerts", p)
		if err != nil {
			t.Fatal(err)
		}
		last, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		for range last {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var a Alert
			if err := json.Unmarshal(m.Value, &a); err != nil {
				t.Fatalf("value is not an alert: %v", err)
			}
			if string(m.Key) != a.IncidentID {
				t.Errorf("key %q, incident %q", m.Key, a.IncidentID)
			}
			if q, ok := partOf[a.IncidentID]; ok && q != p {
				t.Errorf("incident %s in partitions %d and %d", a.IncidentID, q, p)
			}
			partOf[a.IncidentID] = p
			if a.Sequence != lastSeq[a.IncidentID]+1 {
				t.Errorf("incident %s: sequence %d after %d", a.IncidentID, a.Sequence, lastSeq[a.IncidentID])
			}
			lastSeq[a.IncidentID] = a.Sequence
			if a.Sample.UserNames[0] != "user\n\"x\"" {
				t.Errorf("user name %q", a.Sample.UserNames[0])
			}
			read++
		}
		r.Close()
	}
	if read != total {
		t.Errorf("read %d messages, want %d", read, total)
	}
}
