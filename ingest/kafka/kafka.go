// Package kafka reads log lines from Kafka topics with
// github.com/segmentio/kafka-go: client settings (TLS, SASL PLAIN/SCRAM,
// client id, start offset policy), decoding of message values into records
// with the project's log formats, and the partition-level operations a
// consumer-group member needs to rebuild its state (rewinding a partition by
// event time).
//
// A message value is one raw log line, or a log shipper's JSON envelope
// around it (see package envelope); the key is not used.
package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/spraywatch/spraywatch/internal/kafkaauth"
)

// Config holds the client settings shared by every connection spraywatch
// opens to one cluster.
type Config struct {
	Brokers  []string
	ClientID string // sent to the brokers; defaults to "spraywatch"
	GroupID  string // consumer group

	// StartOffset is where a group starts on a partition it has no
	// committed offset for: "earliest" (the default) or "latest".
	StartOffset string

	TLS  *tls.Config // nil: plaintext
	SASL SASL

	// MaxWait bounds how long a fetch waits for new data (default 500 ms,
	// Kafka's fetch.max.wait.ms). kafka-go also uses it as the deadline for
	// the whole fetch response: too short, and a loaded broker's answer is
	// dropped and fetched again while the watermark waits.
	MaxWait time.Duration
	// SessionTimeout, HeartbeatInterval and RebalanceTimeout tune the
	// consumer group (defaults 10 s, 1 s, 10 s).
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
	RebalanceTimeout  time.Duration
	// DialTimeout bounds connection set-up (default 10 s).
	DialTimeout time.Duration
}

// SASL selects a SASL mechanism: "" (none), "plain", "scram-sha-256" or
// "scram-sha-512" (see kafkaauth.SASL).
type SASL = kafkaauth.SASL

// DefaultClientID is the client id used when none is configured.
const DefaultClientID = kafkaauth.DefaultClientID

func (c *Config) clientID() string {
	if c.ClientID == "" {
		return DefaultClientID
	}
	return c.ClientID
}

// dialTimeout returns DialTimeout, or its default.
func (c *Config) dialTimeout() time.Duration {
	if c.DialTimeout <= 0 {
		return 10 * time.Second
	}
	return c.DialTimeout
}

// MaxWaitOrDefault returns MaxWait, or its default.
func (c *Config) MaxWaitOrDefault() time.Duration {
	if c.MaxWait <= 0 {
		return 500 * time.Millisecond
	}
	return c.MaxWait
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("no Kafka brokers")
	}
	if _, err := c.StartOffsetValue(); err != nil {
		return err
	}
	if _, err := c.SASL.Build(); err != nil {
		return err
	}
	return nil
}

// StartOffsetValue maps StartOffset to kafka-go's FirstOffset or LastOffset.
func (c *Config) StartOffsetValue() (int64, error) {
	switch strings.ToLower(c.StartOffset) {
	case "", "earliest", "first", "oldest":
		return kafka.FirstOffset, nil
	case "latest", "last", "newest":
		return kafka.LastOffset, nil
	}
	return 0, fmt.Errorf("start offset %q: expected earliest or latest", c.StartOffset)
}

// Dialer returns a dialer with the client id, TLS and SASL settings.
func (c *Config) Dialer() (*kafka.Dialer, error) {
	mech, err := c.SASL.Build()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{
		ClientID:      c.clientID(),
		Timeout:       c.dialTimeout(),
		DualStack:     true,
		TLS:           c.TLS,
		SASLMechanism: mech,
	}, nil
}

// Transport returns a transport (for writers and clients) with the client
// id, TLS and SASL settings. Each writer should have its own: a transport
// caches topic metadata.
func (c *Config) Transport() (*kafka.Transport, error) {
	return kafkaauth.Transport(c.clientID(), c.dialTimeout(), c.TLS, c.SASL)
}

// ConsumerGroup returns a consumer group member over topics. Its
// generations carry the partition assignments and committed offsets; the
// partitions of one number of every topic go to one member (see
// coPartitioned).
func (c *Config) ConsumerGroup(topics []string) (*kafka.ConsumerGroup, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.GroupID == "" {
		return nil, errors.New("no consumer group id")
	}
	d, err := c.Dialer()
	if err != nil {
		return nil, err
	}
	start, _ := c.StartOffsetValue()
	cfg := kafka.ConsumerGroupConfig{
		ID:                c.GroupID,
		Brokers:           c.Brokers,
		Dialer:            d,
		Topics:            topics,
		StartOffset:       start,
		SessionTimeout:    orDefault(c.SessionTimeout, 10*time.Second),
		HeartbeatInterval: orDefault(c.HeartbeatInterval, time.Second),
		RebalanceTimeout:  orDefault(c.RebalanceTimeout, 10*time.Second),
		JoinGroupBackoff:  500 * time.Millisecond,
		Timeout:           5 * time.Second,
		// Only the range assignment keeps topics co-partitioned (kafka-go's
		// default falls back to round robin, which does not).
		GroupBalancers: []kafka.GroupBalancer{coPartitioned{}},
	}
	return kafka.NewConsumerGroup(cfg)
}

// PartitionReader returns a reader of one partition (no group), positioned
// at offset (an offset, FirstOffset or LastOffset).
func (c *Config) PartitionReader(topic string, partition int, offset int64) (*kafka.Reader, error) {
	d, err := c.Dialer()
	if err != nil {
		return nil, err
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        c.Brokers,
		Topic:          topic,
		Partition:      partition,
		Dialer:         d,
		MinBytes:       1,
		MaxBytes:       1 << 20,
		MaxWait:        c.MaxWaitOrDefault(),
		QueueCapacity:  1000,
		ReadBackoffMin: 50 * time.Millisecond,
		ReadBackoffMax: time.Second,
		MaxAttempts:    1 << 30,
	})
	if err := r.SetOffset(offset); err != nil {
		r.Close()
		return nil, fmt.Errorf("positioning %s/%d at %d: %w", topic, partition, offset, err)
	}
	return r, nil
}

// Writer returns a synchronous writer to topic with its own transport,
// partitioning by key with balancer (nil: CRC32Balancer, librdkafka's
// default).
func (c *Config) Writer(topic string, balancer kafka.Balancer) (*kafka.Writer, error) {
	t, err := c.Transport()
	if err != nil {
		return nil, err
	}
	if balancer == nil {
		balancer = &kafka.CRC32Balancer{}
	}
	balancer = explicit{balancer}
	return &kafka.Writer{
		Addr:         kafka.TCP(c.Brokers...),
		Topic:        topic,
		Balancer:     balancer,
		Transport:    t,
		RequiredAcks: kafka.RequireAll,
		BatchSize:    10_000,
		BatchBytes:   1 << 20, // the brokers' default message.max.bytes
		BatchTimeout: 5 * time.Millisecond,
		MaxAttempts:  10,
	}, nil
}

// PartitionHeader is a message header naming the partition a Writer made
// by Config.Writer puts the message on, whatever its key (decimal).
const PartitionHeader = "spraywatch.partition"

type explicit struct{ kafka.Balancer }

func (b explicit) Balance(m kafka.Message, partitions ...int) int {
	for _, h := range m.Headers {
		if h.Key == PartitionHeader {
			if n, err := strconv.Atoi(string(h.Value)); err == nil && slices.Contains(partitions, n) {
				return n
			}
		}
	}
	return b.Balancer.Balance(m, partitions...)
}

// Partitions returns how many partitions topic has.
func (c *Config) Partitions(ctx context.Context, topic string) (int, error) {
	d, err := c.Dialer()
	if err != nil {
		return 0, err
	}
	var last error
	for _, b := range c.Brokers {
		ps, err := d.LookupPartitions(ctx, "tcp", b, topic)
		if err == nil {
			return len(ps), nil
		}
		last = err
	}
	return 0, fmt.Errorf("looking up the partitions of %s: %w", topic, last)
}

// Balancer returns the partitioner named name: "crc32" (librdkafka's
// default, used by Vector, Fluent Bit and kcat) or "murmur2" (the Java
// client's default).
func Balancer(name string) (kafka.Balancer, error) {
	switch strings.ToLower(name) {
	case "", "crc32", "consistent_random", "librdkafka":
		return &kafka.CRC32Balancer{}, nil
	case "murmur2", "java":
		return &kafka.Murmur2Balancer{}, nil
	}
	return nil, fmt.Errorf("partitioner %q: expected crc32 or murmur2", name)
}

// RewindTimeout bounds RewindOffset: a partition whose rewind takes
// longer is read from its committed offset.
const RewindTimeout = 10 * time.Second

// RewindOffset returns the offset of the first message of a partition
// whose timestamp is at most span before the timestamp of the message just
// before committed: reading from there up to committed rebuilds state
// spanning span. With nothing before committed (or that message gone to
// retention) it returns committed. It asks the partition leader for the
// partition's first and last offsets (so a message gone is known without
// waiting for it), reads that one message with a short-lived partition
// reader and looks the time up (ListOffsets by timestamp), so it needs no
// consumer group. It takes at most RewindTimeout.
func (c *Config) RewindOffset(ctx context.Context, topic string, partition int, committed int64, span time.Duration) (int64, error) {
	if committed <= 0 {
		return committed, nil
	}
	ctx, cancel := context.WithTimeout(ctx, RewindTimeout)
	defer cancel()
	conn, err := c.dialLeader(ctx, topic, partition)
	if err != nil {
		return committed, err
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	first, last, err := conn.ReadOffsets()
	if err != nil {
		return committed, fmt.Errorf("reading the offsets of %s/%d: %w", topic, partition, err)
	}
	if committed-1 < first || committed-1 >= last {
		return committed, nil // gone to retention (or never written)
	}
	probe, err := c.PartitionReader(topic, partition, committed-1)
	if err != nil {
		return committed, err
	}
	m, err := probe.FetchMessage(ctx)
	probe.Close()
	if err != nil {
		return committed, fmt.Errorf("reading the message before offset %d of %s/%d: %w", committed, topic, partition, err)
	}
	if m.Offset != committed-1 {
		return committed, nil
	}
	at := m.Time.Add(-span)
	off, err := conn.ReadOffset(at)
	if err != nil {
		return committed, fmt.Errorf("looking up the offset of %s/%d at %s: %w", topic, partition, at.Format(time.RFC3339), err)
	}
	if off < 0 || off > committed {
		off = committed
	}
	return off, nil
}

// dialLeader connects to the leader of a partition.
func (c *Config) dialLeader(ctx context.Context, topic string, partition int) (*kafka.Conn, error) {
	d, err := c.Dialer()
	if err != nil {
		return nil, err
	}
	for _, b := range c.Brokers {
		var conn *kafka.Conn
		if conn, err = d.DialLeader(ctx, "tcp", b, topic, partition); err == nil {
			return conn, nil
		}
	}
	return nil, fmt.Errorf("dialing the leader of %s/%d: %w", topic, partition, err)
}

// TLSConfig builds a client TLS configuration from PEM files: caFile
// (empty: the system pool), and an optional client certificate and key.
func TLSConfig(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	c := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("reading Kafka CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificate in Kafka CA file %s", caFile)
		}
		c.RootCAs = pool
	}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("loading Kafka client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
