package alert

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CEFVersion is the device version in CEF headers: the version of this
// mapping of alerts to CEF, which changes only if its keys change, so that
// the same alert gives the same record whatever build sends it. Version 2
// moved IPv6 source addresses from src to c6a2.
const CEFVersion = "2"

// SyslogOptions configure a syslog sink.
type SyslogOptions struct {
	Name     string
	Network  string // "udp", "tcp" or "tls"
	Address  string // host:port
	TLS      *tls.Config
	Facility int    // syslog facility number 1-23; 0 means 10 (authpriv)
	Hostname string // default os.Hostname()
	AppName  string // default "spraywatch"
	Timeout  time.Duration
	Queue    QueueOptions
}

// Syslog is a sink sending RFC 5424 messages whose MSG is a CEF record, over
// UDP (one message per datagram), TCP or TLS (octet-counted framing, RFC
// 6587). Deliveries run on the sink's own goroutine behind a bounded queue.
type Syslog struct {
	opts  SyslogOptions
	stats SinkStats
	*queue

	mu   sync.Mutex
	conn net.Conn
}

// NewSyslog returns a syslog sink; it connects on first delivery and
// reconnects after errors. ctx bounds the sink's lifetime.
func NewSyslog(ctx context.Context, opts SyslogOptions) (*Syslog, error) {
	switch opts.Network {
	case "udp", "tcp", "tls":
	default:
		return nil, fmt.Errorf("syslog: unknown network %q (want udp, tcp or tls)", opts.Network)
	}
	if opts.Address == "" {
		return nil, errors.New("syslog: address is required")
	}
	if opts.Facility == 0 {
		opts.Facility = 10
	}
	if opts.Facility < 0 || opts.Facility > 23 {
		return nil, fmt.Errorf("syslog: facility %d out of range 0-23", opts.Facility)
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	if opts.AppName == "" {
		opts.AppName = "spraywatch"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	s := &Syslog{opts: opts}
	s.stats.Type, s.stats.Name = "syslog", opts.Name
	s.queue = newQueue(ctx, &s.stats, opts.Queue, s.deliver)
	s.queue.start()
	return s, nil
}

// Stats returns the sink's counters.
func (s *Syslog) Stats() *SinkStats { return &s.stats }

// Close drains the queue and closes the connection.
func (s *Syslog) Close() error {
	_, err := s.shutdown(context.Background())
	return err
}

// shutdown is Close, its drain cut short when ctx ends.
func (s *Syslog) shutdown(ctx context.Context) (left, error) {
	l, err := s.queue.shutdown(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	return l, err
}

func (s *Syslog) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: s.opts.Timeout}
	if s.opts.Network == "tls" {
		td := &tls.Dialer{NetDialer: d, Config: s.opts.TLS}
		return td.DialContext(ctx, "tcp", s.opts.Address)
	}
	return d.DialContext(ctx, s.opts.Network, s.opts.Address)
}

func (s *Syslog) deliver(ctx context.Context, batch []*Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		c, err := s.dial(ctx)
		if err != nil {
			return fmt.Errorf("syslog %s: connecting: %w", s.opts.Name, err)
		}
		s.conn = c
	}
	// A write blocked on a receiver that does not read ends with ctx
	// (the drain deadline), not only after Timeout.
	conn := s.conn
	defer context.AfterFunc(ctx, func() { conn.SetWriteDeadline(time.Now()) })()
	var buf []byte
	for i, a := range batch {
		msg := AppendSyslog(nil, a, s.opts.Facility, s.opts.Hostname, s.opts.AppName)
		if s.opts.Network == "udp" {
			buf = msg
		} else {
			buf = strconv.AppendInt(buf[:0], int64(len(msg)), 10)
			buf = append(buf, ' ')
			buf = append(buf, msg...)
		}
		s.conn.SetWriteDeadline(time.Now().Add(s.opts.Timeout))
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("syslog %s: writing: %w", s.opts.Name, err)
		}
		if _, err := s.conn.Write(buf); err != nil {
			if s.opts.Network == "udp" && errors.Is(err, syscall.EMSGSIZE) {
				// A datagram over the limit: the connection is fine,
				// the messages before it went out.
				return &oversizeError{At: i, Err: fmt.Errorf("syslog %s: writing a message of %d bytes: %w", s.opts.Name, len(buf), err)}
			}
			s.conn.Close()
			s.conn = nil
			return fmt.Errorf("syslog %s: writing: %w", s.opts.Name, err)
		}
	}
	return nil
}

// syslogSeverity maps alert severity to RFC 5424 severity.
func syslogSeverity(sev string) int {
	switch sev {
	case SeverityCritical:
		return 2
	case SeverityHigh:
		return 3
	case SeverityMedium:
		return 4
	}
	return 5
}

// CEFSeverity maps alert severity to CEF's 0-10 scale.
func CEFSeverity(sev string) int {
	switch sev {
	case SeverityCritical:
		return 10
	case SeverityHigh:
		return 8
	case SeverityMedium:
		return 5
	case SeverityLow:
		return 3
	}
	return 0
}

// AppendSyslog appends one RFC 5424 message for a: the timestamp is the
// alert's last_seen (event time), MSGID its status, structured data
// [spraywatch@32473 ...] its incident, sequence and rule, and MSG the CEF
// record (without a BOM, as CEF receivers expect).
func AppendSyslog(b []byte, a *Alert, facility int, hostname, app string) []byte {
	b = fmt.Appendf(b, "<%d>1 ", facility*8+syslogSeverity(a.Severity))
	if t, err := time.Parse(time.RFC3339Nano, a.LastSeen); err == nil {
		b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	} else {
		b = append(b, '-')
	}
	b = append(b, ' ')
	b = appendHeaderField(b, hostname, 255)
	b = append(b, ' ')
	b = appendHeaderField(b, app, 48)
	b = append(b, " - "...)
	b = appendHeaderField(b, a.Status, 32)
	b = append(b, " [spraywatch@32473 incident=\""...)
	b = appendSDValue(b, a.IncidentID)
	b = append(b, "\" sequence=\""...)
	b = strconv.AppendInt(b, int64(a.Sequence), 10)
	b = append(b, "\" rule=\""...)
	b = appendSDValue(b, a.Rule)
	b = append(b, "\"] "...)
	return AppendCEF(b, a)
}

// appendHeaderField appends a syslog header field: printable US-ASCII
// without spaces, at most n bytes, "-" when empty.
func appendHeaderField(b []byte, s string, n int) []byte {
	start := len(b)
	for i := 0; i < len(s) && len(b)-start < n; i++ {
		if c := s[i]; c > 32 && c < 127 {
			b = append(b, c)
		}
	}
	if len(b) == start {
		b = append(b, '-')
	}
	return b
}

// appendSDValue appends an SD-PARAM value, escaping '"', '\' and ']'
// (RFC 5424 section 6.3.3) and replacing invalid UTF-8.
func appendSDValue(b []byte, s string) []byte {
	s = strings.ToValidUTF8(s, "\uFFFD")
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', ']':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return b
}

// AppendCEF appends a's CEF record:
// CEF:0|spraywatch|spraywatch|<version>|<rule>|<summary>|<severity>|<extension>.
func AppendCEF(b []byte, a *Alert) []byte {
	b = append(b, "CEF:0|spraywatch|spraywatch|"...)
	b = appendCEFHeader(b, CEFVersion)
	b = append(b, '|')
	b = appendCEFHeader(b, a.Rule)
	b = append(b, '|')
	b = appendCEFHeader(b, a.Summary)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(CEFSeverity(a.Severity)), 10)
	b = append(b, '|')
	first := true
	ext := func(k, v string) {
		if v == "" {
			return
		}
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = append(b, k...)
		b = append(b, '=')
		b = appendCEFValue(b, v)
	}
	ext("externalId", a.ID)
	ext("act", a.Status)
	ext("rt", cefTime(a.LastSeen))
	ext("start", cefTime(a.FirstSeen))
	ext("end", cefTime(a.LastSeen))
	ext("cnt", strconv.Itoa(a.Count.Events))
	ext("msg", a.Description)
	ext("duser", strings.Join(a.Sample.UserNames, ","))
	if len(a.Sample.SourceIPs) > 0 {
		// CEF's src holds an IPv4 address; an IPv6 one goes in c6a2,
		// which CEF producers label "Source IPv6 Address".
		// An IPv4-mapped IPv6 address is given as IPv4.
		ip := a.Sample.SourceIPs[0]
		addr, err := netip.ParseAddr(ip)
		switch {
		case err == nil && addr.Is4In6():
			ext("src", addr.Unmap().String())
		case err == nil && addr.Is6():
			ext("c6a2Label", "Source IPv6 Address")
			ext("c6a2", ip)
		default:
			ext("src", ip)
		}
	}
	ext("cs1Label", "incidentId")
	ext("cs1", a.IncidentID)
	ext("cn1Label", "sequence")
	ext("cn1", strconv.Itoa(a.Sequence))
	if a.Identity != nil {
		ext("cs2Label", "tlsClientSubject")
		ext("cs2", a.Identity.Subject)
		ext("cs3Label", "tlsClientHashSha256")
		ext("cs3", a.Identity.SHA256)
	}
	ext("cs4Label", "group")
	ext("cs4", groupPairs(a.Group))
	ext("cs5Label", "attackTechnique")
	ext("cs5", a.Threat.Technique.ID)
	ext("cs6Label", "window")
	ext("cs6", a.Window)
	ext("cn2Label", "failures")
	ext("cn2", strconv.Itoa(a.Count.Failures))
	ext("cn3Label", "distinctUsers")
	ext("cn3", strconv.Itoa(a.Count.DistinctUsers))
	ext("cfp1Label", "observed")
	ext("cfp1", strconv.FormatFloat(a.Observed, 'f', -1, 64))
	ext("cfp2Label", "threshold")
	ext("cfp2", strconv.FormatFloat(a.Threshold, 'f', -1, 64))
	return b
}

// cefTime renders an RFC 3339 time as CEF's milliseconds since the epoch.
func cefTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return ""
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// appendCEFHeader escapes a CEF header field: '\' and '|' with a backslash;
// CR and LF, which cannot appear in a header, become spaces.
func appendCEFHeader(b []byte, s string) []byte {
	s = strings.ToValidUTF8(s, "\uFFFD")
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '|':
			b = append(b, '\\', c)
		case '\r', '\n':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendCEFValue escapes a CEF extension value: '\' and '=' with a
// backslash, CR and LF as \r and \n.
func appendCEFValue(b []byte, s string) []byte {
	s = strings.ToValidUTF8(s, "\uFFFD")
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '=':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, c)
		}
	}
	return b
}
