package metrics

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// short are limits that the tests' slow and idle clients reach at once.
var short = HTTPLimits{ReadHeader: 100 * time.Millisecond, Read: 100 * time.Millisecond, Write: 100 * time.Millisecond, Idle: 100 * time.Millisecond, MaxHeaderBytes: 16 << 10}

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
}

// closedByServer reports whether the server closes c (reading gives EOF or
// a reset) before the deadline, which is far beyond the server's timeouts:
// only a server that never closes the connection misses it.
func closedByServer(t *testing.T, c net.Conn, r *bufio.Reader) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := r.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	if err == nil {
		t.Fatal("the server sent more than its answer")
	}
	return true
}

// dialShort starts a listener with the short limits and connects to it;
// both are closed when the test ends.
func dialShort(t *testing.T) net.Conn {
	t.Helper()
	srv, err := listen("127.0.0.1:0", okHandler(), short)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestListenClosesIdleConnection: a client that keeps a connection open
// after its request does not hold it (and a file descriptor) for ever.
func TestListenClosesIdleConnection(t *testing.T) {
	c := dialShort(t)
	io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !closedByServer(t, c, r) {
		t.Fatal("an idle keep-alive connection stayed open")
	}
}

// TestListenClosesSlowHeaders: a client that sends its headers a byte at
// a time, or never finishes them, is cut off.
func TestListenClosesSlowHeaders(t *testing.T) {
	c := dialShort(t)
	io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	if !closedByServer(t, c, bufio.NewReader(c)) {
		t.Fatal("a connection whose headers never end stayed open")
	}
}

// TestListenLimitsHeaderBytes: headers over DefaultHTTPLimits().MaxHeaderBytes are refused
// (431) rather than buffered up to net/http's 1 MiB default.
func TestListenLimitsHeaderBytes(t *testing.T) {
	srv, err := Listen("127.0.0.1:0", okHandler())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, "http://"+srv.Addr()+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Big", strings.Repeat("a", 4*DefaultHTTPLimits().MaxHeaderBytes))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d with %d bytes of headers, want 431", resp.StatusCode, 4*DefaultHTTPLimits().MaxHeaderBytes)
	}
	req.Header.Del("X-Big")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d for a plain request", resp.StatusCode)
	}
}

// TestNewHTTPServerSettings: every timeout and the header limit are set.
func TestNewHTTPServerSettings(t *testing.T) {
	s := NewHTTPServer(okHandler())
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 {
		t.Errorf("timeouts: header %v, read %v, write %v, idle %v", s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout)
	}
	if s.MaxHeaderBytes != DefaultHTTPLimits().MaxHeaderBytes {
		t.Errorf("MaxHeaderBytes %d", s.MaxHeaderBytes)
	}
}
