package serve

import (
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/ingest/axes"
	"github.com/spraywatch/spraywatch/ingest/envelope"
	"github.com/spraywatch/spraywatch/metrics"
	"github.com/spraywatch/spraywatch/rules"
)

// flaggedSeries returns lines_flagged_total of reason for source.
func flaggedSeries(t *testing.T, m *metrics.Metrics, source, reason string) (float64, bool) {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "spraywatch_lines_flagged_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["source"] == source && labels["reason"] == reason {
				return s.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}

// TestFollowFlaggedLines follows a django-axes log in a Docker envelope
// whose lines are flagged: lines_flagged_total counts each reason, and a
// rule reload, which reads the lines again, does not count them again.
func TestFollowFlaggedLines(t *testing.T) {
	axesLine := func(body string) []byte {
		return []byte(`{"log":"AXES: New login failure by {` + body + `, path_info: \"/accounts/login/\"}. Creating new record in the cache.\n","stream":"stderr","time":"2026-12-04T09:00:02.000000000Z"}`)
	}
	tests := []struct {
		reason string
		line   []byte
	}{
		{"masked", axesLine(`username: \"********************\", ip_address: \"********************\", user_agent: \"curl/8.5.0\"`)},
		{"ambiguous", axesLine(`username: \"carol\", ip_address: \"203.0.113.9\", user_agent: \"x\", ip_address: \"198.51.100.1\"`)},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			pf, _ := formatsFor(t)
			af, err := axes.New("")
			if err != nil {
				t.Fatal(err)
			}
			out := &collector{}
			cfg, proxyPath, appPath := restartConfig(t, rules.Default(), pf, envelope.WrapFormat(af, envelope.DockerKey))
			cfg.Sink, cfg.IdleTimeout, cfg.CommitInterval = out, time.Second, 50*time.Millisecond
			const n = 7
			var lines [][]byte
			for range n {
				lines = append(lines, tt.line, axesLine(`username: \"bob\", ip_address: \"203.0.113.9\", user_agent: \"curl/8.5.0\"`))
			}
			appendFile(t, proxyPath, readLines(t, proxySample))
			appendFile(t, appPath, lines)
			r := startFollower(t, cfg)
			defer r.shutdown(t)
			m := servedMetrics(t, r.f, nil, out)
			waitFor(t, 40*time.Second, "every line processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
			if got, ok := flaggedSeries(t, m, "file:app", tt.reason); !ok || got != n {
				t.Fatalf("lines_flagged_total{source=file:app,reason=%s} = %v (%v), want %d", tt.reason, got, ok, n)
			}
			if err := r.f.ReloadRules(rules.Default()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "the reload", func() bool { return r.f.Stats().Rebuilds.Load() == 2 })
			waitFor(t, 30*time.Second, "the rebuild", func() bool { return r.f.Ready() })
			waitFor(t, 40*time.Second, "every line processed again", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
			if got, _ := flaggedSeries(t, m, "file:app", tt.reason); got != n {
				t.Errorf("after a reload, lines_flagged_total{reason=%s} = %v, want %d", tt.reason, got, n)
			}
			for _, other := range []string{"masked", "ambiguous"} {
				if got, _ := flaggedSeries(t, m, "file:app", other); other != tt.reason && got != 0 {
					t.Errorf("lines_flagged_total{reason=%s} = %v, want 0", other, got)
				}
			}
		})
	}
}
