package envoy_test

import (
	"fmt"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest/envoy"
	"github.com/spraywatch/spraywatch/ingest/internal/skimtest"
	"github.com/spraywatch/spraywatch/ingest/nginx"
)

const mtlsText = `[%START_TIME%] %DOWNSTREAM_REMOTE_ADDRESS% "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %BYTES_SENT% "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%DOWNSTREAM_PEER_SUBJECT%" "%DOWNSTREAM_PEER_ISSUER%" %DOWNSTREAM_PEER_SERIAL% %DOWNSTREAM_PEER_FINGERPRINT_1%`

// TestSkimReplay replays the sample day rendered in an mTLS text format and
// in ReferenceJSON, skimmed and not.
func TestSkimReplay(t *testing.T) {
	evs, app := skimtest.SampleDay(t, nginx.Default().NewParser())
	text, err := envoy.CompileText(mtlsText)
	if err != nil {
		t.Fatal(err)
	}
	skimtest.CheckReplays(t, text, skimtest.WriteLog(t, evs, func(e *event.Event) string {
		v := func(f event.Field) string { return skimtest.Dash(e.Get(f)) }
		return fmt.Sprintf(`[%s] %s:%d "%s %s HTTP/1.1" %s %s "%s" "%s" "%s" "%s" %s %s`,
			skimtest.RFC3339(e.Time), e.Get(event.SourceIP), 40000+e.Time/1e9%20000, v(event.Method), v(event.URLPath), v(event.Status), v(event.BodyBytes),
			v(event.UserAgent), v(event.RequestID), v(event.TLSSubject), v(event.TLSIssuer), v(event.TLSSerial), v(event.TLSSHA1))
	}), app)

	js, err := envoy.CompileJSON(envoy.ReferenceJSON)
	if err != nil {
		t.Fatal(err)
	}
	skimtest.CheckReplays(t, js, skimtest.WriteLog(t, evs, func(e *event.Event) string {
		q := func(f event.Field) string { return fmt.Sprintf("%q", skimtest.Dash(e.Get(f))) }
		return fmt.Sprintf(`{"start_time":"%s","request_id":%s,"client":"%s:%d","method":%s,"path":%s,"status":%s,"bytes_sent":%s,"user_agent":%s,"peer_subject":%s,"peer_issuer":%s,"peer_serial":%s,"peer_sha256":"-","peer_sha1":%s,"peer_uri_san":"-"}`,
			skimtest.RFC3339(e.Time), q(event.RequestID), e.Get(event.SourceIP), 40000+e.Time/1e9%20000, q(event.Method), q(event.URLPath), q(event.Status), q(event.BodyBytes),
			q(event.UserAgent), q(event.TLSSubject), q(event.TLSIssuer), q(event.TLSSerial), q(event.TLSSHA1))
	}), app)
}
