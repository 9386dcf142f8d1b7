package alb

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

// Defaults for SourceConfig.
const (
	DefaultMaxConnections = 200_000
	DefaultLead           = 5 * time.Minute
)

// SourceConfig configures a Source.
type SourceConfig struct {
	Name string // for Stats; defaults to the first access log path
	// ConnPaths and AccessPaths are the connection and access log files,
	// each list in time order (AWS names them by end time); gzip is read
	// as such, "-" is standard input (for one of the two lists only).
	ConnPaths, AccessPaths []string
	// MaxConnections bounds how many connections' certificates are kept
	// (least recently used ones go first). 0 means DefaultMaxConnections.
	MaxConnections int
	// Lead is how far past an access record's time connection records are
	// read before the record is joined: the time a connection log file can
	// trail its access log, and the spread between load balancer nodes'
	// files. 0 means DefaultLead.
	Lead         time.Duration
	MaxLineBytes int  // 0 means ingest.DefaultMaxLineBytes
	Strict       bool // the first rejected line of either log ends the source
}

// connKey is a conn_trace_id as a map key: the 16 bytes of TID_<32 hex>,
// or the SHA-1 of an id of another shape (with a marker byte).
type connKey [21]byte

func keyOf(tid []byte) connKey {
	var k connKey
	if len(tid) == 36 && string(tid[:4]) == "TID_" {
		if _, err := hex.Decode(k[:16], tid[4:]); err == nil {
			return k
		}
	}
	k[0] = 1
	h := sha1.Sum(tid)
	copy(k[1:], h[:])
	return k
}

// cert is one connection's certificate fields in one buffer.
type cert struct {
	buf             []byte
	subjEnd, serEnd int
}

// Source reads ALB access logs joined to connection logs. It implements
// ingest.Source; its records are proxy records. It is not safe for
// concurrent use, but its counters may be read while it runs.
type Source struct {
	access, conn *ingest.FileSource
	ap           *AccessParser
	lead         int64
	certs        *simplelru.LRU[connKey, cert]
	crec         event.Record
	connDone     bool
	pending      bool // crec holds a connection record not yet cached

	joined, unjoined, noTrace, evicted atomic.Int64
}

// NewSource returns a source reading the given files.
func NewSource(c SourceConfig) (*Source, error) {
	if len(c.AccessPaths) == 0 {
		return nil, errors.New("alb: no access log files")
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.Lead <= 0 {
		c.Lead = DefaultLead
	}
	s := &Source{ap: &AccessParser{}, lead: int64(c.Lead)}
	certs, err := simplelru.NewLRU[connKey, cert](c.MaxConnections, func(connKey, cert) { s.evicted.Add(1) })
	if err != nil {
		return nil, fmt.Errorf("alb: %w", err)
	}
	s.certs = certs
	name := c.Name
	if name == "" {
		name = c.AccessPaths[0]
	}
	s.access = ingest.NewFileSource(ingest.FileSourceConfig{
		Name: name, Format: "alb-access+connection", Kind: event.Proxy, Paths: c.AccessPaths,
		Parser: s.ap, MaxLineBytes: c.MaxLineBytes, Strict: c.Strict,
	})
	connName := name + " (connection logs)"
	if len(c.ConnPaths) > 0 {
		connName = c.ConnPaths[0]
	}
	s.conn = ingest.NewFileSource(ingest.FileSourceConfig{
		Name: connName, Format: ConnFormat{}.Name(), Kind: event.Proxy, Paths: c.ConnPaths,
		Parser: &ConnParser{}, MaxLineBytes: c.MaxLineBytes, Strict: c.Strict,
	})
	s.connDone = len(c.ConnPaths) == 0
	return s, nil
}

// Next reads the next access record, joined to its connection's
// certificate when the connection log has been seen.
func (s *Source) Next(ctx context.Context, r *event.Record) error {
	if err := s.access.Next(ctx, r); err != nil {
		return err
	}
	if err := s.readConn(ctx, r.Time+s.lead); err != nil {
		return err
	}
	if s.ap.SeveralSelf() {
		s.access.Stats().Flagged.Add(ingest.FlagSeveralSelf)
	}
	tid := s.ap.ConnTraceID()
	if tid == nil {
		s.noTrace.Add(1)
		return nil
	}
	c, ok := s.certs.Get(keyOf(tid))
	if !ok {
		s.unjoined.Add(1)
		return nil
	}
	s.joined.Add(1)
	r.Set(event.TLSSubject, c.buf[:c.subjEnd:c.subjEnd])
	r.Set(event.TLSSerial, c.buf[c.subjEnd:c.serEnd:c.serEnd])
	r.Set(event.TLSVerify, c.buf[c.serEnd:])
	return nil
}

// readConn reads connection records into the cache until the next one is
// later than until (it stays pending) or the connection logs end.
func (s *Source) readConn(ctx context.Context, until int64) error {
	for {
		if s.pending {
			if s.crec.Time > until {
				return nil
			}
			s.keep(&s.crec)
			s.pending = false
		}
		if s.connDone {
			return nil
		}
		err := s.conn.Next(ctx, &s.crec)
		if err == io.EOF {
			s.connDone = true
			return nil
		}
		if err != nil {
			return err
		}
		s.pending = true
	}
}

// keep caches a connection record's certificate fields.
func (s *Source) keep(r *event.Record) {
	tid := r.Get(event.RequestID)
	if len(tid) == 0 {
		return
	}
	subj, ser, ver := r.Get(event.TLSSubject), r.Get(event.TLSSerial), r.Get(event.TLSVerify)
	buf := make([]byte, 0, len(subj)+len(ser)+len(ver))
	buf = append(append(append(buf, subj...), ser...), ver...)
	s.certs.Add(keyOf(tid), cert{buf: buf, subjEnd: len(subj), serEnd: len(subj) + len(ser)})
}

// Stats returns the access logs' counters: lines read, records emitted,
// rejected lines.
func (s *Source) Stats() *ingest.Stats { return s.access.Stats() }

// ConnStats returns the connection logs' counters.
func (s *Source) ConnStats() *ingest.Stats { return s.conn.Stats() }

// JoinStats counts how access records were joined.
type JoinStats struct {
	Joined   int64 // records given their connection's certificate
	Unjoined int64 // records whose conn_trace_id was not (or no longer) in the cache
	NoTrace  int64 // records without a conn_trace_id
	Evicted  int64 // connections dropped from the full cache
}

// JoinStats returns the join counters so far.
func (s *Source) JoinStats() JoinStats {
	return JoinStats{
		Joined: s.joined.Load(), Unjoined: s.unjoined.Load(),
		NoTrace: s.noTrace.Load(), Evicted: s.evicted.Load(),
	}
}

// Close releases the files being read.
func (s *Source) Close() error {
	return errors.Join(s.access.Close(), s.conn.Close())
}

var _ ingest.Source = (*Source)(nil)
