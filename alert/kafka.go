package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// KafkaOptions configure a Kafka sink.
type KafkaOptions struct {
	Name         string
	Brokers      []string
	Topic        string
	BatchTimeout time.Duration // how long the writer waits to fill a batch; default 10ms
	Timeout      time.Duration // write and dial timeout; default 10s
	Queue        QueueOptions
	Transport    *kafka.Transport // default: a transport of the sink's own
}

// Kafka is a sink producing each alert to a topic: key = incident id, value
// = the alert's JSON (one line, no newline). Keys go to partitions with the
// CRC-32 balancer (the partitioning of librdkafka's default), so an
// incident's alerts share a partition and keep their order.
type Kafka struct {
	opts  KafkaOptions
	stats SinkStats
	w     *kafka.Writer
	*queue
}

// NewKafka returns a Kafka sink; ctx bounds its lifetime.
func NewKafka(ctx context.Context, opts KafkaOptions) (*Kafka, error) {
	if len(opts.Brokers) == 0 {
		return nil, errors.New("kafka: brokers are required")
	}
	if opts.Topic == "" {
		return nil, errors.New("kafka: topic is required")
	}
	if opts.BatchTimeout <= 0 {
		opts.BatchTimeout = 10 * time.Millisecond
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Transport == nil {
		opts.Transport = &kafka.Transport{DialTimeout: opts.Timeout}
	}
	k := &Kafka{opts: opts}
	k.stats.Type, k.stats.Name = "kafka", opts.Name
	k.w = &kafka.Writer{
		Addr:         kafka.TCP(opts.Brokers...),
		Topic:        opts.Topic,
		Balancer:     &kafka.CRC32Balancer{},
		BatchTimeout: opts.BatchTimeout,
		WriteTimeout: opts.Timeout,
		ReadTimeout:  opts.Timeout,
		RequiredAcks: kafka.RequireAll,
		MaxAttempts:  1, // the sink's queue retries with backoff
		Transport:    opts.Transport,
	}
	k.queue = newQueue(ctx, &k.stats, opts.Queue, k.deliver)
	k.queue.start()
	return k, nil
}

// Stats returns the sink's counters.
func (k *Kafka) Stats() *SinkStats { return &k.stats }

func (k *Kafka) deliver(ctx context.Context, batch []*Alert) error {
	msgs := make([]kafka.Message, 0, len(batch))
	for _, a := range batch {
		v, err := a.AppendJSON(nil)
		if err != nil {
			return fmt.Errorf("kafka %s: encoding alert %s: %w", k.opts.Name, a.ID, err)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(a.IncidentID), Value: bytes.TrimSuffix(v, []byte("\n"))})
	}
	err := k.w.WriteMessages(ctx, msgs...)
	if err == nil {
		return nil
	}
	err = fmt.Errorf("kafka %s: producing to %s: %w", k.opts.Name, k.opts.Topic, err)
	var tooLarge kafka.MessageTooLargeError
	if errors.As(err, &tooLarge) {
		// Over the writer's BatchBytes: refused before anything was sent.
		return &oversizeError{At: -1, Err: err}
	}
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) && len(werrs) == len(batch) {
		// A broker refused a record batch (all the alerts for one
		// partition) over its message.max.bytes; the other partitions'
		// batches may have been written.
		var left []int
		oversize := false
		for i, e := range werrs {
			if e != nil {
				left = append(left, i)
				oversize = oversize || errors.Is(e, kafka.MessageSizeTooLarge) || errors.Is(e, kafka.RecordListTooLarge)
			}
		}
		if oversize {
			return &oversizeError{At: -1, Left: left, Err: err}
		}
	}
	return err
}

// Close drains the queue and closes the writer.
func (k *Kafka) Close() error {
	_, err := k.shutdown(context.Background())
	return err
}

// shutdown is Close, its drain cut short when ctx ends.
func (k *Kafka) shutdown(ctx context.Context) (left, error) {
	l, err := k.queue.shutdown(ctx)
	if cerr := k.w.Close(); err == nil {
		err = cerr
	}
	return l, err
}
