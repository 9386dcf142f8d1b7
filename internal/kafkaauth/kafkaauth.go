// Package kafkaauth builds how a Kafka client (github.com/segmentio/kafka-go)
// authenticates: its SASL mechanism and a transport with TLS and SASL. The
// Kafka input (ingest/kafka) and the Kafka alert output (alert) share it.
package kafkaauth

import (
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// DefaultClientID is the client id spraywatch's clients send when none is
// configured.
const DefaultClientID = "spraywatch"

// SASL selects a SASL mechanism: "" (none), "plain", "scram-sha-256" or
// "scram-sha-512".
type SASL struct {
	Mechanism string
	Username  string
	Password  string
}

// Build returns the kafka-go SASL mechanism s configures, nil for none
// (Mechanism empty or "none"). Mechanism names are not case-sensitive.
func (s SASL) Build() (sasl.Mechanism, error) {
	switch strings.ToLower(s.Mechanism) {
	case "", "none":
		return nil, nil
	case "plain":
		return plain.Mechanism{Username: s.Username, Password: s.Password}, nil
	case "scram-sha-256":
		return scram.Mechanism(scram.SHA256, s.Username, s.Password)
	case "scram-sha-512":
		return scram.Mechanism(scram.SHA512, s.Username, s.Password)
	}
	return nil, fmt.Errorf("unknown SASL mechanism %q (expected plain, scram-sha-256 or scram-sha-512)", s.Mechanism)
}

// Transport returns a transport (for writers and clients) with the client
// id, the dial timeout, TLS (nil: plaintext) and the SASL mechanism of s.
// Each writer should have its own: a transport caches topic metadata, for
// 5 s, so that partitions added to a topic are soon written to.
func Transport(clientID string, dialTimeout time.Duration, tc *tls.Config, s SASL) (*kafka.Transport, error) {
	mech, err := s.Build()
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{
		ClientID:    clientID,
		DialTimeout: dialTimeout,
		TLS:         tc,
		SASL:        mech,
		MetadataTTL: 5 * time.Second,
	}, nil
}
