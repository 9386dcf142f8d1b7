package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// berlinAppLog writes the sample day's application log as Python logging
// lines whose asctime is the local time of a process in Europe/Berlin
// (Django with TIME_ZONE = "Europe/Berlin"), without an offset, and the
// python-logging definition that reads them. It returns their paths.
func berlinAppLog(t *testing.T, dir string) (log, def string) {
	t.Helper()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open("../../samples/data/django-auth.log")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var b strings.Builder
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		var e struct {
			Timestamp, Level, Logger, Event, Username, IP string
			RequestID                                     string `json:"request_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		ts, err := time.Parse(time.RFC3339Nano, e.Timestamp)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %s [%s] event=%s user=%s ip=%s\n", ts.In(berlin).Format("2006-01-02 15:04:05.000000"),
			strings.ToUpper(e.Level), e.Logger, e.RequestID, e.Event, e.Username, e.IP)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	log, def = filepath.Join(dir, "auth.log"), filepath.Join(dir, "pylog.yml")
	writeFile(t, log, b.String())
	writeFile(t, def, "format: '%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s'\n"+
		"message_pattern: '^event=(?P<event>\\S+) user=(?P<username>\\S+) ip=(?P<ip>\\S+)$'\n")
	return log, def
}

// TestReplayTimeZone replays the sample day with its application log
// written in Berlin local time: read in Europe/Berlin (by the flag or by
// the configuration file), it joins the proxy log (whose times carry
// +0000) as the original does and the alerts are the samples' alerts;
// read as UTC, every time is an hour late and nothing joins.
func TestReplayTimeZone(t *testing.T) {
	dir := t.TempDir()
	app, def := berlinAppLog(t, dir)
	proxy := abs(t, "../../samples/data/nginx-access.log")
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, "sources:\n"+
		"  - {name: edge, kind: proxy, paths: ["+proxy+"]}\n"+
		"  - {name: django, kind: app, format: python-logging, definition_file: "+def+", time_zone: Europe/Berlin, paths: ["+app+"]}\n")
	golden, err := os.ReadFile(filepath.Join("testdata", "samples.alerts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	appArgs := []string{"--proxy", proxy, "--app", app, "--app-format", "python-logging", "--app-format-def", def}
	for _, c := range []struct {
		name  string
		args  []string
		join  string
		same  bool // the alerts are the samples'
		count int  // else how many
	}{
		{"--app-time-zone", append(appArgs, "--app-time-zone", "Europe/Berlin"), "join: 2225 matched, 25 app_only, 4 proxy_only", true, 0},
		{"time_zone in the configuration file", []string{"--config", cfg}, "join: 2225 matched, 25 app_only, 4 proxy_only", true, 0},
		{"--app-time-zone as an offset", append(appArgs, "--app-time-zone", "+01:00"), "join: 2225 matched, 25 app_only, 4 proxy_only", true, 0},
		{"read as UTC", appArgs, "join: 0 matched, 2250 app_only, 2229 proxy_only", false, 80},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), append([]string{"replay"}, c.args...), &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			checkContains(t, c.name, errb.String(), c.join, "app   python-logging")
			if got := bytes.Equal(out.Bytes(), golden); got != c.same {
				t.Errorf("alerts the same as the samples' %v, want %v", got, c.same)
			}
			if n := bytes.Count(out.Bytes(), []byte("\n")); !c.same && n != c.count {
				t.Errorf("%d alerts, want %d", n, c.count)
			}
		})
	}
}

// TestConfigCheckTimeZone: config check names a source's time zone and
// shows the first line's time read in it.
func TestConfigCheckTimeZone(t *testing.T) {
	dir := t.TempDir()
	app, def := berlinAppLog(t, dir)
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, "sources:\n  - {name: django, kind: app, format: python-logging, definition_file: "+def+", time_zone: Europe/Berlin, paths: ["+app+"]}\n")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"config", "check", cfg}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	// The sample day's first application event, 00:24:54.132545Z, is
	// logged as 01:24:54.132545 in Berlin.
	checkContains(t, "config check", out.String(), "  time zone: Europe/Berlin, of the times written without a zone offset\n",
		app+":1: @timestamp=2026-12-04T00:24:54.132545Z ")
}

func TestTimeZoneFlagErrors(t *testing.T) {
	dir := t.TempDir()
	app, def := berlinAppLog(t, dir)
	proxy := "../../samples/data/nginx-access.log"
	cfg := filepath.Join(dir, "sw.yml")
	writeFile(t, cfg, "sources:\n  - {kind: proxy, paths: ["+abs(t, proxy)+"]}\n")
	pylog := []string{"--app", app, "--app-format", "python-logging", "--app-format-def", def}
	// A zone that does not parse, or that the format in force does not
	// take, is a bad command line (exit 2); a zone flag that applies to no
	// file of the command line, with --config, is an error (exit 1).
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown zone", append([]string{"replay"}, append(pylog, "--app-time-zone", "Europe/Berln")...), 2,
			`spraywatch replay: --app-time-zone: unknown time zone "Europe/Berln": expected an IANA time zone name such as Europe/Berlin or an offset such as +01:00` + "\n"},
		{"bad offset", append([]string{"replay"}, append(pylog, "--app-time-zone", "+1")...), 2, `spraywatch replay: --app-time-zone: offset "+1": expected +hh:mm or +hhmm` + "\n"},
		{"Local", append([]string{"replay"}, append(pylog, "--app-time-zone", "Local")...), 2, `spraywatch replay: --app-time-zone: "Local" depends on the machine`},
		{"a format without local times", []string{"replay", "--proxy", proxy, "--proxy-time-zone", "Europe/Berlin"}, 2,
			`spraywatch replay: --proxy-time-zone "Europe/Berlin": format nginx writes every time with a zone offset, so a time zone does not apply to it`},
		{"with --config, without --app", []string{"replay", "--config", cfg, "--app-time-zone", "Europe/Berlin"}, 1,
			"--app-time-zone applies to the --app files of the command line; with --config, give --app too or set the format in the file"},
		{"serve: unknown zone", []string{"serve", "--proxy-file", proxy, "--app-file", app, "--app-format", "python-logging", "--app-format-def", def, "--state-dir", dir, "--app-time-zone", "Mars/Olympus"}, 2,
			`spraywatch serve: --app-time-zone: unknown time zone "Mars/Olympus"`},
		{"serve: with --config, without --app-file", []string{"serve", "--config", cfg, "--proxy-time-zone", "Europe/Berlin", "--state-dir", dir}, 1,
			"--proxy-time-zone applies to the --proxy-file files of the command line"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), c.args, &out, &errb); code != c.code || !strings.Contains(errb.String(), c.want) {
				t.Errorf("exit %d, stderr %q; want exit %d, an error containing %q", code, errb.String(), c.code, c.want)
			}
		})
	}
}
