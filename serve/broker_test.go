package serve

import (
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestBrokerRestart stops the broker while the server runs and starts it
// again on the same port and data directory: the server recovers and the
// alerts are those of replay.
func TestBrokerRestart(t *testing.T) {
	want := distinctSorted(replayAlerts(t, []string{proxySample}, []string{appSample}))
	dir, port := t.TempDir(), freePort(t)
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.DataDir(dir),
		kfake.GroupMinSessionTimeout(500 * time.Millisecond),
		kfake.SeedTopics(1, "proxy", "app"),
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	p1, p2, a1, a2 := halves(t)
	produce(t, c, "proxy", p1, nil)
	produce(t, c, "app", a1, nil)

	sink := &collector{}
	cfg := serverConfig(t, c, "restart-broker", sink)
	cfg.CommitInterval = 100 * time.Millisecond
	r := start(t, cfg)
	np, na := releasable(t, p1, a1)
	waitFor(t, patience, "the first half released and committed", committedTo(r.s, np, na))

	c.Close()
	time.Sleep(time.Second) // the broker is away for a while
	c, err = kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("restarting the broker: %v", err)
	}
	defer c.Close()
	produce(t, c, "proxy", p2, nil)
	produce(t, c, "app", a2, nil)
	closeInput(t, c, 1, 1, newestTime(t, p2, a2))
	waitFor(t, patience, "everything released and committed after the restart", committedTo(r.s, len(p1)+len(p2)+1, len(a1)+len(a2)))
	r.shutdown(t)
	r.report(t, "server")
	diff(t, distinctSorted(sink.snapshot()), want)
}
