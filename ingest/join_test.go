package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
	"github.com/spraywatch/spraywatch/ingest/envelope"
	"github.com/spraywatch/spraywatch/ingest/pylog"
)

// splitLines writes n Django lines as a container runtime logs them, in
// CRI lines or Docker json-file entries: some split into parts, on both
// streams, their parts interleaved with the other stream's lines; some
// split lines over the cap; the parts placed so that many split lines
// straddle a block of PrefetchParallel (blocks end after 1024 lines or
// 256 KiB); some lines over any cap the tests set. The file ends in the
// middle of a split line.
func splitLines(t testing.TB, key string, n int) string {
	var b strings.Builder
	streams := []string{"stdout", "stderr"}
	write := func(stream string, part string, more bool) {
		if key == envelope.CRI {
			tag := "F"
			if more {
				tag = "P"
			}
			fmt.Fprintf(&b, "2026-12-04T09:00:06.000000000Z %s %s %s\n", stream, tag, part)
			return
		}
		if !more {
			part += "\n"
		}
		e, err := json.Marshal(map[string]string{"log": part, "stream": stream, "time": "2026-12-04T09:00:06Z"})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(e)
		b.WriteByte('\n')
	}
	// The parts of the split lines waiting on each stream.
	var pending [2][]string
	partLen := envelope.DockerSplit
	if key == envelope.CRI {
		partLen = 700
	}
	for i := 0; i < n; i++ {
		s := i % 3 % 2
		if i%401 == 100 {
			// A line over the readers' cap, skipped unread, between
			// parts of a line or before the end of one.
			b.WriteString(strings.Repeat("z", 500_001))
			b.WriteByte('\n')
		}
		line := fmt.Sprintf("2026-12-04 09:00:06,000 WARNING accounts.auth [r%d] user=u%d event=login_failed", i, i)
		if len(pending[s]) > 0 {
			// Another part of the line waiting on this stream.
			write(streams[s], pending[s][0], len(pending[s]) > 1)
			pending[s] = pending[s][1:]
			continue
		}
		if i%5 == 2 || i%97 == 0 {
			pad := strings.Repeat("x", partLen+i%3*partLen/2+i%7) // 2 or 3 parts
			if i%97 == 0 {
				pad = strings.Repeat("y", 40*partLen) // over the cap
			}
			line = strings.Replace(line, "user=", pad+" user=", 1)
			for len(line) > partLen {
				pending[s] = append(pending[s], line[:partLen])
				line = line[partLen:]
			}
			pending[s] = append(pending[s], line)
			write(streams[s], pending[s][0], true)
			pending[s] = pending[s][1:]
			continue
		}
		write(streams[s], line, false)
	}
	if len(pending[0]) > 1 {
		write(streams[0], pending[0][0], true)
	}
	return b.String()
}

// readAll reads src to its end and describes its records and Stats.
func readAll(t testing.TB, src ingest.Source) string {
	var b strings.Builder
	var r event.Record
	for {
		err := src.Next(context.Background(), &r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(&b, "error: %v\n", err)
			break
		}
		fmt.Fprintf(&b, "%s %s\n", r.Get(event.RequestID), r.Get(event.UserName))
	}
	st := src.Stats()
	fmt.Fprintf(&b, "%d lines, %d parsed, %d ignored, %d rejected (%d too long)\n",
		st.Lines.Load(), st.Parsed.Load(), st.Ignored.Load(), st.Rejected.Load(), st.TooLong.Load())
	for _, err := range st.Errors() {
		fmt.Fprintf(&b, "rejected: %v\n", err)
	}
	return b.String()
}

// TestJoinAcrossBlocks: the lines container runtimes split are joined
// alike by FileSource.Next and by PrefetchParallel with any number of
// workers, whose blocks end inside split lines; no split line is joined
// across files.
func TestJoinAcrossBlocks(t *testing.T) {
	f, err := pylog.Compile("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s", `user=(?P<username>\S+) event=(?P<event>\w+)`, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, key := range []string{envelope.CRI, envelope.DockerKey} {
		t.Run(key, func(t *testing.T) {
			ef := envelope.WrapFormat(f, key)
			var paths []string
			for i, n := range []int{3000, 500} {
				p := filepath.Join(dir, fmt.Sprintf("%s%d.log", key, i))
				if err := os.WriteFile(p, []byte(splitLines(t, key, n)), 0o644); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
			}
			maxLine := 30 * 700
			if key == envelope.DockerKey {
				maxLine = 30 * envelope.DockerSplit
			}
			mk := func() *ingest.FileSource {
				return ingest.NewFileSource(ingest.FileSourceConfig{Kind: event.App, Format: ef.Name(), Paths: paths,
					Parser: ef.NewParser(), NewParser: ef.NewParser, MaxLineBytes: maxLine})
			}
			want := readAll(t, mk())
			// r7, r22 and r37 are split into 2 or 3 parts, r0 is over the cap.
			for _, w := range []string{"\nr7 u7\n", "\nr22 u22\n", "\nr37 u37\n", "\nr2998 u2998\n", " 0 rejected (0 too long)", "rejected: "} {
				if strings.Contains(want, w) == (w[0] == ' ') {
					t.Fatalf("%q in what Next read, or missing:\n%s", w, want[strings.Index(want, " lines, ")-10:])
				}
			}
			if strings.Contains(want, "r0 u0\n") {
				t.Fatal("the line over the cap was read")
			}
			if !strings.Contains(want, "whose head was dropped, skipped") {
				t.Fatal("no end of a split line dropped after a line skipped over the cap")
			}
			for workers := 1; workers <= 4; workers++ {
				p := ingest.PrefetchParallel(context.Background(), mk(), workers)
				got := readAll(t, p)
				p.Close()
				if got != want {
					t.Errorf("%d workers: differs from Next:\n%s", workers, diff(got, want))
				}
			}
		})
	}
}

// diff shows where two descriptions part.
func diff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d: got %q, want %q", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}
