package hostile

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/formats"
	"github.com/spraywatch/spraywatch/replay"
	"github.com/spraywatch/spraywatch/rules"
)

// t0 is the start of every generated day.
var t0 = time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)

// proxyLine formats one line of the built-in mtls_combined nginx format.
// fp "" means no client certificate.
func proxyLine(at time.Time, ip, request, rid, fp, dn, ua string) string {
	verify, serial, idn := "SUCCESS", "01", "CN=Test CA,O=Example"
	if fp == "" {
		verify, fp, serial, dn, idn = "NONE", "-", "-", "-", "-"
	}
	return fmt.Sprintf(`%s - - [%s] "%s" 200 512 "-" "%s" rid=%s verify=%s fp=%s serial=%s dn="%s" idn="%s" rt=0.010`,
		ip, at.Format("02/Jan/2006:15:04:05 -0700"), request, ua, rid, verify, fp, serial, dn, idn)
}

// appLine formats one Django auth line with the default keys; the
// username is JSON-escaped as Python's json module would.
func appLine(at time.Time, ev, rid, user, ip string) string {
	u, _ := json.Marshal(user)
	return fmt.Sprintf(`{"timestamp":"%s","level":"warning","logger":"accounts.auth","event":"%s","request_id":"%s","username":%s,"ip":"%s"}`,
		at.Format("2006-01-02T15:04:05.000000Z"), ev, rid, u, ip)
}

// rid returns a request id unique to (tag, i).
func rid(tag byte, i int) string {
	var b [16]byte
	b[0] = tag
	for k := 0; k < 8; k++ {
		b[15-k] = byte(i >> (8 * k))
	}
	return hex.EncodeToString(b[:])
}

// fingerprint returns a SHA-1-sized certificate fingerprint for n.
func fingerprint(n int) string {
	var b [20]byte
	b[0] = 0xfe
	for k := 0; k < 8; k++ {
		b[19-k] = byte(n >> (8 * k))
	}
	return hex.EncodeToString(b[:])
}

// campaign is a small real spray: one certificate, 15 usernames that fail
// within five minutes. The default pack's cert-identity-spray must report
// it whatever else is in the logs.
type campaign struct {
	fp    string
	start time.Time
}

const sprayUsers = 15

var spray = campaign{fp: "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a", start: t0.Add(30 * time.Minute)}

// lines returns the campaign's proxy and app lines, in time order.
func (c campaign) lines() (proxy, app []string) {
	for i := 0; i < sprayUsers; i++ {
		at := c.start.Add(time.Duration(i) * 10 * time.Second)
		id := rid(0xc4, i)
		user := fmt.Sprintf("victim%02d", i)
		app = append(app, appLine(at, "login_failed", id, user, "203.0.113.66"))
		proxy = append(proxy, proxyLine(at, "203.0.113.66", "POST /accounts/login/ HTTP/1.1", id, c.fp, "CN=attacker,O=Example", "python-requests/2.32"))
	}
	return proxy, app
}

// writeFile writes a log file from a generator calling emit with each
// line, in time order.
func writeFile(t testing.TB, path string, gen func(emit func(string))) {
	t.Helper()
	writeRaw(t, path, func(emit func(string)) {
		gen(func(s string) { emit(s); emit("\n") })
	})
}

// writeRaw writes a file from a generator calling emit with pieces.
func writeRaw(t testing.TB, path string, gen func(emit func(string))) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	gen(func(s string) { w.WriteString(s) })
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// mergeSorted emits base lines with extra lines inserted where their time
// (given by at) falls; both are in time order.
func interleave(emit func(string), base []string, baseAt []time.Time, extra []string, extraAt []time.Time) {
	i, j := 0, 0
	for i < len(base) || j < len(extra) {
		if j >= len(extra) || (i < len(base) && !baseAt[i].After(extraAt[j])) {
			emit(base[i])
			i++
		} else {
			emit(extra[j])
			j++
		}
	}
}

// options configures a replay; zero values are the CLI's defaults.
type options struct {
	maxLine    int
	maxPending int
	maxGroups  int
	maxEvents  int
	maxTotal   int // groups of all rules
	lanes      int // 0: detect.LanesAuto, as the replay command
	maxJump    time.Duration
	noPrefetch bool
	rulesYAML  string
	skim       skimMode
}

// skimMode is how a replay reads the proxy lines that are not logins.
type skimMode int

const (
	skimLazy  skimMode = iota // as the replay command: time, request and request id only
	skimExact                 // --check-all-lines: every value checked
	skimNone                  // every line parsed in full
)

func (m skimMode) String() string { return [...]string{"lazy skim", "exact skim", "full parse"}[m] }

// result is what a replay produced.
type result struct {
	out     []byte // alert JSON lines
	alerts  []alert.Alert
	sources []*ingest.Stats
	join    *detect.JoinStats
	engine  *detect.Stats
	merge   *replay.Stats
	took    time.Duration
	cpu     time.Duration // user+sys CPU time of the process during the replay
	peakKB  int64         // peak RSS at the end of the replay, before the alerts are read back
}

// cpuTime returns the process's user+sys CPU time: on a shared machine a
// fairer measure of work than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startCPUProfile starts a CPU profile to the file HOSTILE_CPUPROFILE
// names, if set, for looking into a case: replayFiles profiles the replay
// alone, without the making of its input. The function it returns stops
// the profile.
func startCPUProfile(t testing.TB) (stop func()) {
	t.Helper()
	path := os.Getenv("HOSTILE_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		t.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}
}

// replayFiles runs the pipeline the replay command runs, in process.
func replayFiles(t testing.TB, proxy, app []string, o options) *result {
	t.Helper()
	rs := rules.Default()
	if o.rulesYAML != "" {
		var err error
		if rs, err = rules.Parse("test.yml", []byte(o.rulesYAML)); err != nil {
			t.Fatal(err)
		}
	}
	pf, err := formats.Proxy("nginx", "")
	if err != nil {
		t.Fatal(err)
	}
	af, err := formats.App("django-json", "")
	if err != nil {
		t.Fatal(err)
	}
	var srcs []*ingest.FileSource
	for _, p := range proxy {
		fs := ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.Proxy, Paths: []string{p}, Parser: pf.NewParser(), Format: pf.Name(), MaxLineBytes: o.maxLine})
		if o.skim != skimNone {
			fs.Skim(detect.NewLoginFilter(detect.CorrelatorConfig{}).Full)
			fs.CheckAllLines(o.skim == skimExact)
		}
		srcs = append(srcs, fs)
	}
	for _, p := range app {
		srcs = append(srcs, ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.App, Paths: []string{p}, Parser: af.NewParser(), Format: af.Name(), MaxLineBytes: o.maxLine}))
	}
	// The alerts go to a file, as a replay's do: a heavy case's peak RSS
	// is the replay's, not that of an in-memory copy of its output.
	out, err := os.CreateTemp(t.TempDir(), "alerts-*.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	sink := alert.NewBatchWriter(out, time.Second)
	eng, err := detect.NewEngine(detect.Config{
		Correlator:     detect.CorrelatorConfig{MaxPending: o.maxPending},
		Rules:          rs,
		MaxGroups:      o.maxGroups,
		MaxGroupsTotal: o.maxTotal,
		MaxGroupEvents: o.maxEvents,
		Lanes:          cmp.Or(o.lanes, detect.LanesAuto),
		Sink:           sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var in []ingest.Source
	res := &result{merge: new(replay.Stats)}
	for _, s := range srcs {
		res.sources = append(res.sources, s.Stats())
		if o.noPrefetch {
			in = append(in, s)
			continue
		}
		p := ingest.Prefetch(ctx, s, 0)
		defer p.Close()
		in = append(in, p)
	}
	stopProfile := startCPUProfile(t)
	start, cpu0 := time.Now(), cpuTime()
	if err := replay.RunOptions(ctx, in, eng, replay.Options{MaxTimeJump: o.maxJump}, res.merge); err != nil {
		t.Fatalf("replay: %v", err)
	}
	res.took, res.cpu = time.Since(start), cpuTime()-cpu0
	stopProfile()
	res.peakKB, _ = peakRSS() // 0 without /proc: the heavy cases then fail
	if path := os.Getenv("HOSTILE_HEAPPROFILE"); path != "" {
		// For looking into a case: the live heap with the engine's state.
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		pprof.WriteHeapProfile(f)
		f.Close()
		runtime.KeepAlive(eng)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if res.out, err = os.ReadFile(out.Name()); err != nil {
		t.Fatal(err)
	}
	res.join, res.engine = eng.JoinStats(), eng.Stats()
	res.alerts = parseAlerts(t, res.out)
	return res
}

// parseAlerts checks that out is JSON lines, one alert per line.
func parseAlerts(t testing.TB, out []byte) []alert.Alert {
	t.Helper()
	var as []alert.Alert
	for i, line := range bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			if len(out) == 0 {
				break
			}
			t.Fatalf("alert line %d is empty", i+1)
		}
		var a alert.Alert
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("alert line %d does not parse: %v\n%s", i+1, err, line)
		}
		if a.Schema != "spraywatch.alert.v1" {
			t.Fatalf("alert line %d: schema %q", i+1, a.Schema)
		}
		as = append(as, a)
	}
	return as
}

// sprayReported checks that the campaign's certificate got a
// cert-identity-spray alert.
func (r *result) sprayReported(t testing.TB, c campaign) {
	t.Helper()
	for _, a := range r.alerts {
		if a.Rule == "cert-identity-spray" && strings.Contains(a.Group["spraywatch.identity"], c.fp) {
			return
		}
	}
	var rulesSeen []string
	for _, a := range r.alerts {
		rulesSeen = append(rulesSeen, a.Rule+" "+a.Group["spraywatch.identity"])
	}
	t.Fatalf("the campaign of %s was not reported; alerts: %q", c.fp, rulesSeen)
}

// accounted checks that every line of every source is accounted for:
// parsed, ignored or rejected, and that rejections carry a reason.
func (r *result) accounted(t testing.TB) {
	t.Helper()
	for _, s := range r.sources {
		lines, parsed, ign, rej := s.Lines.Load(), s.Records(), s.Ignored.Load(), s.Rejected.Load()
		if parsed+ign+rej != lines {
			t.Errorf("%s: %d lines but %d records + %d ignored + %d rejected", s.Name, lines, parsed, ign, rej)
		}
		errs := s.Errors()
		if rej > 0 && len(errs) == 0 {
			t.Errorf("%s: %d rejected lines and no reason kept", s.Name, rej)
		}
		for _, e := range errs {
			if !strings.Contains(e.Error(), filepath.Base(s.Name)) {
				t.Errorf("%s: rejection reason %q does not name the file", s.Name, e)
			}
		}
	}
}

// heavy runs the named case in a child process (this test binary, the
// test itself, with HOSTILE_CHILD set) and returns the figures it reports,
// peak RSS included (vmhwm_kb: the case's own figure when it gives one,
// else the child's at the end). In the child, heavy runs fn and reports;
// it returns nil so the caller stops.
func heavy(t *testing.T, fn func(t *testing.T) map[string]int64) map[string]int64 {
	t.Helper()
	if raceEnabled {
		t.Skip("heavy case: its sizes and RSS cap are for builds without -race")
	}
	if os.Getenv("HOSTILE_CHILD") == t.Name() {
		figs := fn(t)
		if _, ok := figs["vmhwm_kb"]; !ok {
			figs["vmhwm_kb"] = vmHWM(t)
		}
		b, _ := json.Marshal(figs)
		fmt.Printf("HOSTILE-RESULT %s\n", b)
		return nil
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.v", "-test.timeout", "20m")
	cmd.Env = append(os.Environ(), "HOSTILE_CHILD="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child %s: %v\n%s", t.Name(), err, tail(out))
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "HOSTILE-RESULT "); ok {
			figs := map[string]int64{}
			if err := json.Unmarshal([]byte(rest), &figs); err != nil {
				t.Fatal(err)
			}
			t.Logf("figures: %v", figs)
			return figs
		}
	}
	t.Fatalf("child %s reported nothing:\n%s", t.Name(), tail(out))
	return nil
}

func tail(b []byte) []byte {
	if len(b) > 4000 {
		return b[len(b)-4000:]
	}
	return b
}

// vmHWM returns the process's peak resident set size in KiB.
func vmHWM(t testing.TB) int64 {
	n, err := peakRSS()
	if err != nil {
		t.Skip(err)
	}
	return n
}

// peakRSS returns the process's peak RSS in KiB.
func peakRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("no /proc/self/status: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", rest, err)
			}
			return n, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

// full reports whether the threat model's full sizes were asked for.
func full() bool { return os.Getenv("HOSTILE_FULL") != "" }

// size returns n, or big with HOSTILE_FULL set.
func size(n, big int) int {
	if full() {
		return big
	}
	return n
}
