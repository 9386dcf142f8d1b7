package alert

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestWebhookHostHeader checks that a Host entry of headers names the
// virtual host the request goes to, in whatever case it is written.
func TestWebhookHostHeader(t *testing.T) {
	for _, name := range []string{"Host", "host"} {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			var hosts []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				hosts = append(hosts, r.Host)
			}))
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			w, err := NewWebhook(ctx, WebhookOptions{Name: "soc", URL: srv.URL, SpoolDir: t.TempDir(),
				Headers: map[string]string{name: "soc.example.com", "X-Team": "ir"}})
			if err != nil {
				t.Fatal(err)
			}
			w.Send(ctx, testAlert("inc", 1, "bob"))
			waitFor(t, 5*time.Second, "the delivery", func() bool { return w.Stats().Delivered.Load() == 1 })
			w.Close()
			mu.Lock()
			defer mu.Unlock()
			if len(hosts) != 1 || hosts[0] != "soc.example.com" {
				t.Errorf("receiver saw Host %q, want soc.example.com", hosts)
			}
		})
	}
}
