package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// HTTPLimits are the timeouts and limits of an HTTP server NewHTTPServer
// builds. Whoever can reach the listener may connect: a client that sends
// its headers slowly, never sends its body, reads the answer slowly or
// keeps an idle connection open holds a goroutine and a file descriptor
// for as long as these allow, never longer.
type HTTPLimits struct {
	ReadHeader, Read, Write, Idle time.Duration
	// MaxHeaderBytes caps the request line and headers a client may send.
	MaxHeaderBytes int
}

// DefaultHTTPLimits are the limits of the listeners of serve and replay.
// A scrape of /metrics answers in well under the write timeout
// (Prometheus' default scrape timeout is 10 s); health checks and scrapes
// send a few hundred bytes of headers (net/http's default cap is 1 MiB).
func DefaultHTTPLimits() HTTPLimits {
	return HTTPLimits{
		ReadHeader:     5 * time.Second,
		Read:           10 * time.Second,
		Write:          30 * time.Second,
		Idle:           60 * time.Second,
		MaxHeaderBytes: 16 << 10,
	}
}

// NewHTTPServer returns an http.Server serving h within DefaultHTTPLimits:
// the server of serve's /healthz, /readyz and /metrics and of replay's
// --metrics-listen.
func NewHTTPServer(h http.Handler) *http.Server { return newHTTPServer(h, DefaultHTTPLimits()) }

func newHTTPServer(h http.Handler, l HTTPLimits) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeader,
		ReadTimeout:       l.Read,
		WriteTimeout:      l.Write,
		IdleTimeout:       l.Idle,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}

// Server serves a metrics handler at /metrics on its own listener, for
// commands without an HTTP listener of their own (replay).
type Server struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// Listen starts serving h at /metrics on addr (host:port; port 0 picks a
// free one).
func Listen(addr string, h http.Handler) (*Server, error) {
	return listen(addr, h, DefaultHTTPLimits())
}

func listen(addr string, h http.Handler, l HTTPLimits) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	s := &Server{ln: ln, srv: newHTTPServer(mux, l), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		// Serve returns http.ErrServerClosed after Close; a failed
		// listener shows as scrapes failing (Prometheus' up == 0).
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Addr returns the address served, with the port chosen.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops serving, letting scrapes in flight finish for up to a second.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}

// Hold waits for d or until ctx ends: a finished replay keeps its final
// figures on /metrics long enough for Prometheus to scrape them.
func Hold(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
