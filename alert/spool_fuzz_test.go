package alert

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// FuzzSpoolOpen opens a spool whose segment and cursor hold arbitrary bytes
// (a torn or damaged spool): opening never fails or panics, every record it
// then returns has a valid checksum, and appends keep working.
func FuzzSpoolOpen(f *testing.F) {
	rec := func(p string) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(p)))
		b = binary.BigEndian.AppendUint32(b, crc32.Checksum([]byte(p), crcTable))
		return append(b, p...)
	}
	two := append(rec(`{"id":"a"}`), rec(`{"id":"b"}`)...)
	f.Add(two, "1 0\n")
	f.Add(two, "1 18\n")
	f.Add(two[:len(two)-3], "")
	f.Add(append(two, 0xff, 0xff, 0xff, 0xff), "9 9")
	f.Add([]byte{}, "garbage")
	f.Fuzz(func(t *testing.T, seg []byte, cursor string) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, segName(1)), seg, 0o600)
		os.WriteFile(filepath.Join(dir, "cursor"), []byte(cursor), 0o600)
		var st SinkStats
		sp, err := openSpool(dir, 1<<16, 1<<12, &st)
		if err != nil {
			t.Fatal(err)
		}
		defer sp.close()
		pending := sp.pending()
		if pending < 0 {
			t.Fatalf("pending %d", pending)
		}
		if err := sp.append([]byte("new")); err != nil {
			t.Fatal(err)
		}
		var last []byte
		for i := 0; i <= pending; i++ {
			r, pos, ok := sp.next()
			if !ok {
				t.Fatalf("record %d of %d missing", i, pending+1)
			}
			last = r
			if err := sp.commit(pos); err != nil {
				t.Fatal(err)
			}
		}
		if string(last) != "new" {
			t.Fatalf("last record %q, want the appended one", last)
		}
		if _, _, ok := sp.next(); ok || sp.pending() != 0 {
			t.Fatalf("records after the last; pending %d", sp.pending())
		}
	})
}
