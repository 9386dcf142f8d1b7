package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestGeneratorURLAsAlertmanager checks that the generator_url values the
// configuration accepts are those the real Alertmanager takes: a value it
// refuses would fail every post of the output. The accepted ones reach
// Alertmanager as the alert's generatorURL.
func TestGeneratorURLAsAlertmanager(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	cfg := "route:\n  receiver: none\nreceivers:\n  - name: none\n"
	base := startAlertmanager(ctx, t, cfg)

	for i, tt := range []struct {
		url  string
		want bool // taken by Alertmanager and by the configuration
	}{
		{"https://grafana.example.com/d/spraywatch-overview?var-job=spraywatch", true},
		{"http://127.0.0.1:3000/", true},
		{"/d/spraywatch-overview", true},
		{"grafana dashboard", false},
		{"grafana.example.com/d/x", false},
		{":9090/graph", false},
		{"http://grafana example/", false},
		{"http://grafana.example.com/\x01", false},
	} {
		// Alertmanager's own verdict, on a post of its own.
		body, _ := json.Marshal([]amAlert{{Labels: map[string]string{"alertname": "GeneratorURLProbe", "case": string(rune('a' + i))}, GeneratorURL: tt.url}})
		resp, err := http.Post(base+"/api/v2/alerts", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if taken := resp.StatusCode == http.StatusOK; taken != tt.want {
			t.Fatalf("generatorURL %q: Alertmanager answered %d; the case expects taken=%v", tt.url, resp.StatusCode, tt.want)
		}

		c := Config{Type: "alertmanager", URL: base, GeneratorURL: tt.url}
		if err := c.Check(); (err == nil) != tt.want {
			t.Errorf("generator_url %q: Check() = %v, Alertmanager taken=%v", tt.url, err, tt.want)
		}
		m, err := NewAlertmanager(ctx, AlertmanagerOptions{Name: "am", URL: base, GeneratorURL: tt.url})
		if !tt.want {
			if err == nil {
				m.Close()
				t.Errorf("NewAlertmanager took generator URL %q, which Alertmanager refuses", tt.url)
			}
			continue
		}
		if err != nil {
			t.Fatalf("NewAlertmanager(%q): %v", tt.url, err)
		}
		a := testAlert("gen-"+string(rune('a'+i)), 1, "alice")
		if err := m.Send(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if s := m.Stats(); s.Delivered.Load() != 1 || s.Failures.Load() != 0 {
			t.Errorf("generator URL %q: delivered=%d failures=%d", tt.url, s.Delivered.Load(), s.Failures.Load())
		}
		resp, err = http.Get(base + "/api/v2/alerts?filter=" + "identity%3D%22CN%3Dclient-gen-" + string(rune('a'+i)) + "%22")
		if err != nil {
			t.Fatal(err)
		}
		var got []struct {
			GeneratorURL string `json:"generatorURL"`
		}
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil || len(got) != 1 || got[0].GeneratorURL != tt.url {
			t.Errorf("generator URL %q: Alertmanager holds %+v (%v)", tt.url, got, err)
		}
	}
}
