package sigma

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const toolingDoc = "../../docs/rule-tooling.md"

// TestDocExample checks the example of docs/rule-tooling.md: its Sigma
// input is testdata/mtls_spray.yml (less the file's leading comments) and
// the rules it shows are the conversion's golden output.
func TestDocExample(t *testing.T) {
	b, err := os.ReadFile(toolingDoc)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)\n```yaml\n(.*?\n)```\n").FindAllStringSubmatch(string(b), -1) {
		blocks = append(blocks, m[1])
	}
	in, out := -1, -1
	for i, bl := range blocks {
		switch {
		case strings.HasPrefix(bl, "title: mTLS identity password spray\n"):
			in = i
		case strings.HasPrefix(bl, "# Converted from Sigma correlation rules"):
			out = i
		}
	}
	if in < 0 || out < 0 {
		t.Fatalf("%s: the example's input or output block is missing (%d yaml blocks)", toolingDoc, len(blocks))
	}
	src, err := os.ReadFile("testdata/mtls_spray.yml")
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.SplitAfter(string(src), "\n") {
		if len(kept) == 0 && strings.HasPrefix(line, "#") {
			continue
		}
		kept = append(kept, line)
	}
	if got := strings.Join(kept, ""); blocks[in] != got {
		t.Errorf("%s: the Sigma example is not testdata/mtls_spray.yml:\n%s", toolingDoc, got)
	}
	golden, err := os.ReadFile("testdata/mtls_spray.golden")
	if err != nil {
		t.Fatal(err)
	}
	if blocks[out] != string(golden) {
		t.Errorf("%s: the converted example is not what import-sigma writes (testdata/mtls_spray.golden):\n%s", toolingDoc, golden)
	}
}

// TestDocFieldTable checks the Field mapping table of
// docs/rule-tooling.md against Fields: each ECS field with the Sigma
// names that map to it.
func TestDocFieldTable(t *testing.T) {
	b, err := os.ReadFile(toolingDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "### Field mapping\n")
	if !ok {
		t.Fatalf("%s: no Field mapping section", toolingDoc)
	}
	doc := map[string]string{}
	row := regexp.MustCompile("^\\| `([^`]+)` \\| (.*) \\|$")
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "#") {
			break
		}
		if m := row.FindStringSubmatch(line); m != nil {
			doc[m[1]] = m[2]
		}
	}
	byECS := map[string][]string{}
	for name, ecs := range Fields {
		byECS[ecs] = append(byECS[ecs], name)
	}
	for ecs, names := range byECS {
		sort.Strings(names)
		if got, want := doc[ecs], "`"+strings.Join(names, "`, `")+"`"; got != want {
			t.Errorf("%s: %s maps from %s, the table says %q", toolingDoc, ecs, want, got)
		}
	}
	for ecs := range doc {
		if byECS[ecs] == nil {
			t.Errorf("%s: %s is in the table, no Sigma name maps to it", toolingDoc, ecs)
		}
	}
}
