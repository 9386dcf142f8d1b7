package envoy

import (
	"fmt"
	"strings"

	"github.com/spraywatch/spraywatch/event"
)

// action says what a parser does with an operator's value.
type action uint8

const (
	actSkip     action = iota // an operator spraywatch does not use
	actField                  // the value goes to a field, normalised for it
	actTime                   // %START_TIME%: the event time
	actAddr                   // ip:port, [ipv6]:port
	actAddrHost               // an address without port
	actPath                   // a path whose query is dropped
	actCert                   // URL-escaped PEM, parsed whole
	actXFCC                   // an x-forwarded-client-cert header
)

// operator is one compiled command operator.
type operator struct {
	name   string // as written, for messages
	act    action
	field  event.Field
	layout *timeLayout // START_TIME's format; nil for the default
}

// scanOperator reads the operator at s[i] == '%' and returns it and the index
// after its closing '%'. Operators are %NAME%, %NAME(arg)% and
// %NAME(arg):maxlen%.
func scanOperator(s string, i int) (operator, int, error) {
	start := i
	i++
	j := i
	for j < len(s) && (s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9' || s[j] == '_') {
		j++
	}
	name := s[i:j]
	if name == "" {
		return operator{}, 0, fmt.Errorf("byte %d: '%%' not followed by an operator name (write a literal percent sign as %%%%)", start+1)
	}
	var arg string
	hasArg := false
	if j < len(s) && s[j] == '(' {
		k := strings.IndexByte(s[j:], ')')
		if k < 0 {
			return operator{}, 0, fmt.Errorf("byte %d: %%%s( has no closing parenthesis", start+1, name)
		}
		arg = s[j+1 : j+k]
		hasArg = true
		j += k + 1
	}
	if j < len(s) && s[j] == ':' {
		k := j + 1
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k == j+1 {
			return operator{}, 0, fmt.Errorf("byte %d: %%%s: expected a maximum length after ':'", start+1, name)
		}
		j = k
	}
	if j >= len(s) || s[j] != '%' {
		return operator{}, 0, fmt.Errorf("byte %d: operator %%%s is not closed by '%%'", start+1, s[i:j])
	}
	op := classify(name, arg, hasArg)
	op.name = s[start : j+1]
	if op.act == actTime && arg != "" {
		l, err := compileTimeLayout(arg)
		if err != nil {
			return operator{}, 0, fmt.Errorf("byte %d: %s: %w", start+1, op.name, err)
		}
		op.layout = l
	}
	return op, j + 1, nil
}

// classify maps an operator to what spraywatch does with its value.
func classify(name, arg string, hasArg bool) operator {
	switch name {
	case "DOWNSTREAM_PEER_SUBJECT":
		return operator{act: actField, field: event.TLSSubject}
	case "DOWNSTREAM_PEER_ISSUER":
		return operator{act: actField, field: event.TLSIssuer}
	case "DOWNSTREAM_PEER_FINGERPRINT_256":
		return operator{act: actField, field: event.TLSSHA256}
	case "DOWNSTREAM_PEER_FINGERPRINT_1":
		return operator{act: actField, field: event.TLSSHA1}
	case "DOWNSTREAM_PEER_SERIAL":
		return operator{act: actField, field: event.TLSSerial}
	case "DOWNSTREAM_PEER_URI_SAN":
		return operator{act: actField, field: event.TLSURISAN}
	case "DOWNSTREAM_PEER_CERT":
		return operator{act: actCert, field: event.TLSCertificate}
	case "START_TIME":
		return operator{act: actTime}
	case "DOWNSTREAM_REMOTE_ADDRESS", "DOWNSTREAM_DIRECT_REMOTE_ADDRESS":
		return operator{act: actAddr}
	case "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT", "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT":
		return operator{act: actAddrHost}
	case "RESPONSE_CODE":
		return operator{act: actField, field: event.Status}
	case "BYTES_SENT":
		return operator{act: actField, field: event.BodyBytes}
	case "REQ", "REQUEST_HEADER":
		if !hasArg {
			return operator{}
		}
		main, alt, _ := strings.Cut(arg, "?")
		if op := header(main); op.act != actSkip {
			return op
		}
		return header(alt)
	}
	return operator{}
}

func header(h string) operator {
	switch strings.ToLower(h) {
	case "x-request-id":
		return operator{act: actField, field: event.RequestID}
	case ":method":
		return operator{act: actField, field: event.Method}
	case ":path", "x-envoy-original-path":
		return operator{act: actPath}
	case "user-agent":
		return operator{act: actField, field: event.UserAgent}
	case "x-forwarded-client-cert":
		return operator{act: actXFCC}
	}
	return operator{}
}
