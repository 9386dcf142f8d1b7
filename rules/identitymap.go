package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/internal/yamlerr"
)

// IdentityMap says which usernames each certificate may log in as:
//
//	identities:
//	  "CN=alice,OU=Devices,O=Example Corp": [alice]
//	  "spiffe://example.org/ns/sso/sa/gateway": service
//
// Keys are matched against an event's tls.client.subject,
// tls.client.x509.alternative_names (a SPIFFE ID), spraywatch.identity and
// the certificate hashes. "service" allows any username. Certificates not
// in the map are not judged.
type IdentityMap struct {
	allowed map[string]map[string]bool // nil inner map: service
}

type identityMapFile struct {
	Identities map[string]yaml.Node `yaml:"identities"`
}

// ParseIdentityMap reads an identity map; name is used in errors.
func ParseIdentityMap(name string, data []byte) (*IdentityMap, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f identityMapFile
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlerr.FileError(name, yamlerr.Messages(err))
	}
	if len(f.Identities) == 0 {
		return nil, fmt.Errorf("%s: no identities (expected a top-level `identities:` mapping)", name)
	}
	m := &IdentityMap{allowed: make(map[string]map[string]bool, len(f.Identities))}
	for id, n := range f.Identities {
		switch n.Kind {
		case yaml.ScalarNode:
			if n.Value != "service" {
				return nil, fmt.Errorf("%s: line %d: %q: expected a list of usernames or \"service\"", name, n.Line, id)
			}
			m.allowed[id] = nil
		case yaml.SequenceNode:
			var users []string
			if err := n.Decode(&users); err != nil {
				return nil, fmt.Errorf("%s: line %d: %w", name, n.Line, err)
			}
			set := make(map[string]bool, len(users))
			for _, u := range users {
				set[u] = true
			}
			m.allowed[id] = set
		default:
			return nil, fmt.Errorf("%s: line %d: %q: expected a list of usernames or \"service\"", name, n.Line, id)
		}
	}
	return m, nil
}

// LoadIdentityMap reads an identity map file.
func LoadIdentityMap(path string) (*IdentityMap, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseIdentityMap(path, data)
}

var identityMapFields = [...]event.Field{event.TLSSubject, event.TLSURISAN, event.Identity, event.TLSSHA256, event.TLSSHA1}

// Mismatch reports whether ev logs in as a username its certificate is not
// allowed: the certificate is in the map, is not a service, and the
// username is not in its list.
func (m *IdentityMap) Mismatch(ev *event.Event) bool {
	user := ev.Values[event.UserName]
	if user == "" {
		return false
	}
	for _, f := range identityMapFields {
		v := ev.Values[f]
		if v == "" {
			continue
		}
		allowed, ok := m.allowed[v]
		if !ok {
			continue
		}
		return allowed != nil && !allowed[user]
	}
	return false
}
