package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/spraywatch/spraywatch/ingest/kafka"
)

// kafkaSecurityFlags are the TLS and SASL settings of a Kafka client: the
// same flags in serve and produce.
type kafkaSecurityFlags struct {
	tls                       bool
	tlsCA, tlsCert, tlsKey    string
	tlsServerName             string
	saslMech, saslUser        string
	saslPassEnv, saslPassFile string
}

func (f *kafkaSecurityFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.tls, "tls", false, "connect to Kafka over TLS")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "CA `file` (PEM) for the brokers' certificates (implies --tls)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "client certificate `file` (PEM)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "client key `file` (PEM)")
	fs.StringVar(&f.tlsServerName, "tls-server-name", "", "expected broker certificate name")
	fs.StringVar(&f.saslMech, "sasl-mechanism", "", "plain, scram-sha-256 or scram-sha-512")
	fs.StringVar(&f.saslUser, "sasl-username", "", "SASL user")
	fs.StringVar(&f.saslPassEnv, "sasl-password-env", "SPRAYWATCH_KAFKA_PASSWORD", "environment `variable` holding the SASL password")
	fs.StringVar(&f.saslPassFile, "sasl-password-file", "", "`file` holding the SASL password (instead of the environment)")
}

// apply sets the TLS and SASL settings of c from the flags, reading the
// CA, the client certificate and the password. Any TLS flag turns TLS on.
// A mechanism needs a user and a password that is not empty: an unset
// variable would otherwise try an empty password, which brokers refuse by
// closing the connection, with nothing to say why.
func (f *kafkaSecurityFlags) apply(c *kafka.Config) error {
	if f.tls || f.tlsCA != "" || f.tlsCert != "" || f.tlsKey != "" || f.tlsServerName != "" {
		if (f.tlsCert == "") != (f.tlsKey == "") {
			return errors.New("--tls-cert and --tls-key go together: the client certificate and its key")
		}
		t, err := kafka.TLSConfig(f.tlsCA, f.tlsCert, f.tlsKey, f.tlsServerName)
		if err != nil {
			return err
		}
		c.TLS = t
	}
	// The mechanism's name first: a misspelt one is not taken for one
	// that lacks its user or password.
	mech, err := kafka.SASL{Mechanism: f.saslMech}.Build()
	if err != nil {
		return fmt.Errorf("--sasl-mechanism: %w", err)
	}
	switch {
	case mech == nil:
		if f.saslUser != "" || f.saslPassFile != "" {
			return errors.New("--sasl-username and --sasl-password-file need --sasl-mechanism")
		}
		return nil
	case f.saslUser == "":
		return fmt.Errorf("--sasl-mechanism %s needs --sasl-username", f.saslMech)
	}
	var pass string
	if f.saslPassFile != "" {
		b, err := os.ReadFile(f.saslPassFile)
		if err != nil {
			return fmt.Errorf("reading the SASL password: %w", err)
		}
		if pass = strings.TrimRight(string(b), "\r\n"); pass == "" {
			return fmt.Errorf("reading the SASL password: %s is empty", f.saslPassFile)
		}
	} else if pass = os.Getenv(f.saslPassEnv); pass == "" {
		return fmt.Errorf("the SASL password: environment variable %s is unset or empty (--sasl-password-env names it; --sasl-password-file reads it from a file)", f.saslPassEnv)
	}
	c.SASL = kafka.SASL{Mechanism: f.saslMech, Username: f.saslUser, Password: pass}
	return nil
}
