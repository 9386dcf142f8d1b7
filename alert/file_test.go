package alert

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.jsonl")
	line, _ := testAlert("i1", 1, "alice").AppendJSON(nil)
	// Room for three lines per file; keep two rotated files.
	s, err := NewFile(path, int64(3*len(line)+10), 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		if err := s.Send(context.Background(), testAlert("i1", i%10+0, "alice")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Delivered.Load(); got != 10 {
		t.Errorf("delivered = %d, want 10", got)
	}
	// 10 lines, 3 per file: path has 1 (#10), path.1 has 3 (#7-9), path.2 has 3 (#4-6); #1-3 rotated out.
	want := map[string][]int{path: {0}, path + ".1": {7, 8, 9}, path + ".2": {4, 5, 6}}
	for p, seqs := range want {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var a Alert
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			got = append(got, a.Sequence)
		}
		f.Close()
		if fmt.Sprint(got) != fmt.Sprint(seqs) {
			t.Errorf("%s: sequences %v, want %v", p, got, seqs)
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("%s.3 exists; keep is 2", path)
	}
}

func TestWriterLinesAndStats(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	a := testAlert("i", 1, "line\nbreak")
	for range 2 {
		if err := w.Send(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(lines), buf.String())
	}
	var got Alert
	if err := json.Unmarshal([]byte(lines[1]), &got); err != nil || got.Sample.UserNames[0] != "line\nbreak" {
		t.Errorf("line 2: %v %q", err, got.Sample.UserNames)
	}
	if n := w.Stats().Delivered.Load(); n != 2 {
		t.Errorf("delivered = %d", n)
	}
}
