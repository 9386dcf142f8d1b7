package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/follow"
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
// On several lanes the engine sends alerts after the records that caused
// them: still none is emitted twice or lost across the restart.
func TestFollowRestart(t *testing.T) {
	for _, lanes := range []int{1, 3} {
		t.Run(fmt.Sprintf("lanes=%d", lanes), func(t *testing.T) { followRestartLanes(t, lanes) })
	}
}

func followRestartLanes(t *testing.T, lanes int) {
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
		Engine:      detect.Config{Rules: rules.Default(), Lanes: lanes},
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
	r2 := resume(t, cfg, proxyPath, appPath, p2, a2)

	checkOnceEach(t, append(first.snapshot(), second.snapshot()...), want)
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

// shortRules are the default rules without a window over an hour and
// without baselines: the span a restart reads again is about an hour, so
// committed positions follow the input closely.
func shortRules() []*rules.Rule {
	var out []*rules.Rule
	for _, r := range rules.Default() {
		if r.Window <= time.Hour && r.Type != rules.TypeBaseline {
			out = append(out, r)
		}
	}
	return out
}

// chunksByTime splits the lines into n parts of equal event time span.
func chunksByTime(t *testing.T, lines [][]byte, p ingest.Parser, start, end int64, n int) [][][]byte {
	t.Helper()
	out := make([][][]byte, n)
	var r event.Record
	for _, l := range lines {
		i := 0
		if err := p.Parse(l, &r); err == nil {
			i = max(min(int((r.Time-start)*int64(n)/(end-start+1)), n-1), 0)
		}
		out[i] = append(out[i], l)
	}
	return out
}

// stateEntries returns the number of files in a positions file and of
// positions in alerted.json.
func stateEntries(t *testing.T, dir string) (proxy, app, alerted int) {
	t.Helper()
	count := func(name string, v any) int {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return -1
	}
	var pp, ap struct{ Files []json.RawMessage }
	var al []json.RawMessage
	count("proxy.positions", &pp)
	count("app.positions", &ap)
	count(alertedFile, &al)
	return len(pp.Files), len(ap.Files), len(al)
}

// processedToEnd reports whether alerted.json in dir says that every line
// of the files at paths was processed (and its alerts handed to the sink).
// resume starts a follower with cfg (after a first one stopped), appends
// proxy and app lines to the files it follows, and stops it once every
// line is processed: its alerts were handed to the sink before its
// position was saved.
func resume(t *testing.T, cfg FilesConfig, proxyPath, appPath string, proxy, app [][]byte) *runningFollower {
	t.Helper()
	r := startFollower(t, cfg)
	appendFile(t, proxyPath, proxy)
	appendFile(t, appPath, app)
	// The last records wait one idle timeout once the input stops.
	waitFor(t, patience, "every line processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
	r.shutdown(t)
	return r
}

func processedToEnd(t *testing.T, dir string, paths ...string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, alertedFile))
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	var ps []follow.Position
	if err := json.Unmarshal(b, &ps); err != nil {
		return false // being replaced
	}
	for _, path := range paths {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			t.Fatal("no inode numbers on this system")
		}
		if !slices.ContainsFunc(ps, func(p follow.Position) bool {
			return p.Inode == st.Ino && p.Dev == uint64(st.Dev) && p.Offset == fi.Size()
		}) {
			return false
		}
	}
	return true
}

// TestFollowRotationStateBounded rotates the followed files by rename many
// times, across a restart, deleting rotated files once read (so new files
// may reuse their inodes): the positions files and alerted.json keep only
// the files still followed, and the two runs together emit the alerts
// replay emits, none twice.
func TestFollowRotationStateBounded(t *testing.T) {
	const n = 12 // 2 h of the day's sample each, more than the span
	pf, af := formatsFor(t)
	proxy, app := readLines(t, proxySample), readLines(t, appSample)
	var r event.Record
	if err := pf.NewParser().Parse(proxy[0], &r); err != nil {
		t.Fatal(err)
	}
	start := r.Time
	if err := pf.NewParser().Parse(proxy[len(proxy)-1], &r); err != nil {
		t.Fatal(err)
	}
	end := r.Time
	pc := chunksByTime(t, proxy, pf.NewParser(), start, end, n)
	ac := chunksByTime(t, app, af.NewParser(), start, end, n)

	// Expected: replay over the whole sample with the same rules.
	want := distinctSorted(replayRules(t, shortRules(), []string{proxySample}, []string{appSample}))
	if len(want) == 0 {
		t.Fatal("replay emits no alert: the test would prove nothing")
	}

	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	proxyPath, appPath := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	cfg := FilesConfig{
		ProxyFiles:  []string{proxyPath},
		AppFiles:    []string{appPath},
		ProxyFormat: pf,
		AppFormat:   af,
		StateDir:    stateDir,
		Engine:      detect.Config{Rules: shortRules()},
		IdleTimeout: 2 * time.Second,
		// Checkpoints are taken all along the last chunk, the restart's
		// among them. Two incidents are firing at the restart (at 12:00),
		// one since 11:33, before the span the windows need (about 21
		// minutes): the positions saved trail the records processed back
		// to its first event, so that the restart rebuilds it whole
		// however the checkpoints fall.
		CommitInterval: 20 * time.Millisecond,
		PollInterval:   20 * time.Millisecond,
		// Nothing is written to a file after it is renamed away.
		RotateWait: 100 * time.Millisecond,
		Logger:     testLogger(t),
	}

	rotations := 0
	// run follows chunks [from, to): each is written to fresh files that
	// are renamed away, except the last one, which stays the followed file.
	run := func(sink *collector, from, to int, removeRotated bool) {
		cfg.Sink = sink
		rf := startFollower(t, cfg)
		opened := func(i int) int64 { return rf.f.srcs[i].Counters().Opened.Load() }
		retired := func(i int) int64 { return rf.f.srcs[i].Counters().Rotated.Load() }
		var want [2]int64
		if _, err := os.Stat(proxyPath); err == nil {
			want = [2]int64{1, 1} // the file the previous run followed
		}
		var renamed [][2]string
		removed := 0
		for i := from; i < to; i++ {
			if _, err := os.Stat(proxyPath); err != nil {
				want[0]++
				want[1]++
			}
			if i == to-1 {
				// The last chunk moves event time past the span once the
				// rotated files were closed and their final positions
				// were processed (with the first lines after them) and
				// checkpointed: they are committed then.
				waitFor(t, 20*time.Second, "the rotated files closed", func() bool {
					return retired(0) >= int64(len(renamed)) && retired(1) >= int64(len(renamed))
				})
				p, a := len(pc[i])/16, len(ac[i])/16
				appendFile(t, proxyPath, pc[i][:p])
				appendFile(t, appPath, ac[i][:a])
				waitFor(t, 40*time.Second, "every line written processed", func() bool { return processedToEnd(t, stateDir, proxyPath, appPath) })
				c := rf.f.Stats().Commits.Load()
				waitFor(t, 10*time.Second, "a checkpoint", func() bool { return rf.f.Stats().Commits.Load() >= c+2 })
				// The rest in two pieces, each processed and checkpointed
				// before the next, split 24 minutes before the restart:
				// the span the windows need is about 21 minutes, so that
				// checkpoint is the one the windows would have the
				// restart read from, after the first event (11:33:56) of
				// an incident firing at the restart.
				chunkEnd := start + int64(i+1)*(end-start+1)/n
				split := chunkEnd - int64(24*time.Minute)
				rp := chunksByTime(t, pc[i][p:], pf.NewParser(), split-1, split, 2)
				ra := chunksByTime(t, ac[i][a:], af.NewParser(), split-1, split, 2)
				for j := range rp {
					appendFile(t, proxyPath, rp[j])
					appendFile(t, appPath, ra[j])
					waitFor(t, 40*time.Second, "the piece processed", func() bool { return processedToEnd(t, stateDir, proxyPath, appPath) })
					c := rf.f.Stats().Commits.Load()
					waitFor(t, 10*time.Second, "a checkpoint", func() bool { return rf.f.Stats().Commits.Load() >= c+2 })
				}
				break
			}
			appendFile(t, proxyPath, pc[i])
			appendFile(t, appPath, ac[i])
			// Renamed before being found, a file would not be read at all.
			waitFor(t, 10*time.Second, "the new files opened", func() bool { return opened(0) >= want[0] && opened(1) >= want[1] })
			suffix := fmt.Sprintf(".%d", i)
			for _, p := range []string{proxyPath, appPath} {
				if err := os.Rename(p, p+suffix); err != nil {
					t.Fatal(err)
				}
			}
			renamed = append(renamed, [2]string{proxyPath + suffix, appPath + suffix})
			rotations++
			if removeRotated {
				// Retired files were read to their end: remove them.
				for ; removed < int(min(retired(0), retired(1))); removed++ {
					os.Remove(renamed[removed][0])
					os.Remove(renamed[removed][1])
				}
			}
		}
		waitFor(t, 40*time.Second, "every line written processed", func() bool { return processedToEnd(t, stateDir, proxyPath, appPath) })
		// The closed files' final positions are committed: they are
		// forgotten.
		var p, a, al int
		deadline := time.Now().Add(10 * time.Second)
		for {
			p, a, al = stateEntries(t, stateDir)
			if p <= 1 && a <= 1 && al <= 2 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		rf.shutdown(t)
		p, a, al = stateEntries(t, stateDir)
		t.Logf("after %d rotations: %d proxy positions, %d app positions, %d alerted positions", rotations, p, a, al)
		if p > 1 || a > 1 || al > 2 {
			for _, name := range []string{"proxy.positions", "app.positions", alertedFile} {
				b, _ := os.ReadFile(filepath.Join(stateDir, name))
				t.Logf("%s:\n%s", name, b)
			}
			t.Errorf("after %d rotations the state holds %d proxy and %d app positions and %d alerted ones, want at most 1, 1 and 2", rotations, p, a, al)
		}
	}

	first, second := &collector{}, &collector{}
	run(first, 0, n/2, false)
	run(second, n/2, n, true)

	checkOnceEach(t, append(first.snapshot(), second.snapshot()...), want)
	t.Logf("%d alerts: first run %d, second %d", len(want), len(first.snapshot()), len(second.snapshot()))
}

// TestFollowReloadRules reloads the rules while following: the files are
// read again from the saved positions with a new engine, so that together
// the alerts are those replay emits over the whole files, none twice, and
// the rebuilt span's alerts are muted; a second reload puts a smaller rule
// set in force. A follower without a state directory refuses to reload.
func TestFollowReloadRules(t *testing.T) {
	want := distinctSorted(replayAlerts(t, []string{proxySample}, []string{appSample}))
	dir := t.TempDir()
	proxyPath, appPath := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	p1, p2, a1, a2 := halves(t)
	pf, af := formatsFor(t)
	got := &collector{}
	cfg := FilesConfig{
		ProxyFiles:     []string{proxyPath},
		AppFiles:       []string{appPath},
		ProxyFormat:    pf,
		AppFormat:      af,
		StateDir:       filepath.Join(dir, "state"),
		Engine:         detect.Config{Rules: rules.Default()},
		Sink:           got,
		IdleTimeout:    3 * time.Second,
		CommitInterval: 50 * time.Millisecond,
		PollInterval:   20 * time.Millisecond,
		Logger:         testLogger(t),
	}
	r := startFollower(t, cfg)
	defer r.shutdown(t)
	appendFile(t, proxyPath, p1)
	appendFile(t, appPath, a1)
	waitFor(t, 40*time.Second, "the first half processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
	if len(got.snapshot()) == 0 {
		t.Fatal("no alert from the first half")
	}

	if err := r.f.ReloadRules(rules.Default()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the rebuild", func() bool { return r.f.Stats().Rebuilds.Load() == 2 })
	appendFile(t, proxyPath, p2)
	appendFile(t, appPath, a2)
	waitFor(t, patience, "every line processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })

	all := got.snapshot()
	if d := distinctSorted(all); len(d) != len(all) {
		t.Errorf("%d alerts, %d distinct: some were emitted twice", len(all), len(d))
	}
	gotSet := map[string]bool{}
	for _, g := range all {
		gotSet[g] = true
	}
	for _, w := range want {
		if !gotSet[w] {
			t.Errorf("alert lost across the reload: %.200s", w)
		}
	}
	if len(gotSet) != len(want) {
		t.Errorf("%d distinct alerts, replay emits %d", len(gotSet), len(want))
	}
	if r.f.Stats().Muted.Load() == 0 {
		t.Error("nothing muted: the windows were not rebuilt from the saved positions")
	}
	fewer := rules.Default()[:1]
	if err := r.f.ReloadRules(fewer); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the second rebuild", func() bool {
		e := r.f.Engine()
		return r.f.Stats().Rebuilds.Load() == 3 && e != nil && len(e.RuleStats()) == len(fewer)
	})

	noState := cfg
	noState.StateDir = ""
	f, err := NewFollower(noState)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ReloadRules(rules.Default()); err == nil {
		t.Error("reload without a state directory accepted")
	}
}

// checkOnceEach checks that the alerts of the runs before and after a
// restart, all, are those replay emits, want (see diff), each emitted once.
func checkOnceEach(t *testing.T, all, want []string) {
	t.Helper()
	d := distinctSorted(all)
	if len(d) != len(all) {
		t.Errorf("%d alerts, %d distinct: some were emitted twice", len(all), len(d))
	}
	diff(t, d, want)
}

// passWatch is a slowSink that looks, at each alert (sent during a
// release pass, on the follower's goroutine), at the read positions saved
// in dir: a change since the pass began is a save within the pass. Tick
// counts the passes.
type passWatch struct {
	slowSink
	dir    string
	passes int64        // passes ended (Tick), on the follower's goroutine
	pass   int64        // the pass begun holds the positions of
	begun  []byte       // the positions saved at the pass's first alert (or since)
	within atomic.Int64 // saves seen within a pass
}

func (w *passWatch) Send(ctx context.Context, a *alert.Alert) error {
	b, err := os.ReadFile(filepath.Join(w.dir, "proxy.positions"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if w.begun == nil || w.pass != w.passes {
		w.pass, w.begun = w.passes, append([]byte{}, b...)
	} else if !bytes.Equal(b, w.begun) {
		w.within.Add(1)
		w.begun = b
	}
	return w.slowSink.Send(ctx, a)
}

// TestFollowCommitsDuringBacklog: started on large files with a slow
// output, one release pass takes thousands of records; the read positions
// are still saved every commit interval during it, not only between
// passes (a restart would otherwise read, and mute, all of it again).
func TestFollowCommitsDuringBacklog(t *testing.T) {
	rs, err := rules.Parse("every", []byte(everyCert))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	proxyPath, appPath := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	proxy, app := everyCertLines(4000)
	appendFile(t, proxyPath, proxy)
	appendFile(t, appPath, app)
	pf, af := formatsFor(t)
	state := filepath.Join(dir, "state")
	sink := &passWatch{slowSink: slowSink{pause: time.Millisecond}, dir: state}
	cfg := FilesConfig{
		ProxyFiles:     []string{proxyPath},
		AppFiles:       []string{appPath},
		ProxyFormat:    pf,
		AppFormat:      af,
		StateDir:       state,
		Engine:         detect.Config{Rules: rs},
		Sink:           sink,
		IdleTimeout:    3 * time.Second,
		CommitInterval: 20 * time.Millisecond,
		PollInterval:   20 * time.Millisecond,
		Logger:         testLogger(t),
		Tick:           func(*detect.Engine) { sink.passes++ },
	}
	r := startFollower(t, cfg)
	waitFor(t, 120*time.Second, "every line processed", func() bool {
		return sink.within.Load() > 0 || processedToEnd(t, state, proxyPath, appPath)
	})
	r.shutdown(t)
	t.Logf("%d passes, %d saves of the positions seen within one", sink.passes, sink.within.Load())
	if sink.within.Load() == 0 {
		t.Error("the read positions were saved only between passes, none within one")
	}
}

// TestFollowPathsChecked: a path that matches no file yet is followed
// (the log may appear later) with a warning naming it, and a directory or
// a bad pattern is an error before anything is read.
func TestFollowPathsChecked(t *testing.T) {
	dir := t.TempDir()
	proxyPath, appPath := filepath.Join(dir, "access.log"), filepath.Join(dir, "auth.log")
	appendFile(t, proxyPath, nil)
	appendFile(t, appPath, nil)
	pf, af := formatsFor(t)
	for _, tt := range []struct {
		name       string
		proxy, app string
		err        string
		warnings   []string
	}{
		{"both found", proxyPath, appPath, "", nil},
		{"proxy not yet written", filepath.Join(dir, "nothere.log"), appPath, "",
			[]string{`level=WARN msg="path matches no file yet; waiting for it (until it appears, every login is app_only)" source=proxy path=` + filepath.Join(dir, "nothere.log")}},
		{"app pattern matching nothing", proxyPath, filepath.Join(dir, "auth-*.log"), "",
			[]string{`every login is proxy_only)" source=app path=` + filepath.Join(dir, "auth-*.log")}},
		{"directory", dir, appPath, `following the proxy files: follow: "` + dir + `" is a directory, not a log file (a pattern such as ` + filepath.Join(dir, "*.log") + ` follows the files in it)`, nil},
		{"bad pattern", proxyPath, filepath.Join(dir, "[auth.log"), `following the app files: follow: pattern "` + filepath.Join(dir, "[auth.log") + `": syntax error in pattern`, nil},
	} {
		var logs bytes.Buffer
		_, err := NewFollower(FilesConfig{
			ProxyFiles: []string{tt.proxy}, AppFiles: []string{tt.app},
			ProxyFormat: pf, AppFormat: af,
			Engine: detect.Config{Rules: rules.Default()},
			Sink:   &collector{},
			Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		})
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.err)
		}
		if tt.warnings == nil && bytes.Contains(logs.Bytes(), []byte("WARN")) {
			t.Errorf("%s: warned:\n%s", tt.name, logs.String())
		}
		for _, w := range tt.warnings {
			if !bytes.Contains(logs.Bytes(), []byte(w)) {
				t.Errorf("%s: log lacks %q:\n%s", tt.name, w, logs.String())
			}
		}
	}
}

// TestFollowRefusesSharedStateDir: a state directory every user may add
// files to (as /tmp) is refused before anything is read: another user
// could move the positions past an attack or mark its alerts as sent.
func TestFollowRefusesSharedStateDir(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(state, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	pf, af := formatsFor(t)
	cfg := FilesConfig{
		ProxyFiles: []string{filepath.Join(dir, "access.log")}, AppFiles: []string{filepath.Join(dir, "auth.log")},
		ProxyFormat: pf, AppFormat: af, StateDir: state,
		Engine: detect.Config{Rules: rules.Default()}, Sink: &collector{}, Logger: testLogger(t),
	}
	if _, err := NewFollower(cfg); err == nil || !strings.Contains(err.Error(), "every user may add files to") {
		t.Fatalf("err = %v, want the shared state directory refused", err)
	}
	if ents, _ := os.ReadDir(state); len(ents) != 0 {
		t.Errorf("files made in the refused directory: %v", ents)
	}
	// Its own directory is taken.
	if err := os.Chmod(state, 0o750); err != nil {
		t.Fatal(err)
	}
	f, err := NewFollower(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Error(err)
	}
}

// TestFollowRotationBeforePositionsSaved renames the proxy log away (as
// logrotate does by default), then reloads the rules, or restarts, before
// any position was saved (the renamed file is not closed yet, and no
// checkpoint is as old as the default rules' 12-hour window): the rebuild
// reads both logs again from where reading started, finding the renamed
// file by its identity although no configured path names it now, and only
// then the new file. Together the alerts are those replay emits over the
// whole logs, none twice, and no record comes late.
func TestFollowRotationBeforePositionsSaved(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(map[bool]string{false: "reload", true: "restart"}[restart], func(t *testing.T) {
			followRotationBeforeSaved(t, restart)
		})
	}
}

func followRotationBeforeSaved(t *testing.T, restart bool) {
	want := distinctSorted(replayAlerts(t, []string{proxySample}, []string{appSample}))
	p1, p2, a1, a2 := halves(t)
	pf, af := formatsFor(t)
	cfg, proxyPath, appPath := restartConfig(t, rules.Default(), pf, af)
	// The renamed file stays open a while after its last line: the
	// reload (or restart) comes before it is closed. The other log waits
	// for the proxy log longer than that.
	cfg.RotateWait = 3 * time.Second
	cfg.IdleTimeout = 10 * time.Second
	got := &collector{}
	cfg.Sink = got

	r1 := startFollower(t, cfg)
	appendFile(t, proxyPath, p1)
	appendFile(t, appPath, a1)
	waitFor(t, 60*time.Second, "the first half processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
	if err := os.Rename(proxyPath, proxyPath+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, proxyPath, p2[:len(p2)/4])
	for _, name := range []string{"proxy.positions", "app.positions"} {
		b, err := os.ReadFile(filepath.Join(cfg.StateDir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		var saved struct{ Files []follow.Position }
		if err == nil {
			err = json.Unmarshal(b, &saved)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range saved.Files {
			if p.Offset > 0 {
				t.Fatalf("%s: a position was saved (%s at %d): the rebuild would not start from the first lines", name, p.Path, p.Offset)
			}
		}
	}
	r2 := r1
	if restart {
		r1.shutdown(t)
		r2 = startFollower(t, cfg)
	} else if err := r1.f.ReloadRules(rules.Default()); err != nil {
		t.Fatal(err)
	} else {
		waitFor(t, 10*time.Second, "the rebuild", func() bool { return r1.f.Stats().Rebuilds.Load() == 2 })
	}
	appendFile(t, proxyPath, p2[len(p2)/4:])
	appendFile(t, appPath, a2)
	waitFor(t, 60*time.Second, "every line processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
	settle(t, 10*time.Second, 500*time.Millisecond, func() int { return len(got.snapshot()) })
	r2.shutdown(t)

	checkOnceEach(t, got.snapshot(), want)
	if n := r1.f.Stats().Late.Load(); n != 0 {
		t.Errorf("first run: %d records came late", n)
	}
	if n := r2.f.Stats().Late.Load(); restart && n != 0 {
		t.Errorf("second run: %d records came late", n)
	}
	if r2.f.Stats().Muted.Load() == 0 {
		t.Error("nothing muted: the rebuild did not read the lines processed before")
	}
}

// TestFollowRotatedFileGone deletes the proxy log's renamed file before a
// reload, before any position was saved: the rebuild cannot read it
// again, says so, and starts both logs at the first proxy record it can
// read, so no alert comes from app records whose proxy records are gone,
// none is sent twice, and no record comes late.
func TestFollowRotatedFileGone(t *testing.T) {
	want := distinctSorted(replayAlerts(t, []string{proxySample}, []string{appSample}))
	p1, p2, a1, a2 := halves(t)
	pf, af := formatsFor(t)
	cfg, proxyPath, appPath := restartConfig(t, rules.Default(), pf, af)
	cfg.RotateWait = 3 * time.Second
	cfg.IdleTimeout = 10 * time.Second
	gone := &goneWarnings{}
	cfg.Logger = slog.New(gone)
	got := &collector{}
	cfg.Sink = got

	r := startFollower(t, cfg)
	appendFile(t, proxyPath, p1)
	appendFile(t, appPath, a1)
	waitFor(t, 60*time.Second, "the first half processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
	before := len(got.snapshot())
	if err := os.Rename(proxyPath, proxyPath+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, proxyPath, p2[:len(p2)/4])
	if err := os.Remove(proxyPath + ".1"); err != nil {
		t.Fatal(err)
	}
	if err := r.f.ReloadRules(rules.Default()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the rebuild", func() bool { return r.f.Stats().Rebuilds.Load() == 2 })
	appendFile(t, proxyPath, p2[len(p2)/4:])
	appendFile(t, appPath, a2)
	waitFor(t, 60*time.Second, "every line processed", func() bool { return processedToEnd(t, cfg.StateDir, proxyPath, appPath) })
	settle(t, 10*time.Second, 500*time.Millisecond, func() int { return len(got.snapshot()) })
	r.shutdown(t)

	if n := gone.count(); n != 1 {
		t.Errorf("%d warnings of a file gone, want 1", n)
	}
	all := got.snapshot()
	if d := distinctSorted(all); len(d) != len(all) {
		t.Errorf("%d alerts, %d distinct: some were emitted twice", len(all), len(d))
	}
	for _, a := range all[before:] {
		if !slices.Contains(want, a) {
			t.Errorf("after the rebuild, an alert replay does not emit: %.300s", a)
		}
	}
	if n := r.f.Stats().Late.Load(); n != 0 {
		t.Errorf("%d records came late", n)
	}
}

// goneWarnings is a slog handler counting the warnings of a file gone.
type goneWarnings struct{ n atomic.Int64 }

func (w *goneWarnings) Enabled(context.Context, slog.Level) bool { return true }

func (w *goneWarnings) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn && strings.HasPrefix(r.Message, "a file read before is gone") {
		w.n.Add(1)
	}
	return nil
}

func (w *goneWarnings) WithAttrs([]slog.Attr) slog.Handler { return w }

func (w *goneWarnings) WithGroup(string) slog.Handler { return w }

func (w *goneWarnings) count() int { return int(w.n.Load()) }
