package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/ingest/kafka"
)

// TestKafkaSecurityFlags: the SASL flags need a user and a password that
// is not empty; a password file is read without its line end; a TLS flag
// alone turns TLS on.
func TestKafkaSecurityFlags(t *testing.T) {
	dir := t.TempDir()
	passFile, emptyFile := filepath.Join(dir, "pass"), filepath.Join(dir, "empty")
	if err := os.WriteFile(passFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(emptyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SW_TEST_KAFKA_PASS", "from-env")
	t.Setenv("SW_TEST_KAFKA_EMPTY", "")
	for _, tt := range []struct {
		name    string
		args    []string
		pass    string // the password set, when no error
		wantErr string
	}{
		{"none", nil, "", ""},
		{"password from the environment", []string{"--sasl-mechanism", "plain", "--sasl-username", "sw", "--sasl-password-env", "SW_TEST_KAFKA_PASS"}, "from-env", ""},
		{"password from a file", []string{"--sasl-mechanism", "scram-sha-512", "--sasl-username", "sw", "--sasl-password-file", passFile}, "s3cret", ""},
		{"unset variable", []string{"--sasl-mechanism", "plain", "--sasl-username", "sw", "--sasl-password-env", "SW_TEST_KAFKA_UNSET"}, "", "environment variable SW_TEST_KAFKA_UNSET is unset or empty"},
		{"empty variable", []string{"--sasl-mechanism", "plain", "--sasl-username", "sw", "--sasl-password-env", "SW_TEST_KAFKA_EMPTY"}, "", "environment variable SW_TEST_KAFKA_EMPTY is unset or empty"},
		{"empty file", []string{"--sasl-mechanism", "plain", "--sasl-username", "sw", "--sasl-password-file", emptyFile}, "", emptyFile + " is empty"},
		{"missing file", []string{"--sasl-mechanism", "plain", "--sasl-username", "sw", "--sasl-password-file", filepath.Join(dir, "nope")}, "", "reading the SASL password"},
		{"no user", []string{"--sasl-mechanism", "plain", "--sasl-password-env", "SW_TEST_KAFKA_PASS"}, "", "--sasl-mechanism plain needs --sasl-username"},
		{"unknown mechanism, no user", []string{"--sasl-mechanism", "scram-sha256"}, "", `--sasl-mechanism: unknown SASL mechanism "scram-sha256"`},
		{"unknown mechanism", []string{"--sasl-mechanism", "gssapi", "--sasl-username", "sw", "--sasl-password-env", "SW_TEST_KAFKA_UNSET"}, "", `--sasl-mechanism: unknown SASL mechanism "gssapi"`},
		{"user without mechanism", []string{"--sasl-username", "sw"}, "", "need --sasl-mechanism"},
		{"tls key without certificate", []string{"--tls-key", filepath.Join(dir, "nope.key")}, "", "--tls-cert and --tls-key go together"},
		{"tls server name alone turns TLS on", []string{"--tls-server-name", "kafka.example"}, "", ""},
	} {
		var f kafkaSecurityFlags
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		f.register(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		var c kafka.Config
		err := f.apply(&c)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		case tt.wantErr == "" && c.SASL.Password != tt.pass:
			t.Errorf("%s: password %q, want %q", tt.name, c.SASL.Password, tt.pass)
		case err == nil && strings.Contains(strings.Join(tt.args, " "), "--tls") && (c.TLS == nil || c.TLS.ServerName != "kafka.example"):
			t.Errorf("%s: TLS %v, want on with the server name", tt.name, c.TLS)
		}
	}
}
