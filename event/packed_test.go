package event

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// fullRecord has every third field absent, the others short or longer
// than a one-byte length.
func fullRecord() *Record {
	r := &Record{Time: -1} // before 1970
	for f := range r.Values {
		switch f % 3 {
		case 1:
			r.Values[f] = []byte(Field(f).String())
		case 2:
			r.Values[f] = []byte(strings.Repeat(strconv.Itoa(f), 100*f))
		}
	}
	r.Values[RequestID] = []byte("rid-1")
	return r
}

func TestPackUnpack(t *testing.T) {
	r := fullRecord()
	p := r.Pack()
	if p.IsZero() || p.RequestID() != "rid-1" {
		t.Fatalf("packed: zero %v, request id %q", p.IsZero(), p.RequestID())
	}
	var vals [NumFields]string
	for f := range vals {
		vals[f] = "stale"
	}
	p.Unpack(&vals)
	for f := range vals {
		if vals[f] != string(r.Values[f]) {
			t.Errorf("%s = %.20q, want %.20q", Field(f), vals[f], r.Values[f])
		}
	}
	// Fill sets only the fields asked for that p holds.
	for f := range vals {
		vals[f] = "kept"
	}
	p.Fill(&vals, 1<<UserName|1<<TLSSubject|1<<Outcome)
	for f := range vals {
		want := "kept"
		if (f == int(UserName) || f == int(TLSSubject) || f == int(Outcome)) && len(r.Values[f]) > 0 {
			want = string(r.Values[f])
		}
		if vals[f] != want {
			t.Errorf("after Fill %s = %.20q, want %.20q", Field(f), vals[f], want)
		}
	}
	if !(&Record{}).Pack().IsZero() {
		t.Error("an empty record packs into something")
	}
}

// TestOwn: the values point into the record's own copy, which outlives the
// bytes they were parsed from, and events take them without copying.
func TestOwn(t *testing.T) {
	r := fullRecord()
	want := make([]string, NumFields)
	for f := range want {
		want[f] = string(r.Values[f])
	}
	line := r.Values[UserName]
	r.Own()
	for i := range line {
		line[i] = 'x' // the parser's bytes, reused
	}
	var e Event
	e.SetFromRecord(r)
	for f := range want {
		if string(r.Values[f]) != want[f] || e.Values[f] != want[f] {
			t.Errorf("%s: record %.20q, event %.20q, want %.20q", Field(f), r.Values[f], e.Values[f], want[f])
		}
	}
	if got := r.Pack(); got != r.Owned {
		t.Error("Pack of an owned record copies it again")
	}
	if testing.AllocsPerRun(100, func() { e.SetFromRecord(r) }) != 0 {
		t.Error("SetFromRecord of an owned record allocates")
	}
}

// TestSetOwned: a record given another record's packed values reads them
// as the owner does, without a copy, whatever values it held before.
func TestSetOwned(t *testing.T) {
	src := fullRecord()
	src.Own()
	stale := &Record{}
	for f := range stale.Values {
		stale.Values[f] = []byte("stale")
	}
	for _, c := range []struct {
		name   string
		r      *Record
		fields uint32
	}{
		{"empty", &Record{}, 0},
		{"every field set", stale, 1<<NumFields - 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.r.SetOwned(src.Owned, c.fields)
			for f := range src.Values {
				if string(c.r.Values[f]) != string(src.Values[f]) || (len(src.Values[f]) == 0) != (c.r.Values[f] == nil) {
					t.Errorf("%s = %.20q, want %.20q", Field(f), c.r.Values[f], src.Values[f])
				}
				if v := c.r.Values[f]; len(v) > 0 && &v[0] != &src.Values[f][0] {
					t.Errorf("%s copied", Field(f))
				}
			}
			if c.r.Owned != src.Owned || c.r.Owned.Fields() == 0 {
				t.Errorf("Owned %v, want %v", c.r.Owned, src.Owned)
			}
		})
	}
}

// proxyLineRecord returns a record of the values of a line of the nginx
// log of the samples, pointing into the line as a parser leaves them.
func proxyLineRecord() Record {
	values := []struct {
		f Field
		v string
	}{
		{SourceIP, "10.21.142.181"}, {Method, "POST"}, {URLPath, "/accounts/login/"}, {Status, "200"}, {BodyBytes, "1234"},
		{UserAgent, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
		{RequestID, "c31ec7bc9e67062e5c18b23fd4ee51e9"}, {TLSVerify, "SUCCESS"}, {TLSSHA1, "1963ae8e8fea92a2901f6751581f5f192da04695"},
		{TLSSerial, "1BA46DB36D5D346B"}, {TLSSubject, "CN=jack.wilson32,OU=Devices,O=Example Corp,C=US"},
	}
	var line []byte
	var vals [NumFields][]byte
	for _, v := range values {
		line = append(line, v.v...)
		vals[v.f] = line[len(line)-len(v.v):]
		line = append(line, ' ')
	}
	return Record{Values: vals}
}

// BenchmarkOwn packs a record of a proxy log line that is kept, as a parse
// worker does, and points another record into the packed values, as the
// reader of a batch does.
func BenchmarkOwn(b *testing.B) {
	r := proxyLineRecord()
	b.Run("Own", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			// The values, in the last copy, are packed again.
			r.Owned = Packed{}
			r.Own()
		}
	})
	r.Own()
	var dst Record
	b.Run("SetOwned", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst.SetOwned(r.Owned, r.Owned.Fields())
		}
	})
}

// TestPackLengths: lengths below a byte's 255 take one header byte, longer
// ones more; every way of reading a Packed reads them alike.
func TestPackLengths(t *testing.T) {
	for _, c := range []struct {
		name string
		lens map[Field]int // the others absent
		hdr  int           // header bytes
	}{
		{"one short", map[Field]int{UserName: 1}, 1},
		{"short", map[Field]int{RequestID: 32, UserAgent: 130, URLPath: 254}, 3},
		{"255", map[Field]int{RequestID: 5, UserAgent: 255}, 1 + 3},
		{"long request id", map[Field]int{RequestID: 300, Method: 4}, 3 + 1},
		{"long first and last", map[Field]int{RequestID: 16383, Identity: 16384, Method: 4}, 3 + 4 + 1},
		{"a long value among short ones", map[Field]int{SourceIP: 13, TLSCertificate: 70_000, UserAgent: 120}, 1 + 4 + 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &Record{}
			n := 0
			for f, l := range c.lens {
				r.Values[f] = []byte(strings.Repeat(string(rune('a'+f)), l))
				n += l
			}
			want := make([]string, NumFields)
			for f := range want {
				want[f] = string(r.Values[f])
			}
			p := r.Pack()
			if p.Size() != c.hdr+n {
				t.Errorf("size %d, want %d header bytes and %d of values", p.Size(), c.hdr, n)
			}
			if p.RequestID() != want[RequestID] {
				t.Errorf("request id %.20q, want %.20q", p.RequestID(), want[RequestID])
			}
			var vals [NumFields]string
			p.Unpack(&vals)
			fill := [NumFields]string{}
			for f := range fill {
				fill[f] = "kept"
			}
			p.Fill(&fill, 1<<UserAgent|1<<RequestID|1<<Identity)
			dst := &Record{}
			for f := range dst.Values {
				dst.Values[f] = []byte("stale")
			}
			dst.SetOwned(p, 1<<NumFields-1)
			for f := range vals {
				if vals[f] != want[f] {
					t.Errorf("Unpack: %s = %.20q, want %.20q", Field(f), vals[f], want[f])
				}
				if string(dst.Values[f]) != want[f] || (want[f] == "") != (dst.Values[f] == nil) {
					t.Errorf("SetOwned: %s = %.20q, want %.20q", Field(f), dst.Values[f], want[f])
				}
				wantFill := "kept"
				if (f == int(UserAgent) || f == int(RequestID) || f == int(Identity)) && want[f] != "" {
					wantFill = want[f]
				}
				if fill[f] != wantFill {
					t.Errorf("Fill: %s = %.20q, want %.20q", Field(f), fill[f], wantFill)
				}
			}
			// Own leaves the values as SetOwned does.
			r.Own()
			if r.Owned.Size() != p.Size() {
				t.Errorf("Own: size %d, Pack's %d", r.Owned.Size(), p.Size())
			}
			in := &Record{}
			in.SetOwned(r.Owned, 0)
			for f := range r.Values {
				if string(r.Values[f]) != want[f] {
					t.Errorf("Own: %s = %.20q, want %.20q", Field(f), r.Values[f], want[f])
				}
				if len(r.Values[f]) > 0 && &r.Values[f][0] != &in.Values[f][0] {
					t.Errorf("Own: %s not in the packed values", Field(f))
				}
			}
		})
	}
}

// BenchmarkPacked reads the packed values of a kept proxy record as the
// correlator does: its request id, all of them into an event, the proxy
// fields into a joined event.
func BenchmarkPacked(b *testing.B) {
	r := proxyLineRecord()
	p := r.Pack()
	var e Event
	var sink string
	b.Run("RequestID", func(b *testing.B) {
		for b.Loop() {
			sink = p.RequestID()
		}
	})
	b.Run("Unpack", func(b *testing.B) {
		for b.Loop() {
			p.Unpack(&e.Values)
		}
	})
	b.Run("Fill", func(b *testing.B) {
		for b.Loop() {
			p.Fill(&e.Values, 1<<Method|1<<URLPath|1<<UserAgent|1<<SourceIP|1<<TLSSHA1)
		}
	})
	_ = sink
}

// FuzzPack: whatever the values (here a NUL-separated list of them, in
// field order), a record packed, owned or given another's packed values
// reads them back as they were, every way the packed values are read.
func FuzzPack(f *testing.F) {
	f.Add([]byte("c31ec7bc\x0010.0.0.1\x00\x00CN=a\x00CN=ca\x00ab12"))
	f.Add([]byte("\x00\x00\x00\x00a\x00bc\x00\x00\x00\x00\x00\x00POST\x00/login"))
	f.Add([]byte(strings.Repeat("x", 300) + "\x00\x00\x00" + strings.Repeat("y", 70_000) + "\x00z"))
	f.Fuzz(func(t *testing.T, b []byte) {
		want := splitRecord(bytes.Clone(b))
		check := func(how string, p Packed) {
			var vals, fill [NumFields]string
			for f := range vals {
				vals[f], fill[f] = "stale", "kept"
			}
			p.Unpack(&vals)
			const some = 1<<RequestID | 1<<TLSSubject | 1<<UserAgent | 1<<Identity
			p.Fill(&fill, some)
			var set Record
			for f := range set.Values {
				set.Values[f] = []byte("stale")
			}
			set.SetOwned(p, 1<<NumFields-1)
			n := 0
			for f := range want.Values {
				w := string(want.Values[f])
				n += len(w)
				wantFill := "kept"
				if some&(1<<f) != 0 && w != "" {
					wantFill = w
				}
				if vals[f] != w || fill[f] != wantFill || string(set.Values[f]) != w || (w == "") != (set.Values[f] == nil) {
					t.Errorf("%s: %s: Unpack %.20q, Fill %.20q, SetOwned %.20q, want %.20q", how, Field(f), vals[f], fill[f], set.Values[f], w)
				}
			}
			if p.RequestID() != string(want.Values[RequestID]) || p.IsZero() != (n == 0) || p.Size() < n {
				t.Errorf("%s: request id %.20q, zero %v, size %d; want %.20q, %v, at least %d",
					how, p.RequestID(), p.IsZero(), p.Size(), want.Values[RequestID], n == 0, n)
			}
		}
		check("Pack", splitRecord(b).Pack())
		line := bytes.Clone(b)
		r := splitRecord(line)
		r.Own()
		clear(line) // the parser's bytes, reused
		check("Own", r.Owned)
		for f := range r.Values {
			if string(r.Values[f]) != string(want.Values[f]) {
				t.Errorf("Own: %s = %.20q, want %.20q", Field(f), r.Values[f], want.Values[f])
			}
		}
	})
}

// splitRecord returns a record of the NUL-separated values in b, in field
// order, pointing into b.
func splitRecord(b []byte) *Record {
	r := &Record{}
	for f := 0; f < NumFields && len(b) > 0; f++ {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			i = len(b)
		}
		if i > 0 {
			r.Values[f] = b[:i:i]
		}
		b = b[min(i+1, len(b)):]
	}
	return r
}
