package config

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

// readAll reads a source to its end and returns each record's identity,
// request, user and outcome fields by ECS name.
func readAll(t *testing.T, s ingest.Source) []map[string]string {
	t.Helper()
	var out []map[string]string
	for {
		var r event.Record
		err := s.Next(context.Background(), &r)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, f := range []event.Field{event.RequestID, event.SourceIP, event.TLSSubject, event.TLSSHA1, event.TLSSerial, event.UserName, event.Outcome} {
			if v := r.Get(f); len(v) > 0 {
				m[f.String()] = string(v)
			}
		}
		out = append(out, m)
	}
}
