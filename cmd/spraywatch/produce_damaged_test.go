package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// topicEnd returns the end offset of a topic's partition 0: how many
// records it holds.
func topicEnd(t *testing.T, addr, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := kafka.DialLeader(ctx, "tcp", addr, topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	end, err := conn.ReadLastOffset()
	if err != nil {
		t.Fatal(err)
	}
	return end
}

// TestProduceDamagedGzip sends an app log gzipped and damaged in several
// ways with a whole proxy log: produce sends the app lines before the
// damage, each once, and every proxy line, warns once on stderr with the
// damage as replay reports it, and exits 0, also when --loop reads the
// damaged file again.
func TestProduceDamagedGzip(t *testing.T) {
	app := fileLines(t, sampleApp)[:8]
	proxy := fileLines(t, sampleProxy)[:20]
	whole := strings.Join(app, "\n") + "\n"
	head := strings.Join(app[:5], "\n") + "\n"
	dir := t.TempDir()
	proxyPath := filepath.Join(dir, "access.log")
	writeFile(t, proxyPath, strings.Join(proxy, "\n")+"\n")

	badChecksum := func() []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(whole))
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		b[len(b)-8] ^= 1 // the CRC-32, before the length
		return b
	}
	for _, c := range []struct {
		name    string
		data    []byte
		loop    bool
		want    []string // the app lines sent, in order
		warning string   // after the file's name
	}{
		{
			name:    "cut at a line's end",
			data:    cutGzip(t, []byte(head), []byte(whole[len(head):])),
			want:    app[:5],
			warning: "the compressed data ends early after line 5 (unexpected EOF): the lines after it are lost",
		},
		{
			name:    "cut inside a line",
			data:    cutGzip(t, []byte(head+app[5][:30]), []byte(whole[len(head)+30:])),
			want:    append(app[:5:5], app[5][:30]),
			warning: "the compressed data ends early after line 6 (unexpected EOF): the lines after it are lost",
		},
		{
			name:    "failing its checksum",
			data:    badChecksum(),
			want:    app,
			warning: "the compressed data fails its checksum after line 8 (gzip: invalid checksum): lines before it may be wrong, and any data after it is not read",
		},
		{
			name:    "gzip header not valid",
			data:    []byte("\x1f\x8bnot gzip at all\n"),
			warning: "the gzip header is not valid before its first line (gzip: invalid header): the file is not read",
		},
		{
			name:    "cut short, read three times with --loop",
			data:    cutGzip(t, []byte(head), []byte(whole[len(head):])),
			loop:    true,
			want:    append(append(app[:5:5], app[:5]...), app[:5]...),
			warning: "the compressed data ends early after line 5 (unexpected EOF): the lines after it are lost",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := produceCluster(t, 1)
			appPath := filepath.Join(t.TempDir(), "auth.log.gz")
			writeFile(t, appPath, string(c.data))

			args := []string{"produce", "--brokers", addr[0], "--proxy-topic", "proxy", "--app-topic", "app", "--rate", "0", "--app", appPath}
			wantProxy := proxy
			if c.loop {
				// The damaged file alone, for three passes.
				args = append(args, "--loop", "--count", fmt.Sprint(len(c.want)))
				wantProxy = nil
			} else {
				args = append(args, "--proxy", proxyPath)
			}
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if code := run(ctx, args, &stdout, &stderr); code != 0 {
				t.Fatalf("produce exited %d: %s", code, stderr.String())
			}
			warning := "spraywatch produce: warning: " + appPath + ": " + c.warning + "\n"
			if n := strings.Count(stderr.String(), warning); n != 1 {
				t.Errorf("stderr has the warning %d times, want once: %q\nstderr: %q", n, warning, stderr.String())
			}
			if sent := fmt.Sprintf("produced %d lines in ", len(c.want)+len(wantProxy)); !strings.Contains(stderr.String(), sent) {
				t.Errorf("stderr lacks %q: %q", sent, stderr.String())
			}
			checkTopic(t, addr, "app", c.want)
			checkTopic(t, addr, "proxy", wantProxy)
		})
	}
}
