package rules

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

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

// ParseIdentityMap reads an identity map; name is used in errors, which
// give the line and key of each problem.
func ParseIdentityMap(name string, data []byte) (*IdentityMap, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlerr.FileError(name, yamlerr.Messages(err))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f identityMapFile
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlerr.FileError(name, yamlerr.Explain(&root, reflect.TypeFor[identityMapFile](), err))
	}
	if len(f.Identities) == 0 {
		return nil, fmt.Errorf("%s: no identities (expected a top-level `identities:` mapping)", name)
	}
	m := &IdentityMap{allowed: make(map[string]map[string]bool, len(f.Identities))}
	var bad []yamlerr.Message
	for id, n := range f.Identities {
		key := "identities: " + strconv.Quote(id)
		v := deref(&n)
		switch {
		case v.Kind == yaml.ScalarNode && v.Value == "service":
			m.allowed[id] = nil
		case v.Kind == yaml.SequenceNode:
			set := make(map[string]bool, len(v.Content))
			for _, u := range v.Content {
				if u = deref(u); u.Kind != yaml.ScalarNode {
					bad = append(bad, yamlerr.Message{Line: u.Line, Key: key, Msg: "expected a username, not " + yamlerr.Describe(u)})
					continue
				}
				set[u.Value] = true
			}
			m.allowed[id] = set
		default:
			bad = append(bad, yamlerr.Message{Line: v.Line, Key: key, Msg: `expected a list of usernames or "service", not ` + yamlerr.Describe(v)})
		}
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b yamlerr.Message) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), strings.Compare(a.Key, b.Key))
		})
		return nil, yamlerr.FileError(name, bad)
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
