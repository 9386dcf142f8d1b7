package sigma

import (
	"sort"
	"strings"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/rules"
)

// Fields maps Sigma field names (Windows event log, web server and generic
// names) to the ECS fields spraywatch reads. Names are matched without
// regard to case. A name already an ECS field spraywatch knows (user.name,
// source.ip, ...) or a derived key (source.subnet) maps to itself. Any
// other name is reported as unmappable.
var Fields = map[string]string{
	// The account tried.
	"user": "user.name", "username": "user.name", "user_name": "user.name",
	"targetusername": "user.name", "accountname": "user.name", "login": "user.name",
	"cs-username": "user.name",
	// The client address.
	"clientip": "source.ip", "ipaddress": "source.ip", "src_ip": "source.ip",
	"sourceip": "source.ip", "source_ip": "source.ip", "client_ip": "source.ip",
	"c-ip": "source.ip", "src": "source.ip", "remote_addr": "source.ip", "ip": "source.ip",
	// The client certificate.
	"client_cert_fingerprint": "tls.client.hash.sha1", "cert_sha1": "tls.client.hash.sha1",
	"ssl_client_fingerprint": "tls.client.hash.sha1",
	"cert_sha256":            "tls.client.hash.sha256", "client_cert_sha256": "tls.client.hash.sha256",
	"client_cert_subject": "tls.client.subject", "cert_subject": "tls.client.subject",
	"ssl_client_s_dn":    "tls.client.subject",
	"client_cert_issuer": "tls.client.issuer", "cert_issuer": "tls.client.issuer",
	"ssl_client_i_dn": "tls.client.issuer",
	"cert_serial":     "tls.client.x509.serial_number", "ssl_client_serial": "tls.client.x509.serial_number",
	"client_cert_verify": "tls.client.verify", "ssl_client_verify": "tls.client.verify",
	"spiffe_id":       "tls.client.x509.alternative_names",
	"client_identity": "spraywatch.identity",
	// What happened.
	"event": "event.action", "action": "event.action",
	"outcome": "event.outcome", "result": "event.outcome",
	// The request.
	"request_id": "http.request.id", "requestid": "http.request.id",
	"cs-method": "http.request.method", "method": "http.request.method", "http_method": "http.request.method",
	"cs-uri-stem": "url.path", "uri_path": "url.path", "path": "url.path",
	"sc-status": "http.response.status_code", "status": "http.response.status_code",
	"status_code": "http.response.status_code",
	"sc-bytes":    "http.response.body.bytes", "body_bytes_sent": "http.response.body.bytes",
	"c-useragent": "user_agent.original", "useragent": "user_agent.original",
	"user_agent": "user_agent.original", "http_user_agent": "user_agent.original",
}

// MapField returns the ECS field (or derived key) for a Sigma field name.
func MapField(name string) (string, bool) {
	if k, ok := rules.LookupKey(name); ok {
		return k.String(), true
	}
	f, ok := Fields[strings.ToLower(name)]
	return f, ok
}

// FieldTable returns the mapping as "sigma name -> ECS field" lines, sorted
// by ECS field then name, for documentation and --fields output.
func FieldTable() []string {
	type pair struct{ from, to string }
	ps := make([]pair, 0, len(Fields))
	for k, v := range Fields {
		ps = append(ps, pair{k, v})
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].to != ps[j].to {
			return ps[i].to < ps[j].to
		}
		return ps[i].from < ps[j].from
	})
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.from + " -> " + p.to
	}
	return out
}

// canonicalCase says how spraywatch writes a field's values: such fields are
// compared exactly after the Sigma value is brought to that case; others
// keep Sigma's case-insensitive matching through a (?i) regex.
var canonicalCase = map[event.Field]func(string) string{
	event.Outcome:   strings.ToLower,
	event.Action:    strings.ToLower,
	event.Method:    strings.ToUpper,
	event.TLSSHA1:   strings.ToLower,
	event.TLSSHA256: strings.ToLower,
}
