package alert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"

	"github.com/spraywatch/spraywatch/internal/kafkaauth"
)

// Config is one entry of the "outputs:" list. Type selects the sink; the
// options that do not apply to it are ignored, except the settings of a
// connection's security (tls, tls_*, sasl_*), which Check rejects where
// they would not take effect. docs/sinks.md describes each.
type Config struct {
	Type        string   `yaml:"type"` // stdout, file, webhook, alertmanager, kafka, syslog
	Name        string   `yaml:"name,omitempty"`
	MinSeverity string   `yaml:"min_severity,omitempty"`
	Rules       []string `yaml:"rules,omitempty"`

	// Delivery (webhook, alertmanager, kafka, syslog).
	QueueSize    int           `yaml:"queue_size,omitempty"`
	MaxAttempts  int           `yaml:"max_attempts,omitempty"`
	RetryInitial time.Duration `yaml:"retry_initial,omitempty"`
	RetryMax     time.Duration `yaml:"retry_max,omitempty"`
	JitterSeed   uint64        `yaml:"jitter_seed,omitempty"`
	DrainTimeout time.Duration `yaml:"drain_timeout,omitempty"`
	Timeout      time.Duration `yaml:"timeout,omitempty"`

	// file
	Path     string `yaml:"path,omitempty"`
	MaxBytes int64  `yaml:"max_bytes,omitempty"`
	Keep     int    `yaml:"keep,omitempty"`

	// webhook and alertmanager (and the tls_* settings below, with an
	// https:// url)
	URL string `yaml:"url,omitempty"`

	// webhook
	Format        string            `yaml:"format,omitempty"`
	SecretFile    string            `yaml:"secret_file,omitempty"`
	SecretEnv     string            `yaml:"secret_env,omitempty"`
	Headers       map[string]string `yaml:"headers,omitempty"`
	SpoolDir      string            `yaml:"spool_dir,omitempty"`
	SpoolMaxBytes int64             `yaml:"spool_max_bytes,omitempty"`

	// alertmanager
	AlertName      string        `yaml:"alertname,omitempty"`
	GeneratorURL   string        `yaml:"generator_url,omitempty"`
	ResendInterval time.Duration `yaml:"resend_interval,omitempty"`

	// kafka (and the tls_* settings below, with tls: true). The SASL
	// password is read from the environment variable or the file named,
	// never from the configuration itself.
	Brokers          []string      `yaml:"brokers,omitempty"`
	Topic            string        `yaml:"topic,omitempty"`
	BatchTimeout     time.Duration `yaml:"batch_timeout,omitempty"`
	TLS              bool          `yaml:"tls,omitempty"`
	SASLMechanism    string        `yaml:"sasl_mechanism,omitempty"`
	SASLUsername     string        `yaml:"sasl_username,omitempty"`
	SASLPasswordEnv  string        `yaml:"sasl_password_env,omitempty"`
	SASLPasswordFile string        `yaml:"sasl_password_file,omitempty"`

	// syslog (tls_*: also webhook, alertmanager and kafka)
	Network       string `yaml:"network,omitempty"`
	Address       string `yaml:"address,omitempty"`
	Facility      string `yaml:"facility,omitempty"`
	Hostname      string `yaml:"hostname,omitempty"`
	AppName       string `yaml:"app_name,omitempty"`
	TLSCAFile     string `yaml:"tls_ca_file,omitempty"`
	TLSCertFile   string `yaml:"tls_cert_file,omitempty"`
	TLSKeyFile    string `yaml:"tls_key_file,omitempty"`
	TLSServerName string `yaml:"tls_server_name,omitempty"`
}

// Open builds the sinks of cfgs behind a fan-out. They live until the
// fan-out is closed, whatever becomes of ctx (whose values they keep):
// a server whose context ends on SIGTERM still sends the alerts of its
// final pass, then closes the sinks, each draining for its drain_timeout.
// On error the sinks opened so far are closed.
func Open(ctx context.Context, cfgs []Config) (*Fanout, error) {
	ctx = context.WithoutCancel(ctx)
	if err := CheckNames(cfgs); err != nil {
		return nil, err
	}
	var routed []Routed
	for i, c := range cfgs {
		c.Name = c.NameAt(i)
		err := c.Check()
		var s Sink
		if err == nil {
			s, err = open(ctx, c)
		}
		if err != nil {
			NewFanout(routed...).Close()
			return nil, fmt.Errorf("outputs[%d] (%s): %w", i, c.Name, err)
		}
		routed = append(routed, Routed{Sink: s, Route: Route{MinSeverity: c.MinSeverity, Rules: c.Rules}})
	}
	return NewFanout(routed...), nil
}

// NameAt is the name output i of an outputs list goes by in errors and
// metrics: its name, or <type>-<index> when it has none.
func (c *Config) NameAt(i int) string {
	if c.Name != "" {
		return c.Name
	}
	return fmt.Sprintf("%s-%d", c.Type, i)
}

// CheckNames reports outputs of one list that go by the same name (see
// NameAt): their metrics would be one series, and their errors could not
// be told apart; and webhooks that share a spool_dir (CheckSpoolDir).
func CheckNames(cfgs []Config) error {
	var errs []error
	for i := range cfgs {
		if err := CheckName(cfgs, i); err != nil {
			errs = append(errs, fmt.Errorf("outputs[%d]: %w", i, err))
		}
		if err := CheckSpoolDir(cfgs, i); err != nil {
			errs = append(errs, fmt.Errorf("outputs[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// CheckSpoolDir reports whether output i of cfgs is a webhook with the
// spool_dir of an earlier webhook: each delivers its spool alone (the
// second would not open).
func CheckSpoolDir(cfgs []Config, i int) error {
	c := &cfgs[i]
	if c.Type != "webhook" || c.SpoolDir == "" {
		return nil
	}
	dir := filepath.Clean(c.SpoolDir)
	for j := range i {
		if cfgs[j].Type == "webhook" && cfgs[j].SpoolDir != "" && filepath.Clean(cfgs[j].SpoolDir) == dir {
			return keyErrorf([]string{"spool_dir"}, "webhook: spool_dir %s is also the spool_dir of outputs[%d]: give each webhook output its own", c.SpoolDir, j)
		}
	}
	return nil
}

// CheckName reports whether output i of cfgs goes by the name of an
// earlier output.
func CheckName(cfgs []Config, i int) error {
	name := cfgs[i].NameAt(i)
	for j := range i {
		if cfgs[j].NameAt(j) == name {
			return fmt.Errorf("name %q is also the name of outputs[%d]: give each output its own name", name, j)
		}
	}
	return nil
}

type nopCloser struct{ io.Writer }

// A KeyError is an error of Check about the value of one key of an
// output: Key is its path in the output (e.g. ["headers", "X-Token"]),
// so that a configuration file can say on which line it is.
type KeyError struct {
	Key []string
	Err error
}

func (e *KeyError) Error() string { return e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

func keyErrorf(key []string, format string, args ...any) error {
	return &KeyError{Key: key, Err: fmt.Errorf(format, args...)}
}

// checkGeneratorURL reports a generator_url that Alertmanager would
// refuse (422, "generatorURL in body must be of type uri"), failing every
// post of the output: it takes what Go's url.ParseRequestURI takes, an
// absolute URL or an absolute path. "" sends none.
func checkGeneratorURL(s string) error {
	if s == "" {
		return nil
	}
	if _, err := url.ParseRequestURI(s); err != nil {
		return keyErrorf([]string{"generator_url"}, "alertmanager: generator_url %q is not a URL Alertmanager takes (an absolute URL, e.g. https://grafana.example.com/d/spraywatch-overview, or a path starting with /)", s)
	}
	return nil
}

// checkURL reports a url that is not an absolute http or https URL: the
// outputs would fail every attempt. The error names the url without its
// path or query (hiddenURL), which can be its credential.
func checkURL(typ, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return keyErrorf([]string{"url"}, "%s: url %q is not an absolute http:// or https:// URL", typ, hiddenURL(s))
	}
	return nil
}

// checkHeaders reports the headers a request cannot carry: a name that is
// not an HTTP token, a value with a control character (a line break: a
// YAML block scalar "|" ends with one). Go's client refuses such a
// request, and the webhook would retry it forever.
func checkHeaders(h map[string]string) []error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(h)) {
		v := h[k]
		if k == "" || strings.IndexFunc(k, func(r rune) bool { return r >= utf8.RuneSelf || !httpToken[r] }) >= 0 {
			errs = append(errs, keyErrorf([]string{"headers", k}, "webhook: header name %q is not an HTTP token (letters, digits and !#$%%&'*+-.^_`|~)", k))
			continue
		}
		if i := strings.IndexFunc(v, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }); i >= 0 {
			hint := ""
			if v[i] == '\n' && i == len(v)-1 {
				hint = ` (a YAML block scalar "|" ends with a newline: use "|-" or a quoted string)`
			}
			errs = append(errs, keyErrorf([]string{"headers", k}, "webhook: value of header %q holds the control character %q%s", k, v[i], hint))
		}
	}
	return errs
}

// httpToken holds the ASCII characters of an HTTP token (RFC 9110 5.6.2).
var httpToken = func() (t [utf8.RuneSelf]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// Check validates the settings of c that can be checked without opening
// the sink (files, connections): Open checks them first, and
// configuration checks use it to report what Open would reject. The
// errors it joins are each about one key (a KeyError) or the output.
func (c *Config) Check() error {
	var errs []error
	if err := c.checkType(); err != nil {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = append(errs, j.Unwrap()...)
		} else {
			errs = append(errs, err)
		}
	}
	errs = append(errs, c.checkKafkaOnly()...)
	errs = append(errs, c.checkNoConnection()...)
	errs = append(errs, c.checkNotNegative()...)
	return errors.Join(errs...)
}

// checkNotNegative reports the sizes, counts and durations given as a
// negative number: 0 (or no key) means the default, and a negative value
// has no meaning. max_attempts, whose negative value retries without
// limit, is not one of them.
func (c *Config) checkNotNegative() []error {
	var errs []error
	for _, k := range []struct {
		key string
		neg bool
	}{
		{"queue_size", c.QueueSize < 0}, {"retry_initial", c.RetryInitial < 0}, {"retry_max", c.RetryMax < 0},
		{"drain_timeout", c.DrainTimeout < 0}, {"timeout", c.Timeout < 0},
		{"max_bytes", c.MaxBytes < 0}, {"keep", c.Keep < 0}, {"spool_max_bytes", c.SpoolMaxBytes < 0},
		{"resend_interval", c.ResendInterval < 0}, {"batch_timeout", c.BatchTimeout < 0},
	} {
		if k.neg {
			errs = append(errs, keyErrorf([]string{k.key}, "%s: %s must not be negative (0, or no %s, is the default)", c.Type, k.key, k.key))
		}
	}
	return errs
}

// checkType validates the settings of c's type.
func (c *Config) checkType() error {
	if c.MinSeverity != "" && SeverityRank(c.MinSeverity) == 0 {
		return keyErrorf([]string{"min_severity"}, "unknown min_severity %q (want low, medium, high or critical)", c.MinSeverity)
	}
	switch c.Type {
	case "stdout":
	case "file":
		if c.Path == "" {
			return errors.New("file: path is required")
		}
	case "webhook":
		switch {
		case c.URL == "":
			return errors.New("webhook: url is required")
		case c.SpoolDir == "":
			return errors.New("webhook: spool_dir is required")
		case c.SecretFile != "" && c.SecretEnv != "":
			return errors.New("webhook: set secret_file or secret_env, not both")
		}
		switch c.Format {
		case "", FormatJSON, FormatSlack:
		default:
			return keyErrorf([]string{"format"}, "webhook: unknown format %q (want json or slack)", c.Format)
		}
		errs := append([]error{checkURL("webhook", c.URL)}, checkHeaders(c.Headers)...)
		return errors.Join(append(errs, c.checkTLS(c.httpsURL(), "an https:// url")...)...)
	case "alertmanager":
		if c.URL == "" {
			return errors.New("alertmanager: url is required")
		}
		errs := []error{checkURL("alertmanager", c.URL), checkGeneratorURL(c.GeneratorURL)}
		return errors.Join(append(errs, c.checkTLS(c.httpsURL(), "an https:// url")...)...)
	case "kafka":
		if len(c.Brokers) == 0 {
			return errors.New("kafka: brokers are required")
		}
		if c.Topic == "" {
			return errors.New("kafka: topic is required")
		}
		return errors.Join(append(c.checkTLS(c.TLS, "an output with tls: true"), c.checkSASL()...)...)
	case "syslog":
		switch c.Network {
		case "udp", "tcp", "tls":
		default:
			return keyErrorf([]string{"network"}, "syslog: unknown network %q (want udp, tcp or tls)", c.Network)
		}
		if c.Address == "" {
			return errors.New("syslog: address is required")
		}
		if _, port, err := net.SplitHostPort(c.Address); err != nil || port == "" {
			return keyErrorf([]string{"address"}, "syslog: address %q is not host:port (e.g. siem.example.com:6514)", c.Address)
		}
		if _, err := facility(c.Facility); err != nil {
			return &KeyError{Key: []string{"facility"}, Err: err}
		}
		return errors.Join(c.checkTLS(c.Network == "tls", "network: tls")...)
	case "":
		return errors.New("type is required")
	default:
		return fmt.Errorf("unknown type %q (want stdout, file, webhook, alertmanager, kafka or syslog)", c.Type)
	}
	return nil
}

// checkKafkaOnly reports the settings only a kafka output takes, tls and
// sasl_*, on an output of another (known) type: ignored, they would leave
// the connection in clear or unauthenticated.
func (c *Config) checkKafkaOnly() []error {
	var hint string
	switch c.Type {
	case "stdout", "file":
	case "webhook", "alertmanager":
		hint = " (an https:// url turns TLS on)"
	case "syslog":
		hint = " (network: tls turns TLS on)"
	default:
		return nil // kafka, or an unknown type: that is the error
	}
	var errs []error
	if c.TLS {
		errs = append(errs, keyErrorf([]string{"tls"}, "%s: tls applies only to a kafka output%s", c.Type, hint))
	}
	for _, k := range c.saslKeys() {
		if k.val != "" {
			errs = append(errs, keyErrorf([]string{k.key}, "%s: %s applies only to a kafka output", c.Type, k.key))
		}
	}
	return errs
}

// checkNoConnection reports the tls_* settings on an output that makes
// no connection (stdout, file): ignored, they would let one believe the
// alerts are sent over a verified connection somewhere.
func (c *Config) checkNoConnection() []error {
	switch c.Type {
	case "stdout", "file":
	default:
		return nil
	}
	var errs []error
	for _, k := range c.tlsKeys() {
		if k.val != "" {
			errs = append(errs, keyErrorf([]string{k.key}, "%s: %s applies only to an output that connects (webhook, alertmanager, kafka or syslog): a %s output makes no connection", c.Type, k.key, c.Type))
		}
	}
	return errs
}

type keyValue struct{ key, val string }

func (c *Config) tlsKeys() []keyValue {
	return []keyValue{
		{"tls_ca_file", c.TLSCAFile}, {"tls_cert_file", c.TLSCertFile}, {"tls_key_file", c.TLSKeyFile}, {"tls_server_name", c.TLSServerName},
	}
}

func (c *Config) saslKeys() []keyValue {
	return []keyValue{
		{"sasl_mechanism", c.SASLMechanism}, {"sasl_username", c.SASLUsername},
		{"sasl_password_env", c.SASLPasswordEnv}, {"sasl_password_file", c.SASLPasswordFile},
	}
}

// checkSASL reports the sasl_* settings of a kafka output that cannot
// work: an unknown mechanism; a mechanism without a user name or a way
// to the password, or with both an environment variable and a file;
// the other settings without a mechanism. Whether the password is there
// is known only when the output is opened (saslPassword).
func (c *Config) checkSASL() []error {
	mech, err := kafkaauth.SASL{Mechanism: c.SASLMechanism}.Build()
	if err != nil {
		return []error{keyErrorf([]string{"sasl_mechanism"}, "kafka: %v", err)}
	}
	var errs []error
	if mech == nil {
		for _, k := range c.saslKeys()[1:] {
			if k.val != "" {
				errs = append(errs, keyErrorf([]string{k.key}, "kafka: %s applies only with sasl_mechanism: without one no SASL authentication is made", k.key))
			}
		}
		return errs
	}
	if c.SASLUsername == "" {
		errs = append(errs, keyErrorf([]string{"sasl_mechanism"}, "kafka: sasl_mechanism %s needs sasl_username", c.SASLMechanism))
	}
	switch {
	case c.SASLPasswordEnv != "" && c.SASLPasswordFile != "":
		errs = append(errs, keyErrorf([]string{"sasl_password_file"}, "kafka: set sasl_password_env or sasl_password_file, not both"))
	case c.SASLPasswordEnv == "" && c.SASLPasswordFile == "":
		errs = append(errs, keyErrorf([]string{"sasl_mechanism"}, "kafka: sasl_mechanism %s needs the password's sasl_password_env (an environment variable) or sasl_password_file", c.SASLMechanism))
	}
	return errs
}

// sasl returns the SASL settings of a kafka output with password.
func (c *Config) sasl(password string) kafkaauth.SASL {
	return kafkaauth.SASL{Mechanism: c.SASLMechanism, Username: c.SASLUsername, Password: password}
}

// saslPassword reads the SASL password of a kafka output from its
// sasl_password_file (up to a final line break) or its
// sasl_password_env. The errors are placed at the key.
func (c *Config) saslPassword() (string, error) {
	switch {
	case c.SASLPasswordFile != "":
		b, err := os.ReadFile(c.SASLPasswordFile)
		if err != nil {
			return "", &KeyError{Key: []string{"sasl_password_file"}, Err: fmt.Errorf("kafka: reading sasl_password_file: %w", err)}
		}
		p := strings.TrimRight(string(b), "\r\n")
		if p == "" {
			return "", keyErrorf([]string{"sasl_password_file"}, "kafka: sasl_password_file %s is empty", c.SASLPasswordFile)
		}
		return p, nil
	case c.SASLPasswordEnv != "":
		p := os.Getenv(c.SASLPasswordEnv)
		if p == "" {
			return "", keyErrorf([]string{"sasl_password_env"}, "kafka: environment variable %s (sasl_password_env) is empty or unset", c.SASLPasswordEnv)
		}
		return p, nil
	}
	return "", keyErrorf([]string{"sasl_mechanism"}, "kafka: sasl_mechanism %s needs the password's sasl_password_env or sasl_password_file", c.SASLMechanism)
}

// kafkaTransport returns the transport of a kafka output: TLS with the
// tls_* settings when tls is on, SASL with the password read now when a
// mechanism is set.
func (c *Config) kafkaTransport() (*kafka.Transport, error) {
	var tc *tls.Config
	if c.TLS {
		var err error
		if tc, err = c.tlsConfig(); err != nil {
			return nil, err
		}
	}
	var auth kafkaauth.SASL
	if mech, err := (kafkaauth.SASL{Mechanism: c.SASLMechanism}).Build(); err != nil {
		return nil, keyErrorf([]string{"sasl_mechanism"}, "kafka: %v", err)
	} else if mech != nil {
		pass, err := c.saslPassword()
		if err != nil {
			return nil, err
		}
		auth = c.sasl(pass)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	t, err := kafkaauth.Transport(kafkaauth.DefaultClientID, timeout, tc, auth)
	if err != nil {
		return nil, fmt.Errorf("kafka: SASL %s: %w", c.SASLMechanism, err)
	}
	return t, nil
}

// httpsURL reports whether c's url is an https:// URL.
func (c *Config) httpsURL() bool {
	u, err := url.Parse(c.URL)
	return err == nil && u.Scheme == "https"
}

// checkTLS reports the tls_* settings of c that cannot take effect: any
// of them when the output does not use TLS (on is false; where says
// what turns it on), since a CA or a client certificate that is ignored
// leaves the connection in clear; a client certificate without its key
// or a key without its certificate. The syslog, webhook and
// alertmanager outputs share these settings.
func (c *Config) checkTLS(on bool, where string) []error {
	var errs []error
	if !on {
		for _, k := range c.tlsKeys() {
			if k.val != "" {
				errs = append(errs, keyErrorf([]string{k.key}, "%s: %s applies only to %s: without TLS it would be ignored", c.Type, k.key, where))
			}
		}
		return errs
	}
	switch {
	case c.TLSCertFile != "" && c.TLSKeyFile == "":
		errs = append(errs, keyErrorf([]string{"tls_cert_file"}, "%s: tls_cert_file needs tls_key_file, the client certificate's private key", c.Type))
	case c.TLSKeyFile != "" && c.TLSCertFile == "":
		errs = append(errs, keyErrorf([]string{"tls_key_file"}, "%s: tls_key_file needs tls_cert_file, the client certificate", c.Type))
	}
	return errs
}

// usesTLSSettings reports whether any tls_* setting of c is given.
func (c *Config) usesTLSSettings() bool {
	return c.TLSCAFile != "" || c.TLSCertFile != "" || c.TLSKeyFile != "" || c.TLSServerName != ""
}

// httpTLS returns the TLS configuration of a webhook or alertmanager
// output: nil (Go's defaults) unless a tls_* setting is given.
func (c *Config) httpTLS() (*tls.Config, error) {
	if !c.usesTLSSettings() {
		return nil, nil
	}
	return c.tlsConfig()
}

func (c *Config) queue() QueueOptions {
	seed := c.JitterSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	return QueueOptions{
		Size: c.QueueSize, MaxAttempts: c.MaxAttempts, DrainTimeout: c.DrainTimeout,
		Backoff: &Backoff{Initial: c.RetryInitial, Max: c.RetryMax, Rand: rand.New(rand.NewPCG(seed, seed>>1|1))},
	}
}

func open(ctx context.Context, c Config) (Sink, error) {
	switch c.Type {
	case "stdout":
		w := NewWriter(nopCloser{os.Stdout})
		w.stats.Name = c.Name
		return w, nil
	case "file":
		if c.Path == "" {
			return nil, errors.New("file: path is required")
		}
		f, err := NewFile(c.Path, c.MaxBytes, c.Keep)
		if err != nil {
			return nil, err
		}
		f.stats.Name = c.Name
		return f, nil
	case "webhook":
		secret, err := c.secret()
		if err != nil {
			return nil, err
		}
		tc, err := c.httpTLS()
		if err != nil {
			return nil, err
		}
		q := c.queue()
		return NewWebhook(ctx, WebhookOptions{
			Name: c.Name, URL: c.URL, Secret: secret, Format: c.Format, Headers: c.Headers, Timeout: c.Timeout, TLS: tc,
			SpoolDir: c.SpoolDir, SpoolMaxBytes: c.SpoolMaxBytes, MaxAttempts: c.MaxAttempts,
			DrainTimeout: c.DrainTimeout, Backoff: q.Backoff,
		})
	case "alertmanager":
		tc, err := c.httpTLS()
		if err != nil {
			return nil, err
		}
		return NewAlertmanager(ctx, AlertmanagerOptions{
			Name: c.Name, URL: c.URL, AlertName: c.AlertName, GeneratorURL: c.GeneratorURL,
			ResendInterval: c.ResendInterval, Timeout: c.Timeout, Queue: c.queue(), TLS: tc,
		})
	case "kafka":
		t, err := c.kafkaTransport()
		if err != nil {
			return nil, err
		}
		return NewKafka(ctx, KafkaOptions{
			Name: c.Name, Brokers: c.Brokers, Topic: c.Topic, BatchTimeout: c.BatchTimeout, Timeout: c.Timeout, Queue: c.queue(),
			Transport: t,
		})
	case "syslog":
		fac, err := facility(c.Facility)
		if err != nil {
			return nil, err
		}
		var tc *tls.Config
		if c.Network == "tls" {
			if tc, err = c.tlsConfig(); err != nil {
				return nil, err
			}
		}
		return NewSyslog(ctx, SyslogOptions{
			Name: c.Name, Network: c.Network, Address: c.Address, TLS: tc, Facility: fac,
			Hostname: c.Hostname, AppName: c.AppName, Timeout: c.Timeout, Queue: c.queue(),
		})
	case "":
		return nil, errors.New("type is required")
	}
	return nil, fmt.Errorf("unknown type %q (want stdout, file, webhook, alertmanager, kafka or syslog)", c.Type)
}

func (c *Config) secret() ([]byte, error) {
	switch {
	case c.SecretFile != "" && c.SecretEnv != "":
		return nil, errors.New("webhook: set secret_file or secret_env, not both")
	case c.SecretFile != "":
		b, err := os.ReadFile(c.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("webhook: reading secret_file: %w", err)
		}
		b = []byte(strings.TrimRight(string(b), "\r\n"))
		if len(b) == 0 {
			return nil, fmt.Errorf("webhook: secret_file %s is empty", c.SecretFile)
		}
		return b, nil
	case c.SecretEnv != "":
		v := os.Getenv(c.SecretEnv)
		if v == "" {
			return nil, fmt.Errorf("webhook: environment variable %s (secret_env) is empty or unset", c.SecretEnv)
		}
		return []byte(v), nil
	}
	return nil, nil
}

// tlsConfig returns the TLS configuration the tls_* settings give: the
// CA bundle the receiver is verified with (the system's roots without
// one), the client certificate and the name to verify.
func (c *Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{ServerName: c.TLSServerName, MinVersion: tls.VersionTLS12}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: reading tls_ca_file: %w", c.Type, err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: tls_ca_file %s holds no PEM certificate", c.Type, c.TLSCAFile)
		}
	}
	if c.TLSCertFile != "" || c.TLSKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s: loading tls_cert_file/tls_key_file: %w", c.Type, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

var facilities = map[string]int{
	"user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "security": 13, "console": 14, "solaris-cron": 15,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// facility parses a syslog facility name or number; empty means authpriv.
func facility(s string) (int, error) {
	if s == "" {
		return 10, nil
	}
	if f, ok := facilities[s]; ok {
		return f, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 23 {
		return n, nil
	}
	return 0, fmt.Errorf("syslog: unknown facility %q", s)
}
