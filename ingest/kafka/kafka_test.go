package kafka

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/envelope"
	"github.com/spraywatch/spraywatch/ingest/formats"
	"github.com/spraywatch/spraywatch/internal/kfaketest"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestSASL writes and reads a topic through a kfake broker that requires
// SASL, with each mechanism, and is refused with a wrong password.
func TestSASL(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser(mech, "sw", "secret"), kfake.SeedTopics(1, "t"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cfg := Config{Brokers: c.ListenAddrs(), SASL: SASL{Mechanism: strings.ToLower(mech), Username: "sw", Password: "secret"}, DialTimeout: 2 * time.Second, MaxWait: 200 * time.Millisecond}
			w, err := cfg.Writer("t", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if err := w.WriteMessages(ctx, kafkago.Message{Key: []byte("k"), Value: []byte("hello")}); err != nil {
				t.Fatalf("writing with %s: %v", mech, err)
			}
			r, err := cfg.PartitionReader("t", 0, kafkago.FirstOffset)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			m, err := r.FetchMessage(ctx)
			if err != nil || string(m.Value) != "hello" {
				t.Fatalf("reading with %s: %q, %v", mech, m.Value, err)
			}
			if n, err := cfg.Partitions(ctx, "t"); err != nil || n != 1 {
				t.Errorf("Partitions: %d, %v", n, err)
			}

			bad := cfg
			bad.SASL.Password = "wrong"
			if _, err := bad.Partitions(ctx, "t"); err == nil {
				t.Errorf("%s with a wrong password was accepted", mech)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{},
		{Brokers: []string{"127.0.0.1:1"}, StartOffset: "middle"},
		{Brokers: []string{"127.0.0.1:1"}, SASL: SASL{Mechanism: "gssapi"}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: accepted", c)
		}
	}
	c := Config{Brokers: []string{"127.0.0.1:1"}, StartOffset: "latest"}
	if off, err := c.StartOffsetValue(); err != nil || off != kafkago.LastOffset {
		t.Errorf("latest: %d, %v", off, err)
	}
	if _, err := Balancer("hash"); err == nil {
		t.Error("unknown partitioner accepted")
	}
	if b, _ := Balancer("murmur2"); b == nil {
		t.Error("murmur2 not known")
	}
}

// TestRewindOffset finds the first message within the span before the
// committed offset by message timestamp.
func TestRewindOffset(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := Config{Brokers: c.ListenAddrs(), MaxWait: 200 * time.Millisecond}
	w, err := cfg.Writer("t", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	base := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	var msgs []kafkago.Message
	for i := range 20 { // one message a minute
		msgs = append(msgs, kafkago.Message{Value: []byte{byte(i)}, Time: base.Add(time.Duration(i) * time.Minute)})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		committed int64
		span      time.Duration
		want      int64
	}{
		{15, 5 * time.Minute, 9},   // message 14 at 9:14; 9:09 is message 9
		{15, 0, 14},                // only the last one again
		{15, time.Hour, 0},         // everything
		{0, time.Hour, 0},          // nothing before
		{20, 90 * time.Second, 18}, // 9:19 - 1m30 = 9:17:30: the first at or after is 9:18
	} {
		got, err := cfg.RewindOffset(ctx, "t", 0, tc.committed, tc.span)
		if err != nil || got != tc.want {
			t.Errorf("RewindOffset(%d, %s) = %d, %v; want %d", tc.committed, tc.span, got, err, tc.want)
		}
	}

	// Retention removes the messages before offset 10, then all of them;
	// nothing more arrives. A message gone is known without waiting for
	// it (which would wait until ctx ends).
	for _, tc := range []struct {
		deleteTo  int64
		committed int64
		want      int64
	}{
		{10, 15, 10}, // back to the first message left
		{10, 10, 10}, // message 9 is gone: nothing to rewind over
		{10, 5, 5},
		{20, 20, 20}, // the partition is empty
	} {
		kfaketest.DeleteRecords(t, c, "t", 0, tc.deleteTo)
		got, err := cfg.RewindOffset(ctx, "t", 0, tc.committed, time.Hour)
		if err != nil || got != tc.want {
			t.Errorf("after retention to %d: RewindOffset(%d, 1h) = %d, %v; want %d", tc.deleteTo, tc.committed, got, err, tc.want)
		}
	}
}

// TestDecoder counts parsed, ignored and rejected values with positions.
func TestDecoder(t *testing.T) {
	f, err := formats.App("django-json", "")
	if err != nil {
		t.Fatal(err)
	}
	st := NewStats("app", event.App, f, "message")
	d := NewDecoder(event.App, f, "message", st, 300)
	good := `{"message":"{\"timestamp\":\"2026-12-04T09:00:01Z\",\"event\":\"login_failed\",\"request_id\":\"r1\",\"username\":\"alice\"}\n"}`
	logout := `{"message":"{\"timestamp\":\"2026-12-04T09:00:01Z\",\"event\":\"logout\",\"request_id\":\"r2\",\"username\":\"alice\"}"}`
	var r event.Record
	for i, v := range []string{good, logout, "not json", "", strings.Repeat("x", 400)} {
		m := kafkago.Message{Topic: "app", Partition: 2, Offset: int64(i), Value: []byte(v)}
		ok := d.Decode(&m, &r)
		if ok != (i == 0) {
			t.Errorf("value %d: Decode = %v", i, ok)
		}
		if i == 0 && (string(r.Get(event.UserName)) != "alice" || r.Kind != event.App) {
			t.Errorf("decoded %q kind %v", r.Get(event.UserName), r.Kind)
		}
	}
	if st.Lines.Load() != 5 || st.Parsed.Load() != 1 || st.Ignored.Load() != 1 || st.Rejected.Load() != 3 || st.TooLong.Load() != 1 {
		t.Errorf("stats: lines %d parsed %d ignored %d rejected %d too long %d", st.Lines.Load(), st.Parsed.Load(), st.Ignored.Load(), st.Rejected.Load(), st.TooLong.Load())
	}
	errs := st.Errors()
	if len(errs) == 0 || !strings.Contains(errs[0].Error(), "app/2@2") {
		t.Errorf("first rejection does not name its position: %v", errs)
	}
	var _ ingest.Format = f
}

// TestDecoderRejectsParts: the parts of split lines are rejected, not
// joined to whatever message comes next in the partition, whether the
// envelope is named or part of the format.
func TestDecoderRejectsParts(t *testing.T) {
	f, err := formats.App("django-json", "")
	if err != nil {
		t.Fatal(err)
	}
	line := `{"timestamp":"2026-12-04T09:00:01Z","event":"login_failed","request_id":"r1","username":"alice"}`
	for _, c := range []struct {
		f           ingest.Format
		key         string
		part, whole string
	}{
		{f, envelope.CRI, "2026-12-04T09:00:01Z stdout P " + line[:40], "2026-12-04T09:00:01Z stdout F " + line},
		{envelope.WrapFormat(f, envelope.CRI), "", "2026-12-04T09:00:01Z stdout P " + line[:40], "2026-12-04T09:00:01Z stdout F " + line},
		{f, envelope.DockerKey, `{"log":"` + strings.Repeat(" ", envelope.DockerSplit) + `","stream":"stdout","time":"2026-12-04T09:00:01Z"}`, `{"log":` + jsonString(line+"\n") + `,"stream":"stdout","time":"2026-12-04T09:00:01Z"}`},
	} {
		st := NewStats("app", event.App, c.f, c.key)
		d := NewDecoder(event.App, c.f, c.key, st, 0)
		var r event.Record
		// The message after the part ends a line on its stream: taken
		// for the end of the part's line (whose first bytes would be
		// wherever the line was split), it is rejected, not read.
		for i, v := range []string{c.part, c.whole, c.whole} {
			m := kafkago.Message{Topic: "app", Offset: int64(i), Value: []byte(v)}
			if ok := d.Decode(&m, &r); ok != (i == 2) || i == 2 && string(r.Get(event.UserName)) != "alice" {
				t.Errorf("%s%s value %d: Decode = %v, %v", c.f.Name(), c.key, i, ok, st.Errors())
			}
		}
		if errs := st.Errors(); len(errs) != 2 || !strings.Contains(errs[0].Error(), "not joined in a stream that mixes writers") ||
			!strings.Contains(errs[1].Error(), "app/0@1: end of a line split into") {
			t.Errorf("%s%s: %v", c.f.Name(), c.key, errs)
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestEventRoundTrip writes joined events and reads them back.
func TestEventRoundTrip(t *testing.T) {
	var ev event.Event
	ev.Time = time.Date(2026, 12, 4, 9, 0, 1, 123456789, time.UTC).UnixNano()
	ev.Values[event.UserName] = "al\"ice\n\x01é"
	ev.Values[event.Identity] = "sha1:ab"
	ev.Values[event.SourceIP] = "10.0.0.1"
	ev.Values[event.Join] = event.JoinMatched
	b := AppendEvent(nil, &ev)
	p := EventFormat{}.NewParser()
	var r event.Record
	r.Kind = event.App
	if err := p.Parse(b, &r); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	var back event.Event
	back.SetFromRecord(&r)
	if back != ev {
		t.Errorf("round trip:\n got %+v\nwant %+v\njson %s", back, ev, b)
	}
	if EventKey(&ev) != "sha1:ab" {
		t.Errorf("key %q", EventKey(&ev))
	}
	ev.Values[event.Identity] = ""
	if EventKey(&ev) != "10.0.0.1" {
		t.Errorf("key without identity %q", EventKey(&ev))
	}
	r.Kind = event.App
	if err := p.Parse(AppendWatermark(nil, ev.Time), &r); err != nil || r.Kind != 0 || r.Time != ev.Time {
		t.Errorf("watermark: kind %v time %d err %v", r.Kind, r.Time, err)
	}
	for _, bad := range []string{`{"user.name":"x"}`, `{"@timestamp":"yesterday"}`, `[`} {
		if err := p.Parse([]byte(bad), &r); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// TestDecoderOverlongValueInDockerTopic decodes a value over the cap (a
// shipper's merged record from some pod, never a Docker part at a cap over
// envelope.MaxDockerPartEntry), then other writers' whole entries on each
// stream: they are decoded at such a cap; at a cap under it, the value
// skipped may be a part, and the next end of a line of each stream is
// rejected as its tail.
func TestDecoderOverlongValueInDockerTopic(t *testing.T) {
	f, err := formats.App("django-json", "")
	if err != nil {
		t.Fatal(err)
	}
	line := `{"timestamp":"2026-12-04T09:00:01Z","event":"login_failed","request_id":"r1","username":"alice"}`
	whole := func(stream string) string {
		return `{"log":` + jsonString(line+"\n") + `,"stream":"` + stream + `","time":"2026-12-04T09:00:01Z"}`
	}
	for _, c := range []struct {
		name     string
		max      int // 0: the default
		big      int // the over-long value's log
		want     string
		headless int64
	}{
		{"default cap", 0, 300 << 10, "ok ok ok", 0},
		{"cap at a part's entry", envelope.MaxDockerPartEntry, envelope.MaxDockerPartEntry, "ok ok ok", 0},
		{"cap under a part's entry", 64 << 10, 70 << 10, "x x ok", 2},
	} {
		big := `{"log":` + jsonString(strings.Repeat("y", c.big)+"\n") + `,"stream":"stdout","time":"2026-12-04T09:00:01Z","kubernetes":{"pod":"other"}}`
		st := NewStats("app", event.App, f, envelope.DockerKey)
		d := NewDecoder(event.App, f, envelope.DockerKey, st, c.max)
		var got []string
		var r event.Record
		for i, v := range []string{big, whole("stdout"), whole("stderr"), whole("stdout")} {
			m := kafkago.Message{Topic: "app", Offset: int64(i), Value: []byte(v)}
			ok := d.Decode(&m, &r)
			if i == 0 {
				if ok {
					t.Fatalf("%s: the over-long value decoded", c.name)
				}
				continue
			}
			got = append(got, map[bool]string{true: "ok", false: "x"}[ok])
		}
		if s := strings.Join(got, " "); s != c.want {
			t.Errorf("%s: decoded %q, want %q; rejected: %v", c.name, s, c.want, st.Errors())
		}
		if n := st.Flagged.Load(ingest.FlagSplitHeadless); n != c.headless {
			t.Errorf("%s: %d ends of split lines rejected, want %d", c.name, n, c.headless)
		}
	}
}
