package x509cert

import (
	"fmt"
	"strings"
)

// XFCCElement is one element of an x-forwarded-client-cert header: what one
// proxy hop knew of the client certificate. Values are unquoted but not
// URL-decoded (Cert and Chain stay URL-escaped PEM; pass Cert to Parse).
type XFCCElement struct {
	By      []string // URI SANs of the proxy that added the element
	Hash    string   // hex SHA-256 of the client certificate
	Cert    string   // URL-escaped PEM of the client certificate
	Chain   string   // URL-escaped PEM of the chain, leaf first
	Subject string   // subject DN as the proxy rendered it
	URI     []string // URI SANs of the client certificate
	DNS     []string // DNS SANs of the client certificate
}

// ParseXFCC parses an x-forwarded-client-cert header value: comma-separated
// elements of semicolon-separated key=value pairs, keys case-insensitive,
// values double-quoted when they hold ',', ';' or '=' (with \" inside).
// Unknown keys are skipped.
func ParseXFCC(h string) ([]XFCCElement, error) {
	var out []XFCCElement
	var cur XFCCElement
	empty := true
	i := 0
	for i <= len(h) {
		// key
		j := i
		for j < len(h) && h[j] != '=' && h[j] != ';' && h[j] != ',' {
			j++
		}
		key := strings.TrimSpace(h[i:j])
		if j >= len(h) || h[j] != '=' {
			if key != "" {
				return nil, fmt.Errorf("x-forwarded-client-cert: key %q at byte %d has no value", key, i+1)
			}
			if j >= len(h) {
				break
			}
			if h[j] == ',' && !empty {
				out = append(out, cur)
				cur, empty = XFCCElement{}, true
			}
			i = j + 1
			continue
		}
		// value
		j++
		var val string
		if j < len(h) && h[j] == '"' {
			var b strings.Builder
			k := j + 1
			closed := false
			for k < len(h) {
				c := h[k]
				if c == '\\' && k+1 < len(h) {
					b.WriteByte(h[k+1])
					k += 2
					continue
				}
				if c == '"' {
					closed = true
					k++
					break
				}
				b.WriteByte(c)
				k++
			}
			if !closed {
				return nil, fmt.Errorf("x-forwarded-client-cert: unterminated quoted value for %q at byte %d", key, j+1)
			}
			val = b.String()
			j = k
			if j < len(h) && h[j] != ';' && h[j] != ',' {
				return nil, fmt.Errorf("x-forwarded-client-cert: expected ';' or ',' after quoted value at byte %d", j+1)
			}
		} else {
			k := j
			for k < len(h) && h[k] != ';' && h[k] != ',' {
				k++
			}
			val = strings.TrimSpace(h[j:k])
			j = k
		}
		empty = false
		switch strings.ToLower(key) {
		case "by":
			cur.By = append(cur.By, val)
		case "hash":
			cur.Hash = val
		case "cert":
			cur.Cert = val
		case "chain":
			cur.Chain = val
		case "subject":
			cur.Subject = val
		case "uri":
			cur.URI = append(cur.URI, val)
		case "dns":
			cur.DNS = append(cur.DNS, val)
		}
		if j < len(h) && h[j] == ',' {
			out = append(out, cur)
			cur, empty = XFCCElement{}, true
		}
		i = j + 1
	}
	if !empty {
		out = append(out, cur)
	}
	return out, nil
}
