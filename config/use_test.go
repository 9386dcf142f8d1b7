package config

import (
	"strings"
	"testing"
	"time"
)

// TestCheckUse: what each command can run with is checked after loading,
// at the lines of the settings.
func TestCheckUse(t *testing.T) {
	const (
		files = "sources:\n  - {name: edge, kind: proxy, paths: [a.log]}\n  - {name: django, kind: app, envelope: message, paths: [b.log]}\n"
		kafka = "sources:\n  - {name: edge, kind: proxy, format: envoy}\n  - {name: django, kind: app, envelope: message}\n"
		alb   = "sources:\n  - {name: lb, kind: alb, access_paths: [a.log]}\n  - {name: django, kind: app, paths: [b.log]}\n"
	)
	tests := []struct {
		name, yml string
		use       Use
		want      []string // nil: no error
	}{
		{"replay with paths", files, UseReplay, nil},
		{"follow with paths", files, UseFollow, nil},
		{"replay with alb", alb, UseReplay, nil},
		{"kafka without paths", kafka, UseKafka, nil},
		{"kafka with one source", "sources:\n  - {kind: app, format: django-axes}\n", UseKafka, nil},
		{"kafka without sources", "join: {join_window: 30s}\n", UseKafka, nil},
		{"replay without paths", kafka, UseReplay, []string{
			"cfg.yml:2: source edge: paths is required", "cfg.yml:3: source django: paths is required"}},
		{"follow without paths", kafka, UseFollow, []string{
			"cfg.yml:2: source edge: paths is required to follow files"}},
		{"follow with one kind", "sources:\n  - {kind: proxy, paths: [a.log]}\n", UseFollow, []string{
			"cfg.yml:1: serve following files needs an app source with paths"}},
		{"kafka with paths", files, UseKafka, []string{
			"cfg.yml:2: source edge: paths are for replay and for serve following files: serve reading Kafka takes the proxy lines from its topic"}},
		{"follow with alb", alb, UseFollow, []string{
			"cfg.yml:2: source lb: kind alb is read by replay only"}},
		{"kafka with alb", alb, UseKafka, []string{"cfg.yml:2: source lb: kind alb is read by replay only"}},
		{"two proxy sources", "sources:\n  - {name: a, kind: proxy, paths: [a.log]}\n  - {name: b, kind: proxy, format: envoy, paths: [b.log]}\n  - {kind: app, paths: [c.log]}\n", UseFollow, []string{
			"cfg.yml:3: source b: serve reads a single proxy source, and source a is one already"}},
		{"replay metrics_hold without metrics_listen", files + "replay:\n  quiet: true\n  metrics_hold: 10m\n", UseReplay, []string{
			"cfg.yml:6: --metrics-hold (replay.metrics_hold) needs --metrics-listen (replay.metrics_listen): there is no /metrics to hold"}},
		{"replay metrics_hold with metrics_listen", files + "replay:\n  metrics_listen: 127.0.0.1:9464\n  metrics_hold: 10m\n", UseReplay, nil},
		{"serve ignores metrics_hold", files + "replay:\n  metrics_hold: 10m\n", UseFollow, nil},
		{"kafka auto format", "sources:\n  - kind: app\n    format: auto\n", UseKafka, []string{
			"cfg.yml:3: source app-0: format auto samples the source's files: name the format of the topic's lines"}},
		{"kafka auto envelope", "sources:\n  - kind: proxy\n    envelope: auto\n", UseKafka, []string{
			"cfg.yml:3: source proxy-0: envelope auto samples the source's files"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("cfg.yml", []byte(tt.yml))
			if err != nil {
				t.Fatal(err)
			}
			err = c.CheckUse(tt.use)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("%s: %v", tt.use, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("%s: no error", tt.use)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error\n%v\nwant %q", tt.use, err, w)
				}
			}
		})
	}
}

// A source added in code (from the command line) keeps the file's sources'
// lines right, and has none of its own.
func TestCheckUseAddedSource(t *testing.T) {
	c, err := Parse("cfg.yml", []byte("sources:\n  - {name: edge, kind: proxy}\n  - {name: django, kind: app, format: auto}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.Sources = append(c.Sources[1:], Source{Kind: KindProxy, Format: Auto})
	err = c.CheckUse(UseKafka)
	want := "cfg.yml:3: source django: format auto samples the source's files: name the format of the topic's lines\n" +
		"source proxy: format auto samples the source's files: name the format of the topic's lines"
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}

// A replay.metrics_hold set by a flag, which the file does not hold, is
// reported without a position in the file.
func TestCheckUseHoldFromFlag(t *testing.T) {
	c, err := Parse("cfg.yml", []byte("sources:\n  - {kind: proxy, paths: [a.log]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.Replay.MetricsHold = time.Minute
	want := "--metrics-hold (replay.metrics_hold) needs --metrics-listen (replay.metrics_listen): there is no /metrics to hold"
	if err := c.CheckUse(UseReplay); err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	c.Replay.MetricsListen = "127.0.0.1:9464"
	if err := c.CheckUse(UseReplay); err != nil {
		t.Errorf("with a listener: %v", err)
	}
}

func TestIgnored(t *testing.T) {
	c, err := Parse("cfg.yml", []byte("strict: false\nsources:\n  - {kind: app, paths: [a]}\nreplay:\n  quiet: true\n  report: r.html\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Ignored(UseReplay); got != nil {
		t.Errorf("replay ignores %q", got)
	}
	want := []string{
		"cfg.yml:1: strict applies to replay only: serve following files ignores it",
		"cfg.yml:5: replay.quiet applies to replay only: serve following files ignores it",
		"cfg.yml:6: replay.report applies to replay only: serve following files ignores it",
	}
	if got := c.Ignored(UseFollow); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("ignored\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := Default().Ignored(UseKafka); got != nil {
		t.Errorf("defaults: ignored %q", got)
	}
}
