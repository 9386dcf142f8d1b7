package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// TestPrefetchSameRecords reads the same file directly and through
// Prefetch with small batches: the records must be identical.
func TestPrefetchSameRecords(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	var b strings.Builder
	for i := 0; i < 5000; i++ {
		if i%97 == 0 {
			b.WriteString("garbage\n")
		}
		fmt.Fprintf(&b, "ok-%d-%s\n", i, strings.Repeat("v", i%50))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(src Source) []string {
		var out []string
		var r event.Record
		for {
			err := src.Next(context.Background(), &r)
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(r.Get(event.UserName)))
		}
	}
	mk := func() *FileSource {
		return NewFileSource(FileSourceConfig{Kind: event.Proxy, Paths: []string{path}, Parser: wordParser{}})
	}
	direct := read(mk())
	src := mk()
	p := Prefetch(context.Background(), src, 7)
	ahead := read(p)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if len(direct) != 5000 || strings.Join(direct, ",") != strings.Join(ahead, ",") {
		t.Fatalf("prefetched records differ: %d vs %d", len(direct), len(ahead))
	}
	if src.Stats().Rejected.Load() != 52 {
		t.Errorf("rejected %d, want 52", src.Stats().Rejected.Load())
	}
}

func TestPrefetchErrorAndCancel(t *testing.T) {
	missing := NewFileSource(FileSourceConfig{Kind: event.Proxy, Paths: []string{"/nonexistent/x.log"}, Parser: wordParser{}})
	p := Prefetch(context.Background(), missing, 4)
	var r event.Record
	if err := p.Next(context.Background(), &r); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("missing file: %v", err)
	}
	p.Close()

	ctx, cancel := context.WithCancel(context.Background())
	p = Prefetch(ctx, endlessSource{}, 4)
	cancel()
	done := make(chan error, 1)
	go func() { done <- p.Next(ctx, &r) }()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel: %v", err)
	}
	p.Close()
}

// endlessSource yields records until its context ends.
type endlessSource struct{}

func (endlessSource) Next(ctx context.Context, r *event.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.Set(event.UserName, []byte("x"))
	return nil
}

func (endlessSource) Stats() *Stats { return &Stats{} }

// TestCopyRecordKeepsBlockValues: values that lie in the block are kept
// where they are, the others (a parser's scratch) are copied, and every
// value reads the same.
func TestCopyRecordKeepsBlockValues(t *testing.T) {
	block := []byte("10.0.0.1 POST /accounts/login/ rid-1\n")
	scratch := []byte("unescaped value")
	var src, dst event.Record
	src.Kind, src.Time = event.Proxy, -5
	src.Values[event.SourceIP] = block[0:8]
	src.Values[event.Method] = block[9:13]
	src.Values[event.RequestID] = block[len(block)-6 : len(block)-1]
	src.Values[event.UserAgent] = scratch
	// A value at the block's very end and one just past it.
	src.Values[event.Status] = block[len(block)-1:]
	var set uint32
	arena := copyRecord(&dst, &src, nil, &set, block[:len(block)-1])
	for f := range src.Values {
		if string(dst.Values[f]) != string(src.Values[f]) {
			t.Errorf("%s = %q, want %q", event.Field(f), dst.Values[f], src.Values[f])
		}
	}
	same := func(a, b []byte) bool { return len(a) > 0 && &a[0] == &b[0] }
	for _, f := range []event.Field{event.SourceIP, event.Method, event.RequestID} {
		if !same(dst.Values[f], src.Values[f]) {
			t.Errorf("%s copied, though it lies in the block", f)
		}
	}
	for _, f := range []event.Field{event.UserAgent, event.Status} {
		if same(dst.Values[f], src.Values[f]) {
			t.Errorf("%s not copied, though it lies outside the block", f)
		}
	}
	if want := len(scratch) + 1; len(arena) != want {
		t.Errorf("arena holds %d bytes, want %d", len(arena), want)
	}
	if dst.Time != -5 || dst.Kind != event.Proxy {
		t.Errorf("time %d kind %v", dst.Time, dst.Kind)
	}
	// Without a block, everything is copied.
	arena = copyRecord(&dst, &src, arena[:0], &set, nil)
	if same(dst.Values[event.SourceIP], src.Values[event.SourceIP]) {
		t.Error("copied nothing without a block")
	}
}

// TestCopyPartKeepsBlockValues: a partial record's values and line that lie
// in the block stay there, the others (a parser's scratch) go to the arena,
// and takePart gives back every value, the line and the batch's completer.
func TestCopyPartKeepsBlockValues(t *testing.T) {
	data := []byte("GET /static/app.css rid-1\nPOST /x rid-2\n")
	scratch := []byte("/unescaped path")
	line := data[:25]
	rest := &completer{name: "a.log"}
	for _, c := range []struct {
		name    string
		path    []byte
		raw     *span32 // the line's place in the block, if known
		block   []byte
		inArena uint8
	}{
		{"in block", line[4:19], &span32{0, 25}, data, 0},
		{"line found", line[4:19], nil, data, 0},
		{"path in scratch", scratch, &span32{0, 25}, data, 1 << 2},
		{"no block", line[4:19], nil, nil, 1<<0 | 1<<1 | 1<<2 | 1<<3},
		{"empty path", nil, &span32{0, 25}, data, 0},
		{"empty path in block", line[4:4], &span32{0, 25}, data, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var src event.Record
			src.Kind, src.Time, src.Raw, src.Rest, src.RawLine = event.Proxy, -5, line, rest, 7
			src.Values[event.Method] = line[:3]
			src.Values[event.URLPath] = c.path
			src.Values[event.RequestID] = line[20:25]
			b := &batch{parts: make([]part, 1), rest: rest, blk: &block{data: c.block}}
			pt := &b.parts[0]
			pt.partial = true
			b.arena = copyPart(pt, &src, b.arena, c.block, c.raw)
			if pt.inArena != c.inArena {
				t.Errorf("inArena = %04b, want %04b", pt.inArena, c.inArena)
			}
			var p Prefetcher
			r := p.takePart(b, pt)
			if r.Kind != src.Kind || r.Time != src.Time || r.RawLine != src.RawLine || r.Rest != src.Rest {
				t.Errorf("took %v %d line %d %v, want %v %d line %d %v", r.Kind, r.Time, r.RawLine, r.Rest, src.Kind, src.Time, src.RawLine, src.Rest)
			}
			if string(r.Raw) != string(src.Raw) {
				t.Errorf("line %q, want %q", r.Raw, src.Raw)
			}
			for f := range src.Values {
				if string(r.Values[f]) != string(src.Values[f]) {
					t.Errorf("%s = %q, want %q", event.Field(f), r.Values[f], src.Values[f])
				}
			}
		})
	}
}

// TestBatchPartsShareCompleter: the partial records of a batch share its
// completer; one with another completer (of the next file) is kept whole,
// and each comes out with its own.
func TestBatchPartsShareCompleter(t *testing.T) {
	const n = 3
	b := &batch{recs: make([]event.Record, n), set: make([]uint32, n), parts: make([]part, n), err: io.EOF}
	rests := []event.Completer{&completer{name: "a.log"}, &completer{name: "a.log"}, &completer{name: "b.log"}}
	rests[1] = rests[0]
	for i, c := range rests {
		r := event.Record{Kind: event.Proxy, Time: int64(i), Raw: []byte("a line"), Rest: c, RawLine: int64(i + 1)}
		r.Values[event.RequestID] = []byte("rid")
		b.add(&r)
	}
	if !b.parts[0].partial || !b.parts[1].partial || b.parts[2].partial {
		t.Errorf("partial: %v %v %v, want true true false", b.parts[0].partial, b.parts[1].partial, b.parts[2].partial)
	}
	p := &Prefetcher{cur: b}
	for i, c := range rests {
		r, err := p.Take(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.Rest != c || r.Time != int64(i) || r.RawLine != int64(i+1) || string(r.Raw) != "a line" || string(r.Values[event.RequestID]) != "rid" {
			t.Errorf("record %d: %d %q %q line %d, completer %v, want %v", i, r.Time, r.Values[event.RequestID], r.Raw, r.RawLine, r.Rest, c)
		}
	}
}

// TestBatchOwnedRecords: records that own their values travel in a batch as
// their kind, time and packed values, and come out as they went in, a
// record with fewer values after one with more included.
func TestBatchOwnedRecords(t *testing.T) {
	var in []event.Record
	for i, vals := range [][]string{{"rid-1", "alice", "10.0.0.1"}, {"rid-2"}, {"", "bob"}} {
		r := event.Record{Kind: event.App, Time: int64(i)}
		for f, v := range vals {
			if v != "" {
				r.Values[[]event.Field{event.RequestID, event.UserName, event.SourceIP}[f]] = []byte(v)
			}
		}
		r.Own()
		in = append(in, r)
	}
	b := &batch{recs: make([]event.Record, len(in)), set: make([]uint32, len(in)), parts: make([]part, len(in)), packs: make([]event.Packed, len(in)), err: io.EOF}
	for i := range in {
		b.add(&in[i])
		if !b.parts[i].owned {
			t.Fatalf("record %d not kept as owned", i)
		}
	}
	p := &Prefetcher{cur: b}
	for i := range in {
		r, err := p.Take(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind != in[i].Kind || r.Time != in[i].Time || r.Owned != in[i].Owned || r.Partial() {
			t.Errorf("record %d: %v %d partial %v, want %v %d", i, r.Kind, r.Time, r.Partial(), in[i].Kind, in[i].Time)
		}
		if fmt.Sprintf("%q", r.Values) != fmt.Sprintf("%q", in[i].Values) {
			t.Errorf("record %d: %q, want %q", i, r.Values, in[i].Values)
		}
	}
}

// TestOnlyPartFields: a record holds only partFields' values unless any
// other field has one, whichever it is.
func TestOnlyPartFields(t *testing.T) {
	var r event.Record
	if !onlyPartFields(&r) {
		t.Fatal("an empty record holds other values")
	}
	r.Values[event.RequestID], r.Values[event.Method], r.Values[event.URLPath] = []byte("rid"), []byte("GET"), []byte("/")
	if !onlyPartFields(&r) {
		t.Fatal("a partial record holds other values")
	}
	for f := range event.NumFields {
		part := f == int(event.RequestID) || f == int(event.Method) || f == int(event.URLPath)
		old := r.Values[f]
		r.Values[f] = []byte("value")
		if got := onlyPartFields(&r); got != part {
			t.Errorf("%s set: onlyPartFields = %v, want %v", event.Field(f), got, part)
		}
		r.Values[f] = []byte{}
		if !onlyPartFields(&r) {
			t.Errorf("%s empty: holds other values", event.Field(f))
		}
		r.Values[f] = old
	}
}
