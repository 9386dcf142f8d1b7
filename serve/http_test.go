package serve

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/spraywatch/spraywatch/rules"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHealthReadyReload checks the HTTP endpoints through a state rebuild
// and that a rule reload rebuilds the state without alerting twice, while
// a rule set the engine refuses is not installed.
func TestHealthReadyReload(t *testing.T) {
	t.Parallel()
	want := replayAlerts(t, []string{proxySample}, []string{appSample})
	c := cluster(t, 1)
	sink := &collector{}
	s, err := New(serverConfig(t, c, "http", sink))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler(nil))
	defer hs.Close()
	if code, _ := get(t, hs.URL+"/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz before Run: %d, want 503", code)
	}
	if code, _ := get(t, hs.URL+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics without a handler: %d, want 404", code)
	}
	r := startServer(t, s)
	proxy, app := readLines(t, proxySample), readLines(t, appSample)
	produce(t, c, "proxy", proxy, nil)
	produce(t, c, "app", app, nil)
	closeInput(t, c, 1, 1, newestTime(t, proxy, app))
	waitFor(t, patience, "/readyz", func() bool { code, _ := get(t, hs.URL+"/readyz"); return code == http.StatusOK })
	if code, body := get(t, hs.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while running: %d %s", code, body)
	}
	waitFor(t, patience, "every record released and committed", committedTo(s, len(proxy)+1, len(app)))

	rebuilds := s.Stats().Rebuilds.Load()
	if err := s.ReloadRules(rules.Default()); err != nil {
		t.Fatal(err)
	}
	// Rebuilds counts the new pipeline when it starts, Muted the first
	// alert it finds again (muted as it goes); Ready is then false until
	// every record read again was processed.
	waitFor(t, patience, "the rebuild after the reload, muting the alerts it finds again", func() bool {
		return s.Stats().Rebuilds.Load() > rebuilds && s.Stats().Muted.Load() > 0 && s.Ready()
	})
	if got := sink.snapshot(); !slices.Equal(got, want) {
		t.Errorf("after the reload: %d alerts, want the %d of the first pass only", len(got), len(want))
	}
	r.shutdown(t)
}
