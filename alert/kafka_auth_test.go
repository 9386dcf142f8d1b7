package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	ingestkafka "github.com/spraywatch/spraywatch/ingest/kafka"
	"github.com/spraywatch/spraywatch/internal/testpki"
)

// kafkaAttempt sends one alert through the kafka output c opens and
// returns what the output did with it once closed.
func kafkaAttempt(t *testing.T, c Config, a *Alert) Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	fan, err := Open(ctx, []Config{c})
	if err != nil {
		t.Fatal(err)
	}
	if err := fan.Send(ctx, a); err != nil {
		t.Fatal(err)
	}
	st := fan.Stats()[0]
	waitFor(t, 15*time.Second, "an attempt", func() bool { return st.Delivered.Load()+st.Failures.Load() > 0 })
	fan.Close()
	return fan.Deliveries()[0]
}

// readOne reads the first record of partition 0 of topic with the
// client settings kc.
func readOne(t *testing.T, kc ingestkafka.Config, topic string) kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kc.MaxWait = 200 * time.Millisecond
	r, err := kc.PartitionReader(topic, 0, kafka.FirstOffset)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m, err := r.FetchMessage(ctx)
	if err != nil {
		t.Fatalf("reading %s back: %v", topic, err)
	}
	return m
}

// checkRecord reports a record that is not a's: key its incident id,
// value its JSON on one line.
func checkRecord(t *testing.T, m kafka.Message, a *Alert) {
	t.Helper()
	want, err := a.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Key) != a.IncidentID {
		t.Errorf("key %q, want the incident id %q", m.Key, a.IncidentID)
	}
	if !bytes.Equal(m.Value, bytes.TrimSuffix(want, []byte("\n"))) {
		t.Errorf("value\n%s\nwant\n%s", m.Value, want)
	}
}

// TestKafkaOutputTLS delivers to a broker on 127.0.0.1 that requires
// TLS with a client certificate from an internal CA, with the output's
// tls and tls_* settings.
func TestKafkaOutputTLS(t *testing.T) {
	pki := testpki.New(t)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "alerts"), kfake.TLS(&tls.Config{
		Certificates: []tls.Certificate{pki.Server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.Pool,
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()

	base := Config{Type: "kafka", Name: "soc", Brokers: cluster.ListenAddrs(), Topic: "alerts", TLS: true,
		MaxAttempts: 1, Timeout: 2 * time.Second, DrainTimeout: 5 * time.Second}
	t.Run("no ca", func(t *testing.T) {
		c := base
		c.TLSCertFile, c.TLSKeyFile = pki.CertFile, pki.KeyFile
		d := kafkaAttempt(t, c, testAlert("inc-x", 1, "bob"))
		if d.Delivered != 0 || d.Dropped != 1 || d.Cause == nil || !strings.Contains(d.Cause.Error(), "certificate signed by unknown authority") {
			t.Errorf("delivered %d, dropped %d, cause %v; want a failure to verify the broker", d.Delivered, d.Dropped, d.Cause)
		}
	})
	t.Run("ca and client certificate", func(t *testing.T) {
		c := base
		c.TLSCAFile, c.TLSCertFile, c.TLSKeyFile = pki.CAFile, pki.CertFile, pki.KeyFile
		c.TLSServerName = testpki.ServerName
		a := testAlert("inc-tls", 1, "bob")
		d := kafkaAttempt(t, c, a)
		if d.Delivered != 1 {
			t.Fatalf("delivered %d, dropped %d: %v", d.Delivered, d.Dropped, d.Cause)
		}
		tc, err := ingestkafka.TLSConfig(pki.CAFile, pki.CertFile, pki.KeyFile, "")
		if err != nil {
			t.Fatal(err)
		}
		checkRecord(t, readOne(t, ingestkafka.Config{Brokers: cluster.ListenAddrs(), TLS: tc}, "alerts"), a)
	})
}

// TestKafkaOutputSASL delivers to brokers that require SASL, with the
// password from the environment or a file, and over TLS; a wrong
// password fails every attempt.
func TestKafkaOutputSASL(t *testing.T) {
	pki := testpki.New(t)
	passFile := filepath.Join(t.TempDir(), "kafka.pass")
	if err := os.WriteFile(passFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(t.TempDir(), "wrong.pass")
	if err := os.WriteFile(wrongFile, []byte("guess"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SPRAYWATCH_TEST_KAFKA_PASSWORD", "s3cret")
	t.Setenv("SPRAYWATCH_TEST_KAFKA_WRONG", "s3cret2")
	cases := []struct {
		name    string
		mech    string // kfake's name; the configuration's is its lower case
		tls     bool
		set     func(c *Config)
		deliver bool
	}{
		{"plain, env", "PLAIN", false, func(c *Config) { c.SASLPasswordEnv = "SPRAYWATCH_TEST_KAFKA_PASSWORD" }, true},
		{"scram-sha-256, file", "SCRAM-SHA-256", false, func(c *Config) { c.SASLPasswordFile = passFile }, true},
		{"scram-sha-512, env", "SCRAM-SHA-512", false, func(c *Config) { c.SASLPasswordEnv = "SPRAYWATCH_TEST_KAFKA_PASSWORD" }, true},
		{"scram-sha-512 over tls", "SCRAM-SHA-512", true, func(c *Config) { c.SASLPasswordFile = passFile }, true},
		{"plain, wrong password", "PLAIN", false, func(c *Config) { c.SASLPasswordFile = wrongFile }, false},
		{"scram-sha-512, wrong password", "SCRAM-SHA-512", false, func(c *Config) { c.SASLPasswordEnv = "SPRAYWATCH_TEST_KAFKA_WRONG" }, false},
		{"scram-sha-256, wrong user", "SCRAM-SHA-256", false, func(c *Config) { c.SASLUsername = "other"; c.SASLPasswordFile = passFile }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(1, "alerts"), kfake.EnableSASL(), kfake.Superuser(tc.mech, "spraywatch", "s3cret")}
			if tc.tls {
				opts = append(opts, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{pki.Server}}))
			}
			cluster, err := kfake.NewCluster(opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer cluster.Close()
			c := Config{Type: "kafka", Name: "soc", Brokers: cluster.ListenAddrs(), Topic: "alerts",
				SASLMechanism: strings.ToLower(tc.mech), SASLUsername: "spraywatch",
				MaxAttempts: 1, Timeout: 2 * time.Second, DrainTimeout: 5 * time.Second}
			if tc.tls {
				c.TLS, c.TLSCAFile = true, pki.CAFile
			}
			tc.set(&c)
			if err := c.Check(); err != nil {
				t.Fatal(err)
			}
			a := testAlert("inc-sasl", 1, "bob")
			d := kafkaAttempt(t, c, a)
			if !tc.deliver {
				// kfake closes the connection on a failed
				// authentication (a Kafka broker answers with error 58,
				// SASL Authentication Failed, first): the cause is the
				// connection's end.
				if d.Delivered != 0 || d.Dropped != 1 || d.Cause == nil || !strings.Contains(d.Cause.Error(), "kafka soc: producing to alerts: ") {
					t.Errorf("delivered %d, dropped %d, cause %v; want a failure to authenticate", d.Delivered, d.Dropped, d.Cause)
				}
				return
			}
			if d.Delivered != 1 {
				t.Fatalf("delivered %d, dropped %d: %v", d.Delivered, d.Dropped, d.Cause)
			}
			kc := ingestkafka.Config{Brokers: cluster.ListenAddrs(), SASL: ingestkafka.SASL{Mechanism: tc.mech, Username: "spraywatch", Password: "s3cret"}}
			if tc.tls {
				kc.TLS = &tls.Config{RootCAs: pki.Pool}
			}
			checkRecord(t, readOne(t, kc, "alerts"), a)
		})
	}
}

// TestCheckKafkaSecurity checks the tls and sasl_* settings, as
// configuration checks place them.
func TestCheckKafkaSecurity(t *testing.T) {
	kafkaOut := func(set func(c *Config)) Config {
		c := Config{Type: "kafka", Brokers: []string{"k:9093"}, Topic: "alerts"}
		set(&c)
		return c
	}
	scram := func(c *Config) {
		c.SASLMechanism, c.SASLUsername, c.SASLPasswordEnv = "scram-sha-512", "sw", "KAFKA_PASSWORD"
	}
	cases := []struct {
		name string
		c    Config
		keys []string // the keys of the errors, in order; none: no error
		want []string // in the errors, in order
	}{
		{"plaintext", kafkaOut(func(c *Config) {}), nil, nil},
		{"tls", kafkaOut(func(c *Config) { c.TLS = true }), nil, nil},
		{"tls with every setting", kafkaOut(func(c *Config) {
			c.TLS, c.TLSCAFile, c.TLSCertFile, c.TLSKeyFile, c.TLSServerName = true, "ca", "c", "k", "kafka-1"
		}), nil, nil},
		{"scram over tls", kafkaOut(func(c *Config) { scram(c); c.TLS = true }), nil, nil},
		{"plain, password file, upper case", kafkaOut(func(c *Config) {
			c.SASLMechanism, c.SASLUsername, c.SASLPasswordFile = "PLAIN", "sw", "pass"
		}), nil, nil},
		{"tls_ca_file without tls", kafkaOut(func(c *Config) { c.TLSCAFile = "ca" }),
			[]string{"tls_ca_file"}, []string{"kafka: tls_ca_file applies only to an output with tls: true: without TLS it would be ignored"}},
		{"client certificate without tls", kafkaOut(func(c *Config) { c.TLSCertFile, c.TLSKeyFile = "c", "k" }),
			[]string{"tls_cert_file", "tls_key_file"}, []string{"kafka: tls_cert_file applies only", "kafka: tls_key_file applies only"}},
		{"tls, key without certificate", kafkaOut(func(c *Config) { c.TLS, c.TLSKeyFile = true, "k" }),
			[]string{"tls_key_file"}, []string{"kafka: tls_key_file needs tls_cert_file"}},
		{"unknown mechanism", kafkaOut(func(c *Config) { scram(c); c.SASLMechanism = "gssapi" }),
			[]string{"sasl_mechanism"}, []string{`kafka: unknown SASL mechanism "gssapi" (expected plain, scram-sha-256 or scram-sha-512)`}},
		{"mechanism without username", kafkaOut(func(c *Config) { scram(c); c.SASLUsername = "" }),
			[]string{"sasl_mechanism"}, []string{"kafka: sasl_mechanism scram-sha-512 needs sasl_username"}},
		{"mechanism without password", kafkaOut(func(c *Config) { scram(c); c.SASLPasswordEnv = "" }),
			[]string{"sasl_mechanism"}, []string{"kafka: sasl_mechanism scram-sha-512 needs the password's sasl_password_env (an environment variable) or sasl_password_file"}},
		{"two passwords", kafkaOut(func(c *Config) { scram(c); c.SASLPasswordFile = "pass" }),
			[]string{"sasl_password_file"}, []string{"kafka: set sasl_password_env or sasl_password_file, not both"}},
		{"username without mechanism", kafkaOut(func(c *Config) { c.SASLUsername = "sw" }),
			[]string{"sasl_username"}, []string{"kafka: sasl_username applies only with sasl_mechanism: without one no SASL authentication is made"}},
		{"password without mechanism", kafkaOut(func(c *Config) { c.SASLUsername, c.SASLPasswordFile = "sw", "pass" }),
			[]string{"sasl_username", "sasl_password_file"}, []string{"kafka: sasl_username applies only with sasl_mechanism", "kafka: sasl_password_file applies only with sasl_mechanism"}},
		{"mechanism none", kafkaOut(func(c *Config) { c.SASLMechanism, c.SASLUsername = "none", "sw" }),
			[]string{"sasl_username"}, []string{"kafka: sasl_username applies only with sasl_mechanism"}},
		{"brokers missing and tls_* without tls", Config{Type: "kafka", Topic: "t", TLSServerName: "k"},
			[]string{""}, []string{"kafka: brokers are required"}},
		{"tls on a webhook", Config{Type: "webhook", URL: "http://soc", SpoolDir: "s", TLS: true},
			[]string{"tls"}, []string{"webhook: tls applies only to a kafka output (an https:// url turns TLS on)"}},
		{"tls on alertmanager over https", Config{Type: "alertmanager", URL: "https://am:9093", TLS: true},
			[]string{"tls"}, []string{"alertmanager: tls applies only to a kafka output (an https:// url turns TLS on)"}},
		{"tls on syslog", Config{Type: "syslog", Network: "tls", Address: "siem:6514", TLS: true},
			[]string{"tls"}, []string{"syslog: tls applies only to a kafka output (network: tls turns TLS on)"}},
		{"tls on a file", Config{Type: "file", Path: "a", TLS: true},
			[]string{"tls"}, []string{"file: tls applies only to a kafka output"}},
		{"sasl on a webhook", Config{Type: "webhook", URL: "https://soc", SpoolDir: "s", SASLMechanism: "plain", SASLUsername: "sw", SASLPasswordEnv: "P"},
			[]string{"sasl_mechanism", "sasl_username", "sasl_password_env"},
			[]string{"webhook: sasl_mechanism applies only to a kafka output", "webhook: sasl_username applies", "webhook: sasl_password_env applies"}},
		{"sasl on syslog with another error", Config{Type: "syslog", Network: "tcp", Address: "siem", SASLPasswordFile: "p"},
			[]string{"address", "sasl_password_file"}, []string{`syslog: address "siem" is not host:port`, "syslog: sasl_password_file applies only to a kafka output"}},
		{"sasl on stdout", Config{Type: "stdout", SASLUsername: "sw"},
			[]string{"sasl_username"}, []string{"stdout: sasl_username applies only to a kafka output"}},
		{"tls and every tls_* on a file", Config{Type: "file", Path: "a", TLS: true, TLSCAFile: "ca", TLSCertFile: "c", TLSKeyFile: "k", TLSServerName: "n"},
			[]string{"tls", "tls_ca_file", "tls_cert_file", "tls_key_file", "tls_server_name"},
			[]string{"file: tls applies only to a kafka output", "file: tls_ca_file applies only to an output that connects", "file: tls_cert_file applies", "file: tls_key_file applies", "file: tls_server_name applies"}},
		{"file without path and tls_*", Config{Type: "file", TLSCAFile: "ca"},
			[]string{"", "tls_ca_file"}, []string{"file: path is required", "file: tls_ca_file applies only to an output that connects"}},
		{"unknown type", Config{Type: "pager", TLS: true, SASLUsername: "sw"}, []string{""}, []string{`unknown type "pager"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Check()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			errs := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			}
			if len(errs) != len(tc.want) {
				t.Fatalf("%d errors (%v), want %d", len(errs), err, len(tc.want))
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tc.want[i]) {
					t.Errorf("error %d: %v, want %q", i, e, tc.want[i])
				}
				var ke *KeyError
				switch {
				case tc.keys[i] == "" && errors.As(e, &ke):
					t.Errorf("error %d at key %v, want the output", i, ke.Key)
				case tc.keys[i] != "" && (!errors.As(e, &ke) || len(ke.Key) != 1 || ke.Key[0] != tc.keys[i]):
					t.Errorf("error %d not at key %s: %#v", i, tc.keys[i], e)
				}
			}
		})
	}
}

// TestOpenKafkaPassword: a SASL password that cannot be read fails the
// output's opening, naming the key, before any connection is made.
func TestOpenKafkaPassword(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pass")
	if err := os.WriteFile(empty, []byte("\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SPRAYWATCH_TEST_EMPTY_PASSWORD", "")
	pki := testpki.New(t)
	cases := []struct {
		name string
		set  func(c *Config)
		key  string
		want string
	}{
		{"env unset", func(c *Config) { c.SASLPasswordEnv = "SPRAYWATCH_TEST_UNSET_PASSWORD" }, "sasl_password_env",
			"kafka: environment variable SPRAYWATCH_TEST_UNSET_PASSWORD (sasl_password_env) is empty or unset"},
		{"env empty", func(c *Config) { c.SASLPasswordEnv = "SPRAYWATCH_TEST_EMPTY_PASSWORD" }, "sasl_password_env",
			"kafka: environment variable SPRAYWATCH_TEST_EMPTY_PASSWORD (sasl_password_env) is empty or unset"},
		{"file missing", func(c *Config) { c.SASLPasswordFile = filepath.Join(dir, "none.pass") }, "sasl_password_file",
			"kafka: reading sasl_password_file: open " + filepath.Join(dir, "none.pass")},
		{"file empty", func(c *Config) { c.SASLPasswordFile = empty }, "sasl_password_file",
			"kafka: sasl_password_file " + empty + " is empty"},
		{"tls_ca_file not a certificate", func(c *Config) {
			c.SASLPasswordFile, c.TLS, c.TLSCAFile = pki.KeyFile, true, pki.KeyFile
		}, "", "kafka: tls_ca_file " + pki.KeyFile + " holds no PEM certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// No broker listens on 127.0.0.1:1: an output that opened
			// would fail its attempts, not its opening.
			c := Config{Type: "kafka", Name: "soc", Brokers: []string{"127.0.0.1:1"}, Topic: "alerts",
				SASLMechanism: "scram-sha-256", SASLUsername: "sw"}
			tc.set(&c)
			fan, err := Open(context.Background(), []Config{c})
			if err == nil {
				fan.Close()
				t.Fatalf("opened, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), "outputs[0] (soc): "+tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			var ke *KeyError
			if tc.key != "" && (!errors.As(err, &ke) || ke.Key[0] != tc.key) {
				t.Errorf("error not at key %s: %#v", tc.key, err)
			}
		})
	}
}
