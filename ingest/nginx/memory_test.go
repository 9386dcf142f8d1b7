package nginx

import (
	"fmt"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// retained is the memory a parser keeps from one line to the next in its
// caches and scratch space.
func (p *parser) retained() int {
	n := cap(p.scratch) + cap(p.lastTime)
	for _, b := range p.lastOK {
		n += cap(b)
	}
	for _, c := range p.dn {
		for _, e := range c {
			n += cap(e.raw) + cap(e.canon)
		}
	}
	return n
}

// TestRetainedMemory checks that a parser reading lines whose certificate
// names a client chose, each new and long, keeps no more than its bounds
// whatever their length: the names it caches are short, and its scratch
// space lets a long line's values go.
func TestRetainedMemory(t *testing.T) {
	const line = `203.0.113.7 - - [04/Dec/2026:09:00:%02d +0000] "%s /accounts/login/ HTTP/1.1" 200 512 "-" "curl" rid=%032x verify=SUCCESS fp=- serial=- dn="%s" idn="%s" rt=0.012`
	// What the caches and scratch may hold: both fields' caches full of
	// the longest names kept, the last names found valid, the scratch
	// space kept and a time.
	bound := 2*dnCacheSize*2*maxCachedDN + 4*maxCachedDN + maxKeptScratch + maxTimeLen
	tests := []struct {
		name  string
		size  int  // of each name's unique filler
		lines int  // read
		esc   bool // names with escapes, canonicalised the long way
	}{
		{"at the limit", maxCachedDN - len("CN=u000000,O="), 2 * dnCacheSize, false},
		{"over the limit", maxCachedDN, 2 * dnCacheSize, false},
		{"long", 100 << 10, 300, false},
		{"long, escaped", 50 << 10, 300, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Default()
			for _, mode := range []string{"parse", "skim"} {
				p := f.NewParser().(*parser)
				for i := range tt.lines {
					fill := strings.Repeat("x", tt.size)
					if tt.esc {
						fill = strings.Repeat(`\x5C,`, tt.size/5)
					}
					subject := fmt.Sprintf("CN=u%06d,O=%s", i, fill)
					issuer := fmt.Sprintf("CN=i%06d,O=%s", i, fill)
					method := "POST"
					if mode == "skim" {
						method = "GET" // not wanted: the names are checked, not built
					}
					l := fmt.Sprintf(line, i%60, method, i+1, subject, issuer)
					var r event.Record
					var err error
					if mode == "parse" {
						err = p.Parse([]byte(l), &r)
					} else {
						p.CheckAllLines(true)
						_, err = p.Skim([]byte(l), &r, func(*event.Record) bool { return false })
					}
					if err != nil {
						t.Fatalf("%s: line %d: %v", mode, i, err)
					}
					if mode == "parse" && !strings.HasPrefix(string(r.Get(event.TLSSubject)), fmt.Sprintf("CN=u%06d,", i)) {
						t.Fatalf("line %d: subject %.40q...", i, r.Get(event.TLSSubject))
					}
				}
				if n := p.retained(); n > bound {
					t.Errorf("%s: %d lines keep %d bytes, want at most %d", mode, tt.lines, n, bound)
				}
			}
		})
	}
}
