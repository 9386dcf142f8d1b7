package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

func TestLineReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		want    []string
		skipped int64
	}{
		{"plain", "a\nb\n", 10, []string{"a", "b"}, 0},
		{"crlf", "a\r\nb\r\n", 10, []string{"a", "b"}, 0},
		{"truncated last line", "a\nbc", 10, []string{"a", "bc"}, 0},
		{"empty lines kept", "\n\nx\n", 10, []string{"", "", "x"}, 0},
		{"overlong skipped", "short\n" + strings.Repeat("x", 50) + "\nafter\n", 10, []string{"short", "after"}, 1},
		{"overlong last line without newline", "ok\n" + strings.Repeat("y", 50), 10, []string{"ok"}, 1},
		{"exactly the cap", strings.Repeat("z", 10) + "\n", 10, []string{strings.Repeat("z", 10)}, 0},
		{"crlf exactly the cap", strings.Repeat("z", 10) + "\r\n" + strings.Repeat("z", 10) + "\r", 10, []string{strings.Repeat("z", 10), strings.Repeat("z", 10)}, 0},
		{"crlf over the cap", strings.Repeat("z", 11) + "\r\nok\r\n" + strings.Repeat("z", 11) + "\r", 10, []string{"ok"}, 2},
		{"small cap exact", "abcd\nabc\nab\r\nabcd\r\n", 3, []string{"abc", "ab"}, 2},
		{"cap of one", "ab\na\n\r\n", 1, []string{"a", ""}, 1},
		{"nul bytes pass through", "a\x00b\n", 10, []string{"a\x00b"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := NewLineReader(strings.NewReader(tt.in), tt.max)
			var got []string
			var last int64
			for {
				b, n, err := lr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if n <= last {
					t.Errorf("line numbers not increasing: %d after %d", n, last)
				}
				last = n
				got = append(got, string(b))
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("lines %q, want %q", got, tt.want)
			}
			if lr.Skipped() != tt.skipped {
				t.Errorf("skipped %d, want %d", lr.Skipped(), tt.skipped)
			}
		})
	}
}

// wordParser accepts lines "ok ..." and ignores "skip"; others are errors.
type wordParser struct{}

func (wordParser) Parse(line []byte, r *event.Record) error {
	switch {
	case bytes.HasPrefix(line, []byte("ok")):
		r.Set(event.UserName, line[2:])
		return nil
	case bytes.Equal(line, []byte("skip")):
		return ErrIgnore
	}
	return &SyntaxError{Column: 1, Msg: `expected "ok"`}
}

func TestFileSource(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "a.log")
	if err := os.WriteFile(plain, []byte("ok1\nbad\nskip\n"+strings.Repeat("x", 100)+"\nok2"), 0o644); err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(dir, "b.log.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("ok3\n"))
	zw.Close()
	if err := os.WriteFile(gz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	src := NewFileSource(FileSourceConfig{Kind: event.App, Paths: []string{plain, gz}, Parser: wordParser{}, MaxLineBytes: 20})
	var got []string
	var r event.Record
	for {
		err := src.Next(context.Background(), &r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind != event.App {
			t.Errorf("kind %v", r.Kind)
		}
		got = append(got, string(r.Get(event.UserName)))
	}
	if strings.Join(got, ",") != "1,2,3" {
		t.Errorf("records %q", got)
	}
	st := src.Stats()
	if st.Lines.Load() != 6 || st.Parsed.Load() != 3 || st.Ignored.Load() != 1 || st.Rejected.Load() != 2 || st.TooLong.Load() != 1 {
		t.Errorf("stats lines=%d parsed=%d ignored=%d rejected=%d toolong=%d", st.Lines.Load(), st.Parsed.Load(), st.Ignored.Load(), st.Rejected.Load(), st.TooLong.Load())
	}
	errs := st.Errors()
	if len(errs) != 2 || errs[0].Error() != plain+`:2:1: expected "ok"` || !strings.Contains(errs[1].Error(), plain+":4: line longer than 20 bytes") {
		t.Errorf("errors %q", errs)
	}

	strict := NewFileSource(FileSourceConfig{Kind: event.App, Paths: []string{plain}, Parser: wordParser{}, Strict: true})
	if err := strict.Next(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	err := strict.Next(context.Background(), &r)
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 2 {
		t.Errorf("strict: %v", err)
	}

	missing := NewFileSource(FileSourceConfig{Kind: event.Proxy, Paths: []string{filepath.Join(dir, "nope")}, Parser: wordParser{}})
	if err := missing.Next(context.Background(), &r); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing file: %v", err)
	}
}

func TestOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir)
	if err == nil || err.Error() != "open "+dir+": is a directory, not a log file" {
		t.Errorf("error %v", err)
	}
}
