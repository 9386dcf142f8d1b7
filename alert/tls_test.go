package alert

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/internal/leaktest"
	"github.com/spraywatch/spraywatch/internal/testpki"
)

// TestHTTPOutputsTLS delivers to a receiver on 127.0.0.1 behind an
// internal CA that requires a client certificate, with the tls_*
// settings of the webhook and alertmanager outputs.
func TestHTTPOutputsTLS(t *testing.T) {
	pki := testpki.New(t)
	var mu sync.Mutex
	var clients []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		clients = append(clients, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.Server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.Pool}
	srv.StartTLS()
	defer srv.Close()
	received := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), clients...) }

	full := func(c *Config) { c.TLSCAFile, c.TLSCertFile, c.TLSKeyFile = pki.CAFile, pki.CertFile, pki.KeyFile }
	cases := []struct {
		name    string
		set     func(c *Config)
		deliver bool
		err     string // in the failed attempt's error
	}{
		{"ca and client certificate", full, true, ""},
		{"server name", func(c *Config) { full(c); c.TLSServerName = testpki.ServerName }, true, ""},
		{"no client certificate", func(c *Config) { c.TLSCAFile = pki.CAFile }, false, "certificate"},
		{"no ca", func(c *Config) { c.TLSCertFile, c.TLSKeyFile = pki.CertFile, pki.KeyFile }, false, "certificate signed by unknown authority"},
		{"wrong server name", func(c *Config) { full(c); c.TLSServerName = "other.soc.internal" }, false, "other.soc.internal"},
	}
	for _, typ := range []string{"webhook", "alertmanager"} {
		for _, tc := range cases {
			t.Run(typ+"/"+tc.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c := Config{Type: typ, Name: "soc", URL: srv.URL, MaxAttempts: 1, DrainTimeout: 2 * time.Second}
				if typ == "webhook" {
					c.SpoolDir = t.TempDir()
				}
				tc.set(&c)
				// The server's goroutines end with it, after the test.
				leaks := leaktest.Check(t, "net/http.(*conn).serve", "httptest.(*Server)")
				defer leaks()
				fan, err := Open(ctx, []Config{c})
				if err != nil {
					t.Fatal(err)
				}
				before := len(received())
				fan.Send(ctx, testAlert("inc", 1, "bob"))
				st := fan.Stats()[0]
				waitFor(t, 5*time.Second, "an attempt", func() bool { return st.Delivered.Load()+st.Failures.Load() > 0 })
				fan.Close()
				d := fan.Deliveries()[0]
				if tc.deliver {
					if d.Delivered != 1 {
						t.Fatalf("delivered %d: %v", d.Delivered, d.Cause)
					}
					if got := received(); len(got) != before+1 || got[len(got)-1] != testpki.ClientName {
						t.Errorf("receiver saw clients %v", got)
					}
					return
				}
				if d.Delivered != 0 || d.Cause == nil || !strings.Contains(d.Cause.Error(), tc.err) {
					t.Errorf("delivered %d, cause %v; want a failure with %q", d.Delivered, d.Cause, tc.err)
				}
			})
		}
	}
}

// TestCheckTLS checks the tls_* settings each output with TLS takes, as
// configuration checks place them.
func TestCheckTLS(t *testing.T) {
	cases := []struct {
		name string
		c    Config
		key  string // the key of the error; "" none
		want string
	}{
		{"webhook https", Config{Type: "webhook", URL: "https://soc", SpoolDir: "s", TLSCAFile: "ca", TLSCertFile: "c", TLSKeyFile: "k", TLSServerName: "n"}, "", ""},
		{"webhook http", Config{Type: "webhook", URL: "http://soc", SpoolDir: "s", TLSCAFile: "ca"}, "tls_ca_file", "webhook: tls_ca_file applies only to an https:// url"},
		{"alertmanager http", Config{Type: "alertmanager", URL: "http://am:9093", TLSServerName: "am"}, "tls_server_name", "alertmanager: tls_server_name applies only to an https:// url"},
		{"alertmanager cert without key", Config{Type: "alertmanager", URL: "https://am:9093", TLSCertFile: "c"}, "tls_cert_file", "alertmanager: tls_cert_file needs tls_key_file"},
		{"webhook key without cert", Config{Type: "webhook", URL: "https://soc", SpoolDir: "s", TLSKeyFile: "k"}, "tls_key_file", "webhook: tls_key_file needs tls_cert_file"},
		{"syslog tcp", Config{Type: "syslog", Network: "tcp", Address: "siem:514", TLSCAFile: "ca"}, "tls_ca_file", "syslog: tls_ca_file applies only to network: tls"},
		{"syslog tls cert without key", Config{Type: "syslog", Network: "tls", Address: "siem:6514", TLSCertFile: "c"}, "tls_cert_file", "syslog: tls_cert_file needs tls_key_file"},
		{"syslog tls", Config{Type: "syslog", Network: "tls", Address: "siem:6514", TLSCAFile: "ca", TLSCertFile: "c", TLSKeyFile: "k"}, "", ""},
		{"file tls_ca_file", Config{Type: "file", Path: "a", TLSCAFile: "ca"}, "tls_ca_file", "file: tls_ca_file applies only to an output that connects (webhook, alertmanager, kafka or syslog): a file output makes no connection"},
		{"file tls_key_file", Config{Type: "file", Path: "a", TLSKeyFile: "k"}, "tls_key_file", "file: tls_key_file applies only to an output that connects"},
		{"stdout tls_cert_file", Config{Type: "stdout", TLSCertFile: "c"}, "tls_cert_file", "stdout: tls_cert_file applies only to an output that connects (webhook, alertmanager, kafka or syslog): a stdout output makes no connection"},
		{"stdout tls_server_name", Config{Type: "stdout", TLSServerName: "n"}, "tls_server_name", "stdout: tls_server_name applies only to an output that connects"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Check()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			var ke *KeyError
			if !errors.As(err, &ke) || len(ke.Key) != 1 || ke.Key[0] != tc.key {
				t.Errorf("error not at key %s: %#v", tc.key, err)
			}
		})
	}
}
