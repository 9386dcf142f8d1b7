package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs the command itself when a test starts this binary again
// with SPRAYWATCH_TEST_MAIN set: signals then reach main as they would.
func TestMain(m *testing.M) {
	if os.Getenv("SPRAYWATCH_TEST_MAIN") == "1" {
		os.Args = append([]string{"spraywatch"}, os.Args[1:]...)
		main()
		return
	}
	os.Exit(m.Run())
}

// startBlockedServe starts serve (this binary again) on the sample day,
// its stdout a pipe nobody reads (the sample day's alerts are more than a
// pipe holds), and lets it block on the full pipe. It returns the process
// and a channel that receives its Wait's error.
func startBlockedServe(t *testing.T, stderr *bytes.Buffer, args ...string) (*exec.Cmd, chan error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() }) // never read: writes block once the pipe is full
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--listen", "",
		"--proxy-file", "../../samples/data/nginx-access.log", "--app-file", "../../samples/data/django-auth.log"}, args...)...)
	cmd.Env = append(os.Environ(), "SPRAYWATCH_TEST_MAIN=1")
	cmd.Stdout, cmd.Stderr = w, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Let it start and block on the full pipe.
	time.Sleep(2 * time.Second)
	return cmd, done
}

// A serve whose stdout nobody reads cannot finish its clean stop: a
// second SIGTERM ends it before --shutdown-timeout does.
func TestSecondSignalEnds(t *testing.T) {
	var stderr bytes.Buffer
	cmd, done := startBlockedServe(t, &stderr)
	// The first signal asks for a stop that cannot finish.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("stopped at the first signal (%v): the case proves nothing\n%s", err, stderr.String())
	case <-time.After(time.Second):
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running a minute after a second SIGTERM\n%s", stderr.String())
	}
}

// TestShutdownTimeoutEnds: a serve whose stdout nobody reads, stopped by
// one SIGTERM, gives up on stdout once --shutdown-timeout has passed: it
// logs the alert it was writing as not delivered (its record not
// committed) and exits 1 by itself.
func TestShutdownTimeoutEnds(t *testing.T) {
	var stderr bytes.Buffer
	cmd, done := startBlockedServe(t, &stderr, "--shutdown-timeout", "1s")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running a minute after SIGTERM with --shutdown-timeout 1s\n%s", stderr.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1\n%s", err, stderr.String())
	}
	out := stderr.String()
	for _, want := range []string{
		"the pass under way did not end within --shutdown-timeout",
		"alerts not delivered at the stop: 1 in a write given up on: not committed, a restart sends them again",
		"output=stdout type=stdout dropped=0 interrupted=1 spooled=0",
		"spraywatch serve: stop did not finish within --shutdown-timeout 1s: the pass under way had not ended",
		"alerts not delivered: 1 (0 lost, 1 not committed and sent again by a restart, 0 left in a spool)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q\n%s", want, out)
		}
	}
}
