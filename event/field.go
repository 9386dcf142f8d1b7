// Package event defines the records spraywatch reads from logs and the
// authentication events it builds from them.
//
// Field names follow the Elastic Common Schema (ECS) where ECS has a name;
// the few fields ECS lacks live under the spraywatch namespace.
package event

// Field names one value of a record or event.
type Field uint8

// The fields a record or event can carry. The order is part of no format;
// use the names for anything that is written down.
const (
	RequestID      Field = iota // http.request.id
	SourceIP                    // source.ip
	SourcePort                  // source.port
	TLSSubject                  // tls.client.subject
	TLSIssuer                   // tls.client.issuer
	TLSSHA1                     // tls.client.hash.sha1
	TLSSHA256                   // tls.client.hash.sha256
	TLSSerial                   // tls.client.x509.serial_number
	TLSURISAN                   // tls.client.x509.alternative_names (URI SAN, e.g. a SPIFFE ID)
	TLSVerify                   // tls.client.verify (SUCCESS, FAILED:reason, NONE)
	TLSCertificate              // tls.client.certificate (PEM, possibly URL-escaped)
	UserName                    // user.name
	Outcome                     // event.outcome (success, failure, unknown)
	Action                      // event.action (login_failed, login_succeeded, ...)
	Method                      // http.request.method
	URLPath                     // url.path
	Status                      // http.response.status_code
	BodyBytes                   // http.response.body.bytes
	UserAgent                   // user_agent.original
	Join                        // spraywatch.join (matched, app_only, proxy_only, evicted)
	Identity                    // spraywatch.identity (derived certificate identity)

	NumFields int = iota
)

var fieldNames = [NumFields]string{
	RequestID:      "http.request.id",
	SourceIP:       "source.ip",
	SourcePort:     "source.port",
	TLSSubject:     "tls.client.subject",
	TLSIssuer:      "tls.client.issuer",
	TLSSHA1:        "tls.client.hash.sha1",
	TLSSHA256:      "tls.client.hash.sha256",
	TLSSerial:      "tls.client.x509.serial_number",
	TLSURISAN:      "tls.client.x509.alternative_names",
	TLSVerify:      "tls.client.verify",
	TLSCertificate: "tls.client.certificate",
	UserName:       "user.name",
	Outcome:        "event.outcome",
	Action:         "event.action",
	Method:         "http.request.method",
	URLPath:        "url.path",
	Status:         "http.response.status_code",
	BodyBytes:      "http.response.body.bytes",
	UserAgent:      "user_agent.original",
	Join:           "spraywatch.join",
	Identity:       "spraywatch.identity",
}

// aliases are short names accepted wherever a field is named in configuration.
var aliases = map[string]Field{
	"identity": Identity,
	"join":     Join,
}

// TimestampName is the ECS name of the event time, which is not a Field:
// every record and event carries it as an integer.
const TimestampName = "@timestamp"

// String returns the field's ECS (or spraywatch) name.
func (f Field) String() string {
	if int(f) < NumFields {
		return fieldNames[f]
	}
	return "unknown"
}

// LookupField returns the field with the given name or alias.
func LookupField(name string) (Field, bool) {
	if f, ok := aliases[name]; ok {
		return f, true
	}
	for i, n := range fieldNames {
		if n == name {
			return Field(i), true
		}
	}
	return 0, false
}

// FieldNames lists every field name, in Field order.
func FieldNames() []string {
	out := make([]string, NumFields)
	copy(out, fieldNames[:])
	return out
}

// Outcome values.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomeUnknown = "unknown"
)

// Join values: how an event was built from the two logs.
const (
	JoinMatched   = "matched"    // proxy and app records with the same request id
	JoinAppOnly   = "app_only"   // an app record no proxy record matched in the join window
	JoinProxyOnly = "proxy_only" // a login-path proxy record no app record matched
	JoinEvicted   = "evicted"    // an app record pushed out of a full correlator before its window ended
)

// FieldSet is a set of fields, one bit each.
type FieldSet uint32

// Add puts fs in the set.
func (s *FieldSet) Add(fs ...Field) {
	for _, f := range fs {
		*s |= 1 << f
	}
}

// Fields lists the set's fields in Field order.
func (s FieldSet) Fields() []Field {
	var out []Field
	for f := range Field(NumFields) {
		if s&(1<<f) != 0 {
			out = append(out, f)
		}
	}
	return out
}
