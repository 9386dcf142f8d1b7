package serve

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/rules"
)

func appendFile(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

type runningFollower struct {
	f    *Follower
	stop context.CancelFunc
	done chan error
}

func startFollower(t *testing.T, c FilesConfig) *runningFollower {
	t.Helper()
	f, err := NewFollower(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningFollower{f: f, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- f.Run(ctx) }()
	return r
}

func (r *runningFollower) shutdown(t *testing.T) {
	t.Helper()
	r.stop()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return within 15 s of cancellation")
	}
}

// TestFollowRestart follows growing files, stops, restarts with the same
// state directory while more lines are appended: together the two runs
// emit the alerts replay emits over the whole files, none twice.
func TestFollowRestart(t *testing.T) {
	want := distinctSorted(replayAlerts(t, []string{proxySample}, []string{appSample}))
	dir := t.TempDir()
	proxyPath, appPath := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	p1, p2, a1, a2 := halves(t)
	pf, af := formatsFor(t)
	cfg := FilesConfig{
		ProxyFiles:  []string{proxyPath},
		AppFiles:    []string{filepath.Join(dir, "auth*.log")},
		ProxyFormat: pf,
		AppFormat:   af,
		StateDir:    filepath.Join(dir, "state"),
		Engine:      detect.Config{Rules: rules.Default()},
		// A loaded machine may starve one source's reader for a while:
		// its partner records must still be waited for.
		IdleTimeout:    3 * time.Second,
		CommitInterval: 50 * time.Millisecond,
		PollInterval:   20 * time.Millisecond,
		Logger:         testLogger(t),
	}

	first := &collector{}
	cfg.Sink = first
	r1 := startFollower(t, cfg)
	appendFile(t, proxyPath, p1[:len(p1)/2])
	appendFile(t, appPath, a1[:len(a1)/2])
	time.Sleep(100 * time.Millisecond)
	appendFile(t, proxyPath, p1[len(p1)/2:])
	appendFile(t, appPath, a1[len(a1)/2:])
	waitFor(t, 30*time.Second, "alerts from the first half", func() bool { return len(first.snapshot()) > 0 })
	settle(t, 30*time.Second, time.Second, func() int { return int(r1.f.Stats().Records.Load()) })
	r1.shutdown(t)
	if _, err := os.Stat(filepath.Join(dir, "state", alertedFile)); err != nil {
		t.Fatalf("no state saved: %v", err)
	}

	second := &collector{}
	cfg.Sink = second
	r2 := startFollower(t, cfg)
	appendFile(t, proxyPath, p2)
	appendFile(t, appPath, a2)
	// The last records wait one idle timeout once the input stops.
	settle(t, 40*time.Second, cfg.IdleTimeout+time.Second, func() int { return int(r2.f.Stats().Records.Load()) })
	settle(t, 10*time.Second, 500*time.Millisecond, func() int { return len(second.snapshot()) })
	r2.shutdown(t)

	all := append(first.snapshot(), second.snapshot()...)
	if d := distinctSorted(all); len(d) != len(all) {
		t.Errorf("%d alerts, %d distinct: some were emitted twice", len(all), len(d))
	}
	wantSet, gotSet := map[string]bool{}, map[string]bool{}
	for _, w := range want {
		wantSet[w] = true
	}
	for _, g := range all {
		gotSet[g] = true
		if !wantSet[g] {
			t.Errorf("alert replay does not emit: %s", g)
		}
	}
	for _, w := range want {
		if !gotSet[w] {
			t.Errorf("alert lost across the restart: %s", w)
		}
	}
	if r2.f.Stats().Muted.Load() == 0 {
		t.Error("the second run muted nothing: the windows were not rebuilt")
	}
	t.Logf("first run %d alerts, second %d (muted %d)", len(first.snapshot()), len(second.snapshot()), r2.f.Stats().Muted.Load())
}

// TestFollowBufferBounded: records of one source wait for the other only
// up to MaxBuffered; beyond it the oldest are released, so that a source
// far behind (or silent, before its idle timeout) cannot make the reorder
// buffer grow with the other's input.
func TestFollowBufferBounded(t *testing.T) {
	dir := t.TempDir()
	proxyPath, appPath := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	proxy := readLines(t, proxySample)
	if len(proxy) < 100 {
		t.Fatalf("proxy sample has %d lines", len(proxy))
	}
	appendFile(t, proxyPath, proxy)
	appendFile(t, appPath, nil)
	pf, af := formatsFor(t)
	const maxBuffered = 10
	var over atomic.Int64
	var fl *Follower // set before Run calls Tick
	cfg := FilesConfig{
		ProxyFiles:  []string{proxyPath},
		AppFiles:    []string{appPath},
		ProxyFormat: pf,
		AppFormat:   af,
		Engine:      detect.Config{Rules: rules.Default()},
		Sink:        &collector{},
		// The silent app log holds the proxy records back for this long
		// unless the buffer is full.
		IdleTimeout:  time.Minute,
		PollInterval: 20 * time.Millisecond,
		MaxBuffered:  maxBuffered,
		Logger:       testLogger(t),
		Tick: func(*detect.Engine) {
			if n := fl.Stats().Buffered.Load(); n > maxBuffered {
				over.Store(n)
			}
		},
	}
	fl, err := NewFollower(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningFollower{f: fl, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- fl.Run(ctx) }()
	want := int64(len(proxy) - maxBuffered)
	waitFor(t, 20*time.Second, "records released past the full buffer", func() bool { return r.f.Stats().Records.Load() >= want })
	r.shutdown(t)
	if n := over.Load(); n > 0 {
		t.Errorf("%d records buffered after a release, want at most %d", n, maxBuffered)
	}
	if r.f.Stats().Forced.Load() == 0 {
		t.Error("no release counted as forced")
	}
}
