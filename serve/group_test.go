package serve

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// lockedBuffer is a log destination safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestGroupJoinFailureLogged gives the consumer group a session timeout
// the broker refuses (below its group.min.session.timeout.ms, 6 s by
// default): the server cannot join, and its log says what failed, with
// the group and the broker's error.
func TestGroupJoinFailureLogged(t *testing.T) {
	t.Parallel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "proxy", "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var logs lockedBuffer
	cfg := serverConfig(t, c, "short-session", &collector{})
	cfg.Kafka.SessionTimeout = 3 * time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	start(t, cfg)
	const want = `level=WARN msg="joining the consumer group failed; trying again" group=short-session err="[26] Invalid Session Timeout`
	if !eventually(patience, func() bool { return strings.Contains(logs.String(), want) }) {
		t.Fatalf("no %q in the log after %s:\n%s", want, patience, logs.String())
	}
}
