package nginx

import (
	"strings"

	"github.com/spraywatch/spraywatch/event"
)

// varKind says what a variable's value means to the parser.
type varKind uint8

const (
	vSkip varKind = iota // matched and skipped
	vRemoteAddr
	vRemotePort
	vTimeLocal
	vTimeISO
	vMsec
	vRequest
	vRequestMethod
	vRequestURI
	vURI
	vStatus
	vBodyBytes
	vUserAgent
	vRequestID
	vSubject
	vSubjectLegacy
	vIssuer
	vIssuerLegacy
	vVerify
	vFingerprint
	vSerial
	vEscapedCert
)

// mapped lists the variables that carry event fields, with the field each
// sets (for documentation and the typo check). $request sets two.
var mapped = map[string]varKind{
	"remote_addr":             vRemoteAddr,
	"remote_port":             vRemotePort,
	"time_local":              vTimeLocal,
	"time_iso8601":            vTimeISO,
	"msec":                    vMsec,
	"request":                 vRequest,
	"request_method":          vRequestMethod,
	"request_uri":             vRequestURI,
	"uri":                     vURI,
	"status":                  vStatus,
	"body_bytes_sent":         vBodyBytes,
	"http_user_agent":         vUserAgent,
	"request_id":              vRequestID,
	"ssl_client_s_dn":         vSubject,
	"ssl_client_s_dn_legacy":  vSubjectLegacy,
	"ssl_client_i_dn":         vIssuer,
	"ssl_client_i_dn_legacy":  vIssuerLegacy,
	"ssl_client_verify":       vVerify,
	"ssl_client_fingerprint":  vFingerprint,
	"ssl_client_serial":       vSerial,
	"ssl_client_escaped_cert": vEscapedCert,
}

// known lists variables nginx has that spraywatch reads past.
var known = map[string]bool{
	"remote_user": true, "http_referer": true, "request_time": true, "bytes_sent": true,
	"server_protocol": true, "host": true, "http_x_forwarded_for": true, "request_length": true,
	"connection": true, "connection_requests": true, "connection_time": true, "pipe": true,
	"gzip_ratio": true, "server_name": true, "server_addr": true, "server_port": true,
	"scheme": true, "https": true, "args": true, "query_string": true, "is_args": true,
	"document_uri": true, "document_root": true, "realpath_root": true, "hostname": true,
	"pid": true, "nginx_version": true, "realip_remote_addr": true, "realip_remote_port": true,
	"binary_remote_addr": true, "proxy_add_x_forwarded_for": true, "proxy_host": true,
	"proxy_port": true, "content_length": true, "content_type": true, "request_body": true,
	"request_completion": true, "request_filename": true, "limit_rate": true, "msie": true,
	"tcpinfo_rtt": true, "tcpinfo_rttvar": true, "tcpinfo_snd_cwnd": true,
	"tcpinfo_rcv_space": true, "ssl_protocol": true, "ssl_cipher": true, "ssl_ciphers": true,
	"ssl_curve": true, "ssl_curves": true, "ssl_server_name": true, "ssl_session_id": true,
	"ssl_session_reused": true, "ssl_early_data": true, "ssl_alpn_protocol": true,
	"ssl_client_cert": true, "ssl_client_raw_cert": true, "ssl_client_v_start": true,
	"ssl_client_v_end": true, "ssl_client_v_remain": true, "ssl_client_sigalgs": true,
	"upstream_addr": true, "upstream_status": true, "upstream_response_time": true,
	"upstream_connect_time": true, "upstream_header_time": true, "upstream_response_length": true,
	"upstream_bytes_received": true, "upstream_bytes_sent": true, "upstream_cache_status": true,
	"request_body_file": true, "sent_http_content_type": true, "geoip_country_code": true,
}

// variablePrefixes are the families nginx builds from a header, cookie or
// argument name.
var variablePrefixes = []string{"http_", "sent_http_", "sent_trailer_", "cookie_", "arg_", "upstream_http_", "upstream_cookie_", "upstream_trailer_", "jwt_"}

// lookupVar classifies a variable name (lower case, without '$'). An
// unknown name that looks like a typo of a mapped one is an error: the
// suggestion says which.
func lookupVar(name string) (k varKind, suggestion string, ok bool) {
	if k, found := mapped[name]; found {
		return k, "", true
	}
	if known[name] {
		return vSkip, "", true
	}
	if strings.HasPrefix(name, "ssl_client_") {
		return vSkip, nearest(name), false
	}
	if s := nearest(name); s != "" {
		return vSkip, s, false
	}
	for _, p := range variablePrefixes {
		if strings.HasPrefix(name, p) {
			return vSkip, "", true
		}
	}
	// Any other variable (a map, a set, a module's) is read past.
	return vSkip, "", true
}

// nearest returns the mapped variable a name is one edit (insertion,
// deletion, substitution or swap of neighbours) away from, for names long
// enough that such a near miss is a typo rather than another variable.
func nearest(name string) string {
	if len(name) < 6 {
		return ""
	}
	best := ""
	for m := range mapped {
		if oneEdit(name, m) && (best == "" || m < best) {
			best = m
		}
	}
	return best
}

func oneEdit(a, b string) bool {
	if a == b {
		return false
	}
	la, lb := len(a), len(b)
	switch {
	case la == lb:
		i := 0
		for i < la && a[i] == b[i] {
			i++
		}
		if a[i+1:] == b[i+1:] {
			return true // substitution
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case la == lb+1:
		return deletion(a, b)
	case lb == la+1:
		return deletion(b, a)
	}
	return false
}

// deletion reports whether removing one byte of long gives short.
func deletion(long, short string) bool {
	i := 0
	for i < len(short) && long[i] == short[i] {
		i++
	}
	return long[i+1:] == short[i:]
}

// fieldsOf names the event fields a mapped variable can set, for docs and
// error messages.
func fieldsOf(k varKind) []event.Field {
	switch k {
	case vRemoteAddr:
		return []event.Field{event.SourceIP}
	case vRemotePort:
		return []event.Field{event.SourcePort}
	case vRequest:
		return []event.Field{event.Method, event.URLPath}
	case vRequestMethod:
		return []event.Field{event.Method}
	case vRequestURI, vURI:
		return []event.Field{event.URLPath}
	case vStatus:
		return []event.Field{event.Status}
	case vBodyBytes:
		return []event.Field{event.BodyBytes}
	case vUserAgent:
		return []event.Field{event.UserAgent}
	case vRequestID:
		return []event.Field{event.RequestID}
	case vSubject, vSubjectLegacy:
		return []event.Field{event.TLSSubject}
	case vIssuer, vIssuerLegacy:
		return []event.Field{event.TLSIssuer}
	case vVerify:
		return []event.Field{event.TLSVerify}
	case vFingerprint:
		return []event.Field{event.TLSSHA1}
	case vSerial:
		return []event.Field{event.TLSSerial}
	case vEscapedCert:
		// The certificate, and the identity its parse fills in.
		return []event.Field{event.TLSCertificate, event.TLSSubject, event.TLSIssuer, event.TLSSHA1, event.TLSSHA256, event.TLSSerial, event.TLSURISAN}
	}
	return nil
}

// isTime reports whether k is one of the time variables.
func isTime(k varKind) bool { return k == vTimeLocal || k == vTimeISO || k == vMsec }

// fixedWidth is the width of variables whose values always have the same
// length, which lets another variable follow them without a literal
// between. Zero means variable width.
func fixedWidth(k varKind) int {
	switch k {
	case vStatus:
		return 3
	case vTimeLocal:
		return len("04/Dec/2026:09:00:01 +0000")
	case vTimeISO:
		return len("2026-12-04T09:00:01+00:00")
	case vMsec:
		return len("1764838801.123")
	case vRequestID:
		return 32
	}
	return 0
}
