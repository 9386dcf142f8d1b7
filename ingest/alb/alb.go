// Package alb reads AWS Application Load Balancer logs for mutual TLS:
// connection logs, which carry the client's leaf certificate, and access
// logs, which carry the request and the X-Amzn-Trace-Id the target saw. Both
// name the connection by its conn_trace_id (TID_<32 hex>), and Source joins
// them: access records come out with the certificate's subject, serial
// number and verify status and with the id the ALB gave the request (see
// TraceID) as request id, ready for the correlator to join with Django
// lines that log the same id.
//
// Connection log entry (space separated, subject quoted):
//
//	timestamp client_ip client_port listener_port tls_protocol tls_cipher tls_handshake_latency "leaf_client_cert_subject" leaf_client_cert_validity leaf_client_cert_serial_number tls_verify_status conn_trace_id
//
// Access log entry (space separated, some fields quoted; AWS may add fields
// at the end, which are ignored):
//
//	type time elb client:port target:port request_processing_time target_processing_time response_processing_time elb_status_code target_status_code received_bytes sent_bytes "request" "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" "domain_name" "chosen_cert_arn" matched_rule_priority request_creation_time "actions_executed" "redirect_url" "error_reason" "target:port_list" "target_status_code_list" "classification" "classification_reason" conn_trace_id
package alb

import (
	"bytes"
	"fmt"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/dn"
	"github.com/spraywatch/spraywatch/ingest/timestamp"
	"github.com/spraywatch/spraywatch/ingest/x509cert"
)

// fields splits a line into space-separated fields, a field starting with
// '"' running to the next '"' that no backslash escapes.
type fields struct {
	line []byte
	pos  int
}

// next returns the next field (without its quotes) and its 1-based column,
// or ok false at the end of the line.
func (f *fields) next() (v []byte, col int, err error) {
	l := f.line
	if f.pos >= len(l) {
		return nil, len(l) + 1, errEnd
	}
	start := f.pos
	if l[start] == '"' {
		i := start + 1
		for i < len(l) && l[i] != '"' {
			if l[i] == '\\' {
				i++
			}
			i++
		}
		if i >= len(l) {
			return nil, start + 1, &ingest.SyntaxError{Column: start + 1, Msg: "expected a closing '\"'"}
		}
		if i+1 < len(l) && l[i+1] != ' ' {
			return nil, i + 2, &ingest.SyntaxError{Column: i + 2, Msg: "expected ' ' after a quoted field"}
		}
		f.pos = i + 2
		return l[start+1 : i], start + 1, nil
	}
	i := bytes.IndexByte(l[start:], ' ')
	if i < 0 {
		f.pos = len(l)
		return l[start:], start + 1, nil
	}
	f.pos = start + i + 1
	return l[start : start+i], start + 1, nil
}

var errEnd = &ingest.SyntaxError{Msg: "line ends early"}

// want returns the next field or an error naming it.
func (f *fields) want(name string) ([]byte, int, error) {
	v, col, err := f.next()
	if err == errEnd {
		return nil, col, &ingest.SyntaxError{Column: col, Msg: "line ends before " + name}
	}
	return v, col, err
}

func dash(v []byte) []byte {
	if len(v) == 1 && v[0] == '-' {
		return nil
	}
	return v
}

// ConnFormat is the format of ALB connection logs. Its records carry the
// connection's time, client address, certificate subject (canonical DN),
// serial number (canonical hex), verify status (SUCCESS or FAILED:<code>)
// and, as request id, the conn_trace_id.
type ConnFormat struct{}

// Name returns "alb-connection".
func (ConnFormat) Name() string { return "alb-connection" }

// NewParser returns a connection log parser.
func (ConnFormat) NewParser() ingest.Parser { return &ConnParser{} }

// ConnParser parses connection log lines. It is not safe for concurrent use.
type ConnParser struct {
	buf []byte
}

var (
	verifySuccess = []byte("SUCCESS")
	verifyFailed  = []byte("FAILED")
)

// Parse parses one connection log line into r.
func (p *ConnParser) Parse(line []byte, r *event.Record) error {
	f := fields{line: line}
	p.buf = p.buf[:0]
	v, col, err := f.want("timestamp")
	if err != nil {
		return err
	}
	if r.Time, err = timestamp.ParseRFC3339(v); err != nil {
		return &ingest.SyntaxError{Column: col, Msg: fmt.Sprintf("reading timestamp: %v", err)}
	}
	if v, _, err = f.want("client_ip"); err != nil {
		return err
	}
	r.Set(event.SourceIP, dash(v))
	if v, _, err = f.want("client_port"); err != nil {
		return err
	}
	r.Set(event.SourcePort, dash(v))
	for _, name := range []string{"listener_port", "tls_protocol", "tls_cipher", "tls_handshake_latency"} {
		if _, _, err = f.want(name); err != nil {
			return err
		}
	}
	if f.pos < len(line) && line[f.pos] != '"' {
		return &ingest.SyntaxError{Column: f.pos + 1, Msg: `expected "leaf_client_cert_subject" in quotes`}
	}
	subj, col, err := f.want("leaf_client_cert_subject")
	if err != nil {
		return err
	}
	if _, _, err = f.want("leaf_client_cert_validity"); err != nil {
		return err
	}
	serial, scol, err := f.want("leaf_client_cert_serial_number")
	if err != nil {
		return err
	}
	verify, vcol, err := f.want("tls_verify_status")
	if err != nil {
		return err
	}
	tid, _, err := f.want("conn_trace_id")
	if err != nil {
		return err
	}
	if subj = dash(subj); subj != nil {
		s := len(p.buf)
		if p.buf, err = dn.Canonical(p.buf, subj); err != nil {
			return &ingest.SyntaxError{Column: col, Msg: fmt.Sprintf("reading leaf_client_cert_subject: %v", err)}
		}
		r.Set(event.TLSSubject, p.buf[s:len(p.buf):len(p.buf)])
	}
	if serial = dash(serial); serial != nil {
		s := len(p.buf)
		if p.buf, err = x509cert.AppendSerial(p.buf, serial); err != nil {
			return &ingest.SyntaxError{Column: scol, Msg: fmt.Sprintf("reading leaf_client_cert_serial_number: %v", err)}
		}
		r.Set(event.TLSSerial, p.buf[s:len(p.buf):len(p.buf)])
	}
	if verify = dash(verify); verify != nil {
		switch {
		case string(verify) == "Success":
			r.Set(event.TLSVerify, verifySuccess)
		case bytes.HasPrefix(verify, []byte("Failed")):
			s := len(p.buf)
			p.buf = append(append(p.buf, verifyFailed...), verify[len("Failed"):]...)
			r.Set(event.TLSVerify, p.buf[s:len(p.buf):len(p.buf)])
		default:
			return &ingest.SyntaxError{Column: vcol, Msg: fmt.Sprintf("expected tls_verify_status Success or Failed:<code>, found %q", verify)}
		}
	}
	r.Set(event.RequestID, dash(tid))
	return nil
}

// AccessFormat is the format of ALB access logs. Its records carry the
// response time, client address, method, path, ALB status code, user agent
// and, as request id, TraceID of the X-Amzn-Trace-Id. AccessParser also
// returns the line's conn_trace_id.
type AccessFormat struct{}

// Name returns "alb-access".
func (AccessFormat) Name() string { return "alb-access" }

// NewParser returns an access log parser.
func (AccessFormat) NewParser() ingest.Parser { return &AccessParser{} }

// AccessParser parses access log lines. It is not safe for concurrent use.
type AccessParser struct {
	tid   []byte
	selfs bool // the trace_id held several Self fields: no request id
}

// SeveralSelf reports whether the line last parsed had a trace_id with
// several Self fields, and so no request id: a client sent Self fields of
// its own, and which one the ALB wrote is not known.
func (p *AccessParser) SeveralSelf() bool { return p.selfs }

// ConnTraceID returns the conn_trace_id of the line last parsed, nil if it
// had none ("-", or an access log written before May 2024). It aliases the
// line.
func (p *AccessParser) ConnTraceID() []byte { return p.tid }

// Parse parses one access log line into r.
func (p *AccessParser) Parse(line []byte, r *event.Record) error {
	f := fields{line: line}
	p.tid, p.selfs = nil, false
	if _, _, err := f.want("type"); err != nil {
		return err
	}
	v, col, err := f.want("time")
	if err != nil {
		return err
	}
	if r.Time, err = timestamp.ParseRFC3339(v); err != nil {
		return &ingest.SyntaxError{Column: col, Msg: fmt.Sprintf("reading time: %v", err)}
	}
	if _, _, err = f.want("elb"); err != nil {
		return err
	}
	if v, col, err = f.want("client:port"); err != nil {
		return err
	}
	if v = dash(v); v != nil {
		ip, port, ok := splitHostPort(v)
		if !ok {
			return &ingest.SyntaxError{Column: col, Msg: fmt.Sprintf("expected client:port, found %q", v)}
		}
		r.Set(event.SourceIP, ip)
		r.Set(event.SourcePort, port)
	}
	for _, name := range []string{"target:port", "request_processing_time", "target_processing_time", "response_processing_time"} {
		if _, _, err = f.want(name); err != nil {
			return err
		}
	}
	if v, _, err = f.want("elb_status_code"); err != nil {
		return err
	}
	r.Set(event.Status, dash(v))
	for _, name := range []string{"target_status_code", "received_bytes", "sent_bytes"} {
		if _, _, err = f.want(name); err != nil {
			return err
		}
	}
	if v, col, err = f.want(`"request"`); err != nil {
		return err
	}
	if err := setRequest(v, col, r); err != nil {
		return err
	}
	if v, _, err = f.want(`"user_agent"`); err != nil {
		return err
	}
	r.Set(event.UserAgent, dash(v))
	for _, name := range []string{"ssl_cipher", "ssl_protocol", "target_group_arn"} {
		if _, _, err = f.want(name); err != nil {
			return err
		}
	}
	if v, _, err = f.want(`"trace_id"`); err != nil {
		return err
	}
	id, selves := traceID(v)
	r.Set(event.RequestID, id)
	p.selfs = selves > 1
	// domain_name ... classification_reason: 11 fields, then conn_trace_id.
	for range 11 {
		if _, _, err = f.next(); err == errEnd {
			return nil // an access log written before conn_trace_id existed
		} else if err != nil {
			return err
		}
	}
	v, _, err = f.next()
	if err == errEnd {
		return nil
	} else if err != nil {
		return err
	}
	p.tid = dash(v)
	return nil
}

// TraceID returns the id the ALB gave the request, from the
// X-Amzn-Trace-Id header it sent the target (fields separated by ';',
// each trimmed of the ASCII spaces around it, as the Django package
// contrib/django reads them):
//
//   - the Self field, when there is one: the ALB inserts it when the
//     client sent a trace id with a Root, and overwrites the one a client
//     sent ("Self=1-67891234-12456789abcdef012345678;Root=1-...");
//   - else the Root field, which the ALB generated, the client having sent
//     no trace id ("Root=1-67891233-abcdef012345678912345678");
//   - nil when there is neither, or more than one Self: which one the ALB
//     wrote is not known, and the others are the client's.
//
// A Root next to a Self is the client's: a client that sends the same Root
// with every request would make all its requests one id, whose records
// the correlator cannot tell apart and leaves unjoined.
func TraceID(v []byte) []byte {
	id, _ := traceID(v)
	return id
}

// traceID is TraceID, and also returns how many Self fields v holds.
func traceID(v []byte) (id []byte, selves int) {
	var root, self []byte
	for len(v) > 0 {
		var part []byte
		if i := bytes.IndexByte(v, ';'); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			part, v = v, nil
		}
		part = bytes.Trim(part, " ")
		switch {
		case len(part) >= 5 && string(part[:5]) == "Self=":
			self = part[5:]
			selves++
		case root == nil && len(part) > 5 && string(part[:5]) == "Root=":
			root = part[5:]
		}
	}
	switch selves {
	case 0:
		return root, 0
	case 1:
		return self, 1
	}
	return nil, selves
}

// splitHostPort splits "ip:port", "[ipv6]:port" and "ipv6:port".
func splitHostPort(v []byte) (ip, port []byte, ok bool) {
	if len(v) == 0 {
		return nil, nil, false
	}
	if v[0] == '[' {
		end := bytes.IndexByte(v, ']')
		if end < 0 || end+1 >= len(v) || v[end+1] != ':' {
			return nil, nil, false
		}
		return v[1:end], v[end+2:], isDigits(v[end+2:])
	}
	i := bytes.LastIndexByte(v, ':')
	if i <= 0 {
		return nil, nil, false
	}
	return v[:i], v[i+1:], isDigits(v[i+1:])
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// setRequest reads "METHOD scheme://host:port/path?query PROTOCOL".
func setRequest(v []byte, col int, r *event.Record) error {
	sp := bytes.IndexByte(v, ' ')
	if sp < 0 {
		if string(v) == "-" {
			return nil
		}
		return &ingest.SyntaxError{Column: col, Msg: fmt.Sprintf(`expected "METHOD URL PROTOCOL", found %q`, v)}
	}
	r.Set(event.Method, dash(v[:sp]))
	u := v[sp+1:]
	if i := bytes.LastIndexByte(u, ' '); i >= 0 {
		u = u[:i]
	}
	if i := bytes.Index(u, []byte("://")); i >= 0 {
		u = u[i+3:]
		if j := bytes.IndexByte(u, '/'); j >= 0 {
			u = u[j:]
		} else {
			u = nil
		}
	}
	if i := bytes.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	r.Set(event.URLPath, dash(u))
	return nil
}

var (
	_ ingest.Format = ConnFormat{}
	_ ingest.Format = AccessFormat{}
)
