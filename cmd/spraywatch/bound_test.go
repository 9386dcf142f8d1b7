package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/alert"
)

// TestReplayCutsLongValues replays the sample day with one sprayed
// username made 200 KiB long: the alerts carry it cut, with its marker,
// and stay small; the others are as before.
func TestReplayCutsLongValues(t *testing.T) {
	app, err := os.ReadFile("../../samples/data/django-auth.log")
	if err != nil {
		t.Fatal(err)
	}
	long := "bob.johnson" + strings.Repeat("x", 200<<10)
	app = bytes.ReplaceAll(app, []byte(`"username":"bob.johnson"`), []byte(`"username":"`+long+`"`))
	appFile := filepath.Join(t.TempDir(), "django-auth.log")
	if err := os.WriteFile(appFile, app, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	args := []string{"replay", "--quiet", "--proxy", "../../samples/data/nginx-access.log", "--app", appFile}
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("replay exited %d: %s", code, errb.String())
	}
	cut := alert.CutValue(long)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	truncated := 0
	for _, l := range lines {
		if len(l) > 16<<10 {
			t.Errorf("alert of %d bytes", len(l))
		}
		var a alert.Alert
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatal(err)
		}
		has := false
		for _, u := range a.Sample.UserNames {
			if u == cut {
				has = true
			}
		}
		if has != (a.Truncated == 1) {
			t.Errorf("alert %s: truncated %d, cut username in the sample: %v", a.ID, a.Truncated, has)
		}
		if has {
			truncated++
		}
	}
	if truncated == 0 {
		t.Errorf("no alert holds the cut username")
	}
}
