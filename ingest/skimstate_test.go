package ingest

import (
	"errors"
	"testing"

	"github.com/spraywatch/spraywatch/event"
)

// countingParser counts the full parses Skim falls back to.
type countingParser struct{ n int }

func (f *countingParser) Parse([]byte, *event.Record) error { f.n++; return nil }

func TestSkimState(t *testing.T) {
	bad := errors.New("bad line")
	tests := []struct {
		name      string
		answer    bool
		passAsks  bool  // the pass asks itself (the line has a method and path)
		passErr   error // what the pass returns
		wantFull  bool
		wantErr   error
		wantAsked int
		wantParse int // full parses after the pass
	}{
		{"asked by the pass, no", false, true, nil, false, nil, 1, 0},
		{"asked by the pass, yes", true, true, nil, true, nil, 1, 0},
		{"never asked, no", false, false, nil, false, nil, 1, 0},
		{"never asked, yes: parsed again", true, false, nil, true, nil, 1, 1},
		{"pass fails before asking", true, false, bad, false, bad, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s SkimState
			asked := 0
			want := func(*event.Record) bool { asked++; return tt.answer }
			var skimming []bool
			pass := func(line []byte, r *event.Record) error {
				skimming = append(skimming, s.Skimming)
				if tt.passAsks {
					if !s.Asking() {
						t.Error("the question is not pending during the pass")
					}
					if got := s.Ask(r); got != tt.answer {
						t.Errorf("Ask = %v, want %v", got, tt.answer)
					}
					if s.Ask(r) || s.Asking() {
						t.Error("a second Ask asked again")
					}
					skimming = append(skimming, s.Skimming)
				}
				return tt.passErr
			}
			full := &countingParser{}
			got, err := s.Skim([]byte("line"), new(event.Record), want, pass, full)
			if got != tt.wantFull || err != tt.wantErr {
				t.Errorf("Skim = %v, %v; want %v, %v", got, err, tt.wantFull, tt.wantErr)
			}
			if asked != tt.wantAsked || full.n != tt.wantParse {
				t.Errorf("asked %d times, %d full parses; want %d, %d", asked, full.n, tt.wantAsked, tt.wantParse)
			}
			if !skimming[0] {
				t.Error("the pass did not run skimming")
			}
			if tt.passAsks && skimming[1] == tt.answer {
				t.Errorf("Skimming %v after the answer %v", skimming[1], tt.answer)
			}
			if s.Skimming || s.Asking() {
				t.Error("state left skimming or asking after Skim")
			}
		})
	}
}
