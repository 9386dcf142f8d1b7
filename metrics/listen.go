package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

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
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	s := &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
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
