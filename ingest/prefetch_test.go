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
