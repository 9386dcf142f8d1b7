package main

import (
	"bytes"
	"os"
	"os/exec"
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

// A serve whose stdout nobody reads cannot finish its clean stop (the
// sample day's alerts are more than a pipe holds): a second SIGTERM ends
// it.
func TestSecondSignalEnds(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() // never read: writes block once the pipe is full
	cmd := exec.Command(os.Args[0], "serve",
		"--proxy-file", "../../samples/data/nginx-access.log", "--app-file", "../../samples/data/django-auth.log")
	cmd.Env = append(os.Environ(), "SPRAYWATCH_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Let it start and block on the full pipe; the first signal then
	// asks for a stop that cannot finish.
	time.Sleep(2 * time.Second)
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
