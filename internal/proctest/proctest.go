// Package proctest runs the real programs that tests talk to, such as
// Prometheus and Alertmanager, for the length of a test.
package proctest

import (
	"os/exec"
	"strings"
	"testing"
)

// Start starts cmd with its standard output and error captured. When the
// test ends the process is killed and waited for, and if the test failed
// its output is logged under name.
func Start(t testing.TB, name string, cmd *exec.Cmd) {
	t.Helper()
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, logs.String())
		}
	})
}
